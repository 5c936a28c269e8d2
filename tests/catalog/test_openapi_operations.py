"""OpenAPI import, :mod:`toolbench.catalog.openapi.operations`: the Tool, its APIs and their Param records
(servers, security schemes, parameters, request bodies, response schemas, names, categories, extensions)."""

from __future__ import annotations

import json
import logging

import pytest

from tests.catalog.openapi_helpers import (
    ADDRESS,
    ORDER_ITEM,
    STATUS,
    error_of,
    minimal,
    one_operation,
    params,
)
from toolbench.catalog.openapi import import_openapi
from toolbench.records import AuthScheme, Tool


def test_tool_fields_from_info_servers_and_security_schemes(shop: Tool) -> None:
    assert (shop.name, shop.standardized_name, shop.title) == ("Tiny Shop", "tiny_shop", "Tiny Shop")
    assert shop.description == "Orders and categories of a tiny shop."
    assert shop.category == "Commerce"  # the document's first tag
    # "{scheme}://{region}.shop.example.com/{version}/" with the variables' defaults, trailing slash dropped
    assert shop.base_url == "https://eu.shop.example.com/v2"
    assert shop.host == "eu.shop.example.com"
    assert shop.auth == [
        AuthScheme(name="ApiKeyAuth", type="apiKey", location="header", param_name="X-API-Key"),
        AuthScheme(name="BearerAuth", type="http", scheme="bearer"),
        AuthScheme(name="OAuth", type="oauth2"),
    ]
    assert [(a.name, a.method, a.url) for a in shop.apis] == [
        ("listOrders", "GET", "https://eu.shop.example.com/v2/orders"),
        ("createOrder", "POST", "https://eu.shop.example.com/v2/orders"),
        ("getOrder", "GET", "https://eu.shop.example.com/v2/orders/{id}"),
        ("Cancel an order", "DELETE", "https://eu.shop.example.com/v2/orders/{id}"),  # no operationId: summary
        ("PATCH /orders/{id}", "PATCH", "https://eu.shop.example.com/v2/orders/{id}"),  # neither: method + path
        ("categoryTree", "GET", "https://cdn.shop.example.com/categories/tree"),  # the operation's own server
    ]
    assert {a.tool for a in shop.apis} == {"Tiny Shop"}
    assert {a.category for a in shop.apis} == {"Commerce"}


def test_query_header_cookie_params_with_ref_to_ref_enum_defaults_and_ignored_accept(shop: Tool) -> None:
    api = shop.api("listOrders")
    assert api.description == "List orders. Newest first."
    assert params(shop, "listOrders", "required") == [
        {"name": "session", "type": "STRING", "description": "", "default": "", "in": "cookie"},
    ]
    assert params(shop, "listOrders", "optional") == [
        # parameters/Status -> parameters/StatusFilter -> schemas/OrderStatus
        {"name": "status", "type": "ENUM", "description": "Only orders in this state.", "default": "pending",
         "in": "query", "schema": STATUS},
        # bounds are not expressible in ToolBench's NUMBER: the schema is kept
        {"name": "limit", "type": "NUMBER", "description": "", "default": 20, "in": "query",
         "schema": {"type": "integer", "default": 20, "minimum": 1, "maximum": 100}},
        # a plain string: ToolBench's STRING, no schema; the parameter's example is the default
        {"name": "X-Request-Id", "type": "STRING", "description": "Trace id.", "default": "req-42", "in": "header"},
        # the 'Accept' header parameter is ignored, as OpenAPI says
    ]


