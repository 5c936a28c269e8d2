"""Rendering an OpenAI chat request (messages + tools + tool_choice) into the prompt a local model completes.

A tokenizer whose chat template knows about tools (it refers to ``tools``) gets them natively. Others — SmolLM2's
template is plain ChatML and silently ignores ``tools=`` — get our documented tool format instead:

* **Tools** are listed in the system prompt (appended to the first system message, or in a system message of
  their own): first the instruction to answer a call as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
  (or in plain text when no function is needed), then one JSON function schema per line inside
  ``<tools></tools>``, in a compact view (:func:`listed_schema`): ToolBench's fixed description preamble
  ("This is the subfunction for tool ..., you can use this tool.The description of this function is: ...") is
  cut to the API's own description, and ToolBench's ``optional`` list and ``example_value`` are left out. The
  exact text is :func:`tools_section`. The text that is the same for every request comes before the tool list,
  so a server's prefix cache skips it whichever tools the next request offers. There is no worked example: the
  one the prompt used to end with (the first tool called with its example values, or placeholders such as
  ``1.5`` and ``"text"``) was copied by the tuned model into its calls, placeholders included. On BFCL's dev
  slice the same LoRA data scored simple_python 60% with this prompt against 30% with the old one
  (benchmarks/README.md, "Training data and recipe against public BFCL").
* **Assistant turns that called tools** are rendered back as their text followed by one ``<tool_call>`` block
  per call, exactly the form the model is asked to produce.
* **Tool results** (``role: tool``, or the legacy ``role: function``) become a ``user`` turn holding one
  ``<tool_response name="...">...</tool_response>`` block per result (consecutive results share one turn). The
  system prompt does not mention that tag: SmolLM2-135M, told about it, wrote its calls in ``<tool_response>``
  tags instead of ``<tool_call>``.
* **tool_choice**: ``none`` leaves the tool list out; ``required`` adds "you must call a function" and starts
  the answer with ``<tool_call>\\n{"name": "``; a named function starts it with that function's call, so the
  model only writes the arguments. The started text (the *prefill*) is part of the completion to parse.

A tokenizer without any chat template gets plain ChatML (``<|im_start|>role\\ncontent<|im_end|>``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from toolbench.catalog.functions import plain_description
from toolbench.llm.base import Message, Tool
from toolbench.llm.toolcalls import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, format_tool_call

DEFAULT_SYSTEM = "You are a helpful assistant."


@dataclass
class RenderedPrompt:
    """The prompt text (ending with the prefill) and the prefill the completion continues."""

    text: str
    prefill: str = ""


def function_schemas(tools: list[Tool] | None) -> list[dict[str, Any]]:
    """Bare function schemas from OpenAI ``tools`` entries (or bare schemas)."""
    return [t["function"] if isinstance(t.get("function"), dict) else t for t in tools or []]


def listed_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A function as the tool list shows it: name, description and parameters, in the compact view (see the
    module docstring): ToolBench's fixed description preamble removed
    (:func:`toolbench.catalog.functions.plain_description`), no ``optional`` list, no ``example_value``."""
    out: dict[str, Any] = {k: schema[k] for k in ("name", "description", "parameters") if k in schema}
    if isinstance(out.get("description"), str):
        out["description"] = plain_description(out["description"])
    params = out.get("parameters")
    if isinstance(params, dict):
        params = {k: v for k, v in params.items() if k != "optional"}
        if isinstance(params.get("properties"), dict):
            params["properties"] = {name: ({k: v for k, v in prop.items() if k != "example_value"}
                                           if isinstance(prop, dict) else prop)
                                    for name, prop in params["properties"].items()}
        out["parameters"] = params
    return out


def tools_section(tools: list[Tool], tool_choice: Any = "auto") -> str:
    """The system-prompt section: the call format, then the tools in the compact view (:func:`listed_schema`)."""
    schemas = function_schemas(tools)
    listed = "\n".join(json.dumps(listed_schema(s), ensure_ascii=False) for s in schemas)
    lines = [
        "# Tools",
        "",
        (f"You can call functions to help with the user's request. To call one, answer with a JSON object inside "
         f"{TOOL_CALL_OPEN}{TOOL_CALL_CLOSE} tags, with the function's name and its arguments:"),
        f'{TOOL_CALL_OPEN}\n{{"name": <function-name>, "arguments": <arguments-object>}}\n{TOOL_CALL_CLOSE}',
        "When no function is needed, answer in plain text.",
        "",
        "The functions (one JSON schema per line):",
        "<tools>",
        listed,
        "</tools>",
    ]
    if tool_choice == "required":
        lines.append("You must call at least one function now.")
    elif isinstance(tool_choice, dict):
        lines.append(f"You must call the function {tool_choice['function']['name']} now.")
    return "\n".join(lines)


