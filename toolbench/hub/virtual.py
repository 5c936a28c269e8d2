"""``POST /virtual``: StableToolBench's virtual API server protocol, answered by the hub.

Request: ``{"category", "tool_name", "api_name", "tool_input", "strip", "toolbench_key"}`` with names as given
in the catalog or standardised (StableToolBench sends standardised ones) and ``tool_input`` a JSON object or a
JSON string. Answer: ``{"error": str, "response": str}``, in this order of preference:

1. from the response cache when it holds the call;
2. from a real call to the hub's own API (stored in the cache when it is a real answer: 2xx or the API's own
   4xx);
3. when an LLM is configured and the API is unknown to the hub or the real call failed (5xx, 429, timeout,
   broken JSON, 401): a simulated answer (:mod:`toolbench.hub.simulate`), marked by a third key,
   ``"simulated": true``, and never cached as a real one;
4. otherwise the real call's error, or ``hallucinated_function`` for an unknown API.
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


# Failures of a real call that a simulation may replace; an API's own 4xx answer is a real answer and stays.
SIMULATE_ON = ("not_working", "rate_limited", "timeout", "malformed_response", "unauthorized")


async def answer(app: FastAPI, hub, req: VirtualRequest) -> dict[str, Any]:
    from toolbench.executor import cacheable, error_kind, observation_from_http

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
        no_llm = "" if hub.chat_model() is not None else ", and no LLM is configured to simulate one"
        unknown = {"error": f"hallucinated_function: no API {req.api_name!r} of tool {req.tool_name!r} on this "
                            f"hub{no_llm}", "response": ""}
        return await _simulated(hub, req, args, None, (tool_key, api_key), unknown)
    route = found[1]
    method, path, query, body = build_call(route, args)
    transport = httpx.ASGITransport(app=app)
    headers = {"X-RapidAPI-Key": req.toolbench_key or "virtual"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.virtual") as client:
        resp = await client.request(method, path, params=query, json=body, headers=headers)
    obs = observation_from_http(resp.status_code, resp.headers, resp.text, 0.0)
    if cacheable(obs):
        if cache is not None:
            cache.put(tool_key, api_key, args, obs)
        return obs.to_toolbench()
    if error_kind(obs) in SIMULATE_ON:
        return await _simulated(hub, req, args, found, (tool_key, api_key), obs.to_toolbench())
    return obs.to_toolbench()


async def _simulated(hub, req: VirtualRequest, args: dict[str, Any], found: tuple[Any, APIRoute] | None,
                     keys: tuple[str, str], fallback: dict[str, str]) -> dict[str, Any]:
    """The LLM's answer when one is configured, else ``fallback``; a failing LLM also gives ``fallback``, with
    the reason appended to its error."""
    import logging

    from toolbench.hub.simulate import SimulationRequest, simulate

    model = hub.chat_model()
    if model is None:
        return fallback
    if found is not None:
        tool_name, doc = found[0].name, hub.api_doc(found[0].slug, found[1].operation_id)
        category = found[0].category
    else:
        tool_name, doc = req.tool_name, hub.external_doc(req.tool_name, req.api_name)
        category = req.category or (doc.category if doc else "")
    api_name = doc.name if doc is not None else req.api_name
    cache = _cache(hub)
    examples: tuple = ()
    if cache is not None:  # real answers recorded for this API (the cache's keys: catalog names)
        examples = tuple((e["args"], e["response"]) for e in cache.entries(*keys) if not e["error"] and e["response"])
    sim = SimulationRequest(category=category, tool=tool_name, api=api_name, args=args, doc=doc, examples=examples)
    try:
        out = await simulate(model, sim)
    except Exception as exc:  # noqa: BLE001 -- any model failure (down, refused, bad reply) keeps the real answer
        logging.getLogger("toolbench.hub").warning("simulation of %s/%s failed: %s", tool_name, api_name, exc)
        hub.stats["virtual:simulation_failed"] += 1
        reason = f"simulation failed: {type(exc).__name__}: {str(exc)[:200]}"
        return {**fallback, "error": f"{fallback['error']} ({reason})" if fallback["error"] else reason}
    hub.stats["virtual:simulated"] += 1
    return out


def _cache(hub):
    if not hub.settings.cache_path:
        return None
    if getattr(hub, "_virtual_cache", None) is None:
        from toolbench.cache import ResponseCache

        hub._virtual_cache = ResponseCache(hub.settings.cache_path)
    return hub._virtual_cache
