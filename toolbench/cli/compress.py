"""``toolbench compress``: how much schema-based compression shrinks the responses recorded in a cache."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def compress(
    cache: Path = typer.Argument(..., help="SQLite response cache (from the executor or a crawl)."),
    catalog: Path = typer.Option(Path("data/tools"), help="Catalog whose response schemas drive the pruning."),
    max_list_items: int = typer.Option(5, help="Items kept per list (0: all)."),
    max_string_chars: int = typer.Option(300, help="Characters kept per string (0: all)."),
    max_total_chars: int = typer.Option(2048, help="Cap on a whole response (ToolBench: 2048, then 1024)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the report as JSON here."),
) -> None:
    """Report the compression ratio per API and overall for the responses in CACHE.

    Example: toolbench compress runs/crawl/cache.sqlite --catalog data/tools --max-total-chars 1024
    """
    from toolbench.cache import ResponseCache
    from toolbench.catalog.store import load_catalog
    from toolbench.compress import CompressConfig, compression_report
    from toolbench.errors import ToolbenchError

    if not cache.exists():
        raise ToolbenchError(f"{cache}: no such cache file; record responses first (executor or crawl)")
    cat = load_catalog(catalog)
    schemas = {(t.name, a.name): a.response_schema for t in cat.tools for a in t.apis}
    config = CompressConfig(max_list_items=max_list_items, max_string_chars=max_string_chars,
                            max_total_chars=max_total_chars)
    report = compression_report(ResponseCache(cache).entries(), schemas, config)
    for row in report["apis"]:
        typer.echo(f"{row['tool']:24s} {row['api']:32s} {row['responses']:5d} responses  "
                   f"{row['original_chars']:9d} -> {row['compressed_chars']:9d} chars  ratio {row['ratio']:.3f}")
    o = report["overall"]
    typer.echo(f"overall: {o['responses']} responses, {o['original_chars']} -> {o['compressed_chars']} chars, "
               f"ratio {o['ratio']:.3f}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
