"""Which key goes where: by the host the request really goes to, never by the catalog's ``host`` field. The
RapidAPI key only to *.rapidapi.com hosts, the generic key (TOOLBENCH_API_KEY) only to loopback (the local hub)
and where overrides move the hub; a key the API echoes back is redacted from the observation and the cache; URL
userinfo never reaches a log."""

import json
import logging

import pytest

from tests.executor.echo_server import EchoServer
from toolbench.cache import ResponseCache, redact_secrets
from toolbench.executor import Executor, ExecutorConfig, PreparedRequest, redact_url
from toolbench.hub.settings import PUBLIC_URL
from toolbench.records import Api, AuthScheme, Observation, Tool

RAPID, GENERIC = "rapid-s3cret-key", "generic-s3cret-key"
ENV = {"RAPIDAPI_KEY": RAPID, "TOOLBENCH_API_KEY": GENERIC}


def tool(url: str, host: str = "", auth=(), name="Probe") -> Tool:
    return Tool(name=name, host=host, auth=list(auth), apis=[Api(tool=name, name="probe", url=url)])


def prepared(t: Tool, env=ENV, **config) -> PreparedRequest:
    ex = Executor([t], ExecutorConfig(**config), env=env)
    req = ex._prepare(t, t.apis[0], {})
    assert isinstance(req, PreparedRequest), req
    return req


@pytest.fixture(scope="module")
def echo():
    with EchoServer() as server:
        yield server


def test_a_rapidapi_host_field_with_a_loopback_url_gets_no_rapidapi_key(echo):
    # The tester's case: the catalog says host x.p.rapidapi.com, the URL is elsewhere (here a real loopback server).
    declared = tool(echo.url + "/probe", host="x.p.rapidapi.com")
    rapid_scheme = tool(echo.url + "/probe", host="x.p.rapidapi.com", name="Rapid",
                        auth=[AuthScheme("rapidapi", "rapidapi")])
    ex = Executor([declared, rapid_scheme], ExecutorConfig(max_retries=0), env=ENV)
    assert ex.call("Probe", "probe", {}).ok and ex.call("Rapid", "probe", {}).ok
    received = echo.all_headers()
    assert RAPID not in received and "x.p.rapidapi.com" not in received
    assert "x-rapidapi-key" not in echo.requests[-2]["headers"]  # no scheme on a non-RapidAPI host: no key at all
    # a declared RapidAPI scheme on the local host gets the generic (hub) key, never the RapidAPI one
    assert echo.requests[-1]["headers"]["x-rapidapi-key"] == GENERIC


def test_a_real_rapidapi_host_gets_the_rapidapi_key():
    req = prepared(tool("https://x.p.rapidapi.com/v1/q", host="x.p.rapidapi.com"))
    assert req.headers["X-RapidAPI-Key"] == RAPID and req.headers["X-RapidAPI-Host"] == "x.p.rapidapi.com"
    # the host field is irrelevant: the URL decides, and X-RapidAPI-Host names the host really called
    req = prepared(tool("https://y.p.rapidapi.com/v1/q", host="other.example.com"))
    assert req.headers["X-RapidAPI-Key"] == RAPID and req.headers["X-RapidAPI-Host"] == "y.p.rapidapi.com"
    for url in ("https://x.p.rapidapi.com.evil.example/q", "https://evilrapidapi.com/q",
                "https://x.p.rapidapi.com@evil.example/q"):
        req = prepared(tool(url, host="x.p.rapidapi.com", auth=[AuthScheme("rapidapi", "rapidapi")]))
        assert RAPID not in json.dumps(req.headers) + json.dumps(req.params), url


