"""Annotation campaigns: many queries searched concurrently, resumable after a crash, within budgets.

A run folder holds everything a campaign needs to resume::

    RUN/
      campaign.sqlite     queries (status, counts), the API-call journal, settings
      checkpoints.sqlite  LangGraph's checkpoints of the searches in flight (deleted when a query is done)
      llm_cache.sqlite    the model's replies (record/replay), so a resumed step costs nothing twice
      events.jsonl        one JSON object per event (campaign, query, step, API call, finish, error)
      answers/            one ToolBench answer file per finished query (``<id>_DFS_woFilter_w2.json``...)
      summary.json        counts and spend of the last run

Resume: a query is *done* once its answer file is written and its row says so; a rerun skips it. A query in
flight when the process died resumes from its last LangGraph checkpoint; an API call that had completed is
replayed from the journal (keyed by query, node position, call index, function and arguments), never made again;
a model call that had completed is answered by the reply cache.

Budgets: per query (``SearchConfig``: model calls, API calls, tokens; plus ``query_seconds``, ``query_usd``) a
spent budget ends that search, which is then done with status ``budget``; per campaign (``budget_tokens``,
``budget_usd``, ``budget_api_calls``, ``budget_seconds``) a spent budget stops the campaign: queries in flight
are left resumable, not marked done, and a later run with a larger budget carries on.

Calling APIs: with a catalog folder, calls go through :class:`toolbench.executor.Executor` to the URLs the
catalog gives; ``hub_url`` sends the sandbox hub's tools (catalogued at ``http://127.0.0.1:8750``) to a hub
elsewhere, ``api_overrides`` any other URL prefix. Keys come from ``tool_key_env`` / ``rapidapi_key_env``; the
hub's tools get a sandbox key (:data:`HUB_KEY`) when ``tool_key_env`` is unset (the hub takes any key).

Sharding: ``shard="i/n"`` keeps the queries whose id hashes to ``i`` modulo ``n`` (stable across machines and
file orders); :func:`merge` joins the run folders of the shards.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from annotate import tree as T
from annotate.config import HUB_KEY, TOOL_CHOICES, CampaignConfig, CampaignError, shard_of  # noqa: F401
from annotate.export import Annotation, answer_filename, write_answer
from annotate.graph import SearchContext, build_graph, run_search
from annotate.prompts import opening_messages
from annotate.strategies import SearchConfig
from toolbench.catalog.functions import FunctionSet
from toolbench.errors import ToolbenchError
from toolbench.formats.jsonl import read_jsonl
from toolbench.records import Observation, Query
from toolbench.toolstep import CallState, PendingCall, ToolRunner

DONE_STATUSES = (T.SOLVED, T.EXHAUSTED, T.BUDGET)


class CampaignStopped(Exception):
    """Raised inside a search when a campaign-wide budget is spent: the query stays resumable."""


def in_shard(query_id: str, index: int, count: int) -> bool:
    return int(hashlib.sha256(query_id.encode()).hexdigest(), 16) % count == index


# -- the run folder's SQLite store ----------------------------------------------------------------------

class CampaignStore:
    """``campaign.sqlite``: query rows, the API-call journal, settings. Safe for threads; every write commits
    (WAL), so a killed process loses nothing written before."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30.0)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable when the process is killed, as needed here
            self._db.executescript("""
                CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS queries (
                    query_id TEXT PRIMARY KEY, status TEXT NOT NULL, finish_type TEXT, llm_calls INTEGER,
                    api_calls INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER, answer TEXT,
                    error TEXT, seconds REAL, updated REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS api_calls (
                    key TEXT PRIMARY KEY, query_id TEXT NOT NULL, node_path TEXT NOT NULL, function TEXT NOT NULL,
                    arguments TEXT NOT NULL, observation TEXT NOT NULL, created REAL NOT NULL);
            """)
            self._db.commit()

    def setting(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))
            self._db.commit()

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

    def close(self) -> None:
        with self._lock:
            self._db.close()


