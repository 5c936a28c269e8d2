"""The crawler: call every API of a catalog, record what it answers, and decide which APIs to keep.

ToolBench crawled RapidAPI and kept 3,451 of 10,853 tools: the ones that worked, answered fast enough and said
something useful. ``toolbench crawl CATALOG --out RUN`` does the same for any catalog:

- **calls** (:func:`plan_calls`, pure and seeded): per API one *example* call (each required parameter's
  documented example or default, a sampled value where there is none) and ``samples`` distinct sampled valid
  calls, drawn by :class:`toolbench.catalog.values.ValueSampler`;
- **running**: through the :class:`~toolbench.executor.Executor` (async), ``concurrency`` APIs at a time (the
  calls of one API in order), at most ``rate`` requests per second per host; every replayable answer goes to
  the response cache (``RUN/cache.sqlite`` unless told otherwise);
- **state** (``RUN/crawl.sqlite``, :class:`CrawlStore`): an API's calls and inferred schema are written in one
  transaction when its last call returns, so a crawl that is stopped (Ctrl-C, kill -9) resumes by skipping
  the APIs already done; an API cut mid-way is crawled again;
- **response schemas** (:mod:`toolbench.response_schema`) inferred from the JSON answers where the catalog has
  none, as JSON Schema or as a ToolBench template;
- **report** (:func:`build_report`, pure, from the state, so thresholds can change without a new crawl): per
  API alive/dead, the main error kind, latency p50/p95, success rate, response quality and the keep/drop
  decision with its reasons; per tool kept when one of its APIs is. Written as ``RUN/report.json``,
  ``RUN/report.md`` and printed as a table; the kept tools (with inferred schemas filled in) are written as a
  ToolBench tool folder, ``RUN/tools/``.

Definitions used by the report: a call is *answered* when the API itself replied (2xx, or its own 4xx such as
404 or 409; not 401/403/429, not 5xx, not a timeout or a broken body); *ok* when it replied 2xx with a valid
body; a 2xx body is *informative* (:func:`informative`) when it is non-empty and not an error message.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from toolbench.cache import ResponseCache, canonical_json
from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.values import (
    ValueSampler,
    ValueSamplingError,
    catalog_today,
    is_valid,
    param_schema_for_sampling,
)
from toolbench.errors import ToolbenchError
from toolbench.executor import (
    REQUEST_ERROR,
    TIMEOUT,
    Executor,
    ExecutorConfig,
    apply_overrides,
    cacheable,
    error_kind,
    redact_url,
    url_host,
)
from toolbench.records import Api, Observation, Tool

TOOLBENCH_TOOLS_TOTAL, TOOLBENCH_TOOLS_KEPT = 10_853, 3_451
SCHEMA_STYLES = ("json", "template")
MAX_ERROR_CHARS = 300


class CrawlError(ToolbenchError):
    """A crawl setting or run folder is unusable: the message names the field or file and what to do."""


@dataclass
class CrawlConfig:
    """How the crawler calls APIs and which ones it keeps."""

    samples: int = field(default=3, metadata={"help": "Sampled valid calls per API, besides the example call."})
    concurrency: int = field(default=8, metadata={"help": "APIs crawled at once (the calls of one API in order)."})
    rate: float = field(default=0.0, metadata={"help": "Requests per second per host at most; 0: no limit."})
    timeout: float = field(default=10.0, metadata={"help": "Seconds to wait for one answer."})
    retries: int = field(default=0, metadata={
        "help": "Retries on 429/5xx/connection errors. 0 by default: a crawl measures, retries would hide faults."})
    seed: int = field(default=0, metadata={"help": "Seed of the sampled arguments."})
    min_success: float = field(default=0.25, metadata={
        "help": "Keep an API only if at least this share of its calls answered 2xx with a valid body."})
    max_p95_latency: float = field(default=5.0, metadata={
        "help": "Keep an API only if its p95 latency (seconds) is at most this; 0 disables the check."})
    min_quality: float = field(default=0.5, metadata={
        "help": "Keep an API only if at least this share of its 2xx answers is informative (non-empty, not an "
                "error message)."})
    schema_style: str = field(default="json", metadata={
        "help": "Form of inferred response schemas: json (JSON Schema) or template (ToolBench template_response)."})

    def __post_init__(self) -> None:
        if not isinstance(self.samples, int) or self.samples < 0:
            raise CrawlError(f"samples: must be an integer >= 0, got {self.samples!r}")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise CrawlError(f"concurrency: must be an integer >= 1, got {self.concurrency!r}")
        if self.rate < 0:
            raise CrawlError(f"rate: must be >= 0 requests per second (0: no limit), got {self.rate!r}")
        if self.timeout <= 0:
            raise CrawlError(f"timeout: must be > 0 seconds, got {self.timeout!r}")
        if not isinstance(self.retries, int) or self.retries < 0:
            raise CrawlError(f"retries: must be an integer >= 0, got {self.retries!r}")
        for name in ("min_success", "min_quality"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise CrawlError(f"{name}: must be a share between 0 and 1, got {getattr(self, name)!r}")
        if self.max_p95_latency < 0:
            raise CrawlError(f"max_p95_latency: must be >= 0 seconds (0 disables it), got {self.max_p95_latency!r}")
        if self.schema_style not in SCHEMA_STYLES:
            raise CrawlError(f"schema_style: {self.schema_style!r} unknown; use one of {', '.join(SCHEMA_STYLES)}")


# -- planning calls (pure, seeded) ----------------------------------------------------------------------

@dataclass
class PlannedCall:
    kind: str  # "example" | "sample"
    args: dict[str, Any]


def example_value(schema: Any, name: str, sampler: Any) -> Any:
    """A value for ``schema`` built from its documented examples, down nested objects and lists (``examples``,
    ``default``, ``example``, ``const``, the first enum value); a part without any is drawn by ``sampler``."""
    if not isinstance(schema, dict):
        return sampler.value(schema, name)
    for key in ("examples", "default", "example", "const"):
        if key in schema:
            value = schema[key]
            if key != "examples":
                return value
            if isinstance(value, list) and value:
                return value[0]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key, []) if isinstance(b, dict) and b.get("type") != "null"]
        if branches:
            rest = {k: v for k, v in schema.items() if k != key}
            return example_value({**rest, **branches[0]}, name, sampler)
    props = schema.get("properties")
    if schema.get("type") == "object" or isinstance(props, dict):
        props = props or {}
        return {k: example_value(props.get(k, {}), k, sampler) for k in schema.get("required", []) if k in props}
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return [example_value(schema["items"], name, sampler) for _ in range(max(1, schema.get("minItems", 1)))]
    return sampler.value(schema, name)


def example_arguments(api: Api, sampler: Any) -> dict[str, Any]:
    """ToolBench's example call: each required parameter's documented example (its ``default``, its schema's
    examples, nested ones included); drawn values where the documentation has none."""
    args = {}
    for p in api.required_params:
        schema = param_schema_for_sampling(p)
        value = p.default if p.default not in ("", None) else example_value(schema, p.name, sampler)
        args[p.name] = value if is_valid(value, schema) else sampler.param_value(p)
    if validate_arguments(api, args):
        exemplary = ValueSampler(sampler.rng, example_rate=1.0, identifier_example_rate=1.0, optional_rate=0.0,
                                 today=sampler.today)
        return exemplary.arguments(api)
    return args


def plan_calls(api: Api, samples: int, seed: int, today: Any = None) -> list[PlannedCall]:
    """The example call and up to ``samples`` distinct sampled calls of ``api``. An API whose arguments
    cannot be sampled gets what could be drawn (at least the example call, with whatever examples exist)."""
    rng = random.Random(f"{seed}:{api.tool}:{api.name}")
    sampler = ValueSampler(rng, today=today)
    try:
        first = example_arguments(api, sampler)
    except ValueSamplingError:
        first = {p.name: p.default for p in api.required_params if p.default not in ("", None)}
    calls = [PlannedCall("example", first)]
    seen = {canonical_json(first)}
    for _ in range(samples * 4):
        if len(calls) > samples:
            break
        try:
            args = sampler.arguments(api)
        except ValueSamplingError:
            continue
        key = canonical_json(args)
        if key not in seen:
            seen.add(key)
            calls.append(PlannedCall("sample", args))
    return calls


# -- judging answers (pure) -----------------------------------------------------------------------------

_ERRORISH = re.compile(r"\b(error|errors|not found|invalid|exceeded|unauthori[sz]ed|forbidden|not subscribed|"
                       r"does not exist|failed|blocked|unavailable|no data)\b", re.IGNORECASE)
_ERROR_KEYS = {"message", "error", "errors", "detail", "msg", "status", "code", "success", "status_code"}


def _has_content(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return False
    if isinstance(value, dict):
        return any(_has_content(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_content(v) for v in value)
    return True


def informative(text: str) -> bool:
    """Whether a 2xx body says something: non-empty JSON (or text) that is not an error message."""
    text = (text or "").strip()
    if not text:
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return not _ERRORISH.search(text[:300])
    if not _has_content(value):
        return False
    if isinstance(value, dict) and set(value) <= _ERROR_KEYS:
        return not any(isinstance(v, str) and _ERRORISH.search(v) for v in value.values())
    return True


def answered(status: int | None, kind: str) -> bool:
    """The API itself replied: 2xx with a valid body, or its own 4xx (not 401/403/408/429)."""
    return cacheable(Observation(error=f"{kind}: x" if kind else "", status=status))


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


# -- state ----------------------------------------------------------------------------------------------

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
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
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


# -- running --------------------------------------------------------------------------------------------

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


@dataclass
class CrawlTarget:
    """Where and how to call the catalog's APIs (the executor's side of a crawl)."""

    base_url_overrides: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    env: dict[str, str] | None = None  # None: the process environment
    # Tools whose APIs each get their own key, "<key>.<api>": on a sandbox that keeps state per key (the hub),
    # every API then starts from the same seeded state, so results do not depend on which API ran first.
    isolated_tools: frozenset[str] = frozenset()


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


# -- the report (pure) ----------------------------------------------------------------------------------

def summarize_api(api: Api, rec: ApiRecord | None, config: CrawlConfig) -> dict[str, Any]:
    """One API's row of the report, with the keep/drop decision and its reasons."""
    row: dict[str, Any] = {"tool": api.tool, "api": api.name, "category": api.category}
    if rec is None:
        return {**row, "crawled": False, "alive": False, "keep": False, "reasons": ["not crawled yet"]}
    calls = rec.calls
    n = len(calls)
    n_answered = sum(answered(c.status, c.error_kind) for c in calls)
    ok = [c for c in calls if c.error_kind == "" and c.status is not None and 200 <= c.status < 300]
    errors = Counter(c.error_kind for c in calls if c.error_kind)
    timed = [c.latency for c in calls if c.status is not None or c.error_kind == TIMEOUT]
    p50, p95 = percentile(timed, 50), percentile(timed, 95)
    success = len(ok) / n if n else 0.0
    quality = sum(c.informative for c in ok) / len(ok) if ok else 0.0
    alive = n_answered > 0
    reasons = []
    if not alive:
        reasons.append(f"dead ({errors.most_common(1)[0][0] if errors else 'no answer'})")
    if success < config.min_success:
        reasons.append(f"success {success:.0%} < {config.min_success:.0%}")
    if config.max_p95_latency and p95 is not None and p95 > config.max_p95_latency:
        reasons.append(f"p95 {p95:.2f} s > {config.max_p95_latency:g} s")
    if ok and quality < config.min_quality:
        reasons.append(f"quality {quality:.0%} < {config.min_quality:.0%}")
    return {**row, "crawled": True, "host": rec.host.rpartition("@")[2], "calls": n, "answered": n_answered, "ok": len(ok),
            "alive": alive, "error_kind": errors.most_common(1)[0][0] if errors else "",
            "errors": dict(sorted(errors.items())), "statuses": dict(sorted(Counter(
                str(c.status) if c.status is not None else "none" for c in calls).items())),
            "latency_p50": None if p50 is None else round(p50, 4),
            "latency_p95": None if p95 is None else round(p95, 4),
            "success_rate": round(success, 4), "quality": round(quality, 4),
            "keep": not reasons, "reasons": reasons,
            "schema_source": rec.schema_source, "inferred_schema": rec.schema,
            "example_args": calls[0].args if calls else {}}


