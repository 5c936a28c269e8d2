"""OpenAPI 3.0/3.1 import: the Tool, Api and Param records it produces, the function schemas offered from
them, and the errors for bad documents. No network: documents come from tests/fixtures/openapi, dicts, and a
loopback HTTP server."""

from __future__ import annotations

import copy
import functools
import http.server
import json
import logging
import random
import socket
import threading
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from toolbench.catalog.arguments import validate_arguments, validate_call
from toolbench.catalog.functions import api_to_function
from toolbench.catalog.openapi import OpenAPIError, import_openapi
from toolbench.errors import ToolbenchError
from toolbench.records import AuthScheme, Tool

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
SHOP = FIXTURES / "shop.yaml"
NOTES = FIXTURES / "notes-3.1.json"


@pytest.fixture(scope="module")
def shop() -> Tool:
    return import_openapi(SHOP)


@pytest.fixture(scope="module")
def notes() -> Tool:
    return import_openapi(NOTES)


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


# -- the tool -------------------------------------------------------------------------------------------------


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
    assert order["allOf"][0]["properties"]["customer"]["properties"]["address"] == ADDRESS
    # 3.0's boolean exclusiveMinimum is rewritten as JSON Schema's numeric one
    assert order["allOf"][1] == {"type": "object", "properties": {"total": {"type": "number", "exclusiveMinimum": 0}}}
    assert shop.api("listOrders").response_schema == {"type": "array", "items": order}  # YAML's integer key 200
    assert shop.api("getOrder").response_schema == order  # 'default' when there is no 2xx
    assert shop.api("Cancel an order").response_schema is None  # 204 without content
    assert "$ref" not in json.dumps(shop.to_dict())


def test_recursive_schema_stops_at_a_placeholder(shop: Tool) -> None:
    assert shop.api("categoryTree").response_schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"type": "object",
                                                    "description": "recursive: #/components/schemas/Category"}},
        },
    }


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


# -- OpenAPI 3.1 -----------------------------------------------------------------------------------------------


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


# -- the functions offered to a model ----------------------------------------------------------------------------


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


# -- sources and options --------------------------------------------------------------------------------------------


def test_dict_json_and_yaml_sources_agree(tmp_path: Path) -> None:
    doc = json.loads(NOTES.read_text())
    from_dict = import_openapi(doc)
    as_yaml = tmp_path / "notes.yml"
    import yaml

    as_yaml.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert import_openapi(as_yaml) == from_dict == import_openapi(str(NOTES))


def test_yaml_is_read_as_yaml_12_dates_and_yes_stay_strings(tmp_path: Path) -> None:
    spec = tmp_path / "dates.yaml"
    spec.write_text("""
openapi: "3.1.0"
info: {title: Dates, version: "1"}
paths:
  /days:
    get:
      parameters:
        - {name: day, in: query, schema: {type: string, format: date, default: 2024-05-01}}
        - {name: on, in: query, schema: {type: boolean, default: yes}}
      responses: {"200": {description: OK}}
""")
    assert params(import_openapi(spec), "GET /days", "optional") == [
        {"name": "day", "type": "STRING", "description": "", "default": "2024-05-01", "in": "query",
         "schema": {"type": "string", "format": "date", "default": "2024-05-01"}},
        {"name": "on", "type": "BOOLEAN", "description": "", "default": "yes", "in": "query"},
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


# -- from a URL (a loopback server) -------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The fixtures folder over HTTP on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(FIXTURES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_import_from_url_resolves_a_relative_server(served: str) -> None:
    tool = import_openapi(f"{served}/notes-3.1.json")
    assert tool.base_url == f"{served}/api"
    assert tool.host == served.removeprefix("http://")
    assert tool.api("listNotes").url == f"{served}/api/notes"
    assert import_openapi(f"{served}/shop.yaml").base_url == "https://eu.shop.example.com/v2"  # absolute: kept


def test_url_errors_are_clear(served: str) -> None:
    with pytest.raises(OpenAPIError, match=r"missing\.json: the server answered HTTP 404"):
        import_openapi(f"{served}/missing.json")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OpenAPIError, match="could not fetch the document .* check the URL"):
        import_openapi(f"http://127.0.0.1:{port}/openapi.json", timeout=5)


