"""The agent's own SQLite tables: people's decisions on proposed calls (feedback), a journal of calls run, and
who owns each session.

``feedback``: one row per approval, edit or rejection, with the session, the user's request, the conversation
before the proposal, the tools offered, the proposed call and the call that ran (``final``, null when rejected),
and who decided (``decided_by``: the principal, e.g. the server's authenticated user) and when (``decided_at``).
:func:`feedback_examples` turns rows into chat examples (OpenAI messages + tools) for training:

- *approved*: the conversation, then the assistant's call as proposed;
- *edited*: the conversation, then the assistant's call as the person corrected it (``meta`` keeps the proposal);
- *rejected*: no example by default (there is no correct call to learn from); the rows stay in the store.

Each example holds one call: when the model proposed several calls in one message, each decision is its own
example.

``calls``: a row is written *before* a consequential call is sent and completed after it; a call whose row is
complete is never sent again (its observation is replayed), and a call that was started but never completed
(the process died meanwhile) is not sent again either: the agent is told its outcome is unknown.

``sessions``: the user that owns a session (the HTTP server's principal that first wrote to it). The server serves
a session only to its owner.

Nothing secret is stored: API keys live in the environment and are read by the executor at call time.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolbench.records import Observation
from toolbench.sqlite import connect
from toolbench.toolstep import CallState, PendingCall

APPROVED = "approved"
EDITED = "edited"
REJECTED = "rejected"
DECISIONS = (APPROVED, EDITED, REJECTED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    session TEXT NOT NULL,
    created REAL NOT NULL,
    decision TEXT NOT NULL,
    request TEXT NOT NULL,
    function TEXT NOT NULL,
    tool TEXT NOT NULL,
    api TEXT NOT NULL,
    proposed TEXT NOT NULL,
    final TEXT,
    comment TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    context TEXT NOT NULL,
    tools TEXT NOT NULL,
    observation TEXT,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at REAL
);
CREATE INDEX IF NOT EXISTS feedback_session ON feedback(session);
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    session TEXT NOT NULL,
    function TEXT NOT NULL,
    arguments TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    observation TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    session TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created REAL NOT NULL
);
"""
# Columns added after the first release: (table, column, definition) added to older files when opened.
_ADDED_COLUMNS = (("feedback", "decided_by", "TEXT NOT NULL DEFAULT ''"), ("feedback", "decided_at", "REAL"))


@dataclass
class Feedback:
    """One decision a person made on a proposed call."""

    session: str
    decision: str  # approved | edited | rejected
    request: str
    function: str
    tool: str
    api: str
    proposed: dict[str, Any]  # the model's arguments (offered parameter names)
    final: dict[str, Any] | None  # what ran; None when rejected
    context: list[dict[str, Any]]  # the conversation before the assistant's message
    tools: list[dict[str, Any]]  # the OpenAI tools offered with it
    call_id: str = ""
    comment: str = ""
    reason: str = ""  # why the call needed approval (the policy's reason)
    observation: dict[str, Any] | None = None
    decided_by: str = ""  # who decided (the principal); "" when not known
    decided_at: float | None = None  # when the decision was made (epoch seconds)
    key: str = ""
    created: float = 0.0
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("id", "session", "created", "decision", "request", "function", "tool",
                                               "api", "call_id", "proposed", "final", "comment", "reason",
                                               "observation", "decided_by", "decided_at", "context", "tools")}


