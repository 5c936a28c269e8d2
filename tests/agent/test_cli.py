"""The `toolbench agent` commands: a terminal session driven through stdin (approve, then edit), the policy
table, and feedback exported in the training formats and read back by train.format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.helpers import ADDRESS, CREATE
from tests.capture import run_cli
from toolbench.hub.catalog import export_catalog
from toolbench.hub.settings import PUBLIC_URL

ROOT = Path(__file__).resolve().parents[2]


cli = run_cli


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("catalog")
    export_catalog(folder)
    return folder


@pytest.fixture(scope="module")
def chatted(tmp_path_factory, catalog_dir, hub):
    """A terminal session: the first order approved with y, the second edited with e to one item, express."""
    state = tmp_path_factory.mktemp("state")
    key = "sk-cli-test-key-0123456789"
    edited = {"items": [{"product_id": "P1003", "quantity": 1}], "shipping_address": ADDRESS,
              "shipping_method": "express"}
    typed = "\n".join(["Order two P1003 please", "y", "Now order one, express", "e", json.dumps(edited), "/quit"])
    env = {**os.environ, "TOOLBENCH_API_KEY": key, "PYTHONPATH": str(ROOT), "EDITOR": "",
           "TOOLBENCH_AGENT_TEST_MODEL": "tests.agent.helpers:two_orders_model", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "toolbench", "agent", "chat", "--catalog", str(catalog_dir),
                           "--state", str(state), "--session", "term", "--api-override", f"{PUBLIC_URL}={hub.url}"],
                          input=typed + "\n", check=False, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return state, key, edited, done.stdout


def test_terminal_session_approve_then_edit(chatted, hub):
    import httpx

    state, key, _, out = chatted
    assert out.count("approval needed") == 2
    assert "POST " + hub.url + "/shop/orders" in out  # the exact call was shown
    assert "Ordered two." in out and "Ordered as you edited it." in out
    orders = httpx.get(hub.url + "/shop/orders", headers={"X-RapidAPI-Key": key}).json()["orders"]
    new = [o for o in orders if o["created_at"] > "2025-01-15"]
    assert sorted((o["items"][0]["quantity"], o["shipping_method"]) for o in new) == [(1, "express"), (2, "standard")]
    assert key.encode() not in b"".join(p.read_bytes() for p in state.iterdir() if p.is_file())


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "toolllama"])
def test_exported_feedback_loads_in_the_trainer(chatted, tmp_path, capsys, fmt):
    from train.format import read_examples

    state, _, edited, _ = chatted
    out = tmp_path / ("feedback.jsonl" if fmt == "openai" else "feedback.json")
    code, stdout, err = cli(["agent", "export-feedback", "--state", str(state), "--format", fmt, "--out", str(out)],
                            capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["written"] == 2 and summary["decisions"] == {"approved": 1, "edited": 1, "rejected": 0}
    examples = read_examples(out, fmt)
    assert len(examples) == 2
    for example in examples:
        last = example.messages[-1]
        assert last["role"] == "assistant" and last["tool_calls"][0]["function"]["name"] == CREATE
        assert any(m["role"] == "user" for m in example.messages)
        assert CREATE in [t["function"]["name"] for t in example.tools]
    assert json.loads(examples[1].messages[-1]["tool_calls"][0]["function"]["arguments"]) == edited


def test_policy_command_shows_the_switch(catalog_dir, tmp_path, capsys):
    accuracy = tmp_path / "per_api.json"
    accuracy.write_text(json.dumps({"ShopEase Orders/create_order": {"accuracy": 0.92, "n": 50},
                                    "shopease_orders/cancel_order": {"accuracy": 0.5, "n": 50},
                                    "nosuch/api": {"accuracy": 1.0, "n": 5}}))
    code, out, err = cli(["agent", "policy", "--catalog", str(catalog_dir), "--accuracy", str(accuracy), "--json"],
                         capsys)
    assert code == 0, err
    rows = {(r.get("tool"), r.get("api")): r for r in map(json.loads, out.splitlines())}
    assert rows[("ShopEase Orders", "create_order")]["mode"] == "execute"
    assert rows[("ShopEase Orders", "cancel_order")]["mode"] == "suggest"
    assert rows[("ShopEase Orders", "list_orders")]["mode"] == "execute"
    assert rows[("DeskPilot CRM", "update_ticket")]["mode"] == "suggest"  # PATCH without evidence
    assert {"unmatched_accuracy_key": "nosuch/api"} in [json.loads(x) for x in out.splitlines()]
    code, out, _ = cli(["agent", "policy", "--catalog", str(catalog_dir), "--accuracy", str(accuracy),
                        "--threshold", "0.95", "--json"], capsys)
    rows = {(r.get("tool"), r.get("api")): r for r in map(json.loads, out.splitlines())}
    assert rows[("ShopEase Orders", "create_order")]["mode"] == "suggest"
    code, out, _ = cli(["agent", "policy", "--catalog", str(catalog_dir), "--accuracy", str(accuracy)], capsys)
    assert code == 0 and "create_order" in out and "wait for approval" in out


def test_bad_accuracy_file_is_a_clean_error(catalog_dir, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a/b": {"accuracy": 2, "n": 1}}')
    code, _, err = cli(["agent", "policy", "--catalog", str(catalog_dir), "--accuracy", str(bad)], capsys)
    assert code == 2 and "accuracy: must be a number between 0 and 1" in err and "Traceback" not in err
