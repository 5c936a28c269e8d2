"""Running a crawl: the calls of each API through the executor, rate-limited per host, answers into the response
cache and the state; then the report."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from toolbench.cache import ResponseCache
from toolbench.catalog.values import catalog_today
from toolbench.crawl.answers import informative
from toolbench.crawl.config import HUB_KEY, CrawlConfig, CrawlRunConfig, CrawlTarget, load_tools
from toolbench.crawl.plan import PlannedCall, plan_calls
from toolbench.crawl.report import build_report, write_outputs
from toolbench.crawl.store import ApiRecord, CallRecord, CrawlStore
from toolbench.executor import (
    REQUEST_ERROR,
    Executor,
    ExecutorConfig,
    apply_overrides,
    cacheable,
    error_kind,
    redact_url,
    url_host,
)
from toolbench.records import Api, Observation, Tool

MAX_ERROR_CHARS = 300


class HostRateLimiter:
    """At most ``rate`` request starts per second per host (evenly spaced); ``rate`` 0 means no limit."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, host: str) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


def _schema_for(api: Api, texts: list[str], style: str) -> tuple[Any, str, int]:
    from toolbench.response_schema import infer_from_texts, to_template

    n_json = 0
    for text in texts:
        try:
            json.loads(text)
            n_json += 1
        except ValueError:
            pass
    if api.response_schema:
        return None, "catalog", n_json
    schema = infer_from_texts(texts)
    if schema is None:
        return None, "none", n_json
    return (to_template(schema) if style == "template" else schema), "inferred", n_json


async def _crawl_api(executor: Executor, limiter: HostRateLimiter, cache: ResponseCache | None, api: Api,
                     planned: list[PlannedCall], host: str, config: CrawlConfig) -> ApiRecord:
    calls: list[CallRecord] = []
    texts: list[str] = []
    for seq, call in enumerate(planned):
        await limiter.wait(host)
        started = time.time()
        try:
            obs = await executor.acall(api.tool, api.name, call.args)
        except Exception as exc:  # noqa: BLE001 - the executor returns observations; this is a last resort
            obs = Observation(error=f"{REQUEST_ERROR}: the call failed ({type(exc).__name__})")
        kind = error_kind(obs)
        if cache is not None and cacheable(obs):
            tool = executor.tools.get(api.tool)
            cache.put(api.tool, api.name, call.args, obs, redact=executor.known_secrets(tool))
        ok = kind == "" and obs.status is not None and 200 <= obs.status < 300
        if ok:
            texts.append(obs.response)
        calls.append(CallRecord(seq, call.kind, call.args, obs.status, kind, redact_url(obs.error[:MAX_ERROR_CHARS]),
                                round(obs.latency, 6), len(obs.response), ok and informative(obs.response), started))
    schema, source, n_json = _schema_for(api, texts, config.schema_style)
    return ApiRecord(api.tool, api.name, host, time.time(), schema, source, n_json, calls)


def crawl(tools: list[Tool], run_dir: str | Path, config: CrawlConfig | None = None,
          target: CrawlTarget | None = None, *, cache_path: str | Path | None = None, progress: bool = True,
          on_api_done: Callable[[ApiRecord], None] | None = None) -> dict[str, Any]:
    """Crawl every API of ``tools`` not yet done in ``run_dir``, then write and return the report.

    ``on_api_done`` is called after each API is saved (tests use it to interrupt a crawl).
    """
    config = config or CrawlConfig()
    target = target or CrawlTarget()
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    store = CrawlStore(run / "crawl.sqlite")
    try:
        store.set_meta(config=asdict(config), started=time.time())
        asyncio.run(_run(tools, store, config, target, Path(cache_path) if cache_path else run / "cache.sqlite",
                         progress, on_api_done))
        report = build_report(tools, store.records(), config)
    finally:
        store.close()
    write_outputs(report, tools, run, config)
    return report


