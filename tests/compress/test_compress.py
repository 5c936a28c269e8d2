"""Compression keeps the keys the schema declares, drops empties, cuts lists/strings/total, reports ratios."""

import json

import pytest

from toolbench.compress import (
    CompressConfig,
    CompressError,
    compress_response,
    compression_report,
    prune,
    shrink,
)


def test_json_schema_pruning_keeps_declared_keys():
    schema = {"type": "object", "properties": {
        "ticker": {"type": "string"},
        "bars": {"type": "array", "items": {"type": "object", "properties": {"close": {"type": "number"}}}},
        "meta": {"anyOf": [{"type": "object", "properties": {"source": {"type": "string"}}}, {"type": "null"}]}}}
    value = {"ticker": "CNTS", "internal_id": 7, "bars": [{"close": 1.5, "volume": 9}, {"close": 2.0}],
             "meta": {"source": "x", "debug": True}}
    assert prune(value, schema) == {"ticker": "CNTS", "bars": [{"close": 1.5}, {"close": 2.0}],
                                    "meta": {"source": "x"}}


def test_toolbench_template_pruning():
    template = {"name": "str", "line_up": [{"name": "str", "_list_length": 2}]}
    value = {"name": "Gig", "venue_url": "u", "line_up": [{"name": "A", "link": "l"}]}
    assert prune(value, template) == {"name": "Gig", "line_up": [{"name": "A"}]}
    assert prune(value, json.dumps(template)) == prune(value, template)  # a template given as JSON text


def test_no_schema_or_opaque_schema_keeps_everything():
    value = {"a": {"b": 1}}
    assert prune(value, None) == value
    assert prune(value, {"type": "object"}) == value
    assert prune(value, "not json") == value


def test_shrink_drops_empty_and_cuts():
    cfg = CompressConfig(max_list_items=2, max_string_chars=5)
    value = {"a": None, "b": "", "c": [], "d": {}, "e": [1, 2, 3], "f": "abcdefgh", "g": 0, "h": False,
             "i": [{"x": None}, {"y": 1}]}
    assert shrink(value, cfg) == {"e": [1, 2], "f": "abcde...", "g": 0, "h": False, "i": [{"y": 1}]}


def test_total_cap_and_non_json():
    text = json.dumps({"items": [{"t": "x" * 100} for _ in range(50)]})
    out = compress_response(text, None, CompressConfig(max_list_items=0, max_total_chars=1024))
    assert len(out) == 1024
    assert compress_response("plain text " * 300, None, CompressConfig()) == ("plain text " * 300)[:2048]


def test_report_ratios():
    entries = [{"tool": "T", "api": "a", "error": "", "response": json.dumps({"keep": 1, "drop": "x" * 50})},
               {"tool": "T", "api": "a", "error": "", "response": json.dumps({"keep": 2, "drop": "y" * 50})},
               {"tool": "T", "api": "b", "error": "timeout: x", "response": ""}]
    report = compression_report(entries, {("T", "a"): {"type": "object", "properties": {"keep": {}}}})
    row = report["apis"][0]
    assert (row["api"], row["responses"], row["compressed_chars"]) == ("a", 2, 2 * len('{"keep":1}'))
    assert report["overall"]["ratio"] == row["ratio"] < 0.2


def test_hub_responses_keep_the_schema_keys():
    """Against the hub's own catalog: every key of a compressed answer is in the API's response schema."""
    from fastapi.testclient import TestClient

    from toolbench.hub import create_app
    from toolbench.hub.catalog import hub_tools

    api = next(a for t in hub_tools() for a in t.apis if a.name == "get_weather_forecast")
    client = TestClient(create_app())
    text = client.get("/weather/forecast", params={"city": "Paris", "days": 7},
                      headers={"X-RapidAPI-Key": "k"}).text
    out = json.loads(compress_response(text, api.response_schema, CompressConfig(max_list_items=3)))
    assert set(out) <= set(api.response_schema["properties"]) and len(out["days"]) == 3
    day_keys = set(api.response_schema["properties"]["days"]["items"]["properties"])
    assert all(set(d) <= day_keys for d in out["days"])


def test_config_checked():
    with pytest.raises(CompressError, match="max_total_chars"):
        CompressConfig(max_total_chars=-1)
