"""The executor: calls the APIs of a catalog over HTTP and returns what the agent sees, an Observation.

Pure parts, tested with plain equality: :func:`prepare_request` (arguments keyed by the API's own parameter
names -> method, URL, query, headers, JSON body) and :func:`observation_from_http` (status, headers, body ->
Observation with an error kind). The thin network part, :class:`Executor`, adds validation, the response
cache, timeouts, retries with backoff on 429 and 5xx (honouring Retry-After, capped), and a concurrency limit
per host, in a sync (``call``) and an async (``acall``) flavour.

Errors are observations, never exceptions: ``error`` starts with a kind from :data:`ERROR_KINDS` followed by
``": "`` and a message for the agent (``rate_limited: HTTP 429 ...``); :func:`error_kind` reads it back.

Every failure is an observation: a catalog URL the executor cannot call (not http(s), a bad port, a host that
does not parse: :func:`url_problem`, ``invalid_url``), a request it will not send (an argument that makes the URL
longer than :data:`MAX_URL_CHARS`, a header value with a line break, a body over :data:`MAX_BODY_BYTES`:
``invalid_arguments``), a TLS failure (``tls_error``), a timeout, a refused connection (``not_working``); nothing
raised by httpx leaves :meth:`Executor.call` / :meth:`Executor.acall`.

Safety: only (tool, api) pairs of the catalog are called, at the URL the catalog records (path values are
percent-encoded, so arguments cannot leave that path; redirects are not followed). Secrets come from the
environment or ``ExecutorConfig.credentials``; they are put in headers (or the query, when the auth scheme
says so) and never appear in logs, cache keys or observations (a key the API echoes back is replaced by
``***``, in the observation and in the cache). Which key goes where depends on the host the request really
goes to (after ``base_url_overrides``), never on the catalog's ``host`` field:

- a key configured for one tool (``credentials['<tool>']``, ``'<tool>.<scheme>'``, ``TOOLBENCH_KEY_<TOOL>``)
  goes to that tool's URLs;
- the RapidAPI key (``RAPIDAPI_KEY``) only to hosts matching ``rapidapi_key_hosts`` (``*.rapidapi.com``);
- the generic key (``TOOLBENCH_API_KEY``, ``credentials['*']`` or ``credentials['<scheme>']``) only to hosts
  matching ``api_key_hosts`` (loopback: the local hub) and to the targets of ``base_url_overrides`` whose catalog
  prefix is on such a host (the hub moved to another address).

URL userinfo (``user:pass@``) is shown as ``***@`` in logs and messages (:func:`redact_url`).
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import functools
import ipaddress
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx

from toolbench.cache import CacheMode, ResponseCache
from toolbench.catalog.arguments import validate_arguments, validate_call
from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.naming import standardize
from toolbench.errors import ToolbenchError
from toolbench.records import Api, AuthScheme, Observation, Tool

log = logging.getLogger("toolbench.executor")

HALLUCINATED = "hallucinated_function"
INVALID_ARGUMENTS = "invalid_arguments"
UNAUTHORIZED = "unauthorized"
RATE_LIMITED = "rate_limited"
TIMEOUT = "timeout"
NOT_WORKING = "not_working"
MALFORMED = "malformed_response"
REQUEST_ERROR = "request_error"
CACHE_MISS = "cache_miss"
NOT_IN_CATALOG = "not_in_catalog"
INVALID_URL = "invalid_url"  # the catalog's URL cannot be called: scheme, port, host or characters
TLS_ERROR = "tls_error"  # the TLS handshake failed (certificate, protocol)
ERROR_KINDS = (HALLUCINATED, INVALID_ARGUMENTS, UNAUTHORIZED, RATE_LIMITED, TIMEOUT, NOT_WORKING, MALFORMED,
               REQUEST_ERROR, CACHE_MISS, NOT_IN_CATALOG, INVALID_URL, TLS_ERROR)
MAX_ERROR_BODY = 1000
MAX_URL_CHARS = 16_384  # a request URL (query included) longer than this is not sent
MAX_HEADER_CHARS = 8_192  # nor a header value longer than this
MAX_BODY_BYTES = 2_000_000  # nor a JSON body larger than this
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
RAPIDAPI_HOSTS = ("*.rapidapi.com",)
HTTP_SCHEMES = ("http", "https")
_SSL_CONTEXT = None
_SSL_LOCK = threading.Lock()


class ExecutorError(ToolbenchError):
    """The executor is misconfigured: the message names the field and what to do."""


@dataclass
class ExecutorConfig:
    """How the executor calls APIs. Secrets are never printed (``credentials`` is left out of repr)."""

    timeout: float = field(default=10.0, metadata={"help": "Seconds to wait for a response (read timeout)."})
    connect_timeout: float = field(default=5.0, metadata={"help": "Seconds to wait for a connection."})
    max_retries: int = field(default=2, metadata={"help": "Retries after a 429, a 5xx or a connection error."})
    backoff_base: float = field(default=0.5, metadata={"help": "First retry delay; doubles on each retry."})
    backoff_max: float = field(default=8.0, metadata={"help": "Longest delay between two attempts."})
    retry_after_max: float = field(default=10.0, metadata={
        "help": "Longest Retry-After honoured; a longer one is cut to this."})
    retry_on_timeout: bool = field(default=False, metadata={
        "help": "Also retry a request that timed out (doubles the worst-case wait)."})
    max_concurrency_per_host: int = field(default=8, metadata={"help": "Requests in flight per host at most."})
    cache_mode: str = field(default="read-write", metadata={
        "help": "read-write | replay (a miss is an error, never a network call) | off. Needs a cache to matter."})
    base_url_overrides: dict[str, str] = field(default_factory=dict, metadata={
        "help": "Catalog URL prefix -> URL prefix to call instead (e.g. the committed hub catalog's "
                "http://127.0.0.1:8750 -> a hub on another port)."})
    credentials: dict[str, str] = field(default_factory=dict, repr=False, metadata={
        "help": "Secrets from a config file: '<tool>.<scheme>', '<tool>' (standardised names; sent to that tool's "
                "URLs), '<scheme>' or '*' (generic: sent only where the generic key may go) -> secret. Looked up "
                "before the environment."})
    api_key_env: str = field(default="TOOLBENCH_API_KEY", metadata={
        "help": "Environment variable holding the generic key, for a tool without a more specific one; sent only "
                "to api_key_hosts and where base_url_overrides move them."})
    rapidapi_key_env: str = field(default="RAPIDAPI_KEY", metadata={
        "help": "Environment variable holding the RapidAPI key (X-RapidAPI-Key); sent only to rapidapi_key_hosts."})
    api_key_hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_HOSTS), metadata={
        "help": "Hosts that may receive the generic key (and credentials '*' / '<scheme>'): names, or '*.domain' "
                "patterns. Default: loopback, i.e. the local hub."})
    rapidapi_key_hosts: list[str] = field(default_factory=lambda: list(RAPIDAPI_HOSTS), metadata={
        "help": "Hosts that may receive the RapidAPI key: names, or '*.domain' patterns."})
    service_url: str = field(default="", metadata={
        "help": "A StableToolBench-style service: calls go to POST {service_url}/virtual instead of the APIs."})
    service_key_env: str = field(default="TOOLBENCH_KEY", metadata={
        "help": "Environment variable holding the toolbench_key sent to the service."})
    user_agent: str = "toolbench-executor/0.1"

    def __post_init__(self) -> None:
        for name in ("timeout", "connect_timeout", "backoff_max", "retry_after_max"):
            if getattr(self, name) <= 0:
                raise ExecutorError(f"{name}: must be > 0 seconds, got {getattr(self, name)!r}")
        if self.backoff_base < 0:
            raise ExecutorError("backoff_base: must be >= 0 seconds")
        if self.max_retries < 0:
            raise ExecutorError("max_retries: must be >= 0")
        if self.max_concurrency_per_host < 1:
            raise ExecutorError("max_concurrency_per_host: must be >= 1")
        CacheMode.parse(self.cache_mode)
        self.service_url = self.service_url.rstrip("/")
        for prefix in list(self.base_url_overrides) + list(self.base_url_overrides.values()):
            if urlsplit(prefix).scheme not in HTTP_SCHEMES:
                raise ExecutorError(f"base_url_overrides: {redact_url(prefix)!r} is not an http(s) URL prefix")
        for name in ("api_key_hosts", "rapidapi_key_hosts"):
            if isinstance(getattr(self, name), str):
                raise ExecutorError(f"{name}: must be a list of host names or '*.domain' patterns")

    def generic_key_hosts(self) -> list[str]:
        """Hosts the generic key may go to: ``api_key_hosts`` and the targets of overrides of their URLs."""
        hosts = list(self.api_key_hosts)
        for prefix, target in self.base_url_overrides.items():
            if host_matches(request_hostname(prefix), self.api_key_hosts):
                hosts.append(request_hostname(target))
        return [h for h in hosts if h]


def error_kind(obs: Observation) -> str:
    """The kind of an error observation (one of ERROR_KINDS), or '' for a success."""
    head = obs.error.split(":", 1)[0]
    return head if head in ERROR_KINDS else ("" if not obs.error else "other")


def _obs(kind: str, message: str, response: str = "", status: int | None = None, latency: float = 0.0) -> Observation:
    return Observation(error=f"{kind}: {message}", response=response, status=status, latency=latency)


# -- URLs and hosts (pure) -----------------------------------------------------------------------------

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_LABEL = re.compile(r"(?i)^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_HEADER_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def redact_url(text: str) -> str:
    """``text`` with the userinfo of every URL in it (``https://user:pass@host``) shown as ``***``."""
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


def url_host(url: str) -> str:
    """``host[:port]`` of ``url`` without userinfo, lower case ('' when there is none): for logs and reports."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[2].lower()


@functools.lru_cache(maxsize=4096)
def request_hostname(url: str) -> str:
    """The host a request to ``url`` really goes to, as httpx parses it (ASCII, lower case, no port); '' when
    the URL does not parse."""
    try:
        host = httpx.URL(url).raw_host.decode("ascii")
    except Exception:  # noqa: BLE001 - any parse failure means "no host"
        return ""
    return host.lower().rstrip(".")


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``patterns``: exact names, or ``*.domain`` for any subdomain of domain."""
    host = host.lower().rstrip(".")
    if not host:
        return False
    for pattern in patterns:
        pattern = pattern.strip().lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif pattern and host == pattern:
            return True
    return False


def _host_problem(raw: str) -> str:
    if not raw:
        return "it has no host"
    if ":" in raw:
        try:
            ipaddress.IPv6Address(raw)
            return ""
        except ValueError:
            return f"host {raw!r} is not a valid IPv6 address"
    name = raw.removesuffix(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return f"host {raw!r} is not a valid host name"
    return ""


def url_problem(url: Any) -> str:
    """Why the executor cannot call ``url`` (a catalog URL template: ``{name}`` placeholders are allowed), or ''
    when it can. Checked: text, an http(s) scheme, no control characters, a host that parses, a port in
    1..65535, at most :data:`MAX_URL_CHARS` characters. ``toolbench catalog validate`` reports the same."""
    if not isinstance(url, str):
        return f"the URL is a {type(url).__name__}, not text"
    return _str_url_problem(url)


@functools.lru_cache(maxsize=4096)
def _str_url_problem(url: str) -> str:
    if not url.strip():
        return "the URL is empty"
    if _BAD_HEADER_CHARS.search(url) or "\t" in url:
        return "the URL contains a control character (line break, tab or NUL)"
    if url != url.strip():
        return "the URL has leading or trailing spaces"
    if len(url) > MAX_URL_CHARS:
        return f"the URL is {len(url):,} characters long (at most {MAX_URL_CHARS:,})"
    filled = _PLACEHOLDER.sub("x", url)
    scheme = filled.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", filled) else ""
    if scheme not in HTTP_SCHEMES:
        return (f"scheme {scheme + '://'!r} is not http(s)" if scheme else
                "it is not an absolute http(s) URL (no scheme)")
    try:
        parsed = httpx.URL(filled)
    except httpx.InvalidURL as exc:
        text = redact_url(str(exc)).rstrip(".")
        return text[:1].lower() + text[1:]
    except Exception as exc:  # noqa: BLE001 - e.g. an IDNA error in the host
        return f"it does not parse ({type(exc).__name__})"
    try:
        raw_host = parsed.raw_host.decode("ascii")
    except UnicodeDecodeError:
        return "the host is not ASCII after IDNA encoding"
    problem = _host_problem(raw_host)
    if problem:
        return problem
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return f"port {parsed.port} is out of range (1-65535)"
    return ""


# -- the pure parts ------------------------------------------------------------------------------------

@dataclass
class PreparedRequest:
    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    secret_names: frozenset[str] = frozenset()  # header / query names whose values are secrets

    @property
    def host(self) -> str:
        return url_host(self.url)

    def secret_values(self) -> list[str]:
        """The secrets this request carries (to redact them from what comes back)."""
        out = [self.headers[n] for n in self.secret_names if n in self.headers]
        out += [str(self.params[n]) for n in self.secret_names if n in self.params]
        if isinstance(self.json, dict) and isinstance(self.json.get("toolbench_key"), str):
            out.append(self.json["toolbench_key"])  # the StableToolBench service's key travels in the body
        return [v for v in out if v]

    def redacted(self) -> str:
        """Method and URL with secret query values and URL userinfo masked: safe for logs."""
        shown = {k: ("***" if k in self.secret_names else v) for k, v in self.params.items()}
        return f"{self.method} {redact_url(self.url)}" + (f" {shown}" if shown else "")


class PreparationError(Exception):
    """Arguments cannot be placed (e.g. a path parameter without a value): becomes an observation."""


def param_location(api: Api, name: str) -> str:
    param = next((p for p in api.params if p.name == name), None)
    if param is not None and param.location:
        return param.location
    if "{" + name + "}" in api.url:
        return "path"
    return "query" if api.method.upper() in ("GET", "DELETE", "HEAD", "OPTIONS") else "body"


def apply_overrides(url: str, overrides: Mapping[str, str]) -> str:
    for prefix in sorted(overrides, key=len, reverse=True):
        if url.startswith(prefix):
            return overrides[prefix].rstrip("/") + url[len(prefix.rstrip("/")):]
    return url


def _query_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return [json.dumps(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def prepare_request(tool: Tool, api: Api, args: Mapping[str, Any], secrets: Mapping[str, str] | None = None,
                    overrides: Mapping[str, str] | None = None, user_agent: str = "") -> PreparedRequest:
    """Place ``args`` (keyed by the API's own parameter names) in path, query, headers and JSON body.

    A parameter's ``location`` decides; without one, ``{name}`` in the URL means path, GET/DELETE mean query,
    other methods the JSON body. ``secrets`` maps header names (or ``?name`` for query parameters) to values.
    """
    if not api.url:
        raise PreparationError(f"the catalog has no URL for API {api.name!r} of tool {tool.name!r}")
    url = apply_overrides(api.url, overrides or {})
    req = PreparedRequest(method=api.method.upper(), url=url)
    body: dict[str, Any] = {}
    for name, value in args.items():
        where = param_location(api, name)
        if value is None and where != "body":
            continue  # a query string or header has no null: an optional parameter given as null is left out
        if where == "path":
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        elif where == "query":
            req.params[name] = _query_value(value)
        elif where in ("header", "cookie"):
            text = value if isinstance(value, str) else json.dumps(value)
            if where == "cookie":
                req.headers["Cookie"] = "; ".join(filter(None, [req.headers.get("Cookie", ""), f"{name}={text}"]))
            else:
                req.headers[name] = text
        else:
            body[name] = value
    missing = re.findall(r"\{([^{}]+)\}", url)
    if missing:
        raise PreparationError(f"no value for path parameter(s) {', '.join(missing)}; pass them as arguments")
    req.url = url
    if body or (req.method in ("POST", "PUT", "PATCH") and any(param_location(api, p.name) == "body" for p in api.params)):
        req.json = body  # an API that takes a body gets one, `{}` when every body field is optional and left out
    if user_agent:
        req.headers.setdefault("User-Agent", user_agent)
    add_secrets(req, secrets or {})
    return req


def add_secrets(req: PreparedRequest, secrets: Mapping[str, str]) -> None:
    """Put ``secrets`` (header name, or ``?name`` for a query parameter -> value) in ``req``."""
    names = set(req.secret_names)
    for name, value in secrets.items():
        if name.startswith("?"):
            req.params[name[1:]] = value
            names.add(name[1:])
        else:
            req.headers[name] = value
            names.add(name)
    req.secret_names = frozenset(names)


def check_request(req: PreparedRequest) -> Observation | None:
    """An error observation when ``req`` must not be sent as built (a header with a line break or non-ASCII
    text, a URL over :data:`MAX_URL_CHARS`, a body over :data:`MAX_BODY_BYTES`, anything httpx refuses to
    build); None when it may be sent. Messages never show header values."""
    for name, value in req.headers.items():
        whose = "the configured key" if name in req.secret_names else f"header {name!r}"
        if not _HEADER_NAME.match(name):
            return _obs(REQUEST_ERROR, f"header name {name[:100]!r} is not a valid HTTP header name; the catalog "
                        "entry is broken, try another API")
        if not isinstance(value, str):
            return _obs(INVALID_ARGUMENTS, f"{whose} must be text")
        if _BAD_HEADER_CHARS.search(value):
            return _obs(INVALID_ARGUMENTS, f"{whose} contains a line break or control character; header values "
                        "must be one line of text")
        if not value.isascii():
            return _obs(INVALID_ARGUMENTS, f"{whose} contains non-ASCII characters; header values must be ASCII")
        if len(value) > MAX_HEADER_CHARS:
            return _obs(INVALID_ARGUMENTS, f"{whose} is {len(value):,} characters long (at most "
                        f"{MAX_HEADER_CHARS:,}); send a shorter value")
    try:
        built = httpx.Request(req.method, req.url, params=req.params or None, headers=req.headers, json=req.json)
    except httpx.InvalidURL as exc:
        return _obs(INVALID_ARGUMENTS, f"the request URL cannot be built ({redact_url(str(exc)).rstrip('.')}); "
                    f"{_longest_hint(req)}")
    except (TypeError, ValueError) as exc:  # a body that is not JSON, a value httpx cannot encode
        return _obs(INVALID_ARGUMENTS, f"the request cannot be built ({type(exc).__name__}); send JSON values")
    if len(str(built.url)) > MAX_URL_CHARS:
        return _obs(INVALID_ARGUMENTS, f"the request URL would be {len(str(built.url)):,} characters long (at most "
                    f"{MAX_URL_CHARS:,}); {_longest_hint(req)}")
    size = len(built.content or b"")
    if size > MAX_BODY_BYTES:
        return _obs(INVALID_ARGUMENTS, f"the request body would be {size:,} bytes (at most {MAX_BODY_BYTES:,}); "
                    "send shorter arguments")
    return None


def _longest_hint(req: PreparedRequest) -> str:
    values = {k: str(v) for k, v in req.params.items() if k not in req.secret_names}
    if not values:
        return "send shorter arguments"
    name = max(values, key=lambda k: len(values[k]))
    return f"send shorter arguments ({name!r} is {len(values[name]):,} characters)"


def auth_headers(tool: Tool, secret_for: Callable[..., str], url: str = "",
                 rapidapi_hosts: Iterable[str] = RAPIDAPI_HOSTS) -> dict[str, str]:
    """Header (or ``?query``) -> secret for the first auth scheme of ``tool`` that has a secret.

    ``url`` is the URL the request really goes to; ``secret_for(tool, scheme, hostname)`` picks the secret for
    that host (the executor's routing rules). A tool without auth schemes gets RapidAPI's only when ``url`` is on
    a RapidAPI host; X-RapidAPI-Host names that host, never the catalog's ``host`` field.
    """
    hostname = request_hostname(url) if url else ""
    schemes = list(tool.auth)
    if not schemes and host_matches(hostname, rapidapi_hosts):
        schemes = [AuthScheme(name="rapidapi", type="rapidapi")]
    for scheme in schemes:
        secret = secret_for(tool, scheme, hostname)
        if not secret:
            continue
        kind = scheme.type.lower()
        if kind == "rapidapi":
            out = {"X-RapidAPI-Key": secret}
            if url_host(url):
                out["X-RapidAPI-Host"] = url_host(url)
            return out
        if kind == "apikey":
            name = scheme.param_name or "X-API-Key"
            if scheme.location == "query":
                return {"?" + name: secret}
            if scheme.location == "cookie":
                return {"Cookie": f"{name}={secret}"}
            out = {name: secret}
            if name.lower() == "x-rapidapi-key" and url_host(url):
                out["X-RapidAPI-Host"] = url_host(url)
            return out
        if kind == "http" and scheme.scheme.lower() == "basic":
            token = secret if ":" not in secret else base64.b64encode(secret.encode()).decode()
            return {"Authorization": f"Basic {token}"}
        if kind in ("http", "oauth2", "openidconnect"):
            return {"Authorization": f"Bearer {secret}"}
    return {}


def _json_ok(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def _message(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "msg"):
            if isinstance(data.get(key), str):
                return data[key][:300]
    return text[:200]


def observation_from_http(status: int, headers: Mapping[str, str], text: str, latency: float) -> Observation:
    """What the agent sees for an HTTP answer, with ToolBench's error kinds."""
    ctype = (headers.get("content-type") or "").lower()
    if 200 <= status < 300:
        looks_json = "json" in ctype or text.lstrip()[:1] in ("{", "[")
        if looks_json and text.strip() and not _json_ok(text):
            return _obs(MALFORMED, f"HTTP {status} with a body that is not valid JSON; the API is broken, try "
                        "another one", text[:MAX_ERROR_BODY], status, latency)
        return Observation(response=text, status=status, latency=latency)
    body = text[:MAX_ERROR_BODY]
    if status in (401, 403):
        return _obs(UNAUTHORIZED, f"HTTP {status}: {_message(text)} (check the API key)", body, status, latency)
    if status == 429:
        return _obs(RATE_LIMITED, f"HTTP 429: {_message(text)}", body, status, latency)
    if status >= 500:
        return _obs(NOT_WORKING, f"HTTP {status}: the API is not working ({_message(text)})", body, status, latency)
    if 300 <= status < 400:
        return _obs(NOT_WORKING, f"HTTP {status}: redirect to {redact_url(headers.get('location', '?'))} not followed",
                    body, status, latency)
    return _obs(REQUEST_ERROR, f"HTTP {status}: {_message(text)}", body, status, latency)


def observation_from_service(status: int, headers: Mapping[str, str], text: str, latency: float) -> Observation:
    """What a StableToolBench-style service's ``{"error", "response"}`` means, as an Observation."""
    if status != 200:
        return observation_from_http(status, headers, text, latency)
    try:
        data = json.loads(text)
    except ValueError:
        return _obs(MALFORMED, "the virtual service answered with invalid JSON", text[:MAX_ERROR_BODY], status, latency)
    if not isinstance(data, dict):
        return _obs(MALFORMED, "the virtual service answer is not an object", text[:MAX_ERROR_BODY], status, latency)
    response = data.get("response", "")
    if not isinstance(response, str):
        response = json.dumps(response, ensure_ascii=False)
    return Observation(error=str(data.get("error") or ""), response=response, status=status, latency=latency)


def retry_delay(attempt: int, obs: Observation, headers: Mapping[str, str], config: ExecutorConfig) -> float:
    """Seconds to wait before attempt ``attempt + 1``: Retry-After (capped) for a 429, else exponential."""
    if obs.status == 429:
        raw = headers.get("retry-after", "")
        try:
            return min(max(float(raw), 0.0), config.retry_after_max)
        except ValueError:
            pass
    return min(config.backoff_base * (2 ** attempt), config.backoff_max)


def _retryable(obs: Observation, config: ExecutorConfig) -> bool:
    if obs.status is not None:
        return obs.status == 429 or obs.status >= 500
    kind = error_kind(obs)
    return kind == NOT_WORKING or (kind == TIMEOUT and config.retry_on_timeout)


def cacheable(obs: Observation) -> bool:
    """Answers worth replaying: successes and the API's own 4xx answers; not transient failures (a 2xx with a
    broken JSON body included: replaying it would make one bad answer permanent)."""
    if obs.status is None or error_kind(obs) == MALFORMED:
        return False
    return 200 <= obs.status < 300 or (400 <= obs.status < 500 and obs.status not in (401, 403, 408, 429))


def _redacted(obs: Observation, secrets: Iterable[str]) -> Observation:
    """``obs`` with every secret it echoes (``secrets`` of at least 4 characters) replaced by ``***``."""
    from toolbench.cache import redact_secrets

    response, error = redact_secrets(obs.response, secrets), redact_secrets(obs.error, secrets)
    if response is obs.response and error is obs.error:
        return obs
    return replace(obs, response=response, error=error)


def _is_tls(exc: BaseException) -> bool:
    import ssl

    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return "SSL" in text or "CERTIFICATE" in text.upper() or "TLS" in text


def _tls_reason(exc: BaseException) -> str:
    m = re.search(r"\[SSL: ([A-Z_]+)\]|(certificate verify failed[^(]*)", str(exc))
    return (m.group(1) or m.group(2)).strip().lower().replace("_", " ") if m else type(exc).__name__


def _unexpected(exc: Exception, doing: str) -> Observation:
    log.warning("the executor failed %s: %s", doing, type(exc).__name__)
    return _obs(REQUEST_ERROR, f"the call failed while {doing} ({type(exc).__name__}); try another API")


# -- the network part ----------------------------------------------------------------------------------

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

    def _precheck(self, tool_name: str, api_name: str, args: Any) -> tuple[Tool, Api, str | None] | Observation:
        found = self._lookup(tool_name, api_name)
        if isinstance(found, Observation):
            return found
        tool, api = found
        if not isinstance(args, dict):
            return _obs(INVALID_ARGUMENTS, f"the arguments must be a JSON object, not {type(args).__name__}")
        problems = validate_arguments(api, args)
        if problems:
            return _obs(INVALID_ARGUMENTS, "; ".join(map(str, problems)))
        return tool, api, None

    def _prepare(self, tool: Tool, api: Api, args: dict[str, Any]) -> PreparedRequest | Observation:
        cfg = self.config
        if cfg.service_url:
            payload = {"category": tool.category or api.category, "tool_name": tool.standardized_name,
                       "api_name": standardize(api.name), "tool_input": json.dumps(args, ensure_ascii=False),
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

    def call(self, tool_name: str, api_name: str, args: dict[str, Any] | None = None) -> Observation:
        """Call one catalog API with arguments keyed by its own parameter names."""
        args = {} if args is None else args
        try:
            checked = self._precheck(tool_name, api_name, args)
        except Exception as exc:  # noqa: BLE001 - a call never raises
            return _unexpected(exc, "checking the arguments")
        if isinstance(checked, Observation):
            return checked
        tool, api, _ = checked
        hit = self._cached(tool, api, args)
        if hit is not None:
            return hit
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
        return self.call(*prepared)

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

    def _asem(self, host: str) -> asyncio.Semaphore:
        key = (id(asyncio.get_running_loop()), host)
        if key not in self._asems:
            self._asems[key] = asyncio.Semaphore(self.config.max_concurrency_per_host)
        return self._asems[key]

    async def acall(self, tool_name: str, api_name: str, args: dict[str, Any] | None = None) -> Observation:
        """Async :meth:`call`. The cache is SQLite (fast, local); it is used inline."""
        args = {} if args is None else args
        try:
            checked = self._precheck(tool_name, api_name, args)
        except Exception as exc:  # noqa: BLE001 - a call never raises
            return _unexpected(exc, "checking the arguments")
        if isinstance(checked, Observation):
            return checked
        tool, api, _ = checked
        hit = self._cached(tool, api, args)
        if hit is not None:
            return hit
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
        client = self._async_client()
        started = time.monotonic()
        obs = Observation()
        for attempt in range(self.config.max_retries + 1):
            headers: Mapping[str, str] = {}
            async with self._asem(req.host):
                t0 = time.monotonic()
                try:
                    resp = await client.request(req.method, req.url, params=req.params or None,
                                                headers=req.headers, json=req.json)
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
        return await self.acall(*prepared)

    # -- lifecycle ------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        client = self._aclients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
