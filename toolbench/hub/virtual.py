"""``POST /virtual``: StableToolBench's virtual API server protocol, answered by the hub.

Request: ``{"category", "tool_name", "api_name", "tool_input", "strip", "toolbench_key"}`` with names as given
in the catalog or standardised (StableToolBench sends standardised ones) and ``tool_input`` a JSON object or a
JSON string. Answer: ``{"error": str, "response": str}``, from the response cache when it holds the call,
else from a real call to the hub's own API (and stored). A simulated (LLM) answer is not available yet: a call
that cannot be answered gets a clear error.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from toolbench.catalog.naming import standardize


class VirtualRequest(BaseModel):
    category: str = Field("", description="The tool's category (informative)")
    tool_name: str = Field(description="Tool name, as in the catalog or standardised")
    api_name: str = Field(description="API name, as in the catalog or standardised")
    tool_input: dict[str, Any] | str = Field(default_factory=dict, description="Arguments: object or JSON text")
    strip: str = Field("", description="Observation compression method (StableToolBench); kept for "
                                       "compatibility")
    toolbench_key: str = Field("", description="The caller's key; selects its state on the hub")


def _names(*values: str | None) -> set[str]:
    out = set()
    for v in values:
        if v:
            out.add(v.lower())
            out.add(standardize(v))
    return out


def resolve(app: FastAPI, hub, tool_name: str, api_name: str) -> tuple[Any, APIRoute] | None:
    wanted_tool = _names(tool_name)
    tool = next((t for t in hub.tools.values() if wanted_tool & _names(t.name, t.slug)), None)
    if tool is None:
        return None
    wanted_api = _names(api_name)
    for route in tool.router.routes:  # the tool's own router: its paths carry the prefix
        if isinstance(route, APIRoute) and wanted_api & _names(route.summary, route.operation_id, route.name):
            return tool, route
    return None


def build_call(route: APIRoute, args: dict[str, Any]) -> tuple[str, str, dict, Any]:
    """(method, path, query, json body) for a call of ``route`` with ``args`` keyed by parameter name."""
    args = dict(args)
    path = route.path
    for p in route.dependant.path_params:
        name = p.alias or p.name
        if name in args:
            path = path.replace("{" + name + "}", _quote(str(args.pop(name))))
    query = {}
    for p in route.dependant.query_params:
        name = p.alias or p.name
        if name in args:
            query[name] = args.pop(name)
    method = min(route.methods)
    body = args if (route.dependant.body_params and method in ("POST", "PUT", "PATCH")) else None
    if body is None and args:
        query.update(args)  # unknown arguments: let the API reject them as a real one would (or ignore them)
    return method, path, query, body


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


async def answer(app: FastAPI, hub, req: VirtualRequest) -> dict[str, str]:
    from toolbench.executor import cacheable, observation_from_http

    args: Any = req.tool_input
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            return {"error": f"invalid_arguments: tool_input is not valid JSON ({exc.msg}); send a JSON object",
                    "response": ""}
    if not isinstance(args, dict):
        return {"error": "invalid_arguments: tool_input must be a JSON object", "response": ""}
    found = resolve(app, hub, req.tool_name, req.api_name)
    # Cache keys use the catalog's names (the tool's name, the operationId), whichever spelling was sent.
    tool_key, api_key = (found[0].name, found[1].operation_id) if found else (req.tool_name, req.api_name)
    cache = _cache(hub)
    if cache is not None:
        hit = cache.get(tool_key, api_key, args)
        if hit is not None:
            return hit.to_toolbench()
    if found is None:
        return {"error": f"hallucinated_function: no API {req.api_name!r} of tool {req.tool_name!r} on this hub, "
                         "and no LLM is configured to simulate one",
                "response": ""}
    route = found[1]
    method, path, query, body = build_call(route, args)
    transport = httpx.ASGITransport(app=app)
    headers = {"X-RapidAPI-Key": req.toolbench_key or "virtual"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.virtual") as client:
        resp = await client.request(method, path, params=query, json=body, headers=headers)
    obs = observation_from_http(resp.status_code, resp.headers, resp.text, 0.0)
    if cache is not None and cacheable(obs):
        cache.put(tool_key, api_key, args, obs)
    return obs.to_toolbench()


def _cache(hub):
    if not hub.settings.cache_path:
        return None
    if getattr(hub, "_virtual_cache", None) is None:
        from toolbench.cache import ResponseCache

        hub._virtual_cache = ResponseCache(hub.settings.cache_path)
    return hub._virtual_cache
