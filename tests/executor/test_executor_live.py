"""The executor against a live hub: success, every fault mode, retries, timeouts, 401, cache modes, async."""

import asyncio
import json
import logging
import time

import pytest

from toolbench.cache import ResponseCache
from toolbench.catalog.functions import FunctionSet
from toolbench.executor import Executor, ExecutorConfig, error_kind
from toolbench.hub import HubSettings, HubThread
from toolbench.hub.settings import PUBLIC_URL

FX = ("FXRates", "list_currencies", {})


def test_success_and_api_errors(make_executor):
    ex = make_executor()
    obs = ex.call("StockQuotes", "get_quote", {"ticker": "CNTS"})
    assert obs.ok and obs.status == 200 and json.loads(obs.response)["ticker"] == "CNTS" and not obs.cached
    missing = ex.call("StockQuotes", "get_quote", {"ticker": "ZZZZ"})
    assert error_kind(missing) == "request_error" and missing.status == 404 and "not found" in missing.error
    body = ex.call("TableFinder", "search_restaurants", {"location": {"city": "Rome"}, "cuisines": ["italian"],
                                                         "price_range": {"min": 1, "max": 2}, "limit": 3})
    assert body.ok and json.loads(body.response)["count"] <= 3


def test_invalid_arguments_never_reach_the_api(make_executor, admin):
    ex = make_executor()
    before = admin.requests("/weather/current")
    obs = ex.call("SkyCast Weather", "get_current_weather", {"city": 5, "units": "kelvin", "extra": 1})
    assert error_kind(obs) == "invalid_arguments"
    assert "'city'" in obs.error and "'units'" in obs.error and "extra" in obs.error
    assert admin.requests("/weather/current") == before


def test_not_in_catalog(make_executor):
    assert error_kind(make_executor().call("SkyCast Weather", "rm_rf", {})) == "not_in_catalog"


def test_call_function_maps_names_and_reports_hallucinations(make_executor, tools):
    ex = make_executor()
    fs = FunctionSet.from_apis([a for t in tools for a in t.apis])
    obs = ex.call_function(fs, "convert_currency_for_fxrates", '{"is_from": "USD", "to": "EUR", "amount": 10}')
    assert obs.ok and json.loads(obs.response)["from_currency"] == "USD"  # is_from -> the API's own 'from'
    ghost = ex.call_function(fs, "get_stock_price_for_stockquotes", {"ticker": "CNTS"})
    assert error_kind(ghost) == "hallucinated_function" and "get_quote_for_stockquotes" in ghost.error
    assert error_kind(ex.call_function(fs, "get_quote_for_stockquotes", "{ticker: CNTS")) == "invalid_arguments"
    wrong = ex.call_function(fs, "get_quote_for_stockquotes", {"symbol": "CNTS"})
    assert error_kind(wrong) == "invalid_arguments" and "ticker" in wrong.error


def test_a_function_call_is_validated_once_sync_and_async(make_executor, tools, monkeypatch):
    from toolbench.catalog import arguments
    from toolbench.executor import client

    seen = []
    original = arguments.validate_arguments

    def counting(api, args):
        seen.append(api.name)
        return original(api, args)

    monkeypatch.setattr(arguments, "validate_arguments", counting)  # validate_call's
    monkeypatch.setattr(client, "validate_arguments", counting)  # the executor's own check of a direct call
    ex = make_executor()
    fs = FunctionSet.from_apis([a for t in tools for a in t.apis])
    assert ex.call_function(fs, "get_quote_for_stockquotes", {"ticker": "CNTS"}).ok
    assert asyncio.run(ex.acall_function(fs, "get_quote_for_stockquotes", {"ticker": "CNTS"})).ok
    assert seen == ["get_quote", "get_quote"]
    assert ex.call("StockQuotes", "get_quote", {"ticker": "CNTS"}).ok and len(seen) == 3  # a direct call: checked
    assert error_kind(ex.call("StockQuotes", "get_quote", {"ticker": "CNTS", "extra": 1})) == "invalid_arguments"


def test_rate_limit_is_retried_then_succeeds(make_executor, admin):
    admin.fault("rate_limit", 2, "/fx/currencies")
    before = admin.requests("/fx/currencies")
    obs = make_executor(max_retries=2).call(*FX)
    assert obs.ok and admin.requests("/fx/currencies") == before + 3


