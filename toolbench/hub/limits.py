"""Bounds on the work one request can make the hub do.

* The body size (:mod:`toolbench.bodylimit`, ``max_body_bytes``): 413 before the body is parsed.
* The JSON shape (:class:`JsonBudget`, ``max_json_values`` / ``max_json_depth``): a JSON body is parsed once
  here and refused with 413 when it holds more values, or nests deeper, than any hub API needs, before FastAPI
  validates it. Validation makes one error object per wrong value, so a body of a million wrong array items
  made a million errors (hundreds of MB) and a 188 MB answer; with the budget, at most ``max_json_values``.
* The 422 answer lists at most :data:`MAX_LISTED_ERRORS` problems, each cut to a bounded length, plus the total
  count (``toolbench.hub.app``).
"""

from __future__ import annotations

import json
from typing import Any

from toolbench.bodylimit import ASGIApp, Message, Receive, Scope, Send, TooLargeBody

MAX_LISTED_ERRORS = 20  # problems listed in a 422 answer; `error_count` gives the total
MAX_PROBLEM_CHARS = 300  # one problem's message (or field name) in a 422 answer, at most


def json_shape_problem(value: Any, max_values: int, max_depth: int) -> str | None:
    """Why ``value`` (parsed JSON) is over the budget, or None: more than ``max_values`` values (objects,
    arrays, strings, numbers... each counts one) or containers nested more than ``max_depth`` deep. Stops
    as soon as it knows, so the check costs at most ``max_values`` steps."""
    seen = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        seen += 1
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            return f"it nests arrays/objects more than {max_depth} deep (max_json_depth)"
        if seen + len(stack) + len(children) > max_values:
            return f"it holds more than {max_values} JSON values (max_json_values)"
        stack.extend((child, depth + 1) for child in children)
    return None


def _has_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers", ()))
    length = headers.get(b"content-length")
    if length is not None:
        return length.strip() not in (b"", b"0")
    return b"transfer-encoding" in headers


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI would parse the body as JSON: no Content-Type, or a JSON one (``application/json``,
    ``application/*+json``)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower() or not value.strip()
    return True


class JsonBudget:
    """ASGI middleware: parse a JSON request body once and answer 413 (``body(message)`` as JSON) when it is
    over the budget; otherwise hand the application the body it read."""

    def __init__(self, app: ASGIApp, max_values: int, max_depth: int, body: TooLargeBody):
        self.app = app
        self.max_values = max_values
        self.max_depth = max_depth
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope) or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:  # the body size limit outside this middleware bounds what is read here
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left, or the size limit already answered 413
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        del chunks
        problem = None
        try:
            problem = json_shape_problem(json.loads(raw), self.max_values, self.max_depth) if raw.strip() else None
        except RecursionError:
            problem = f"it nests arrays/objects more than {self.max_depth} deep (max_json_depth)"
        except ValueError:
            pass  # not JSON: FastAPI answers its own 422 for that
        if problem:
            payload = json.dumps(self.body(f"Request JSON too large: {problem}. Send a smaller request.")).encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload, "more_body": False})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()  # after the body: wait for a disconnect, as the server would

        await self.app(scope, replay, send)


def limit_json(app: Any, max_values: int, max_depth: int, body: TooLargeBody) -> None:
    """Put :class:`JsonBudget` around the whole of the FastAPI ``app``, in place (see
    :func:`toolbench.bodylimit.limit_body`, which goes outside it)."""
    build = app.build_middleware_stack

    def build_limited() -> ASGIApp:
        return JsonBudget(build(), max_values, max_depth, body)

    app.build_middleware_stack = build_limited
    app.middleware_stack = None