def test_json_body_properties_become_params_with_nested_objects_and_arrays(shop: Tool) -> None:
    api = shop.api("createOrder")
    assert api.description == "Create an order."
    customer = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "description": "Full name."}, "address": ADDRESS},
    }
    assert params(shop, "createOrder", "required") == [
        # defaults of body properties come from the request's example when the schema has none
        {"name": "customer", "type": "OBJECT", "description": "", "default": {"name": "Ada"}, "in": "body",
         "schema": customer},
        {"name": "items", "type": "ARRAY", "description": "", "default": [{"sku": "A-1", "quantity": 2}],
         "in": "body", "schema": {"type": "array", "minItems": 1, "items": ORDER_ITEM}},
    ]
    assert params(shop, "createOrder", "optional") == [
        # 'id' is readOnly: not sent in a request
        {"name": "note", "type": "STRING", "description": "Note for the courier.", "default": "", "in": "body"},
        {"name": "express", "type": "BOOLEAN", "description": "Ship express.", "default": False, "in": "body"},
        {"name": "status", "type": "ENUM", "description": "", "default": "pending", "in": "body",
         "schema": STATUS},
    ]


def test_response_schema_is_the_resolved_success_schema(shop: Tool) -> None:
    order = shop.api("createOrder").response_schema  # 201 -> responses/OrderOk -> schemas/Order
    # Order is allOf [NewOrder, {total}]: merged into one object schema
    assert "allOf" not in order and order["type"] == "object" and order["required"] == ["customer", "items"]
    assert order["properties"]["customer"]["properties"]["address"] == ADDRESS
    # 3.0's boolean exclusiveMinimum is rewritten as JSON Schema's numeric one
    assert order["properties"]["total"] == {"type": "number", "exclusiveMinimum": 0}
    assert list(order["properties"]) == ["id", "customer", "items", "note", "express", "status", "total"]
    assert shop.api("listOrders").response_schema == {"type": "array", "items": order}  # YAML's integer key 200
    assert shop.api("getOrder").response_schema == order  # 'default' when there is no 2xx
    assert shop.api("Cancel an order").response_schema is None  # 204 without content
    assert "$ref" not in json.dumps(shop.to_dict())


def test_path_item_params_and_non_object_body(shop: Tool) -> None:
    path_id = {"name": "id", "type": "STRING", "description": "The order's id.", "default": "", "in": "path"}
    for name in ("getOrder", "Cancel an order", "PATCH /orders/{id}"):
        assert params(shop, name, "required") == [path_id]
    assert params(shop, "getOrder", "optional") == [
        {"name": "expand", "type": "ARRAY", "description": "", "default": "", "in": "query",
         "schema": {"type": "array", "items": {"type": "string", "enum": ["customer", "items"]}}},
    ]
    # an array body is one parameter named "body"
    assert params(shop, "PATCH /orders/{id}", "optional") == [
        {"name": "body", "type": "ARRAY", "description": "", "default": "", "in": "body",
         "schema": {"type": "array", "items": {"type": "object", "properties": {"op": {"type": "string"},
                                                                               "path": {"type": "string"}}}}},
    ]


def test_openapi_31_nullable_types_examples_const_and_ref_siblings(notes: Tool) -> None:
    assert (notes.name, notes.description, notes.category) == ("Notes", "Keep notes.", "Productivity")
    assert (notes.base_url, notes.host) == ("/api", "")  # a relative server, read from a file: kept relative
    assert notes.auth == [AuthScheme(name="token", type="http", scheme="bearer"),
                          AuthScheme(name="key", type="apiKey", location="query", param_name="api_key")]
    assert params(notes, "listNotes", "optional") == [
        # the value of the first entry of the parameter's examples map (itself a $ref)
        {"name": "tag", "type": "STRING", "description": "", "default": "work", "in": "query",
         "schema": {"type": ["string", "null"]}},
        {"name": "pinned", "type": "BOOLEAN", "description": "", "default": "", "in": "query"},
        {"name": "sort", "type": "ENUM", "description": "", "default": "", "in": "query",
         "schema": {"const": "created"}},
        # "number" keeps its schema: ToolBench's NUMBER would be offered as "integer"; examples[0] is the default
        {"name": "min_score", "type": "NUMBER", "description": "", "default": 0.5, "in": "query",
         "schema": {"type": "number", "examples": [0.5]}},
    ]
    assert params(notes, "createNote", "required") == [
        {"name": "title", "type": "STRING", "description": "", "default": "Groceries", "in": "body",
         "schema": {"type": "string", "minLength": 1, "examples": ["Groceries"]}},
    ]
    assert params(notes, "createNote", "optional") == [
        {"name": "text", "type": "STRING", "description": "Body text.", "default": "", "in": "body",
         "schema": {"type": ["string", "null"]}},
        # the description next to the $ref overrides the referenced schema's
        {"name": "priority", "type": "ENUM", "description": "1 is highest.", "default": 2, "in": "body",
         "schema": {"type": "integer", "enum": [1, 2, 3], "examples": [2]}},
        {"name": "kind", "type": "ENUM", "description": "", "default": "", "in": "body",
         "schema": {"const": "note"}},
        {"name": "tags", "type": "ARRAY", "description": "", "default": "", "in": "body",
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "parent", "type": "OBJECT", "description": "recursive: #/components/schemas/Note", "default": "",
         "in": "body", "schema": {"type": "object"}},
    ]
    # "2XX" with "application/json; charset=utf-8"
    assert notes.api("listNotes").response_schema["items"]["properties"]["priority"]["enum"] == [1, 2, 3]


