"""Shared by the OpenAPI import tests: the fixture specs, small documents built in code, and the schemas the
shop fixture's parameters resolve to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from toolbench.catalog.openapi import OpenAPIError, import_openapi
from toolbench.records import Tool

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
SHOP = FIXTURES / "shop.yaml"
NOTES = FIXTURES / "notes-3.1.json"
COMPOSED = FIXTURES / "composed.yaml"  # allOf, oneOf/anyOf, $ref chains, nullable, nested arrays of objects


def params(tool: Tool, api: str, which: str) -> list[dict]:
    """An API's required or optional params as ToolBench tool-file dicts."""
    api_record = tool.api(api)
    plist = api_record.required_params if which == "required" else api_record.optional_params
    return [p.to_dict() for p in plist]


def minimal(**extra: Any) -> dict:
    """The smallest valid 3.0 document, with top-level keys replaced by ``extra``."""
    doc: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "Mini", "version": "1"}, "paths": {}}
    doc.update(extra)
    return doc


def one_operation(operation: dict, path: str = "/things", **extra: Any) -> dict:
    return minimal(paths={path: {"get": {"responses": {"200": {"description": "OK"}}, **operation}}}, **extra)


ADDRESS = {
    "type": "object",
    "required": ["city"],
    "properties": {
        "street": {"type": "string"},
        "city": {"type": "string"},
        "postcode": {"type": ["string", "null"]},  # 3.0 nullable: true, rewritten
    },
}
ORDER_ITEM = {
    "type": "object",
    "required": ["sku", "quantity"],
    "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}},
}
STATUS = {"type": "string", "enum": ["pending", "paid", "shipped"], "default": "pending"}


def error_of(source: Any, **kwargs: Any) -> str:
    with pytest.raises(OpenAPIError) as info:
        import_openapi(source, **kwargs)
    return str(info.value)
