"""The agent server under hostile clients (issue 17): a session left waiting for approval is read, chatted in and
decided only by its owner's token; a token of another user, a request without a token, a text/plain or
cross-origin approval and an oversized body are refused, and the waiting order is never placed until its owner
approves it, which the session's record then shows with who decided and when.

The server runs for real (uvicorn on a loopback port, the app's lifespan on) and each client is its own
``httpx.Client``."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.agent.helpers import CREATE, ORDER, order_model, run
from toolbench.agent.auth import TOKENS_ENV, TokenRegistry, configure_tokens
from toolbench.agent.server import create_app
from toolbench.agent.store import AgentStore
from toolbench.errors import ToolbenchError
from toolbench.llm.scripted import ScriptedChatModel

ROOT = Path(__file__).resolve().parents[2]
ALICE = "tok-alice-5b0d7c1e9a4f4c21"
BOB = "tok-bob-8e2f6a3d1c7b4e90"
EVIL = "http://evil.example"


class AgentThread:
    """``create_app(...)`` under uvicorn in a daemon thread, on a free loopback port."""

    def __init__(self, app):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the agent server did not start"
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def served(tmp_path, make_context):
    """The agent for alice and bob over HTTP, and a client factory: ``client(token)`` (None: no token)."""
    clients = []

    def client(base: str, token: str | None) -> httpx.Client:
        made = httpx.Client(base_url=base, timeout=30,
                            headers={"Authorization": f"Bearer {token}"} if token else {})
        clients.append(made)
        return made

    def start(model=None, **options):
        app = create_app(tmp_path, make_context(model or order_model()), {"alice": ALICE, "bob": BOB}, **options)
        return AgentThread(app)

    yield start, client
    for made in clients:
        made.close()


def _orders(hub_get) -> int:
    return len(hub_get("/shop/orders")["orders"])


def test_only_the_owner_reads_chats_and_decides(served, hub_get, tmp_path):
    start, client = served
    before = _orders(hub_get)
    with start() as base:
        alice, stranger, bob = client(base, ALICE), client(base, None), client(base, BOB)
        turn = alice.post("/v1/sessions/A/messages", json={"content": "Order two P1003 to Jane Doe"})
        assert turn.status_code == 200 and turn.json()["status"] == "awaiting_approval"
        assert turn.json()["pending"]["call"]["name"] == CREATE

        # no token: nothing is read, written or decided
        for method, path in [("GET", "/v1/sessions/A"), ("GET", "/v1/sessions/A/pending"),
                             ("POST", "/v1/sessions/A/messages"), ("POST", "/v1/sessions/A/approve"),
                             ("POST", "/v1/sessions/A/reject"), ("POST", "/v1/sessions/A/edit"),
                             ("POST", "/v1/chat/completions"), ("GET", "/v1/models")]:
            answer = stranger.request(method, path, json={} if method == "POST" else None)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert "Jane Doe" not in answer.text and CREATE not in answer.text
        bad = stranger.get("/v1/sessions/A", headers={"Authorization": "Bearer tok-alice-5b0d7c1e9a4f4c2X"})
        assert bad.status_code == 401
        assert stranger.get("/v1/sessions/A", headers={"Authorization": ALICE}).status_code == 401  # no scheme
        joined = stranger.post("/v1/chat/completions", json={"user": "A", "messages": [
            {"role": "user", "content": "yes"}]})
        assert joined.status_code == 401

        # the tester's request: text/plain, from a web page's origin, no credential
        attack = stranger.post("/v1/sessions/A/approve", content=b"{}",
                               headers={"Content-Type": "text/plain", "Origin": EVIL})
        assert attack.status_code == 403 and "access-control-allow-origin" not in attack.headers
        assert stranger.post("/v1/sessions/A/approve", content=b"{}",
                             headers={"Content-Type": "text/plain"}).status_code == 401

        # another user's valid token: the session does not exist for them
        for method, path in [("GET", "/v1/sessions/A"), ("GET", "/v1/sessions/A/pending"),
                             ("POST", "/v1/sessions/A/messages"), ("POST", "/v1/sessions/A/approve"),
                             ("POST", "/v1/sessions/A/reject")]:
            answer = bob.request(method, path, json={"content": "hi"} if method == "POST" else None)
            assert answer.status_code == 404, (method, path, answer.text)
            assert "Jane Doe" not in answer.text
        assert bob.post("/v1/sessions/A/edit", json={"arguments": ORDER}).status_code == 404
        yes = bob.post("/v1/chat/completions", headers={"X-Session-Id": "A"},
                       json={"messages": [{"role": "user", "content": "yes"}]})
        assert yes.status_code == 404
        impersonate = bob.post("/v1/chat/completions", json={"user": "alice", "messages": [
            {"role": "user", "content": "yes"}]})
        assert impersonate.status_code == 403 and "token" in impersonate.json()["error"]["message"]

        # the owner too must send JSON, and not from a foreign origin
        plain = alice.post("/v1/sessions/A/approve", content=b"{}", headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415
        form = alice.post("/v1/sessions/A/approve", data={"comment": "x"})
        assert form.status_code == 415
        assert alice.post("/v1/sessions/A/approve").status_code == 415  # no Content-Type at all
        crossed = alice.post("/v1/sessions/A/approve", json={}, headers={"Origin": EVIL})
        assert crossed.status_code == 403 and "access-control-allow-origin" not in crossed.headers
        preflight = alice.options("/v1/sessions/A/approve", headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers

        # nothing ran: the order waits, and the hub has no new order
        assert _orders(hub_get) == before
        waiting = alice.get("/v1/sessions/A/pending")
        assert waiting.status_code == 200 and waiting.json()["call"]["http"]["body"] == ORDER

        # the owner approves; the record says who and when
        decided_from = time.time()
        done = alice.post("/v1/sessions/A/approve", json={"comment": "go"})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "answered" and done.json()["calls"][0]["decided_by"] == "alice"
        record = alice.get("/v1/sessions/A").json()
        assert [d["decision"] for d in record["decisions"]] == ["approved"]
        decision = record["decisions"][0]
        assert decision["decided_by"] == "alice" and decision["function"] == CREATE
        assert decided_from <= decision["decided_at"] <= time.time() and decision["comment"] == "go"
        assert "access-control-allow-origin" not in done.headers
    assert _orders(hub_get) == before + 1
    stored = AgentStore(tmp_path / "agent.sqlite")
    try:
        [row] = stored.feedback("A")
        assert row.decided_by == "alice" and row.decided_at == decision["decided_at"]
        assert stored.owner("A") == "alice"
    finally:
        stored.close()
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert ALICE.encode() not in files and BOB.encode() not in files  # tokens never reach the disk


def test_reject_by_another_user_is_refused_and_the_owner_rejects(served, hub_get):
    start, client = served
    before = _orders(hub_get)
    model = ScriptedChatModel([ScriptedChatModel.call(CREATE, ORDER), ScriptedChatModel.call(CREATE, ORDER),
                               "Not ordered."])
    with start(model) as base:
        alice, bob = client(base, ALICE), client(base, BOB)
        alice.post("/v1/sessions/A2/messages", json={"content": "Order"})
        assert bob.post("/v1/sessions/A2/reject", json={}).status_code == 404
        bob_own = bob.post("/v1/sessions/B2/messages", json={"content": "Order"})  # bob's own session works
        assert bob_own.status_code == 200 and bob_own.json()["status"] == "awaiting_approval"
        assert alice.get("/v1/sessions/B2").status_code == 404
        rejected = alice.post("/v1/sessions/A2/reject", json={"comment": "not now"}).json()
        assert rejected["calls"][0]["decision"] == "reject" and rejected["calls"][0]["decided_by"] == "alice"
        record = alice.get("/v1/sessions/A2").json()["decisions"]
        assert [(d["decision"], d["decided_by"]) for d in record] == [("rejected", "alice")]
    assert _orders(hub_get) == before


def test_chat_completions_sessions_belong_to_the_token(served, hub_get):
    start, client = served
    before = _orders(hub_get)
    with start() as base:
        alice, bob = client(base, ALICE), client(base, BOB)
        ask = alice.post("/v1/chat/completions", json={"user": "alice", "messages": [
            {"role": "user", "content": "Order"}]})
        assert ask.status_code == 200 and ask.json()["toolbench"]["status"] == "awaiting_approval"
        session = ask.headers["x-session-id"]
        assert session.startswith("chat-")
        for user in ("alice", session):  # neither the body's user nor the session id lets bob in
            taken = bob.post("/v1/chat/completions", headers={"X-Session-Id": session},
                             json={"user": "bob", "messages": [{"role": "user", "content": "yes"}]})
            assert taken.status_code == 404, user
        assert _orders(hub_get) == before
        yes = alice.post("/v1/chat/completions", headers={"X-Session-Id": session},
                         json={"messages": [{"role": "user", "content": "yes"}]})
        assert yes.status_code == 200 and yes.json()["toolbench"]["calls"][0]["decided_by"] == "alice"
    assert _orders(hub_get) == before + 1


def test_body_size_limit(served):
    start, client = served
    with start(max_body_bytes=2048) as base:
        alice = client(base, ALICE)
        big = {"content": "x" * 4096}
        declared = alice.post("/v1/sessions/S/messages", json=big)
        assert declared.status_code == 413 and "2048" in declared.json()["error"]["message"]

        def chunks():
            for _ in range(8):
                yield b" " * 512  # no Content-Length: sent chunked
            yield b"{}"

        chunked = alice.post("/v1/sessions/S/approve", content=chunks(),
                             headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413
        assert alice.post("/v1/sessions/S/messages", json={"content": "hi" * 10}).status_code == 200

        # a huge declared body is refused from its headers alone: the server answers before any of it is sent
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(f"POST /v1/sessions/S/messages HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ALICE}\r\n"
                        "Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n".encode())
            head = raw.recv(4096).decode("latin-1")
        assert head.startswith("HTTP/1.1 413"), head
        # the limit applies before authentication too
        assert client(base, None).post("/v1/sessions/S/messages", json=big).status_code == 413


def test_allowed_origin_is_let_in_with_cors(served):
    start, client = served
    with start(allowed_origins=["https://app.example.com"]) as base:
        alice = client(base, ALICE)
        ok = alice.post("/v1/sessions/O/messages", json={"content": "hi"},
                        headers={"Origin": "https://app.example.com"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
        preflight = alice.options("/v1/sessions/O/approve", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 200
        assert alice.post("/v1/sessions/O/messages", json={"content": "hi"},
                          headers={"Origin": "https://app.example.com.evil.example"}).status_code == 403


def test_a_terminal_session_is_not_served_over_http(served, tmp_path, make_context):
    """A session made by `toolbench agent chat` (no owner) is nobody's over HTTP, whatever the token."""
    run(lambda rt: rt.send("T", "Order"), tmp_path, make_context(order_model()))
    start, client = served
    with start() as base:
        for token in (ALICE, BOB):
            assert client(base, token).get("/v1/sessions/T").status_code == 404
            assert client(base, token).post("/v1/sessions/T/approve", json={}).status_code == 404


