"""End to end against the local SmolLM2-135M server (`toolbench llm serve --model default`), driven through the
agent's HTTP API, with one approval. The untuned 135M model rarely calls tools by itself (it answers in prose),
so the request names the function (``tool_choice``): the cancellation it writes waits for approval, nothing
reaches the hub before the decision, and the decided call is sent exactly once. Valid arguments are approved as
written (seen: ``{"order_id": ..., "reason": "changed_mind"}``); invalid ones would be fixed by an edit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agent.helpers import ORDER
from toolbench.agent.graph import AgentContext
from toolbench.catalog.functions import FunctionSet
from toolbench.executor import Executor, ExecutorConfig
from toolbench.hub.settings import PUBLIC_URL

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
CANCEL = "cancel_order_for_shopease_orders"


@pytest.fixture(scope="module")
def llm_url():
    proc = subprocess.Popen([sys.executable, "-m", "toolbench", "llm", "serve", "--model", "default", "--port", "0",
                             "--dtype", "bfloat16", "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 300
    url, seen = None, []
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("serving ") and " at " in line:
                url = line.rsplit(" at ", 1)[1].strip()
                break
        if url is None:
            pytest.fail("the SmolLM2 server did not start:\n" + "".join(seen[-30:]))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_http_session_with_smollm2_and_one_approval(tmp_path, llm_url, hub, tools, hub_get, api_key):
    import httpx
    from fastapi.testclient import TestClient

    from toolbench.agent.server import create_app
    from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

    placed = httpx.post(hub.url + "/shop/orders", json=ORDER, headers={"X-RapidAPI-Key": api_key}).json()["id"]
    shop = next(t for t in tools if t.name == "ShopEase Orders")
    model = OpenAIChatModel(OpenAIChatConfig(model="smollm2-135m-instruct", base_url=llm_url, timeout=300))
    context = AgentContext(
        model=model, functions=FunctionSet.from_apis([shop.api("cancel_order"), shop.api("get_order")]),
        executor=Executor(tools, ExecutorConfig(base_url_overrides={PUBLIC_URL: hub.url}),
                          env={"TOOLBENCH_API_KEY": api_key}),
        params={"temperature": 0, "max_tokens": 80, "tool_choice": {"type": "function", "function": {"name": CANCEL}}},
        max_steps=1)
    with TestClient(create_app(tmp_path, context, {"e2e-user": "tok-e2e-0123456789abcdef"}),
                    headers={"Authorization": "Bearer tok-e2e-0123456789abcdef"}) as client:
        turn = client.post("/v1/sessions/e2e/messages",
                           json={"content": f"Cancel my order {placed}, I ordered it by mistake."})
        assert turn.status_code == 200, turn.text
        turn = turn.json()
        assert turn["status"] == "awaiting_approval", turn
        call = turn["pending"]["call"]
        assert call["name"] == CANCEL and call["gate"] == "suggest" and call["method"] == "POST"
        assert _cancels(hub) == {}  # nothing ran before the decision
        if call["problems"]:  # the small model's arguments did not validate: a person fixes them
            done = client.post("/v1/sessions/e2e/edit", json={"arguments": {"order_id": placed, "reason": "other"}})
        else:  # approve exactly what it proposed
            done = client.post("/v1/sessions/e2e/approve", json={})
        assert done.status_code == 200, done.text
        done = done.json()
    print("SmolLM2 proposed:", call["arguments"], "->", done["calls"][0]["decision"], done["calls"][0]["status"])
    assert done["status"] == "answered"
    ran = done["calls"][0]["arguments"]["order_id"]
    assert _cancels(hub) == {f"path:/shop/orders/{ran}/cancel": 1}  # the decided call, sent once
    if ran == placed:
        assert hub_get(f"/shop/orders/{placed}")["status"] == "cancelled"


def _cancels(hub) -> dict:
    import httpx

    stats = httpx.get(hub.url + "/admin/stats").json()
    return {k: v for k, v in stats.items() if k.endswith("/cancel")}
