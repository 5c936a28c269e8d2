"""A request-body size limit for the ASGI servers (the sandbox hub, ``toolbench llm serve``).

A body over the limit gets a 413 before anything parses it: at once when ``Content-Length`` announces it (the
application never runs), or, for a body without one (``Transfer-Encoding: chunked``), as soon as the bytes
received pass the limit; the application then sees a disconnect and whatever it answers is dropped. Nothing
beyond the limit is ever held in memory. The server (uvicorn) reads and discards the rest of an oversized body
after the 413, so a client that writes its whole body before reading the answer still gets the 413 rather than
a broken connection.

The limiter wraps the whole application, outside Starlette's error middleware, so a rejected request never
shows up as a crash or a 500 in the logs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# the 413's message -> the JSON body of the 413 answer, in the server's own error format
TooLargeBody = Callable[[str], dict[str, Any]]


class BodySizeLimit:
    """ASGI middleware answering 413 with ``body(message)`` as JSON to a request whose body exceeds
    ``max_bytes``; the message names ``option``, the setting that raises the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, body: TooLargeBody, option: str = "max body bytes"):
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 0:
            raise ValueError(f"max_bytes must be an integer >= 0; got {max_bytes!r}")
        self.app = app
        self.max_bytes = max_bytes
        self.body = body
        self.option = option

    def message(self, size: int | None) -> str:
        what = f"{size} bytes" if size is not None else f"more than {self.max_bytes} bytes"
        return f"Request body too large: {what}; the limit is {self.max_bytes} bytes ({self.option})."

    async def _reject(self, send: Send, size: int | None) -> None:
        payload = json.dumps(self.body(self.message(size))).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(send, declared)
            return
        received = 0
        rejected = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    rejected = True
                    if not started:
                        await self._reject(send, None)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 is the answer; the application's own reply to the "disconnect" is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise  # a real failure; after a 413 it is only the application giving up on the cut-off body


def content_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` as an int; None when absent or not a number (the server rejects those)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def limit_body(app: Any, max_bytes: int, body: TooLargeBody, option: str = "max body bytes") -> None:
    """Put :class:`BodySizeLimit` around the whole of a Starlette/FastAPI ``app`` (its error middleware
    included), in place: ``app`` stays the application object callers know."""
    build = app.build_middleware_stack

    def build_limited() -> ASGIApp:
        return BodySizeLimit(build(), max_bytes, body, option)

    app.build_middleware_stack = build_limited
    app.middleware_stack = None  # rebuilt, with the limit, on the next request
