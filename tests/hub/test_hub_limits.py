"""One request cannot exhaust the hub (body size, JSON shape, bounded 422) and /admin/* honours the hub's key.

Regressions from a tester's report: a 2 MB body (a million-element array) to an order route took 14.5 s and
answered a 188 MB 422 while the hub grew to 941 MB; a 20 MB body got no answer in 60 s (hub past 8.5 GB); with
``--api-key K`` an unauthenticated ``POST /admin/reset?everything=true`` deleted the key holder's orders.
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from toolbench.hub import HubSettings, HubThread
from toolbench.hub.app import key_accepted
from toolbench.hub.limits import MAX_LISTED_ERRORS, json_shape_problem
from toolbench.hub.settings import HubSettingsError

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = {"name": "J", "street": "1 Rue", "city": "Lyon", "postal_code": "69002", "country_code": "FR"}
JSON = {"content-type": "application/json"}
LIMIT = 500_000  # the subprocess hub's --max-body-bytes


def array_body(n: int, extra: bytes = b"") -> bytes:
    """``{"items": [0,0,...]}``: n items, each one a validation error on /shop/orders (not an object)."""
    return b'{"items": [' + b"0," * (n - 1) + b"0]" + extra + b"}"


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.fixture(scope="module")
def served_hub():
    """A real `toolbench hub serve` process on a free loopback port, so its memory can be read from /proc."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's RSS")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "toolbench", "hub", "serve", "--port", str(port),
                             "--max-body-bytes", str(LIMIT), "--log-level", "warning"], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("toolbench hub serve did not start")
        time.sleep(0.1)
    try:
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_20mb_body_is_413_at_once_and_the_hub_does_not_grow(served_hub):
    proc, url = served_hub
    with httpx.Client(base_url=url, headers={"X-RapidAPI-Key": "k"}, timeout=10) as client:
        order = {"items": [{"product_id": "P1003", "quantity": 1}], "shipping_address": ADDRESS}
        assert client.post("/shop/orders", json=order).status_code == 201  # warm up: every import done
        assert client.post("/shop/orders", content=b"x" * (LIMIT + 1), headers=JSON).status_code == 413
        before = rss_mb(proc.pid)
        big = array_body(10_000_000)  # 20 MB, ten million items
        started = time.monotonic()
        r = client.post("/shop/orders", content=big, headers=JSON)
        elapsed = time.monotonic() - started
        assert r.status_code == 413, r.text[:300]
        assert f"{len(big)} bytes" in r.json()["message"] and str(LIMIT) in r.json()["message"]
        assert elapsed < 1.0, f"413 took {elapsed:.2f} s"

        def chunks():  # no Content-Length: Transfer-Encoding chunked, cut off once past the limit
            for i in range(0, len(big), 1 << 16):
                yield big[i:i + (1 << 16)]

        started = time.monotonic()
        r = client.post("/shop/orders", content=chunks(), headers=JSON)
        elapsed = time.monotonic() - started
        assert r.status_code == 413 and "more than" in r.json()["message"], r.text[:300]
        assert elapsed < 1.0, f"chunked 413 took {elapsed:.2f} s"
        grown, peak = rss_mb(proc.pid) - before, rss_mb(proc.pid, "VmHWM") - before
        assert grown < 50 and peak < 50, f"RSS grew {grown:.1f} MB (peak +{peak:.1f} MB)"
        assert client.get("/fx/currencies").status_code == 200  # same keep-alive connection, still served


def test_million_item_array_is_413_under_the_default_limit():
    assert HubSettings().max_body_bytes == 1 << 20
    with HubThread(HubSettings()) as hub:
        body = array_body(1_000_000)  # 2 MB
        r = httpx.post(hub.url + "/shop/orders", content=body, headers={**JSON, "X-RapidAPI-Key": "k"}, timeout=10)
        assert r.status_code == 413 and len(r.content) < 1000


def test_json_budget_bounds_validation_when_the_size_limit_is_raised():
    with HubThread(HubSettings(max_body_bytes=4 << 20)) as hub, \
            httpx.Client(base_url=hub.url, headers={**JSON, "X-RapidAPI-Key": "k"}, timeout=10) as client:
        started = time.monotonic()
        r = client.post("/shop/orders", content=array_body(1_000_000))  # 2 MB: under the size limit
        assert r.status_code == 413 and len(r.content) < 1000, r.text[:300]
        assert "max_json_values" in r.json()["message"]
        assert time.monotonic() - started < 2.0
        deep = b'{"items": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        r = client.post("/shop/orders", content=deep)
        assert r.status_code == 413 and "max_json_depth" in r.json()["message"]
        # Under the budget: a 422 listing the first problems and how many there are, not one entry per item.
        r = client.post("/shop/orders", content=array_body(5000, b', "shipping_address": {}'))
        assert r.status_code == 422 and len(r.content) < 10_000, len(r.content)
        body = r.json()
        assert len(body["errors"]) == MAX_LISTED_ERRORS and body["error_count"] > 5000
        assert body["errors"][0]["field"] == "items.0" and "more" in body["message"]
        r = client.post("/shop/orders", json={"items": [{"product_id": "P1003", "quantity": 1}],
                                              "shipping_address": ADDRESS})
        assert r.status_code == 201  # a normal request passes both checks, its body intact
        assert hub.hub.stats["fault:too_large"] == 2


