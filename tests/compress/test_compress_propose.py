"""The LLM pass that proposes a compressed schema per API: prompt and reply checking are pure; the pass and the
``toolbench compress --propose-schema`` command run with a scripted model."""

import json

import pytest
from typer.testing import CliRunner

from toolbench.cache import ResponseCache
from toolbench.catalog.store import write_tool
from toolbench.cli import app
from toolbench.compress import (
    SCHEMA_SYSTEM_PROMPT,
    CompressConfig,
    compression_report,
    parse_schema_proposal,
    propose_schemas,
    schema_proposal_messages,
)
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Api, Observation, Tool

QUOTES = [json.dumps({"ticker": "CNTS", "price": 312.7, "currency": "USD", "links": {"self": "/q/CNTS"},
                      "bars": [{"t": "2025-01-14", "close": 310.1, "volume": 9}], "request_id": "a1"}),
          json.dumps({"ticker": "LTGR", "price": 145.6, "currency": "USD", "links": {"self": "/q/LTGR"},
                      "bars": [], "request_id": "b2"})]


def test_prompt():
    system, user = schema_proposal_messages("StockQuotes", "get_quote", "Latest quote.", {"type": "object"},
                                            ['{"a": 1}', "x" * 9], max_example_chars=8)
    assert system == {"role": "system", "content": SCHEMA_SYSTEM_PROMPT}
    assert user["content"] == ('API: get_quote (tool StockQuotes)\n\nDescription: Latest quote.\n\n'
                               'Current response schema: {"type": "object"}\n\nRecorded responses:\n\n'
                               '{"a": 1}\n\nxxxxxxxx ...(cut)')


@pytest.mark.parametrize("reply,schema,dropped,error", [
    ('{"ticker": "str", "price": "float"}', {"ticker": "str", "price": "float"}, [], ""),
    ('```json\n{"ticker": "str", "bars": [{"close": "float", "_list_length": 1}]}\n```',
     {"ticker": "str", "bars": [{"close": "float"}]}, [], ""),
    ('Here: {"ticker": "str", "sector": "str", "bars": [{"close": "float", "open": "float"}]}',
     {"ticker": "str", "bars": [{"close": "float"}]}, ["sector", "bars.[].open"], ""),  # invented keys go
    (('{"type": "object", "properties": {"price": {"type": "number"}, "links": {"type": "object", "properties": '
      '{"self": {"type": "string"}}}}}'), {"price": "float", "links": {"self": "str"}}, [], ""),  # JSON Schema too
    ('{"links": {"nope": "str"}, "price": "float"}', {"links": "any", "price": "float"}, ["links.nope"], ""),
    ('{"sector": "str"}', None, ["sector"], "no proposed key appears in the recorded responses"),
    ("I would keep the price.", None, [], "the reply holds no JSON object"),
])
def test_parse_and_check_proposal(reply, schema, dropped, error):
    assert parse_schema_proposal(reply, QUOTES) == (schema, dropped, error)


def test_proposals_shrink_responses_further():
    entries = [{"tool": "StockQuotes", "api": "get_quote", "args": {}, "error": "", "response": r} for r in QUOTES]
    entries.append({"tool": "StockQuotes", "api": "get_quote", "args": {}, "error": "request_error: 404",
                    "response": "{}"})  # failures are no examples
    model = ScriptedChatModel(['{"ticker": "str", "price": "float", "currency": "str"}'])
    api = Api(tool="StockQuotes", name="get_quote", description="Latest quote of a ticker.")
    (proposal,) = propose_schemas(model, entries, {("StockQuotes", "get_quote"): api})
    assert proposal.schema == {"ticker": "str", "price": "float", "currency": "str"} and not proposal.error
    prompt = model.requests[0]["messages"][1]["content"]
    assert "Latest quote of a ticker." in prompt and QUOTES[0] in prompt and QUOTES[1] in prompt
    assert model.requests[0]["params"] == {"temperature": 0.0}
    config = CompressConfig(max_total_chars=0)
    before = compression_report(entries, {}, config)["overall"]["ratio"]
    after = compression_report(entries, {("StockQuotes", "get_quote"): proposal.schema}, config)["overall"]
    assert after["ratio"] < before and after["compressed_chars"] == len(
        '{"ticker":"CNTS","price":312.7,"currency":"USD"}{"ticker":"LTGR","price":145.6,"currency":"USD"}')


def test_cli_propose_then_reuse(tmp_path, monkeypatch):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    for i, text in enumerate(QUOTES):
        cache.put("StockQuotes", "get_quote", {"i": i}, Observation(response=text, status=200))
    catalog = tmp_path / "tools"
    write_tool(Tool(name="StockQuotes", category="Finance",
                    apis=[Api(tool="StockQuotes", name="get_quote", url="http://h/q", category="Finance")]), catalog)
    model = ScriptedChatModel(['{"ticker": "str", "price": "float", "volume": "int"}'])
    made = {}

    def fake_factory(name, **kw):
        made.update(kw, name=name)
        return model

    monkeypatch.setattr("toolbench.llm.factory.make_chat_model", fake_factory)
    runner = CliRunner()
    args = ["compress", str(tmp_path / "cache.sqlite"), "--catalog", str(catalog), "--propose-schema",
            "--base-url", "http://127.0.0.1:1/v1", "--model", "m", "--schemas-out", str(tmp_path / "s.json")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert made["name"] == "m" and made["base_url"] == "http://127.0.0.1:1/v1"
    assert "proposed StockQuotes/get_quote: dropped unknown keys volume" in result.output
    assert "with the proposed schemas:" in result.output
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["proposals"][0]["schema"] == {"ticker": "str", "price": "float"}
    again = runner.invoke(app, ["compress", str(tmp_path / "cache.sqlite"), "--catalog", str(catalog), "--schemas",
                                str(tmp_path / "s.json"), "--out", str(tmp_path / "r.json")])
    assert again.exit_code == 0, again.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["apis"][0]["proposed_ratio"] < report["apis"][0]["ratio"]
