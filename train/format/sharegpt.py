"""ShareGPT / LLaMA-Factory: ``{"conversations": [{"from", "value"}], "system", "tools"}``."""

from __future__ import annotations

import json
from typing import Any

from train.errors import FormatError
from train.format.example import ChatExample, _arguments_text, call_id, make_example

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "function_call": "assistant", "observation": "tool", "tool": "tool", "system": "system"}




def _call_value(call: dict[str, Any]) -> dict[str, Any]:
    raw = call["function"]["arguments"]
    try:
        args: Any = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        args = raw  # a broken argument string stays as the model wrote it
    if not isinstance(args, dict):
        args = raw
    return {"name": call["function"]["name"], "arguments": args}


def _calls_before(messages: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    for m in reversed(messages[:index]):
        if m["role"] == "assistant":
            return m.get("tool_calls") or []
    return []


def to_sharegpt(example: ChatExample) -> dict[str, Any]:
    """LLaMA-Factory's ShareGPT form with tools.

    Several calls in one turn are a JSON list in one ``function_call`` turn, and their results a JSON list of
    strings in one ``observation`` turn. Text that an assistant wrote beside its calls goes in the turn's
    ``thought`` key (our extension; LLaMA-Factory ignores it).
    """
    conversations: list[dict[str, Any]] = []
    system = ""
    msgs = example.messages
    i = 0
    while i < len(msgs):
        m = msgs[i]
        if m["role"] == "system":
            system = m["content"]
        elif m["role"] == "user":
            conversations.append({"from": "human", "value": m["content"]})
        elif m["role"] == "assistant" and m.get("tool_calls"):
            values = [_call_value(c) for c in m["tool_calls"]]
            turn: dict[str, Any] = {"from": "function_call",
                                    "value": json.dumps(values[0] if len(values) == 1 else values,
                                                        ensure_ascii=False)}
            if m.get("content"):
                turn["thought"] = m["content"]
            conversations.append(turn)
        elif m["role"] == "assistant":
            conversations.append({"from": "gpt", "value": m["content"]})
        else:  # tool results: one observation turn per run of results, in the order of the calls
            run = [m]
            while i + 1 < len(msgs) and msgs[i + 1]["role"] == "tool":
                i += 1
                run.append(msgs[i])
            order = {c["id"]: k for k, c in enumerate(_calls_before(msgs, i))}
            run.sort(key=lambda r: order.get(r.get("tool_call_id"), len(order)))
            results = [r["content"] for r in run]
            value = results[0] if len(results) == 1 else json.dumps(results, ensure_ascii=False)
            conversations.append({"from": "observation", "value": value})
        i += 1
    out: dict[str, Any] = {"conversations": conversations}
    if system:
        out["system"] = system
    if example.tools:
        out["tools"] = json.dumps(example.functions, ensure_ascii=False)
    if example.id:
        out["id"] = example.id
    return out


def from_sharegpt(data: Any, where: str = "") -> ChatExample:
    """An example from LLaMA-Factory's ShareGPT form (``from``/``value`` or ``role``/``content`` turns)."""
    where = where or "row"
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise FormatError(where, "expected an object with a 'conversations' list")
    messages: list[dict[str, Any]] = []
    if data.get("system"):
        messages.append({"role": "system", "content": data["system"]})
    last_calls = 0
    for ti, turn in enumerate(data["conversations"]):
        at = f"{where}.conversations[{ti}]"
        if not isinstance(turn, dict):
            raise FormatError(at, "a turn must be an object")
        tag = turn.get("from", turn.get("role"))
        value = turn.get("value", turn.get("content"))
        if not isinstance(tag, str) or tag not in SHAREGPT_ROLES:
            raise FormatError(f"{at}.from", f"unknown turn {tag!r}; use one of {sorted(SHAREGPT_ROLES)}")
        if not isinstance(value, str):
            raise FormatError(f"{at}.value", "must be a string")
        role = SHAREGPT_ROLES[tag]
        mi = len(messages)
        if tag == "function_call":
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as exc:
                raise FormatError(f"{at}.value", f"a function_call turn must hold JSON ({exc.msg})") from exc
            items = parsed if isinstance(parsed, list) else [parsed]
            calls = []
            for ci, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    raise FormatError(f"{at}.value", "each call needs a 'name' and 'arguments'")
                calls.append({"id": call_id(mi, ci), "type": "function",
                              "function": {"name": item["name"],
                                           "arguments": _arguments_text(item.get("arguments", {}))}})
            messages.append({"role": "assistant", "content": turn.get("thought") or None, "tool_calls": calls})
            last_calls = len(calls)
        elif role == "tool":
            results = [value]
            if last_calls > 1:
                try:
                    parsed = json.loads(value)
                except json.JSONDecodeError:
                    parsed = None
                if isinstance(parsed, list) and len(parsed) == last_calls and all(isinstance(r, str) for r in parsed):
                    results = parsed
            messages.extend({"role": "tool", "content": r} for r in results)
            last_calls = 0
        else:
            messages.append({"role": role, "content": value})
    return make_example(messages, data.get("tools"), id=data.get("id", ""), where=where)
