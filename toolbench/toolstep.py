"""One tool call as every graph makes it: check -> run -> observe -> journal.

The annotation search (``annotate/graph.py``) and the agent (``toolbench/agent/graph.py``) both go through here:

- **check** (:func:`check_call`): the offered function, the decoded arguments and their validation, or a typed
  error (:attr:`ErrorKind.HALLUCINATED`, :attr:`ErrorKind.INVALID_ARGUMENTS`) the model is shown instead of a
  call; the problems also come as plain sentences for a person (the agent's approval prompt);
- **run** (:func:`run_call`): through a :class:`ToolRunner` (:class:`ExecutorRunner` over the executor), with
  the :class:`CallJournal` first: a call the journal holds as done is replayed, not made again; one it holds as
  started but unanswered (the process died in flight) is sent again only when ``resend_unfinished`` (else the
  model is told its outcome is unknown);
- **observe** (:class:`CallResult`, :func:`observation_text`): the observation, its error kind as a field, and
  ToolBench's ``{"error": ..., "response": ...}`` text the model is shown.

A call's journal key (:func:`call_key`) is the sha256 of canonical JSON of where it stands (``where``: the run and
its position in it, as each graph names them), its function name and its argument text.

Error kinds are typed: :class:`ErrorKind` (``toolbench/error_kinds.py``, the one list: the executor's kinds and
the two the step makes itself), carried in :attr:`CallResult.kind` and ``Observation.kind``, never split back out
of the text by a graph. The observation's error text still starts with ``"<kind>: "``: that is what the model is
shown and the files record; an observation read back from a journal gets its kind from that text once, when the
record is built (``toolbench.records.Observation``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from toolbench.catalog.arguments import validate_call
from toolbench.catalog.functions import FunctionSet, OfferedFunction
from toolbench.error_kinds import ErrorKind
from toolbench.formats.finish import FINISH
from toolbench.llm.toolcalls import decode_arguments
from toolbench.records import Observation


def kind_of(obs: Observation) -> ErrorKind | None:
    """The kind of an observation made outside the step (None for a success): its ``kind`` field."""
    return None if obs.ok else (obs.kind or ErrorKind.OTHER)


def observation_text(obs: Observation, max_chars: int | None = None) -> str:
    """What the model is shown: ToolBench's ``{"error": ..., "response": ...}``, the response cut to ``max_chars``
    (non-ASCII kept as is)."""
    response = obs.response
    if max_chars is not None and len(response) > max_chars:
        response = response[:max_chars] + "..."
    return json.dumps({"error": obs.error, "response": response}, ensure_ascii=False)


@dataclass
class CallResult:
    """What became of one call: the observation, its error kind (None for a success), and whether it reached
    the runner (``ran``; an API call) or came back from the journal (``replayed``)."""

    observation: Observation
    kind: ErrorKind | None = None
    ran: bool = False
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.kind is None

    def text(self, max_chars: int | None = None) -> str:
        return observation_text(self.observation, max_chars)


def failed(kind: ErrorKind, message: str) -> CallResult:
    """An error the step makes itself: the kind as a field, and the text ``"<kind>: message"``."""
    return CallResult(Observation.failure(kind, message), kind)


def call_key(where: Mapping[str, Any], name: str, arguments: str) -> str:
    """The journal key of a call: sha256 of canonical JSON of ``where`` with its function name and argument text."""
    material = {**where, "name": name, "arguments": arguments}
    return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class PendingCall:
    """A call about to run: its function, its argument text (as the model wrote it, or as a person edited it),
    and where it stands (the run and its position there, e.g. ``{"query": ..., "path": ..., "index": ...}``)."""

    name: str
    arguments: str
    where: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return call_key(self.where, self.name, self.arguments)


# -- check ----------------------------------------------------------------------------------------------

def parse_arguments(raw: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A call's arguments (JSON text or an object) as an object, or None and the problem with them."""
    arguments, _, problem = decode_arguments(raw)
    return (None, problem) if problem is not None else (arguments, None)


@dataclass
class CheckedCall:
    """A call checked against the offered functions: the function (None when none has that name), the decoded
    arguments (None when they do not decode), the problems in plain words, and ``error``, the result the model is
    shown instead of a call, when there are problems."""

    function: OfferedFunction | None
    arguments: dict[str, Any] | None
    problems: list[str]
    error: CallResult | None = None


