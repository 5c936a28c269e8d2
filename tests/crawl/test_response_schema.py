"""Response schemas inferred from JSON answers: types, nested objects, list items, ToolBench templates."""

import json

from toolbench.compress import CompressConfig, compress_response
from toolbench.response_schema import infer_from_texts, infer_schema, merge, schema_of, to_template


def test_scalars_and_formats():
    assert schema_of(None) == {"type": "null"}
    assert schema_of(True) == {"type": "boolean"}  # not an integer, although bool subclasses int
    assert schema_of(3) == {"type": "integer"}
    assert schema_of(2.5) == {"type": "number"}
    assert schema_of("x") == {"type": "string"}
    assert schema_of("2025-01-15") == {"type": "string", "format": "date"}
    assert schema_of("2025-01-15T09:30:00+00:00") == {"type": "string", "format": "date-time"}
    assert schema_of("kim@example.com") == {"type": "string", "format": "email"}
    assert schema_of("https://x.example/a") == {"type": "string", "format": "uri"}


def test_nested_objects_and_list_items_merge_across_responses():
    first = {"city": "Paris", "temp": 12, "days": [{"date": "2025-01-16", "rain": 0.5}], "alert": None}
    second = {"city": "Lyon", "temp": 9.5, "days": [], "alert": "storm", "uv": 3}
    assert infer_schema([first, second]) == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "temp": {"type": "number"},  # 12 and 9.5: integer widens to number
            "days": {"type": "array", "items": {"type": "object", "properties": {
                "date": {"type": "string", "format": "date"}, "rain": {"type": "number"}},
                "required": ["date", "rain"]}},  # the empty list adds nothing
            "alert": {"type": ["string", "null"]},
            "uv": {"type": "integer"},
        },
        "required": ["alert", "city", "days", "temp"],  # uv was missing once
    }


def test_mixed_list_items_and_object_or_null():
    assert schema_of([1, "a", 2]) == {"type": "array", "items": {"type": ["string", "integer"]}}
    merged = merge(schema_of(None), schema_of({"a": 1}))
    assert merged == {"type": ["object", "null"], "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    assert merge({}, schema_of(1)) == {}  # an unconstrained side stays unconstrained
    assert schema_of([]) == {"type": "array"}
    assert infer_schema([]) is None


def test_texts_that_are_not_json_are_skipped():
    assert infer_from_texts(['{"a": 1}', "<html>oops</html>", '{"a": 2, "b": "x"}']) == {
        "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}, "required": ["a"]}
    assert infer_from_texts(["plain text"]) is None


def test_toolbench_template_form():
    schema = infer_schema([{"name": "Paris", "population": 2100000, "tags": ["capital", "europe"],
                            "districts": [{"id": 1, "area": 1.5, "note": None}], "empty": [], "meta": {}}])
    assert to_template(schema) == {"name": "str", "population": "int", "tags": ["list of str"],
                                   "districts": [{"id": "int", "area": "float", "note": "NoneType"}],
                                   "empty": "empty list", "meta": "dict"}
    assert to_template(schema_of([[1, 2]])) == [["list of int"]]
    assert to_template(None) == "any"


def test_inferred_schemas_drive_compression_in_both_forms():
    responses = [{"id": 7, "name": "Pizzeria", "address": {"city": "Paris", "street": "1 Rue"}, "score": 4.5},
                 {"id": 8, "name": "Bistro", "address": {"city": "Lyon", "street": "2 Rue"}, "score": 4.0}]
    schema = infer_schema(responses)
    declared = {"id": schema["properties"]["id"], "address": {
        "type": "object", "properties": {"city": schema["properties"]["address"]["properties"]["city"]}}}
    narrowed = {**schema, "properties": declared}  # what a catalog (or an LLM) keeps of the inferred schema
    bigger = json.dumps({**responses[0], "debug": {"trace": "x" * 50}})
    config = CompressConfig(max_total_chars=0)
    assert json.loads(compress_response(bigger, schema, config)) == responses[0]  # unknown key "debug" dropped
    assert json.loads(compress_response(bigger, narrowed, config)) == {"id": 7, "address": {"city": "Paris"}}
    template = to_template(narrowed)
    assert template == {"id": "int", "address": {"city": "str"}}
    assert json.loads(compress_response(bigger, template, config)) == {"id": 7, "address": {"city": "Paris"}}
