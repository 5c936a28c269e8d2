"""The hub's OpenAPI documents are complete enough for the importer to yield a good catalog."""

from toolbench.hub.catalog import hub_tools, openapi_documents


def test_every_operation_is_documented():
    docs = openapi_documents()
    assert len(docs) >= 8
    for slug, doc in docs.items():
        assert doc["info"]["x-category"] and doc["info"]["description"]
        assert doc["components"]["securitySchemes"]["RapidAPIKey"]["name"] == "X-RapidAPI-Key"
        for path, item in doc["paths"].items():
            assert path.startswith(f"/{slug}/")
            for method, op in item.items():
                where = f"{method.upper()} {path}"
                assert op["operationId"].islower(), where
                assert op["summary"] and op["description"], where
                assert op["tags"] == [doc["info"]["title"]], where
                assert op["x-category"] == doc["info"]["x-category"], where


def test_importer_yields_the_catalog_the_issue_asks_for():
    tools = hub_tools()
    apis = [a for t in tools for a in t.apis]
    assert len(tools) >= 8 and len(apis) >= 40
    assert len({t.category for t in tools}) >= 5
    for tool in tools:
        assert tool.auth and tool.base_url == "http://127.0.0.1:8750"
        for api in tool.apis:
            assert api.url.startswith(tool.base_url + "/") and api.description
            assert api.response_schema, f"{tool.name}/{api.name} has no response schema"
    search = next(a for a in apis if a.name == "search_restaurants")
    location = next(p for p in search.params if p.name == "location")
    assert location.required and location.location == "body" and location.schema["type"] == "object"
    cuisines = next(p for p in search.params if p.name == "cuisines")
    assert "italian" in cuisines.schema["items"]["enum"]


def test_documents_are_deterministic():
    assert openapi_documents() == openapi_documents()
