"""``toolbench demo``: the main job on embedded defaults (what ``make demo`` runs).

Today it imports the real ToolBench/StableToolBench tools committed under ``data/reference`` into a catalog
and prints its summary; later stages (hub, crawl, generation, annotation, training, evaluation) join it.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def demo(
    data: list[Path] = typer.Option(
        [Path("data/reference/toolbench/instruction"), Path("data/reference/stabletoolbench/G1_instruction.json")],
        help="ToolBench query/tool files or folders to import (repeat the option for several)."),
    out: Path = typer.Option(Path("runs/demo"), help="Run folder; the catalog goes to <out>/catalog."),
) -> None:
    """Run the main job on embedded defaults (no network) and print where every artefact is.

    Example: toolbench demo --out runs/demo
    """
    from toolbench.catalog.checks import validate_catalog
    from toolbench.catalog.importer import import_toolbench
    from toolbench.catalog.store import load_catalog

    console = Console()
    catalog_dir = out / "catalog"
    console.rule("1. Catalog: import the real ToolBench tools")
    problems_seen, queries, files = [], 0, 0
    for source in data:
        report = import_toolbench(source, catalog_dir)
        problems_seen += report.problems
        queries += report.queries
        files += report.files
    catalog = load_catalog(catalog_dir)
    n_tools, problems = validate_catalog(catalog_dir)
    table = Table("category", "tools", "APIs", title=f"Catalog at {catalog_dir}")
    by_cat: dict[str, list[int]] = {}
    for tool in catalog.tools:
        row = by_cat.setdefault(tool.category or "Uncategorized", [0, 0])
        row[0] += 1
        row[1] += len(tool.apis)
    for cat, (tools, apis) in sorted(by_cat.items(), key=lambda kv: -kv[1][1]):
        table.add_row(cat, str(tools), str(apis))
    console.print(table)
    errors = [p for p in problems_seen + problems if p.severity == "error"]
    warnings = [p for p in problems_seen + problems if p.severity != "error"]
    console.print(f"{queries} queries from {files} files -> {n_tools} tools, "
                  f"{len(catalog.apis())} APIs in {len(by_cat)} categories; "
                  f"{len(errors)} error(s), {len(warnings)} warning(s) "
                  f"(details: toolbench catalog validate {catalog_dir})")
    console.rule("Artefacts")
    console.print(f"catalog: {catalog_dir}")