class EventLog:
    """``events.jsonl``: one line per event, flushed at once."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps({"ts": round(time.time(), 3), **event}, ensure_ascii=False, default=str)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        self._fh.close()


# -- the campaign ---------------------------------------------------------------------------------------

@dataclass
class Tally:
    """What this run did, for the progress bar and the summary."""

    total: int = 0
    skipped: int = 0  # already done by an earlier run
    solved: int = 0
    gave_up: int = 0  # ended with a give-up path
    unsolved: int = 0  # ended without any Finish (or by a per-query budget)
    failed: int = 0
    stopped: int = 0  # left resumable by a campaign budget
    api_calls: int = 0
    replayed_api_calls: int = 0

    def stats(self, tokens: int, cost: float | None) -> str:
        spend = f"${cost:.4f}" if cost is not None else "$?"
        return (f"solved {self.solved} · gave up {self.gave_up} · unsolved {self.unsolved} · failed {self.failed}"
                f" · {tokens:,} tok · {spend} · {self.api_calls} API calls")


def load_campaign_queries(cfg: CampaignConfig) -> list[Query]:
    from toolbench.catalog.store import load_queries

    queries = load_queries(cfg.queries)
    ids = [q.id for q in queries]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise CampaignError(f"queries: {cfg.queries} has duplicate query ids {dup}; ids name the answer files")
    if cfg.shard is not None:
        index, count = shard_of(cfg.shard)
        queries = [q for q in queries if in_shard(q.id, index, count)]
    return queries[: cfg.limit] if cfg.limit else queries


class _Catalog:
    """The catalog's APIs (with URLs) and tool descriptions, when a catalog folder is given."""

    def __init__(self, folder: str | None) -> None:
        self.tools: list[Any] = []
        self.apis: dict[tuple[str, str], Any] = {}
        self.descriptions: dict[str, str] = {}
        self.standard: dict[str, str] = {}
        if folder is None:
            return
        from toolbench.catalog.store import load_catalog

        catalog = load_catalog(folder)
        self.tools = catalog.tools
        for tool in catalog.tools:
            self.descriptions[tool.name] = tool.description
            self.standard[tool.name] = tool.standardized_name
            for api in tool.apis:
                self.apis[(tool.name, api.name)] = api

    def functions(self, query: Query) -> FunctionSet:
        apis = [self.apis.get(api.key, api) for api in query.apis]
        return FunctionSet.from_apis(apis, self.standard)


def _default_runner_factory(cfg: CampaignConfig, catalog: _Catalog) -> tuple[Callable[[FunctionSet], ToolRunner],
                                                                             Any]:
    """(runner factory, executor) calling the catalog's APIs."""
    import os

    from toolbench.executor import Executor
    from toolbench.hub.settings import PUBLIC_URL
    from toolbench.toolstep import ExecutorRunner

    if not catalog.tools:
        raise CampaignError("catalog: calling APIs needs a catalog folder with their URLs (--catalog DIR); "
                            "query files carry no URLs")
    cache = None
    if cfg.response_cache:
        from toolbench.cache import ResponseCache

        cache = ResponseCache(cfg.response_cache)
    config = cfg.executor_config()
    if not os.environ.get(cfg.tool_key_env):
        config.credentials = {t.standardized_name: HUB_KEY for t in catalog.tools
                              if t.base_url.rstrip("/").startswith(PUBLIC_URL)}
    executor = Executor(catalog.tools, config, cache)
    return (lambda functions: ExecutorRunner(executor, functions)), executor


def _same_search(stored: dict[str, Any], search: SearchConfig) -> bool:
    """Whether a run folder's stored search settings are ``search`` (fields added since take their defaults)."""
    try:
        return SearchConfig(**stored).to_dict() == search.to_dict()
    except (TypeError, ToolbenchError):
        return stored == search.to_dict()


