"""The loaded document and the helpers that read it: typed access whose errors name the JSON location, the
version check, ``$ref`` resolution and schemas rewritten as JSON Schema 2020-12."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from toolbench.catalog.openapi.schemas import _json_schema_dialect, _json_schema_problem
from toolbench.errors import ToolbenchError

# How many $ref one schema (a parameter's, a request body's, a response's) may inline. Schemas that reference
# each other heavily grow exponentially when inlined, even without cycles; past the budget a $ref becomes a
# placeholder that accepts any value.
MAX_INLINED_REFS = 500

_JSON_TYPES = ("null", "boolean", "object", "array", "number", "string", "integer")
# Schema keywords whose value is a map of schemas, a list of schemas, or one schema (JSON Schema 2020-12 and
# the older drafts OpenAPI 3.0 builds on); every other keyword's value is data and is copied as it is.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "additionalItems", "contentSchema")


class OpenAPIError(ToolbenchError, ValueError):
    """An OpenAPI document could not be imported: the message names the source, the JSON location and what
    to do."""

    def __init__(self, source: str, where: str, message: str):
        self.source = source
        self.where = where
        self.message = message
        super().__init__(": ".join(part for part in (source, where, message) if part))


def _kind(value: Any) -> str:
    """A value's kind in the document's own words."""
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _at(where: str, key: str | int) -> str:
    """The JSON location of a child: ``paths./orders.get`` + ``parameters`` / ``[0]``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


