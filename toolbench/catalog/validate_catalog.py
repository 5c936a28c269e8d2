"""Checks a catalog beyond "it parses": what ``toolbench catalog validate`` reports.

Errors make a tool unusable (a parameter schema that is not a JSON schema, an unknown HTTP method, a URL the
executor cannot call: :func:`check_urls`); warnings
flag what real RapidAPI docs often contain and the stack tolerates (a parameter listed twice, an unknown
ToolBench type, two APIs whose function names collide before de-duplication).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from toolbench.catalog.functions import api_to_function
from toolbench.catalog.naming import function_name
from toolbench.catalog.store import CatalogProblem, load_catalog
from toolbench.records import TOOLBENCH_TYPES, Tool

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_KNOWN_TYPES = {t.upper() for t in TOOLBENCH_TYPES} | {"INTEGER", "FLOAT", "DATE", "NULL"}


def check_urls(tool: Tool, path: str) -> list[CatalogProblem]:
    """The URL problems of one tool: every API URL the executor would refuse to call (not http(s) such as
    file:// or gopher://, a bad port, a host that does not parse, a number or blank text:
    :func:`toolbench.executor.url_problem`). An empty URL is an error when the tool has URLs elsewhere, and a
    warning in a tool without any (a catalog made from query files, which carry none)."""
    from toolbench.executor import redact_url, url_problem

    problems: list[CatalogProblem] = []
    has_urls = bool(tool.base_url) or any(api.url for api in tool.apis)
    if tool.base_url:
        problem = url_problem(tool.base_url)
        if problem:
            problems.append(CatalogProblem(path, "base_url", f"{redact_url(tool.base_url)[:200]!r} cannot be "
                                           f"called: {problem}"))
    if tool.apis and not has_urls:
        return [CatalogProblem(path, "api_list", "no API has a URL: fine for generating queries, but none can be "
                               "called", "warning")]
    for i, api in enumerate(tool.apis):
        where = f"api_list[{i}].url"
        if not api.url:
            problems.append(CatalogProblem(path, where, "the API has no URL, so it cannot be called"))
            continue
        problem = url_problem(api.url)
        if problem:
            problems.append(CatalogProblem(path, where, f"{redact_url(api.url)[:200]!r} cannot be called: "
                                           f"{problem}"))
    return problems


def check_tool(tool: Tool, path: str) -> list[CatalogProblem]:
    """Every problem of one (already parsed) tool."""
    problems: list[CatalogProblem] = []

    def add(location: str, message: str, severity: str = "error") -> None:
        problems.append(CatalogProblem(path, location, message, severity))

    if not tool.apis:
        add("api_list", "the tool has no APIs", "warning")
    fnames = Counter(function_name(api.name, tool.standardized_name) for api in tool.apis)
    for i, api in enumerate(tool.apis):
        where = f"api_list[{i}]"
        if api.method.upper() not in HTTP_METHODS:
            add(f"{where}.method", f"unknown HTTP method {api.method!r}; use one of {', '.join(HTTP_METHODS)}")
        fname = function_name(api.name, tool.standardized_name)
        if fnames[fname] > 1:
            add(f"{where}.name", f"function name {fname!r} is shared with another API of this tool; requests "
                                 "offering both get a numeric suffix", "warning")
        seen: set[str] = set()
        schema_errors = 0
        for j, param in enumerate(api.params):
            kind = "required_parameters" if param.required else "optional_parameters"
            pwhere = f"{where}.{kind}[{j if param.required else j - len(api.required_params)}]"
            if param.name in seen:
                add(f"{pwhere}.name", f"parameter {param.name!r} is listed again; the last entry wins", "warning")
            seen.add(param.name)
            if param.schema is not None:
                try:
                    Draft202012Validator.check_schema(param.schema)
                except SchemaError as exc:
                    add(f"{pwhere}.schema", f"not a valid JSON schema: {exc.message}")
                    schema_errors += 1
            elif param.type.upper() not in _KNOWN_TYPES:
                add(f"{pwhere}.type", f"unknown type {param.type!r}; it is offered to models as a string",
                    "warning")
        if schema_errors:
            continue
        try:
            Draft202012Validator.check_schema(api_to_function(api, tool.standardized_name).schema["parameters"])
        except SchemaError as exc:
            add(where, f"its function schema is not valid JSON schema: {exc.message}")
    problems.extend(check_urls(tool, path))
    return problems


def validate_catalog(root: Path | str) -> tuple[int, list[CatalogProblem]]:
    """(number of tools that loaded, every problem in every file and folder under ``root``)."""
    from toolbench.catalog.fields import catalog_problems

    catalog = load_catalog(root)
    problems = catalog_problems(catalog)  # every field/type problem of each file, not only the first
    for tool in catalog.tools:
        problems.extend(check_tool(tool, str(catalog.paths[tool.name])))
    return len(catalog.tools), problems