def test_rate_limit_exhausted(make_executor, admin):
    admin.fault("rate_limit", 3, "/fx/currencies")
    obs = make_executor(max_retries=2).call(*FX)
    assert error_kind(obs) == "rate_limited" and obs.status == 429


def test_server_error_retried_and_exhausted(make_executor, admin):
    admin.fault("server_error", 1, "/fx/currencies")
    assert make_executor(max_retries=1).call(*FX).ok
    admin.fault("server_error", 2, "/fx/currencies")
    obs = make_executor(max_retries=1).call(*FX)
    assert error_kind(obs) == "not_working" and obs.status == 500


def test_retry_after_is_honoured_and_capped(tools):
    with HubThread(HubSettings(retry_after=30)) as hub:
        ex = Executor(tools, ExecutorConfig(credentials={"*": "k"}, base_url_overrides={PUBLIC_URL: hub.url},
                                            retry_after_max=0.3, max_retries=2), env={})
        hub.hub.queue_fault("rate_limit", 2, "/")
        t0 = time.monotonic()
        assert ex.call(*FX).ok
        waited = time.monotonic() - t0
        assert 0.6 <= waited < 3, waited  # two waits of Retry-After 30 s, each cut to 0.3 s


def test_slow_answer_times_out(make_executor, admin):
    admin.fault("slow", 1, "/fx/currencies")
    obs = make_executor(timeout=0.3, max_retries=2).call(*FX)
    assert error_kind(obs) == "timeout" and obs.status is None and obs.latency < 0.9  # no retry on timeout


def test_timeout_retried_when_asked(make_executor, admin):
    admin.fault("slow", 1, "/fx/currencies")
    assert make_executor(timeout=0.3, retry_on_timeout=True, max_retries=1).call(*FX).ok


def test_malformed_json(make_executor, admin):
    admin.fault("malformed", 1, "/fx/currencies")
    assert error_kind(make_executor().call(*FX)) == "malformed_response"


def test_missing_or_revoked_key_is_unauthorized(make_executor, admin):
    obs = make_executor(credentials={}).call(*FX)
    assert error_kind(obs) == "unauthorized" and obs.status == 401
    admin.fault("unauthorized", 1, "/fx/currencies")
    assert error_kind(make_executor().call(*FX)) == "unauthorized"


def test_key_from_environment(hub, tools):
    ex = Executor(tools, ExecutorConfig(base_url_overrides={PUBLIC_URL: hub.url}), env={"TOOLBENCH_API_KEY": "e"})
    assert ex.call(*FX).ok


def test_connection_refused_is_not_working(tools):
    ex = Executor(tools, ExecutorConfig(credentials={"*": "k"}, base_url_overrides={PUBLIC_URL: "http://127.0.0.1:9"},
                                        max_retries=1, backoff_base=0.01), env={})
    assert error_kind(ex.call(*FX)) == "not_working"


def test_secrets_stay_out_of_logs_observations_and_cache(make_executor, tmp_path, caplog):
    cache = ResponseCache(tmp_path / "c.sqlite")
    ex = make_executor(cache=cache, credentials={"*": "sup3r-s3cret"})
    with caplog.at_level(logging.DEBUG, logger="toolbench.executor"):
        obs = ex.call("StockQuotes", "get_quote", {"ticker": "CNTS"})
    assert obs.ok and caplog.records
    assert "sup3r-s3cret" not in caplog.text and "sup3r-s3cret" not in json.dumps(obs.to_dict())
    assert b"sup3r-s3cret" not in (tmp_path / "c.sqlite").read_bytes()
    wal = tmp_path / "c.sqlite-wal"
    assert not wal.exists() or b"sup3r-s3cret" not in wal.read_bytes()


