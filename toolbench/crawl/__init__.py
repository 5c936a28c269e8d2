"""The crawler: call every API of a catalog, record what it answers, and decide which APIs to keep.

ToolBench crawled RapidAPI and kept 3,451 of 10,853 tools: the ones that worked, answered fast enough and said
something useful. ``toolbench crawl CATALOG --out RUN`` (:func:`run` with a :class:`CrawlRunConfig`) does the same for any
catalog:

- **calls** (:func:`plan_calls` in :mod:`.plan`, pure and seeded): per API one *example* call (each required
  parameter's documented example or default, a sampled value where there is none) and ``samples`` distinct
  sampled valid calls, drawn by :class:`toolbench.catalog.values.ValueSampler`;
- **running** (:mod:`.run`): through the :class:`~toolbench.executor.Executor` (async), ``concurrency`` APIs at a
  time (the calls of one API in order), at most ``rate`` requests per second per host; every replayable answer
  goes to the response cache (``RUN/cache.sqlite`` unless told otherwise);
- **state** (``RUN/crawl.sqlite``, :class:`CrawlStore` in :mod:`.store`): an API's calls and inferred schema are
  written in one transaction when its last call returns, so a crawl that is stopped (Ctrl-C, kill -9) resumes by
  skipping the APIs already done; an API cut mid-way is crawled again;
- **response schemas** (:mod:`toolbench.response_schema`) inferred from the JSON answers where the catalog has
  none, as JSON Schema or as a ToolBench template;
- **report** (:func:`build_report` in :mod:`.report`, pure, from the state, so thresholds can change without a
  new crawl): per API alive/dead, the main error kind, latency p50/p95, success rate, response quality and the keep/drop
  decision with its reasons; per tool kept when one of its APIs is. Written as ``RUN/report.json``,
  ``RUN/report.md`` and printed as a table; the kept tools (with inferred schemas filled in) are written as a
  ToolBench tool folder, ``RUN/tools/``.

Definitions used by the report: a call is *answered* when the API itself replied (2xx, or its own 4xx such as
404 or 409; not 401/403/429, not 5xx, not a timeout or a broken body); *ok* when it replied 2xx with a valid
body; a 2xx body is *informative* (:func:`informative` in :mod:`.answers`) when it is non-empty and not an error
message.

Settings and the catalog read are in :mod:`.config`; every name other modules use is importable from
``toolbench.crawl``.
"""

from __future__ import annotations

from toolbench.crawl.answers import answered, informative, percentile
from toolbench.crawl.config import (
    HUB_KEY,
    SCHEMA_STYLES,
    CrawlConfig,
    CrawlConfigError,
    CrawlError,
    CrawlRunConfig,
    CrawlTarget,
    load_tools,
)
from toolbench.crawl.plan import PlannedCall, example_arguments, example_value, plan_calls
from toolbench.crawl.report import (
    TABLE_HEADER,
    TOOLBENCH_TOOLS_KEPT,
    TOOLBENCH_TOOLS_TOTAL,
    build_report,
    kept_catalog,
    print_report,
    report_markdown,
    report_table_rows,
    summarize_api,
    summary_line,
    write_outputs,
)
from toolbench.crawl.run import MAX_ERROR_CHARS, HostRateLimiter, crawl, hub_target, run
from toolbench.crawl.store import STATE_SCHEMA, ApiRecord, CallRecord, CrawlStore

__all__ = [
    "HUB_KEY",
    "MAX_ERROR_CHARS",
    "SCHEMA_STYLES",
    "STATE_SCHEMA",
    "TABLE_HEADER",
    "TOOLBENCH_TOOLS_KEPT",
    "TOOLBENCH_TOOLS_TOTAL",
    "ApiRecord",
    "CallRecord",
    "CrawlConfig",
    "CrawlConfigError",
    "CrawlError",
    "CrawlRunConfig",
    "CrawlStore",
    "CrawlTarget",
    "HostRateLimiter",
    "PlannedCall",
    "answered",
    "build_report",
    "crawl",
    "example_arguments",
    "example_value",
    "hub_target",
    "informative",
    "kept_catalog",
    "load_tools",
    "percentile",
    "plan_calls",
    "print_report",
    "report_markdown",
    "report_table_rows",
    "run",
    "summarize_api",
    "summary_line",
    "write_outputs",
]