# -- token configuration ------------------------------------------------------------------------------------

def test_tokens_from_file_environment_and_options(tmp_path):
    lines = tmp_path / "tokens"
    lines.write_text("# agent users\nalice = tok-alice-0123456789ab\n\nbob=tok-bob-0123456789abcd\n")
    tokens, generated = configure_tokens(lines, ["carol=tok-carol-0123456789ab"], ["dave"],
                                         environ={TOKENS_ENV: "erin=tok-erin-0123456789abc, frank=tok-frank-012345678"})
    assert set(tokens) == {"alice", "bob", "carol", "dave", "erin", "frank"} and list(generated) == ["dave"]
    assert tokens["alice"] == "tok-alice-0123456789ab" and len(generated["dave"]) > 40
    registry = TokenRegistry(tokens)
    assert registry.authenticate("Bearer tok-bob-0123456789abcd") == "bob"
    assert registry.authenticate("bearer " + generated["dave"]) == "dave"
    assert registry.user_of("tok-bob-0123456789abcX") is None

    as_json = tmp_path / "tokens.json"
    as_json.write_text(json.dumps({"alice": "tok-alice-0123456789ab"}))
    assert configure_tokens(as_json, environ={}) == ({"alice": "tok-alice-0123456789ab"}, {})

    only_default, made = configure_tokens(environ={})
    assert list(made) == ["operator"] and only_default == made


