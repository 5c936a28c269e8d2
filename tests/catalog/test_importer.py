"""``toolbench catalog import-toolbench`` (:mod:`toolbench.catalog.importer`): a tool documented under several
categories keeps every category's APIs and documentation."""

from __future__ import annotations

import json
from pathlib import Path

from toolbench.catalog.importer import import_toolbench
from toolbench.catalog.store import load_catalog, read_queries

REF = Path(__file__).resolve().parents[2] / "data" / "reference"


def _entry(category: str, api: str, description: str, template: dict | None = None) -> dict:
    return {"category_name": category, "tool_name": "Currency Converter_v2", "api_name": api,
            "api_description": description, "method": "GET",
            "required_parameters": [{"name": "from", "type": "STRING", "description": "Currency", "default": "USD"}],
            "optional_parameters": [], "template_response": template or {"result": "float"}}


def _queries() -> list[dict]:
    other = {**_entry("Finance", "Quote", "A quote"), "tool_name": "Stocks"}
    return [
        {"query": "Convert 10 USD", "query_id": 1, "relevant APIs": [["Currency Converter_v2", "Convert"]],
         "api_list": [_entry("Finance", "Convert", "Convert an amount"), _entry("Finance", "Rates", "All rates"),
                      other]},
        {"query": "Convert 10 EUR", "query_id": 2, "relevant APIs": [["Currency Converter_v2", "Convert"]],
         "api_list": [_entry("Financial", "Convert", "Convert an amount", {"detail": "str"}),
                      _entry("Financial", "Rates", "All rates"), _entry("Financial", "Symbols", "Known symbols")]},
    ]


def documented(catalog_dir: Path) -> dict[tuple[str, str, str], dict]:
    """(category, tool, API name as the files give it) -> documentation, for every API of a catalog: an API
    another category documents is under that category; the tool's own APIs are under each of its categories
    that does not document them otherwise."""
    out: dict[tuple[str, str, str], dict] = {}
    for tool in load_catalog(catalog_dir).tools:
        for own in (False, True):
            for api in tool.apis:
                if ("category_name" in api.extra) == own:
                    continue
                doc = api.to_query_dict()
                filed_under, name = doc.pop("category_name"), doc.pop("documented_as", api.name)
                doc.pop("api_name")
                for category in tool.extra.get("categories", [filed_under]) if own else [filed_under]:
                    out.setdefault((category, tool.name, name), doc)
    return out


def expected(query_file: Path) -> dict[tuple[str, str, str], dict]:
    """The same for every API a query file documents (the first documentation of a (category, tool, API))."""
    out: dict[tuple[str, str, str], dict] = {}
    queries, problems = read_queries(query_file)
    assert problems == []
    for query in queries:
        for api in query.apis:
            doc = api.to_query_dict()
            key = (doc.pop("category_name"), api.tool, doc.pop("api_name"))
            out.setdefault(key, doc)
    return out


def test_a_tool_under_two_categories_keeps_every_api(tmp_path: Path) -> None:
    source = tmp_path / "G1_query.json"
    source.write_text(json.dumps(_queries()))
    out = tmp_path / "catalog"
    report = import_toolbench(source, out)
    assert report.errors == [] and report.apis_added == 5
    assert [p.message for p in report.problems if "documented differently" in p.message] == []
    assert any("Finance, Financial" in p.message and p.severity == "warning" for p in report.problems)
    catalog = load_catalog(out)
    tool = catalog.get_tool("Currency Converter_v2")
    assert catalog.paths[tool.name].parent.name == "Finance" and tool.extra["categories"] == ["Finance", "Financial"]
    assert [a.name for a in tool.apis] == ["Convert", "Rates", "Convert (Financial)", "Symbols"]
    assert tool.api("Convert (Financial)").response_schema == {"detail": "str"}
    # every (category, tool, API) the file documents is in the catalog, documented the same way
    documents = documented(out)
    assert {key: documents.get(key) for key in expected(source)} == expected(source)
    assert import_toolbench(source, out).apis_added == 0  # importing again adds nothing


def test_tool_files_of_one_tool_in_two_category_folders(tmp_path: Path) -> None:
    def tool_file(category: str, apis: list[dict]) -> None:
        path = tmp_path / "tools" / category / "currency_converter_v2.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"tool_name": "Currency Converter_v2", "tool_description": "FX",
                                    "api_list": apis}))

    convert = {"name": "Convert", "url": "https://fx.example.com/convert", "method": "GET", "description": "c",
               "required_parameters": [], "optional_parameters": []}
    tool_file("Finance", [convert])
    tool_file("Financial", [{**convert, "description": "Convert money"}, {**convert, "name": "Symbols"}])
    report = import_toolbench(tmp_path / "tools", tmp_path / "catalog")
    assert report.errors == [] and report.apis_added == 3
    tool = load_catalog(tmp_path / "catalog").get_tool("Currency Converter_v2")
    assert [(a.name, a.description, a.extra.get("category_name")) for a in tool.apis] == [
        ("Convert", "c", None), ("Convert (Financial)", "Convert money", "Financial"),
        ("Symbols", "c", "Financial")]


def test_stabletoolbench_queries_lose_no_category(tmp_path: Path) -> None:
    """'👋 Demo Project' sits under Media, Sports and Events in StableToolBench's G1 file, documented differently."""
    source = REF / "stabletoolbench" / "G1_instruction.json"
    report = import_toolbench(source, tmp_path)
    assert report.errors == []
    assert [p for p in report.problems if "documented differently" in p.message] == []
    documents = documented(tmp_path)
    assert {key: documents.get(key) for key in expected(source)} == expected(source)
    tool = load_catalog(tmp_path).get_tool("👋 Demo Project")
    assert tool.extra["categories"] == ["Media", "Sports", "Events"]


def test_an_api_of_another_category_is_called_under_it_on_stabletoolbench(tmp_path: Path) -> None:
    """StableToolBench's server finds an API by category, tool and API name: the variant kept for the second
    category is sent with that category and the name the files give it."""
    from toolbench.executor import Executor, ExecutorConfig

    source = tmp_path / "G1_query.json"
    source.write_text(json.dumps(_queries()))
    import_toolbench(source, tmp_path / "catalog")
    tools = load_catalog(tmp_path / "catalog").tools
    executor = Executor(tools, ExecutorConfig(service_url="http://127.0.0.1:9"), env={})
    tool = next(t for t in tools if t.name == "Currency Converter_v2")
    sent = {name: executor._prepare(tool, tool.api(name), {"from": "USD"}).json
            for name in ("Convert", "Convert (Financial)", "Symbols")}
    assert [(p["category"], p["tool_name"], p["api_name"]) for p in sent.values()] == [
        ("Finance", "currency_converter_v2", "convert"), ("Financial", "currency_converter_v2", "convert"),
        ("Financial", "currency_converter_v2", "symbols")]
