"""Simulated API answers for ``POST /virtual`` (StableToolBench's idea): an LLM plays the API.

Used only when the response cache has no answer and the real call is impossible (an API the hub does not
serve) or failed (5xx, 429, timeout, broken JSON, 401), and only when an LLM is configured. The prompt holds
the API's documentation (from the hub's own OpenAPI, or from a ToolBench tool folder for APIs the hub does not
serve) and a few recorded calls of that API from the cache, so the model copies the real response shape.

Pure parts, tested with plain equality: :func:`simulation_messages` (the prompt) and :func:`parse_simulation`
(the model's reply -> ``{"error", "response"}``). :func:`simulate` adds the model call.

A simulated answer is marked: the ``/virtual`` answer carries ``"simulated": true`` beside ``error`` and
``response`` (StableToolBench clients read only those two keys). Simulated answers are not written to the
response cache, which keeps only real answers (they are the examples of later prompts); make simulations
repeatable with the LLM's own record/replay cache (``toolbench hub serve --llm-cache``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from toolbench.records import Api

MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 1500
SYSTEM_PROMPT = (
    "You play the server of one API in a sandbox where agents learn to use tools. You get the API's "
    "documentation, a few calls recorded from the real API with their responses, and a new call. Answer with "
    "what the real API would most plausibly return for the new call.\n"
    "Rules:\n"
    "- Reply with one JSON object and nothing else: {\"error\": \"\", \"response\": <the response body>}.\n"
    "- The response body follows the documented response schema and the shape of the recorded responses; its "
    "values are plausible and consistent with the arguments (names, ids, dates, amounts).\n"
    "- If the arguments cannot work for this API (a required one missing, a wrong type, an unknown id), put a "
    "short message in \"error\" as the API would and set \"response\" to \"\".\n"
    "- Never mention that you are simulating."
)


@dataclass
class SimulationRequest:
    """What the simulator knows about one call."""

    category: str
    tool: str
    api: str
    args: dict[str, Any]
    doc: Api | None = None  # None: nothing is known about this API beyond its names
    examples: tuple[tuple[dict[str, Any], str], ...] = ()  # (arguments, response text) recorded from the real API


def api_documentation(req: SimulationRequest) -> dict[str, Any]:
    """The documentation block of the prompt."""
    doc: dict[str, Any] = {"tool": req.tool, "api": req.api, "category": req.category}
    api = req.doc
    if api is None:
        doc["note"] = "No documentation is available; infer the API's purpose from its names."
        return doc
    doc["description"] = api.description
    doc["method"] = api.method
    for label, params in (("required_parameters", api.required_params), ("optional_parameters", api.optional_params)):
        doc[label] = [{k: v for k, v in {"name": p.name, "type": p.type, "description": p.description,
                                         "schema": p.schema, "example": p.default}.items() if v not in ("", None)}
                      for p in params]
    if api.response_schema:
        doc["response_schema"] = api.response_schema
    return doc


def simulation_messages(req: SimulationRequest) -> list[dict[str, Any]]:
    """The chat messages asking the model to play the API."""
    parts = ["API documentation:", json.dumps(api_documentation(req), ensure_ascii=False, indent=1, default=str)]
    if req.examples:
        parts.append("Recorded calls of this API:")
        for args, response in req.examples[-MAX_EXAMPLES:]:
            shown = response if len(response) <= MAX_EXAMPLE_CHARS else response[:MAX_EXAMPLE_CHARS] + " ...(cut)"
            parts.append(f"arguments: {json.dumps(args, ensure_ascii=False, sort_keys=True)}\nresponse: {shown}")
    parts.append(f"New call, arguments: {json.dumps(req.args, ensure_ascii=False, sort_keys=True)}")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n\n".join(parts)}]


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def _first_json(text: str) -> Any:
    text = _FENCE.sub("", text.strip())
    try:
        return json.loads(text)
    except ValueError:
        pass
    start = text.find("{")
    if start >= 0:
        try:
            return json.JSONDecoder().raw_decode(text[start:])[0]
        except ValueError:
            return None
    return None


def parse_simulation(text: str | None) -> dict[str, str]:
    """The model's reply as ``{"error", "response"}``: its JSON object when it wrote one as asked, a bare
    JSON value as the response, else the text itself as the response. An error gets a kind prefix
    (``request_error: ...``) like the executor's, so the observation built from it has that kind."""
    from toolbench.error_kinds import EXECUTOR_KINDS, ErrorKind, kind_from_text

    text = (text or "").strip()
    data = _first_json(text)
    if isinstance(data, dict) and "response" in data and set(data) <= {"error", "response"}:
        error = str(data.get("error") or "").strip()
        response = data["response"]
    elif data is not None:
        error, response = "", data
    else:
        error, response = "", text
    if not isinstance(response, str):
        response = json.dumps(response, ensure_ascii=False)
    if error and kind_from_text(error) not in EXECUTOR_KINDS:
        error = f"{ErrorKind.REQUEST_ERROR}: {error}"
    return {"error": error, "response": "" if error else response}


async def simulate(model: Any, req: SimulationRequest) -> dict[str, Any]:
    """Ask ``model`` (a :class:`~toolbench.llm.base.ChatModel`) to answer the call; the answer is marked
    ``"simulated": true``. A failing model raises (the caller decides what to send instead)."""
    reply = await model.achat(simulation_messages(req), temperature=0.0)
    return {**parse_simulation(reply.content), "simulated": True}
