"""The crawl's state in SQLite: one transaction per finished API, so a stopped crawl resumes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.cache import canonical_json
from toolbench.crawl.config import CrawlError
from toolbench.sqlite import connect

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apis (
    tool TEXT NOT NULL, api TEXT NOT NULL, host TEXT NOT NULL, finished REAL NOT NULL,
    schema TEXT, schema_source TEXT NOT NULL, json_responses INTEGER NOT NULL,
    PRIMARY KEY (tool, api)
);
CREATE TABLE IF NOT EXISTS calls (
    tool TEXT NOT NULL, api TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, args TEXT NOT NULL,
    status INTEGER, error_kind TEXT NOT NULL, error TEXT NOT NULL, latency REAL NOT NULL,
    response_chars INTEGER NOT NULL, informative INTEGER NOT NULL, started REAL NOT NULL,
    PRIMARY KEY (tool, api, seq)
);
"""


@dataclass
class CallRecord:
    seq: int
    kind: str
    args: dict[str, Any]
    status: int | None
    error_kind: str
    error: str
    latency: float
    response_chars: int
    informative: bool
    started: float


@dataclass
class ApiRecord:
    tool: str
    api: str
    host: str
    finished: float
    schema: Any  # the inferred schema (in the configured style), or None
    schema_source: str  # "catalog" | "inferred" | "none"
    json_responses: int
    calls: list[CallRecord] = field(default_factory=list)


class CrawlStore:
    """The crawl's state in SQLite (WAL): one transaction per finished API, so a killed crawl resumes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = connect(self.path, isolation_level=None, check_same_thread=False)
            self.conn.executescript(STATE_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise CrawlError(f"{self.path}: cannot open the crawl state ({exc}); move it aside to start over") from None

    def done(self) -> set[tuple[str, str]]:
        return {(t, a) for t, a in self.conn.execute("SELECT tool, api FROM apis")}

    def save(self, rec: ApiRecord) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM calls WHERE tool = ? AND api = ?", (rec.tool, rec.api))
            conn.execute("INSERT OR REPLACE INTO apis VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (rec.tool, rec.api, rec.host, rec.finished,
                          None if rec.schema is None else json.dumps(rec.schema, ensure_ascii=False),
                          rec.schema_source, rec.json_responses))
            conn.executemany("INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             [(rec.tool, rec.api, c.seq, c.kind, canonical_json(c.args), c.status, c.error_kind,
                               c.error, c.latency, c.response_chars, int(c.informative), c.started)
                              for c in rec.calls])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def records(self) -> dict[tuple[str, str], ApiRecord]:
        out: dict[tuple[str, str], ApiRecord] = {}
        for t, a, host, fin, schema, source, n in self.conn.execute("SELECT * FROM apis"):
            out[(t, a)] = ApiRecord(t, a, host, fin, None if schema is None else json.loads(schema), source, n)
        for row in self.conn.execute("SELECT * FROM calls ORDER BY tool, api, seq"):
            rec = out.get((row[0], row[1]))
            if rec is not None:
                rec.calls.append(CallRecord(row[2], row[3], json.loads(row[4]), row[5], row[6], row[7], row[8],
                                            row[9], bool(row[10]), row[11]))
        return out

    def set_meta(self, **values: Any) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                              [(k, json.dumps(v)) for k, v in values.items()])

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def close(self) -> None:
        self.conn.close()