# -- errors -------------------------------------------------------------------------------------------------------


def error_of(source: Any, **kwargs: Any) -> str:
    with pytest.raises(OpenAPIError) as info:
        import_openapi(source, **kwargs)
    return str(info.value)


def test_swagger_2_is_refused_with_what_to_do() -> None:
    message = error_of(FIXTURES / "swagger2.json")
    assert message.startswith(f"{FIXTURES / 'swagger2.json'}: swagger: this is a Swagger 2.0 document")
    assert "convert it" in message


def test_truncated_json_and_yaml_name_the_line() -> None:
    message = error_of(FIXTURES / "truncated.json")
    assert message.startswith(f"{FIXTURES / 'truncated.json'}: line 16, column 30: invalid JSON")
    assert message.endswith("the document ends before it is complete, as if cut short: fetch or save it again")
    message = error_of(FIXTURES / "truncated.yaml")
    assert message.startswith(f"{FIXTURES / 'truncated.yaml'}: line 9, column 1: invalid YAML")
    assert "as if cut short" in message


def test_json_syntax_error_in_the_middle_is_not_called_truncated(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"openapi": "3.0.0",\n "info": {"title": "T" "version": "1"}, "paths": {}}')
    assert error_of(spec) == (f"{spec}: line 2, column 24: invalid JSON (Expecting ',' delimiter); "
                              "fix the syntax there")


def test_unresolvable_ref_names_where_it_is_and_what_is_missing() -> None:
    assert error_of(FIXTURES / "bad_ref.yaml") == (
        f"{FIXTURES / 'bad_ref.yaml'}: components.schemas.NewOrder.properties.items.items.$ref: "
        "$ref '#/components/schemas/OrderLine' does not resolve: no 'OrderLine' in components.schemas; "
        "fix the reference or add the missing definition")


def test_missing_paths() -> None:
    doc = minimal()
    del doc["paths"]
    assert error_of(doc).startswith("<dict>: paths: missing: the document defines no operations")


def test_parameter_without_name_names_its_location() -> None:
    doc = minimal(paths={"/orders/{id}": {"get": {"parameters": [{"in": "path", "schema": {"type": "string"}}],
                                                  "responses": {}}}})
    assert error_of(doc) == ("<dict>: paths./orders/{id}.get.parameters[0]: missing 'name'; every parameter "
                             "needs a name and an 'in'")


