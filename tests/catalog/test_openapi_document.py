"""OpenAPI import, :mod:`toolbench.catalog.openapi.document`: the version check, ``$ref`` resolution (chains,
recursion, the inlining budget), schemas checked where they are written, and every broken document an
OpenAPIError naming the location."""

from __future__ import annotations

import copy
import functools
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from tests.catalog.openapi_helpers import (
    FIXTURES,
    NOTES,
    SHOP,
    error_of,
    minimal,
    one_operation,
)
from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.openapi import OpenAPIError, import_openapi
from toolbench.errors import ToolbenchError
from toolbench.records import Tool


def test_recursive_schema_stops_at_a_placeholder(shop: Tool) -> None:
    assert shop.api("categoryTree").response_schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"type": "object",
                                                    "description": "recursive: #/components/schemas/Category"}},
        },
    }


def test_swagger_2_is_refused_with_what_to_do() -> None:
    message = error_of(FIXTURES / "swagger2.json")
    assert message.startswith(f"{FIXTURES / 'swagger2.json'}: swagger: this is a Swagger 2.0 document")
    assert "convert it" in message


def test_unresolvable_ref_names_where_it_is_and_what_is_missing() -> None:
    assert error_of(FIXTURES / "bad_ref.yaml") == (
        f"{FIXTURES / 'bad_ref.yaml'}: components.schemas.NewOrder.properties.items.items.$ref: "
        "$ref '#/components/schemas/OrderLine' does not resolve: no 'OrderLine' in components.schemas; "
        "fix the reference or add the missing definition")


def test_missing_paths() -> None:
    doc = minimal()
    del doc["paths"]
    assert error_of(doc).startswith("<dict>: paths: missing: the document defines no operations")


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
