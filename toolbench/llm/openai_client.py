"""A :class:`~toolbench.llm.base.ChatModel` over any OpenAI-compatible endpoint, through the ``openai`` SDK.

The same client talks to OpenAI, to vLLM (``vllm serve ... --enable-auto-tool-choice``), to other hosted APIs,
and to our own ``toolbench llm serve``; only ``base_url``, ``model`` and the key's environment variable change::

    model = OpenAIChatModel(OpenAIChatConfig(model="smollm2-135m-instruct", base_url="http://127.0.0.1:8000/v1"))
    reply = model.chat([{"role": "user", "content": "Hi"}], tools=[...], temperature=0)

The request body is built and the response parsed by the pure functions of :mod:`toolbench.llm.payload`; this
module only adds the network call, the key, retries (the SDK's, with backoff, on connection errors, 408/409/429
and 5xx), a timeout, and a limit on requests in flight (per client, for threads and for each event loop). The
body goes out as built (the SDK's ``client.post``, not ``chat.completions.create``, whose typed transform and
response models cost more CPU than the exchange itself). Async calls on a model given its own
``async_http_client`` (as annotation campaigns do) skip the SDK's request machinery too: the body is posted with
that client to the SDK client's URL with its headers, under the same retry policy and errors (about 0.6 ms less
CPU per call on loopback; see benchmarks/README.md, campaigns). A model given a ``direct_client`` (a
:class:`~toolbench.llm.http11.Http11Client`, as campaigns do) posts with that one instead when the URL needs no
proxy (:func:`~toolbench.llm.http11.direct_ok`): no connection pool scan, no anyio, no pure-Python HTTP parser.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.llm.base import ChatReply, LLMError, LLMRequestError, Message, Tool
from toolbench.llm.http11 import HttpError, HttpTimeout, direct_ok
from toolbench.llm.payload import build_request, parse_response

# The request goes through the SDK's client (its key, headers, timeout, retries and errors) as the JSON body that
# build_request made, and the reply comes back as bytes for parse_response: the SDK's typed request transform and
# response models cost more CPU per call than the HTTP exchange itself (see benchmarks/README.md, campaigns).
COMPLETIONS_PATH = "/chat/completions"
RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx, as the SDK retries

# The key used when the variable is unset but a base_url is given: local servers (ours, vLLM) ignore it.
LOCAL_PLACEHOLDER_KEY = "EMPTY"


@dataclass
class OpenAIChatConfig:
    """How to reach an OpenAI-compatible chat endpoint."""

    model: str = field(metadata={"help": "Model name sent in each request (e.g. gpt-4o-mini, or the name "
                                         "`toolbench llm serve` lists at /v1/models)."})
    base_url: str | None = field(default=None, metadata={
        "help": "Endpoint root including /v1, e.g. http://127.0.0.1:8000/v1. None: the SDK's default "
                "(OPENAI_BASE_URL, else api.openai.com)."})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={
        "help": "Environment variable holding the API key (e.g. OPENAI_API_KEY, TOOLBENCH_LLM_API_KEY). When it is "
                "unset and base_url is given, a placeholder key is sent (local servers ignore keys)."})
    api_key: str | None = field(default=None, repr=False, metadata={
        "help": "The key itself, e.g. from a config file; overrides api_key_env. Never logged or cached."})
    timeout: float = field(default=120.0, metadata={"help": "Seconds to wait for one response."})
    max_retries: int = field(default=2, metadata={"help": "Retries with backoff on connection errors, 408, 409, "
                                                          "429 and 5xx (the SDK's policy)."})
    max_concurrency: int = field(default=8, metadata={"help": "Requests in flight at once from this client."})
    text_tool_calls: bool = field(default=False, metadata={
        "help": "Also parse <tool_call>/JSON tool calls from the text when the endpoint returns none (for "
                "servers without a tool parser)."})
    default_params: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "Request parameters sent with every request unless the call overrides them (temperature...)."})

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ToolbenchError("config field 'model' is empty: name the model to call")
        if self.base_url is not None and not re.match(r"^https?://", self.base_url):
            raise ToolbenchError(f"config field 'base_url' must start with http:// or https://; got {self.base_url!r}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.api_key_env or ""):
            raise ToolbenchError(f"config field 'api_key_env' must be an environment variable name; "
                                 f"got {self.api_key_env!r}")
        if not isinstance(self.timeout, (int, float)) or self.timeout <= 0:
            raise ToolbenchError(f"config field 'timeout' must be > 0 seconds; got {self.timeout!r}")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ToolbenchError(f"config field 'max_retries' must be an integer >= 0; got {self.max_retries!r}")
        if not isinstance(self.max_concurrency, int) or self.max_concurrency < 1:
            raise ToolbenchError(f"config field 'max_concurrency' must be an integer >= 1; "
                                 f"got {self.max_concurrency!r}")
        if "stream" in self.default_params:
            raise ToolbenchError("config field 'default_params' must not set 'stream': replies are whole")

    def resolve_api_key(self) -> str:
        if self.api_key:
            return self.api_key
        key = os.environ.get(self.api_key_env)
        if key:
            return key
        if self.base_url is not None:
            return LOCAL_PLACEHOLDER_KEY
        raise ToolbenchError(f"no API key: set the environment variable {self.api_key_env} (config field "
                             "'api_key_env'), or give 'base_url' for a local server that needs none")


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise LLMError(f"the chat endpoint answered with a body that is not JSON: {raw[:200]!r}") from exc
    if not isinstance(body, dict):
        raise LLMError(f"the chat endpoint answered with JSON that is not an object: {raw[:200]!r}")
    return body


def _error_detail(response: Any) -> tuple[str, Any]:
    """(message, code) of an error response: its OpenAI ``error`` object, else the body as text."""
    try:
        payload = response.json()
    except ValueError:
        return f"Error code: {response.status_code} - {response.text[:500]}", None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or payload), error.get("code")
    return f"Error code: {response.status_code} - {payload}", None


def _retry_after(header: str | None, default: float) -> float:
    try:
        seconds = float(header) if header is not None else default
    except ValueError:
        return default
    return seconds if 0 <= seconds <= 60 else default


def _tool_names(tools: list[Tool] | None) -> set[str] | None:
    if not tools:
        return None
    return {(t.get("function") or t).get("name") for t in tools}


class OpenAIChatModel:
    """The OpenAI-compatible client. ``http_client``/``async_http_client`` (``httpx2`` clients, the SDK's) are for
    tests and proxies; ``direct_client`` (an :class:`~toolbench.llm.http11.Http11Client`) posts the async calls
    when the endpoint needs no proxy; ``usage`` (a :class:`~toolbench.llm.usage.UsageTracker`) records every
    reply."""

    def __init__(self, config: OpenAIChatConfig, usage: Any | None = None, http_client: Any | None = None,
                 async_http_client: Any | None = None, direct_client: Any | None = None) -> None:
        self.config = config
        self.model = config.model
        self.usage = usage
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._direct_client = direct_client
        self._client: Any | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(config.max_concurrency)
        # one async client and one semaphore per event loop (neither may cross loops)
        self._async_state: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, asyncio.Semaphore]] = (
            weakref.WeakKeyDictionary())

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self.model!r}, base_url={self.config.base_url!r})"

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"api_key": self.config.resolve_api_key(), "timeout": self.config.timeout,
                                  "max_retries": self.config.max_retries}
        if self.config.base_url is not None:
            kwargs["base_url"] = self.config.base_url
        return kwargs

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(**self._client_kwargs(), http_client=self._http_client)
            return self._client

    def _async(self) -> tuple[Any, asyncio.Semaphore, tuple[Any, str, dict[str, str]] | None]:
        """This event loop's async client, semaphore, and (http client, URL, headers) for the direct path."""
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._async_state.get(loop)
            if state is None:
                import openai

                client = openai.AsyncOpenAI(**self._client_kwargs(), http_client=self._async_http_client)
                direct = None
                auth = client.auth_headers  # empty when the SDK authenticates otherwise than by a static key
                url = str(client.base_url).rstrip("/") + COMPLETIONS_PATH
                http = self._direct_client if self._direct_client is not None and direct_ok(url) else None
                http = http or self._async_http_client
                if http is not None and auth:
                    headers = {k: v for k, v in {**client.default_headers, **auth}.items() if isinstance(v, str)}
                    direct = (http, url, headers)
                state = self._async_state[loop] = (client, asyncio.Semaphore(self.config.max_concurrency), direct)
            return state

    def _body(self, messages: list[Message], tools: list[Tool] | None, params: dict[str, Any]) -> dict[str, Any]:
        merged = {**self.config.default_params, **params}
        if merged.get("stream"):
            raise LLMError("stream=True is not supported by chat(): it returns whole replies")
        return build_request(self.model, messages, tools, **merged)

    def _reply(self, response: Any, tools: list[Tool] | None) -> ChatReply:
        body = response.model_dump() if hasattr(response, "model_dump") else response
        reply = parse_response(body, _tool_names(tools), self.config.text_tool_calls)
        if self.usage is not None:
            self.usage.record(reply.model or self.model, reply.usage)
        return reply

    def _status_error(self, status: int, message: str, code: Any = None) -> LLMRequestError:
        where = self.config.base_url or "the OpenAI API"
        hint = ""
        if status == 401:
            hint = f" (check the key in {self.config.api_key_env})"
        elif status == 404:
            hint = f" (is model {self.model!r} served there? see {where}/models)"
        return LLMRequestError(f"{where} answered {status}: {message}{hint}", status, code)

    def _timeout_error(self) -> LLMRequestError:
        where = self.config.base_url or "the OpenAI API"
        return LLMRequestError(f"{where} did not answer within {self.config.timeout} s (config field 'timeout')")

    def _error(self, exc: Exception) -> LLMError:
        import openai

        where = self.config.base_url or "the OpenAI API"
        if isinstance(exc, openai.APIStatusError):
            message, code = exc.message, None
            if isinstance(exc.body, dict):  # the SDK hands over the "error" object of the body
                message = exc.body.get("message") or message
                code = exc.body.get("code")
            return self._status_error(exc.status_code, message, code)
        if isinstance(exc, openai.APITimeoutError):
            return self._timeout_error()
        if isinstance(exc, openai.APIConnectionError):
            return LLMRequestError(f"cannot reach {where}: {exc}; is the server running?")
        return LLMError(f"chat request to {where} failed: {exc}")

    async def _apost(self, http: Any, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """The direct path: POST the body with the given async client (``httpx2``'s or an ``Http11Client``), with
        the SDK's retry policy (``max_retries`` more attempts on connection errors, timeouts, 408, 409, 429 and
        5xx; exponential backoff from 0.5 s up to 8 s, or the server's Retry-After up to 60 s) and the same
        errors."""
        import httpx2

        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for attempt in range(self.config.max_retries + 1):
            wait = min(0.5 * 2 ** attempt, 8.0) * (1 - 0.25 * random.random())
            try:
                response = await http.post(url, content=content, headers=headers, timeout=self.config.timeout)
            except (httpx2.TimeoutException, HttpTimeout):
                error: LLMError = self._timeout_error()
            except (httpx2.TransportError, HttpError) as exc:
                where = self.config.base_url or "the OpenAI API"
                error = LLMRequestError(f"cannot reach {where}: {exc}; is the server running?")
            else:
                if response.status_code < 400:
                    return _json_body(response.content)
                error = self._status_error(response.status_code, *_error_detail(response))
                if response.status_code not in RETRY_STATUSES and response.status_code < 500:
                    raise error
                wait = _retry_after(response.headers.get("retry-after"), wait)
            if attempt < self.config.max_retries:
                await asyncio.sleep(wait)
        raise error

    def chat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        import openai

        body = self._body(messages, tools, params)
        client = self.client()
        with self._slots:
            try:
                raw = client.post(COMPLETIONS_PATH, body=body, cast_to=bytes)
            except openai.OpenAIError as exc:
                raise self._error(exc) from exc
        return self._reply(_json_body(raw), tools)

    async def achat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        import openai

        body = self._body(messages, tools, params)
        client, slots, direct = self._async()
        async with slots:
            if direct is not None:
                return self._reply(await self._apost(*direct, body), tools)
            try:
                raw = await client.post(COMPLETIONS_PATH, body=body, cast_to=bytes)
            except openai.OpenAIError as exc:
                raise self._error(exc) from exc
        return self._reply(_json_body(raw), tools)
