"""The lean HTTP/1.1 client of the campaigns' model requests, against a raw asyncio server on loopback."""

import asyncio
import json

import pytest

from toolbench.llm import http11
from toolbench.llm.http11 import Http11Client, HttpError, HttpTimeout, direct_ok
from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel


class Server:
    """An HTTP server written against the socket: each request read whole, then answered by ``answer(request,
    index)`` -> (raw response bytes, close the connection after)."""

    def __init__(self, answer):
        self.answer = answer
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                raw, close = self.answer(head, len(self.requests))
                if raw is None:  # never answer
                    await asyncio.sleep(3600)
                writer.write(raw)
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1/chat/completions"
        return self

    async def __aexit__(self, *exc):
        self.server.close()


def response(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


def run(coro):
    return asyncio.run(coro)


def test_requests_share_one_keep_alive_connection_and_carry_the_headers_and_body():
    async def go():
        async with Server(lambda head, i: (response(b'{"n": %d}' % i), False)) as server:
            client = Http11Client()
            first = await client.post(server.url, b'{"a": 1}', {"Authorization": "Bearer k"}, timeout=5)
            second = await client.post(server.url, b'{"a": 2}', {"Authorization": "Bearer k"}, timeout=5)
            await client.aclose()
            return server, first, second

    server, first, second = run(go())
    assert (first.status_code, first.json(), second.json()) == (200, {"n": 1}, {"n": 2})
    assert first.headers["content-type"] == "application/json"
    assert server.connections == 1
    head, body = server.requests[1]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer k\r\n" in head and b"\r\nHost: 127.0.0.1:" in head
    assert body == b'{"a": 2}'


def test_a_chunked_answer_is_joined_and_a_closing_server_gets_a_new_connection():
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5;ext=1\r\n{\"ok\"\r\n4\r\n: 1}\r\n0\r\nX-Trailer: t\r\n\r\n")

    async def go():
        async with Server(lambda head, i: (chunked, True)) as server:
            client = Http11Client()
            answers = [await client.post(server.url, b"{}", {}, timeout=5) for _ in range(2)]
            return server, answers

    server, answers = run(go())
    assert [a.json() for a in answers] == [{"ok": 1}, {"ok": 1}]
    assert server.connections == 2


@pytest.mark.parametrize("seen_closed", [True, False])
def test_an_idle_connection_the_server_closed_is_replaced_without_an_error(monkeypatch, seen_closed):
    """The server closes after each answer without saying so (a keep-alive timeout): the client sees it before
    reusing the connection, or (the race: patched so that it does not) the request finds the connection dead
    before any answer and goes again on a new one."""
    if not seen_closed:
        monkeypatch.setattr(http11._Conn, "usable", lambda self: True)

    async def go():
        async with Server(lambda head, i: (response(b"{}"), True)) as server:
            client = Http11Client()
            await client.post(server.url, b"{}", {}, timeout=5)
            await asyncio.sleep(0.05)  # the close reaches the client
            second = await client.post(server.url, b"{}", {}, timeout=5)
            return server, second

    server, second = run(go())
    assert second.status_code == 200 and server.connections == 2 and len(server.requests) == 2


def test_timeouts_refusals_and_garbage_are_errors():
    async def silent():
        async with Server(lambda head, i: (None, False)) as server:
            await Http11Client().post(server.url, b"{}", {}, timeout=0.2)

    with pytest.raises(HttpTimeout, match="within 0.2 s"):
        run(silent())

    async def garbage():
        async with Server(lambda head, i: (b"SSH-2.0-OpenSSH\r\n\r\n", True)) as server:
            await Http11Client().post(server.url, b"{}", {}, timeout=5)

    with pytest.raises(HttpError, match="not an HTTP/1.x answer"):
        run(garbage())

    async def refused():
        async with Server(lambda head, i: (None, True)) as server:
            url = server.url
        await Http11Client().post(url, b"{}", {}, timeout=5)

    with pytest.raises(HttpError, match="cannot connect"):
        run(refused())
    with pytest.raises(HttpError, match="line break"):
        run(Http11Client().post("http://127.0.0.1:1/", b"{}", {"X-A": "b\r\nEvil: 1"}, timeout=1))


def test_direct_ok_refuses_urls_behind_a_proxy(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert direct_ok("http://127.0.0.1:8000/v1/chat/completions")
    assert not direct_ok("ftp://example.org/x")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert not direct_ok("https://api.example.org/v1/chat/completions")
    monkeypatch.setenv("NO_PROXY", "api.example.org")
    assert direct_ok("https://api.example.org/v1/chat/completions")


def test_the_chat_model_posts_through_the_direct_client_with_its_retry_policy():
    completion = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                               "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}

    def answer(head, i):
        if i == 1:
            return response(b'{"error": {"message": "busy"}}', "503 Service Unavailable", "Retry-After: 0\r\n"), False
        return response(json.dumps(completion).encode()), False

    async def go():
        async with Server(answer) as server:
            client = Http11Client()
            cfg = OpenAIChatConfig(model="m", base_url=server.url.removesuffix("/chat/completions"), api_key="sk-x")
            reply = await OpenAIChatModel(cfg, direct_client=client).achat([{"role": "user", "content": "x"}])
            await client.aclose()
            return server, reply

    server, reply = run(go())
    assert reply.content == "hi" and reply.usage.total_tokens == 8
    assert len(server.requests) == 2 and server.connections == 1
    head, body = server.requests[1]
    assert b"\r\nAuthorization: Bearer sk-x\r\n" in head
    assert json.loads(body) == {"model": "m", "messages": [{"role": "user", "content": "x"}]}


def test_under_httpx_the_transport_keeps_httpx_requests_responses_and_errors():
    import httpx

    from toolbench.llm.http11_transport import Http11Transport

    def answer(head, i):
        if head.startswith(b"HEAD "):
            return b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", False  # a HEAD answer has no body
        return (b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nSet-Cookie: a=1\r\n"
                b"Set-Cookie: b=2\r\nContent-Length: 6\r\n\r\n" + "caf\u00e9!".encode()), False

    async def go():
        async with Server(answer) as server:
            base = server.url.removesuffix("/v1/chat/completions")
            async with httpx.AsyncClient(transport=Http11Transport(), timeout=5) as client:
                got = await client.get(base + "/weather", params={"city": "São Paulo", "n": 2})
                head = await client.head(base + "/weather")
            return server, got, head

    server, got, head = run(go())
    assert (got.status_code, got.text, got.headers.get_list("set-cookie")) == (404, "café!", ["a=1", "b=2"])
    assert head.status_code == 200 and head.content == b""
    request_line = server.requests[0][0].split(b"\r\n")[0]
    assert request_line == b"GET /weather?city=S%C3%A3o+Paulo&n=2 HTTP/1.1"
    assert b"content-length" not in server.requests[0][0].lower() and server.connections == 1

    async def refused():
        async with Server(lambda head, i: (None, True)) as server:
            url = server.url
        async with httpx.AsyncClient(transport=Http11Transport()) as client:
            await client.get(url)

    with pytest.raises(httpx.ConnectError):
        run(refused())

    async def silent():
        async with Server(lambda head, i: (None, False)) as server, \
                httpx.AsyncClient(transport=Http11Transport(), timeout=0.2) as client:
            await client.post(server.url, json={"a": 1})

    with pytest.raises(httpx.TimeoutException):
        run(silent())
