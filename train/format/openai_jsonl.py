"""OpenAI fine-tuning JSONL: ``{"messages": [...], "tools": [...]}`` lines (legacy ``functions`` /
``function_call`` accepted on input)."""

from __future__ import annotations

import copy
from typing import Any

from train.errors import FormatError
from train.format.example import ChatExample, make_example


def to_openai(example: ChatExample) -> dict[str, Any]:
    """One line of an OpenAI fine-tuning file: ``messages`` (tool messages without ``name``) and ``tools``."""
    messages = []
    for m in example.messages:
        m = copy.deepcopy(m)
        if m["role"] == "tool":
            m.pop("name", None)
        if m["role"] == "assistant" and m.get("tool_calls") and m.get("content") is None:
            m.pop("content")
        messages.append(m)
    out: dict[str, Any] = {"messages": messages}
    if example.tools:
        out["tools"] = copy.deepcopy(example.tools)
    return out


def from_openai(data: Any, where: str = "") -> ChatExample:
    """An example from an OpenAI fine-tuning line (also our own ``ChatExample.to_dict()`` form)."""
    where = where or "line"
    if not isinstance(data, dict) or "messages" not in data:
        raise FormatError(where, "expected an object with 'messages'")
    tools = data.get("tools")
    if tools is None and data.get("functions") is not None:
        tools = data["functions"]
    return make_example(data["messages"], tools, id=data.get("id", ""), meta=data.get("meta"), where=where)
