"""Sessions survive a restart (a new process opens the same SQLite folder) and never store an API key; a call cut
off in flight is not sent again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.agent.helpers import CREATE, ORDER, order_model, run
from toolbench.agent.store import AgentStore, CallState
from toolbench.llm.scripted import ScriptedChatModel

ROOT = Path(__file__).resolve().parents[2]


def _first_half(state: Path, catalog: Path, hub_url: str, api_key: str) -> dict:
    env = {**os.environ, "TOOLBENCH_API_KEY": api_key, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tests.agent.session_script", str(state), str(catalog), hub_url],
                          check=False, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _bytes_of(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_session_survives_a_restart_and_stores_no_key(tmp_path, hub, hub_get, api_key, make_context):
    from toolbench.hub.catalog import export_catalog

    export_catalog(tmp_path / "catalog")
    state = tmp_path / "state"
    before = len(hub_get("/shop/orders")["orders"])
    first = _first_half(state, tmp_path / "catalog", hub.url, api_key)  # another process, which then exits
    assert first["status"] == "awaiting_approval" and first["pending"]["call"]["name"] == CREATE
    assert len(hub_get("/shop/orders")["orders"]) == before

    async def resume(rt):  # this process: a new graph on the same files
        waiting = await rt.status("alice")
        return waiting, await rt.decide("alice", "approve"), await rt.messages("alice")

    waiting, done, messages = run(resume, state, make_context(ScriptedChatModel(["Your order is placed."])))
    assert waiting.status == "awaiting_approval" and waiting.pending == first["pending"]
    assert done.status == "answered" and done.answer == "Your order is placed."
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert len(hub_get("/shop/orders")["orders"]) == before + 1

    files = _bytes_of(state)
    assert b"ORD-" in files  # the session's data is there...
    assert api_key.encode() not in files  # ...and the key that made the call is not


def test_in_process_runs_store_no_key_either(tmp_path, make_context, api_key):
    async def go(rt):
        await rt.send("s1", "Order")
        return await rt.decide("s1", "approve")

    assert run(go, tmp_path, make_context(order_model())).status == "answered"
    assert api_key.encode() not in _bytes_of(tmp_path)


def test_a_call_cut_off_in_flight_is_not_sent_again(tmp_path, make_context, hub_get):
    """The journal shows the order was sent but never answered (the process died): approving again after the
    restart tells the model the outcome is unknown instead of placing a second order."""
    from toolbench.toolstep import call_key

    before = len(hub_get("/shop/orders")["orders"])
    model = ScriptedChatModel([ScriptedChatModel.call(CREATE, ORDER), "I could not confirm the order."])
    ctx = make_context(model)
    waiting = run(lambda rt: rt.send("s1", "Order"), tmp_path, ctx)
    call = waiting.pending["call"]
    store = AgentStore(tmp_path / "agent.sqlite")
    key = call_key({"session": "s1", "message": 2, "call": 0}, CREATE, call["arguments"])  # the assistant message at 2
    store.start_call(key, "s1", CREATE, call["arguments"])  # as if the process had died mid-call
    assert store.call_state(key)[0] == CallState.STARTED

    result = run(lambda rt: rt.decide("s1", "approve"), tmp_path, ctx)
    assert result.calls[0]["error"].startswith("outcome_unknown")
    assert len(hub_get("/shop/orders")["orders"]) == before