def test_json_shape_problem():
    assert json_shape_problem({"a": [1, 2, {"b": "c"}]}, max_values=6, max_depth=3) is None
    assert "max_json_values" in json_shape_problem({"a": [1, 2, {"b": "c"}]}, max_values=5, max_depth=3)
    assert "max_json_depth" in json_shape_problem({"a": [1, 2, {"b": "c"}]}, max_values=6, max_depth=2)
    assert json_shape_problem([[]] * 3, max_values=4, max_depth=2) is None
    assert "max_json_depth" in json_shape_problem([[[]]], max_values=4, max_depth=2)
    with pytest.raises(HubSettingsError, match="max_body_bytes"):
        HubSettings(max_body_bytes=0)
    with pytest.raises(HubSettingsError, match="max_json_values"):
        HubSettings(max_json_values=-1)


def test_admin_needs_the_key_when_the_hub_has_keys():
    with HubThread(HubSettings(api_keys=("K", "K2"), retry_after=0)) as hub:
        owner = httpx.Client(base_url=hub.url, headers={"X-RapidAPI-Key": "K"}, timeout=10)
        order = owner.post("/shop/orders", json={"items": [{"product_id": "P1003", "quantity": 1}],
                                                 "shipping_address": ADDRESS})
        assert order.status_code == 201
        oid = order.json()["id"]
        for headers in ({}, {"X-RapidAPI-Key": "wrong"}, {"Authorization": "Bearer K-but-longer"},
                        {"X-RapidAPI-Key": ""}):
            assert httpx.post(hub.url + "/admin/reset", params={"everything": "true"},
                              headers=headers).status_code == 401
            assert httpx.post(hub.url + "/admin/reset", headers=headers).status_code == 401
            r = httpx.post(hub.url + "/admin/faults", json={"mode": "server_error", "count": 5}, headers=headers)
            assert r.status_code == 401 and "API key" in r.json()["message"]
            assert httpx.get(hub.url + "/admin/stats", headers=headers).status_code == 401
        # Nothing of the key holder's changed: its order is there and its requests answer normally.
        assert owner.get(f"/shop/orders/{oid}").status_code == 200
        assert owner.get("/fx/currencies").status_code == 200
        # With a key the admin routes work (the bearer form too).
        assert owner.get("/admin/stats").json()["fault:admin_no_key"] == 16
        queued = httpx.post(hub.url + "/admin/faults", json={"mode": "server_error", "count": 1,
                                                             "path_prefix": "/fx/"},
                            headers={"Authorization": "Bearer K2"})
        assert queued.status_code == 200
        assert owner.get("/fx/currencies").status_code == 500
        # One key holder cannot wipe the other keys' state: with several keys, everything=true is refused.
        other = httpx.Client(base_url=hub.url, headers={"X-RapidAPI-Key": "K2"}, timeout=10)
        assert other.post("/admin/reset", params={"everything": "true"}).status_code == 403
        assert owner.get(f"/shop/orders/{oid}").status_code == 200
        # /virtual (which may spend the simulator's LLM) needs a key too.
        call = {"category": "x", "tool_name": "fx", "api_name": "currencies", "tool_input": "{}", "strip": ""}
        assert httpx.post(hub.url + "/virtual", json=call).status_code == 401
        assert httpx.post(hub.url + "/virtual", json={**call, "toolbench_key": "nope"}).status_code == 401
        assert httpx.post(hub.url + "/virtual", json={**call, "toolbench_key": "K"}).status_code != 401
        assert owner.post("/virtual", json=call).status_code != 401
        assert owner.post("/admin/reset").json() == {"reset": 1, "scope": "key"}
        assert owner.get(f"/shop/orders/{oid}").status_code == 404


def test_admin_stays_open_without_configured_keys(hub):
    # Any key opens such a hub, so there is no secret to ask for (the tests and tools rely on this).
    assert httpx.get(hub.url + "/admin/stats").status_code == 200


def test_key_accepted_compares_every_key():
    assert key_accepted("b", ("a", "b")) and not key_accepted("c", ("a", "b"))
    assert not key_accepted("", ("a",)) and not key_accepted("a", ())
    assert key_accepted("clé", ("clé",))
