"""A :class:`~toolbench.llm.base.ChatModel` over any OpenAI-compatible endpoint, through the ``openai`` SDK.

The same client talks to OpenAI, to vLLM (``vllm serve ... --enable-auto-tool-choice``), to other hosted APIs,
and to our own ``toolbench llm serve``; only ``base_url``, ``model`` and the key's environment variable change::

    model = OpenAIChatModel(OpenAIChatConfig(model="smollm2-135m-instruct", base_url="http://127.0.0.1:8000/v1"))
    reply = model.chat([{"role": "user", "content": "Hi"}], tools=[...], temperature=0)

The request body is built and the response parsed by the pure functions of :mod:`toolbench.llm.payload`; this
module only adds the network call, the key, retries (the SDK's, with backoff, on connection errors, 408/409/429
and 5xx), a timeout, and a limit on requests in flight (per client, for threads and for each event loop). The
body goes out as built (the SDK's ``client.post``, not ``chat.completions.create``, whose typed transform and
response models cost more CPU than the exchange itself).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.llm.base import ChatReply, LLMError, LLMRequestError, Message, Tool
from toolbench.llm.payload import build_request, parse_response

# The request goes through the SDK's client (its key, headers, timeout, retries and errors) as the JSON body that
# build_request made, and the reply comes back as bytes for parse_response: the SDK's typed request transform and
# response models cost more CPU per call than the HTTP exchange itself (see benchmarks/README.md, campaigns).
COMPLETIONS_PATH = "/chat/completions"

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


def _tool_names(tools: list[Tool] | None) -> set[str] | None:
    if not tools:
        return None
    return {(t.get("function") or t).get("name") for t in tools}


class OpenAIChatModel:
    """The OpenAI-compatible client. ``http_client``/``async_http_client`` (``httpx2`` clients, the SDK's) are for
    tests and proxies; ``usage`` (a :class:`~toolbench.llm.usage.UsageTracker`) records every reply."""

    def __init__(self, config: OpenAIChatConfig, usage: Any | None = None, http_client: Any | None = None,
                 async_http_client: Any | None = None) -> None:
        self.config = config
        self.model = config.model
        self.usage = usage
        self._http_client = http_client
        self._async_http_client = async_http_client
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

    def _async(self) -> tuple[Any, asyncio.Semaphore]:
        """This event loop's async client and semaphore."""
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._async_state.get(loop)
            if state is None:
                import openai

                client = openai.AsyncOpenAI(**self._client_kwargs(), http_client=self._async_http_client)
                state = self._async_state[loop] = (client, asyncio.Semaphore(self.config.max_concurrency))
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

    def _error(self, exc: Exception) -> LLMError:
        import openai

        where = self.config.base_url or "the OpenAI API"
        if isinstance(exc, openai.APIStatusError):
            message, code = exc.message, None
            if isinstance(exc.body, dict):  # the SDK hands over the "error" object of the body
                message = exc.body.get("message") or message
                code = exc.body.get("code")
            hint = ""
            if exc.status_code == 401:
                hint = f" (check the key in {self.config.api_key_env})"
            elif exc.status_code == 404:
                hint = f" (is model {self.model!r} served there? see {where}/models)"
            return LLMRequestError(f"{where} answered {exc.status_code}: {message}{hint}", exc.status_code, code)
        if isinstance(exc, openai.APITimeoutError):
            return LLMRequestError(f"{where} did not answer within {self.config.timeout} s (config field 'timeout')")
        if isinstance(exc, openai.APIConnectionError):
            return LLMRequestError(f"cannot reach {where}: {exc}; is the server running?")
        return LLMError(f"chat request to {where} failed: {exc}")

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
        client, slots = self._async()
        async with slots:
            try:
                raw = await client.post(COMPLETIONS_PATH, body=body, cast_to=bytes)
            except openai.OpenAIError as exc:
                raise self._error(exc) from exc
        return self._reply(_json_body(raw), tools)
