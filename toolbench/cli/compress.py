"""``toolbench compress``: how much schema-based compression shrinks the responses recorded in a cache, and
(``--propose-schema``) an LLM's proposal of a tighter schema per API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def compress(
    cache: Annotated[Path, typer.Argument(help="SQLite response cache (from the executor or a crawl).")],
    catalog: Annotated[Path, typer.Option(help="Catalog whose response schemas drive the pruning.")] = Path(
        "data/tools"),
    max_list_items: Annotated[int, typer.Option(help="Items kept per list (0: all).")] = 5,
    max_string_chars: Annotated[int, typer.Option(help="Characters kept per string (0: all).")] = 300,
    max_total_chars: Annotated[int, typer.Option(help="Cap on a whole response (ToolBench: 2048, then 1024).")
                               ] = 2048,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the report as JSON here.")] = None,
    schemas: Annotated[Path | None, typer.Option(
        help="Proposed schemas (a file written by --propose-schema) used instead of the catalog's for the APIs "
             "they cover.")] = None,
    propose_schema: Annotated[bool, typer.Option(
        "--propose-schema", help="Ask an LLM for a compressed response schema per API (checked against the "
                                 "recorded responses).")] = False,
    base_url: Annotated[str | None, typer.Option(
        help="OpenAI-compatible endpoint (.../v1) for --propose-schema, e.g. http://127.0.0.1:8000/v1 "
             "(toolbench llm serve).")] = None,
    model: Annotated[str, typer.Option(help="Model name for --propose-schema.")] = "smollm2-135m-instruct",
    api_key_env: Annotated[str, typer.Option(help="Variable holding the LLM's key.")] = "OPENAI_API_KEY",
    llm_cache: Annotated[Path | None, typer.Option(help="Record/replay cache of the LLM's replies.")] = None,
    schemas_out: Annotated[Path | None, typer.Option(
        help="Where --propose-schema writes its proposals (default: <cache>.schemas.json).")] = None,
) -> None:
    """Report the compression ratio per API and overall for the responses in CACHE.

    With --propose-schema, an LLM proposes a compressed schema per API; proposals are written to a file and the
    report compares the catalog's schemas with them.

    Examples:

      toolbench compress runs/crawl/cache.sqlite --catalog data/tools --max-total-chars 1024

      toolbench compress runs/crawl/cache.sqlite --propose-schema --base-url http://127.0.0.1:8000/v1

      toolbench compress runs/crawl/cache.sqlite --schemas runs/crawl/cache.sqlite.schemas.json
    """
    from toolbench.cache import ResponseCache
    from toolbench.catalog.store import load_catalog
    from toolbench.compress import CompressConfig, compression_report, propose_schemas
    from toolbench.errors import ToolbenchError

    if not cache.exists():
        raise ToolbenchError(f"{cache}: no such cache file; record responses first (executor or crawl)")
    cat = load_catalog(catalog)
    apis = {(t.name, a.name): a for t in cat.tools for a in t.apis}
    catalog_schemas = {key: a.response_schema for key, a in apis.items()}
    config = CompressConfig(max_list_items=max_list_items, max_string_chars=max_string_chars,
                            max_total_chars=max_total_chars)
    entries = list(ResponseCache(cache).entries())
    proposed: dict[tuple[str, str], object] = {}
    if propose_schema:
        from toolbench.llm.factory import make_chat_model

        chat = make_chat_model(model, base_url=base_url, api_key_env=api_key_env, cache_path=llm_cache)
        proposals = propose_schemas(chat, entries, apis)
        target = schemas_out or cache.with_name(cache.name + ".schemas.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"model": model, "proposals": [p.to_dict() for p in proposals]}, indent=2,
                                     ensure_ascii=False) + "\n")
        for p in proposals:
            note = p.error or (f"dropped unknown keys {', '.join(p.dropped_keys)}" if p.dropped_keys else "ok")
            typer.echo(f"proposed {p.tool}/{p.api}: {note}")
        typer.echo(f"wrote {len(proposals)} proposals to {target}")
        proposed = {(p.tool, p.api): p.schema for p in proposals if p.schema is not None}
    elif schemas is not None:
        try:
            data = json.loads(schemas.read_text())
            proposed = {(p["tool"], p["api"]): p["schema"] for p in data["proposals"] if p.get("schema") is not None}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ToolbenchError(f"{schemas}: not a proposals file written by --propose-schema ({exc})") from None
    report = compression_report(entries, catalog_schemas, config)
    if proposed:
        with_proposals = compression_report(entries, {**catalog_schemas, **proposed}, config)
        report["proposed"] = with_proposals
        ratios = {(r["tool"], r["api"]): r for r in with_proposals["apis"]}
        for row in report["apis"]:
            row["proposed_ratio"] = ratios[(row["tool"], row["api"])]["ratio"]
    for row in report["apis"]:
        extra = f"  proposed {row['proposed_ratio']:.3f}" if "proposed_ratio" in row else ""
        typer.echo(f"{row['tool']:24s} {row['api']:32s} {row['responses']:5d} responses  "
                   f"{row['original_chars']:9d} -> {row['compressed_chars']:9d} chars  ratio {row['ratio']:.3f}"
                   + extra)
    o = report["overall"]
    typer.echo(f"overall: {o['responses']} responses, {o['original_chars']} -> {o['compressed_chars']} chars, "
               f"ratio {o['ratio']:.3f}")
    if proposed:
        p = report["proposed"]["overall"]
        typer.echo(f"with the proposed schemas: {p['compressed_chars']} chars, ratio {p['ratio']:.3f}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
