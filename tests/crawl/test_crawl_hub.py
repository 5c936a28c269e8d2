"""Crawling the sandbox hub: injected faults show up in the report, an interrupted crawl resumes without
calling again, requests per host are rate-limited, response schemas are inferred, and the CLI works."""

import dataclasses
import json

import httpx
import pytest
from typer.testing import CliRunner

from toolbench.cache import ResponseCache
from toolbench.catalog.store import load_catalog, write_tool
from toolbench.cli import app
from toolbench.crawl import CrawlConfig, CrawlStore, CrawlTarget, build_report, crawl
from toolbench.hub import HubSettings, HubThread
from toolbench.hub.catalog import hub_tools
from toolbench.hub.settings import PUBLIC_URL

TOOLS = {t.name: t for t in hub_tools()}


def pick(*names):
    return [TOOLS[n] for n in names]


@pytest.fixture(scope="module")
def hub():
    with HubThread(HubSettings(slow_seconds=4.0, retry_after=0)) as running:
        yield running


@pytest.fixture
def target(hub):
    httpx.post(hub.url + "/admin/reset", params={"everything": "true"})
    return CrawlTarget({PUBLIC_URL: hub.url}, {"*": "crawl-test"}, env={})


def fault(hub, mode, prefix, count=100):
    httpx.post(hub.url + "/admin/faults", json={"mode": mode, "count": count, "path_prefix": prefix})


def hub_requests(hub):
    return httpx.get(hub.url + "/admin/stats").json().get("requests", 0)


def test_report_under_injected_faults(hub, target, tmp_path):
    fault(hub, "server_error", "/stocks/")  # a whole tool down
    fault(hub, "malformed", "/geo/countries/")  # broken JSON
    fault(hub, "unauthorized", "/geo/reverse")  # key refused
    fault(hub, "slow", "/weather/forecast")  # 4 s: past the 2 s timeout, which a loaded machine meets
    fault(hub, "rate_limit", "/weather/alerts")
    fault(hub, "server_error", "/fx/convert", count=1)  # one failure among good answers
    tools = pick("StockQuotes", "GeoPlaces", "SkyCast Weather", "FXRates")
    report = crawl(tools, tmp_path, CrawlConfig(samples=2, timeout=2.0), target, progress=False)
    rows = {r["api"]: r for r in report["apis"]}
    dead = {name: r["error_kind"] for name, r in rows.items() if not r["alive"]}
    assert dead == {"search_companies": "not_working", "get_quote": "not_working", "get_company_profile": "not_working",
                    "get_price_history": "not_working", "get_market_movers": "not_working",
                    "get_country": "malformed_response", "reverse_geocode": "unauthorized",
                    "get_weather_forecast": "timeout", "get_weather_alerts": "rate_limited"}
    assert all(not rows[name]["keep"] and rows[name]["reasons"][0].startswith("dead (") for name in dead)
    convert = rows["convert_currency"]
    assert convert["alive"] and convert["keep"] and convert["errors"] == {"not_working": 1}
    assert convert["statuses"] == {"200": 2, "500": 1} and 0 < convert["latency_p95"] < 2.0  # seconds, under the timeout
    s = report["summary"]
    assert (s["tools"], s["kept_tools"], s["apis"], s["kept_apis"]) == (4, 3, 21, 12)
    stock_calls = sum(r["calls"] for r in report["apis"] if r["tool"] == "StockQuotes")
    assert s["error_kinds"]["not_working"] == stock_calls + 1
    # every kept API answered; the files and the kept catalog agree with the report
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk == json.loads(json.dumps(report))
    assert "| StockQuotes | get_quote | dead | not_working |" in (tmp_path / "report.md").read_text()
    kept = load_catalog(tmp_path / "tools")
    assert not kept.errors and sorted(t.name for t in kept.tools) == ["FXRates", "GeoPlaces", "SkyCast Weather"]
    assert {a.name for a in kept.apis()} == {n for n, r in rows.items() if r["keep"]}
    # answers worth replaying are in the cache; failures (5xx, broken JSON, 401, 429) are not
    cached = {(e["tool"], e["api"]) for e in ResponseCache(tmp_path / "cache.sqlite").entries()}
    assert ("FXRates", "convert_currency") in cached and not {("GeoPlaces", "get_country"),
                                                             ("StockQuotes", "get_quote")} & cached
    # thresholds apply to the stored calls without crawling again
    before = hub_requests(hub)
    strict = build_report(tools, CrawlStore(tmp_path / "crawl.sqlite").records(),
                          CrawlConfig(max_p95_latency=0.000001))
    assert strict["summary"]["kept_apis"] == 0 and hub_requests(hub) == before


