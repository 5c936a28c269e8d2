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
file orders); :func:`merge` joins the run folders of the shards. Workers: ``workers=N`` runs the campaign as N
processes sharing the run folder (:mod:`annotate.workers`); the store and event log are in :mod:`annotate.store`,
the checkpointer in :mod:`annotate.checkpoints`.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

from annotate import tree as T
from annotate.config import HUB_KEY, TOOL_CHOICES, CampaignConfig, CampaignError, shard_of  # noqa: F401
from annotate.export import Annotation, answer_filename, write_answer
from annotate.graph import SearchContext, Turns, build_graph, run_search
from annotate.prompts import opening_messages
from annotate.store import DONE_STATUSES, CampaignStore, EventLog, merge  # noqa: F401 (merge: its old home)
from annotate.strategies import SearchConfig
from toolbench.catalog.functions import FunctionSet
from toolbench.errors import ToolbenchError
from toolbench.formats.atomic import write_json_atomic
from toolbench.records import Query
from toolbench.toolstep import ToolRunner


class CampaignStopped(Exception):
    """Raised inside a search when a campaign-wide budget is spent: the query stays resumable."""


WORKER_SALT = "worker:"  # workers split a shard by another hash than shards split the queries


def in_shard(query_id: str, index: int, count: int, salt: str = "") -> bool:
    return int(hashlib.sha256((salt + query_id).encode()).hexdigest(), 16) % count == index


def open_store(cfg: CampaignConfig) -> CampaignStore:
    """The run folder's store, created when new; refuses a folder that holds a campaign with other search
    settings."""
    out = Path(cfg.out)
    (out / "answers").mkdir(parents=True, exist_ok=True)
    store = CampaignStore(out / "campaign.sqlite")
    previous = store.setting("search")
    if previous is not None and not _same_search(previous, cfg.search):
        store.close()
        raise CampaignError(f"out: {out} holds a campaign with other search settings ({previous}); resume it with "
                            "the same settings or use another run folder")
    store.set_setting("search", cfg.search.to_dict())
    return store


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
    from toolbench.llm.http11 import Http11Client
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
    from toolbench.llm.http11_transport import Http11Transport, no_proxy_configured

    if no_proxy_configured():  # the lean HTTP/1.1 client under httpx: less campaign CPU per API call
        executor.async_transport = lambda context: Http11Transport(Http11Client(ssl_context=context))
    return (lambda functions: ExecutorRunner(executor, functions)), executor


def _same_search(stored: dict[str, Any], search: SearchConfig) -> bool:
    """Whether a run folder's stored search settings are ``search`` (fields added since take their defaults)."""
    try:
        return SearchConfig(**stored).to_dict() == search.to_dict()
    except (TypeError, ToolbenchError):
        return stored == search.to_dict()