async def run_campaign(cfg: CampaignConfig, model: Any = None,
                       runner_factory: Callable[[FunctionSet], ToolRunner] | None = None,
                       progress: bool | None = None) -> dict[str, Any]:
    """Run (or resume) a campaign; returns the summary also written to ``RUN/summary.json``.

    ``model`` and ``runner_factory`` replace the OpenAI client and the executor (tests, dry runs)."""
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from toolbench.llm.usage import PriceTable, TrackedChatModel, UsageTracker

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "answers").mkdir(exist_ok=True)
    queries = load_campaign_queries(cfg)
    catalog = _Catalog(cfg.catalog)
    executor = None
    if runner_factory is None:
        runner_factory, executor = _default_runner_factory(cfg, catalog)
    store = CampaignStore(out / "campaign.sqlite")
    previous = store.setting("search")
    if previous is not None and not _same_search(previous, cfg.search):
        store.close()
        raise CampaignError(f"out: {out} holds a campaign with other search settings ({previous}); resume it with "
                            "the same settings or use another run folder")
    store.set_setting("search", cfg.search.to_dict())
    log = EventLog(out / "events.jsonl")
    prices = PriceTable.from_file(cfg.prices) if cfg.prices else PriceTable()
    tracker = UsageTracker(prices)
    http_client = None  # ours, so that its connections are closed before the event loop is
    if model is None:
        import openai

        from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

        http_client = openai.DefaultAsyncHttpxClient()
        model = OpenAIChatModel(OpenAIChatConfig(model=cfg.model, base_url=cfg.base_url, timeout=cfg.llm_timeout,
                                                 api_key_env=cfg.api_key_env, max_concurrency=cfg.concurrency),
                                async_http_client=http_client)
    from toolbench.llm.cache import CachedChatModel

    chat = CachedChatModel(model, out / "llm_cache.sqlite", model=model.model) if cfg.llm_cache else model
    chat = TrackedChatModel(chat, tracker)
    price = prices.lookup(cfg.model)
    budget = cfg.search.budget()
    if price is not None:
        budget = replace(budget, price=(price.prompt, price.completion), max_cost=cfg.query_usd)
    params: dict[str, Any] = {"temperature": cfg.temperature} if cfg.temperature is not None else {}
    if cfg.max_reply_tokens is not None:
        params["max_tokens"] = cfg.max_reply_tokens
    if cfg.tool_choice is not None:
        params["tool_choice"] = cfg.tool_choice

    done = store.done()
    todo = [q for q in queries if q.id not in done]
    tally = Tally(total=len(queries), skipped=len(queries) - len(todo))
    started = time.monotonic()
    api_before = store.api_call_count()
    stop_reason: list[str] = []

    def spend() -> tuple[int, float | None]:
        """Tokens and dollars of this run (dollars unknown when the model is not in the price table)."""
        totals = tracker.totals()
        return totals.total_tokens, (totals.spent_usd if totals.cost_usd is not None else None)

    def campaign_check() -> str | None:
        reason = None
        totals = tracker.totals()
        spent_tokens = totals.total_tokens
        if cfg.budget_tokens is not None and spent_tokens >= cfg.budget_tokens:
            reason = f"the campaign's token budget ({cfg.budget_tokens}) is spent"
        elif cfg.budget_usd is not None and totals.spent_usd >= cfg.budget_usd:
            reason = f"the campaign's budget of ${cfg.budget_usd} is spent"
        elif cfg.budget_api_calls is not None and store.api_call_count() >= cfg.budget_api_calls:
            reason = f"the campaign's API-call budget ({cfg.budget_api_calls}) is spent"
        elif cfg.budget_seconds is not None and time.monotonic() - started >= cfg.budget_seconds:
            reason = f"the campaign's wall-time budget ({cfg.budget_seconds:g} s) is spent"
        if reason is not None:
            if not stop_reason:
                stop_reason.append(reason)
                log({"event": "campaign_stopped", "reason": reason})
            raise CampaignStopped(reason)
        return None

    bar = _Progress(progress, len(queries), tally.skipped)
    log({"event": "campaign_start", "queries": len(queries), "todo": len(todo), "config": cfg.to_dict()})
    semaphore = asyncio.Semaphore(cfg.concurrency)

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "api_call":
            tally.api_calls += 1
            tally.replayed_api_calls += int(event.get("replayed", False))
        log(event)
        if event["event"] in ("step", "api_call"):
            bar.update(tally, *spend())

    async def one(query: Query, graph: Any, saver: Any) -> None:
        async with semaphore:
            if stop_reason:
                tally.stopped += 1
                return
            functions = catalog.functions(query)
            ctx = SearchContext(
                query_id=query.id, model=chat, runner=runner_factory(functions), functions=functions,
                policy=cfg.search.policy(), budget=budget, params=params, journal=store,
                campaign_check=campaign_check,
                deadline=time.monotonic() + cfg.query_seconds if cfg.query_seconds else None,
                max_observation_chars=cfg.search.max_observation_chars, on_event=on_event)
            messages = opening_messages(query.text, functions, catalog.descriptions)
            t0 = time.monotonic()
            log({"event": "query_start", "query_id": query.id})
            try:
                tree = await run_search(graph, ctx, messages, thread_id=query.id)
            except CampaignStopped:
                tally.stopped += 1
                store.record(query.id, "stopped", seconds=time.monotonic() - t0)
                return
            except Exception as exc:  # one query's failure never ends the campaign
                tally.failed += 1
                store.record(query.id, "error", error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - t0)
                log({"event": "query_error", "query_id": query.id, "error": f"{type(exc).__name__}: {exc}"})
                await saver.adelete_thread(query.id)
                bar.update(tally, *spend(), advance=1)
                return
            seconds = time.monotonic() - t0
            if tree.status == T.FAILED:
                tally.failed += 1
                store.record(query.id, T.FAILED, tree, error=tree.reason, seconds=seconds)
                await saver.adelete_thread(query.id)  # a rerun tries it again (its API calls are journaled)
            else:
                annotation = Annotation(query=query.text, tree=tree, functions=functions.schemas(finish=True),
                                        search=cfg.search, query_id=query.id)
                path = write_answer(annotation, out / "answers" / answer_filename(query.id, cfg.search))
                store.record(query.id, tree.status, tree, answer=str(path.relative_to(out)), seconds=seconds)
                await saver.adelete_thread(query.id)
                if tree.finish_type == T.GIVE_ANSWER:
                    tally.solved += 1
                elif tree.finish_type == T.GIVE_UP:
                    tally.gave_up += 1
                else:
                    tally.unsolved += 1
            log({"event": "query_done", "query_id": query.id, "status": tree.status,
                 "finish_type": tree.finish_type, "llm_calls": tree.llm_calls, "api_calls": tree.api_calls,
                 "tokens": tree.total_tokens, "seconds": round(seconds, 3)})
            bar.update(tally, *spend(), advance=1)

    try:
        async with aiosqlite.connect(str(out / "checkpoints.sqlite")) as connection:
            # WAL with synchronous=NORMAL survives a killed process (not a power cut) and spares an fsync per
            # checkpoint, which otherwise bounds the whole campaign's step rate.
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")
            saver = AsyncSqliteSaver(connection)
            graph = build_graph(saver)
            with bar:
                await asyncio.gather(*(one(q, graph, saver) for q in todo))
    finally:
        tokens, cost = spend()
        summary = {
            "queries": tally.total, "skipped_done": tally.skipped, "solved": tally.solved, "gave_up": tally.gave_up,
            "unsolved": tally.unsolved, "failed": tally.failed, "stopped": tally.stopped,
            "api_calls": tally.api_calls, "replayed_api_calls": tally.replayed_api_calls,
            "journaled_api_calls": store.api_call_count() - api_before, "tokens": tokens, "cost_usd": cost,
            "llm": tracker.summary()["total"], "seconds": round(time.monotonic() - started, 3),
            "stopped_because": stop_reason[0] if stop_reason else None,
            "done": len(store.done()),
        }
        log({"event": "campaign_end", **{k: v for k, v in summary.items() if k != "llm"}})
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        log.close()
        store.close()
        if hasattr(chat, "inner") and hasattr(chat.inner, "close"):
            chat.inner.close()
        if executor is not None:
            await executor.aclose()
        if http_client is not None:
            await http_client.aclose()
    return summary


class _Progress:
    """A rich progress bar on stderr (when asked, or when stderr is a terminal); silent otherwise."""

    def __init__(self, enabled: bool | None, total: int, done: int) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("annotate"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                                      console=Console(stderr=True))
            self._task = self._progress.add_task("annotate", total=total, completed=done, stats="")

    def __enter__(self) -> _Progress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, tally: Tally, tokens: int, cost: float | None, advance: int = 0) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=advance, stats=tally.stats(tokens, cost))


def run(cfg: CampaignConfig, model: Any = None, runner_factory: Callable[[FunctionSet], ToolRunner] | None = None,
        progress: bool | None = None) -> dict[str, Any]:
    """Run or resume the campaign ``cfg`` and return its summary (what ``RUN/summary.json`` holds, plus ``llm``):
    ``toolbench annotate`` calls it with a config built from its options, and so can the demo or a notebook.
    ``model`` (a ChatModel) and ``runner_factory`` replace the OpenAI client and the executor; ``progress``: show
    the bar (None: when stderr is a terminal)."""
    return asyncio.run(run_campaign(cfg, model, runner_factory, progress))


main = run  # the name it had


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
