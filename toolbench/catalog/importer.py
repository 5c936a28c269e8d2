"""Import ToolBench data into a catalog folder: tool files, tool folders, and query files' ``api_list``s.

A source may be a ToolBench tool file, a folder of them (``toolenv/tools/<Category>/<tool>.json``), a query
file (``G1_query.json``, StableToolBench's ``G1_instruction.json``), or a folder mixing them. Each file is
recognised by its content. Tools already in the output catalog are merged: APIs they lack are added, the rest
is left as it was (``overwrite=True`` replaces them instead).

**A tool documented under several categories** (StableToolBench's query files list "Currency Converter_v2" under
Finance and Financial, "👋 Demo Project" under Media, Sports and Events; ToolBench keeps a folder per category)
becomes one tool, in the folder of the first category met, its ``categories`` listing every one (the catalog
names tools uniquely). No category's documentation is lost: an API documented the same way under two
categories is kept once; an API only another category documents is added with that ``category_name``; an API
another category documents differently is added as ``"<api> (<category>)"`` with its ``category_name`` and
``documented_as`` (the name the files give it). Each such tool is reported as a warning.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
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
from toolbench.records import Api, Query, Tool


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
    from_queries, problems = tools_by_category(queries)
    report.problems.extend(problems)
    by_name: dict[str, Tool] = {}
    for tool in tools + from_queries:  # tool files first: they carry URLs and hosts
        if tool.name in by_name:
            _merge(by_name[tool.name], tool)
        else:
            by_name[tool.name] = tool
    for tool in by_name.values():
        if len(tool.extra.get("categories", [])) > 1:
            report.problems.append(CatalogProblem(
                str(source), f"tool {tool.name!r}",
                f"documented under the categories {', '.join(tool.extra['categories'])}: imported as one tool in "
                f"{tool.category}/, with every category's APIs (see its 'categories')", severity="warning"))
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


def tools_by_category(queries: list[Query]) -> tuple[list[Tool], list[CatalogProblem]]:
    """The tools of the queries' ``api_list``s, one per (category, tool name): the same tool name under two
    categories gives two tools (merged later by :func:`_merge`), so neither category's documentation is
    reported as a conflicting copy of the other's."""
    by_category: dict[str, list[Query]] = {}
    for query in queries:
        for category in dict.fromkeys(api.category for api in query.apis):
            apis = [api for api in query.apis if api.category == category]
            by_category.setdefault(category, []).append(replace(query, apis=apis))
    tools: list[Tool] = []
    problems: list[CatalogProblem] = []
    for part in by_category.values():
        found, trouble = tools_from_queries(part)
        tools += found
        problems += trouble
    return tools, problems


def _categories(tool: Tool) -> list[str]:
    return list(tool.extra.get("categories") or ([tool.category] if tool.category else []))


def _documentation(api: Api) -> dict:
    """What an API's files say about it, whatever the category they file it under."""
    return {k: v for k, v in api.to_query_dict().items() if k not in ("category_name", "documented_as")}


def _merge(into: Tool, other: Tool) -> int:
    """Add ``other``'s APIs that ``into`` lacks; returns how many were added. When ``other`` comes from another
    category, ``into`` lists both categories and keeps the other's APIs as the module doc says."""
    category = other.category
    cross = bool(category) and bool(into.category) and category != into.category
    categories = list(dict.fromkeys(_categories(into) + _categories(other)))
    if len(categories) > 1:
        into.extra["categories"] = categories
    have = {api.name: api for api in into.apis}
    added = []
    for api in other.apis:
        mine = have.get(api.name)
        if mine is not None and (not cross or _documentation(mine) == _documentation(api)):
            continue
        api = copy.deepcopy(api)
        if cross:
            api.extra["category_name"] = api.extra.get("category_name") or category
            if mine is not None:
                api.extra["documented_as"] = api.name
                api.name = f"{api.name} ({category})"
                if api.name in have:
                    continue
        api.tool = into.name
        have[api.name] = api
        added.append(api)
    into.apis.extend(added)
    return len(added)