def test_the_generic_key_goes_only_to_the_local_hub_and_configured_hosts():
    bearer = [AuthScheme("b", "http", scheme="bearer")]
    assert "Authorization" not in prepared(tool("https://api.example.com/q", auth=bearer)).headers
    assert prepared(tool("http://127.0.0.1:8750/q", auth=bearer)).headers["Authorization"] == f"Bearer {GENERIC}"
    assert prepared(tool("http://localhost:9/q", auth=bearer)).headers["Authorization"] == f"Bearer {GENERIC}"
    configured = prepared(tool("https://api.example.com/q", auth=bearer), api_key_hosts=["*.example.com"])
    assert configured.headers["Authorization"] == f"Bearer {GENERIC}"
    # credentials '*' are generic too
    star = prepared(tool("https://api.example.com/q", auth=bearer), env={}, credentials={"*": "star-key"})
    assert "Authorization" not in star.headers
    # a key configured for the tool itself goes to that tool's URL
    own = prepared(tool("https://api.example.com/q", auth=bearer), env={"TOOLBENCH_KEY_PROBE": "own-key"})
    assert own.headers["Authorization"] == "Bearer own-key"
    assert prepared(tool("https://api.example.com/q", auth=bearer), env={},
                    credentials={"probe": "cfg-key"}).headers["Authorization"] == "Bearer cfg-key"


def test_the_hub_moved_by_an_override_still_gets_the_generic_key():
    hub_tool = tool(PUBLIC_URL + "/fx/latest", auth=[AuthScheme("RapidAPIKey", "apiKey", param_name="X-RapidAPI-Key")])
    moved = prepared(hub_tool, base_url_overrides={PUBLIC_URL: "http://hub.internal:9000"})
    assert moved.url == "http://hub.internal:9000/fx/latest" and moved.headers["X-RapidAPI-Key"] == GENERIC
    # an override of a third-party prefix does not make its target a hub
    third = tool("https://api.example.com/q", auth=[AuthScheme("b", "http", scheme="bearer")])
    elsewhere = prepared(third, base_url_overrides={"https://api.example.com": "https://staging.example.net"})
    assert "Authorization" not in elsewhere.headers


def test_the_hub_still_answers_with_toolbench_api_key(hub, tools):
    ex = Executor(tools, ExecutorConfig(base_url_overrides={PUBLIC_URL: hub.url}, max_retries=0),
                  env={"TOOLBENCH_API_KEY": "hub-user"})
    assert ex.call("FXRates", "list_currencies", {}).ok  # the hub answers 401 without a key
    ex.close()


def test_an_echoed_key_is_redacted_from_the_observation_and_the_cache(echo, tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    t = tool(echo.url + "/probe", auth=[AuthScheme("k", "apiKey", param_name="X-Api-Key")])
    ex = Executor([t], ExecutorConfig(max_retries=0), cache=cache, env=ENV)
    obs = ex.call("Probe", "probe", {})
    assert obs.ok and echo.requests[-1]["headers"]["x-api-key"] == GENERIC  # the server did get (and echo) it
    assert GENERIC not in obs.response and '"x-api-key": "***"' in obs.response
    stored = list(cache.entries())
    assert len(stored) == 1 and GENERIC not in json.dumps(stored) and "***" in stored[0]["response"]
    assert GENERIC not in ex.call("Probe", "probe", {}).response  # the cached answer
    cache.close()


def test_the_cache_redacts_known_keys_itself(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("T", "a", {}, Observation(response='{"echo": "abcd-key"}', error="x abcd-key", status=200),
              redact=["abcd-key", "ab"])
    entry = next(cache.entries())
    assert (entry["response"], entry["error"]) == ('{"echo": "***"}', "x ***")
    assert redact_secrets("a b", ["a"]) == "a b"  # too short to be a key: left alone
    cache.close()


def test_url_userinfo_never_reaches_the_log(echo, caplog):
    t = tool(f"http://user:pa55word@127.0.0.1:{echo.port}/probe")
    ex = Executor([t], ExecutorConfig(max_retries=0), env={})
    with caplog.at_level(logging.DEBUG, logger="toolbench.executor"):
        assert ex.call("Probe", "probe", {}).ok
    assert "pa55word" not in caplog.text and "http://***@127.0.0.1" in caplog.text
    assert redact_url("GET https://u:p@ss@h/x?mail=a@b.c") == "GET https://***@h/x?mail=a@b.c"
