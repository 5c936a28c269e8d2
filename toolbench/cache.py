"""The response cache: API observations in SQLite, keyed by sha256 of canonical JSON (tool, api, sorted args).

- Modes (:class:`CacheMode`): ``read-write`` (answer hits, store fresh answers), ``replay`` (answer hits; a miss
  is an error observation and never a network call — reruns are exactly reproducible), ``off``.
- Safe under concurrency: WAL journal, one connection per thread and per process, a busy timeout, every write a
  single transaction. Safe under kill -9: SQLite's journal rolls back a write that was cut short, so the file
  always opens with only whole entries.
- The key holds only (tool, api, arguments). Secrets travel in headers and never reach it; a secret the API
  echoes back is replaced by ``***`` before the entry is written (``put(..., redact=[known key values])``, which
  the executor always passes).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.records import Observation
from toolbench.sqlite import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    api TEXT NOT NULL,
    args TEXT NOT NULL,
    error TEXT NOT NULL,
    response TEXT NOT NULL,
    status INTEGER,
    latency REAL NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_api ON responses (tool, api);
"""


class CacheMode(str, Enum):
    READ_WRITE = "read-write"
    REPLAY = "replay"
    OFF = "off"

    @classmethod
    def parse(cls, value: str | CacheMode) -> CacheMode:
        try:
            return cls(value)
        except ValueError:
            raise CacheError(f"cache mode {value!r} unknown; use one of: {', '.join(m.value for m in cls)}") from None


class CacheError(ToolbenchError):
    """The cache file cannot be used: the message names it and what to do."""


def canonical_json(value: Any) -> str:
    """Key order, spacing and unicode escaping fixed, so equal arguments give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


MIN_SECRET_CHARS = 4  # shorter "secrets" are not redacted: they would mask ordinary text


def redact_secrets(text: str, secrets: Any) -> str:
    """``text`` with every occurrence of each secret (at least :data:`MIN_SECRET_CHARS` long) replaced by
    ``***``, longest first; ``text`` itself (the same object) when none occurs."""
    if not text or not secrets:
        return text
    out = text
    for secret in sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_CHARS},
                         key=len, reverse=True):
        if secret in out:
            out = out.replace(secret, "***")
    return text if out == text else out


def cache_key(tool: str, api: str, args: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({"tool": tool, "api": api, "args": args}).encode("utf-8")).hexdigest()


class ResponseCache:
    """An SQLite response cache shared by threads and processes.

    >>> cache = ResponseCache(":memory:")   # doctest: +SKIP
    >>> cache.put("Weather", "Current weather", {"city": "Paris"}, Observation(response="{}", status=200))
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 30.0):
        self.path = str(path)
        self.timeout = timeout
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn()  # create the schema now: errors surface here, not on the first call

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            conn = connect(self.path, self.timeout, isolation_level=None)
            conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path}: cannot open the response cache ({exc}); check the path, or move a "
                             "damaged file aside and start a new cache") from None
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def get(self, tool: str, api: str, args: dict[str, Any]) -> Observation | None:
        return self.get_key(cache_key(tool, api, args))

    def get_key(self, key: str) -> Observation | None:
        row = self._conn().execute("SELECT error, response, status, latency FROM responses WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            return None
        return Observation(error=row[0], response=row[1], status=row[2], latency=row[3], cached=True)

    def put(self, tool: str, api: str, args: dict[str, Any], obs: Observation, *, redact: Any = ()) -> str:
        """Store ``obs`` for (tool, api, args); every value of ``redact`` (the known keys) found in its response or
        error is written as ``***``."""
        key = cache_key(tool, api, args)
        error, response = redact_secrets(obs.error, redact), redact_secrets(obs.response, redact)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (key, tool, api, canonical_json(args), error, response, obs.status,
                          float(obs.latency), time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return key

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def entries(self, tool: str | None = None, api: str | None = None) -> Iterator[dict[str, Any]]:
        """Stored entries (optionally of one tool / API), oldest first, arguments decoded."""
        sql, params = "SELECT tool, api, args, error, response, status, latency, created FROM responses", []
        if tool is not None:
            sql += " WHERE tool = ?" + (" AND api = ?" if api is not None else "")
            params = [tool] + ([api] if api is not None else [])
        for row in self._conn().execute(sql + " ORDER BY created", params):
            yield {"tool": row[0], "api": row[1], "args": json.loads(row[2]), "error": row[3], "response": row[4],
                   "status": row[5], "latency": row[6], "created": row[7]}

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