def check_call(functions: FunctionSet, name: str, raw_arguments: Any) -> CheckedCall:
    """Check a call before any runner sees it: an unknown function or bad arguments become a typed error."""
    function = functions.resolve(name)
    if function is None:
        problem = f"no function named {name!r}"
        offered = ", ".join(list(functions.functions)[:30])
        return CheckedCall(None, None, [problem], failed(
            ErrorKind.HALLUCINATED, f"{problem} was offered; call one of: {offered}, or {FINISH}"))
    arguments, problem = parse_arguments(raw_arguments)
    if arguments is None:
        return CheckedCall(function, None, [problem],
                           failed(ErrorKind.INVALID_ARGUMENTS, f"{problem}; send a JSON object"))
    problems = [str(p) for p in validate_call(function, arguments)[1]]
    if problems:
        return CheckedCall(function, arguments, problems, failed(ErrorKind.INVALID_ARGUMENTS, "; ".join(problems)))
    return CheckedCall(function, arguments, [])


# -- run ------------------------------------------------------------------------------------------------

@runtime_checkable
class ToolRunner(Protocol):
    """Runs one call; errors are returned as observations, never raised."""

    async def run(self, fname: str, arguments: Any) -> Observation: ...


class ExecutorRunner:
    """A :class:`ToolRunner` over :class:`toolbench.executor.Executor` for one set of offered functions. The
    arguments may be an object or JSON text (the executor checks them again)."""

    def __init__(self, executor: Any, functions: FunctionSet) -> None:
        self.executor = executor
        self.functions = functions

    async def run(self, fname: str, arguments: Any) -> Observation:
        try:
            return await self.executor.acall_function(self.functions, fname, arguments)
        except Exception as exc:  # noqa: BLE001 - a runner returns observations, never raises (ToolRunner)
            return Observation.failure(ErrorKind.REQUEST_ERROR,
                                       f"the call failed ({type(exc).__name__}); try another API")


class CallState:
    """What a journal knows about one call: never started, started only, or done with an observation."""

    NEW = "new"
    STARTED = "started"
    DONE = "done"


class CallJournal(Protocol):
    """Where calls are recorded before the graph moves on, so that a resumed run replays them."""

    async def lookup(self, key: str) -> tuple[str, Observation | None]:
        """(a :class:`CallState`, the observation when done)."""
        ...

    async def start(self, key: str, call: PendingCall) -> None:
        """The call is about to be sent (a journal that does not track calls in flight does nothing)."""
        ...

    async def finish(self, key: str, call: PendingCall, observation: Observation) -> None: ...


class MemoryJournal:
    """A :class:`CallJournal` in memory (for one process; tests) of finished calls only."""

    def __init__(self) -> None:
        self.entries: dict[str, Observation] = {}

    async def lookup(self, key: str) -> tuple[str, Observation | None]:
        obs = self.entries.get(key)
        return (CallState.NEW, None) if obs is None else (CallState.DONE, obs)

    async def start(self, key: str, call: PendingCall) -> None:
        return None

    async def finish(self, key: str, call: PendingCall, observation: Observation) -> None:
        self.entries[key] = observation


async def run_call(call: PendingCall, runner: ToolRunner, arguments: Any, journal: CallJournal | None = None, *,
                   resend_unfinished: bool = True) -> CallResult:
    """Run a checked call (``arguments`` as the runner takes them) unless the journal shows it ran (its result is
    replayed) or was cut off while running and may not be sent again (``resend_unfinished=False``)."""
    if journal is None:
        obs = await runner.run(call.name, arguments)
        return CallResult(obs, kind_of(obs), ran=True)
    key = call.key
    state, obs = await journal.lookup(key)
    if state == CallState.DONE and obs is not None:
        return CallResult(obs, kind_of(obs), ran=True, replayed=True)
    if state == CallState.STARTED and not resend_unfinished:
        return failed(ErrorKind.OUTCOME_UNKNOWN, "this call was sent but the agent stopped before its answer came "
                                                 "back; it was not sent again. Check its effect before trying again.")
    await journal.start(key, call)
    obs = await runner.run(call.name, arguments)
    await journal.finish(key, call, obs)
    return CallResult(obs, kind_of(obs), ran=True)


async def call_tool(functions: FunctionSet, call: PendingCall, runner: ToolRunner,
                    journal: CallJournal | None = None) -> CallResult:
    """The whole step: check the call, then run it through the journal (``ran`` is False when the check failed)."""
    checked = check_call(functions, call.name, call.arguments)
    if checked.error is not None:
        return checked.error
    return await run_call(call, runner, checked.arguments, journal)
