"""The hub never crashes on arguments its own OpenAPI allows, keeps connections alive when a handler does
crash, and documents what it enforces (ticket id pattern, the 422 body)."""

import json
import random
import socket

import httpx
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from toolbench.catalog.values import ValueSampler, catalog_today
from toolbench.executor import prepare_request
from toolbench.hub import HubSettings, HubThread, create_app
from toolbench.hub.base import HubTool
from toolbench.hub.catalog import hub_tools, openapi_documents
from toolbench.hub.settings import PUBLIC_URL
from toolbench.hub.tools import all_tools

TOOLS = hub_tools()
APIS = [(t, a) for t in TOOLS for a in t.apis]
HEADERS = {"X-RapidAPI-Key": "k"}
# Rules that tie two arguments together: a schema cannot state them, so sampled arguments may break them.
CROSS_FIELD_RULES = ("end must be after start", "end_time must be after start_time",
                     "price_range.min is greater than price_range.max")


@pytest.fixture(scope="module")
def app_client():
    with TestClient(create_app(HubSettings()), raise_server_exceptions=False, headers=HEADERS) as c:
        yield c


def call(client, tool, api, args):
    req = prepare_request(tool, api, args)
    return client.request(req.method, req.url.removeprefix(PUBLIC_URL), params=req.params or None, json=req.json)


def test_create_event_with_mixed_local_and_offset_times(app_client):
    # Regression: "2025-01-20T10:00" with "2025-02-04T20:30:00Z" compared a naive with an aware datetime in the
    # body validator: TypeError, HTTP 500 (and a closed connection: see below).
    body = {"title": "Review", "start": "2025-03-03T10:00", "end": "2025-03-03T09:30:00Z",
            "timezone": "Europe/Paris", "allow_overlap": True}
    r = app_client.post("/calendar/events", json=body)
    assert r.status_code == 201, r.text
    event = r.json()  # 09:30Z is 10:30 in Paris: the offset is converted to the event's zone
    assert (event["start"], event["end"], event["end_utc"]) == ("2025-03-03T10:00:00", "2025-03-03T10:30:00",
                                                                "2025-03-03T09:30:00+00:00")
    r = app_client.post("/calendar/events", json=dict(body, end="2025-03-03T08:00:00Z"))
    assert r.status_code == 422 and "end must be after start" in r.json()["message"]


@pytest.mark.parametrize("method,path,kw", [
    ("POST", "/calendar/events", {"json": {"title": "a", "start": "0001-01-01T00:00", "end": "0001-01-01T01:00",
                                           "timezone": "Asia/Tokyo"}}),
    ("POST", "/calendar/events", {"json": {"title": "a", "start": "2025-01-01T00:00", "end": "2025-01-01T01:00",
                                           "timezone": "America"}}),  # a folder of the tz database: OSError
    ("GET", "/calendar/now", {"params": {"timezone": "x" * 300}}),
    ("GET", "/calendar/convert", {"params": {"datetime": "0001-01-01T00:00", "from_timezone": "Asia/Tokyo",
                                             "to_timezone": "UTC"}}),
    ("GET", "/calendar/business-days", {"params": {"start_date": "9999-12-30", "end_date": "9999-12-31",
                                                   "country_code": "FR"}}),
    ("POST", "/crm/visits", {"json": {"ticket_id": "TCK-1001", "skill": "network", "duration_hours": 8,
                                      "site": {"address": {"street": "1", "city": "Paris", "postal_code": "75001",
                                                           "country_code": "FR"},
                                               "contact_name": "A", "contact_phone": "+33 1"},
                                      "preferred_slots": [{"date": "9999-12-31", "start_time": "22:00",
                                                           "end_time": "23:30"}]}}),
])
def test_edge_values_are_answered_not_crashed(app_client, method, path, kw):
    r = app_client.request(method, path, **kw)
    assert r.status_code < 500, r.text
    assert r.status_code < 400 or r.json()["message"]


def test_sampled_valid_arguments_never_crash_and_422_only_for_cross_field_rules(app_client):
    """Arguments drawn from the published catalog: the hub answers each with a 2xx or a deliberate 4xx; a 422
    (validation) only for a rule between two arguments, so every single-argument rule is in the OpenAPI."""
    today = catalog_today([a for _, a in APIS])
    for tool, api in APIS:
        for seed in range(3):
            args = ValueSampler(random.Random(seed), today=today).arguments(api)
            r = call(app_client, tool, api, args)
            where = f"{api.name} {json.dumps(args)[:300]}: {r.status_code} {r.text[:200]}"
            assert r.status_code < 500, where
            if r.status_code == 422:
                assert any(rule in r.json()["message"] for rule in CROSS_FIELD_RULES), where


def test_ticket_id_pattern_is_published_and_enforced(app_client):
    crm = next(t for t in TOOLS if t.name == "DeskPilot CRM")
    for api in crm.apis:
        for p in api.params:
            if p.name == "ticket_id":
                schema = p.schema.get("anyOf", [p.schema])[0]
                assert schema["pattern"] == r"^TCK-\d{4,}$", api.name
    r = app_client.get("/crm/tickets/1001")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ticket_id"
    assert app_client.get("/crm/tickets/TCK-9999").status_code == 404


def test_documented_422_body_is_the_one_sent(app_client):
    docs = openapi_documents()
    for slug, doc in docs.items():
        assert "HTTPValidationError" not in doc["components"]["schemas"], slug
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if "422" in op["responses"]:
                    ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ValidationErrorBody", f"{method} {path}"
    doc = docs["crm"]
    schema = {**doc["components"]["schemas"]["ValidationErrorBody"], "components": doc["components"]}
    r = app_client.post("/crm/tickets", json={"subject": ""})
    assert r.status_code == 422
    assert not list(Draft202012Validator(schema).iter_errors(r.json()))
    assert app_client.get("/stocks/no/such/route").json() == {"message": "Not Found"}  # the router's own 404


def crashing_tool() -> HubTool:
    router = APIRouter(prefix="/boom", tags=["Boom"])

    @router.get("/crash", operation_id="crash", summary="Crash", description="Raises.")
    async def crash() -> dict:
        raise TypeError("can't compare offset-naive and offset-aware datetimes")

    @router.get("/ok", operation_id="ok", summary="Ok", description="Answers.")
    async def ok() -> dict:
        return {"ok": True}

    return HubTool(slug="boom", name="Boom", category="Tools", description="Test tool.", router=router,
                   make_state=lambda seed: None)


def raw_get(sock: socket.socket, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: hub\r\nX-RapidAPI-Key: k\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_crashing_handler_answers_500_and_keeps_the_connection():
    """The 'cannot connect (ReadError)' seen under load: uvicorn closed the connection after a handler raised,
    and the client's next request on that pooled connection failed. Now the hub answers a JSON 500 itself."""
    with HubThread(HubSettings(), tools=[*all_tools(), crashing_tool()]) as hub:
        with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as sock:
            first = raw_get(sock, "/boom/crash")
            assert first.startswith(b"HTTP/1.1 500") and b"TypeError" in first and b"bug in the hub" in first
            second = raw_get(sock, "/boom/ok")  # same connection
            assert second.startswith(b"HTTP/1.1 200") and second.endswith(b'{"ok":true}')
        assert httpx.get(hub.url + "/admin/stats").json()["crash"] == 1
        assert hub.server.config.timeout_keep_alive == 30  # above httpx's 5 s pool expiry
