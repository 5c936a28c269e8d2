"""Pure helpers on resolved schemas: JSON Schema checks, OpenAPI 3.0's dialect rewritten, ToolBench types,
object members, media types, defaults and names."""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

_TOOLBENCH_TYPE = {"string": "STRING", "integer": "NUMBER", "number": "NUMBER", "boolean": "BOOLEAN",
                   "object": "OBJECT", "array": "ARRAY"}
# Scalar JSON types that ToolBench's own types express exactly (``number`` is not: ToolBench offers NUMBER
# to a model as "integer").
_PLAIN_SCALARS = {"string": "STRING", "integer": "NUMBER", "boolean": "BOOLEAN"}
# Keys that do not constrain a value: a schema made of ``type`` and these is a plain ToolBench type.
_ANNOTATIONS = ("type", "description", "title", "default", "example", "examples", "deprecated", "readOnly",
                "writeOnly", "$comment")
_NO_VALUE = object()


@functools.lru_cache(maxsize=1024)
def _json_schema_problem(schema_json: str) -> str | None:
    """Why a schema (as canonical JSON) is not valid JSON Schema 2020-12, or None. Cached: the meta-schema
    check takes ~15 ms, and large specs repeat the same schemas."""
    try:
        Draft202012Validator.check_schema(json.loads(schema_json))
    except SchemaError as exc:
        inside = "/".join(str(p) for p in exc.path)
        return f"{exc.message} at {inside}" if inside else exc.message
    return None


def _json_schema_dialect(schema: dict) -> dict:
    """OpenAPI 3.0's schema dialect -> JSON Schema 2020-12 (a no-op for 3.1 schemas)."""
    out = dict(schema)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
    if "nullable" in out and out.pop("nullable") is True:
        out = _allow_null(out)
    return out


def _allow_null(schema: dict) -> dict:
    declared = schema.get("type")
    if declared is None:
        notes = {k: v for k, v in schema.items() if k in _ANNOTATIONS}
        rest = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
        return {**notes, "anyOf": [rest, {"type": "null"}]}
    types = declared if isinstance(declared, list) else [declared]
    out = {**schema, "type": types if "null" in types else [*types, "null"]}
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _is_plain(schema: dict) -> bool:
    """A schema that ToolBench's STRING/NUMBER/BOOLEAN says all about (see the module doc)."""
    if not schema:
        return True
    declared = schema.get("type")
    return (isinstance(declared, str) and declared in _PLAIN_SCALARS
            and all(k in _ANNOTATIONS or k.startswith("x-") for k in schema))


def _toolbench_type(schema: Any) -> str:
    return _kind_of(schema) or "STRING"


def _kind_of(schema: Any) -> str | None:
    """ENUM, or the ToolBench type of the schema: of its first non-null type, else of its first non-null
    ``oneOf``/``anyOf`` alternative that has one (the representative of a union), else what its keywords
    imply; None when the schema says nothing."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema or "const" in schema:
        return "ENUM"
    declared = schema.get("type")
    if declared is not None:
        types = [_TOOLBENCH_TYPE[t] for t in (declared if isinstance(declared, list) else [declared])
                 if t != "null"]
        return types[0] if types else None
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            branches = [b for b in schema[key] if not (isinstance(b, dict) and b.get("type") == "null")]
            kinds = [k for k in map(_kind_of, branches) if k is not None]
            if kinds:
                return kinds[0]
    if "properties" in schema:
        return "OBJECT"
    if "items" in schema or "prefixItems" in schema:
        return "ARRAY"
    return None


def _object_members(schema: Any) -> tuple[dict, list] | None:
    """(properties, required names) of an object schema (flattened: ``allOf`` already merged, see
    :mod:`.compose`); None if it is not one."""
    if not isinstance(schema, dict) or "oneOf" in schema or "anyOf" in schema:
        return None
    declared = schema.get("type")
    if declared is not None and "object" not in (declared if isinstance(declared, list) else [declared]):
        return None
    if declared is None and "properties" not in schema:
        return None
    return dict(schema.get("properties") or {}), list(schema.get("required") or [])


def _json_media(content: dict) -> tuple[str, Any] | None:
    """The JSON entry of a ``content`` map: ``application/json`` first, else any ``*/json`` or ``*+json``."""
    for media_type, media in content.items():
        if media_type.split(";")[0].strip().lower() == "application/json":
            return media_type, media
    for media_type, media in content.items():
        subtype = media_type.split(";")[0].strip().lower().split("/")[-1]
        if subtype == "json" or subtype.endswith("+json"):
            return media_type, media
    return None


def _default_of(schema: Any, example: Any) -> Any:
    """The schema's default, else the given example, else the schema's own example(s), else ``""``."""
    if not isinstance(schema, dict):
        return "" if example is _NO_VALUE else example
    if "default" in schema:
        return schema["default"]
    if example is not _NO_VALUE:
        return example
    if "example" in schema:
        return schema["example"]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    return ""


def _free_name(name: str, taken: set[str]) -> str:
    return name if name not in taken else _free_name(f"request_{name}", taken)


def _join_text(summary: str, description: str) -> str:
    """An operation's summary and description as one description."""
    if not summary or description.startswith(summary):
        return description or summary
    if not description:
        return summary
    return f"{summary}{'' if summary[-1] in '.!?' else '.'} {description}"
