"""POST /virtual speaks StableToolBench's protocol: cache first, else a real call, else a clear error."""

import json

import httpx
import pytest

from toolbench.cache import ResponseCache
from toolbench.hub import HubSettings, HubThread
from toolbench.records import Observation


@pytest.fixture(scope="module")
def vhub(tmp_path_factory):
    path = tmp_path_factory.mktemp("virtual") / "cache.sqlite"
    with HubThread(HubSettings(cache_path=str(path))) as running:
        yield running, path


def ask(url, **kw):
    payload = {"category": "Finance", "tool_name": "StockQuotes", "api_name": "get_quote",
               "tool_input": {"ticker": "CNTS"}, "strip": "", "toolbench_key": "k"}
    payload.update(kw)
    r = httpx.post(url + "/virtual", json=payload)
    assert r.status_code == 200 and set(r.json()) == {"error", "response"}
    return r.json()


def test_real_call_then_cache(vhub):
    hub, path = vhub
    first = ask(hub.url, tool_input=json.dumps({"ticker": "LTGR"}), tool_name="stockquotes")  # StableToolBench style
    assert first["error"] == "" and json.loads(first["response"])["ticker"] == "LTGR"
    cache = ResponseCache(path)
    assert cache.get("StockQuotes", "get_quote", {"ticker": "LTGR"}).response == first["response"]
    cache.put("StockQuotes", "get_quote", {"ticker": "LTGR"}, Observation(response='{"from": "cache"}', status=200))
    assert ask(hub.url, tool_input={"ticker": "LTGR"})["response"] == '{"from": "cache"}'


def test_api_errors_come_back_as_error_strings(vhub):
    hub, _ = vhub
    out = ask(hub.url, tool_input={"ticker": "NOPE"})
    assert out["error"].startswith("request_error: HTTP 404") and "not found" in out["response"]


def test_unknown_api_without_llm_is_a_clear_error(vhub):
    hub, _ = vhub
    out = ask(hub.url, api_name="predict_tomorrow")
    assert out["error"].startswith("hallucinated_function") and "no LLM" in out["error"]


def test_bad_tool_input(vhub):
    hub, _ = vhub
    assert ask(hub.url, tool_input="{not json")["error"].startswith("invalid_arguments")


def test_body_and_path_arguments(vhub):
    hub, _ = vhub
    out = ask(hub.url, tool_name="TableFinder", api_name="search_restaurants",
              tool_input={"location": {"city": "Paris"}, "limit": 2})
    assert json.loads(out["response"])["count"] == 2
    out = ask(hub.url, tool_name="ShopEase Orders", api_name="Cancel order",
              tool_input={"order_id": "ORD-00002", "reason": "other"})
    assert "409" in out["error"] and "shipped" in out["error"]
