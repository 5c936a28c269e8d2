"""``toolbench crawl``: call every API of a catalog, record its answers, report which APIs to keep."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

HUB_KEY = "toolbench-crawl"  # any key opens the sandbox hub; its state (orders, tickets) is kept per key


def crawl(
    catalog: Annotated[Path, typer.Argument(help="Catalog folder (ToolBench tool files), e.g. data/tools.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder: state, cache, report, kept catalog.")],
    hub_url: Annotated[str | None, typer.Option(
        help="Call the sandbox hub at this URL instead of the catalog's http://127.0.0.1:8750. The hub's tools get "
             "a sandbox key unless $TOOLBENCH_API_KEY is set, and a key per API so each starts from the seed.")
    ] = None,
    samples: Annotated[int, typer.Option(help="Sampled valid calls per API, besides the example call.")] = 3,
    concurrency: Annotated[int, typer.Option(help="APIs crawled at once.")] = 8,
    rate: Annotated[float, typer.Option(help="Requests per second per host at most (0: no limit).")] = 0.0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for one answer.")] = 10.0,
    retries: Annotated[int, typer.Option(help="Retries on 429/5xx/connection errors (0: measure as is).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the sampled arguments.")] = 0,
    min_success: Annotated[float, typer.Option(help="Keep an API if at least this share of calls answered 2xx.")
                           ] = 0.25,
    max_p95: Annotated[float, typer.Option(help="Keep an API if its p95 latency is at most this many seconds "
                                                "(0: no limit).")] = 5.0,
    min_quality: Annotated[float, typer.Option(help="Keep an API if at least this share of its 2xx answers is "
                                                    "informative (non-empty, not an error message).")] = 0.5,
    schema_style: Annotated[str, typer.Option(help="Inferred response schemas as json (JSON Schema) or template "
                                                   "(ToolBench template_response).")] = "json",
    cache: Annotated[Path | None, typer.Option(help="Response cache to record into (default: OUT/cache.sqlite).")
                     ] = None,
    tool: Annotated[list[str] | None, typer.Option("--tool", help="Crawl only this tool (repeatable).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Call each API with its example arguments and a few sampled valid ones, record the answers in a response
    cache, infer response schemas the catalog lacks, and report per API: alive/dead, error kind, latency
    p50/p95 and the keep/drop decision (ToolBench kept 3,451 of 10,853 tools).

    Writes OUT/report.json, OUT/report.md and OUT/tools/ (the kept tools, inferred schemas filled in) and
    prints the table. Rerunning with the same OUT resumes: APIs already crawled are skipped (new thresholds
    apply to them without calling again).

    Examples:

      toolbench hub serve --port 8750 &   toolbench crawl data/tools --out runs/crawl

      toolbench crawl data/tools --out runs/crawl --hub-url http://127.0.0.1:9000 --rate 20 --max-p95 1
    """
    from toolbench.crawl import CrawlConfig, CrawlTarget, load_tools, print_report
    from toolbench.crawl import crawl as run_crawl
    from toolbench.hub.settings import PUBLIC_URL

    config = CrawlConfig(samples=samples, concurrency=concurrency, rate=rate, timeout=timeout, retries=retries,
                         seed=seed, min_success=min_success, max_p95_latency=max_p95, min_quality=min_quality,
                         schema_style=schema_style)
    tools = load_tools(catalog, tool or ())
    target = CrawlTarget()
    if hub_url:
        target.base_url_overrides = {PUBLIC_URL: hub_url.rstrip("/")}
    hub_tools = [t for t in tools if t.base_url.startswith(PUBLIC_URL)]  # the sandbox hub's own catalog
    if hub_tools:
        target.isolated_tools = frozenset(t.name for t in hub_tools)  # state per key: each API from the seed
        key = os.environ.get("TOOLBENCH_API_KEY") or HUB_KEY
        target.credentials = {t.standardized_name: key for t in hub_tools}
    report = run_crawl(tools, out, config, target, cache_path=cache, progress=progress)
    print_report(report)
    typer.echo(f"wrote {out / 'report.json'}, {out / 'report.md'} and the kept catalog {out / 'tools'}")
