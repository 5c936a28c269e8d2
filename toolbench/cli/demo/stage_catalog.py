"""The demo's first stages, on the sandbox hub: import its catalog (``toolbench catalog import-openapi``), crawl
it (``toolbench crawl``) and compress the crawled responses (``toolbench compress``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolbench.cli.demo import stage_common as common
from toolbench.cli.demo.stage_runner import DemoContext, StageOutput
from toolbench.formats.atomic import atomic_dir

COMMITTED_CATALOG = Path("data/tools")  # relative to the current directory; absent: no comparison


def stage_catalog(ctx: DemoContext) -> StageOutput:
    """Import the hub's tools from the OpenAPI documents it publishes, as `catalog import-openapi` would."""
    import httpx

    from toolbench.catalog.compare import compare_catalogs
    from toolbench.catalog.openapi import import_openapi
    from toolbench.catalog.store import load_catalog, write_tool

    hub = ctx.services.hub()
    tools = []
    with httpx.Client(timeout=30.0) as client:
        for slug in hub.slugs:
            response = client.get(f"{hub.url}/openapi/{slug}.json")
            response.raise_for_status()
            tools.append(import_openapi(response.json()))
    target = ctx.path("catalog")
    with atomic_dir(target, clear_leftovers=True) as folder:
        for tool in tools:
            write_tool(tool, folder)
    catalog = load_catalog(target)
    # the committed catalog, where the demo is run from (the repository): `toolbench catalog compare` does the same
    same = compare_catalogs(target, COMMITTED_CATALOG).same if COMMITTED_CATALOG.is_dir() else None
    figures = {"tools": len(catalog.tools), "apis": len(catalog.apis()), "categories": len(catalog.categories()),
               "same_as_data_tools": same}
    note = f"{figures['tools']} tools, {figures['apis']} APIs in {figures['categories']} categories from {hub.url}"
    if same is not None:
        note += "; identical to data/tools" if same else "; differs from data/tools (stale? see docs/catalog.md)"
    return StageOutput(figures, {"catalog": str(target)}, note)


def crawl_config(ctx: DemoContext) -> Any:
    """``toolbench crawl``'s config: the imported catalog crawled on the demo's hub into ``crawl/``."""
    from toolbench.crawl import CrawlConfig, CrawlRunConfig

    return CrawlRunConfig(catalog=str(ctx.path("catalog")), out=str(ctx.path("crawl")),
                          hub_url=ctx.services.hub().url,
                          crawl=CrawlConfig(samples=ctx.profile.crawl_samples, seed=ctx.profile.seed))


def stage_crawl(ctx: DemoContext) -> StageOutput:
    """``toolbench crawl`` (:func:`toolbench.crawl.run`) with the demo's one sandbox key for every API: the hub
    state the crawl leaves is the one the call-data stage starts from, as it always was (the command gives each
    API its own key instead; switching the demo to that changes its later figures)."""
    from toolbench.crawl import CrawlTarget, load_tools, run

    cfg = crawl_config(ctx)
    tools = load_tools(cfg.catalog)
    report = run(cfg, target=CrawlTarget(base_url_overrides=common.hub_overrides(tools, ctx.services.hub().url),
                                         credentials=common.credentials()))
    summary = report["summary"]
    figures = {key: summary.get(key) for key in ("apis", "alive", "kept_apis", "tools", "kept_tools", "calls",
                                                  "median_api_p50", "schemas_inferred")}
    note = (f"{summary['alive']}/{summary['apis']} APIs alive, {summary['kept_apis']} kept; median p50 "
            f"{summary.get('median_api_p50')} s")
    return StageOutput(figures, {"crawl report": str(ctx.path("crawl", "report.md")),
                                 "kept catalog": str(ctx.path("crawl", "tools")),
                                 "response cache": str(ctx.path("crawl", "cache.sqlite"))}, note)


def compress_config(ctx: DemoContext) -> Any:
    """``toolbench compress``'s config: the crawl's response cache against the working catalog, cut to the
    profile's observation size, the report into ``compress/report.json``."""
    from toolbench.compress import CompressConfig, CompressRunConfig

    return CompressRunConfig(cache=str(ctx.path("crawl", "cache.sqlite")), catalog=str(common.working_catalog(ctx)),
                             compress=CompressConfig(max_total_chars=ctx.profile.observation_chars),
                             out=str(ctx.path("compress", "report.json")))


def stage_compress(ctx: DemoContext) -> StageOutput:
    """``toolbench compress`` (:func:`toolbench.compress.run`) with :func:`compress_config`."""
    from toolbench.compress import run

    cfg = compress_config(ctx)
    report = run(cfg).report
    path = cfg.out
    overall = report["overall"]
    figures = {"responses": overall["responses"], "original_chars": overall["original_chars"],
               "compressed_chars": overall["compressed_chars"], "ratio": overall["ratio"]}
    return StageOutput(figures, {"compression report": path},
                       f"{overall['responses']} responses, {overall['original_chars']:,} -> "
                       f"{overall['compressed_chars']:,} chars (ratio {overall['ratio']:.3f})")
