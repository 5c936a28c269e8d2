"""Sessions over the agent graph: send a message, see the call waiting for approval, decide on it.

A session is a LangGraph thread (``thread_id`` = the session id) checkpointed in SQLite, so it survives a restart
of the process: open an :class:`AgentRuntime` on the same folder and the conversation, and any call waiting for
approval, are there. The terminal chat and the HTTP server both drive an :class:`AgentRuntime`.

Folder layout (``state_dir``)::

    checkpoints.sqlite   LangGraph's checkpoints: one thread per session (messages, proposals, decisions)
    agent.sqlite         the feedback store, the call journal and session owners (toolbench.agent.store)

Ownership: the HTTP server calls :meth:`AgentRuntime.authorize` with the authenticated user before anything else;
a new session belongs to the first user that writes to it, and every other user is told it does not exist (404).
A session with history but no owner (made in the terminal) is not served over HTTP. Decisions carry who made them
(``by``) and when; they are stored with the feedback and shown by :meth:`AgentRuntime.decisions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from toolbench.agent.graph import APPROVE, EDIT, REJECT, AgentContext, build_graph, read_decision
from toolbench.agent.store import AgentStore
from toolbench.errors import ToolbenchError

CHECKPOINTS_FILE = "checkpoints.sqlite"
STORE_FILE = "agent.sqlite"
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class SessionError(ToolbenchError):
    """A session request cannot be served as asked (bad id, nothing to approve, a call awaits approval...)."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


@dataclass
class TurnResult:
    """Where a session stands after a message or a decision.

    ``status`` is ``answered`` (``answer`` holds the reply), ``awaiting_approval`` (``pending`` holds the call and
    why it needs a person), or ``error`` (``error`` says what failed; the session can go on). ``calls`` lists the
    calls of this turn so far and what became of them.
    """

    session: str
    status: str
    answer: str | None = None
    pending: dict[str, Any] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"session": self.session, "status": self.status, "answer": self.answer, "pending": self.pending,
                "calls": self.calls, "error": self.error}


def check_session_id(session: str) -> str:
    if not isinstance(session, str) or not _SESSION_ID.match(session):
        raise SessionError(f"session id {session!r}: use 1-128 letters, digits, '_', '.', ':' or '-'", 400)
    return session


