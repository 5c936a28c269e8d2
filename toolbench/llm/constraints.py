"""What constrained decoding must guarantee for a request, independent of the engine that enforces it.

A chat request asks for structure in two ways, and :func:`constraint_for` turns either into a
:class:`Constraint` that each engine compiles with its own grammar library (llama.cpp's GBNF sampler in
:mod:`toolbench.llm.llamacpp`, a kept structured-generation library in the transformers engine):

* **Tool calls** (``kind="calls"``). The completion is one or more calls in the text format of
  :func:`toolbench.llm.toolcalls.format_tool_call`, one per line::

      <tool_call>
      {"name": "<one of the functions>", "arguments": <an object valid under that function's parameters>}
      </tool_call>

  - ``tool_choice`` ``"required"``: the whole completion is calls (``lazy`` false), to any offered function.
  - ``tool_choice`` naming a function: the same, with ``functions`` narrowed to that one.
  - ``tool_choice`` ``"auto"`` (or absent) with tools: ``lazy`` true. The model writes freely and may answer in
    text (abstain); from the moment it writes ``<tool_call>`` (:data:`TRIGGER`) the rest must be calls as above.
    Constraining never forces a call.
  - ``tool_choice`` ``"none"`` or no tools: no constraint.
* **JSON answers** (``kind="json"``), from ``response_format``: ``{"type": "json_object"}`` is any JSON object
  (``schema`` None); ``{"type": "json_schema", "json_schema": {"schema": {...}}}`` an object valid under that
  schema. ``{"type": "text"}`` means no constraint. When both tools and a JSON ``response_format`` are given,
  the tools win (a call is the structured answer then), as in OpenAI's API.

``prefill`` is text the prompt already ends with and the constrained text starts with (the template's forced
call opening, see :func:`toolbench.llm.template.prefill_for`): an engine advances its grammar over it before the
first generated token.

A function whose ``parameters`` are missing or not an object schema takes any JSON object as arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from toolbench.llm.toolcalls import TOOL_CALL_CLOSE, TOOL_CALL_OPEN

TRIGGER = TOOL_CALL_OPEN
# The exact layout of one call, as format_tool_call writes it: CALL_HEAD + json name + CALL_MIDDLE + arguments
# + CALL_TAIL; calls are separated by CALL_SEPARATOR.
CALL_HEAD = f'{TOOL_CALL_OPEN}\n{{"name": '
CALL_MIDDLE = ', "arguments": '
CALL_TAIL = f"}}\n{TOOL_CALL_CLOSE}"
CALL_SEPARATOR = "\n"
ANY_OBJECT: dict[str, Any] = {"type": "object"}


class ConstraintError(ValueError):
    """A request's structure cannot be turned into a constraint (an unusable schema)."""


@dataclass(frozen=True)
class Constraint:
    """See the module docstring. ``functions`` holds ``(name, arguments schema)`` pairs."""

    kind: Literal["calls", "json"]
    functions: tuple[tuple[str, str], ...] = ()  # (name, canonical JSON of its arguments schema): hashable
    lazy: bool = False
    schema_json: str | None = None  # canonical JSON of the answer's schema (kind "json"); None: any object
    prefill: str = field(default="", compare=True)

    @property
    def schema(self) -> dict[str, Any] | None:
        return None if self.schema_json is None else json.loads(self.schema_json)

    def function_schemas(self) -> list[tuple[str, dict[str, Any]]]:
        return [(name, json.loads(schema)) for name, schema in self.functions]

    def describe(self) -> str:
        """A short label for logs and summaries."""
        if self.kind == "json":
            return "json" + ("" if self.schema_json is None else "-schema")
        return ("lazy-calls" if self.lazy else "calls") + f"({len(self.functions)})"


def canonical(value: Any) -> str:
    """Compact JSON of a schema. Keys keep their order (not sorted): grammars emit properties in the schema's order,
    which is the order the model was shown."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def arguments_schema(function: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema a call's arguments must satisfy: the function's ``parameters`` when they describe an
    object, else any object. ToolBench/BFCL spellings ("dict", "float", "tuple"...) are mapped to JSON Schema."""
    params = function.get("parameters")
    if not isinstance(params, dict) or not params:
        return dict(ANY_OBJECT)
    schema = to_json_schema(params)
    if schema.get("type") not in (None, "object"):
        return dict(ANY_OBJECT)
    schema["type"] = "object"
    return schema


# Types outside JSON Schema that function documents use (BFCL's python types, ToolBench's).
_TYPE_ALIASES = {"dict": "object", "float": "number", "int": "integer", "tuple": "array", "list": "array",
                 "str": "string", "bool": "boolean", "any": None, "double": "number", "long": "integer",
                 "char": "string", "hashmap": "object", "arraylist": "array"}
_JSON_TYPES = {"object", "number", "integer", "array", "string", "boolean", "null"}


def to_json_schema(schema: Any) -> dict[str, Any]:
    """A copy of ``schema`` that JSON-schema tools read: unknown type names widened (``any``), aliases mapped,
    ``required`` names that are not properties dropped, objects with ``properties`` closed to them
    (``additionalProperties: false`` unless the schema says otherwise). Keeps everything else."""
    if not isinstance(schema, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            types = value if isinstance(value, list) else [value]
            mapped = []
            for t in types:
                t = _TYPE_ALIASES.get(t.lower(), t.lower()) if isinstance(t, str) else None
                if t is None or t not in _JSON_TYPES:
                    mapped = []
                    break
                mapped.append(t)
            if mapped:
                out["type"] = mapped[0] if len(mapped) == 1 else mapped
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {str(k): to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out[key] = [to_json_schema(v) for v in value]
        elif key == "enum" and isinstance(value, list) and value:
            out["enum"] = value
        elif key in ("description", "title", "format", "default", "example_value"):
            continue  # prose and examples: nothing to enforce
        else:
            out[key] = value
    if isinstance(out.get("required"), list):
        props = out.get("properties") or {}
        out["required"] = [r for r in out["required"] if isinstance(r, str) and r in props]
        if not out["required"]:
            out.pop("required")
    if out.get("type") == "array" and isinstance(out.get("items"), dict) and not out["items"]:
        out.pop("items")
    if isinstance(out.get("properties"), dict) and out["properties"] and "additionalProperties" not in out:
        out["additionalProperties"] = False  # the documented parameters only: no made-up keys
    return out


def _function_of(tool: dict[str, Any]) -> dict[str, Any]:
    return tool["function"] if isinstance(tool.get("function"), dict) else tool


def constraint_for(tools: list[dict[str, Any]] | None, tool_choice: Any = None,
                   response_format: dict[str, Any] | None = None, prefill: str = "") -> Constraint | None:
    """The constraint a request asks for (see the module docstring), or None."""
    choice = "auto" if tool_choice is None else tool_choice
    if tools and choice != "none":
        functions = [_function_of(t) for t in tools]
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
            functions = [f for f in functions if f.get("name") == wanted]
            if not functions:
                raise ConstraintError(f"tool_choice names function {wanted!r}, which is not among the tools")
        pairs = tuple((str(f["name"]), canonical(arguments_schema(f))) for f in functions)
        return Constraint("calls", functions=pairs, lazy=choice == "auto", prefill=prefill)
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        schema = response_format.get("schema")  # llama.cpp's and vLLM's extension
        return Constraint("json", schema_json=canonical(schema) if isinstance(schema, dict) else None)
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise ConstraintError("response_format.json_schema.schema must be a JSON schema object")
        return Constraint("json", schema_json=canonical(schema))
    raise ConstraintError(f"response_format.type must be text, json_object or json_schema; got {kind!r}")
