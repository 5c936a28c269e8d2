"""``toolbench agent serve``: the agent over HTTP on loopback.

Every ``/v1`` request needs ``Authorization: Bearer <token>`` (one token per user, see
:mod:`toolbench.agent.auth`): 401 without a valid one. A session belongs to the user that first wrote to it; to anyone else it answers 404, as if it
did not exist. Every POST takes only ``Content-Type: application/json`` (415 otherwise). A request whose ``Origin``
is not in the allow-list (empty by default) is refused with 403, and a body over the size limit with 413, before
it is read (:class:`~toolbench.agent.auth.RequestGuard`). No CORS headers are sent unless origins are allowed.

Sessions (JSON in, JSON out; every answer is a :class:`~toolbench.agent.session.TurnResult`)::

    POST /v1/sessions/{id}/messages   {"content": "..."}                   -> answered | awaiting_approval | error
    GET  /v1/sessions/{id}            the transcript, where the session stands, and its decisions (who, when)
    GET  /v1/sessions/{id}/pending    the call awaiting approval (404 when none)
    POST /v1/sessions/{id}/approve    {"comment": "..."?}
    POST /v1/sessions/{id}/reject     {"comment": "..."?}
    POST /v1/sessions/{id}/edit       {"arguments": {...}, "comment": "..."?}   (422 lists invalid arguments)

OpenAI-compatible: ``POST /v1/chat/completions`` takes the last user message of ``messages`` into the session
named by the ``X-Session-Id`` header (a new session of the token's user otherwise, named in the response's
``X-Session-Id``; the session keeps its own history, earlier messages of the request are not replayed). The body's
``user``, when given, must be the token's user (403 otherwise): it never picks a session. The reply is a ``chat.completion`` whose content is
the answer, or, when a call needs approval, a description of that call: answer ``yes`` or ``no`` as the next user
message to approve or reject it (edits go through ``/v1/sessions/{id}/edit``). The full
:class:`TurnResult` rides along in the response's ``toolbench`` field. ``GET /v1/models`` lists the agent.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from toolbench.agent.auth import DEFAULT_MAX_BODY_BYTES, AuthError, RequestGuard, TokenRegistry
from toolbench.agent.graph import APPROVE, EDIT, REJECT, AgentContext
from toolbench.agent.session import AgentRuntime, SessionError, TurnResult
from toolbench.bodylimit import limit_body
from toolbench.errors import ToolbenchError

AGENT_MODEL_NAME = "toolbench-agent"
_YES = {"y", "yes", "approve", "approved", "ok", "run it"}
_NO = {"n", "no", "reject", "rejected", "cancel", "don't", "do not"}


def describe(result: TurnResult) -> str:
    """The turn as one text for a chat client."""
    if result.status == "answered":
        return result.answer or ""
    if result.status == "error":
        return f"Error: {result.error}"
    call = (result.pending or {}).get("call", {})
    http = call.get("http") or {}
    target = f"{http.get('method', call.get('method', ''))} {http.get('url', '')}".strip()
    lines = [f"This call needs your approval ({call.get('reason', '')}):",
             f"{call.get('name')} ({call.get('tool')} / {call.get('api')}) -> {target}",
             f"arguments: {call.get('arguments')}"]
    if call.get("problems"):
        lines.append("problems: " + "; ".join(call["problems"]))
    lines.append(f"Reply 'yes' to run it or 'no' to cancel it; to change it, POST /v1/sessions/{result.session}/edit.")
    return "\n".join(lines)


def create_app(state_dir: str | Path, context: AgentContext, tokens: Mapping[str, str] | TokenRegistry, *,
               allowed_origins: Iterable[str] = (), max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    """The FastAPI app; the runtime (and its SQLite files in ``state_dir``) opens with the app's lifespan.

    ``tokens`` maps each user to their bearer token (or is a :class:`TokenRegistry`); ``allowed_origins`` lists the
    browser origins let in (and given CORS headers); ``max_body_bytes`` caps a request's body.
    """
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ToolbenchError(f"max_body_bytes: must be an integer >= 1, got {max_body_bytes!r}")
    registry = tokens if isinstance(tokens, TokenRegistry) else TokenRegistry(tokens)
    origins = [o.rstrip("/") for o in allowed_origins]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async with AgentRuntime.open(state_dir, context) as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(title="toolbench agent", version="1.0.0", lifespan=lifespan,
                  description="A tool-calling agent over a catalog; consequential calls wait for approval.")

    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Session-Id"],
                           expose_headers=["X-Session-Id"])
    app.add_middleware(RequestGuard, allowed_origins=origins)
    limit_body(app, max_body_bytes, lambda message: {"error": {"message": message, "type": "request_too_large",
                                                               "code": 413}}, "--max-body-bytes")  # the outermost

    def runtime(request: Request) -> AgentRuntime:
        return request.app.state.runtime

    def principal(request: Request) -> str:
        """The user the request's bearer token belongs to (401 without a valid token)."""
        return registry.authenticate(request.headers.get("authorization"))

    async def owned(request: Request, session: str, create: bool = False) -> str:
        """The caller, once the session is known to be theirs (404 otherwise; ``create`` claims a new one)."""
        user = principal(request)
        await runtime(request).authorize(session, user, create)
        return user

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, exc: AuthError) -> JSONResponse:
        kind = "unauthorized" if exc.status == 401 else "forbidden"
        headers = {"WWW-Authenticate": 'Bearer realm="toolbench-agent"'} if exc.status == 401 else None
        return JSONResponse({"error": {"message": str(exc), "type": kind, "code": exc.status}},
                            status_code=exc.status, headers=headers)

    @app.exception_handler(SessionError)
    async def _session_error(request: Request, exc: SessionError) -> JSONResponse:
        return JSONResponse({"error": {"message": str(exc), "type": "session_error", "code": exc.status}},
                            status_code=exc.status)

    async def body_of(request: Request) -> dict[str, Any]:
        """The JSON object of a POST; only ``Content-Type: application/json`` is read (415 otherwise), so a web
        page cannot send one as a "simple" cross-site form or text request."""
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise SessionError("send the body as JSON with 'Content-Type: application/json'", 415)
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SessionError(f"the body is not valid JSON ({exc.msg})", 400) from exc
        if not isinstance(data, dict):
            raise SessionError("the body must be a JSON object", 400)
        return data

    @app.post("/v1/sessions/{session}/messages")
    async def message(session: str, request: Request) -> dict[str, Any]:
        principal(request)
        data = await body_of(request)
        await owned(request, session, create=True)
        content = data.get("content")
        if not isinstance(content, str):
            raise SessionError("give the user's message as {\"content\": \"...\"}", 422)
        return (await runtime(request).send(session, content)).to_dict()

    @app.get("/v1/sessions/{session}")
    async def session_view(session: str, request: Request) -> dict[str, Any]:
        await owned(request, session)
        rt = runtime(request)
        return {**(await rt.status(session)).to_dict(), "messages": await rt.messages(session),
                "decisions": await rt.decisions(session)}

    @app.get("/v1/sessions/{session}/pending")
    async def pending(session: str, request: Request) -> dict[str, Any]:
        await owned(request, session)
        waiting = await runtime(request).pending(session)
        if waiting is None:
            raise SessionError(f"session {session!r} has no call awaiting approval", 404)
        return waiting

    async def decide(session: str, request: Request, action: str) -> dict[str, Any]:
        principal(request)
        data = await body_of(request)
        user = await owned(request, session)
        comment = data.get("comment") or ""
        if not isinstance(comment, str):
            raise SessionError("'comment' must be a string", 422)
        arguments = data.get("arguments")
        if action == EDIT and arguments is None:
            raise SessionError("edit needs {\"arguments\": {...}}: the call's arguments as you want them run", 422)
        return (await runtime(request).decide(session, action, arguments, comment, by=user)).to_dict()

    @app.post("/v1/sessions/{session}/approve")
    async def approve(session: str, request: Request) -> dict[str, Any]:
        return await decide(session, request, APPROVE)

    @app.post("/v1/sessions/{session}/reject")
    async def reject(session: str, request: Request) -> dict[str, Any]:
        return await decide(session, request, REJECT)

    @app.post("/v1/sessions/{session}/edit")
    async def edit(session: str, request: Request) -> dict[str, Any]:
        return await decide(session, request, EDIT)

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        principal(request)
        return {"object": "list", "data": [{"id": AGENT_MODEL_NAME, "object": "model", "created": 0,
                                            "owned_by": "toolbench"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> JSONResponse:
        user = principal(request)
        data = await body_of(request)
        if data.get("user") is not None and data.get("user") != user:
            raise AuthError("the body's 'user' names another user than the token's; the session's user comes from "
                            "the token (leave 'user' out, or give your own)", 403)
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
            raise SessionError("'messages' must be a non-empty list of chat messages", 422)
        if data.get("stream"):
            raise SessionError("stream=true is not supported by the agent; ask without streaming", 400)
        last = messages[-1]
        text = last.get("content")
        if last.get("role") != "user" or not isinstance(text, str):
            raise SessionError("the last message must be the user's, with text content", 422)
        session = request.headers.get("x-session-id") or f"chat-{uuid.uuid4().hex[:16]}"
        await owned(request, session, create=True)
        rt = runtime(request)
        if await rt.pending(session) is not None and text.strip().lower().rstrip(".!") in _YES | _NO:
            word = text.strip().lower().rstrip(".!")
            result = await rt.decide(session, APPROVE if word in _YES else REJECT, by=user)
        else:
            result = await rt.send(session, text)
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": data.get("model") or AGENT_MODEL_NAME,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": describe(result)},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "toolbench": result.to_dict(),
        }
        return JSONResponse(body, headers={"X-Session-Id": session})

    return app