class AgentRuntime:
    """The compiled graph with its checkpointer and context; one lock per session (one turn at a time)."""

    def __init__(self, graph: Any, context: AgentContext):
        self.graph = graph
        self.context = context
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, state_dir: str | Path, context: AgentContext) -> AsyncIterator[AgentRuntime]:
        """A runtime whose sessions live in ``state_dir`` (created when missing). Unless the context brings its
        own, the feedback store is ``state_dir/agent.sqlite``."""
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        folder = Path(state_dir)
        folder.mkdir(parents=True, exist_ok=True)
        own_store = context.store is None
        if own_store:
            context = replace(context, store=AgentStore(folder / STORE_FILE))
        try:
            async with aiosqlite.connect(str(folder / CHECKPOINTS_FILE)) as connection:
                await connection.execute("PRAGMA journal_mode=WAL")
                yield cls(build_graph(AsyncSqliteSaver(connection)), context)
        finally:
            if own_store and context.store is not None:
                context.store.close()

    def _lock(self, session: str) -> asyncio.Lock:
        return self._locks.setdefault(session, asyncio.Lock())

    @staticmethod
    def _config(session: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": session}, "recursion_limit": 200}

    async def _snapshot(self, session: str) -> Any:
        return await self.graph.aget_state(self._config(session))

    @staticmethod
    def _pending_of(snapshot: Any) -> dict[str, Any] | None:
        for item in snapshot.interrupts or ():
            if isinstance(item.value, dict) and item.value.get("kind") == "approval":
                return item.value
        return None

    def _result(self, session: str, values: dict[str, Any], pending: dict[str, Any] | None) -> TurnResult:
        calls = list(values.get("log") or [])
        if pending is not None:
            return TurnResult(session, "awaiting_approval", pending=pending, calls=calls)
        if values.get("error"):
            return TurnResult(session, "error", calls=calls, error=values["error"])
        return TurnResult(session, "answered", answer=values.get("answer") or "", calls=calls)

    async def _run(self, session: str, payload: Any) -> TurnResult:
        await self.graph.ainvoke(payload, self._config(session), context=self.context)
        snapshot = await self._snapshot(session)
        return self._result(session, snapshot.values, self._pending_of(snapshot))

    # -- the API ----------------------------------------------------------------------------------------
    async def send(self, session: str, text: str) -> TurnResult:
        """The user's message: runs until the answer or until a call needs approval."""
        check_session_id(session)
        if not isinstance(text, str) or not text.strip():
            raise SessionError("the message is empty", 400)
        async with self._lock(session):
            if self._pending_of(await self._snapshot(session)) is not None:
                raise SessionError(f"session {session!r} has a call awaiting approval; approve, reject or edit it "
                                   "first (GET /v1/sessions/{id}/pending shows it)")
            return await self._run(session, {"incoming": text, "session": session})

    async def pending(self, session: str) -> dict[str, Any] | None:
        """The call waiting for a person in ``session``, or None."""
        check_session_id(session)
        return self._pending_of(await self._snapshot(session))

    async def authorize(self, session: str, user: str, create: bool = False) -> None:
        """Let ``user`` at ``session`` only if it is theirs; with ``create``, a session nobody has used yet becomes
        theirs. Anything else is :class:`SessionError` 404: another user's session looks like no session."""
        check_session_id(session)
        store = self.context.store
        if store is None:
            raise SessionError("sessions have no owners without a store; open the runtime with AgentRuntime.open", 500)
        owner = store.owner(session)
        if owner is None and create and not (await self._snapshot(session)).values:
            owner = store.claim(session, user)
        if owner != user:
            hint = " (session ids are shared by all users: choose another id)" if create else ""
            raise SessionError(f"no session {session!r} for user {user!r}{hint}", 404)

    async def decide(self, session: str, action: str, arguments: dict[str, Any] | str | None = None,
                     comment: str = "", by: str = "") -> TurnResult:
        """Approve, reject or edit the waiting call, then run on; ``by`` names who decided (kept, with the time, in
        the feedback store). Edited arguments are checked first: when they are wrong nothing is resumed and
        :class:`SessionError` (status 422) lists the problems."""
        from langgraph.types import Command

        check_session_id(session)
        if action not in (APPROVE, REJECT, EDIT):
            raise SessionError(f"action {action!r}: use approve, reject or edit", 400)
        async with self._lock(session):
            pending = self._pending_of(await self._snapshot(session))
            if pending is None:
                raise SessionError(f"session {session!r} has no call awaiting approval", 404)
            answer: dict[str, Any] = {"action": action, "comment": comment, "by": by, "at": time.time()}
            if action == EDIT:
                answer["arguments"] = arguments
            _, problem = read_decision(self.context, pending["call"], answer)
            if problem is not None:
                raise SessionError(problem, 422)
            return await self._run(session, Command(resume=answer))

    async def messages(self, session: str) -> list[dict[str, Any]]:
        """The session's transcript (OpenAI messages), empty for a new session."""
        check_session_id(session)
        return list((await self._snapshot(session)).values.get("messages") or [])

    async def decisions(self, session: str) -> list[dict[str, Any]]:
        """The decisions made in ``session``, oldest first: what was decided on which call, by whom and when."""
        check_session_id(session)
        if self.context.store is None:
            return []
        return [{"decision": fb.decision, "function": fb.function, "tool": fb.tool, "api": fb.api,
                 "call_id": fb.call_id, "proposed": fb.proposed, "final": fb.final, "comment": fb.comment,
                 "decided_by": fb.decided_by, "decided_at": fb.decided_at}
                for fb in self.context.store.feedback(session)]

    async def status(self, session: str) -> TurnResult:
        """Where the session stands now (after a restart, too)."""
        check_session_id(session)
        snapshot = await self._snapshot(session)
        return self._result(session, snapshot.values, self._pending_of(snapshot))
