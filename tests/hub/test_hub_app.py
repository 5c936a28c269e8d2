"""The hub behaves like real APIs: data, errors, state per key, faults, OpenAPI quality."""

import collections

import httpx
import pytest

from toolbench.hub import HubSettings, HubThread
from toolbench.hub.settings import HubSettingsError, parse_fault


def test_health_and_loopback(hub):
    assert hub.settings.host == "127.0.0.1"
    assert httpx.get(hub.url + "/health").json()["status"] == "ok"


def test_missing_key_is_401_and_bearer_works(hub):
    r = httpx.get(hub.url + "/weather/current", params={"city": "Paris"})
    assert r.status_code == 401 and "API key" in r.json()["message"]
    r = httpx.get(hub.url + "/weather/current", params={"city": "Paris"}, headers={"Authorization": "Bearer k"})
    assert r.status_code == 200 and r.json()["city"] == "Paris"


def test_same_seed_same_data_other_seed_other_data(client, hub):
    a = client.get("/stocks/quote/CNTS").json()
    assert client.get("/stocks/quote/CNTS").json() == a
    from fastapi.testclient import TestClient

    from toolbench.hub import create_app

    other = TestClient(create_app(HubSettings(seed=7))).get("/stocks/quote/CNTS", headers={"X-RapidAPI-Key": "k"})
    assert other.json()["price"] != a["price"]


@pytest.mark.parametrize("path", ["/stocks/quote/AAPL", "/stocks/profile/NOPE", "/fx/latest?base=XYZ",
                                  "/weather/current?city=Atlantis", "/movies/mv9999", "/restaurants/nowhere-01",
                                  "/geo/countries/ZZ", "/shop/orders/ORD-99999"])
