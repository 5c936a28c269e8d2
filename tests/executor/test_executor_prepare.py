"""The pure parts of the executor: request building, answer interpretation, retry delays."""

import pytest

from toolbench.executor import (
    ExecutorConfig,
    ExecutorError,
    PreparationError,
    auth_headers,
    cacheable,
    error_kind,
    observation_from_http,
    observation_from_service,
    prepare_request,
    retry_delay,
)
from toolbench.records import Api, AuthScheme, Observation, Param, Tool


def tool_with(api: Api, auth=(), host="") -> Tool:
    return Tool(name=api.tool, apis=[api], auth=list(auth), host=host)


def test_explicit_locations():
    api = Api(tool="T", name="a", method="POST", url="https://h.example/v1/items/{item_id}",
              required_params=[Param("item_id", location="path"), Param("q", location="query"),
                               Param("X-Trace", location="header"), Param("filters", type="OBJECT", location="body")])
    req = prepare_request(tool_with(api), api, {"item_id": "a/../b c", "q": [1, 2], "X-Trace": "t1",
                                                "filters": {"min": 1}})
    assert req.method == "POST"
    assert req.url == "https://h.example/v1/items/a%2F..%2Fb%20c"  # the value cannot leave its path segment
    assert req.params == {"q": [1, 2]}
    assert req.headers == {"X-Trace": "t1"}
    assert req.json == {"filters": {"min": 1}}


def test_inferred_locations_for_toolbench_files():
    get = Api(tool="T", name="g", method="GET", url="https://h/x/{id}", required_params=[Param("id"), Param("q")])
    req = prepare_request(tool_with(get), get, {"id": 5, "q": "paris"})
    assert (req.url, req.params, req.json) == ("https://h/x/5", {"q": "paris"}, None)
    post = Api(tool="T", name="p", method="POST", url="https://h/x", required_params=[Param("a"), Param("b")])
    req = prepare_request(tool_with(post), post, {"a": 1, "b": {"c": [1]}})
    assert (req.params, req.json) == ({}, {"a": 1, "b": {"c": [1]}})


def test_query_objects_are_json_encoded():
    api = Api(tool="T", name="g", url="https://h/x", optional_params=[Param("f", type="OBJECT")])
    assert prepare_request(tool_with(api), api, {"f": {"a": 1}}).params == {"f": '{"a":1}'}


def test_missing_path_value_and_missing_url():
    api = Api(tool="T", name="g", url="https://h/x/{id}", optional_params=[Param("id")])
    with pytest.raises(PreparationError, match="path parameter"):
        prepare_request(tool_with(api), api, {})
    with pytest.raises(PreparationError, match="no URL"):
        prepare_request(tool_with(api), Api(tool="T", name="g"), {})


def test_overrides_and_secrets():
    api = Api(tool="T", name="g", url="http://127.0.0.1:8750/fx/latest")
    req = prepare_request(tool_with(api), api, {}, secrets={"X-RapidAPI-Key": "s3cret", "?apikey": "q-secret"},
                          overrides={"http://127.0.0.1:8750": "http://127.0.0.1:40001/"})
    assert req.url == "http://127.0.0.1:40001/fx/latest"
    assert req.headers["X-RapidAPI-Key"] == "s3cret" and req.params["apikey"] == "q-secret"
    assert "q-secret" not in req.redacted() and "s3cret" not in req.redacted()


def test_auth_schemes():
    api = Api(tool="T", name="g", url="https://h/x")
    secret = lambda tool, scheme, host: "K"
    rapid = "https://t.p.rapidapi.com/x"
    assert auth_headers(tool_with(api, host="t.p.rapidapi.com"), secret, rapid) == {
        "X-RapidAPI-Key": "K", "X-RapidAPI-Host": "t.p.rapidapi.com"}
    # the catalog's host field does not decide: the URL called does (and names X-RapidAPI-Host)
    assert auth_headers(tool_with(api, host="t.p.rapidapi.com"), secret, "https://h/x") == {}
    assert auth_headers(tool_with(api, [AuthScheme("b", "http", scheme="bearer")]), secret, "https://h/x") == {
        "Authorization": "Bearer K"}
    assert auth_headers(tool_with(api, [AuthScheme("q", "apiKey", location="query", param_name="key")]), secret,
                        "https://h/x") == {"?key": "K"}
    assert auth_headers(tool_with(api, [AuthScheme("b", "http", scheme="bearer")]), lambda t, s, h: "") == {}


