"""``toolbench catalog ...``: import, list, show, validate and compare tool catalogs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Tool catalogs in ToolBench's layout (a folder per category, a JSON file per tool).\n\n"
    "Examples:\n\n"
    "  toolbench catalog import-toolbench data/reference/stabletoolbench/G1_instruction.json --out runs/catalog\n\n"
    "  toolbench catalog import-openapi spec.yaml --out runs/catalog --category Commerce\n\n"
    "  toolbench catalog list runs/catalog\n\n"
    "  toolbench catalog show runs/catalog TheClique --functions\n\n"
    "  toolbench catalog validate runs/catalog\n\n"
    "  toolbench catalog compare runs/demo/catalog data/tools",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)


def _print_problems(problems, limit: int | None = None) -> None:
    shown = problems if limit is None else problems[:limit]
    for problem in shown:
        style = "red" if problem.severity == "error" else "yellow"
        err_console.print(f"[{style}]{problem.severity}[/{style}] {problem}", highlight=False, markup=True,
                          soft_wrap=True)
    if limit is not None and len(problems) > limit:
        err_console.print(f"... and {len(problems) - limit} more (see `toolbench catalog validate`)")


def _report_import(report, out: Path) -> None:
    tools = len(report.tools_written)
    console.print(f"Read {report.files} file(s), {report.queries} queries; wrote {tools} tool file(s) "
                  f"({report.apis_added} new APIs) to {out}")
    _print_problems(report.problems, limit=50)
    if report.errors:
        err_console.print(f"{len(report.errors)} error(s): the entries above were skipped; everything else "
                          "was imported.")
        raise typer.Exit(1)


@app.command("import-toolbench")
def import_toolbench_cmd(
    source: Path = typer.Argument(..., help="A ToolBench tool file, a tools folder (<Category>/<tool>.json), "
                                            "a query file (G1_query.json, G1_instruction.json) or a folder of them."),
    out: Path = typer.Option(..., "--out", "-o", help="Catalog folder to write (created or merged into)."),
    overwrite: bool = typer.Option(False, help="Replace tools already in the catalog instead of merging APIs."),
) -> None:
    """Import ToolBench/StableToolBench tools and query api_lists into a catalog.

    Example: toolbench catalog import-toolbench data/reference/toolbench/instruction --out runs/catalog
    """
    from toolbench.catalog.importer import import_toolbench

    _report_import(import_toolbench(source, out, overwrite=overwrite), out)


@app.command("import-openapi")
def import_openapi_cmd(
    spec: str = typer.Argument(..., help="An OpenAPI 3.0/3.1 document: a JSON or YAML file, or an http(s) URL."),
    out: Path = typer.Option(..., "--out", "-o", help="Catalog folder to write the tool into."),
    category: str = typer.Option(None, help="Category folder (default: x-category, the first tag, or "
                                            "Uncategorized)."),
    tool_name: str = typer.Option(None, "--tool-name", help="Tool name (default: the spec's info.title)."),
) -> None:
    """Import an OpenAPI 3 spec as one tool (an API per operation).

    Example: toolbench catalog import-openapi petstore.yaml --out runs/catalog --category Commerce
    """
    from toolbench.catalog.openapi import import_openapi
    from toolbench.catalog.store import write_tool

    tool = import_openapi(spec, category=category, tool_name=tool_name)
    path = write_tool(tool, out)
    console.print(f"Imported {tool.name!r}: {len(tool.apis)} APIs -> {path}")


@app.command("list")
def list_cmd(
    catalog_dir: Path = typer.Argument(..., help="Catalog folder."),
    category: str = typer.Option(None, help="Only this category."),
) -> None:
    """List the tools of a catalog with their category and number of APIs.

    Example: toolbench catalog list data/tools
    """
    from toolbench.catalog.store import load_catalog

    catalog = load_catalog(catalog_dir)
    table = Table("category", "tool", "APIs", "base URL")
    for tool in sorted(catalog.tools, key=lambda t: (t.category, t.name)):
        if category and tool.category != category:
            continue
        table.add_row(tool.category, tool.name, str(len(tool.apis)), tool.base_url or tool.host or "")
    console.print(table)
    console.print(summary_line(catalog))
    if catalog.problems:
        _print_problems(catalog.problems, limit=10)


def summary_line(catalog) -> str:
    return (f"{len(catalog.tools)} tools, {len(catalog.apis())} APIs, {len(catalog.categories())} categories; "
            f"{len(catalog.errors)} file(s) with errors")


@app.command("show")
def show_cmd(
    catalog_dir: Path = typer.Argument(..., help="Catalog folder."),
    tool: str = typer.Argument(..., help="Tool name or standardized name."),
    api: str = typer.Option(None, help="Only this API."),
    functions: bool = typer.Option(False, "--functions", help="Print the OpenAI tools entries offered to a model."),
) -> None:
    """Show a tool's APIs and parameters, or the function schemas a model is offered.

    Example: toolbench catalog show data/tools weather --functions
    """
    from toolbench.catalog.functions import FunctionSet
    from toolbench.catalog.store import load_catalog

    catalog = load_catalog(catalog_dir)
    try:
        found = catalog.get_tool(tool)
        apis = [found.api(api)] if api else found.apis
    except KeyError as exc:
        err_console.print(f"error: {exc.args[0]}; see `toolbench catalog list {catalog_dir}`")
        raise typer.Exit(2)
    if functions:
        fs = FunctionSet.from_apis(apis, {found.name: found.standardized_name})
        console.print_json(json.dumps(fs.openai_tools()))
        return
    console.print(f"[bold]{found.name}[/bold] ({found.category}) {found.base_url or found.host}")
    if found.description:
        console.print(found.description)
    for item in apis:
        console.print(f"\n[bold]{item.method} {item.name}[/bold]  {item.url}")
        if item.description:
            console.print(f"  {item.description}")
        for param in item.params:
            flag = "required" if param.required else "optional"
            loc = f" in {param.location}" if param.location else ""
            console.print(f"  - {param.name}: {param.type} ({flag}{loc}) {param.description}", highlight=False)


@app.command("validate")
def validate_cmd(catalog_dir: Path = typer.Argument(..., help="Catalog folder.")) -> None:
    """Check every file of a catalog; print every problem with its file and JSON location.

    Exits 1 when any file has an error (warnings alone exit 0).

    Example: toolbench catalog validate data/tools
    """
    from toolbench.catalog.validate_catalog import validate_catalog

    n_tools, problems = validate_catalog(catalog_dir)
    _print_problems(problems)
    errors = [p for p in problems if p.severity == "error"]
    console.print(f"{n_tools} tool(s) loaded; {len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(1)


@app.command("compare")
def compare_cmd(
    first: Annotated[Path, typer.Argument(help="A catalog folder.")],
    second: Annotated[Path, typer.Argument(help="Another catalog folder, e.g. data/tools.")],
) -> None:
    """Whether two catalog folders hold the same tool files; lists those only in one and those that differ.
    Exit status 1 when they differ.

    Example: toolbench catalog compare runs/demo/catalog data/tools
    """
    from toolbench.catalog.compare import compare_catalogs

    diff = compare_catalogs(first, second)
    for label, paths in ((f"only in {first}", diff.only_first), (f"only in {second}", diff.only_second),
                         ("differ", diff.differing)):
        for path in paths:
            console.print(f"{label}: {path}", highlight=False, soft_wrap=True)
    if not diff.same:
        raise typer.Exit(1)
    console.print(f"{first} and {second} hold the same tool files", highlight=False, soft_wrap=True)
