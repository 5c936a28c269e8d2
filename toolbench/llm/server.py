"""``toolbench llm serve``'s engine side: an OpenAI-compatible chat server over a local model (llama.cpp or transformers; which
one, and the settings, in :mod:`toolbench.llm.engines`).

Endpoints: ``POST /v1/chat/completions`` (its body: :mod:`toolbench.llm.api_schema`), ``GET /v1/models``,
``GET /health``.

Tools are rendered into the prompt by :mod:`toolbench.llm.template` and calls are parsed back from the text by
:mod:`toolbench.llm.toolcalls` into OpenAI ``tool_calls``. One worker thread generates; requests wait in a bounded
queue (beyond ``max_queue`` waiting requests the server answers 429, which OpenAI clients retry), so concurrent
clients never crash it. Waiting requests with the same sampling settings (one choice, not streamed, no seeded
sample) are generated together, up to ``max_batch`` at a time: on llama.cpp with continuous batching (a row that
ends frees its slot for the next waiting request at once), on transformers batch by batch. Errors use OpenAI's schema
``{"error": {"message", "type", "param", "code"}}``: 400 bad JSON or a prompt longer than the context, 404 an
unknown model, 413 a body over ``max_request_bytes``, 422 an invalid field, 429 a full queue, 500 a generation
failure (the server keeps running). Streaming sends server-sent events in OpenAI's ``chat.completion.chunk`` format (the HTTP app, its routes and
``serve``: :mod:`toolbench.llm.server_app`). Text streams token by token
when no tools are offered; with tools the text may turn out to be a call, so the reply is sent whole at the end.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from toolbench.llm.api_schema import APIError, ChatCompletionRequest, NamedChoice, validation_error
from toolbench.llm.base import ToolCall, Usage
from toolbench.llm.constraints import ConstraintError, constraint_for
from toolbench.llm.engines import ServerConfig
from toolbench.llm.generation import Generation, GenerationRequest, TextGenerator, batch_key
from toolbench.llm.payload import build_response, response_choice
from toolbench.llm.toolcalls import parse_tool_calls

# ---- the server ----------------------------------------------------------------------------------------------

@dataclass
class _Job:
    """A prepared request: everything the worker and the reply need."""

    request: ChatCompletionRequest
    generation: GenerationRequest
    prefill: str
    tool_names: set[str] | None
    model_name: str
    response_id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class _Pending:
    """A request waiting for the worker."""

    job: _Job
    on_text: Any | None
    cancel: threading.Event | None
    future: Future[Generation]

    def key(self, key_of: Any = batch_key) -> tuple[Any, ...] | None:
        """Batching key; None: generated alone (streamed text, or not batchable, see the engine's ``batch_key``)."""
        return None if self.on_text is not None else key_of(self.job.generation)


class ChatServer:
    """The worker queue and request handling, independent of HTTP (the FastAPI app wraps it)."""

    def __init__(self, generator: TextGenerator, config: ServerConfig | None = None,
                 aliases: tuple[str, ...] = ()) -> None:
        self.generator = generator
        self.config = config or ServerConfig()
        self.model_name = self.config.served_model_name or generator.name
        self.accepted_names = {self.model_name, *aliases}
        self.started = int(time.time())
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._pending: deque[_Pending] = deque()
        self._closed = False
        self._worker: threading.Thread | None = None
        self.waiting = 0
        self.stats = {"requests": 0, "errors": 0, "prompt_tokens": 0, "completion_tokens": 0, "batches": 0,
                      "batched_requests": 0, "largest_batch": 0}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pending, self._pending = list(self._pending), deque()
            self._ready.notify_all()
        for item in pending:
            item.future.cancel()

    def _submit(self, job: _Job, on_text: Any | None, cancel: threading.Event | None) -> Future[Generation]:
        future: Future[Generation] = Future()
        with self._lock:
            if self._closed:
                raise APIError(503, "the server is shutting down", type_="server_error", code="shutting_down")
            self._pending.append(_Pending(job, on_text, cancel, future))
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="toolbench-llm-worker", daemon=True)
                self._worker.start()
            self._ready.notify()
        return future

    def _take(self) -> list[_Pending] | None:
        """The next batch: the oldest waiting request and, when it can be batched, the waiting requests that share
        its sampling settings (up to ``max_batch``, in arrival order). None once closed."""
        with self._lock:
            while not self._pending and not self._closed:
                self._ready.wait()
            if self._closed:
                return None
            first = self._pending.popleft()
            batch = [first]
            limit = self.config.max_batch if hasattr(self.generator, "generate_batch") else 1
            key_of = getattr(self.generator, "batch_key", batch_key)
            key = first.key(key_of)
            if key is None or limit <= 1:
                return batch
            deadline = time.monotonic() + self.config.batch_wait
            while True:
                for item in list(self._pending):
                    if len(batch) >= limit:
                        break
                    if item.key(key_of) == key:
                        self._pending.remove(item)
                        batch.append(item)
                remaining = deadline - time.monotonic()
                if len(batch) >= limit or remaining <= 0 or self._closed:
                    return batch
                self._ready.wait(remaining)

    def _take_now(self, n: int, key: tuple[Any, ...], key_of: Any) -> list[_Pending]:
        """Up to ``n`` waiting requests with batching key ``key``, without waiting."""
        taken: list[_Pending] = []
        with self._lock:
            for item in list(self._pending):
                if len(taken) >= n:
                    break
                if item.key(key_of) == key:
                    self._pending.remove(item)
                    taken.append(item)
        return taken

    def _continuous(self, live: list[_Pending]) -> None:
        """Run ``live`` (started, batchable requests) on an engine with continuous batching: waiting requests with
        the same key join as rows end, and each reply goes out as soon as its row ends."""
        key_of = getattr(self.generator, "batch_key", batch_key)
        key = live[0].key(key_of)
        first = list(live)
        joined = {"rows": 0}

        def take(n: int) -> list[Any]:
            items, first[:] = first[:n], first[n:]
            if len(items) < n:
                items += [item for item in self._take_now(n - len(items), key, key_of)
                          if item.future.set_running_or_notify_cancel()]
            rows = []
            for item in items:
                if item.cancel is not None and item.cancel.is_set():  # the client left while this waited
                    item.future.set_result(self._generate(item.job, None, item.cancel))
                else:
                    rows.append((item, item.job.generation, item.cancel, item.job.generation.seed, None))
            joined["rows"] += len(rows)
            return rows

        def finish(item: _Pending, result: Any) -> None:
            if isinstance(result, BaseException):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)

        peak = self.generator.generate_continuous(take, finish)  # type: ignore[attr-defined]
        with self._lock:
            self.stats["batches"] += 1
            self.stats["batched_requests"] += joined["rows"]
            self.stats["largest_batch"] = max(self.stats["largest_batch"], peak)

    def _work(self) -> None:
        while (batch := self._take()) is not None:
            key_of = getattr(self.generator, "batch_key", batch_key)
            if hasattr(self.generator, "generate_continuous") and batch[0].key(key_of) is not None:
                live = [item for item in batch if item.future.set_running_or_notify_cancel()]
                if live:
                    self._continuous(live)
                continue
            live = []
            for item in batch:
                if not item.future.set_running_or_notify_cancel():
                    continue
                if item.cancel is not None and item.cancel.is_set():  # the client left while this waited
                    item.future.set_result(self._generate(item.job, item.on_text, item.cancel))
                else:
                    live.append(item)
            if not live:
                continue
            try:
                if len(live) == 1:
                    results = [self._generate(live[0].job, live[0].on_text, live[0].cancel)]
                else:
                    results = self.generator.generate_batch(  # type: ignore[attr-defined]
                        [item.job.generation for item in live], [item.cancel for item in live])
                    self._count(batches=1, batched_requests=len(live))
                    with self._lock:
                        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(live))
            except BaseException as exc:  # noqa: BLE001 - handed to every waiting request
                for item in live:
                    item.future.set_exception(exc)
                continue
            for item, result in zip(live, results):
                item.future.set_result(result)

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for key, value in deltas.items():
                self.stats[key] += value

    def prepare(self, raw: bytes) -> _Job:
        """Parse and check a request body (raises :class:`APIError`; its size was checked before it was read)."""
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise APIError(400, f"the request body is not valid JSON: {exc}", code="invalid_json") from exc
        if not isinstance(data, dict):
            raise APIError(400, "the request body must be a JSON object", code="invalid_json")
        try:
            request = ChatCompletionRequest.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc) from exc
        if request.model not in self.accepted_names:
            raise APIError(404, f"the model {request.model!r} does not exist; this server serves "
                                f"{self.model_name!r}", param="model", code="model_not_found")
        if request.n > self.config.max_n:
            raise APIError(422, f"n: at most {self.config.max_n} choices per request", param="n",
                           code="invalid_value")
        messages = [m.model_dump(exclude_none=True) for m in request.messages]
        tools = [t.model_dump(exclude_none=True) for t in request.tools] if request.tools else None
        choice = request.tool_choice.model_dump() if isinstance(request.tool_choice, NamedChoice) else request.tool_choice
        try:
            rendered = self.generator.render(messages, tools, choice)
        except Exception as exc:  # a template that cannot render these messages
            raise APIError(422, f"messages: cannot render the prompt: {exc}", param="messages",
                           code="invalid_value") from exc
        prompt_tokens = self.generator.count_tokens(rendered.text)
        room = self.generator.context_length - prompt_tokens
        asked = request.max_completion_tokens or request.max_tokens
        if room < 1 or (asked is not None and asked > room):
            raise APIError(400, f"this model's context is {self.generator.context_length} tokens; the prompt has "
                                f"{prompt_tokens} tokens and {asked or 1} more were asked for: shorten the "
                                "messages or lower max_tokens", param="messages", code="context_length_exceeded")
        max_tokens = asked or min(self.config.default_max_tokens, room)
        stops = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
        constraint = None
        if self.config.constrained:
            try:
                constraint = constraint_for(tools, choice, request.response_format, rendered.prefill)
            except ConstraintError as exc:
                raise APIError(422, str(exc), param="response_format", code="invalid_value") from exc
        generation = GenerationRequest(
            prompt=rendered.text, max_tokens=max_tokens,
            temperature=1.0 if request.temperature is None else request.temperature,
            top_p=1.0 if request.top_p is None else request.top_p, n=request.n, stop=stops, seed=request.seed,
            frequency_penalty=request.frequency_penalty, presence_penalty=request.presence_penalty,
            min_tokens=max_tokens if request.ignore_eos else min(request.min_tokens, max_tokens),
            constraint=constraint,
            call_threshold=self.config.call_threshold if tools and choice in (None, "auto") and not rendered.prefill
            else None)
        tool_names = {t.function.name for t in request.tools} if tools and choice != "none" else None
        return _Job(request, generation, rendered.prefill, tool_names, self.model_name)

    def _generate(self, job: _Job, on_text: Any | None, cancel: threading.Event | None) -> Generation:
        if cancel is not None and cancel.is_set():  # the client left while this request waited
            return Generation([""] * job.generation.n, ["stop"] * job.generation.n, 0, [0] * job.generation.n)
        return self.generator.generate(job.generation, on_text, cancel)

    async def run(self, job: _Job, on_text: Any | None = None,
                  cancel: threading.Event | None = None) -> Generation:
        """Generate in the worker thread, after the requests queued before this one."""
        with self._lock:
            if self.waiting >= self.config.max_queue:
                raise APIError(429, f"the server is busy ({self.waiting} requests waiting); retry later",
                               type_="rate_limit_error", code="queue_full")
            self.waiting += 1
        try:
            future = self._submit(job, on_text, cancel)
            try:
                result = await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                if cancel is not None:
                    cancel.set()
                raise
        except APIError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._count(errors=1)
            raise APIError(500, f"generation failed: {type(exc).__name__}: {exc}", type_="server_error",
                           code="generation_failed") from exc
        finally:
            with self._lock:
                self.waiting -= 1
        self._count(requests=1, prompt_tokens=result.prompt_tokens, completion_tokens=sum(result.completion_tokens))
        return result

    def choices(self, job: _Job, result: Generation) -> list[tuple[str | None, list[ToolCall], str]]:
        """(content, tool calls, finish reason) per choice."""
        out = []
        for text, reason in zip(result.texts, result.finish_reasons):
            full = job.prefill + text
            if job.tool_names is not None:
                content, calls = parse_tool_calls(full, allowed_names=job.tool_names)
            else:
                content, calls = (full or None), []
            # OpenAI says "length" for a reply cut at max_tokens even when calls were parsed from it: the last of
            # them may be cut, and a client must be able to tell a budget that bit from a finished turn.
            out.append((content, calls, "tool_calls" if calls and reason != "length" else reason))
        return out

    def response(self, job: _Job, result: Generation) -> dict[str, Any]:
        choices = [response_choice(i, c, calls, reason) for i, (c, calls, reason) in enumerate(self.choices(job, result))]
        usage = Usage(result.prompt_tokens, sum(result.completion_tokens))
        return build_response(job.response_id, job.created, job.model_name, choices, usage)

    # -- streaming --

    def _chunk(self, job: _Job, choices: list[dict[str, Any]], usage: Usage | None = None) -> str:
        body: dict[str, Any] = {"id": job.response_id, "object": "chat.completion.chunk", "created": job.created,
                                "model": job.model_name, "choices": choices}
        if usage is not None:
            body["usage"] = {**usage.to_dict(), "total_tokens": usage.total_tokens}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    async def stream(self, job: _Job) -> AsyncIterator[str]:
        """Server-sent events for a streamed request."""
        n = job.request.n
        yield self._chunk(job, [{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                                for i in range(n)])
        incremental = job.tool_names is None and n == 1
        loop = asyncio.get_running_loop()
        deltas: asyncio.Queue[str] = asyncio.Queue()
        cancel = threading.Event()

        def on_text(delta: str) -> None:
            loop.call_soon_threadsafe(deltas.put_nowait, delta)

        task = asyncio.ensure_future(self.run(job, on_text if incremental else None, cancel))
        try:
            while incremental and not task.done():
                getter = asyncio.ensure_future(deltas.get())
                done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield self._chunk(job, [{"index": 0, "delta": {"content": getter.result()}, "finish_reason": None}])
                else:
                    getter.cancel()
            try:
                result = await task
            except APIError as exc:
                yield f"data: {json.dumps(exc.body())}\n\n"
                yield "data: [DONE]\n\n"
                return
            while not deltas.empty():
                yield self._chunk(job, [{"index": 0, "delta": {"content": deltas.get_nowait()}, "finish_reason": None}])
            for index, (content, calls, reason) in enumerate(self.choices(job, result)):
                delta: dict[str, Any] = {}
                if not incremental and content:
                    delta["content"] = content
                if calls:
                    delta["tool_calls"] = [{"index": k, **c.to_openai()} for k, c in enumerate(calls)]
                if delta:
                    yield self._chunk(job, [{"index": index, "delta": delta, "finish_reason": None}])
                yield self._chunk(job, [{"index": index, "delta": {}, "finish_reason": reason}])
            if (job.request.stream_options or {}).get("include_usage"):
                yield self._chunk(job, [], Usage(result.prompt_tokens, sum(result.completion_tokens)))
            yield "data: [DONE]\n\n"
        finally:
            if not task.done():
                cancel.set()  # the client went away: stop generating
