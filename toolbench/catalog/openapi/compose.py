"""Composed schemas made plain: ``allOf`` merged, a union with ``null`` made a nullable schema.

Real specs (Box, Asana, Stripe, GitHub) compose everywhere: ``parent: {allOf: [{$ref: Folder--Mini}],
description: ...}``, ``{anyOf: [{$ref: User}, {type: "null"}]}``, 3.0's ``{allOf: [...], nullable: true}``. Left
as they are, the model is shown an ``allOf`` wrapper and every consumer that reads ``type`` (ToolBench's flat
types, BFCL's function docs) sees nothing. :func:`flatten` rewrites a resolved schema (``$ref`` already inlined,
3.0's dialect already JSON Schema) bottom-up:

- ``allOf``: the parts are merged into the schema: ``properties`` united (a property in two parts is merged the
  same way), ``required`` united, ``type`` intersected, ``enum`` intersected, lower bounds raised and upper
  bounds lowered, ``items`` merged; annotations (``description``, ``example``...) of the outer schema, else of
  the first part that has them, are kept. A keyword two parts give different values the merge has no rule for
  (two ``pattern``, two ``oneOf``...) stays behind in a shorter ``allOf`` holding only what did not merge, so
  validation is unchanged. ``additionalProperties`` of one part applies to the merged properties;
- ``oneOf``/``anyOf`` with one alternative besides ``{"type": "null"}``: that alternative merged in, made
  nullable (``"null"`` added to ``type``, ``None`` to ``enum``); with one alternative only: merged in;
- ``oneOf``/``anyOf`` with several alternatives stay as they are (the model sees every alternative); the flat
  ToolBench type is the first non-null alternative's (:func:`toolbench.catalog.openapi.schemas._kind_of`).
"""

from __future__ import annotations

from typing import Any

from toolbench.catalog.openapi.document import _SCHEMA_LISTS, _SCHEMA_MAPS, _SCHEMA_ONE
from toolbench.catalog.openapi.schemas import _ANNOTATIONS, _allow_null

_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
_NULL = {"type": "null"}


def flatten(schema: Any) -> Any:
    """The schema with ``allOf`` merged and null unions made nullable, at every level (see the module doc).
    The input is not changed; values that are not schemas (``enum``, ``example``...) are shared with it, never
    changed in place."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: flatten(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [flatten(sub) for sub in value]
        elif key in _SCHEMA_ONE:
            out[key] = flatten(value)
        else:
            out[key] = value
    if isinstance(out.get("allOf"), list):
        out = _merge_all_of(out)
    for key in ("oneOf", "anyOf"):
        if isinstance(out.get(key), list):
            out = _collapse_union(out, key)
    return out


def _merge_all_of(schema: dict) -> dict:
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    left: list[Any] = []
    for part in schema["allOf"]:
        if part is True or part == {}:
            continue
        if not isinstance(part, dict):
            left.append(part)
            continue
        part = dict(part)
        left.extend(part.pop("allOf", None) or [])
        rest = _merge_into(merged, part)
        if rest:
            left.append(rest)
    if left:
        merged["allOf"] = left
    return merged


def _types(value: Any) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def _intersect_types(mine: Any, theirs: Any) -> Any:
    """The JSON types both allow (``integer`` is a ``number``), or None when none is."""
    a, b = _types(mine), _types(theirs)
    both = [t for t in a if t in b or (t == "integer" and "number" in b)]
    both += [t for t in b if t == "integer" and "number" in a and t not in both]
    if not both:
        return None
    return both[0] if len(both) == 1 else both


def _merge_into(target: dict, part: dict) -> dict:
    """Merge ``part`` (a schema :func:`flatten` made, not shared) into ``target`` (in place); returns the
    keywords that could not be merged."""
    rest: dict[str, Any] = {}
    for key, value in part.items():
        if key not in target:
            target[key] = value
        elif key in _ANNOTATIONS and key != "type" or key.startswith("x-"):
            continue  # the outer (or earlier) annotation wins
        elif key == "type":
            both = _intersect_types(target["type"], value)
            if both is None:
                rest[key] = value
            else:
                target["type"] = both
        elif key == "properties" and isinstance(value, dict) and isinstance(target[key], dict):
            for name, sub in value.items():
                mine = target[key].get(name)
                target[key][name] = sub if mine is None else flatten({"allOf": [mine, sub]})
        elif key == "required" and isinstance(value, list) and isinstance(target[key], list):
            target[key] = list(dict.fromkeys([*target[key], *value]))
        elif key == "enum" and isinstance(value, list) and isinstance(target[key], list):
            both = [v for v in target[key] if v in value]
            if both:
                target[key] = both
            else:
                rest[key] = value
        elif key in _LOWER and _is_number(value) and _is_number(target[key]):
            target[key] = max(target[key], value)
        elif key in _UPPER and _is_number(value) and _is_number(target[key]):
            target[key] = min(target[key], value)
        elif key == "items" and isinstance(value, dict) and isinstance(target[key], dict):
            target[key] = flatten({"allOf": [target[key], value]})
        elif target[key] != value:
            rest[key] = value
    return rest


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and all(
        k in _ANNOTATIONS for k in schema)


def _collapse_union(schema: dict, key: str) -> dict:
    branches = schema[key]
    alternatives = [b for b in branches if not _is_null(b)]
    nullable = len(alternatives) < len(branches)
    if len(alternatives) != 1 or not isinstance(alternatives[0], dict):
        return schema
    base = {k: v for k, v in schema.items() if k != key}
    merged = _merge_all_of({**base, "allOf": [alternatives[0]]})
    if "allOf" in merged:  # the alternative contradicts the schema around it: leave the union alone
        return schema
    return _allow_null(merged) if nullable else merged
