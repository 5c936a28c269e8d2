"""Response schemas inferred from recorded JSON responses, as JSON Schema or as a ToolBench template.

:func:`infer_schema` merges what several responses of one API show: types (``integer`` widens to ``number``;
other mixes become a type list such as ``["string", "null"]``), nested objects (``properties``; ``required``
lists the keys every response had), list items (one merged item schema), and a string ``format`` when every
value has it (``date``, ``date-time``, ``email``, ``uri``). :func:`to_template` writes that schema in ToolBench's
``template_response`` style (``{"name": "str", "items": [{"id": "int"}]}``; a list of scalars is
``["list of str"]``). Both forms drive :mod:`toolbench.compress`'s pruning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_FORMATS = (
    ("date-time", re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")),
    ("date", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
    ("email", re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")),
    ("uri", re.compile(r"^https?://\S+$")),
)
_TEMPLATE_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "object": "dict",
                   "array": "list", "null": "NoneType"}  # also the order of a merged type list


def schema_of(value: Any) -> dict[str, Any]:
    """The schema of one JSON value."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        out: dict[str, Any] = {"type": "string"}
        fmt = next((name for name, rx in _FORMATS if rx.match(value)), None)
        if fmt:
            out["format"] = fmt
        return out
    if isinstance(value, list):
        out = {"type": "array"}
        items = merge_all(schema_of(v) for v in value)
        if items is not None:
            out["items"] = items
        return out
    if isinstance(value, dict):
        return {"type": "object", "properties": {str(k): schema_of(v) for k, v in value.items()},
                "required": sorted(str(k) for k in value)}
    return {}  # not a JSON value: no constraint


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    return [] if t is None else [t] if isinstance(t, str) else list(t)


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """A schema that both ``a`` and ``b`` satisfy (for schemas made by :func:`schema_of` / :func:`merge`)."""
    if not a or not b:  # {} accepts anything: the union is {}
        return {}
    types = set(_types(a)) | set(_types(b))
    if "number" in types:
        types.discard("integer")
    out: dict[str, Any] = {}
    if "object" in types:
        pa, pb = a.get("properties", {}), b.get("properties", {})
        props = {k: merge(pa[k], pb[k]) if k in pa and k in pb else (pa.get(k) or pb[k]) for k in {**pa, **pb}}
        out["properties"] = props
        a_obj, b_obj = "object" in _types(a), "object" in _types(b)
        if a_obj and b_obj:
            required = set(a.get("required", [])) & set(b.get("required", []))
        else:
            required = set((a if a_obj else b).get("required", []))
        out["required"] = sorted(required)
    if "array" in types:
        items = [s["items"] for s in (a, b) if "items" in s]
        if items:
            out["items"] = items[0] if len(items) == 1 else merge(*items)
    if "string" in types:
        formats = {s.get("format") for s in (a, b) if "string" in _types(s)}
        if len(formats) == 1 and None not in formats:
            out["format"] = formats.pop()
    ordered = sorted(types, key=list(_TEMPLATE_TYPES).index)
    return {"type": ordered[0] if len(ordered) == 1 else ordered, **out}


def merge_all(schemas: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    out = None
    for s in schemas:
        out = s if out is None else merge(out, s)
    return out


def infer_schema(values: Iterable[Any]) -> dict[str, Any] | None:
    """The merged schema of JSON values (already decoded); None when there are none."""
    return merge_all(schema_of(v) for v in values)


def infer_from_texts(texts: Iterable[str]) -> dict[str, Any] | None:
    """:func:`infer_schema` over response texts; texts that are not JSON are skipped."""
    values = []
    for text in texts:
        try:
            values.append(json.loads(text))
        except (ValueError, TypeError):
            continue
    return infer_schema(values)


def to_template(schema: dict[str, Any] | None) -> Any:
    """ToolBench's ``template_response`` form of a schema: objects as dicts of their keys, a list as a
    one-item list of its item template, scalars as Python type names (the first non-null type)."""
    if not schema:
        return "any"
    types = [t for t in _types(schema) if t != "null"] or ["null"]
    kind = types[0]
    if kind == "object":
        return {k: to_template(v) for k, v in schema.get("properties", {}).items()} or "dict"
    if kind == "array":
        items = schema.get("items")
        if not items:
            return "empty list"
        inner = to_template(items)
        return [inner] if isinstance(inner, (dict, list)) else [f"list of {inner}"]
    return _TEMPLATE_TYPES.get(kind, kind)
