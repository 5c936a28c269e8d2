"""``toolbench llm serve``'s HTTP side: the FastAPI app around :class:`toolbench.llm.server.ChatServer` (its routes,
OpenAI-schema errors, the request body limit, client disconnects) and :func:`serve`, which listens on a port."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from toolbench.bodylimit import limit_body
from toolbench.errors import ToolbenchError
from toolbench.llm.api_schema import APIError
from toolbench.llm.engines import ServerConfig, load_generator
from toolbench.llm.generation import TextGenerator
from toolbench.llm.payload import error_body
from toolbench.llm.server import ChatServer


async def _watch_disconnect(request: Request, cancel: threading.Event, every: float = 0.5) -> None:
    """Stop generating for a client that went away (e.g. an SDK timeout), so its retry does not queue behind it."""
    while not cancel.is_set():
        if await request.is_disconnected():
            cancel.set()
            return
        await asyncio.sleep(every)


def create_app(generator: TextGenerator, config: ServerConfig | None = None,
               aliases: tuple[str, ...] = ()) -> FastAPI:
    """The FastAPI app serving ``generator``."""
    server = ChatServer(generator, config, aliases)
    app = FastAPI(title="toolbench llm", version="1", docs_url=None, redoc_url=None)
    app.state.server = server

    def error(exc: APIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found" if exc.status_code == 404 else None
        return error(APIError(exc.status_code, str(exc.detail), code=kind))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(APIError(422, str(exc.errors()[0].get("msg")), code="invalid_value"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error(APIError(500, f"internal error: {type(exc).__name__}: {exc}", type_="server_error"))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        try:
            job = server.prepare(await request.body())
            if job.request.stream:
                return StreamingResponse(server.stream(job), media_type="text/event-stream",
                                         headers={"Cache-Control": "no-cache"})
            cancel = threading.Event()
            watcher = asyncio.ensure_future(_watch_disconnect(request, cancel))
            try:
                result = await server.run(job, cancel=cancel)
            finally:
                watcher.cancel()
            return JSONResponse(server.response(job, result))
        except APIError as exc:
            return error(exc)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": server.model_name, "object": "model", "created": server.started,
                                            "owned_by": "toolbench"}]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> Any:
        if model_id not in server.accepted_names:
            return error(APIError(404, f"the model {model_id!r} does not exist", param="model",
                                  code="model_not_found"))
        return {"id": server.model_name, "object": "model", "created": server.started, "owned_by": "toolbench"}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        with server._lock:
            stats = dict(server.stats)
            waiting = server.waiting
        engine_stats = getattr(server.generator, "stats", None)
        return {"status": "ok", "model": server.model_name, "engine": getattr(server.generator, "engine",
                                                                              "transformers"),
                "constrained_decoding": server.config.constrained, "call_threshold": server.config.call_threshold,
                "waiting": waiting, **stats,
                **({"engine_stats": vars(engine_stats)} if engine_stats is not None else {})}

    app.router.on_shutdown.append(server.close)
    # 413 in OpenAI's error schema before a body over the limit is read, on every route (toolbench.bodylimit)
    limit_body(app, server.config.max_request_bytes, lambda message: error_body(
        message, "invalid_request_error", None, "request_too_large"), "max_request_bytes, `--max-request-bytes`")
    return app


def build_app(config: ServerConfig) -> Any:
    """Load the configured model and make the app (the model loads here, before the server listens)."""
    generator, aliases = load_generator(config)
    print(f"engine: {getattr(generator, 'engine', 'transformers')}"
          f"{' (constrained decoding on)' if config.constrained else ''}", flush=True)
    return create_app(generator, config, aliases=aliases)


def serve(config: ServerConfig, app: Any | None = None, ready: Any | None = None) -> None:
    """Run the server until interrupted. With port 0 a free port is picked; ``ready(url)`` (default: print) is
    called with the base URL once it listens."""
    import socket

    import uvicorn

    app = app if app is not None else build_app(config)
    sock = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        sock.close()
        raise ToolbenchError(f"cannot listen on {config.host}:{config.port} ({exc}): pick another --port") from exc
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    url = f"http://{host}:{port}/v1"
    server = uvicorn.Server(uvicorn.Config(app, log_level=config.log_level, timeout_graceful_shutdown=5))
    startup = server.startup

    async def _startup(sockets: Any = None) -> None:
        await startup(sockets=sockets)
        (ready or (lambda u: print(f"serving {app.state.server.model_name} at {u}", flush=True)))(url)

    server.startup = _startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