async def run_campaign(cfg: CampaignConfig, model: Any = None,
                       runner_factory: Callable[[FunctionSet], ToolRunner] | None = None,
                       progress: bool | None = None, worker: tuple[int, int] | None = None) -> dict[str, Any]:
    """Run (or resume) a campaign; returns the summary also written to ``RUN/summary.json``.

    ``model`` and ``runner_factory`` replace the OpenAI client and the executor (tests, dry runs). ``worker``
    ``(j, n)``: this process is worker ``j`` of ``n`` sharing the run folder (:mod:`annotate.workers`); it
    searches its share of the queries and writes its summary to ``RUN/workers/<j>.json``."""
    from annotate.checkpoints import InlineSqliteSaver
    from toolbench.llm.usage import PriceTable, TrackedChatModel, UsageTracker

    out = Path(cfg.out)
    queries = load_campaign_queries(cfg)
    if worker is not None:
        queries = [q for q in queries if in_shard(q.id, *worker, salt=WORKER_SALT)]
    catalog = _Catalog(cfg.catalog)
    executor = None
    if runner_factory is None:
        runner_factory, executor = _default_runner_factory(cfg, catalog)
    store = open_store(cfg)
    log = EventLog(out / "events.jsonl")
    prices = PriceTable.from_file(cfg.prices) if cfg.prices else PriceTable()
    tracker = UsageTracker(prices)
    http_clients: list[Any] = []  # ours, so that their connections are closed before the event loop is
    if model is None:
        import openai

        from toolbench.llm.http11 import Http11Client
        from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

        # the lean client posts unless the endpoint needs a proxy; the SDK's httpx client then
        http_clients = [Http11Client(), openai.DefaultAsyncHttpxClient()]
        model = OpenAIChatModel(OpenAIChatConfig(model=cfg.model, base_url=cfg.base_url, timeout=cfg.llm_timeout,
                                                 api_key_env=cfg.api_key_env, max_concurrency=cfg.concurrency),
                                direct_client=http_clients[0], async_http_client=http_clients[1])
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
        totals = tracker.totals() if cfg.budget_tokens is not None or cfg.budget_usd is not None else None
        if cfg.budget_tokens is not None and totals.total_tokens >= cfg.budget_tokens:
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
    log({"event": "campaign_start", "queries": len(queries), "todo": len(todo), "config": cfg.to_dict(),
         **({"worker": worker[0], "workers": worker[1]} if worker else {})})
    semaphore = asyncio.Semaphore(cfg.concurrency)
    turns = Turns()

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "api_call":
            tally.api_calls += 1
            tally.replayed_api_calls += int(event.get("replayed", False))
        log(event)
        if bar.enabled and event["event"] in ("step", "api_call"):
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
                max_observation_chars=cfg.search.max_observation_chars, on_event=on_event, turns=turns)
            messages = opening_messages(query.text, functions, catalog.descriptions)
            t0 = time.monotonic()
            log({"event": "query_start", "query_id": query.id})
            try:
                tree = await run_search(graph, ctx, messages, thread_id=query.id)
            except CampaignStopped:
                tally.stopped += 1
                store.record(query.id, "stopped", seconds=time.monotonic() - t0)
                return
            except Exception as exc:  # noqa: BLE001 (one query's failure never ends the campaign)
                tally.failed += 1
                store.record(query.id, "error", error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - t0)
                log({"event": "query_error", "query_id": query.id, "error": f"{type(exc).__name__}: {exc}"})
                await saver.adelete_thread(query.id)
                if bar.enabled:
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
                path = write_answer(annotation, out / "answers" / answer_filename(query.id, cfg.search),
                                    indent=None)  # compact: the indented encoder cost ~1/10 of a campaign's CPU
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
            if bar.enabled:
                bar.update(tally, *spend(), advance=1)

    # WAL with synchronous=NORMAL survives a killed process (not a power cut) and spares an fsync per checkpoint,
    # which otherwise bounds the whole campaign's step rate.
    saver = InlineSqliteSaver.open(out / "checkpoints.sqlite", task_writes=False)
    try:
        graph = build_graph(saver)
        with bar:
            await asyncio.gather(*(one(q, graph, saver) for q in todo))
    finally:
        saver.close()
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
        log({"event": "campaign_end", **{k: v for k, v in summary.items() if k != "llm"},
             **({"worker": worker[0]} if worker else {})})
        target = out / "summary.json" if worker is None else out / "workers" / f"{worker[0]}.json"
        write_json_atomic(target, summary)
        log.close()
        store.close()
        if hasattr(chat, "inner") and hasattr(chat.inner, "close"):
            chat.inner.close()
        if executor is not None:
            await executor.aclose()
        for client in http_clients:
            await client.aclose()
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

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, tally: Tally, tokens: int, cost: float | None, advance: int = 0) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=advance, stats=tally.stats(tokens, cost))

    def show(self, completed: int, stats: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, stats=stats)


def run(cfg: CampaignConfig, model: Any = None, runner_factory: Callable[[FunctionSet], ToolRunner] | None = None,
        progress: bool | None = None) -> dict[str, Any]:
    """Run or resume the campaign ``cfg`` and return its summary (what ``RUN/summary.json`` holds, plus ``llm``):
    ``toolbench annotate`` calls it with a config built from its options, and so can the demo or a notebook.
    ``model`` (a ChatModel) and ``runner_factory`` replace the OpenAI client and the executor; ``progress``: show
    the bar (None: when stderr is a terminal)."""
    if cfg.workers > 1:
        from annotate.workers import run_workers

        return run_workers(cfg, model, runner_factory, progress)
    return asyncio.run(run_campaign(cfg, model, runner_factory, progress))


main = run  # the name it had
