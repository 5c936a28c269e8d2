"""OpenAPI import end to end, :func:`toolbench.catalog.openapi.import_openapi`: the functions offered from the
imported tool, arguments validated against them, the tool file round trip, a FastAPI-generated spec."""

from __future__ import annotations

import json
from enum import Enum

from jsonschema import Draft202012Validator
from pydantic import BaseModel

from tests.catalog.openapi_helpers import (
    STATUS,
)
from toolbench.catalog.arguments import validate_arguments, validate_call
from toolbench.catalog.functions import api_to_function
from toolbench.catalog.openapi import import_openapi
from toolbench.records import Tool


def test_every_function_schema_is_valid_json_schema(shop: Tool, notes: Tool) -> None:
    for tool in (shop, notes):
        for api in tool.apis:
            function = api_to_function(api, tool.standardized_name)
            Draft202012Validator.check_schema(function.schema["parameters"])


def test_offered_function_for_create_order(shop: Tool) -> None:
    schema = api_to_function(shop.api("createOrder"), shop.standardized_name).schema
    assert schema["name"] == "createorder_for_tiny_shop"
    parameters = schema["parameters"]
    assert (parameters["required"], parameters["optional"]) == (["customer", "items"], ["note", "express", "status"])
    assert parameters["properties"]["status"] == {**STATUS, "example_value": "pending"}
    assert parameters["properties"]["express"] == {"type": "boolean", "description": "Ship express.",
                                                   "example_value": False}


def test_validate_arguments_accepts_a_correct_call_and_names_each_wrong_field(shop: Tool) -> None:
    api = shop.api("createOrder")
    good = {"customer": {"name": "Ada", "address": {"city": "Turin", "postcode": None}},
            "items": [{"sku": "A-1", "quantity": 2}], "status": "paid", "express": True}
    assert validate_arguments(api, good) == []

    wrong_enum = {**good, "status": "lost"}
    assert [(e.field, e.rule) for e in validate_arguments(api, wrong_enum)] == [("status", "enum")]

    missing = {k: v for k, v in good.items() if k != "customer"}
    errors = validate_arguments(api, missing)
    assert [(e.field, e.rule) for e in errors] == [("customer", "required")]
    assert "customer" in str(errors[0])

    nested = {**good, "items": [{"sku": "A-1", "quantity": 0}], "customer": {"address": {"city": "Turin"}}}
    assert [(e.field, e.rule) for e in validate_arguments(api, nested)] == [
        ("customer", "required"), ("items.0.quantity", "minimum")]


def test_validate_call_maps_standardised_names_back(shop: Tool) -> None:
    function = api_to_function(shop.api("listOrders"), shop.standardized_name)
    api_args, problems = validate_call(function, {"session": "s1", "x_request_id": "r1", "status": "nope"})
    assert api_args == {"session": "s1", "X-Request-Id": "r1", "status": "nope"}
    assert [(e.field, e.rule) for e in problems] == [("status", "enum")]
    _, problems = validate_call(function, {"limit": 500})
    assert [(e.field, e.rule) for e in problems] == [("session", "required"), ("limit", "maximum")]


def test_tool_file_round_trip(shop: Tool, notes: Tool) -> None:
    for tool in (shop, notes):
        assert Tool.from_dict(json.loads(json.dumps(tool.to_dict()))) == tool


class Size(str, Enum):
    small = "small"
    large = "large"


class Pizza(BaseModel):
    name: str
    size: Size = Size.small
    toppings: list[str] = []


def order_pizza(shop_id: int, pizza: Pizza, note: str | None = None) -> Pizza:
    return pizza


def test_fastapi_generated_spec() -> None:
    """FastAPI writes 3.1 with anyOf-null optionals, $ref'd enums and titles everywhere (like our hub)."""
    from fastapi import FastAPI

    app = FastAPI(title="Pizzeria")
    app.post("/pizzas/{shop_id}")(order_pizza)
    tool = import_openapi(app.openapi())
    api = tool.apis[0]
    assert (api.method, api.url) == ("POST", "/pizzas/{shop_id}")
    assert [(p.name, p.type, p.location, p.required) for p in api.params] == [
        ("shop_id", "NUMBER", "path", True), ("name", "STRING", "body", True),
        ("note", "STRING", "query", False), ("size", "ENUM", "body", False), ("toppings", "ARRAY", "body", False)]
    assert validate_arguments(api, {"shop_id": 3, "name": "Margherita", "size": "large", "note": None}) == []
    assert [e.field for e in validate_arguments(api, {"shop_id": 3, "name": "M", "size": "huge"})] == ["size"]
