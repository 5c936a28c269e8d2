"""The hub application: tool routers, API keys and per-key state, fault injection, admin and /virtual.

Request path for a tool endpoint (``/<slug>/...``): the body's size (413 over ``max_body_bytes``, before it is
read) and JSON shape (413 over ``max_json_values``/``max_json_depth``, before it is validated; see
:mod:`toolbench.hub.limits`), the key check (401), then an injected fault if one is due (from the
``X-Hub-Fault`` header, the queue filled by ``POST /admin/faults``, or the rates in the settings), then the
tool's handler with the calling key's state. ``/admin/*`` needs one of the hub's keys when it has some.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import logging
import random
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from toolbench.bodylimit import limit_body
from toolbench.hub.base import FieldProblem, HubTool, ValidationErrorBody
from toolbench.hub.limits import MAX_LISTED_ERRORS, MAX_PROBLEM_CHARS, limit_json
from toolbench.hub.settings import FAULT_MODES, HubSettings
from toolbench.hub.virtual import VirtualRequest, answer
from toolbench.records import Api

if TYPE_CHECKING:
    from toolbench.llm.base import ChatModel

log = logging.getLogger("toolbench.hub")
FAULT_HEADER = "X-Hub-Fault"
SECURITY_SCHEMES = {
    "RapidAPIKey": {"type": "apiKey", "in": "header", "name": "X-RapidAPI-Key",
                    "description": "Any non-empty key (unless the hub restricts keys); state is kept per key."},
    "BearerAuth": {"type": "http", "scheme": "bearer", "description": "The same key as a bearer token."},
}


def api_key_of(request: Request) -> str:
    """The caller's key: ``X-RapidAPI-Key`` or ``Authorization: Bearer <key>``; empty when absent."""
    key = request.headers.get("x-rapidapi-key", "").strip()
    if key:
        return key
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def key_accepted(key: str, keys: tuple[str, ...]) -> bool:
    """Whether ``key`` is one of ``keys``, in time that does not depend on how much of a key matches (every
    key is compared, each with :func:`hmac.compare_digest`)."""
    given = key.encode()
    found = False
    for k in keys:
        found |= hmac.compare_digest(given, k.encode())
    return found