def build_report(tools: list[Tool], records: dict[tuple[str, str], ApiRecord], config: CrawlConfig) -> dict[str, Any]:
    """The crawl report over every API of ``tools`` (pure: state and thresholds in, report out)."""
    rows = [summarize_api(api, records.get((api.tool, api.name)), config) for tool in tools for api in tool.apis]
    by_tool: dict[str, list[dict]] = {}
    for row in rows:
        by_tool.setdefault(row["tool"], []).append(row)
    tool_rows = [{"tool": t.name, "category": t.category, "apis": len(by_tool.get(t.name, [])),
                  "kept_apis": sum(r["keep"] for r in by_tool.get(t.name, [])),
                  "keep": any(r["keep"] for r in by_tool.get(t.name, []))} for t in tools]
    crawled = [r for r in rows if r["crawled"]]
    latencies = [r["latency_p50"] for r in crawled if r.get("latency_p50") is not None]
    kinds = Counter()
    for r in crawled:
        kinds.update(r["errors"])
    summary = {
        "apis": len(rows), "crawled": len(crawled), "alive": sum(r["alive"] for r in rows),
        "kept_apis": sum(r["keep"] for r in rows), "tools": len(tool_rows),
        "kept_tools": sum(t["keep"] for t in tool_rows), "calls": sum(r.get("calls", 0) for r in crawled),
        "error_kinds": dict(sorted(kinds.items())),
        "median_api_p50": None if not latencies else round(percentile(latencies, 50), 4),
        "schemas_inferred": sum(r.get("schema_source") == "inferred" for r in crawled),
        "toolbench": {"tools": TOOLBENCH_TOOLS_TOTAL, "kept_tools": TOOLBENCH_TOOLS_KEPT,
                      "kept_share": round(TOOLBENCH_TOOLS_KEPT / TOOLBENCH_TOOLS_TOTAL, 4)},
    }
    summary["kept_tool_share"] = round(summary["kept_tools"] / summary["tools"], 4) if tool_rows else 0.0
    thresholds = {"min_success": config.min_success, "max_p95_latency": config.max_p95_latency,
                  "min_quality": config.min_quality}
    return {"summary": summary, "thresholds": thresholds, "config": asdict(config), "tools": tool_rows, "apis": rows}