def prefill_for(tool_choice: Any) -> str:
    """The start of the answer that forces a call (see the module docstring)."""
    if tool_choice == "required":
        return f'{TOOL_CALL_OPEN}\n{{"name": "'
    if isinstance(tool_choice, dict):
        return f'{TOOL_CALL_OPEN}\n{{"name": {json.dumps(tool_choice["function"]["name"])}, "arguments": '
    return ""


def text_of(content: Any) -> str:
    """Message content as text (content parts are joined)."""
    if content is None:
        return ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _call_parts(call: dict[str, Any]) -> tuple[str, Any]:
    fn = call.get("function") or call
    return fn.get("name", ""), fn.get("arguments", fn.get("raw_arguments", {}))


def to_plain_messages(messages: list[Message], tools: list[Tool] | None = None,
                      tool_choice: Any = "auto") -> list[dict[str, str]]:
    """OpenAI messages -> role/content messages for a template without tool support (see module docstring)."""
    names_by_id: dict[str, str] = {}
    out: list[dict[str, str]] = []
    for message in messages:
        role = message["role"]
        content = text_of(message.get("content"))
        if role == "developer":
            role = "system"
        if role == "assistant":
            blocks = []
            for call in message.get("tool_calls") or []:
                name, arguments = _call_parts(call)
                names_by_id[call.get("id", "")] = name
                blocks.append(format_tool_call(name, arguments))
            content = "\n".join(p for p in [content.strip(), *blocks] if p)
            out.append({"role": "assistant", "content": content})
        elif role in ("tool", "function"):
            name = message.get("name") or names_by_id.get(message.get("tool_call_id", ""), "")
            block = f'<tool_response name="{name}">\n{content}\n</tool_response>'
            if out and out[-1].get("_tool"):
                out[-1]["content"] += "\n" + block
            else:
                out.append({"role": "user", "content": block, "_tool": "1"})
        else:
            out.append({"role": role, "content": content})
    for message in out:
        message.pop("_tool", None)
    if tools and tool_choice != "none":
        section = tools_section(tools, tool_choice)
        if out and out[0]["role"] == "system":
            out[0]["content"] = f"{out[0]['content'].rstrip()}\n\n{section}"
        else:
            out.insert(0, {"role": "system", "content": f"{DEFAULT_SYSTEM}\n\n{section}"})
    return out


def chatml(messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
    """Plain ChatML, for tokenizers without a chat template."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def template_supports_tools(tokenizer: Any) -> bool:
    template = getattr(tokenizer, "chat_template", None)
    return isinstance(template, str) and "tools" in template


def _native_messages(messages: list[Message]) -> list[Message]:
    """Messages for a tool-aware template: arguments as objects (what such templates expect)."""
    out = []
    for message in messages:
        message = dict(message)
        if message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                name, arguments = _call_parts(call)
                if isinstance(arguments, str):
                    try:
                        arguments = json.loads(arguments) if arguments.strip() else {}
                    except json.JSONDecodeError:
                        pass
                calls.append({"id": call.get("id"), "type": "function",
                              "function": {"name": name, "arguments": arguments}})
            message["tool_calls"] = calls
        if message.get("content") is None:
            message["content"] = ""
        out.append(message)
    return out


def render_prompt(tokenizer: Any, messages: list[Message], tools: list[Tool] | None = None,
                  tool_choice: Any = "auto") -> RenderedPrompt:
    """The prompt text for ``tokenizer``'s model, ending where the assistant's answer starts."""
    tool_choice = "auto" if tool_choice is None else tool_choice
    offered = tools if tools and tool_choice != "none" else None
    prefill = prefill_for(tool_choice) if offered else ""
    if offered and template_supports_tools(tokenizer):
        text = tokenizer.apply_chat_template(_native_messages(messages), tools=offered,
                                             add_generation_prompt=True, tokenize=False)
    else:
        plain = to_plain_messages(messages, tools, tool_choice)
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(plain, add_generation_prompt=True, tokenize=False)
        else:
            text = chatml(plain)
    return RenderedPrompt(text + prefill, prefill)
