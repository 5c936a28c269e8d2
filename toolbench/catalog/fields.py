"""Every field and type problem of a catalog's tool files, for ``toolbench catalog validate``.

Reading a catalog (:func:`toolbench.catalog.store.load_catalog`) stops at a file's first bad field and, like
ToolBench's own loaders, reads a number where a string belongs as its text. Validation is stricter and complete:
:func:`tool_file_problems` walks a tool file's JSON and reports each problem (file, JSON location, what is wrong),
and :func:`catalog_problems` does so for every file and folder of a catalog, so one run lists them all.
"""

from __future__ import annotations

import json
from typing import Any

from toolbench.catalog.store import Catalog, CatalogError, CatalogProblem, read_json, tool_files
from toolbench.formats.jsonl import json_type
from toolbench.records import PARAM_LOCATIONS, RecordError, Tool

_TOOL_STRINGS = ("standardized_name", "title", "tool_description", "category_name", "base_url", "host")
_API_STRINGS = ("description",)
# read as text by the loader and then checked by checks.check_tool (method) and checks.check_urls (url), which
# report a number there; other types are ours to report
_API_CHECKED_LATER = ("method", "url")
_PARAM_STRINGS = ("description", "type")
_AUTH_STRINGS = ("location", "param_name", "scheme")


class _Collector:
    def __init__(self, path: str):
        self.path = path
        self.problems: list[CatalogProblem] = []

    def add(self, location: str, message: str, severity: str = "error") -> None:
        self.problems.append(CatalogProblem(self.path, location, message, severity))

    def string(self, data: dict, key: str, where: str, *, required: bool = False, what: str = "") -> str | None:
        """Check ``data[key]`` is a string (non-empty when required); returns it, or None."""
        at = f"{where}.{key}" if where else key
        if key not in data or data[key] is None:
            if required:
                self.add(at, f"missing required field{what}")
            return None
        value = data[key]
        if not isinstance(value, str):
            self.add(at, f"must be a string, got {json_type(value)} {_short(value)}")
            return None
        if required and not value.strip():
            self.add(at, "is empty")
        return value

    def strings(self, data: dict, keys: tuple[str, ...], where: str) -> None:
        for key in keys:
            self.string(data, key, where)

    def objects(self, data: dict, key: str, where: str, what: str, *, required: bool = False) -> list[Any]:
        """``data[key]`` as a list (None gives []); each item that is not an object is reported."""
        at = f"{where}.{key}" if where else key
        value = data.get(key)
        if value is None:
            if required:
                self.add(at, f"missing required field (a list of {what})")
            return []
        if not isinstance(value, list):
            self.add(at, f"must be a list of {what}, got {json_type(value)}")
            return []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.add(f"{at}[{i}]", f"must be an object, got {json_type(item)} {_short(item)}")
        return value


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return f"({text[:40]}...)" if len(text) > 40 else f"({text})"


def tool_file_problems(data: Any, path: str) -> list[CatalogProblem]:
    """Every field and type problem of a tool file's JSON content (ToolBench's tool-file shape)."""
    found = _Collector(path)
    if not isinstance(data, dict):
        found.add("", f"a tool file must be a JSON object {{tool_name, tool_description, api_list}}, got "
                      f"{json_type(data)}")
        return found.problems
    key = "tool_name" if "tool_name" in data or "name" not in data else "name"
    found.string(data, key, "", required=True, what=" (the tool's name)")
    found.strings(data, _TOOL_STRINGS, "")
    apis = found.objects(data, "api_list", "", "the tool's APIs", required=True)
    seen: dict[str, int] = {}
    for i, api in enumerate(apis):
        if not isinstance(api, dict):
            continue
        where = f"api_list[{i}]"
        name = found.string(api, "name", where, required=True, what=" (the API's name)")
        if name:
            if name in seen:
                found.add(f"{where}.name", f"duplicate API name {name!r} (also at api_list[{seen[name]}]); rename "
                                           "one of them")
            else:
                seen[name] = i
        found.strings(api, _API_STRINGS, where)
        for key in _API_CHECKED_LATER:
            value = api.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
                found.add(f"{where}.{key}", f"must be a string, got {json_type(value)} {_short(value)}")
        for kind in ("required_parameters", "optional_parameters"):
            for j, param in enumerate(found.objects(api, kind, where, "parameter objects")):
                if isinstance(param, dict):
                    _param(found, param, f"{where}.{kind}[{j}]")
    for i, auth in enumerate(found.objects(data, "auth", "", "auth schemes")):
        if isinstance(auth, dict):
            found.string(auth, "name", f"auth[{i}]", required=True)
            found.string(auth, "type", f"auth[{i}]", required=True)
            found.strings(auth, _AUTH_STRINGS, f"auth[{i}]")
    return found.problems


def _param(found: _Collector, param: dict, where: str) -> None:
    found.string(param, "name", where, required=True, what=" (the parameter's name)")
    found.strings(param, _PARAM_STRINGS, where)
    location = param.get("in")
    if location and location not in PARAM_LOCATIONS:
        found.add(f"{where}.in", f"unknown location {_short(location)}; use one of {', '.join(PARAM_LOCATIONS[:-1])}")
    schema = param.get("schema")
    if schema is not None and not isinstance(schema, dict):
        found.add(f"{where}.schema", f"must be a JSON-schema object, got {json_type(schema)}")


def catalog_problems(catalog: Catalog) -> list[CatalogProblem]:
    """Every problem of every file and folder of a loaded catalog: the problems met while loading it, with a
    file's first field problem replaced by all of them, and the type problems of files that loaded (a tool
    named by a number...). An empty catalog folder is an error; an empty category folder a warning."""
    loaded: dict[str, list[CatalogProblem]] = {}
    for problem in catalog.problems:
        loaded.setdefault(problem.path, []).append(problem)
    problems: list[CatalogProblem] = []
    files = list(tool_files(catalog.root))
    if not files:
        problems.append(CatalogProblem(str(catalog.root), "", "no tool files: a catalog holds <Category>/<tool>.json "
                                                              "files (toolbench catalog import-toolbench writes "
                                                              "them)"))
    for folder in sorted(p for p in catalog.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not any(folder.glob("*.json")):
            problems.append(CatalogProblem(str(folder), "", "no tool files (*.json) in this category folder",
                                           "warning"))
    for path, category in files:
        at_load = loaded.pop(str(path), [])
        try:
            data = read_json(path)
        except CatalogError:
            problems.extend(at_load)  # unreadable: the loader said why
            continue
        found = tool_file_problems(data, str(path))
        try:
            Tool.from_dict(data, category=category)
        except RecordError:
            # the loader reported the first problem only; ours are all of them (theirs if we found none)
            problems.extend(found if any(p.severity == "error" for p in found) else at_load)
            continue
        problems.extend(at_load + found)
    for rest in loaded.values():
        problems.extend(rest)
    return problems

