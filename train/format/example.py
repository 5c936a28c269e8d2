"""A training example, :class:`ChatExample` (OpenAI messages plus the tools offered), its normalisation and
checks; one module per file format beside it (see :mod:`train.format`)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from train.errors import FormatError

ROLES = ("system", "user", "assistant", "tool")
FORMATS = ("chat", "openai", "sharegpt", "toolllama", "toolbench")


@dataclass
class ChatExample:
    """One training conversation in OpenAI's message form, with the tools offered."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def functions(self) -> list[dict[str, Any]]:
        """The bare function schemas of ``tools``."""
        return [t["function"] for t in self.tools]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "messages": copy.deepcopy(self.messages),
                               "tools": copy.deepcopy(self.tools)}
        if self.meta:
            out["meta"] = copy.deepcopy(self.meta)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> ChatExample:
        from train.format.openai_jsonl import from_openai  # the OpenAI form is the record's own

        return from_openai(data, where)


# ---------------------------------------------------------------------------------------------------------------
# normalisation and checks


def call_id(message_index: int, call_index: int) -> str:
    """The id given to a call read from a format without ids."""
    return f"call_{message_index}_{call_index}"


def normalize_tools(tools: Any, where: str = "tools") -> list[dict[str, Any]]:
    """OpenAI ``tools`` entries from entries or bare function schemas (a JSON string of either is accepted)."""
    if tools is None or tools == "":
        return []
    if isinstance(tools, str):
        try:
            tools = json.loads(tools)
        except json.JSONDecodeError as exc:
            raise FormatError(where, f"not valid JSON ({exc.msg}); give a list of function schemas") from exc
    if not isinstance(tools, list):
        raise FormatError(where, f"must be a list of tools, got {type(tools).__name__}")
    out = []
    for i, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            fn = tool["function"]
        elif isinstance(tool, dict) and "function" not in tool:
            fn = tool
        else:
            raise FormatError(f"{where}[{i}]", "must be {'type': 'function', 'function': {...}} or a function schema")
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            raise FormatError(f"{where}[{i}]", "a function needs a non-empty 'name'")
        out.append({"type": "function", "function": copy.deepcopy(fn)})
    return out


def _arguments_text(raw: Any) -> str:
    if raw is None:
        return "{}"
    if isinstance(raw, str):
        return raw
    return json.dumps(raw, ensure_ascii=False)


def _content_text(content: Any, where: str) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    raise FormatError(f"{where}.content", f"must be a string, got {type(content).__name__}")


def normalize_messages(messages: Any, where: str = "messages") -> list[dict[str, Any]]:
    """Messages in the canonical form described in the module docstring.

    Legacy ``function_call`` / ``role: function`` messages become ``tool_calls`` / ``tool``; arguments given as
    objects become JSON strings; calls without ids get :func:`call_id` ids; a tool message without
    ``tool_call_id`` answers the first open call of its name (or the first open call).
    """
    if not isinstance(messages, list) or not messages:
        raise FormatError(where, "must be a non-empty list of messages")
    out: list[dict[str, Any]] = []
    open_calls: list[tuple[str, str]] = []  # (id, name) of calls not yet answered
    for mi, raw in enumerate(messages):
        at = f"{where}[{mi}]"
        if not isinstance(raw, dict):
            raise FormatError(at, f"a message must be an object, got {type(raw).__name__}")
        role = raw.get("role")
        if role == "function":
            role = "tool"
        if role not in ROLES:
            raise FormatError(f"{at}.role", f"unknown role {role!r}; use one of {ROLES}")
        content = _content_text(raw.get("content"), at)
        msg: dict[str, Any] = {"role": role, "content": content}
        if role == "assistant":
            wire = raw.get("tool_calls") or []
            if raw.get("function_call"):
                wire = list(wire) + [{"type": "function", "function": raw["function_call"]}]
            if not isinstance(wire, list):
                raise FormatError(f"{at}.tool_calls", "must be a list")
            calls = []
            for ci, call in enumerate(wire):
                fn = call.get("function") if isinstance(call, dict) else None
                if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
                    raise FormatError(f"{at}.tool_calls[{ci}]", "a call needs function.name")
                cid = call.get("id") or call_id(mi, ci)
                calls.append({"id": cid, "type": "function",
                              "function": {"name": fn["name"], "arguments": _arguments_text(fn.get("arguments"))}})
            if calls:
                msg["tool_calls"] = calls
                open_calls = [(c["id"], c["function"]["name"]) for c in calls]
                if content == "":
                    msg["content"] = None
            elif content is None:
                raise FormatError(at, "an assistant message needs content or tool_calls")
            if "weight" in raw:
                if raw["weight"] not in (0, 1):
                    raise FormatError(f"{at}.weight", "must be 0 or 1 (OpenAI's fine-tuning weight)")
                msg["weight"] = int(raw["weight"])
        elif role == "tool":
            if content is None:
                msg["content"] = ""
            cid = raw.get("tool_call_id")
            name = raw.get("name")
            match = None
            for pos, (oid, oname) in enumerate(open_calls):
                if (cid and oid == cid) or (not cid and (name is None or oname == name)):
                    match = pos
                    break
            if match is None and not cid and open_calls:
                match = 0
            if match is None:
                raise FormatError(at, f"a tool result (tool_call_id={cid!r}, name={name!r}) answers no open call "
                                      "of the assistant message before it")
            oid, oname = open_calls.pop(match)
            msg["tool_call_id"] = oid
            msg["name"] = oname
        else:
            if content is None:
                raise FormatError(f"{at}.content", f"a {role} message needs content")
            if role == "system" and mi != 0:
                raise FormatError(at, "a system message may only come first")
        out.append(msg)
    return out


def check_example(example: ChatExample, where: str = "") -> ChatExample:
    """Raise :class:`FormatError` unless ``example`` has something to learn: a user turn and an assistant turn in
    the loss. Returns the example."""
    where = where or (example.id and f"example {example.id}") or "example"
    roles = [m["role"] for m in example.messages]
    if "user" not in roles:
        raise FormatError(where, "has no user message")
    if not any(m["role"] == "assistant" and m.get("weight", 1) for m in example.messages):
        raise FormatError(where, "has no assistant message in the loss (all have weight 0 or there are none)")
    return example


def make_example(messages: Any, tools: Any = None, *, id: str = "", meta: dict | None = None,
                 where: str = "") -> ChatExample:
    """A checked :class:`ChatExample` from messages and tools in any accepted spelling."""
    where = where or "example"
    ex = ChatExample(normalize_messages(messages, f"{where}.messages"), normalize_tools(tools, f"{where}.tools"),
                     id=str(id or ""), meta=dict(meta or {}))
    return check_example(ex, where)