def test_interrupted_crawl_resumes_without_calling_again(hub, target, tmp_path):
    tools = pick("GeoPlaces", "FXRates", "CineScope")
    seen = []

    def stop_after_four(rec):
        seen.append((rec.tool, rec.api))
        if len(seen) == 4:
            raise KeyboardInterrupt  # as Ctrl-C would

    with pytest.raises(KeyboardInterrupt):
        crawl(tools, tmp_path, CrawlConfig(samples=1, concurrency=2), target, progress=False,
              on_api_done=stop_after_four)
    store = CrawlStore(tmp_path / "crawl.sqlite")
    first = store.records()
    store.close()
    assert set(first) == set(seen) and len(first) == 4  # saved APIs are whole; the one in flight was not saved
    before = hub_requests(hub)
    report = crawl(tools, tmp_path, CrawlConfig(samples=1, concurrency=2), target, progress=False)
    store = CrawlStore(tmp_path / "crawl.sqlite")
    after = store.records()
    store.close()
    assert len(after) == 17 and report["summary"]["crawled"] == 17 and report["summary"]["kept_apis"] == 17
    for key, rec in first.items():  # untouched: same calls, same timestamps
        assert after[key] == rec
    new_calls = sum(len(r.calls) for k, r in after.items() if k not in first)
    assert hub_requests(hub) - before == new_calls  # nothing crawled twice
    again = crawl(tools, tmp_path, CrawlConfig(samples=1), target, progress=False)  # all done: no call at all
    assert hub_requests(hub) - before == new_calls and again["summary"] == report["summary"]


def test_rate_limit_per_host(hub, target, tmp_path):
    rate = 40.0
    crawl(pick("FXRates"), tmp_path, CrawlConfig(samples=2, concurrency=5, rate=rate), target, progress=False)
    store = CrawlStore(tmp_path / "crawl.sqlite")
    starts = sorted(c.started for r in store.records().values() for c in r.calls)
    store.close()
    assert len(starts) >= 10
    assert starts[-1] - starts[0] >= (len(starts) - 1) / rate * 0.95


def test_schemas_are_inferred_where_the_catalog_has_none(hub, target, tmp_path):
    geo = TOOLS["GeoPlaces"]
    bare = dataclasses.replace(geo, apis=[dataclasses.replace(a, response_schema=None) for a in geo.apis])
    report = crawl([bare], tmp_path, CrawlConfig(samples=2, schema_style="json"), target, progress=False)
    rows = {r["api"]: r for r in report["apis"]}
    assert report["summary"]["schemas_inferred"] == 6
    for api in geo.apis:  # the keys the hub documents are the keys inferred from its answers
        inferred = rows[api.name]["inferred_schema"]
        assert inferred["type"] == "object"
        assert set(inferred["properties"]) <= set(api.response_schema["properties"]), api.name
        assert set(api.response_schema.get("required", [])) <= set(inferred["properties"]), api.name
    city = rows["get_city"]["inferred_schema"]["properties"]
    assert city["latitude"] == {"type": "number"} and city["name"] == {"type": "string"}
    kept = load_catalog(tmp_path / "tools").tools[0]
    assert {a.name: a.response_schema for a in kept.apis}["get_city"] == rows["get_city"]["inferred_schema"]
    template = crawl([bare], tmp_path / "t", CrawlConfig(samples=0, schema_style="template"), target,
                     progress=False)
    city_template = {r["api"]: r for r in template["apis"]}["get_city"]["inferred_schema"]
    assert city_template["name"] == "str" and city_template["latitude"] == "float"


def test_cli(hub, target, tmp_path):
    catalog = tmp_path / "catalog"
    write_tool(TOOLS["FXRates"], catalog)
    write_tool(TOOLS["ShopEase Orders"], catalog)  # stateful: each API gets its own key, so its own seeded state
    fault(hub, "server_error", "/fx/historical")
    result = CliRunner().invoke(app, ["crawl", str(catalog), "--out", str(tmp_path / "run"), "--hub-url", hub.url,
                                      "--samples", "1", "--no-progress", "--max-p95", "2"],
                                env={"TOOLBENCH_API_KEY": ""})
    assert result.exit_code == 0, result.output
    assert "get_historical_rates" in result.output and "drop: dead (not_working)" in result.output
    assert "kept 2 of 2 tools (100%) and 11 of 12 APIs" in result.output
    rows = {r["api"]: r for r in json.loads((tmp_path / "run" / "report.json").read_text())["apis"]}
    assert rows["cancel_order"]["ok"] >= 1  # its documented example order was there to cancel, whatever ran first
    assert (tmp_path / "run" / "report.md").exists()