@pytest.mark.parametrize(("doc", "expected"), [
    ({"openapi": "2.0", "info": {"title": "T"}, "paths": {}}, "openapi: version '2.0' is not supported"),
    ({"info": {"title": "T"}, "paths": {}}, "not an OpenAPI document: no 'openapi' field"),
    (minimal(info={"version": "1"}), "info.title: missing: the tool needs a name; add info.title or pass tool_name"),
    (minimal(paths=[]), "paths: 'paths' must be a mapping, got a list"),
    (one_operation({"parameters": [{"name": "q", "in": "body"}]}),
     "paths./things.get.parameters[0].in: 'in' must be one of path, query, header, cookie, got 'body'"),
    (one_operation({"parameters": [{"name": "q", "in": "query", "schema": {"type": "strin"}}]}),
     "paths./things.get.parameters[0].schema.type: unknown type 'strin'"),
    (one_operation({"parameters": [{"name": "q", "in": "query", "required": "yes"}]}),
     "paths./things.get.parameters[0].required: 'required' must be true or false, got a string"),
    (one_operation({"parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "minLength": "5"}}]}),
     ("paths./things.get.parameters[0].schema: not a valid JSON schema after resolving $ref ('5' is not of type "
      "'integer' at minLength)")),
    (one_operation({"parameters": [{"name": "q", "in": "query", "schema": {
        "type": "object", "properties": {"a": {"type": "string", "required": True}}}}]}),
     "paths./things.get.parameters[0].schema.properties.a.required: must be a list of property names"),
    (one_operation({"parameters": [{"$ref": "other.yaml#/components/parameters/Q"}]}),
     ("paths./things.get.parameters[0].$ref: $ref 'other.yaml#/components/parameters/Q' points outside this "
      "document")),
    (one_operation({"parameters": [{"$ref": "#/components/parameters/A"}]},
                   components={"parameters": {"A": {"$ref": "#/components/parameters/A"}}}),
     "$ref cycle #/components/parameters/A -> #/components/parameters/A"),
    (one_operation({}, path="/things/{id}"),
     "paths./things/{id}.get: the path has {id} but no path parameter 'id' is declared"),
    (one_operation({}, path="things"), "paths.things: a path must start with '/'"),
    (minimal(servers=[{"url": "https://{tenant}.example.com"}]),
     ("servers[0].variables.tenant: server URL 'https://{tenant}.example.com' uses {tenant} but it has no "
      "variable with a 'default'")),
    (minimal(components={"securitySchemes": {"k": {"type": "apiKey", "in": "body", "name": "k"}}}),
     "components.securitySchemes.k.in: an apiKey scheme goes in 'header', 'query' or 'cookie', got 'body'"),
    (minimal(components={"securitySchemes": {"k": {"type": "magic"}}}),
     "components.securitySchemes.k.type: unknown security scheme type 'magic'"),
])
def test_bad_documents_raise_openapi_error(doc: dict, expected: str) -> None:
    assert expected in error_of(doc)


def test_bad_files(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: file not found; check the path"
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    assert "the document is empty" in error_of(empty)
    listing = tmp_path / "list.yaml"
    listing.write_text("- openapi: 3.0.0\n")
    assert "the document must be a mapping (an OpenAPI object), got a list" in error_of(listing)
    binary = tmp_path / "spec.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    assert "not UTF-8 text" in error_of(binary)
    assert "cannot import an OpenAPI document from a int" in error_of(42)  # type: ignore[arg-type]


def test_schemas_that_would_grow_exponentially_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """S_i references S_i+1, S_i+2 and S_i+3: fully inlined, S0 would hold ~1.8^n copies."""
    monkeypatch.setattr("toolbench.catalog.openapi.document.MAX_INLINED_REFS", 20)
    n = 40
    schemas = {f"S{i}": {"type": "object", "properties": {f"p{j}": {"$ref": f"#/components/schemas/S{i + j}"}
                                                          for j in (1, 2, 3) if i + j < n}} for i in range(n)}
    doc = one_operation({"parameters": [{"name": "q", "in": "query", "schema": {"$ref": "#/components/schemas/S0"}}]},
                        components={"schemas": schemas})
    schema = import_openapi(doc).apis[0].optional_params[0].schema
    text = json.dumps(schema)
    assert text.count('"type": "object"') == 20  # 20 refs inlined (S0 the first); later ones are placeholders
    assert '"description": "not inlined: #/components/schemas/S' in text
    assert validate_arguments(import_openapi(doc).apis[0], {"q": {"p1": {"p1": {}}}}) == []


def _node_paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _node_paths(child, prefix + (key,))


def test_broken_documents_never_raise_anything_but_openapi_error() -> None:
    """Replace random nodes of the fixtures by wrong values: the import succeeds or raises OpenAPIError."""
    import yaml

    docs = [yaml.safe_load(SHOP.read_text()), json.loads(NOTES.read_text())]
    bad_values = [None, 1, "x", [], {}, True, [1], {"$ref": 3}, {"$ref": "#/nope"}]
    rng = random.Random(0)
    for _ in range(300):
        doc = copy.deepcopy(rng.choice(docs))
        path = rng.choice([p for p in _node_paths(doc) if p])
        parent = functools.reduce(lambda node, key: node[key], path[:-1], doc)
        parent[path[-1]] = rng.choice(bad_values)
        try:
            import_openapi(doc)
        except OpenAPIError as exc:
            assert isinstance(exc, ToolbenchError) and str(exc).startswith("<dict>")


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
