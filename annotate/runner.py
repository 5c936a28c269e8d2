"""How the search runs a function call: the scripted runner for tests and dry runs, and ToolBench's observation
codes.

The step itself (check the call, run it through the journal, observe) is the core's, shared with the agent:
:mod:`toolbench.toolstep` (:class:`~toolbench.toolstep.ToolRunner`, :class:`~toolbench.toolstep.ExecutorRunner`,
:func:`~toolbench.toolstep.observation_text` are re-exported here for the campaign and the demo).

:func:`observation_code` maps a :class:`~toolbench.toolstep.CallResult` to ToolBench's observation code, as its
answer files record it, from the result's error kind (never from the error text) and HTTP status.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

from annotate import tree as T
from toolbench.records import Observation
from toolbench.toolstep import CallResult, ErrorKind, ExecutorRunner, ToolRunner, observation_text

__all__ = ["ExecutorRunner", "ScriptedRunner", "ToolRunner", "observation_code", "observation_text"]

# Error kinds -> ToolBench observation codes.
_KIND_CODES = {
    ErrorKind.HALLUCINATED: T.CODE_NO_SUCH_FUNCTION,
    ErrorKind.NOT_IN_CATALOG: T.CODE_NO_SUCH_FUNCTION,
    ErrorKind.INVALID_ARGUMENTS: T.CODE_REQUEST_INVALID,
    ErrorKind.UNAUTHORIZED: T.CODE_UNAUTHORIZED,
    ErrorKind.RATE_LIMITED: T.CODE_TOO_MANY_REQUESTS,
    ErrorKind.TIMEOUT: T.CODE_TIMEOUT,
    ErrorKind.NOT_WORKING: T.CODE_NOT_FOUND,
    ErrorKind.MALFORMED: T.CODE_ERROR_MESSAGE,
    ErrorKind.REQUEST_ERROR: T.CODE_REQUEST_INVALID,
    ErrorKind.INVALID_URL: T.CODE_NOT_FOUND,  # the catalog's URL cannot be called: as good as a dead API
    ErrorKind.TLS_ERROR: T.CODE_NOT_FOUND,
}


def observation_code(result: CallResult) -> int:
    """ToolBench's code for a call's result: 0 for a success, else from the error kind or the HTTP status."""
    if result.kind is None:
        return T.CODE_OK
    if result.kind in _KIND_CODES:
        return _KIND_CODES[result.kind]
    status = result.observation.status
    if status == 404:
        return T.CODE_NOT_FOUND
    if status in (401, 403):
        return T.CODE_UNAUTHORIZED
    if status == 429:
        return T.CODE_TOO_MANY_REQUESTS
    return T.CODE_ERROR_MESSAGE if status is not None else T.CODE_REQUEST_INVALID


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
