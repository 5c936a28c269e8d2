"""Every failure is an observation with its kind, never an exception: a catalog URL the executor cannot call
(port ``notaport``, file://, gopher://), an argument that makes the URL too long, a header value with a line
break, a TLS failure, a refused connection. Sync and async."""

import asyncio
import socket

import pytest

from tests.executor.echo_server import EchoServer
from toolbench.executor import (
    INVALID_ARGUMENTS,
    INVALID_URL,
    NOT_WORKING,
    TLS_ERROR,
    Executor,
    ExecutorConfig,
    PreparedRequest,
    check_request,
    error_kind,
    url_problem,
)
from toolbench.records import Api, Param, Tool


def tool_at(url: str, params=(), method="GET", name="Probe") -> Tool:
    api = Api(tool=name, name="probe", url=url, method=method, optional_params=list(params))
    return Tool(name=name, apis=[api])


def both(ex: Executor, args: dict, tool="Probe"):
    """The sync and the async observation of one call (neither may raise)."""
    sync = ex.call(tool, "probe", args)

    async def go():
        try:
            return await ex.acall(tool, "probe", args)
        finally:
            await ex.aclose()

    return sync, asyncio.run(go())


@pytest.fixture(scope="module")
def echo():
    with EchoServer() as server:
        yield server


@pytest.mark.parametrize("url,needle", [
    ("http://127.0.0.1:notaport/x", "invalid port"),
    ("http://127.0.0.1:99999/x", "out of range"),
    ("file:///etc/passwd", "'file://' is not http(s)"),
    ("gopher://127.0.0.1:70/x", "'gopher://' is not http(s)"),
    ("12345", "no scheme"),
    ("http://exa mple.com/x", "not a valid host name"),
    ("http://127.0.0.1/a\r\nX-Evil: 1", "control character"),
])
def test_a_catalog_url_that_cannot_be_called_is_an_invalid_url_observation(url, needle):
    ex = Executor([tool_at(url)], ExecutorConfig(max_retries=0), env={})
    for obs in both(ex, {}):
        assert error_kind(obs) == INVALID_URL and needle in obs.error and obs.status is None


def test_a_70000_character_argument_is_refused_before_sending(echo):
    ex = Executor([tool_at(echo.url + "/search", [Param(name="q", type="STRING", location="query")])],
                  ExecutorConfig(max_retries=0), env={})
    before = len(echo.requests)
    for obs in both(ex, {"q": "a" * 70_000}):
        assert error_kind(obs) == INVALID_ARGUMENTS and "'q' is 70,000 characters" in obs.error
    assert len(echo.requests) == before
    assert both(ex, {"q": "paris"})[0].ok  # the same API with a normal value answers


def test_an_oversize_path_value_or_body_is_refused(echo):
    path = tool_at(echo.url + "/items/{id}", [Param(name="id", type="STRING")], name="Path")
    body = tool_at(echo.url + "/items", [Param(name="text", type="STRING", location="body")], method="POST",
                   name="Body")
    ex = Executor([path, body], ExecutorConfig(max_retries=0), env={})
    assert error_kind(both(ex, {"id": "x" * 70_000}, "Path")[0]) == INVALID_ARGUMENTS
    big = both(ex, {"text": "y" * 2_100_000}, "Body")
    assert all(error_kind(o) == INVALID_ARGUMENTS and "body would be" in o.error for o in big)
    assert both(ex, {"text": "y" * 70_000}, "Body")[0].ok  # a long body is fine


def test_crlf_in_a_header_argument_is_refused_and_never_reaches_the_api(echo):
    ex = Executor([tool_at(echo.url + "/h", [Param(name="X-Trace", type="STRING", location="header")])],
                  ExecutorConfig(max_retries=0), env={})
    before = len(echo.requests)
    for value in ("a\r\nX-Injected: 1", "a\nb", "nul\x00", "caf\u00e9"):
        for obs in both(ex, {"X-Trace": value}):
            assert error_kind(obs) == INVALID_ARGUMENTS and "X-Trace" in obs.error, (value, obs)
    assert len(echo.requests) == before
    assert "x-injected" not in echo.all_headers().lower()
    ok = both(ex, {"X-Trace": "t-1"})[0]
    assert ok.ok and '"x-trace": "t-1"' in ok.response


def test_check_request_is_pure_and_never_shows_a_secret():
    req = PreparedRequest("GET", "http://h/x", headers={"X-Key": "line\r\nbreak-s3cret"},
                          secret_names=frozenset({"X-Key"}))
    obs = check_request(req)
    assert error_kind(obs) == INVALID_ARGUMENTS and "configured key" in obs.error and "s3cret" not in obs.error
    assert check_request(PreparedRequest("GET", "http://h/x", params={"q": "v"})) is None


def test_tls_failure_is_a_tls_error_observation(echo):
    # https to a plain-HTTP port: the handshake fails (wrong version number)
    ex = Executor([tool_at(echo.url.replace("http://", "https://") + "/x")], ExecutorConfig(max_retries=2,
                  backoff_base=0.01), env={})
    for obs in both(ex, {}):
        assert error_kind(obs) == TLS_ERROR and "TLS handshake" in obs.error


def test_connection_refused_is_not_working():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ex = Executor([tool_at(f"http://127.0.0.1:{port}/x")], ExecutorConfig(max_retries=0), env={})
    for obs in both(ex, {}):
        assert error_kind(obs) == NOT_WORKING


def test_an_override_cannot_smuggle_a_bad_url():
    ex = Executor([tool_at("http://127.0.0.1:8750/x")],
                  ExecutorConfig(base_url_overrides={"http://127.0.0.1:8750": "http://127.0.0.1:bad"}), env={})
    assert error_kind(ex.call("Probe", "probe", {})) == INVALID_URL


def test_non_object_arguments_are_an_observation():
    ex = Executor([tool_at("http://127.0.0.1:1/x")], env={})
    assert error_kind(ex.call("Probe", "probe", ["not", "a", "dict"])) == INVALID_ARGUMENTS


def test_url_problem():
    assert url_problem("https://theclique.p.rapidapi.com/a b/{id}") == ""
    assert url_problem("https://{region}.api.example.com/v1") == ""  # placeholders in the host are allowed
    assert url_problem("http://[::1]:8750/x") == ""
    assert url_problem("") == "the URL is empty"
    assert "no host" in url_problem("http:///x")
    assert "port 0" in url_problem("http://h:0/x")
    assert "not text" in url_problem(12345)
