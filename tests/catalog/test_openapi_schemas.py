"""OpenAPI import, :mod:`toolbench.catalog.openapi.schemas`: OpenAPI 3.0's dialect rewritten as JSON Schema and
the flat ToolBench type of a schema."""

from __future__ import annotations

import pytest

from tests.catalog.openapi_helpers import (
    one_operation,
    params,
)
from toolbench.catalog.openapi import import_openapi
from toolbench.catalog.openapi.schemas import _kind_of


def test_openapi_30_nullable_rewritten_for_json_schema() -> None:
    doc = one_operation({"parameters": [
        {"name": "color", "in": "query", "schema": {"type": "string", "enum": ["red", "blue"], "nullable": True}},
        {"name": "shape", "in": "query",
         "schema": {"description": "Any shape.", "nullable": True, "oneOf": [{"type": "string"}, {"type": "integer"}]}},
        {"name": "size", "in": "query", "schema": {"type": "integer", "maximum": 10, "exclusiveMaximum": False}},
    ]})
    assert params(import_openapi(doc), "GET /things", "optional") == [
        {"name": "color", "type": "ENUM", "description": "", "default": "", "in": "query",
         "schema": {"type": ["string", "null"], "enum": ["red", "blue", None]}},
        {"name": "shape", "type": "STRING", "description": "Any shape.", "default": "", "in": "query",
         "schema": {"anyOf": [{"oneOf": [{"type": "string"}, {"type": "integer"}]}, {"type": "null"}]}},
        {"name": "size", "type": "NUMBER", "description": "", "default": "", "in": "query",
         "schema": {"type": "integer", "maximum": 10}},
    ]


@pytest.mark.parametrize(("schema", "kind"), [
    ({"type": ["integer", "string", "null"]}, "NUMBER"),  # the first non-null type
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "STRING"),  # a union: its first alternative
    ({"anyOf": [{"type": "null"}, {"properties": {"a": {}}}]}, "OBJECT"),
    ({"allOf": [{"description": "x"}, {"type": "array"}]}, "ARRAY"),
    ({"const": 3}, "ENUM"),
    ({}, None),  # says nothing
])
def test_flat_toolbench_type_of_a_schema(schema: dict, kind: str | None) -> None:
    assert _kind_of(schema) == kind
