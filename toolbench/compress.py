"""Response compression: shrink an API's answer before an agent reads it, keeping what its schema promises.

Schema-based pruning (:func:`prune`) keeps only the keys the API's response schema declares — a JSON Schema
(``properties``/``items``, ``anyOf``/``oneOf``/``allOf`` alternatives) or ToolBench's ``template_response``
(``{"name": "str", "items": [{"id": "int", "_list_length": 5}]}``). Then :func:`shrink` drops empty values,
cuts lists and long strings, and the whole text is capped like ToolBench's 2,048 characters (1,024 for a
tighter budget). :func:`compression_report` gives the ratio per API and overall over recorded responses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from toolbench.errors import ToolbenchError

_SCHEMA_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
_SCHEMA_KEYS = {"properties", "items", "anyOf", "oneOf", "allOf", "$ref", "enum", "additionalProperties"}
_EMPTY = (None, "", [], {})


class CompressError(ToolbenchError):
    """A compression setting is invalid: the message names the field."""


@dataclass
class CompressConfig:
    """How far responses are cut. Zero disables a limit."""

    max_list_items: int = field(default=5, metadata={"help": "Items kept per list (ToolBench templates show 2-5)."})
    max_string_chars: int = field(default=300, metadata={"help": "Characters kept per string value."})
    max_total_chars: int = field(default=2048, metadata={
        "help": "Cap on the whole response text (ToolBench: 2048, then 1024 when a prompt gets too long)."})
    drop_empty: bool = field(default=True, metadata={"help": "Drop null, empty strings, empty lists and objects."})
    prune_by_schema: bool = field(default=True, metadata={"help": "Keep only the keys the response schema has."})

    def __post_init__(self) -> None:
        for name in ("max_list_items", "max_string_chars", "max_total_chars"):
            if getattr(self, name) < 0:
                raise CompressError(f"{name}: must be >= 0 (0 disables the limit)")


def _as_schema(schema: Any) -> Any:
    if isinstance(schema, str):
        try:
            return json.loads(schema)
        except ValueError:
            return None
    return schema


def _is_json_schema(node: dict) -> bool:
    return bool(_SCHEMA_KEYS & node.keys()) or node.get("type") in _SCHEMA_TYPES


def _properties(schema: Any) -> dict | None:
    """The keys an object may have under ``schema``; None when the schema does not say."""
    if not isinstance(schema, dict):
        return None
    if _is_json_schema(schema):
        if isinstance(schema.get("properties"), dict):
            return schema["properties"]
        for key in ("allOf", "anyOf", "oneOf"):
            merged: dict = {}
            for alt in schema.get(key) or []:
                merged.update(_properties(alt) or {})
            if merged:
                return merged
        return None
    return {k: v for k, v in schema.items() if k != "_list_length"}  # a ToolBench template


def _items(schema: Any) -> Any:
    if isinstance(schema, list):  # ToolBench template: [item template]
        return schema[0] if schema else None
    if isinstance(schema, dict) and _is_json_schema(schema):
        if "items" in schema:
            return schema["items"]
        for key in ("anyOf", "oneOf", "allOf"):
            for alt in schema.get(key) or []:
                if isinstance(alt, dict) and "items" in alt:
                    return alt["items"]
    return None


def prune(value: Any, schema: Any) -> Any:
    """Keep the parts of ``value`` that ``schema`` declares; parts it says nothing about are kept whole."""
    schema = _as_schema(schema)
    if schema is None:
        return value
    if isinstance(value, dict):
        props = _properties(schema)
        if props is None:
            return value
        return {k: prune(v, props[k]) for k, v in value.items() if k in props}
    if isinstance(value, list):
        item = _items(schema)
        return [prune(v, item) for v in value] if item is not None else value
    return value


def shrink(value: Any, config: CompressConfig) -> Any:
    """Drop empty values, cut lists and strings (recursively)."""
    if isinstance(value, dict):
        out = {k: shrink(v, config) for k, v in value.items()}
        return {k: v for k, v in out.items() if not (config.drop_empty and _is_empty(v))}
    if isinstance(value, list):
        kept = value[: config.max_list_items] if config.max_list_items else value
        out = [shrink(v, config) for v in kept]
        return [v for v in out if not (config.drop_empty and _is_empty(v))]
    if isinstance(value, str) and config.max_string_chars and len(value) > config.max_string_chars:
        return value[: config.max_string_chars] + "..."
    return value


def _is_empty(value: Any) -> bool:
    return any(value is e or (type(value) is type(e) and value == e) for e in _EMPTY)


def compress_response(text: str, schema: Any = None, config: CompressConfig | None = None) -> str:
    """The compressed response text. Text that is not JSON is only capped."""
    config = config or CompressConfig()
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        out = text
    else:
        if config.prune_by_schema:
            value = prune(value, schema)
        out = json.dumps(shrink(value, config), ensure_ascii=False, separators=(",", ":"))
    if config.max_total_chars and len(out) > config.max_total_chars:
        out = out[: config.max_total_chars]
    return out


@dataclass
class ApiRatio:
    tool: str
    api: str
    responses: int = 0
    original_chars: int = 0
    compressed_chars: int = 0

    @property
    def ratio(self) -> float:
        """Compressed size / original size (lower is smaller)."""
        return self.compressed_chars / self.original_chars if self.original_chars else 1.0

    def to_dict(self) -> dict:
        return {"tool": self.tool, "api": self.api, "responses": self.responses,
                "original_chars": self.original_chars, "compressed_chars": self.compressed_chars,
                "ratio": round(self.ratio, 4)}


def compression_report(entries: Iterable[dict], schemas: dict[tuple[str, str], Any],
                       config: CompressConfig | None = None) -> dict:
    """Ratios per API and overall for recorded responses (``ResponseCache.entries()`` rows: tool, api,
    response, error). ``schemas`` maps (tool, api) to its response schema (missing: no pruning)."""
    config = config or CompressConfig()
    per: dict[tuple[str, str], ApiRatio] = {}
    for e in entries:
        if e.get("error") or not e.get("response"):
            continue
        key = (e["tool"], e["api"])
        row = per.setdefault(key, ApiRatio(*key))
        row.responses += 1
        row.original_chars += len(e["response"])
        row.compressed_chars += len(compress_response(e["response"], schemas.get(key), config))
    total_in = sum(r.original_chars for r in per.values())
    total_out = sum(r.compressed_chars for r in per.values())
    return {"apis": [r.to_dict() for r in sorted(per.values(), key=lambda r: (r.tool, r.api))],
            "overall": {"responses": sum(r.responses for r in per.values()), "original_chars": total_in,
                        "compressed_chars": total_out, "ratio": round(total_out / total_in, 4) if total_in else 1.0}}