@dataclass
class _Document:
    """One loaded document with the helpers that read it; every error names ``source`` and a location."""

    doc: dict
    source: str
    inlined: int = 0  # $ref inlined so far into the schema being resolved

    # -- errors and typed access --------------------------------------------------------------------------

    def fail(self, where: str, message: str) -> OpenAPIError:
        return OpenAPIError(self.source, where, message)

    def expect(self, value: Any, kind: type, where: str, what: str) -> Any:
        if not isinstance(value, kind):
            expected = {dict: "a mapping", list: "a list", str: "a string", bool: "true or false"}[kind]
            raise self.fail(where, f"{what} must be {expected}, got {_kind(value)}")
        return value

    def mapping(self, node: dict, key: str, where: str) -> dict:
        """``node[key]`` as a mapping, ``{}`` when absent."""
        value = node.get(key)
        return {} if value is None else self.expect(value, dict, _at(where, key), f"'{key}'")

    def items(self, node: dict, key: str, where: str) -> list:
        """``node[key]`` as a list, ``[]`` when absent."""
        value = node.get(key)
        return [] if value is None else self.expect(value, list, _at(where, key), f"'{key}'")

    def text(self, node: dict, key: str, where: str) -> str:
        """``node[key]`` as a string, ``""`` when absent."""
        value = node.get(key)
        return "" if value is None else self.expect(value, str, _at(where, key), f"'{key}'").strip()

    def flag(self, node: dict, key: str, where: str) -> bool:
        value = node.get(key, False)
        return self.expect(value, bool, _at(where, key), f"'{key}'")

    # -- top level ----------------------------------------------------------------------------------------

    def check_version(self) -> None:
        if "swagger" in self.doc:
            raise self.fail("swagger", f"this is a Swagger {self.doc['swagger']} document; only OpenAPI 3.0 and "
                                       "3.1 are supported: convert it first (e.g. with swagger2openapi or the "
                                       "Swagger Editor's 'Convert to OpenAPI 3') and import the result")
        if "openapi" not in self.doc:
            raise self.fail("", "not an OpenAPI document: no 'openapi' field; give an OpenAPI 3.0 or 3.1 "
                                "document (it starts with e.g. 'openapi: 3.0.3')")
        version = self.doc["openapi"]
        if isinstance(version, bool) or not str(version).startswith("3."):
            raise self.fail("openapi", f"version {version!r} is not supported; give an OpenAPI 3.0 or 3.1 "
                                       "document")
        if "paths" not in self.doc:
            raise self.fail("paths", "missing: the document defines no operations to import (webhooks and "
                                     "components alone are not imported); add a 'paths' section")

    def info(self) -> dict:
        return self.mapping(self.doc, "info", "")

    def title(self, tool_name: str | None) -> str:
        title = self.text(self.info(), "title", "info")
        if not title and not tool_name:
            raise self.fail("info.title", "missing: the tool needs a name; add info.title or pass tool_name")
        return title or tool_name or ""

    # -- $ref -----------------------------------------------------------------------------------------------

    def lookup(self, ref: Any, where: str) -> tuple[Any, str]:
        """The target of a local ``$ref`` and its JSON location."""
        if not isinstance(ref, str):
            raise self.fail(where, f"$ref must be a string, got {_kind(ref)}")
        if not ref.startswith("#"):
            raise self.fail(where, f"$ref {ref!r} points outside this document, which is not supported; bundle "
                                   "the spec into one file first (e.g. 'redocly bundle' or 'swagger-cli bundle')")
        if ref != "#" and not ref.startswith("#/"):
            raise self.fail(where, f"$ref {ref!r} is not a JSON pointer; use the '#/components/...' form")
        node: Any = self.doc
        target_where = ""
        for token in ref[2:].split("/") if ref != "#" else []:
            key = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node, target_where = node[key], _at(target_where, key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node, target_where = node[int(key)], _at(target_where, int(key))
            else:
                raise self.fail(where, f"$ref {ref!r} does not resolve: no {key!r} in "
                                       f"{target_where or 'the document'}; fix the reference or add the missing "
                                       "definition")
        return node, target_where

    def deref(self, node: Any, where: str) -> tuple[Any, str]:
        """Follow a chain of ``$ref`` (parameters, request bodies, responses...) to the object; keys next to a
        ``$ref`` (3.1's ``summary``/``description``) are laid over it."""
        seen: list[str] = []
        overrides: dict = {}
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise self.fail(where, f"$ref cycle {' -> '.join(seen + [ref])}; point one of them at a "
                                       "definition")
            seen.append(ref)
            overrides = {**{k: v for k, v in node.items() if k != "$ref"}, **overrides}
            node, where = self.lookup(ref, _at(where, "$ref"))
        if overrides and isinstance(node, dict):
            node = {**node, **overrides}
        return node, where

    # -- schemas ----------------------------------------------------------------------------------------------

    def resolve_schema(self, node: Any, where: str) -> Any:
        """A parameter's, request body's or response's schema, resolved (see :meth:`schema`)."""
        self.inlined = 0
        return self.schema(node, where)

    def schema(self, node: Any, where: str, stack: tuple[str, ...] = ()) -> Any:
        """The schema at ``node`` with every ``$ref`` inlined and 3.0's dialect rewritten as JSON Schema."""
        if isinstance(node, bool):
            return node
        self.expect(node, dict, where, "a schema")
        if "$ref" in node:
            return self._schema_ref(node, where, stack)
        self._check_schema_node(node, where)
        out: dict[str, Any] = {}
        for key, value in node.items():
            child = _at(where, key)
            if key in _SCHEMA_MAPS:
                self.expect(value, dict, child, f"'{key}'")
                out[key] = {name: self.schema(sub, _at(child, name), stack) for name, sub in value.items()}
            elif key in _SCHEMA_LISTS:
                self.expect(value, list, child, f"'{key}'")
                out[key] = [self.schema(sub, _at(child, i), stack) for i, sub in enumerate(value)]
            elif key in _SCHEMA_ONE:
                out[key] = self.schema(value, child, stack)
            else:
                out[key] = copy.deepcopy(value)
        return _json_schema_dialect(out)

    def _schema_ref(self, node: dict, where: str, stack: tuple[str, ...]) -> Any:
        ref = node["$ref"]
        if ref in stack:
            return {"type": "object", "description": f"recursive: {ref}"}
        target, target_where = self.lookup(ref, _at(where, "$ref"))
        self.inlined += 1
        if self.inlined > MAX_INLINED_REFS:
            return {"description": f"not inlined: {ref} (the schema references too many others to inline)"}
        resolved = self.schema(target, target_where, stack + (ref,))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if not siblings:
            return resolved
        extra = self.schema(siblings, where, stack)
        return {**resolved, **extra} if isinstance(resolved, dict) else {"allOf": [resolved], **extra}

    def _check_schema_node(self, node: dict, where: str) -> None:
        """The keyword types a broken spec most often gets wrong, checked where they are written."""
        declared = node.get("type")
        if declared is not None:
            names = declared if isinstance(declared, list) else [declared]
            bad = [t for t in names if t not in _JSON_TYPES]
            if bad:
                raise self.fail(_at(where, "type"), f"unknown type {bad[0]!r}; use one of {', '.join(_JSON_TYPES)}")
        required = node.get("required")
        if required is not None and not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
            raise self.fail(_at(where, "required"), f"must be a list of property names, got {_kind(required)}; "
                                                    "list required properties in the parent object's 'required'")
        if "enum" in node:
            self.expect(node["enum"], list, _at(where, "enum"), "'enum'")

    def check_json_schema(self, schema: Any, where: str) -> None:
        """Whatever the keyword checks missed: a parameter's resolved schema, which arguments are validated
        against, must be valid JSON Schema 2020-12."""
        problem = _json_schema_problem(json.dumps(schema, sort_keys=True))
        if problem:
            raise self.fail(where, f"not a valid JSON schema after resolving $ref ({problem}); fix the schema")
