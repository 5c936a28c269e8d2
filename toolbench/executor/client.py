"""The network part: :class:`Executor` calls the APIs of a catalog (validation, the response cache, timeouts,
retries, a concurrency limit per host; sync and async)."""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Self

import httpx

from toolbench.cache import CacheMode, ResponseCache
from toolbench.catalog.arguments import validate_arguments, validate_call
from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.naming import standardize
from toolbench.executor.config import (
    CACHE_MISS,
    HALLUCINATED,
    INVALID_ARGUMENTS,
    INVALID_URL,
    NOT_IN_CATALOG,
    NOT_WORKING,
    REQUEST_ERROR,
    TIMEOUT,
    TLS_ERROR,
    ExecutorConfig,
    _obs,
    error_kind,
)
from toolbench.executor.request import (
    PreparationError,
    PreparedRequest,
    add_secrets,
    apply_overrides,
    auth_headers,
    check_request,
    prepare_request,
)
from toolbench.executor.response import (
    _is_tls,
    _redacted,
    _retryable,
    _tls_reason,
    _unexpected,
    cacheable,
    observation_from_http,
    observation_from_service,
    retry_delay,
)
from toolbench.executor.urls import host_matches, url_problem
from toolbench.records import Api, AuthScheme, Observation, Tool

log = logging.getLogger("toolbench.executor")
_SSL_CONTEXT = None
_SSL_LOCK = threading.Lock()