def _fmt_latency(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def report_table_rows(report: dict[str, Any]) -> list[list[str]]:
    """The report's per-API table as text cells (for Markdown and the terminal)."""
    out = []
    for r in report["apis"]:
        if not r["crawled"]:
            out.append([r["tool"], r["api"], "-", "-", "-", "-", "-", "-", "not crawled"])
            continue
        out.append([r["tool"], r["api"], "alive" if r["alive"] else "dead", r["error_kind"] or "-",
                    f"{r['ok']}/{r['calls']}", _fmt_latency(r["latency_p50"]), _fmt_latency(r["latency_p95"]),
                    f"{r['quality']:.0%}", "keep" if r["keep"] else "drop: " + "; ".join(r["reasons"])])
    return out


TABLE_HEADER = ["tool", "api", "status", "error kind", "ok/calls", "p50", "p95", "quality", "decision"]


def summary_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    tb = s["toolbench"]
    return (f"kept {s['kept_tools']} of {s['tools']} tools ({s['kept_tool_share']:.0%}) and {s['kept_apis']} of "
            f"{s['apis']} APIs; {s['alive']} APIs alive; {s['calls']} calls; {s['schemas_inferred']} response "
            f"schemas inferred (ToolBench kept {tb['kept_tools']:,} of {tb['tools']:,} tools, {tb['kept_share']:.0%})")


def report_markdown(report: dict[str, Any]) -> str:
    th = report["thresholds"]
    lines = ["# Crawl report", "", summary_line(report) + ".", "",
             (f"Thresholds: success >= {th['min_success']:.0%}, p95 latency <= {th['max_p95_latency']:g} s "
              f"(0: off), quality >= {th['min_quality']:.0%}."), ""]
    kinds = report["summary"]["error_kinds"]
    if kinds:
        lines += ["Error kinds over all calls: " + ", ".join(f"{k} {v}" for k, v in kinds.items()) + ".", ""]
    lines += ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
    for cells in report_table_rows(report):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def kept_catalog(tools: list[Tool], report: dict[str, Any]) -> list[Tool]:
    """The kept tools with their kept APIs only, inferred response schemas filled in where there was none."""
    rows = {(r["tool"], r["api"]): r for r in report["apis"]}
    out = []
    for tool in tools:
        apis = []
        for api in tool.apis:
            row = rows.get((api.tool, api.name))
            if not row or not row["keep"]:
                continue
            if not api.response_schema and row.get("inferred_schema") is not None:
                api = replace(api, response_schema=row["inferred_schema"])
            apis.append(api)
        if apis:
            out.append(replace(tool, apis=apis))
    return out


def write_outputs(report: dict[str, Any], tools: list[Tool], run: Path, config: CrawlConfig) -> None:
    """``report.json``, ``report.md`` and the kept catalog ``tools/`` in the run folder."""
    import shutil

    from toolbench.catalog.store import write_json_atomic, write_tool

    write_json_atomic(run / "report.json", report)
    (run / "report.md").write_text(report_markdown(report), encoding="utf-8")
    folder = run / "tools"
    if folder.exists():
        shutil.rmtree(folder)
    for tool in kept_catalog(tools, report):
        write_tool(tool, folder)


def print_report(report: dict[str, Any], console: Any = None) -> None:
    """The per-API table and the summary, on the terminal (rich)."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:  # a pipe or a file: rich would wrap at 80 columns
            console = Console(width=180)
    table = Table(*TABLE_HEADER, title="crawl report", show_lines=False)
    for cells in report_table_rows(report):
        style = "green" if cells[-1] == "keep" else "red" if cells[2] == "dead" else "yellow"
        table.add_row(*cells, style=style)
    console.print(table)
    console.print(summary_line(report))


def load_tools(catalog: str | Path, only: Iterable[str] = ()) -> list[Tool]:
    """The tools of a catalog folder (optionally only the named ones); a catalog with errors is refused."""
    from toolbench.catalog.store import load_catalog

    cat = load_catalog(catalog)
    if cat.errors:
        raise CrawlError(f"{catalog}: the catalog has errors; fix them first (`toolbench catalog check`):\n"
                         + "\n".join(str(p) for p in cat.errors[:10]))
    wanted = set(only)
    tools = [t for t in cat.tools if not wanted or t.name in wanted or t.standardized_name in wanted]
    if wanted and not tools:
        raise CrawlError(f"--tool: none of {sorted(wanted)} is in {catalog}")
    return tools
