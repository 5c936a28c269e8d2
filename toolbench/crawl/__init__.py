"""The crawler: call every API of a catalog, record what it answers, and decide which APIs to keep.

ToolBench crawled RapidAPI and kept 3,451 of 10,853 tools: the ones that worked, answered fast enough and said
something useful. ``toolbench crawl CATALOG --out RUN`` (:func:`run` with a :class:`CrawlRunConfig`) does the same for any
catalog:

- **calls** (:func:`plan_calls` in :mod:`.plan`, pure and seeded): per API one *example* call (each required
  parameter's documented example or default, a sampled value where there is none) and ``samples`` distinct
  sampled valid calls, drawn by :class:`toolbench.catalog.values.ValueSampler`;
- **running** (:mod:`.crawler`): through the :class:`~toolbench.executor.Executor` (async), ``concurrency`` APIs at a
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

import importlib
from typing import Any

# name -> submodule: loaded on first use, so that `toolbench --help` (which builds `toolbench crawl`'s options from
# the light .config) does not import the executor and httpx.
_NAMES = {
    "answers": ("answered", "informative", "percentile"),
    "config": ("HUB_KEY", "SCHEMA_STYLES", "CrawlConfig", "CrawlConfigError", "CrawlError", "CrawlRunConfig",
               "CrawlTarget", "load_tools"),
    "plan": ("PlannedCall", "example_arguments", "example_value", "plan_calls"),
    "report": ("TABLE_HEADER", "TOOLBENCH_TOOLS_KEPT", "TOOLBENCH_TOOLS_TOTAL", "build_report", "kept_catalog",
               "print_report", "report_markdown", "report_table_rows", "summarize_api", "summary_line",
               "write_outputs"),
    "crawler": ("MAX_ERROR_CHARS", "HostRateLimiter", "crawl", "hub_target", "run"),
    "store": ("STATE_SCHEMA", "ApiRecord", "CallRecord", "CrawlStore"),
}
_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}
__all__ = sorted(_MODULE_OF)  # noqa: PLE0605 - a list, built from the table above


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'toolbench.crawl' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"toolbench.crawl.{module}"), name)
    globals()[name] = value
    return value