def test_body_property_clashing_with_a_parameter_keeps_the_body_whole(notes: Tool) -> None:
    assert params(notes, "replaceNote", "required") == [
        {"name": "noteId", "type": "NUMBER", "description": "", "default": "", "in": "path"},
    ]
    assert params(notes, "replaceNote", "optional") == [
        {"name": "body", "type": "OBJECT", "description": "", "default": "", "in": "body",
         "schema": {"type": "object", "properties": {"noteId": {"type": "integer"}, "title": {"type": "string"}}}},
    ]


def test_category_and_tool_name_precedence() -> None:
    tagged = one_operation({"tags": ["Weather"]})
    assert import_openapi(tagged).category == "Weather"  # an operation's tag
    assert import_openapi(minimal()).category == "Uncategorized"
    doc = one_operation({"tags": ["Weather"]}, info={"title": "T", "version": "1", "x-category": "Data"})
    assert import_openapi(doc).category == "Data"
    tool = import_openapi(doc, category="Sports", tool_name="My Tool")
    assert (tool.category, tool.name, tool.title, tool.standardized_name) == ("Sports", "My Tool", "T", "my_tool")
    assert tool.apis[0].tool == "My Tool"
    untitled = minimal(info={"version": "1"})
    assert import_openapi(untitled, tool_name="Named").name == "Named"


def test_repeated_summaries_get_distinct_names() -> None:
    doc = minimal(paths={
        "/a": {"get": {"summary": "Fetch", "responses": {}}},
        "/b": {"get": {"summary": "Fetch", "responses": {}}},
    })
    assert [a.name for a in import_openapi(doc).apis] == ["Fetch", "Fetch (GET /b)"]


def test_non_json_body_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    doc = minimal(paths={"/upload": {"post": {
        "operationId": "upload",
        "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "OK"}}}}})
    with caplog.at_level(logging.WARNING, logger="toolbench.catalog.openapi"):
        api = import_openapi(doc).api("upload")
    assert api.params == []
    assert "paths./upload.post.requestBody: no JSON request body (only multipart/form-data)" in caplog.text


def test_parameter_without_name_names_its_location() -> None:
    doc = minimal(paths={"/orders/{id}": {"get": {"parameters": [{"in": "path", "schema": {"type": "string"}}],
                                                  "responses": {}}}})
    assert error_of(doc) == ("<dict>: paths./orders/{id}.get.parameters[0]: missing 'name'; every parameter "
                             "needs a name and an 'in'")


def test_operation_extensions_are_kept_on_the_api() -> None:
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Finder", "version": "1"},
        "servers": [{"url": "https://finder.example.com"}],
        "paths": {"/search": {"post": {
            "operationId": "search", "x-consequential": False, "x-rate-tier": "free",
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"q": {"type": "string"}}}}}},
            "responses": {"200": {"description": "ok"}},
        }}},
    }
    api = import_openapi(doc).api("search")
    assert api.extra == {"x-consequential": False, "x-rate-tier": "free"}
    assert api.to_dict()["x-consequential"] is False
