"""``toolbench crawl``: call every API of a catalog, record its answers, report which APIs to keep."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolbench.config import options
from toolbench.crawl.config import CrawlRunConfig  # light: the options are built from it

CONFIG_HELP = "YAML/TOML/JSON file of the crawl's fields (CrawlRunConfig, its crawl settings flat or under 'crawl')."
SET_HELP = "field=value (a YAML value) over the --config file, e.g. --set samples=5; repeatable."


@options(CrawlRunConfig, skip=("catalog",))
def crawl(
    settings: dict,  # one option per CrawlRunConfig / CrawlConfig field
    catalog: Annotated[Path | None, typer.Argument(help="Catalog folder (ToolBench tool files), e.g. data/tools; "
                                                        "optional with --config.")] = None,
    config: Annotated[Path | None, typer.Option(help=CONFIG_HELP)] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
) -> None:
    """Call each API with its example arguments and a few sampled valid ones, record the answers in a response
    cache, infer response schemas the catalog lacks, and report per API: alive/dead, error kind, latency
    p50/p95 and the keep/drop decision (ToolBench kept 3,451 of 10,853 tools).

    Writes OUT/report.json, OUT/report.md and OUT/tools/ (the kept tools, inferred schemas filled in) and
    prints the table. Rerunning with the same OUT resumes: APIs already crawled are skipped (new thresholds
    apply to them without calling again). Settings come from the defaults, then --config, then --set, then the
    options given.

    Examples:

      toolbench hub serve --port 8750 &   toolbench crawl data/tools --out runs/crawl

      toolbench crawl data/tools --out runs/crawl --hub-url http://127.0.0.1:9000 --rate 20 --max-p95 1

      toolbench crawl --config crawl.yaml --set samples=5
    """
    from toolbench.config import from_command
    from toolbench.crawl import CrawlConfigError, print_report, run

    cfg = from_command(CrawlRunConfig, settings, config, set_, error=CrawlConfigError, example="samples=5",
                       catalog=str(catalog) if catalog is not None else None)
    report = run(cfg)
    print_report(report)
    out = Path(cfg.out)
    typer.echo(f"wrote {out / 'report.json'}, {out / 'report.md'} and the kept catalog {out / 'tools'}")
