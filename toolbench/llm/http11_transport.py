"""httpx's transport interface on :class:`~toolbench.llm.http11.Http11Client`: an ``httpx.AsyncClient`` built with
``transport=Http11Transport()`` keeps its API (requests, responses, errors) and sends over the lean client, without
httpcore's pool, anyio and h11. Annotation campaigns give it to the executor's async client for their API calls
when no proxy is configured (an httpx client with its own transport ignores ``HTTP(S)_PROXY``).

Errors are httpx's: a timeout is ``httpx.ReadTimeout`` (``httpx.ConnectTimeout`` before a connection was open), a
failed connection ``httpx.ConnectError`` (a TLS failure chained as its cause), anything else on the wire
``httpx.RemoteProtocolError``. A response's body is read whole; its ``Content-Encoding`` is decoded by httpx (the
client asks for none).
"""

from __future__ import annotations

import urllib.request

import httpx

from toolbench.llm.http11 import Http11Client, HttpConnectError, HttpError, HttpTimeout


def no_proxy_configured() -> bool:
    """Whether the environment configures no http(s) proxy (then a client with this transport loses nothing)."""
    proxies = urllib.request.getproxies()
    return "http" not in proxies and "https" not in proxies


class Http11Transport(httpx.AsyncBaseTransport):
    """An httpx async transport sending through an :class:`Http11Client` (one event loop)."""

    def __init__(self, client: Http11Client | None = None) -> None:
        self.client = client or Http11Client()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        limit = sum(t for t in (timeouts.get("connect"), timeouts.get("read")) if t is not None) or 3600.0
        body = await request.aread()
        try:
            answer = await self.client.request(request.method, str(request.url), body,
                                               list(request.headers.multi_items()), timeout=limit)
        except HttpTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except HttpConnectError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc.__cause__
        except HttpError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        return httpx.Response(answer.status_code, headers=answer.raw_headers, stream=httpx.ByteStream(answer.content),
                              request=request, extensions={"http_version": b"HTTP/1.1"})

    async def aclose(self) -> None:
        await self.client.aclose()