def _cut(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Hub:
    """Mutable hub state: shared and per-key tool states, queued faults, request counters."""

    def __init__(self, settings: HubSettings, tools: list[HubTool], app: FastAPI | None = None,
                 chat_model: ChatModel | None = None):
        self.settings = settings
        self.tools = {t.slug: t for t in tools}
        self._app = app
        self._chat_model = chat_model
        self._docs: dict[str, dict[str, Api]] = {}
        self._external: Any = None
        self._lock = threading.Lock()
        self._shared: dict[str, Any] = {}
        self._per_key: dict[str, dict[str, Any]] = {}
        self._templates: dict[str, Any] = {}
        self._fault_rng = random.Random(settings.seed)
        self._queued: list[dict[str, Any]] = []
        self.stats: Counter = Counter()

    # -- for the /virtual simulator -------------------------------------------------------------------
    def chat_model(self) -> ChatModel | None:
        """The LLM that simulates answers: the one given to ``create_app``, else one built from the settings'
        ``llm_model``/``llm_base_url`` on first use; None when no LLM is configured."""
        with self._lock:
            if self._chat_model is None and self.settings.llm_model:
                from toolbench.llm.factory import make_chat_model

                self._chat_model = make_chat_model(self.settings.llm_model, base_url=self.settings.llm_base_url or None,
                                                   api_key_env=self.settings.llm_api_key_env,
                                                   cache_path=self.settings.llm_cache_path or None)
            return self._chat_model

    def api_doc(self, slug: str, operation_id: str) -> Api | None:
        """A hub API as the catalog records it (from this hub's own OpenAPI document)."""
        if slug not in self._docs and self._app is not None:
            from toolbench.catalog.openapi import import_openapi

            tool = import_openapi(tool_openapi(self._app.openapi(), self.tools[slug]))
            self._docs[slug] = {a.name: a for a in tool.apis}
        return self._docs.get(slug, {}).get(operation_id)

    def external_doc(self, tool_name: str, api_name: str) -> Api | None:
        """An API the hub does not serve, from the ToolBench tool folder in ``virtual_catalog`` (names as given
        or standardised); None when there is no such folder or API."""
        if not self.settings.virtual_catalog:
            return None
        if self._external is None:
            from toolbench.catalog.naming import standardize
            from toolbench.catalog.store import load_catalog

            table = {}
            for tool in load_catalog(self.settings.virtual_catalog).tools:
                for api in tool.apis:
                    for t in {tool.name.lower(), tool.standardized_name, standardize(tool.name)}:
                        for a in {api.name.lower(), standardize(api.name)}:
                            table[(t, a)] = api
            self._external = table
        from toolbench.catalog.naming import standardize

        for t in (tool_name.lower(), standardize(tool_name)):
            for a in (api_name.lower(), standardize(api_name)):
                if (t, a) in self._external:
                    return self._external[(t, a)]
        return None

    def state_for(self, request: Request, slug: str) -> Any:
        tool = self.tools[slug]
        with self._lock:
            if not tool.stateful:
                if slug not in self._shared:
                    self._shared[slug] = tool.make_state(self.settings.seed)
                return self._shared[slug]
            states = self._per_key.setdefault(api_key_of(request), {})
            if slug not in states:
                if slug not in self._templates:
                    self._templates[slug] = tool.make_state(self.settings.seed)
                states[slug] = copy.deepcopy(self._templates[slug])
            return states[slug]

    def reset(self, key: str | None) -> int:
        """Forget the state of one key (or of every key when ``key`` is None); returns how many were reset."""
        with self._lock:
            if key is None:
                n = len(self._per_key)
                self._per_key.clear()
                self._queued.clear()
                self.stats.clear()
                return n
            return 1 if self._per_key.pop(key, None) is not None else 0

    def queue_fault(self, mode: str, count: int, path_prefix: str) -> None:
        with self._lock:
            self._queued.append({"mode": mode, "count": count, "path_prefix": path_prefix})

    def due_fault(self, request: Request) -> str | None:
        if self.settings.allow_fault_header:
            mode = request.headers.get(FAULT_HEADER, "").strip()
            if mode in FAULT_MODES:
                return mode
        with self._lock:
            for item in self._queued:
                if request.url.path.startswith(item["path_prefix"]):
                    item["count"] -= 1
                    if item["count"] <= 0:
                        self._queued.remove(item)
                    return item["mode"]
            if self.settings.faults:
                draw = self._fault_rng.random()
                for mode, rate in self.settings.faults.items():
                    if draw < rate:
                        return mode
                    draw -= rate
        return None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def create_app(settings: HubSettings | None = None, tools: list[HubTool] | None = None, *,
               chat_model: ChatModel | None = None) -> FastAPI:
    """Build the hub: every sandbox tool (or ``tools``) under ``/<slug>``, with the behaviour in ``settings``.
    ``chat_model`` simulates ``/virtual`` answers the hub cannot give (default: the LLM in the settings)."""
    from toolbench.hub.tools import all_tools

    settings = settings or HubSettings()
    tools = tools if tools is not None else all_tools()
    app = FastAPI(
        title="toolbench sandbox hub",
        version="1.0.0",
        description="Sandbox tools that behave like real RapidAPI-style APIs: deterministic data from a seed, "
                    "state per API key, injectable faults. Each tag is one tool; `x-category` gives its category.",
        openapi_tags=[{"name": t.name, "description": t.description, "x-category": t.category,
                       "x-slug": t.slug} for t in tools],
        servers=[{"url": settings.public_url}],
    )
    hub = Hub(settings, tools, app, chat_model)
    app.state.hub = hub
    for tool in tools:
        app.include_router(tool.router)
    prefixes = tuple(f"/{t.slug}/" for t in tools)

    @app.middleware("http")
    async def contain_crashes(request: Request, call_next):
        """A handler that raises answers a JSON 500 here. Left to Starlette, the exception reached uvicorn,
        which closes the connection after the 500; a client reusing that keep-alive connection for its next
        request then got a ReadError ("cannot connect" in the executor) for a request that never failed."""
        try:
            return await call_next(request)
        except Exception as exc:
            log.exception("hub crash on %s %s", request.method, request.url.path)
            hub.stats["crash"] += 1
            return _error(500, f"Internal server error: the sandbox failed on {request.method} {request.url.path} "
                               f"({type(exc).__name__}); this is a bug in the hub, please report it")

    @app.middleware("http")
    async def keys_and_faults(request: Request, call_next):
        path = request.url.path
        if request.scope["path"].startswith("/admin") and settings.api_keys:
            # The hub's key guards its admin routes too: without it anyone could reset (delete) the key
            # holder's state or queue faults into its answers.
            if not key_accepted(api_key_of(request), settings.api_keys):
                hub.stats["fault:admin_no_key"] += 1
                return _error(401, "Admin routes need one of the hub's API keys: send X-RapidAPI-Key or "
                                   "Authorization: Bearer <key>.")
            return await call_next(request)
        if not path.startswith(prefixes):
            return await call_next(request)
        key = api_key_of(request)
        hub.stats["requests"] += 1
        hub.stats[f"path:{path}"] += 1
        if settings.require_key and not key:
            hub.stats["fault:no_key"] += 1
            return _error(401, "Missing API key: send the X-RapidAPI-Key header or Authorization: Bearer <key>.")
        if settings.api_keys and not key_accepted(key, settings.api_keys):
            return _error(401, "Invalid API key: this key is not subscribed to the sandbox hub.")
        fault = hub.due_fault(request)
        if fault:
            hub.stats[f"fault:{fault}"] += 1
        if fault == "rate_limit":
            return _error(429, "Too many requests: you have exceeded the rate limit per second for your plan.",
                          {"Retry-After": str(settings.retry_after)})
        if fault == "server_error":
            return _error(500, "Internal server error: the upstream service failed; try again later.")
        if fault == "unauthorized":
            return _error(401, "Invalid API key: the key was revoked.")
        if fault == "slow":
            await asyncio.sleep(settings.slow_seconds)
        response = await call_next(request)
        if fault == "malformed":
            body = b"".join([chunk async for chunk in response.body_iterator])
            broken = body[: max(1, len(body) // 2)] if len(body) > 2 else b'{"data": ['
            return Response(broken, status_code=200, media_type="application/json")
        return response

    @app.exception_handler(StarletteHTTPException)  # also the router's own 404/405, not only the tools' errors
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()  # as many as the JSON budget allows (max_json_values); only the first are sent
        problems = []
        for err in errors[:MAX_LISTED_ERRORS]:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path", "header"))
            problems.append({"field": _cut(loc), "message": _cut(str(err.get("msg", "")))})
        text = "; ".join(f"{p['field'] or 'request'}: {p['message']}" for p in problems)
        if len(errors) > len(problems):
            text += f" (and {len(errors) - len(problems)} more: {len(errors)} problems in all)"
        body = ValidationErrorBody(message=f"Invalid request: {text}", error_count=len(errors),
                                   errors=[FieldProblem(**p) for p in problems])
        return JSONResponse(body.model_dump(), status_code=422)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict:
        return {"status": "ok", "tools": len(tools), "seed": settings.seed}

    @app.get("/openapi/{slug}.json", include_in_schema=False)
    async def tool_openapi_doc(slug: str) -> dict:
        if slug not in hub.tools:
            raise HTTPException(404, f"no tool {slug!r}; tools: {', '.join(hub.tools)}")
        return tool_openapi(app.openapi(), hub.tools[slug])

    if settings.admin:
        _add_admin(app, hub)
    _add_virtual(app, hub)

    def custom_openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=app.routes, tags=app.openapi_tags, servers=app.servers)
            _document_validation_errors(doc)
            _drop_generated_titles(doc.get("paths", {}))
            _drop_generated_titles(doc.get("components", {}).get("schemas", {}))
            doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            doc["security"] = [{"RapidAPIKey": []}, {"BearerAuth": []}]
            category = {t.name: t.category for t in tools}
            for item in doc.get("paths", {}).values():
                for op in item.values():
                    if isinstance(op, dict) and op.get("tags"):
                        op["x-category"] = category.get(op["tags"][0], "")
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]

    def too_large(message: str) -> dict:
        hub.stats["fault:too_large"] += 1
        return {"message": message}

    limit_json(app, settings.max_json_values, settings.max_json_depth, too_large)
    limit_body(app, settings.max_body_bytes, too_large, "max_body_bytes, `hub serve --max-body-bytes`")
    return app


def _document_validation_errors(doc: dict) -> None:
    """Describe 422 answers by the body the hub sends (``ValidationErrorBody``), not FastAPI's default
    ``HTTPValidationError`` (``{"detail": [...]}``), which the hub never sends."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    defs = ValidationErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(defs.pop("$defs", {}))
    schemas["ValidationErrorBody"] = defs
    for item in doc.get("paths", {}).values():
        for op in item.values():
            answer = op.get("responses", {}).get("422") if isinstance(op, dict) else None
            if answer is not None:
                answer["description"] = "Invalid arguments: `errors` names each field and what is wrong"
                answer["content"] = {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ValidationErrorBody"}}}
    doc["components"]["schemas"] = dict(sorted(schemas.items()))


def _drop_generated_titles(node: Any) -> None:
    """Remove the ``title`` pydantic gives every schema ("Ticker", "Radius Km"): noise for a model reading the
    schema. A property *named* title has a dict value and stays."""
    if isinstance(node, dict):
        if isinstance(node.get("title"), str):
            del node["title"]
        for value in node.values():
            _drop_generated_titles(value)
    elif isinstance(node, list):
        for value in node:
            _drop_generated_titles(value)


def tool_openapi(doc: dict, tool: HubTool) -> dict:
    """The OpenAPI document of one tool: its tagged operations and the schemas they reference."""
    paths: dict[str, Any] = {}
    for path, item in doc.get("paths", {}).items():
        ops = {m: op for m, op in item.items() if isinstance(op, dict) and tool.name in op.get("tags", [])}
        if ops:
            paths[path] = ops
    all_schemas = doc.get("components", {}).get("schemas", {})
    needed: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in needed:
                    needed.add(name)
                    walk(all_schemas.get(name))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(paths)
    return {
        "openapi": doc.get("openapi", "3.1.0"),
        "info": {"title": tool.name, "version": doc.get("info", {}).get("version", "1.0.0"),
                 "description": tool.description, "x-category": tool.category, "x-slug": tool.slug},
        "servers": doc.get("servers", []),
        "tags": [{"name": tool.name, "description": tool.description, "x-category": tool.category}],
        "paths": paths,
        "components": {"schemas": {k: all_schemas[k] for k in sorted(needed)},
                       "securitySchemes": doc.get("components", {}).get("securitySchemes", SECURITY_SCHEMES)},
        "security": doc.get("security", []),
    }


class FaultRequest(BaseModel):
    mode: str = Field(description=f"One of {FAULT_MODES}")
    count: int = Field(1, ge=1, description="How many matching requests get the fault")
    path_prefix: str = Field("/", description="Only requests whose path starts with this")


def _add_admin(app: FastAPI, hub: Hub) -> None:
    @app.post("/admin/reset", include_in_schema=False)
    async def reset(request: Request, everything: bool = False) -> dict:
        """Reset the calling key's state, or (``?everything=true``) every key, queued fault and counter."""
        key = api_key_of(request)
        if everything and len(hub.settings.api_keys or ()) > 1:
            raise HTTPException(403, "?everything=true would delete the state of every key; with several keys "
                                     "each key can reset only its own state")
        if everything or not key:
            return {"reset": hub.reset(None), "scope": "all"}
        return {"reset": hub.reset(key), "scope": "key"}

    @app.post("/admin/faults", include_in_schema=False)
    async def faults(body: FaultRequest) -> dict:
        if body.mode not in FAULT_MODES:
            raise HTTPException(400, f"mode {body.mode!r} unknown; use one of {', '.join(FAULT_MODES)}")
        hub.queue_fault(body.mode, body.count, body.path_prefix)
        return {"queued": body.model_dump()}

    @app.get("/admin/stats", include_in_schema=False)
    async def stats() -> dict:
        return dict(hub.stats)


def _add_virtual(app: FastAPI, hub: Hub) -> None:
    @app.post("/virtual", include_in_schema=False)
    async def virtual(body: VirtualRequest, request: Request) -> Any:
        """StableToolBench's virtual API server: cache, else a real call to the hub API, else (with an LLM) a
        simulated answer marked ``"simulated": true``. A hub with keys wants one (the body's ``toolbench_key``,
        as StableToolBench's clients send it, or the usual headers): the simulator may spend an LLM."""
        keys = hub.settings.api_keys
        if keys and not (key_accepted(body.toolbench_key, keys) or key_accepted(api_key_of(request), keys)):
            hub.stats["fault:virtual_no_key"] += 1
            return _error(401, "/virtual needs one of the hub's API keys: send it as toolbench_key, X-RapidAPI-Key "
                               "or Authorization: Bearer <key>.")
        return await answer(app, hub, body)
