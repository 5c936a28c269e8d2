"""The crawler's pure parts: call planning, judging answers, percentiles, per-API decisions, the report."""

import pytest

from toolbench.catalog.arguments import validate_arguments
from toolbench.crawl import (
    ApiRecord,
    CallRecord,
    CrawlConfig,
    CrawlError,
    build_report,
    informative,
    kept_catalog,
    percentile,
    plan_calls,
    report_markdown,
    summarize_api,
)
from toolbench.hub.catalog import hub_tools
from toolbench.records import Api, Param, Tool

TOOLS = hub_tools()
API = {a.name: a for t in TOOLS for a in t.apis}


def test_example_call_uses_documented_examples_even_nested_ones():
    (example, *_) = plan_calls(API["create_order"], 0, seed=0)
    assert example.kind == "example"
    assert example.args == {"items": [{"product_id": "P1003"}],  # the nested example of items[].product_id
                            "shipping_address": {"name": "Jane Doe", "street": "12 Market Square", "city": "Lyon",
                                                 "postal_code": "69002", "country_code": "FR"}}
    assert plan_calls(API["cancel_order"], 0, seed=0)[0].args == {"order_id": "ORD-00003", "reason": "changed_mind"}


def test_planned_calls_are_valid_distinct_and_seeded():
    for api in API.values():
        calls = plan_calls(api, 3, seed=1)
        assert 1 <= len(calls) <= 4 and calls[0].kind == "example"
        keys = [str(sorted(c.args.items())) for c in calls]
        assert len(set(keys)) == len(keys), api.name
        for c in calls:
            assert not validate_arguments(api, c.args), (api.name, c.args)
    assert plan_calls(API["search_restaurants"], 3, seed=1) == plan_calls(API["search_restaurants"], 3, seed=1)
    assert plan_calls(API["search_restaurants"], 3, seed=1) != plan_calls(API["search_restaurants"], 3, seed=2)


@pytest.mark.parametrize("text,expected", [
    ('{"city": "Paris", "temp": 12}', True),
    ('{"count": 0, "items": [0]}', True),
    ("[]", False), ("{}", False), ("", False), ('{"data": {"rows": []}, "next": null}', False),
    ('{"message": "API key invalid"}', False),
    ('{"error": "Not Found", "status": 404}', False),
    ('{"message": "Order placed", "id": 3}', True),  # a message among data
    ('{"message": "ok"}', True),
    ("Sunny, 21 C", True), ("Internal error, try later", False),
])
def test_informative(text, expected):
    assert informative(text) is expected


def test_percentile_interpolates():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)  # rank 0.95*4 = 3.8: 40 + 0.8*10


def call(seq, status, kind="", latency=0.05, good=True):
    return CallRecord(seq, "example" if seq == 0 else "sample", {"n": seq}, status, kind, f"{kind}: x" if kind else "",
                      latency, 10, good and status is not None and 200 <= status < 300 and not kind, 0.0)


def rec(api, calls, schema=None, source="catalog"):
    return ApiRecord(api.tool, api.name, "h", 0.0, schema, source, 0, calls)


def test_decisions_and_their_reasons():
    api = Api(tool="T", name="a")
    cfg = CrawlConfig(min_success=0.5, max_p95_latency=1.0, min_quality=0.5)
    keep = summarize_api(api, rec(api, [call(0, 200), call(1, 200), call(2, 404, "request_error")]), cfg)
    assert (keep["alive"], keep["keep"], keep["error_kind"], keep["success_rate"]) == (True, True, "request_error",
                                                                                        0.6667)
    dead = summarize_api(api, rec(api, [call(0, 500, "not_working"), call(1, None, "timeout", latency=2.05),
                                        call(2, 500, "not_working")]), cfg)
    assert dead["alive"] is False and dead["error_kind"] == "not_working"
    assert dead["reasons"] == ["dead (not_working)", "success 0% < 50%", "p95 1.85 s > 1 s"]
    assert dead["latency_p50"] == 0.05 and dead["latency_p95"] == pytest.approx(1.85)  # timeouts count: 0.05 + 0.9 * 2.0
    slow = summarize_api(api, rec(api, [call(0, 200, latency=4.0), call(1, 200, latency=4.0)]), cfg)
    assert slow["alive"] and slow["reasons"] == ["p95 4.00 s > 1 s"]
    empty = summarize_api(api, rec(api, [call(0, 200, good=False), call(1, 200, good=False), call(2, 200)]), cfg)
    assert empty["reasons"] == ["quality 33% < 50%"]
    malformed = summarize_api(api, rec(api, [call(0, 200, "malformed_response"), call(1, 401, "unauthorized"),
                                             call(2, 429, "rate_limited")]), cfg)
    assert malformed["alive"] is False and malformed["errors"] == {"malformed_response": 1, "rate_limited": 1,
                                                                   "unauthorized": 1}
    assert summarize_api(api, None, cfg)["reasons"] == ["not crawled yet"]


def test_report_tools_markdown_and_kept_catalog():
    a = Api(tool="T", name="a", url="http://h/a", category="C")
    b = Api(tool="T", name="b", url="http://h/b", category="C", response_schema={"type": "object"})
    c = Api(tool="U", name="c", url="http://h/c", required_params=[Param("q", required=True)])
    tools = [Tool(name="T", category="C", apis=[a, b]), Tool(name="U", apis=[c])]
    inferred = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    records = {("T", "a"): rec(a, [call(0, 200)], inferred, "inferred"), ("T", "b"): rec(b, [call(0, 200)]),
               ("U", "c"): rec(c, [call(0, 503, "not_working")])}
    report = build_report(tools, records, CrawlConfig())
    s = report["summary"]
    assert (s["apis"], s["kept_apis"], s["tools"], s["kept_tools"], s["alive"]) == (3, 2, 2, 1, 2)
    assert s["error_kinds"] == {"not_working": 1} and s["schemas_inferred"] == 1
    assert [t["keep"] for t in report["tools"]] == [True, False]
    md = report_markdown(report)
    assert md.startswith("# Crawl report\n\nkept 1 of 2 tools (50%) and 2 of 3 APIs")
    assert "| U | c | dead | not_working | 0/1 | 50 ms | 50 ms | 0% | drop: dead (not_working); success 0% < 25% |" in md
    kept = kept_catalog(tools, report)
    assert [t.name for t in kept] == ["T"] and kept[0].apis[0].response_schema == inferred
    assert kept[0].apis[1].response_schema == {"type": "object"}  # the catalog's own schema stays


def test_config_is_checked():
    with pytest.raises(CrawlError, match="min_success"):
        CrawlConfig(min_success=2)
    with pytest.raises(CrawlError, match="schema_style"):
        CrawlConfig(schema_style="yaml")
    with pytest.raises(CrawlError, match="concurrency"):
        CrawlConfig(concurrency=0)