class Executor:
    """Calls the APIs of a catalog. ``call``/``call_function`` are sync, ``acall``/``acall_function`` async.

    >>> ex = Executor(catalog.tools, ExecutorConfig(credentials={"*": "my-key"}))   # doctest: +SKIP
    >>> ex.call("SkyCast Weather", "Current weather", {"city": "Paris"}).response     # doctest: +SKIP
    """

    def __init__(self, tools: Iterable[Tool], config: ExecutorConfig | None = None,
                 cache: ResponseCache | None = None, env: Mapping[str, str] | None = None):
        self.config = config or ExecutorConfig()
        self.cache = cache
        self.mode = CacheMode.parse(self.config.cache_mode)
        self.env = env if env is not None else os.environ
        self.tools: dict[str, Tool] = {}
        self.apis: dict[tuple[str, str], tuple[Tool, Api]] = {}
        for tool in tools:
            self.tools[tool.name] = tool
            for api in tool.apis:
                self.apis[(tool.name, api.name)] = (tool, api)
        self._client: httpx.Client | None = None
        self._aclients: dict[int, httpx.AsyncClient] = {}
        self._atransports: dict[int, httpx.AsyncBaseTransport] = {}
        # makes the httpx transport the async calls are sent through from the executor's SSL context (campaigns:
        # toolbench.llm.http11_transport), directly: no httpx client around it (no cookie jar, redirect or auth
        # handling, which the executor does not use); None: an httpx.AsyncClient with its own transport
        self.async_transport: Callable[[Any], httpx.AsyncBaseTransport] | None = None
        self._sems: dict[str, threading.BoundedSemaphore] = {}
        self._asems: dict[tuple[int, str], asyncio.Semaphore] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_catalog(cls, catalog, config: ExecutorConfig | None = None, cache: ResponseCache | None = None,
                     ) -> Executor:
        """From a loaded catalog (anything with ``.tools``, e.g. ``toolbench.catalog.store.load_catalog``)."""
        return cls(catalog.tools, config, cache)

    # -- secrets --------------------------------------------------------------------------------------
    def secret_for(self, tool: Tool, scheme: AuthScheme, host: str = "") -> str:
        """The secret for ``scheme`` of ``tool`` on a request to ``host`` (the hostname really called), by the
        routing rules of the module docstring; '' when no key may go there."""
        cfg, creds = self.config, self.config.credentials
        std = tool.standardized_name
        for key in (f"{std}.{scheme.name}", std):  # configured for this tool: its URLs get it
            if creds.get(key):
                return creds[key]
        if self.env.get(f"TOOLBENCH_KEY_{std.upper()}"):
            return self.env[f"TOOLBENCH_KEY_{std.upper()}"]
        rapid = scheme.type.lower() == "rapidapi" or scheme.param_name.lower() == "x-rapidapi-key"
        if rapid and host_matches(host, cfg.rapidapi_key_hosts):
            for value in (creds.get(scheme.name), creds.get("*"), self.env.get(cfg.rapidapi_key_env)):
                if value:
                    return value
        if host_matches(host, cfg.generic_key_hosts()):
            for value in (creds.get(scheme.name), creds.get("*"), self.env.get(cfg.api_key_env)):
                if value:
                    return value
        return ""

    def known_secrets(self, tool: Tool | None = None) -> list[str]:
        """Every key value the configuration holds (for ``tool``: its own ones too), to redact from answers."""
        cfg = self.config
        values = list(cfg.credentials.values())
        for var in (cfg.api_key_env, cfg.rapidapi_key_env, cfg.service_key_env):
            values.append(self.env.get(var, ""))
        if tool is not None:
            values.append(self.env.get(f"TOOLBENCH_KEY_{tool.standardized_name.upper()}", ""))
        return [v for v in values if isinstance(v, str) and v]

    # -- preparing ------------------------------------------------------------------------------------
    def _lookup(self, tool_name: str, api_name: str) -> tuple[Tool, Api] | Observation:
        found = self.apis.get((tool_name, api_name))
        if found is None:
            return _obs(NOT_IN_CATALOG, f"API {api_name!r} of tool {tool_name!r} is not in the catalog; "
                        "only catalog APIs can be called")
        return found

    def _precheck(self, tool_name: str, api_name: str, args: Any,
                  validated: bool = False) -> tuple[Tool, Api, str | None] | Observation:
        found = self._lookup(tool_name, api_name)
        if isinstance(found, Observation):
            return found
        tool, api = found
        if not isinstance(args, dict):
            return _obs(INVALID_ARGUMENTS, f"the arguments must be a JSON object, not {type(args).__name__}")
        problems = [] if validated else validate_arguments(api, args)
        if problems:
            return _obs(INVALID_ARGUMENTS, "; ".join(map(str, problems)))
        return tool, api, None

    def _prepare(self, tool: Tool, api: Api, args: dict[str, Any]) -> PreparedRequest | Observation:
        cfg = self.config
        if cfg.service_url:
            # an API another category documents (a tool under several categories, see catalog/importer.py) is
            # called under that category and the name its files give it
            payload = {"category": api.extra.get("category_name") or tool.category or api.category,
                       "tool_name": tool.standardized_name,
                       "api_name": standardize(api.extra.get("documented_as") or api.name),
                       "tool_input": json.dumps(args, ensure_ascii=False),
                       "strip": "", "toolbench_key": self.env.get(cfg.service_key_env, "")}
            req = PreparedRequest(method="POST", url=cfg.service_url + "/virtual", json=payload,
                                  headers={"User-Agent": cfg.user_agent})
            return check_request(req) or req
        if not api.url:
            return _obs(INVALID_URL, f"the catalog has no URL for API {api.name!r} of tool {tool.name!r}; it "
                        "cannot be called, try another API")
        url = apply_overrides(api.url, cfg.base_url_overrides)
        problem = url_problem(url)
        if problem:
            return _obs(INVALID_URL, f"the URL of API {api.name!r} cannot be called: {problem}; the catalog entry "
                        "is broken, try another API")
        try:
            req = prepare_request(tool, api, args, None, cfg.base_url_overrides, cfg.user_agent)
        except PreparationError as exc:
            return _obs(INVALID_ARGUMENTS, str(exc))
        add_secrets(req, auth_headers(tool, self.secret_for, req.url, cfg.rapidapi_key_hosts))
        return check_request(req) or req

    def _interpret(self, resp: httpx.Response, latency: float) -> Observation:
        fn = observation_from_service if self.config.service_url else observation_from_http
        return fn(resp.status_code, resp.headers, resp.text, latency)

    def _failure(self, exc: Exception, req: PreparedRequest) -> Observation:
        """What the agent sees for an exception raised while sending ``req`` (never re-raised)."""
        if isinstance(exc, httpx.TimeoutException):
            return _obs(TIMEOUT, f"no answer within {self.config.timeout:g} s; the API is too slow")
        if isinstance(exc, httpx.ConnectError) and _is_tls(exc):
            return _obs(TLS_ERROR, f"the TLS handshake with {req.host} failed ({_tls_reason(exc)}); the API "
                        "cannot be reached securely, try another one")
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return _obs(INVALID_URL, f"the URL cannot be called ({type(exc).__name__}); try another API")
        if isinstance(exc, httpx.LocalProtocolError):
            return _obs(INVALID_ARGUMENTS, "the request could not be sent as built (a header or URL value is not "
                        "valid HTTP); send plain one-line values")
        if isinstance(exc, httpx.TransportError):
            return _obs(NOT_WORKING, f"cannot connect ({type(exc).__name__}); the API is down")
        log.warning("%s failed unexpectedly: %s", req.redacted(), type(exc).__name__)
        return _obs(REQUEST_ERROR, f"the request failed ({type(exc).__name__}); try another API")

    def _cached(self, tool: Tool, api: Api, args: dict[str, Any]) -> Observation | None:
        if self.cache is None or self.mode == CacheMode.OFF:
            return None
        hit = self.cache.get(tool.name, api.name, args)
        if hit is None and self.mode == CacheMode.REPLAY:
            return _obs(CACHE_MISS, f"no recorded response for {api.name!r} of {tool.name!r} with these arguments "
                        "(replay mode makes no network calls)")
        return None if hit is None else _redacted(hit, self.known_secrets(tool))

    def _store(self, tool: Tool, api: Api, args: dict[str, Any], obs: Observation) -> None:
        if self.cache is not None and self.mode == CacheMode.READ_WRITE and cacheable(obs):
            self.cache.put(tool.name, api.name, args, obs, redact=self.known_secrets(tool))

    # -- sync -----------------------------------------------------------------------------------------
    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self._timeout(), follow_redirects=False, verify=self._ssl())
            return self._client

    def _ssl(self):
        """One SSL context for all executors: building one costs ~0.1 s."""
        global _SSL_CONTEXT
        with _SSL_LOCK:
            if _SSL_CONTEXT is None:
                import ssl

                import certifi

                _SSL_CONTEXT = ssl.create_default_context(cafile=certifi.where())
            return _SSL_CONTEXT

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout)

    def _sem(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._sems:
                self._sems[host] = threading.BoundedSemaphore(self.config.max_concurrency_per_host)
            return self._sems[host]

    def _ready(self, tool_name: str, api_name: str, args: dict[str, Any],
               validated: bool = False) -> Observation | tuple[Any, Any]:
        """What :meth:`call` and :meth:`acall` do before sending: the (tool, api) to send, or the observation that
        answers without sending (a refused call, a cached response, an unexpected error while checking).
        ``validated``: the arguments were checked against the API's schema already (:meth:`call_function`)."""
        try:
            checked = self._precheck(tool_name, api_name, args, validated)
        except Exception as exc:  # noqa: BLE001 - a call never raises
            return _unexpected(exc, "checking the arguments")
        if isinstance(checked, Observation):
            return checked
        tool, api, _ = checked
        hit = self._cached(tool, api, args)
        return hit if hit is not None else (tool, api)

    def call(self, tool_name: str, api_name: str, args: dict[str, Any] | None = None,
             *, _validated: bool = False) -> Observation:
        """Call one catalog API with arguments keyed by its own parameter names."""
        args = {} if args is None else args
        ready = self._ready(tool_name, api_name, args, _validated)
        if isinstance(ready, Observation):
            return ready
        tool, api = ready
        try:
            obs = self._send(tool, api, args)
        except Exception as exc:  # noqa: BLE001 - a call never raises
            return _unexpected(exc, "calling the API")
        self._store(tool, api, args, obs)
        return obs

    def _send(self, tool: Tool, api: Api, args: dict[str, Any]) -> Observation:
        req = self._prepare(tool, api, args)
        if isinstance(req, Observation):
            return req
        client = self._sync_client()
        started = time.monotonic()
        obs = Observation()
        for attempt in range(self.config.max_retries + 1):
            headers: Mapping[str, str] = {}
            with self._sem(req.host):
                t0 = time.monotonic()
                try:
                    resp = client.request(req.method, req.url, params=req.params or None, headers=req.headers,
                                          json=req.json)
                    headers = resp.headers
                    obs = self._interpret(resp, time.monotonic() - t0)
                except Exception as exc:  # noqa: BLE001 - every failure is an observation
                    obs = self._failure(exc, req)
            log.debug("%s -> %s (attempt %d)", req.redacted(), obs.status or error_kind(obs), attempt + 1)
            if attempt < self.config.max_retries and _retryable(obs, self.config):
                time.sleep(retry_delay(attempt, obs, headers, self.config))
                continue
            break
        obs.latency = time.monotonic() - started
        return _redacted(obs, req.secret_values() + self.known_secrets(tool))

    def call_function(self, functions: FunctionSet, name: str, arguments: Any) -> Observation:
        """An agent's call: the function name offered to the model and its arguments (a dict or JSON text)."""
        prepared = self._resolve_function(functions, name, arguments)
        if isinstance(prepared, Observation):
            return prepared
        return self.call(*prepared, _validated=True)  # validate_call checked the arguments

    def _resolve_function(self, functions: FunctionSet, name: str, arguments: Any
                          ) -> Observation | tuple[str, str, dict[str, Any]]:
        function = functions.resolve(name)
        if function is None:
            names = sorted(functions.functions)
            close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            offered = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
            return _obs(HALLUCINATED, f"no function named {name!r} was offered; {hint}the functions offered are: "
                        f"{offered}")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as exc:
                return _obs(INVALID_ARGUMENTS, f"the arguments are not valid JSON ({exc.msg} at position "
                            f"{exc.pos}); send a JSON object")
        api_args, problems = validate_call(function, arguments)
        if problems:
            return _obs(INVALID_ARGUMENTS, "; ".join(map(str, problems)))
        return function.api.tool, function.api.name, api_args

    # -- async ----------------------------------------------------------------------------------------
    def _async_client(self) -> httpx.AsyncClient:
        loop = id(asyncio.get_running_loop())
        if loop not in self._aclients:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            self._aclients[loop] = httpx.AsyncClient(timeout=self._timeout(), follow_redirects=False, limits=limits,
                                                     verify=self._ssl())
        return self._aclients[loop]

    async def _arequest(self, req: PreparedRequest) -> httpx.Response:
        """Send ``req`` once, through :attr:`async_transport` when one is set, else the async client."""
        if self.async_transport is None:
            return await self._async_client().request(req.method, req.url, params=req.params or None,
                                                      headers=req.headers, json=req.json)
        loop = id(asyncio.get_running_loop())
        transport = self._atransports.get(loop)
        if transport is None:
            transport = self._atransports[loop] = self.async_transport(self._ssl())
        request = httpx.Request(req.method, req.url, params=req.params or None, headers=req.headers, json=req.json,
                                extensions={"timeout": self._timeout().as_dict()})
        response = await transport.handle_async_request(request)
        await response.aread()
        return response

    def _asem(self, host: str) -> asyncio.Semaphore:
        key = (id(asyncio.get_running_loop()), host)
        if key not in self._asems:
            self._asems[key] = asyncio.Semaphore(self.config.max_concurrency_per_host)
        return self._asems[key]

    async def acall(self, tool_name: str, api_name: str, args: dict[str, Any] | None = None,
                    *, _validated: bool = False) -> Observation:
        """Async :meth:`call`. The cache is SQLite (fast, local); it is used inline."""
        args = {} if args is None else args
        ready = self._ready(tool_name, api_name, args, _validated)
        if isinstance(ready, Observation):
            return ready
        tool, api = ready
        try:
            obs = await self._asend(tool, api, args)
        except Exception as exc:  # noqa: BLE001 - a call never raises
            return _unexpected(exc, "calling the API")
        self._store(tool, api, args, obs)
        return obs

    async def _asend(self, tool: Tool, api: Api, args: dict[str, Any]) -> Observation:
        req = self._prepare(tool, api, args)
        if isinstance(req, Observation):
            return req
        started = time.monotonic()
        obs = Observation()
        for attempt in range(self.config.max_retries + 1):
            headers: Mapping[str, str] = {}
            async with self._asem(req.host):
                t0 = time.monotonic()
                try:
                    resp = await self._arequest(req)
                    headers = resp.headers
                    obs = self._interpret(resp, time.monotonic() - t0)
                except Exception as exc:  # noqa: BLE001 - every failure is an observation
                    obs = self._failure(exc, req)
            log.debug("%s -> %s (attempt %d)", req.redacted(), obs.status or error_kind(obs), attempt + 1)
            if attempt < self.config.max_retries and _retryable(obs, self.config):
                await asyncio.sleep(retry_delay(attempt, obs, headers, self.config))
                continue
            break
        obs.latency = time.monotonic() - started
        return _redacted(obs, req.secret_values() + self.known_secrets(tool))

    async def acall_function(self, functions: FunctionSet, name: str, arguments: Any) -> Observation:
        prepared = self._resolve_function(functions, name, arguments)
        if isinstance(prepared, Observation):
            return prepared
        return await self.acall(*prepared, _validated=True)  # validate_call checked the arguments

    # -- lifecycle ------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        client = self._aclients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.aclose()
        transport = self._atransports.pop(id(asyncio.get_running_loop()), None)
        if transport is not None:
            await transport.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
