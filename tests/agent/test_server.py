"""The HTTP API: a session's message, the pending call, approve / reject / edit, and /v1/chat/completions (as the
session's owner, with its bearer token; test_server_security.py covers everyone else)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.agent.helpers import ADDRESS, CREATE, ORDER, order_model
from toolbench.agent.server import create_app
from toolbench.llm.scripted import ScriptedChatModel

TOKEN = "tok-bob-0123456789abcdef"


@pytest.fixture
def serve(tmp_path, make_context):
    def start(model):
        client = TestClient(create_app(tmp_path, make_context(model), {"bob": TOKEN}))
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        return client

    return start


def test_message_pending_approve(serve, hub_get):
    before = len(hub_get("/shop/orders")["orders"])
    with serve(order_model()) as client:
        turn = client.post("/v1/sessions/bob/messages", json={"content": "Order two P1003"}).json()
        assert turn["status"] == "awaiting_approval" and turn["pending"]["call"]["name"] == CREATE
        pending = client.get("/v1/sessions/bob/pending")
        assert pending.status_code == 200 and pending.json()["call"]["http"]["body"] == ORDER
        busy = client.post("/v1/sessions/bob/messages", json={"content": "And another thing"})
        assert busy.status_code == 409
        done = client.post("/v1/sessions/bob/approve", json={}).json()
        assert done["status"] == "answered" and done["calls"][0]["ok"]
        assert client.get("/v1/sessions/bob/pending").status_code == 404
        view = client.get("/v1/sessions/bob").json()
        assert [m["role"] for m in view["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert len(hub_get("/shop/orders")["orders"]) == before + 1


def test_reject_and_edit(serve, hub_get):
    before = len(hub_get("/shop/orders")["orders"])
    with serve(ScriptedChatModel([ScriptedChatModel.call(CREATE, ORDER), "Not ordered.",
                                  ScriptedChatModel.call(CREATE, ORDER), "Ordered one."])) as client:
        client.post("/v1/sessions/c/messages", json={"content": "Order"})
        rejected = client.post("/v1/sessions/c/reject", json={"comment": "too expensive"}).json()
        assert rejected["calls"][0]["decision"] == "reject"
        assert len(hub_get("/shop/orders")["orders"]) == before

        client.post("/v1/sessions/c/messages", json={"content": "Order just one"})
        bad = client.post("/v1/sessions/c/edit", json={"arguments": {"items": [{"product_id": "P1003"}]}})
        assert bad.status_code == 422 and "shipping_address" in bad.json()["error"]["message"]
        one = {"items": [{"product_id": "P1003", "quantity": 1}], "shipping_address": ADDRESS}
        edited = client.post("/v1/sessions/c/edit", json={"arguments": one}).json()
        assert edited["status"] == "answered" and edited["calls"][0]["arguments"] == one
    orders = hub_get("/shop/orders")["orders"]
    assert len(orders) == before + 1 and orders[0]["items"][0]["quantity"] == 1


def test_openai_compatible_chat_with_a_yes(serve, hub_get):
    before = len(hub_get("/shop/orders")["orders"])
    with serve(order_model()) as client:
        ask = client.post("/v1/chat/completions", headers={"X-Session-Id": "oa"},
                          json={"model": "toolbench-agent", "messages": [{"role": "user", "content": "Order"}]})
        body = ask.json()
        assert ask.headers["x-session-id"] == "oa" and body["object"] == "chat.completion"
        assert "needs your approval" in body["choices"][0]["message"]["content"]
        assert body["toolbench"]["status"] == "awaiting_approval"
        yes = client.post("/v1/chat/completions", headers={"X-Session-Id": "oa"},
                          json={"messages": [{"role": "user", "content": "yes"}]}).json()
        assert yes["choices"][0]["message"]["content"] == "Done: see the result above."
        assert client.get("/v1/models").json()["data"][0]["id"] == "toolbench-agent"
        assert client.post("/v1/sessions/bad id/messages", json={"content": "x"}).status_code in (400, 404)
    assert len(hub_get("/shop/orders")["orders"]) == before + 1
