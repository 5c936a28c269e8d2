"""Import ToolBench data into a catalog folder: tool files, tool folders, and query files' ``api_list``s.

A source may be a ToolBench tool file, a folder of them (``toolenv/tools/<Category>/<tool>.json``), a query
file (``G1_query.json``, StableToolBench's ``G1_instruction.json``), or a folder mixing them. Each file is
recognised by its content. Tools already in the output catalog are merged: APIs they lack are added, the rest
is left as it was (``overwrite=True`` replaces them instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from toolbench.catalog.store import (
    CatalogError,
    CatalogProblem,
    load_catalog,
    read_json,
    read_queries,
    read_tool_file,
    tools_from_queries,
    write_tool,
)
from toolbench.records import Query, Tool


@dataclass
class ImportReport:
    """What an import did: files read, tools/APIs written, and every problem met."""

    files: int = 0
    queries: int = 0
    tools_written: list[Path] = field(default_factory=list)
    apis_added: int = 0
    problems: list[CatalogProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[CatalogProblem]:
        return [p for p in self.problems if p.severity == "error"]


def _kind(data: object) -> str:
    """'queries', 'tool' or '' for JSON content."""
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data[:5]) and "query" in data[0]:
        return "queries"
    if isinstance(data, dict) and "api_list" in data and ("tool_name" in data or "name" in data):
        return "tool"
    if isinstance(data, dict) and "query" in data and "api_list" in data:
        return "queries"
    return ""


def read_toolbench_source(source: Path | str) -> tuple[list[Tool], list[Query], ImportReport]:
    """Read every tool and query under ``source`` (a file or a folder), collecting problems."""
    source = Path(source)
    report = ImportReport()
    if not source.exists():
        raise CatalogError([CatalogProblem(str(source), "", "no such file or folder")])
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*.json") if p.is_file())
    if not files:
        raise CatalogError([CatalogProblem(str(source), "", "no .json files found")])
    tools: list[Tool] = []
    queries: list[Query] = []
    for path in files:
        report.files += 1
        try:
            kind = _kind(read_json(path))
        except CatalogError as exc:
            report.problems.extend(exc.problems)
            continue
        if kind == "tool":
            category = path.parent.name if path.parent != source and source.is_dir() else ""
            try:
                tools.append(read_tool_file(path, category))
            except CatalogError as exc:
                report.problems.extend(exc.problems)
        elif kind == "queries":
            found, problems = read_queries(path)
            queries.extend(found)
            report.problems.extend(problems)
        else:
            # a file given by name must be importable; in a folder, other JSON files may sit beside the data
            report.problems.append(CatalogProblem(
                str(path), "", "neither a ToolBench tool file (tool_name + api_list) nor a query file "
                               "(a list of entries with query + api_list); skipped",
                "error" if source.is_file() else "warning"))
    report.queries = len(queries)
    if not tools and not queries and not report.errors:
        report.problems.append(CatalogProblem(str(source), "", "nothing to import: no ToolBench tool file or query "
                                                               "file among the .json files"))
    return tools, queries, report


def import_toolbench(source: Path | str, out: Path | str, *, overwrite: bool = False) -> ImportReport:
    """Import the ToolBench tools and query files under ``source`` into the catalog folder ``out``."""
    tools, queries, report = read_toolbench_source(source)
    from_queries, problems = tools_from_queries(queries)
    report.problems.extend(problems)
    by_name: dict[str, Tool] = {}
    for tool in tools + from_queries:  # tool files first: they carry URLs and hosts
        if tool.name in by_name:
            _merge(by_name[tool.name], tool)
        else:
            by_name[tool.name] = tool
    out = Path(out)
    existing = {}
    if out.is_dir():
        catalog = load_catalog(out)
        report.problems.extend(catalog.problems)
        existing = {t.name: t for t in catalog.tools}
    for tool in by_name.values():
        target = existing.get(tool.name)
        if target is not None and not overwrite:
            report.apis_added += _merge(target, tool)
            tool = target
        else:
            report.apis_added += len(tool.apis)
        report.tools_written.append(write_tool(tool, out))
    return report


def _merge(into: Tool, other: Tool) -> int:
    """Add ``other``'s APIs that ``into`` lacks; returns how many were added."""
    have = {api.name for api in into.apis}
    added = [api for api in other.apis if api.name not in have]
    into.apis.extend(added)
    return len(added)
