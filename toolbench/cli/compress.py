"""``toolbench compress``: how much schema-based compression shrinks the responses recorded in a cache, and
(``--propose-schema``) an LLM's proposal of a tighter schema per API. The command is
:func:`toolbench.compress.run` with a :class:`~toolbench.compress.CompressRunConfig`, its options built from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolbench.compress import CompressRunConfig  # light: the options are built from it
from toolbench.config import options


@options(CompressRunConfig, skip=("cache",))
def compress(
    settings: dict,  # one option per CompressRunConfig / CompressConfig field
    cache: Annotated[Path | None, typer.Argument(help="SQLite response cache (from the executor or a crawl); "
                                                      "or the config's 'cache'.", show_default=False)] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/TOML/JSON file of CompressRunConfig fields (the cuts' "
                                                     "settings flat or under 'compress').")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="field=value (a YAML value) over the --config "
                                                   "file, e.g. --set max_total_chars=1024; repeatable.")] = None,
) -> None:
    """Report the compression ratio per API and overall for the responses in CACHE.

    With --propose-schema, an LLM proposes a compressed schema per API; proposals are written to a file and the
    report compares the catalog's schemas with them. Settings come from the defaults, then --config, then --set,
    then the options given.

    Examples:

      toolbench compress runs/crawl/cache.sqlite --catalog data/tools --max-total-chars 1024

      toolbench compress runs/crawl/cache.sqlite --propose-schema --base-url http://127.0.0.1:8000/v1

      toolbench compress runs/crawl/cache.sqlite --schemas runs/crawl/cache.sqlite.schemas.json

      toolbench compress --config compress.yaml --set max_list_items=3 -o runs/compress/report.json
    """
    from toolbench.compress import CompressConfigError, run
    from toolbench.config import from_command

    cfg = from_command(CompressRunConfig, settings, config, set_, error=CompressConfigError,
                       example="max_total_chars=1024", cache=str(cache) if cache is not None else None)
    result = run(cfg)
    if cfg.propose_schema:
        for p in result.proposals:
            note = p.error or (f"dropped unknown keys {', '.join(p.dropped_keys)}" if p.dropped_keys else "ok")
            typer.echo(f"proposed {p.tool}/{p.api}: {note}")
        typer.echo(f"wrote {len(result.proposals)} proposals to {result.proposals_file}")
    report = result.report
    for row in report["apis"]:
        extra = f"  proposed {row['proposed_ratio']:.3f}" if "proposed_ratio" in row else ""
        typer.echo(f"{row['tool']:24s} {row['api']:32s} {row['responses']:5d} responses  "
                   f"{row['original_chars']:9d} -> {row['compressed_chars']:9d} chars  ratio {row['ratio']:.3f}"
                   + extra)
    o = report["overall"]
    typer.echo(f"overall: {o['responses']} responses, {o['original_chars']} -> {o['compressed_chars']} chars, "
               f"ratio {o['ratio']:.3f}")
    if "proposed" in report:
        p = report["proposed"]["overall"]
        typer.echo(f"with the proposed schemas: {p['compressed_chars']} chars, ratio {p['ratio']:.3f}")
