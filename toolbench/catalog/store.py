"""A catalog on disk: ToolBench's layout, one JSON file per tool in a folder per category.

```
catalog/
  Weather/open_weather.json      # a ToolBench tool file: tool_name, tool_description, api_list, ...
  Finance/currency_exchange.json
```

Reading never stops at the first bad file: every problem is collected as a :class:`CatalogProblem` naming the
file and the JSON location, and the good files load. Writing is atomic (a temporary file renamed into place),
so an interrupted import leaves no half-written tool file.

Query files (ToolBench's ``G1_query.json``, StableToolBench's ``G1_instruction.json``) carry each API's
documentation in their ``api_list``; :func:`tools_from_queries` rebuilds the tools from them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.formats.atomic import write_json_atomic
from toolbench.records import Api, Query, RecordError, Tool


@dataclass(frozen=True)
class CatalogProblem:
    """One problem in one file: ``path``, a JSON ``location`` (``api_list[2].required_parameters[0].name``,
    empty for the whole file) and a message that says what to do."""

    path: str
    location: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.path}: {self.location}" if self.location else self.path
        return f"{where}: {self.message}"


class CatalogError(ToolbenchError):
    """A catalog or query file could not be read; ``problems`` lists every problem found."""

    def __init__(self, problems: list[CatalogProblem]):
        self.problems = problems
        lines = [str(p) for p in problems[:20]]
        if len(problems) > 20:
            lines.append(f"... and {len(problems) - 20} more")
        super().__init__("\n".join(lines))


def _location(field_path: str) -> str:
    return field_path.lstrip(".")


def read_json(path: Path) -> Any:
    """Parse a JSON file (:func:`toolbench.formats.jsonl.read_json`); a problem (not UTF-8, empty, a syntax error)
    becomes a CatalogError naming the line and column."""
    from toolbench.formats.jsonl import DataFileError
    from toolbench.formats.jsonl import read_json as read

    try:
        return read(path)
    except DataFileError as exc:
        where = "" if exc.line is None else f"line {exc.line}" + ("" if exc.column is None else f" column {exc.column}")
        raise CatalogError([CatalogProblem(str(path), where, exc.message)]) from None


# -- tool files ---------------------------------------------------------------------------------------

def read_tool_file(path: Path, category: str = "") -> Tool:
    """Read one ToolBench tool file; ``category`` (usually the folder name) fills a missing category."""
    data = read_json(path)
    try:
        return Tool.from_dict(data, category=category)
    except RecordError as exc:
        raise CatalogError([CatalogProblem(str(path), _location(exc.field_path), exc.message)]) from None


def category_folder(category: str) -> str:
    """A category name as a folder name (ToolBench uses names like ``Data``, ``Business_Software``)."""
    name = re.sub(r"[^\w\-]+", "_", category.strip()).strip("_")
    return name or "Uncategorized"


def tool_path(catalog_dir: Path, tool: Tool) -> Path:
    stem = tool.standardized_name
    if stem.strip(".") == "" or any(c in stem for c in "/\\\0"):  # from a file: never a path outside the folder
        from toolbench.catalog.naming import standardize

        stem = standardize(stem)
    return Path(catalog_dir) / category_folder(tool.category) / f"{stem or 'tool'}.json"


def write_tool(tool: Tool, catalog_dir: Path | str) -> Path:
    """Write ``tool`` as ``<catalog_dir>/<Category>/<standardized_name>.json`` (atomically)."""
    path = tool_path(Path(catalog_dir), tool)
    write_json_atomic(path, tool.to_dict())
    return path


# -- catalogs -----------------------------------------------------------------------------------------

@dataclass
class Catalog:
    """The tools of a catalog folder, plus every problem met while reading it."""

    root: Path
    tools: list[Tool] = field(default_factory=list)
    problems: list[CatalogProblem] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)  # tool name -> file

    def get_tool(self, name: str) -> Tool:
        for tool in self.tools:
            if name in (tool.name, tool.standardized_name):
                return tool
        raise KeyError(f"no tool named {name!r} in the catalog at {self.root}")

    def get_api(self, tool: str, api: str) -> Api:
        return self.get_tool(tool).api(api)

    def apis(self) -> list[Api]:
        return [api for tool in self.tools for api in tool.apis]

    def categories(self) -> Counter:
        return Counter(tool.category or "Uncategorized" for tool in self.tools)

    @property
    def errors(self) -> list[CatalogProblem]:
        return [p for p in self.problems if p.severity == "error"]


def tool_files(root: Path) -> Iterable[tuple[Path, str]]:
    """(file, category) for every tool file: ``root/<Category>/*.json`` and ``root/*.json``."""
    for path in sorted(root.glob("*.json")):
        yield path, ""
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(sub.glob("*.json")):
            yield path, sub.name


def load_catalog(root: Path | str) -> Catalog:
    """Load every tool file under ``root``; bad files become problems and never stop the others."""
    root = Path(root)
    if not root.is_dir():
        raise CatalogError([CatalogProblem(str(root), "", "no such catalog folder; create one with "
                                                          "`toolbench catalog import-toolbench` or "
                                                          "`toolbench catalog import-openapi`")])
    catalog = Catalog(root=root)
    for path, category in tool_files(root):
        try:
            tool = read_tool_file(path, category)
        except CatalogError as exc:
            catalog.problems.extend(exc.problems)
            continue
        if tool.name in catalog.paths:
            catalog.problems.append(CatalogProblem(
                str(path), "tool_name",
                f"duplicate tool {tool.name!r}, also defined in {catalog.paths[tool.name]}; remove or rename one"))
            continue
        catalog.tools.append(tool)
        catalog.paths[tool.name] = path
    return catalog


# -- query files --------------------------------------------------------------------------------------

_GROUP = re.compile(r"\b(G[123])(?:_|\b)", re.IGNORECASE)


def group_from_filename(path: Path) -> str:
    """``G1_query.json`` / ``G2_instruction.json`` -> ``G1``/``G2``; otherwise ``""``."""
    match = _GROUP.search(path.stem.replace("-", "_"))
    return match.group(1).upper() if match else ""


def read_queries(path: Path | str, group: str | None = None) -> tuple[list[Query], list[CatalogProblem]]:
    """Every readable query of a ToolBench query file, and a problem for each bad entry."""
    path = Path(path)
    try:
        data = read_json(path)
    except CatalogError as exc:
        return [], exc.problems
    if isinstance(data, dict) and "query" in data:
        data = [data]
    if not isinstance(data, list):
        return [], [CatalogProblem(str(path), "", f"expected a JSON list of queries, got {type(data).__name__}")]
    group = group if group is not None else group_from_filename(path)
    queries, problems = [], []
    for i, entry in enumerate(data):
        try:
            queries.append(Query.from_dict(entry, group=group, where=f"[{i}]"))
        except RecordError as exc:
            problems.append(CatalogProblem(str(path), _location(exc.field_path), exc.message))
    return queries, problems


def load_queries(path: Path | str, group: str | None = None) -> list[Query]:
    """All queries of a ToolBench query file; raises CatalogError listing every bad entry."""
    queries, problems = read_queries(path, group)
    if problems:
        raise CatalogError(problems)
    return queries


def tools_from_queries(queries: Iterable[Query]) -> tuple[list[Tool], list[CatalogProblem]]:
    """Rebuild tools from the ``api_list`` of queries: one Tool per tool name, each API once.

    The same API documented differently in two queries is reported as a warning; the first wins.
    """
    tools: dict[str, Tool] = {}
    seen: dict[tuple[str, str], Api] = {}
    problems: list[CatalogProblem] = []
    for query in queries:
        for api in query.apis:
            tool = tools.get(api.tool)
            if tool is None:
                tool = tools[api.tool] = Tool(name=api.tool, title=api.tool, category=api.category)
            previous = seen.get(api.key)
            if previous is None:
                seen[api.key] = api
                tool.apis.append(api)
            elif previous.to_query_dict() != api.to_query_dict():
                problems.append(CatalogProblem(
                    f"query {query.id}", f"api_list: {api.tool} / {api.name}",
                    "documented differently than in an earlier query; the first documentation is kept",
                    severity="warning"))
    return list(tools.values()), problems
