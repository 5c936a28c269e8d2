"""ToolLLaMA conversations (ToolBench's preprocessed form): functions listed in the system prompt, assistant turns
written as ``Thought: / Action: / Action Input:``."""

from __future__ import annotations

import ast
import copy
import re
from typing import Any

from train.errors import FormatError
from train.format.example import ChatExample, make_example

# ToolLLaMA's system prompt: the functions follow this marker (as Python reprs, ToolBench's ``str(functions)``),
# and ToolBench inserts the ReAct hint after the anchor sentence.
TOOLLLAMA_MARKER = "\nSpecifically, you have access to the following APIs: "
TOOLLLAMA_ANCHOR = "with a function call to actually excute your step."
TOOLLLAMA_HINT = " Your output should follow this format:\nThought:\nAction\nAction Input:\n"
# The thought is greedy and the name one line, so a thought that itself says "Action: ..." stays whole.
_REACT_RE = re.compile(r"\A\nThought: ?(?P<thought>.*)\nAction: ?(?P<name>[^\n]*)\nAction Input: ?(?P<args>.*)\Z",
                       re.DOTALL)





def _toolllama_system(system: str, functions: list[dict[str, Any]]) -> str:
    if TOOLLLAMA_ANCHOR in system and TOOLLLAMA_ANCHOR + TOOLLLAMA_HINT not in system:
        system = system.replace(TOOLLLAMA_ANCHOR, TOOLLLAMA_ANCHOR + TOOLLLAMA_HINT)
    return system + TOOLLLAMA_MARKER + str(functions)


def to_toolllama(example: ChatExample) -> dict[str, Any]:
    """ToolBench's ToolLLaMA conversation form. One call per assistant turn (ToolLLaMA has no parallel calls)."""
    system = ""
    conversations: list[dict[str, Any]] = []
    for i, m in enumerate(example.messages):
        if m["role"] == "system":
            system = m["content"]
        elif m["role"] == "user":
            conversations.append({"from": "user", "value": m["content"]})
        elif m["role"] == "tool":
            conversations.append({"from": "function", "value": m["content"]})
        else:
            calls = m.get("tool_calls") or []
            if len(calls) > 1:
                raise FormatError(f"example {example.id or '?'} message {i}",
                                  "ToolLLaMA's format has one call per assistant turn; this one has "
                                  f"{len(calls)} (write OpenAI or ShareGPT instead)")
            value = f"\nThought: {m.get('content') or ''}"
            if calls:
                fn = calls[0]["function"]
                value += f"\nAction: {fn['name']}\nAction Input: {fn['arguments']}"
            conversations.append({"from": "assistant", "value": value})
    if system or example.tools:
        conversations.insert(0, {"from": "system", "value": _toolllama_system(system, example.functions)})
    return {"id": example.id, "conversations": conversations}


def from_toolllama(data: Any, where: str = "") -> ChatExample:
    """An example from ToolBench's ToolLLaMA form; ToolBench trains only the last assistant turn of each, so the
    others get weight 0 unless ``all_turns`` is set in the row's ``meta``."""
    where = where or "row"
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise FormatError(where, "expected an object with a 'conversations' list")
    messages: list[dict[str, Any]] = []
    tools: list[Any] = []
    for ti, turn in enumerate(data["conversations"]):
        at = f"{where}.conversations[{ti}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise FormatError(at, "a turn must be an object with a string 'value'")
        tag, value = turn.get("from"), turn["value"]
        if tag == "system":
            head, sep, listed = value.partition(TOOLLLAMA_MARKER)
            if sep:
                try:
                    tools = ast.literal_eval(listed)
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
                    raise FormatError(at, f"the functions after {TOOLLLAMA_MARKER.strip()!r} do not parse: "
                                          f"{exc}") from exc
            head = head.replace(TOOLLLAMA_ANCHOR + TOOLLLAMA_HINT, TOOLLLAMA_ANCHOR)
            if head:
                messages.append({"role": "system", "content": head})
        elif tag == "user":
            messages.append({"role": "user", "content": value})
        elif tag == "function":
            messages.append({"role": "tool", "content": value})
        elif tag == "assistant":
            match = _REACT_RE.match(value)
            if match:
                call = {"type": "function", "function": {"name": match["name"].strip(), "arguments": match["args"]}}
                messages.append({"role": "assistant", "content": match["thought"] or None, "tool_calls": [call]})
            else:
                text = value.removeprefix("\nThought: ")
                messages.append({"role": "assistant", "content": text})
        else:
            raise FormatError(f"{at}.from", f"unknown turn {tag!r}; use system, user, assistant or function")
    return make_example(messages, tools, id=data.get("id", ""), where=where)


def last_turn_only(example: ChatExample) -> ChatExample:
    """A copy with every assistant turn but the last at weight 0 (ToolLLaMA's training target)."""
    ex = copy.deepcopy(example)
    idx = [i for i, m in enumerate(ex.messages) if m["role"] == "assistant"]
    for i in idx[:-1]:
        ex.messages[i]["weight"] = 0
    return ex