def test_cache_read_write_then_replay(make_executor, admin, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    args = {"ticker": "FBKM"}
    path = "/stocks/profile/FBKM"
    first = make_executor(cache=cache).call("StockQuotes", "get_company_profile", args)
    n = admin.requests(path)
    second = make_executor(cache=cache).call("StockQuotes", "get_company_profile", args)
    assert first.ok and not first.cached and second.cached and second.response == first.response
    assert admin.requests(path) == n  # a hit makes no request
    replay = make_executor(cache=cache, cache_mode="replay")
    assert replay.call("StockQuotes", "get_company_profile", args).cached
    miss = replay.call("StockQuotes", "get_company_profile", {"ticker": "WGTB"})
    assert error_kind(miss) == "cache_miss" and admin.requests("/stocks/profile/WGTB") == 0
    off = make_executor(cache=cache, cache_mode="off").call("StockQuotes", "get_company_profile", args)
    assert not off.cached and admin.requests(path) == n + 1


def test_transient_failures_are_not_cached(make_executor, admin, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    admin.fault("server_error", 1, "/fx/currencies")
    assert not make_executor(cache=cache, max_retries=0).call(*FX).ok
    assert len(cache) == 0
    make_executor(cache=cache).call("StockQuotes", "get_quote", {"ticker": "NOPE"})  # a 404 is the API's answer
    assert len(cache) == 1


def _lean(ex, on):
    """The campaign's way of sending async calls: straight through the lean HTTP/1.1 transport."""
    from toolbench.llm.http11 import Http11Client
    from toolbench.llm.http11_transport import Http11Transport

    ex.async_transport = (lambda context: Http11Transport(Http11Client(ssl_context=context))) if on else None
    return ex


@pytest.mark.parametrize("lean", [False, True])
def test_async_calls_and_per_host_limit(make_executor, admin, lean):
    ex = _lean(make_executor(max_concurrency_per_host=2), lean)

    async def main():
        ok = await asyncio.gather(*[ex.acall("StockQuotes", "get_quote", {"ticker": t})
                                    for t in ("CNTS", "NWTR", "FBKM", "ZZZZ")])
        admin.fault("slow", 4, "/fx/currencies")  # 0.5 s each; 4 calls through 2 slots take >= 1 s
        t0 = time.monotonic()
        slow = await asyncio.gather(*[ex.acall(*FX) for _ in range(4)])
        elapsed = time.monotonic() - t0
        await ex.aclose()
        return ok, slow, elapsed

    ok, slow, elapsed = asyncio.run(main())
    assert [o.status for o in ok] == [200, 200, 200, 404]
    assert all(o.ok for o in slow) and elapsed >= 0.95


@pytest.mark.parametrize("lean", [False, True])
def test_async_function_call_and_faults(make_executor, admin, tools, lean):
    fs = FunctionSet.from_apis([a for t in tools for a in t.apis])
    ex = _lean(make_executor(timeout=0.3, connect_timeout=0.1), lean)  # the lean transport: one limit, 0.4 s

    async def main():
        admin.fault("rate_limit", 1, "/fx/currencies")
        a = await ex.acall_function(fs, "list_currencies_for_fxrates", {})
        b = await ex.acall_function(fs, "nope_for_fxrates", {})
        admin.fault("slow", 1, "/fx/currencies")
        c = await ex.acall(*FX)
        await ex.aclose()
        return a, b, c

    a, b, c = asyncio.run(main())
    assert a.ok and error_kind(b) == "hallucinated_function" and error_kind(c) == "timeout"


@pytest.mark.parametrize("lean", [False, True])
def test_async_bodies_queries_and_refusals(make_executor, lean):
    ex = _lean(make_executor(), lean)
    unkeyed = _lean(make_executor(credentials={}), lean)
    closed = _lean(make_executor(base_url_overrides={PUBLIC_URL: "http://127.0.0.1:9"}), lean)

    async def main():
        body = await ex.acall("TableFinder", "search_restaurants", {"location": {"city": "Rome"}, "limit": 2})
        query = await ex.acall("StockQuotes", "get_market_movers", {"limit": 3})
        refused, down = await unkeyed.acall(*FX), await closed.acall(*FX)
        for executor in (ex, unkeyed, closed):
            await executor.aclose()
        return body, query, refused, down

    body, query, refused, down = asyncio.run(main())
    assert body.ok and json.loads(body.response)["count"] <= 2, body  # a JSON body
    assert query.ok and len(json.loads(query.response)["quotes"]) == 3, query  # a query string
    assert error_kind(refused) == "unauthorized" and refused.status == 401
    assert error_kind(down) == "not_working", down


def test_virtual_service_transport(hub, tools):
    ex = Executor(tools, ExecutorConfig(service_url=hub.url), env={"TOOLBENCH_KEY": "svc"})
    obs = ex.call("TableFinder", "get_restaurant", {"restaurant_id": "paris-01"})
    assert obs.ok and json.loads(obs.response)["id"] == "paris-01"
    assert "not found" in ex.call("TableFinder", "get_restaurant", {"restaurant_id": "x"}).error
