"""OpenAPI import, :mod:`toolbench.catalog.openapi.compose`: ``allOf`` merged, null unions made nullable, unions
of several alternatives kept with a representative flat type; and, for every operation of the fixture specs, no
parameter the spec describes reaches a function doc as ``any``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.catalog.openapi_helpers import COMPOSED, NOTES, SHOP, one_operation, params
from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.openapi import import_openapi
from toolbench.catalog.openapi.compose import flatten
from toolbench.generate.export import bfcl_function
from toolbench.records import Tool

ITEM = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}


def test_all_of_parts_are_merged_into_one_schema() -> None:
    schema = {"description": "The parent.", "allOf": [
        ITEM,
        {"properties": {"name": {"type": "string"}, "id": {"pattern": "^[0-9]+$"}}, "required": ["name"],
         "description": "ignored: the outer description wins"},
        {"type": ["object", "null"], "minProperties": 1},
    ]}
    assert flatten(schema) == {
        "description": "The parent.", "type": "object", "required": ["id", "name"], "minProperties": 1,
        "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"}, "name": {"type": "string"}}}
    assert schema["allOf"][0] is ITEM and "pattern" not in ITEM["properties"]["id"]  # the input is unchanged


def test_all_of_bounds_enums_and_nested_all_of() -> None:
    assert flatten({"allOf": [{"type": "number", "minimum": 0, "maximum": 10}, {"type": "integer", "minimum": 2},
                              {"allOf": [{"maximum": 5}]}]}) == {"type": "integer", "minimum": 2, "maximum": 5}
    assert flatten({"allOf": [{"enum": ["a", "b", "c"]}, {"enum": ["c", "b"]}]}) == {"enum": ["b", "c"]}
    merged = flatten({"allOf": [{"type": "array", "items": ITEM}, {"items": {"properties": {"n": {"type": "integer"}}}}]})
    assert merged["items"]["properties"] == {"id": {"type": "string"}, "n": {"type": "integer"}}


def test_what_does_not_merge_stays_in_a_shorter_all_of() -> None:
    schema = {"allOf": [{"type": "string", "pattern": "^a"}, {"pattern": "b$", "maxLength": 5}]}
    assert flatten(schema) == {"type": "string", "pattern": "^a", "maxLength": 5, "allOf": [{"pattern": "b$"}]}
    contradiction = {"allOf": [{"type": "string"}, {"type": "integer"}]}
    assert flatten(contradiction) == {"type": "string", "allOf": [{"type": "integer"}]}
    for value, valid in (("ab", True), ("a", False), ("abcdefb", False)):
        assert Draft202012Validator(flatten(schema)).is_valid(value) is valid


def test_null_unions_become_nullable_schemas() -> None:
    assert flatten({"anyOf": [ITEM, {"type": "null"}], "description": "Or nothing."}) == {
        **ITEM, "type": ["object", "null"], "description": "Or nothing."}
    assert flatten({"oneOf": [{"type": "string", "enum": ["a"]}, {"type": "null"}]}) == {
        "type": ["string", "null"], "enum": ["a", None]}
    assert flatten({"oneOf": [ITEM]}) == ITEM  # a union of one
    several = {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
    assert flatten(several) == several  # several alternatives: kept for the model to see


def test_openapi_30_all_of_with_nullable_and_a_description() -> None:
    """Box's style: ``parent: {allOf: [{$ref: ...}], nullable: true, description: ...}`` in 3.0."""
    doc = one_operation({"parameters": [{"name": "parent", "in": "query", "schema": {
        "allOf": [{"$ref": "#/components/schemas/Item"}], "nullable": True, "description": "The parent."}}]},
        components={"schemas": {"Item": ITEM}})
    assert params(import_openapi(doc), "GET /things", "optional") == [
        {"name": "parent", "type": "OBJECT", "description": "The parent.", "default": "", "in": "query",
         "schema": {**ITEM, "type": ["object", "null"]}}]


def test_composed_fixture_parameters(composed: Tool) -> None:
    create = {p.name: p for p in composed.api("createFolder").params}
    # allOf over a chain of three $ref (ParentRef -> FolderRef -> FolderMini = allOf [ItemBase, {name}])
    assert create["parent"].type == "OBJECT" and create["parent"].description == "The parent folder."
    assert create["parent"].schema == {"type": "object", "required": ["id", "type"], "properties": {
        "id": {"type": "string", "pattern": "^[0-9]{4,12}$", "example": "12345"},
        "type": {"type": "string", "enum": ["file", "folder"]}, "name": {"type": "string", "example": "Reports"}}}
    assert create["sync_state"].schema == {"type": ["string", "null"],
                                           "enum": ["synced", "not_synced", "partially_synced", None]}
    assert create["collaborators"].schema["items"]["oneOf"][1]["required"] == ["kind", "group_id"]
    search = {p.name: p for p in composed.api("search").params}
    assert (search["scope"].type, search["limit"].type, search["deep"].type) == ("ENUM", "NUMBER", "BOOLEAN")
    assert search["limit"].schema == {"default": 10, "type": "integer", "minimum": 1, "maximum": 100}
    assert search["limit"].default == 10
    # a body made of allOf [ReportBase, {sections}] gives the merged properties as parameters
    assert [(p.name, p.required) for p in composed.api("createReport").params] == [
        ("title", True), ("sections", True), ("draft", False)]
    assert composed.api("getFolder").required_params[0].name == "folder_id"  # a parameter $ref chain
    assert "allOf" not in json.dumps(composed.api("search").response_schema)


def test_composed_arguments_validate_as_the_spec_says(composed: Tool) -> None:
    api = composed.api("createFolder")
    good = {"name": "Q3", "parent": {"id": "1234", "type": "folder"}, "sync_state": None,
            "collaborators": [{"kind": "user", "login": "ada@example.com"}, {"kind": "group", "group_id": "5678"}],
            "tags": [{"name": "x", "color": None}], "grid": [[1, 2], [3]]}
    assert validate_arguments(api, good) == []
    bad = {**good, "parent": {"id": "12"}, "collaborators": [{"kind": "user", "group_id": "5678"}]}
    assert [(e.field, e.rule) for e in validate_arguments(api, bad)] == [
        ("collaborators.0", "oneOf"), ("parent", "required"), ("parent.id", "pattern")]


def _anys(doc: dict[str, Any], schema: Any, where: str) -> list[str]:
    """Where a BFCL doc says ``any`` although the JSON schema it was made from says something."""
    if not isinstance(schema, dict):
        return []
    schema = flatten(schema)
    says_something = any(k not in ("description", "title", "example", "examples", "default") for k in schema)
    found = [where] if doc.get("type") == "any" and says_something else []
    for name, sub in (doc.get("properties") or {}).items():
        found += _anys(sub, (schema.get("properties") or {}).get(name), f"{where}.{name}")
    if isinstance(doc.get("items"), dict):
        found += _anys(doc["items"], schema.get("items"), f"{where}[]")
    return found


@pytest.mark.parametrize("spec", [SHOP, NOTES, COMPOSED], ids=lambda p: p.name)
def test_no_described_parameter_is_documented_as_any(spec) -> None:
    tool = import_openapi(spec)
    functions = FunctionSet.from_apis(tool.apis).functions.values()
    assert len(functions) == len(tool.apis)
    found = []
    for function in functions:
        doc = bfcl_function(function.schema)
        for name, prop in function.schema["parameters"]["properties"].items():
            found += _anys(doc["parameters"]["properties"][name], prop, f"{function.name}.{name}")
    assert found == []