@pytest.mark.parametrize("status,kind", [(200, ""), (201, ""), (401, "unauthorized"), (403, "unauthorized"),
                                         (404, "request_error"), (409, "request_error"), (422, "request_error"),
                                         (429, "rate_limited"), (500, "not_working"), (503, "not_working"),
                                         (302, "not_working")])
def test_status_kinds(status, kind):
    obs = observation_from_http(status, {"content-type": "application/json"}, '{"message": "m"}', 0.1)
    assert error_kind(obs) == kind and obs.status == status
    if kind:
        assert obs.response == '{"message": "m"}'


def test_malformed_json_and_plain_text():
    obs = observation_from_http(200, {"content-type": "application/json"}, '{"a": [1, ', 0.0)
    assert error_kind(obs) == "malformed_response"
    assert not cacheable(obs)  # a broken body is a transient fault: never replayed
    assert observation_from_http(200, {"content-type": "text/plain"}, "hello", 0.0).ok


def test_service_answers():
    ok = observation_from_service(200, {}, '{"error": "", "response": "{\\"a\\": 1}"}', 0.0)
    assert ok.ok and ok.response == '{"a": 1}'
    err = observation_from_service(200, {}, '{"error": "API not working", "response": ""}', 0.0)
    assert err.error == "API not working"
    assert error_kind(observation_from_service(200, {}, "<html>", 0.0)) == "malformed_response"


def test_retry_delays():
    cfg = ExecutorConfig(backoff_base=0.5, backoff_max=3.0, retry_after_max=10.0)
    limited = Observation(error="rate_limited: x", status=429)
    assert retry_delay(0, limited, {"retry-after": "2"}, cfg) == 2.0
    assert retry_delay(0, limited, {"retry-after": "3600"}, cfg) == 10.0  # capped
    assert retry_delay(0, limited, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, cfg) == 0.5
    broken = Observation(error="not_working: x", status=500)
    assert [retry_delay(i, broken, {}, cfg) for i in range(4)] == [0.5, 1.0, 2.0, 3.0]


def test_config_is_checked():
    with pytest.raises(ExecutorError, match="timeout"):
        ExecutorConfig(timeout=0)
    with pytest.raises(Exception, match="cache mode"):
        ExecutorConfig(cache_mode="sometimes")
    with pytest.raises(ExecutorError, match="base_url_overrides"):
        ExecutorConfig(base_url_overrides={"127.0.0.1:1": "x"})
    assert "s3cret" not in repr(ExecutorConfig(credentials={"*": "s3cret"}))


def test_null_query_values_are_left_out_and_body_apis_always_get_a_body():
    # A nullable optional query parameter sent as null used to go out as `status=`, which the API rejected.
    get = Api(tool="T", name="g", url="https://h/x/{id}", required_params=[Param("id", location="path")],
              optional_params=[Param("status", location="query"), Param("X-A", location="header")])
    req = prepare_request(tool_with(get), get, {"id": 1, "status": None, "X-A": None})
    assert (req.url, req.params, req.headers, req.json) == ("https://h/x/1", {}, {}, None)
    with pytest.raises(PreparationError):  # a null path value is a missing one
        prepare_request(tool_with(get), get, {"id": None})
    # PATCH whose body fields are all optional: `{}` rather than no body (which FastAPI-style APIs refuse).
    patch = Api(tool="T", name="p", method="PATCH", url="https://h/t/{id}", required_params=[Param("id")],
                optional_params=[Param("status", location="body"), Param("note", location="body")])
    assert prepare_request(tool_with(patch), patch, {"id": 2}).json == {}
    assert prepare_request(tool_with(patch), patch, {"id": 2, "note": None}).json == {"note": None}
    bare = Api(tool="T", name="b", method="POST", url="https://h/ping")
    assert prepare_request(tool_with(bare), bare, {}).json is None
