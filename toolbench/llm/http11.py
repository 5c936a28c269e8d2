"""A lean HTTP/1.1 client for campaigns' model requests and API calls: asyncio streams, keep-alive, nothing else.

An annotation campaign posts one chat completion per search step, C of them in flight. Through ``httpx2`` each
request also runs ``httpcore2``'s connection pool (which scans every connection of the pool per request, so its
cost grows with C), ``anyio``'s stream wrappers and their checkpoints, and ``h11``'s pure-Python parser: about a
third of the campaign's CPU per step at C = 64 (benchmarks/README.md, campaigns). :class:`Http11Client` does the
exchange on asyncio's streams directly: a stack of idle keep-alive connections per host (the last one used is
reused first: no scan), the request written with one ``write``, the head read with one ``readuntil`` and the body
with ``readexactly`` (``Content-Length``) or chunk by chunk (``Transfer-Encoding: chunked``).

What it does not do, on purpose: proxies (:func:`direct_ok` says whether a URL may go without one), redirects,
compression (it asks for none), HTTP/2, cookies. :mod:`toolbench.llm.http11_transport` puts it under an httpx
client (the executor's API calls in campaigns). TLS is asyncio's, with the system's default context. Its errors
are :class:`HttpTimeout` (the whole exchange took longer than ``timeout``) and :class:`HttpError` (the
connection failed or the answer is not HTTP/1.x); a request on a reused connection that the server had closed
meanwhile (the keep-alive race) is sent again once on a new connection, before any byte of an answer was read.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_HEAD = 1 << 20  # bytes of status line and headers at most
DEFAULT_PORTS = {"http": 80, "https": 443}


class HttpError(Exception):
    """The connection failed, or the server's answer is not HTTP/1.x."""


class HttpTimeout(HttpError):
    """The exchange took longer than its timeout."""


class HttpConnectError(HttpError):
    """No connection could be opened (refused, unknown host, TLS handshake: the cause is chained)."""


def direct_ok(url: str) -> bool:
    """Whether ``url`` can be reached by :class:`Http11Client`: http(s), and no proxy configured for its host
    (``HTTP(S)_PROXY`` without a matching ``NO_PROXY``)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return False
    proxies = urllib.request.getproxies()
    return parts.scheme not in proxies or bool(urllib.request.proxy_bypass(parts.hostname))


@dataclass
class Http11Response:
    status_code: int
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    content: bytes
    raw_headers: list[tuple[str, str]] = field(default_factory=list)  # as sent, repeats included

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = field(default=False)

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class Http11Client:
    """Requests over keep-alive HTTP/1.1 connections, for one event loop. ``max_idle``: idle connections kept per
    host (the others are closed when handed back); ``ssl_context``: for https (default: the system's)."""

    def __init__(self, max_idle: int = 256, ssl_context: ssl.SSLContext | None = None) -> None:
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._ssl = ssl_context

    async def post(self, url: str, content: bytes, headers: dict[str, str], timeout: float) -> Http11Response:
        """POST ``content`` to ``url`` with ``headers`` (Host, Content-Length and Connection are set here)."""
        return await self.request("POST", url, content, headers, timeout)

    async def request(self, method: str, url: str, content: bytes, headers: dict[str, str] | list[tuple[str, str]],
                      timeout: float) -> Http11Response:
        """Send one request (``timeout``: seconds for the whole exchange, connecting included)."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise HttpError(f"not an http(s) URL: {url!r}")
        key = (parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme])
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Accept-Encoding: identity"]
        if content or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            lines.append(f"Content-Length: {len(content)}")
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            if name.lower() in ("host", "content-length", "connection", "accept-encoding", "transfer-encoding"):
                continue
            if any(c in name or c in value for c in "\r\n"):
                raise HttpError(f"header {name!r} holds a line break")
            lines.append(f"{name}: {value}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(key, request, method == "HEAD")
        except TimeoutError:
            raise HttpTimeout(f"no answer from {url} within {timeout} s") from None

    async def _exchange(self, key: tuple[str, str, int], request: bytes, head_only: bool) -> Http11Response:
        while True:
            conn = await self._connection(key)
            try:
                conn.writer.write(request)
                head = await conn.reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                conn.close()
                stale = isinstance(exc, OSError) or (isinstance(exc, asyncio.IncompleteReadError) and not exc.partial)
                if conn.reused and stale:
                    continue  # the server closed the idle connection meanwhile: once more, on a new one
                raise HttpError(f"{key[1]}:{key[2]}: {type(exc).__name__}: {exc}") from None
            except BaseException:  # a timeout or a cancellation mid-exchange: the connection's state is unknown
                conn.close()
                raise
            try:
                return await self._answer(key, conn, head, head_only)
            except BaseException:
                conn.close()
                raise

    async def _answer(self, key: tuple[str, str, int], conn: _Conn, head: bytes, head_only: bool) -> Http11Response:
        status, raw, version = _head(head)
        while 100 <= status < 200:  # an interim answer (we send no Expect): the real one follows
            status, raw, version = _head(await self._read(conn, conn.reader.readuntil(b"\r\n\r\n")))
        headers = {name.lower(): value for name, value in raw}
        keep = (headers.get("connection", "").lower() != "close"
                and (version == "HTTP/1.1" or headers.get("connection", "").lower() == "keep-alive"))
        if status in (204, 304) or head_only:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._chunked(conn)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise HttpError(f"bad Content-Length {headers['content-length']!r}") from None
            body = await self._read(conn, conn.reader.readexactly(length))
        else:  # delimited by the end of the connection
            body = await self._read(conn, conn.reader.read())
            keep = False
        if keep and conn.usable():
            self._give_back(key, conn)
        else:
            conn.close()
        return Http11Response(status, headers, body, raw)

    async def _read(self, conn: _Conn, awaitable: Any) -> bytes:
        try:
            return await awaitable
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise HttpError(f"the answer was cut off: {type(exc).__name__}: {exc}") from None

    async def _chunked(self, conn: _Conn) -> bytes:
        body = bytearray()
        while True:
            line = await self._read(conn, conn.reader.readuntil(b"\r\n"))
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError(f"bad chunk size line {line[:40]!r}") from None
            if size == 0:
                while (await self._read(conn, conn.reader.readuntil(b"\r\n"))) != b"\r\n":
                    pass  # trailers
                return bytes(body)
            body += await self._read(conn, conn.reader.readexactly(size + 2))
            del body[-2:]

    async def _connection(self, key: tuple[str, str, int]) -> _Conn:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable():
                conn.reused = True
                return conn
            conn.close()
        scheme, host, port = key
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=MAX_HEAD)
        except OSError as exc:  # ssl.SSLError included: chained, for whoever tells TLS failures apart
            raise HttpConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return _Conn(reader, writer)

    def _give_back(self, key: tuple[str, str, int], conn: _Conn) -> None:
        conn.reused = False
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    async def aclose(self) -> None:
        """Close the idle connections."""
        conns = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            try:
                await conn.writer.wait_closed()
            except OSError:
                pass


def _head(head: bytes) -> tuple[int, list[tuple[str, str]], str]:
    """(status, headers as sent, version) of a response head."""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise HttpError(f"not an HTTP/1.x answer: {status_line[:80]!r}")
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError(f"bad header line {line[:80]!r}")
            headers.append((name.strip(), value.strip()))
    return int(code), headers, version