def run(config: CrawlRunConfig, on_api_done: Callable[[ApiRecord], None] | None = None,
        target: CrawlTarget | None = None) -> dict[str, Any]:
    """``toolbench crawl`` as a function (the CLI, the demo and a notebook call it): crawl ``config.catalog`` (or
    its ``tools``) into ``config.out`` and return the report. With ``hub_url``, the sandbox hub's tools are called
    there, each API with a key of its own (so each starts from the seed), the key from $TOOLBENCH_API_KEY or a
    sandbox one (:func:`hub_target`); ``target`` replaces that routing (the demo keeps one key for the whole run)."""
    tools = load_tools(config.catalog, config.tools)
    return crawl(tools, config.out, config.crawl, target or hub_target(tools, config.hub_url),
                 cache_path=config.cache, progress=config.progress, on_api_done=on_api_done)


def hub_target(tools: list[Tool], hub_url: str | None) -> CrawlTarget:
    """Where the sandbox hub's tools among ``tools`` are called: ``hub_url`` (None: their catalog URL), with a
    key per API."""
    from toolbench.hub.settings import PUBLIC_URL

    target = CrawlTarget()
    if hub_url:
        target.base_url_overrides = {PUBLIC_URL: hub_url.rstrip("/")}
    hub_tools = [t for t in tools if t.base_url.startswith(PUBLIC_URL)]  # the sandbox hub's own catalog
    if hub_tools:
        target.isolated_tools = frozenset(t.name for t in hub_tools)  # state per key: each API from the seed
        key = os.environ.get("TOOLBENCH_API_KEY") or HUB_KEY
        target.credentials = {t.standardized_name: key for t in hub_tools}
    return target


async def _run(tools: list[Tool], store: CrawlStore, config: CrawlConfig, target: CrawlTarget, cache_path: Path,
               progress: bool, on_api_done: Callable[[ApiRecord], None] | None) -> None:
    done = store.done()
    apis = [api for tool in tools for api in tool.apis]
    todo = [api for api in apis if (api.tool, api.name) not in done]
    if not todo:
        return
    today = catalog_today(apis)
    exec_config = ExecutorConfig(timeout=config.timeout, connect_timeout=min(config.timeout, 5.0),
                                 max_retries=config.retries, max_concurrency_per_host=config.concurrency,
                                 cache_mode="off", base_url_overrides=target.base_url_overrides,
                                 credentials=target.credentials)
    executor = Executor(tools, exec_config, env=target.env)
    by_name = {t.name: t for t in tools}
    cache = ResponseCache(cache_path)
    limiter = HostRateLimiter(config.rate)
    queue: asyncio.Queue[Api] = asyncio.Queue()
    for api in todo:
        queue.put_nowait(api)
    bar = _progress_bar(len(todo), len(apis) - len(todo)) if progress else None

    async def worker() -> None:
        while True:
            try:
                api = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            planned = plan_calls(api, config.samples, config.seed, today)
            host = url_host(apply_overrides(api.url, target.base_url_overrides))  # userinfo left out
            own = _isolated_executor(api, by_name[api.tool], exec_config, target)
            try:
                rec = await _crawl_api(own or executor, limiter, cache, api, planned, host, config)
            finally:
                if own is not None:
                    await own.aclose()
            store.save(rec)
            if bar is not None:
                bar[0].advance(bar[1])
            if on_api_done is not None:
                on_api_done(rec)

    try:
        if bar is not None:
            bar[0].start()
        await asyncio.gather(*(worker() for _ in range(min(config.concurrency, len(todo)))))
    finally:
        if bar is not None:
            bar[0].stop()
        await executor.aclose()
        cache.close()


def _isolated_executor(api: Api, tool: Tool, exec_config: ExecutorConfig, target: CrawlTarget) -> Executor | None:
    if api.tool not in target.isolated_tools:
        return None
    from toolbench.catalog.naming import standardize

    std = tool.standardized_name or standardize(tool.name)
    base = target.credentials.get(std) or target.credentials.get("*") or "crawl"
    own = replace(exec_config, credentials={**target.credentials, std: f"{base}.{standardize(api.name)}"})
    return Executor([tool], own, env=target.env)


def _progress_bar(total: int, already: int):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("[bold]crawl[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("APIs"),
                   TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
    task = bar.add_task("crawl", total=total)
    if already:
        bar.console.print(f"resuming: {already} API(s) already crawled in this run are skipped")
    return bar, task
