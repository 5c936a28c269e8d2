"""APIs as functions offered to a model (OpenAI ``tools`` entries), and argument validation.

The conversion follows ToolBench's (facts, not code): the function name is ``<api>_for_<tool>``; the
description is ``This is the subfunction for tool "<tool>", you can use this tool.`` followed by
``The description of this function is: "<description>"`` (API name in it replaced by the function name,
cut to 256 characters); parameter names are standardised (``id`` -> ``is_id``); ToolBench's types map
``NUMBER`` -> ``integer``, ``STRING`` -> ``string``, ``BOOLEAN`` -> ``boolean`` and everything else to
``string``; a non-empty ``default`` becomes ``example_value``; the schema lists ``required`` and ToolBench's
extra ``optional`` key.

Parameters imported from OpenAPI carry a JSON-schema fragment (nested objects, arrays, enums): that schema is
kept as it is, with the description added.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from toolbench.catalog.naming import FunctionMap, param_name, standardize
from toolbench.formats.finish import FINISH, GIVE_ANSWER, GIVE_UP_AND_RESTART
from toolbench.records import Api, Param

DESCRIPTION_MAX = 256
TOOLBENCH_TYPE_MAP = {"NUMBER": "integer", "STRING": "string", "BOOLEAN": "boolean"}

# ToolBench's Finish function, offered beside the APIs in every annotation request.
FINISH_FUNCTION: dict[str, Any] = {
    "name": FINISH,
    "description": (
        "If you believe that you have obtained a result that can answer the task, please call this function to "
        "provide the final answer. Alternatively, if you recognize that you are unable to proceed with the task "
        "in the current state, call this function to restart. Remember: you must ALWAYS call this function at "
        "the end of your attempt, and the only part that will be shown to the user is the final answer, so it "
        "should contain sufficient information."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "return_type": {"type": "string", "enum": [GIVE_ANSWER, GIVE_UP_AND_RESTART]},
            "final_answer": {
                "type": "string",
                "description": 'The final answer you want to give the user. You should have this field if '
                               '"return_type"=="give_answer"',
            },
        },
        "required": ["return_type"],
    },
}


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON-schema property for one parameter."""
    description = (param.description or "")[:DESCRIPTION_MAX]
    if param.schema is not None:
        prop = copy.deepcopy(param.schema)
        if description and "description" not in prop:
            prop["description"] = description
    else:
        prop = {"type": TOOLBENCH_TYPE_MAP.get(param.type, "string"), "description": description}
    if param.default is not None and str(param.default) != "" and "example_value" not in prop:
        prop["example_value"] = param.default
    return prop


def function_description(api: Api, tool_standard_name: str, fname: str) -> str:
    text = f'This is the subfunction for tool "{tool_standard_name}", you can use this tool.'
    desc = (api.description or "").strip()
    if desc:
        text += f'The description of this function is: "{desc.replace(api.name, fname)[:DESCRIPTION_MAX]}"'
    return text


_PREAMBLE = re.compile(r'This is the subfunction for tool "[^"]*", you can use this tool\.'
                       r'(?:The description of this function is: "(?P<described>.*)")?', re.DOTALL)


def plain_description(text: str) -> str:
    """A function description without ToolBench's fixed preamble (the inverse of :func:`function_description`):
    the API's own description, "" when it had none; any other text is returned as it is."""
    match = _PREAMBLE.fullmatch(text.strip())
    return text if match is None else (match.group("described") or "")


@dataclass
class OfferedFunction:
    """One API as offered to a model: its function schema and the exact way back to the API."""

    api: Api
    schema: dict[str, Any]
    # standardised parameter name -> the API's own parameter name
    param_names: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.schema["name"]

    def to_openai_tool(self) -> dict[str, Any]:
        return {"type": "function", "function": self.schema}

    def api_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Arguments keyed by the model's parameter names -> keyed by the API's own names. Unknown keys pass
        through unchanged (validation reports them)."""
        return {self.param_names.get(k, k): v for k, v in arguments.items()}


def api_to_function(api: Api, tool_standard_name: str | None = None, fname: str | None = None) -> OfferedFunction:
    """Convert one API to a function schema in ToolBench's convention."""
    tool_std = tool_standard_name if tool_standard_name is not None else standardize(api.tool)
    if fname is None:
        from toolbench.catalog.naming import function_name

        fname = function_name(api.name, tool_std)
    properties: dict[str, Any] = {}
    required: list[str] = []
    optional: list[str] = []
    names: dict[str, str] = {}
    for param in api.params:
        pname = param_name(param.name) or param.name
        if names.get(pname, param.name) != param.name:
            pname = param.name  # two different names that standardise alike: keep the second one raw
        # A name listed twice (real RapidAPI docs have a few) behaves as in ToolBench: the later entry's
        # schema wins and the name is listed once in each of required/optional where it appears.
        names[pname] = param.name
        properties[pname] = param_schema(param)
        listed = required if param.required else optional
        if pname not in listed:
            listed.append(pname)
    schema = {
        "name": fname,
        "description": function_description(api, tool_std, fname),
        "parameters": {"type": "object", "properties": properties, "required": required, "optional": optional},
    }
    return OfferedFunction(api=api, schema=schema, param_names=names)


@dataclass
class FunctionSet:
    """The functions offered in one request: unique names, the way back to each API, OpenAI ``tools``."""

    functions: dict[str, OfferedFunction] = field(default_factory=dict)
    names: FunctionMap = field(default_factory=FunctionMap)

    @classmethod
    def from_apis(cls, apis: list[Api], tool_standard_names: dict[str, str] | None = None) -> FunctionSet:
        """``tool_standard_names`` maps a tool name to the standardised name its tool file records; without
        it, names are standardised here."""
        fs = cls()
        std = tool_standard_names or {}
        for api in apis:
            tool_std = std.get(api.tool) or standardize(api.tool)
            fname = fs.names.add(api.tool, tool_std, api.name)
            if fname not in fs.functions:
                fs.functions[fname] = api_to_function(api, tool_std, fname)
        return fs

    def resolve(self, fname: str) -> OfferedFunction | None:
        """The function offered under this name, or None (a hallucinated function)."""
        return self.functions.get(fname)

    def schemas(self, *, finish: bool = False) -> list[dict[str, Any]]:
        out = [f.schema for f in self.functions.values()]
        return out + [FINISH_FUNCTION] if finish else out

    def openai_tools(self, *, finish: bool = False) -> list[dict[str, Any]]:
        return [{"type": "function", "function": s} for s in self.schemas(finish=finish)]