def test_unknown_things_are_404_with_a_message(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "not found" in r.json()["message"]


def test_company_search_without_match_is_404(client):
    assert client.get("/stocks/search", params={"query": "contoso"}).json()["results"][0]["ticker"] == "CNTS"
    assert client.get("/stocks/search", params={"query": "no such company"}).status_code == 404


def test_validation_errors_name_the_field(client):
    r = client.get("/weather/forecast", params={"city": "Paris", "days": 9})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "days"
    r = client.post("/restaurants/search", json={"location": {"city": "Paris"}, "price_range": {"min": 4, "max": 1}})
    assert r.status_code == 422 and "price_range" in r.json()["message"]


def test_restaurant_search_applies_nested_filters(client):
    body = {"location": {"city": "Rome", "radius_km": 20}, "cuisines": ["italian", "french", "thai"],
            "min_rating": 3.5, "price_range": {"min": 2, "max": 3}, "sort_by": "rating", "limit": 50}
    results = client.post("/restaurants/search", json=body).json()["results"]
    assert results, "the seeded data should have some match"
    for r in results:
        assert r["cuisine"] in body["cuisines"] and r["rating"] >= 3.5 and 2 <= r["price_level"] <= 3
        assert r["distance_km"] <= 20 and r["city"] == "Rome"
    assert [r["rating"] for r in results] == sorted((r["rating"] for r in results), reverse=True)


def test_movie_discover_filters(client):
    body = {"genres": ["drama"], "year_range": {"start": 1990, "end": 2020}, "min_rating": 6, "sort_by": "rating"}
    for m in client.post("/movies/discover", json=body).json()["results"]:
        assert "drama" in m["genres"] and 1990 <= m["year"] <= 2020 and m["rating"] >= 6


ADDRESS = {"name": "J", "street": "1 Rue", "city": "Lyon", "postal_code": "69002", "country_code": "FR"}


def test_orders_are_stateful_per_key_and_resettable(hub):
    a = httpx.Client(base_url=hub.url, headers={"X-RapidAPI-Key": "alice"})
    b = httpx.Client(base_url=hub.url, headers={"X-RapidAPI-Key": "bob"})
    pid = next(p["id"] for p in a.get("/shop/products").json()["products"] if p["stock"] >= 5)
    stock = a.get(f"/shop/products/{pid}").json()["stock"]
    order = a.post("/shop/orders", json={"items": [{"product_id": pid, "quantity": 1}],
                                         "shipping_address": ADDRESS})
    assert order.status_code == 201
    oid = order.json()["id"]
    assert a.get(f"/shop/products/{pid}").json()["stock"] == stock - 1
    assert oid in [o["id"] for o in a.get("/shop/orders").json()["orders"]]
    assert oid not in [o["id"] for o in b.get("/shop/orders").json()["orders"]]
    assert b.get(f"/shop/orders/{oid}").status_code == 404
    assert a.post(f"/shop/orders/{oid}/cancel", json={"reason": "changed_mind"}).json()["status"] == "cancelled"
    again = a.post(f"/shop/orders/{oid}/cancel", json={"reason": "changed_mind"})
    assert again.status_code == 409
    assert a.get(f"/shop/products/{pid}").json()["stock"] == stock
    a.post("/shop/orders", json={"items": [{"product_id": pid, "quantity": 1}], "shipping_address": ADDRESS})
    assert a.post("/admin/reset").json() == {"reset": 1, "scope": "key"}
    assert oid not in [o["id"] for o in a.get("/shop/orders").json()["orders"]]


def test_order_more_than_stock_is_409(client):
    products = client.get("/shop/products", params={"in_stock": True}).json()["products"]
    p = min(products, key=lambda p: p["stock"])
    r = client.post("/shop/orders", json={"items": [{"product_id": p["id"], "quantity": min(20, p["stock"] + 1)}],
                                          "shipping_address": ADDRESS})
    assert r.status_code == 409 if p["stock"] < 20 else r.status_code == 201


def test_helpdesk_ticket_visit_lead_flow(client):
    t = client.post("/crm/tickets", json={"subject": "Router dead", "description": "no lights", "priority": "high",
                                          "category": "hardware", "customer": {"name": "A", "email": "a@x.io"},
                                          "tags": ["router"]})
    assert t.status_code == 201
    tid = t.json()["id"]
    assert client.get("/crm/tickets", params={"tag": "router"}).json()["tickets"][0]["id"] == tid
    visit = {"ticket_id": tid, "skill": "network", "duration_hours": 2,
             "site": {"address": {"street": "1", "city": "Paris", "postal_code": "75001", "country_code": "FR"},
                      "contact_name": "A", "contact_phone": "+33 1"},
             "preferred_slots": [{"date": "2025-01-18", "start_time": "09:00", "end_time": "12:00"},
                                 {"date": "2025-01-20", "start_time": "09:00", "end_time": "12:00"},
                                 {"date": "2025-01-21", "start_time": "09:00", "end_time": "12:00"}]}
    v = client.post("/crm/visits", json=visit)
    assert v.status_code == 201 and v.json()["date"] in ("2025-01-20", "2025-01-21")  # 18th is a Saturday
    assert client.get(f"/crm/tickets/{tid}").json()["status"] == "in_progress"
    bad_slot = dict(visit, preferred_slots=[{"date": "2025-01-20", "start_time": "12:00", "end_time": "09:00"}])
    assert client.post("/crm/visits", json=bad_slot).status_code == 422
    lead = client.post("/crm/leads", json={"company": {"name": "Initech", "industry": "software", "size": "11-50"},
                                           "contact": {"name": "P", "email": "p@initech.com"},
                                           "estimated_value": 1200, "source": "referral"}).json()
    assert client.post(f"/crm/leads/{lead['id']}/stage", json={"stage": "lost"}).json()["stage"] == "lost"
    assert client.post(f"/crm/leads/{lead['id']}/stage", json={"stage": "won"}).status_code == 409


def test_calendar_overlap_and_holidays(client):
    ev = {"title": "A", "start": "2025-02-03T10:00", "end": "2025-02-03T11:00", "timezone": "Europe/Paris"}
    assert client.post("/calendar/events", json=ev).status_code == 201
    assert client.post("/calendar/events", json=dict(ev, title="B")).status_code == 409
    days = client.get("/calendar/holidays", params={"country_code": "FR", "year": 2025}).json()["holidays"]
    assert {"date": "2025-04-21", "name": "Easter Monday", "weekday": "Monday"} in days
    n = client.get("/calendar/business-days", params={"start_date": "2025-05-01", "end_date": "2025-05-31",
                                                      "country_code": "FR"}).json()
    assert n["business_days"] == 20  # 22 weekdays minus May 1 and May 8 (both Thursdays)


@pytest.mark.parametrize("mode,status", [("rate_limit", 429), ("server_error", 500), ("unauthorized", 401)])
def test_fault_header(client, mode, status):
    r = client.get("/fx/currencies", headers={"X-Hub-Fault": mode})
    assert r.status_code == status
    if mode == "rate_limit":
        assert r.headers["Retry-After"] == "0"


def test_malformed_and_queued_faults(client, hub):
    r = client.get("/fx/currencies", headers={"X-Hub-Fault": "malformed"})
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    client.post("/admin/faults", json={"mode": "server_error", "count": 2, "path_prefix": "/geo/"})
    assert client.get("/fx/currencies").status_code == 200  # other prefix: untouched
    assert [client.get("/geo/countries/FR").status_code for _ in range(3)] == [500, 500, 200]


def test_slow_fault_exceeds_a_client_timeout(client):
    with pytest.raises(httpx.ReadTimeout):
        client.get("/fx/currencies", headers={"X-Hub-Fault": "slow"}, timeout=0.2)


def test_fault_rates_are_seeded_and_roughly_right():
    settings = HubSettings(seed=3, faults={"rate_limit": 0.25, "server_error": 0.25}, retry_after=0)

    def run(n):
        from fastapi.testclient import TestClient

        from toolbench.hub import create_app

        c = TestClient(create_app(settings))
        return [c.get("/fx/currencies", headers={"X-RapidAPI-Key": "k"}).status_code for _ in range(n)]

    first = run(200)
    assert first[:50] == run(50)  # the same draws again (a prefix is enough to see the seed at work)
    counts = collections.Counter(first)
    assert 25 <= counts[429] <= 75 and 25 <= counts[500] <= 75 and counts[200] >= 70


def test_settings_are_checked():
    with pytest.raises(HubSettingsError, match="faults: unknown mode"):
        HubSettings(faults={"explode": 0.1})
    with pytest.raises(HubSettingsError, match="faults.slow"):
        HubSettings(faults={"slow": 2})
    with pytest.raises(HubSettingsError, match="port"):
        HubSettings(port=70000)
    assert parse_fault("rate-limit:0.2") == ("rate_limit", 0.2)
    assert parse_fault("slow") == ("slow", 1.0)
    with pytest.raises(HubSettingsError, match="MODE"):
        parse_fault("boom")


def test_restricted_keys():
    with HubThread(HubSettings(api_keys=("good",))) as hub:
        assert httpx.get(hub.url + "/fx/currencies", headers={"X-RapidAPI-Key": "bad"}).status_code == 401
        assert httpx.get(hub.url + "/fx/currencies", headers={"X-RapidAPI-Key": "good"}).status_code == 200