@pytest.mark.parametrize("specs, problem", [
    (["alice=short"], "at least 16"),
    (["alice=tok-alice-0123456789ab", "alice=tok-alice-0123456789XY"], "twice"),
    (["alice=tok-same-0123456789ab", "bob=tok-same-0123456789ab"], "same token"),
    (["tok-bare-secret-0123456789"], "user=TOKEN"),
    (["bad user=tok-alice-0123456789ab"], "user name"),
])
def test_bad_token_configuration_is_a_clean_error(specs, problem):
    with pytest.raises(ToolbenchError, match=problem) as caught:
        TokenRegistry(configure_tokens(None, specs, environ={})[0])
    assert "tok-bare-secret" not in str(caught.value)  # a token is never echoed back


def test_serve_prints_a_generated_token_once_and_never_logs_or_stores_it(tmp_path, hub):
    from toolbench.hub.catalog import export_catalog
    from toolbench.hub.settings import PUBLIC_URL

    export_catalog(tmp_path / "catalog")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOOLBENCH_AGENT_TEST_MODEL": "tests.agent.helpers:order_model"}
    env.pop(TOKENS_ENV, None)
    env.pop("TOOLBENCH_AGENT_TOKENS_FILE", None)
    proc = subprocess.Popen([sys.executable, "-m", "toolbench", "agent", "serve", "--catalog", str(tmp_path / "catalog"),
                             "--state", str(tmp_path / "state"), "--port", str(port), "--user", "alice",
                             "--api-override", f"{PUBLIC_URL}={hub.url}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        token = re.match(r"agent token for alice: (\S+)", line).group(1)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(base + "/v1/models", headers={"Authorization": f"Bearer {token}"}, timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        assert answer.status_code == 200
        assert httpx.get(base + "/v1/models", timeout=5).status_code == 401
        turn = httpx.post(base + "/v1/sessions/s/messages", json={"content": "Order"}, timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
        assert turn.status_code == 200 and turn.json()["status"] == "awaiting_approval"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert token not in out and token not in err  # printed once (the line read above), never logged
    assert "Uvicorn running" in err or "Application startup" in err
    files = b"".join(p.read_bytes() for p in (tmp_path / "state").iterdir() if p.is_file())
    assert token.encode() not in files


def test_serve_help_shows_the_options_and_examples():
    done = subprocess.run([sys.executable, "-m", "toolbench", "agent", "serve", "--help"], check=False,
                          capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
                          timeout=60)
    assert done.returncode == 0
    for option in ("--tokens-file", "--token", "--user", "--allow-origin", "--max-body-bytes", "Authorization: Bearer",
                   "Examples"):
        assert option in done.stdout, option


def test_a_store_from_before_gains_the_decision_columns(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "agent.sqlite")
    old.executescript("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, "
                      "session TEXT NOT NULL, created REAL NOT NULL, decision TEXT NOT NULL, request TEXT NOT NULL, "
                      "function TEXT NOT NULL, tool TEXT NOT NULL, api TEXT NOT NULL, proposed TEXT NOT NULL, "
                      "final TEXT, comment TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', "
                      "context TEXT NOT NULL, tools TEXT NOT NULL, observation TEXT);"
                      "INSERT INTO feedback (key, session, created, decision, request, function, tool, api, proposed, "
                      "context, tools) VALUES ('k0', 'old', 1, 'rejected', 'r', 'f', 't', 'a', "
                      "'{\"call_id\": \"c\", \"arguments\": {}}', '[]', '[]');")
    old.commit()
    old.close()
    from toolbench.agent.store import Feedback

    store = AgentStore(tmp_path / "agent.sqlite")
    try:
        assert store.record(Feedback(session="new", decision="approved", request="r", function="f", tool="t",
                                     api="a", proposed={}, final={}, context=[], tools=[], decided_by="alice",
                                     decided_at=12.5))
        rows = {fb.session: fb for fb in store.feedback()}
        assert (rows["old"].decided_by, rows["old"].decided_at) == ("", None)
        assert (rows["new"].decided_by, rows["new"].decided_at) == ("alice", 12.5)
    finally:
        store.close()