class AgentStore:
    """The agent's SQLite file (WAL; one short transaction per write; safe from threads of one process)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        for table, column, definition in _ADDED_COLUMNS:
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- feedback --------------------------------------------------------------------------------------
    def record(self, fb: Feedback) -> bool:
        """Store a decision once (its ``key`` is unique: recording it again does nothing). True if new."""
        if fb.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {fb.decision!r}")
        fb.created = fb.created or time.time()
        row = (fb.key or f"{fb.session}:{fb.call_id}:{time.time_ns()}", fb.session, fb.created, fb.decision,
               fb.request, fb.function, fb.tool, fb.api, _dump({"call_id": fb.call_id, "arguments": fb.proposed}),
               _dump(fb.final) if fb.final is not None else None, fb.comment, fb.reason, _dump(fb.context),
               _dump(fb.tools), _dump(fb.observation) if fb.observation is not None else None, fb.decided_by or "",
               fb.decided_at)
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO feedback (key, session, created, decision, request, function, tool, api, "
                "proposed, final, comment, reason, context, tools, observation, decided_by, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            return cur.rowcount == 1

    def feedback(self, session: str | None = None, decisions: tuple[str, ...] = DECISIONS) -> list[Feedback]:
        """Stored decisions in the order they were made, optionally of one session and some decision kinds."""
        marks = ",".join("?" * len(decisions))
        sql = ("SELECT id, key, session, created, decision, request, function, tool, api, proposed, final, comment, "
               f"reason, context, tools, observation, decided_by, decided_at FROM feedback WHERE decision IN ({marks})")
        args: list[Any] = list(decisions)
        if session is not None:
            sql += " AND session = ?"
            args.append(session)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        out = []
        for (rid, key, sess, created, decision, request, function, tool, api, proposed, final, comment, reason,
             context, tools, observation, decided_by, decided_at) in rows:
            prop = json.loads(proposed)
            out.append(Feedback(session=sess, decision=decision, request=request, function=function, tool=tool,
                                api=api, proposed=prop["arguments"], final=json.loads(final) if final else None,
                                context=json.loads(context), tools=json.loads(tools), call_id=prop["call_id"],
                                comment=comment, reason=reason,
                                observation=json.loads(observation) if observation else None, key=key,
                                created=created, id=rid, decided_by=decided_by or "", decided_at=decided_at))
        return out

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT decision, COUNT(*) FROM feedback GROUP BY decision").fetchall()
        return {d: 0 for d in DECISIONS} | dict(rows)

    # -- session owners -------------------------------------------------------------------------------
    def owner(self, session: str) -> str | None:
        """The user that owns ``session``, or None when nobody does (a new session, or one from the terminal)."""
        with self._lock:
            row = self._db.execute("SELECT owner FROM sessions WHERE session = ?", (session,)).fetchone()
        return row[0] if row else None

    def claim(self, session: str, owner: str) -> str:
        """Make ``owner`` the owner of ``session`` unless it has one; returns the owner it has now (a concurrent
        claim by someone else wins if it came first)."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO sessions (session, owner, created) VALUES (?, ?, ?)",
                             (session, owner, time.time()))
            return self._db.execute("SELECT owner FROM sessions WHERE session = ?", (session,)).fetchone()[0]

    # -- the call journal ----------------------------------------------------------------------------
    def call_state(self, key: str) -> tuple[str, Observation | None]:
        with self._lock:
            row = self._db.execute("SELECT finished, observation FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            return CallState.NEW, None
        if row[0] is None:
            return CallState.STARTED, None
        return CallState.DONE, Observation.from_dict(json.loads(row[1]))

    def start_call(self, key: str, session: str, function: str, arguments: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO calls (key, session, function, arguments, started) "
                             "VALUES (?, ?, ?, ?, ?)", (key, session, function, arguments, time.time()))

    def finish_call(self, key: str, observation: Observation) -> None:
        with self._lock:
            self._db.execute("UPDATE calls SET finished = ?, observation = ? WHERE key = ?",
                             (time.time(), _dump(observation.to_dict()), key))

    # CallJournal (toolbench.toolstep): the calls of the agent's graph, in flight ones too
    async def lookup(self, key: str) -> tuple[str, Observation | None]:
        return self.call_state(key)

    async def start(self, key: str, call: PendingCall) -> None:
        self.start_call(key, str(call.where.get("session", "")), call.name, call.arguments)

    async def finish(self, key: str, call: PendingCall, observation: Observation) -> None:
        self.finish_call(key, observation)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def feedback_examples(records: list[Feedback], include: tuple[str, ...] = (APPROVED, EDITED)
                      ) -> list[dict[str, Any]]:
    """Training examples from decisions: ``{"id", "messages", "tools", "meta"}`` (OpenAI chat form; see the module
    docstring), for the decisions named in ``include``. A rejection never gives an example: nothing ran, so there
    is no call to learn from."""
    out = []
    for fb in records:
        if fb.decision not in include or fb.final is None:
            continue
        call = {"id": fb.call_id or f"call_{fb.id}", "type": "function",
                "function": {"name": fb.function, "arguments": json.dumps(fb.final, ensure_ascii=False)}}
        messages = [m for m in fb.context] + [{"role": "assistant", "content": None, "tool_calls": [call]}]
        meta = {"source": "agent-feedback", "session": fb.session, "decision": fb.decision, "tool": fb.tool,
                "api": fb.api}
        if fb.decision == EDITED:
            meta["proposed"] = fb.proposed
        if fb.comment:
            meta["comment"] = fb.comment
        out.append({"id": f"feedback-{fb.id}", "messages": messages, "tools": fb.tools, "meta": meta})
    return out
