"""A campaign run folder's stores: ``campaign.sqlite`` (query rows, the API-call journal, settings),
``events.jsonl``, and :func:`merge`, which joins the run folders of a sharded campaign.

Several processes may share one run folder (``toolbench annotate --workers N``): SQLite in WAL mode serialises
their writes (each waits up to ``timeout`` seconds for the others), and an event line is one ``write`` of a file
opened for appending, which the kernel does not interleave with another process's.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from annotate import tree as T
from annotate.config import CampaignError
from toolbench.formats.jsonl import read_jsonl
from toolbench.records import Observation
from toolbench.sqlite import connect
from toolbench.toolstep import CallState, PendingCall

DONE_STATUSES = (T.SOLVED, T.EXHAUSTED, T.BUDGET)


# -- the run folder's SQLite store ----------------------------------------------------------------------

class SettingsStore:
    """A run folder's SQLite file with a ``settings`` table and the tables ``schema`` creates. Safe for threads;
    every write commits (WAL), so a killed process loses nothing written before. The campaign's store and the
    comparison's (``annotate/compare.py``) build on it."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = connect(path, check_same_thread=False)  # durable when the process is killed, as needed here
        with self._lock:
            self._db.executescript("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                                   + schema)
            self._db.commit()

    def setting(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CampaignStore(SettingsStore):
    """``campaign.sqlite``: query rows, the API-call journal, settings."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, """
                CREATE TABLE IF NOT EXISTS queries (
                    query_id TEXT PRIMARY KEY, status TEXT NOT NULL, finish_type TEXT, llm_calls INTEGER,
                    api_calls INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER, answer TEXT,
                    error TEXT, seconds REAL, updated REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS api_calls (
                    key TEXT PRIMARY KEY, query_id TEXT NOT NULL, node_path TEXT NOT NULL, function TEXT NOT NULL,
                    arguments TEXT NOT NULL, observation TEXT NOT NULL, created REAL NOT NULL);
        """)

    def done(self) -> set[str]:
        marks = ",".join("?" * len(DONE_STATUSES))
        with self._lock:
            rows = self._db.execute(f"SELECT query_id FROM queries WHERE status IN ({marks})", DONE_STATUSES)
            return {r[0] for r in rows}

    def record(self, query_id: str, status: str, tree: T.Tree | None = None, answer: str | None = None,
               error: str | None = None, seconds: float = 0.0) -> None:
        counts = ((tree.finish_type, tree.llm_calls, tree.api_calls, tree.prompt_tokens, tree.completion_tokens)
                  if tree is not None else (None, None, None, None, None))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO queries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (query_id, status, *counts, answer, error, seconds, time.time()))
            self._db.commit()

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM queries ORDER BY query_id")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor]

    def api_call_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM api_calls").fetchone()[0]

    # CallJournal (toolbench.toolstep): finished calls only; a call in flight at a crash is made again on resume
    async def lookup(self, key: str) -> tuple[str, Observation | None]:
        with self._lock:
            row = self._db.execute("SELECT observation FROM api_calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            return CallState.NEW, None
        return CallState.DONE, Observation.from_dict(json.loads(row[0]))

    async def start(self, key: str, call: PendingCall) -> None:
        return None

    async def finish(self, key: str, call: PendingCall, observation: Observation) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO api_calls VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (key, call.where["query"], call.where["path"], call.name, call.arguments,
                              json.dumps(observation.to_dict()), time.time()))
            self._db.commit()


class EventLog:
    """``events.jsonl``: one line per event, written at once with one ``write`` to the file opened for appending
    (so that the lines of several processes never mix)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps({"ts": round(time.time(), 3), **event}, ensure_ascii=False, default=str) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# -- shards ---------------------------------------------------------------------------------------------

def merge(runs: list[str | Path], out: str | Path) -> dict[str, Any]:
    """Join the run folders of a sharded campaign into ``out``: the answer files, the query rows and the events.
    A query done in two runs keeps the first run's answer and is reported in ``conflicts``."""
    out = Path(out)
    (out / "answers").mkdir(parents=True, exist_ok=True)
    merged = CampaignStore(out / "campaign.sqlite")
    seen: dict[str, str] = {}
    conflicts: list[str] = []
    search = None
    try:
        with open(out / "events.jsonl", "a", encoding="utf-8") as events:
            for run in map(Path, runs):
                if not (run / "campaign.sqlite").exists():
                    raise CampaignError(f"runs: {run} is not a campaign run folder (no campaign.sqlite)")
                store = CampaignStore(run / "campaign.sqlite")
                try:
                    settings = store.setting("search")
                    if search is not None and settings != search:
                        raise CampaignError(f"runs: {run} used other search settings than the runs before it")
                    search = settings
                    for row in store.rows():
                        qid = row["query_id"]
                        if row["status"] not in DONE_STATUSES:
                            continue
                        if qid in seen:
                            conflicts.append(qid)
                            continue
                        seen[qid] = str(run)
                        if row["answer"]:
                            shutil.copy2(run / row["answer"], out / row["answer"])
                        with merged._lock:
                            merged._db.execute("INSERT OR REPLACE INTO queries VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                               tuple(row.values()))
                            merged._db.commit()
                finally:
                    store.close()
                if (run / "events.jsonl").exists():
                    events.writelines(json.dumps({"run": str(run), **row}) + "\n"
                                      for row in read_jsonl(run / "events.jsonl"))
        if search is not None:
            merged.set_setting("search", search)
        rows = merged.rows()
    finally:
        merged.close()
    summary = {"runs": [str(r) for r in runs], "done": len(rows), "conflicts": sorted(conflicts),
               "by_status": {s: sum(1 for r in rows if r["status"] == s) for s in DONE_STATUSES},
               "by_finish_type": {f: sum(1 for r in rows if r["finish_type"] == f) for f in (T.GIVE_ANSWER, T.GIVE_UP)}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
