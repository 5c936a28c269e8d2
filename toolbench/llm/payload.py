"""OpenAI chat-completions payloads, both ways (pure functions, tested by dict equality).

Client side: :func:`build_request` makes the request body from messages, tools and parameters;
:func:`parse_response` turns a response body into a :class:`ChatReply`. Server side:
:func:`build_response` makes the response body our local server sends.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection
from typing import Any

from toolbench.llm.base import ChatReply, LLMError, LLMRequestError, Message, Tool, ToolCall, Usage
from toolbench.llm.toolcalls import decode_arguments, make_call_id, parse_tool_calls

# Request parameters of OpenAI's chat-completions API that the openai SDK takes as keyword arguments. Others
# (vLLM's ``min_tokens``, ``top_k``, ``ignore_eos``...) travel in the body as extras.
OPENAI_PARAMS = frozenset({
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "seed", "tool_choice",
    "parallel_tool_calls", "response_format", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
    "top_logprobs", "user", "stream", "stream_options", "metadata", "store", "reasoning_effort",
    "service_tier", "modalities", "prediction", "audio", "web_search_options",
})
TOOL_CHOICE_WORDS = ("none", "auto", "required")
_ATOMS = (str, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, strings, numbers), several times faster than
    ``copy.deepcopy``, which remains for anything else (a request is built for every model call)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, _ATOMS):
        return value
    return copy.deepcopy(value)


def normalize_tool(tool: Tool) -> Tool:
    """An OpenAI ``tools`` entry from either that form or a bare function schema."""
    if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
        return _copy(tool)
    if isinstance(tool.get("name"), str):
        return {"type": "function", "function": _copy(tool)}
    raise LLMError(f"a tool must be {{'type': 'function', 'function': {{...}}}} or a function schema with a "
                   f"'name'; got keys {sorted(tool)}")


def normalize_tool_choice(choice: Any) -> Any:
    """``"none"``/``"auto"``/``"required"`` pass; any other string names a function."""
    if isinstance(choice, str) and choice not in TOOL_CHOICE_WORDS:
        return {"type": "function", "function": {"name": choice}}
    return _copy(choice)


def _tool_call_wire(call: Any) -> dict[str, Any]:
    if isinstance(call, ToolCall):
        return call.to_openai()
    if isinstance(call, dict) and "function" not in call and "name" in call:  # ToolCall.to_dict() form
        raw = call.get("raw_arguments")
        if raw is None:
            raw = json.dumps(call.get("arguments", {}), ensure_ascii=False)
        return {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": raw}}
    return _copy(call)


def normalize_message(message: Message) -> Message:
    """A copy in OpenAI's wire form (tool calls given as :class:`ToolCall` or its dict are converted)."""
    if not isinstance(message, dict) or "role" not in message:
        raise LLMError(f"a message must be a dict with a 'role'; got {message!r:.80}")
    out = {k: _copy(v) for k, v in message.items() if k != "tool_calls"}
    if message.get("tool_calls"):
        out["tool_calls"] = [_tool_call_wire(c) for c in message["tool_calls"]]
    return out


def build_request(model: str, messages: list[Message], tools: list[Tool] | None = None,
                  **params: Any) -> dict[str, Any]:
    """The chat-completions request body. Parameters set to ``None`` are left out."""
    if not model:
        raise LLMError("model is empty: name the model to call (config field 'model')")
    if not messages:
        raise LLMError("messages is empty: a chat request needs at least one message")
    body: dict[str, Any] = {"model": model, "messages": [normalize_message(m) for m in messages]}
    if tools:
        body["tools"] = [normalize_tool(t) for t in tools]
    for key in sorted(params):
        value = params[key]
        if value is None:
            continue
        body[key] = normalize_tool_choice(value) if key == "tool_choice" else _copy(value)
    return body


def split_sdk_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``client.chat.completions.create``: unknown keys go into ``extra_body``."""
    known = {"model", "messages", "tools"} | OPENAI_PARAMS
    kwargs = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _parse_message(message: dict[str, Any], tool_names: Collection[str] | None,
                   text_tool_calls: bool) -> tuple[str | None, list[ToolCall]]:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict)) or None
    calls: list[ToolCall] = []
    for index, wire in enumerate(message.get("tool_calls") or []):
        fn = wire.get("function") or {}
        name = fn.get("name") or ""
        arguments, raw, error = decode_arguments(fn.get("arguments"))
        calls.append(ToolCall(wire.get("id") or make_call_id(index, name, raw), name, arguments, raw, error))
    legacy = message.get("function_call")
    if not calls and isinstance(legacy, dict) and legacy.get("name"):
        arguments, raw, error = decode_arguments(legacy.get("arguments"))
        calls.append(ToolCall(make_call_id(0, legacy["name"], raw), legacy["name"], arguments, raw, error))
    if not calls and text_tool_calls and content:
        content, calls = parse_tool_calls(content, allowed_names=tool_names)
    return content, calls


def parse_response(body: dict[str, Any], tool_names: Collection[str] | None = None,
                   text_tool_calls: bool = False) -> ChatReply:
    """A response body -> :class:`ChatReply` (first choice; the others in ``alternatives``).

    With ``text_tool_calls``, a choice without native tool calls has its text parsed for calls
    (:mod:`toolbench.llm.toolcalls`), for servers that leave calls in the text; ``tool_names`` then limits
    bare-JSON calls to the functions offered.
    """
    if not isinstance(body, dict):
        raise LLMError(f"a chat response must be a JSON object; got {type(body).__name__}")
    if isinstance(body.get("error"), dict):
        err = body["error"]
        raise LLMRequestError(f"the endpoint answered with an error: {err.get('message')}", code=err.get("code"))
    choices = sorted(body.get("choices") or [], key=lambda c: c.get("index", 0))
    if not choices:
        raise LLMError(f"the chat response has no choices: {json.dumps(body)[:200]}")
    usage_body = body.get("usage") or {}
    usage = Usage(int(usage_body.get("prompt_tokens") or 0), int(usage_body.get("completion_tokens") or 0))
    model = body.get("model") or ""
    replies = []
    for choice in choices:
        content, calls = _parse_message(choice.get("message") or {}, tool_names, text_tool_calls)
        finish = choice.get("finish_reason") or "stop"
        if calls and finish == "stop":
            finish = "tool_calls"
        replies.append(ChatReply(content, calls, Usage(), finish, model))
    first = replies[0]
    first.usage = usage
    first.alternatives = replies[1:]
    return first


def response_choice(index: int, content: str | None, tool_calls: list[ToolCall], finish_reason: str) -> dict[str, Any]:
    """One ``choices`` entry of a response body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [c.to_openai() for c in tool_calls]
    return {"index": index, "message": message, "logprobs": None, "finish_reason": finish_reason}


def build_response(response_id: str, created: int, model: str, choices: list[dict[str, Any]],
                   usage: Usage) -> dict[str, Any]:
    """A chat-completions response body (what our local server sends)."""
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": {**usage.to_dict(), "total_tokens": usage.total_tokens},
    }


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    """OpenAI's error schema."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
