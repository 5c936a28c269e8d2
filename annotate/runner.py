"""How the search runs a function call: the :class:`ToolRunner` protocol, its adapter over
:class:`toolbench.executor.Executor`, and a scripted runner for tests and dry runs.

The graph checks a call before any runner sees it (an unknown function or bad arguments become an error
observation without reaching an API, see :func:`check_call`); a runner only gets calls to offered functions with
valid arguments, keyed by the parameter names the model was offered.

:func:`observation_code` maps an :class:`~toolbench.records.Observation` to ToolBench's observation code, as
its answer files record it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from annotate import tree as T
from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.validate import validate_call
from toolbench.llm.toolcalls import decode_arguments
from toolbench.records import Observation


@runtime_checkable
class ToolRunner(Protocol):
    """Runs one call to an offered function; errors are returned as observations, never raised."""

    async def run(self, fname: str, arguments: dict[str, Any]) -> Observation: ...


# Error kinds (the executor's ``"<kind>: message"`` convention) -> ToolBench observation codes.
_KIND_CODES = {
    "hallucinated_function": T.CODE_NO_SUCH_FUNCTION,
    "not_in_catalog": T.CODE_NO_SUCH_FUNCTION,
    "invalid_arguments": T.CODE_REQUEST_INVALID,
    "unauthorized": T.CODE_UNAUTHORIZED,
    "rate_limited": T.CODE_TOO_MANY_REQUESTS,
    "timeout": T.CODE_TIMEOUT,
    "not_working": T.CODE_NOT_FOUND,
    "malformed_response": T.CODE_ERROR_MESSAGE,
    "request_error": T.CODE_REQUEST_INVALID,
    "invalid_url": T.CODE_NOT_FOUND,  # the catalog's URL cannot be called: as good as a dead API
    "tls_error": T.CODE_NOT_FOUND,
}


def observation_code(obs: Observation) -> int:
    """ToolBench's code for an observation: 0 for a success, else from the error kind or the HTTP status."""
    if obs.ok:
        return T.CODE_OK
    kind = obs.error.split(":", 1)[0].strip()
    if kind in _KIND_CODES:
        return _KIND_CODES[kind]
    if obs.status == 404:
        return T.CODE_NOT_FOUND
    if obs.status in (401, 403):
        return T.CODE_UNAUTHORIZED
    if obs.status == 429:
        return T.CODE_TOO_MANY_REQUESTS
    return T.CODE_ERROR_MESSAGE if obs.status is not None else T.CODE_REQUEST_INVALID


def observation_text(obs: Observation, max_chars: int | None = None) -> str:
    """What the model is shown: ToolBench's ``{"error": ..., "response": ...}``, the response cut to ``max_chars``."""
    response = obs.response
    if max_chars is not None and len(response) > max_chars:
        response = response[:max_chars] + "..."
    return json.dumps({"error": obs.error, "response": response})


def check_call(functions: FunctionSet, fname: str, raw_arguments: str) -> Observation | dict[str, Any]:
    """The decoded arguments of a call that may be run, or the error observation the model gets instead."""
    function = functions.resolve(fname)
    if function is None:
        offered = ", ".join(list(functions.functions)[:30])
        return Observation(error=f"hallucinated_function: no function named {fname!r} was offered; call one of: "
                                 f"{offered}, or Finish")
    arguments, _, problem = decode_arguments(raw_arguments)
    if problem is not None:
        return Observation(error=f"invalid_arguments: {problem}; send a JSON object")
    _, problems = validate_call(function, arguments)
    if problems:
        return Observation(error="invalid_arguments: " + "; ".join(map(str, problems)))
    return arguments


class ExecutorRunner:
    """A :class:`ToolRunner` over :class:`toolbench.executor.Executor` for one query's functions."""

    def __init__(self, executor: Any, functions: FunctionSet) -> None:
        self.executor = executor
        self.functions = functions

    async def run(self, fname: str, arguments: dict[str, Any]) -> Observation:
        try:
            return await self.executor.acall_function(self.functions, fname, arguments)
        except Exception as exc:  # noqa: BLE001 - a runner returns observations, never raises (ToolRunner)
            return Observation(error=f"request_error: the call failed ({type(exc).__name__}); try another API")


Responder = Callable[[str, dict[str, Any]], Observation | str]


class ScriptedRunner:
    """A runner for tests and dry runs: answers each call from ``responses`` (function name -> an
    :class:`Observation`, a response string, or a function ``(fname, arguments) -> either``); unknown names get a
    generic success. ``calls`` records every call in order (thread-safe), to count what an API would have seen."""

    def __init__(self, responses: Mapping[str, Observation | str | Responder] | None = None,
                 delay: float = 0.0) -> None:
        self.responses = dict(responses or {})
        self.delay = delay
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    async def run(self, fname: str, arguments: dict[str, Any]) -> Observation:
        with self._lock:
            self.calls.append((fname, dict(arguments)))
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.responses.get(fname, f"ok: {fname}")
        if callable(answer) and not isinstance(answer, (Observation, str)):
            answer = answer(fname, arguments)
        if isinstance(answer, str):
            return Observation(response=answer, status=200)
        return answer
