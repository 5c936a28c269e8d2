"""Tool calls parsed from a model's text (pure functions).

Models without a native tool-call channel write their calls into the text. Three forms are recognised, in this
order of preference (the first form found wins):

1. ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks (the format our prompt template asks
   for, also Hermes/Qwen's); a last block cut off before ``</tool_call>`` still counts;
2. fenced code blocks (```json ... ```) holding a call object or a list of them;
3. bare JSON call objects (or lists of them) anywhere in the text.

A call object is ``{"name": str, "arguments": object|JSON string}`` (``"parameters"`` is accepted for
``"arguments"``), or OpenAI's ``{"function": {"name": ..., "arguments": ...}}``. Inside a ``<tool_call>`` block
a missing ``arguments`` means ``{}``; in fences and bare JSON it must be present (so that an ordinary JSON answer
with a ``name`` key is not taken for a call), and when ``allowed_names`` is given the name must be one of them.

The text left once the calls are cut out is the reply's ``content`` (``None`` when nothing but whitespace
remains). Call ids are ``call_<24 hex digits>``, a hash of the call's position, name and arguments, so the same
text always gives the same ids (replays stay identical).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from typing import Any

from toolbench.llm.base import ToolCall

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"

_BLOCK_RE = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_FENCE_RE = re.compile(r"```[ \t]*(?:json|tool_call|tool_code)?[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_NAME_RE = re.compile(r'"name"\s*:\s*"([^"\\]+)"')
_ARGS_RE = re.compile(r'"(?:arguments|parameters)"\s*:\s*(.*)', re.DOTALL)
_DECODER = json.JSONDecoder()


def make_call_id(index: int, name: str, raw_arguments: str) -> str:
    """A deterministic id for the ``index``-th call of a reply."""
    digest = hashlib.sha256(f"{index}\x00{name}\x00{raw_arguments}".encode()).hexdigest()
    return f"call_{digest[:24]}"


def decode_arguments(raw: Any) -> tuple[dict[str, Any], str, str | None]:
    """Arguments as given by a model (an object or a JSON string) -> (object, exact string, parse error)."""
    if isinstance(raw, dict):
        return raw, json.dumps(raw, ensure_ascii=False), None
    if raw is None:
        return {}, "{}", None
    if not isinstance(raw, str):
        return {}, json.dumps(raw, ensure_ascii=False), f"arguments must be a JSON object, got {type(raw).__name__}"
    text = raw.strip()
    if not text:
        return {}, raw, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, raw, f"arguments are not valid JSON: {exc.msg} at position {exc.pos}"
    if not isinstance(value, dict):
        return {}, raw, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, raw, None


def _call_fields(obj: Any, *, require_arguments: bool) -> tuple[str, Any] | None:
    """(name, raw arguments) when ``obj`` is a call object, else None."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    for key in ("arguments", "parameters"):
        if key in obj:
            return name.strip(), obj[key]
    if require_arguments:
        return None
    return name.strip(), {}


def _calls_in(value: Any, *, require_arguments: bool, allowed: Collection[str] | None) -> list[tuple[str, Any]] | None:
    """The calls a decoded JSON value holds (an object or a list of objects), or None if it is not calls."""
    items = value if isinstance(value, list) else [value]
    if not items:
        return None
    calls = []
    for item in items:
        fields = _call_fields(item, require_arguments=require_arguments)
        if fields is None or (allowed is not None and fields[0] not in allowed):
            return None
        calls.append(fields)
    return calls


def _decode_first(text: str) -> tuple[Any, int, int] | None:
    """The first JSON object/array in ``text``: (value, start, end); tolerates a few missing closing braces."""
    for match in re.finditer(r"[\[{]", text):
        start = match.start()
        try:
            value, end = _DECODER.raw_decode(text, start)
            return value, start, end
        except json.JSONDecodeError:
            pass
        for extra in ("}", "}}", "}}}", "]", "}]", "}}]"):  # a call cut short by max_tokens
            try:
                value = json.loads(text[start:].rstrip() + extra)
                return value, start, len(text)
            except json.JSONDecodeError:
                continue
    return None


def _block_calls(body: str) -> list[tuple[str, Any]] | None:
    """Calls in one ``<tool_call>`` block: (name, raw arguments, error). None when it names no function."""
    decoded = _decode_first(body)
    if decoded is not None:
        calls = _calls_in(decoded[0], require_arguments=False, allowed=None)
        if calls:
            return calls
    name = _NAME_RE.search(body)
    if name is None:
        return None
    args = _ARGS_RE.search(body)
    raw = args.group(1).strip() if args else body.strip()
    return [(name.group(1), raw)]


def _build(calls: list[tuple[str, Any]]) -> list[ToolCall]:
    out = []
    for index, (name, raw) in enumerate(calls):
        arguments, raw_text, arg_error = decode_arguments(raw)
        # A block that was broken elsewhere but whose arguments decode is taken as the call it meant.
        out.append(ToolCall(make_call_id(index, name, raw_text), name, arguments, raw_text, arg_error))
    return out


def _remaining(text: str, spans: list[tuple[int, int]]) -> str | None:
    pieces, last = [], 0
    for start, end in sorted(spans):
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    rest = re.sub(r"\n{3,}", "\n\n", "".join(pieces)).strip()
    return rest or None


def parse_tool_calls(text: str | None, allowed_names: Collection[str] | None = None) -> tuple[str | None, list[ToolCall]]:
    """Split a model's text into (content, tool calls). Text without calls comes back unchanged (stripped)."""
    if text is None:
        return None, []
    raw_calls: list[tuple[str, Any]] = []
    spans: list[tuple[int, int]] = []

    for match in _BLOCK_RE.finditer(text):
        calls = _block_calls(match.group(1))
        if calls is not None:
            raw_calls.extend(calls)
            spans.append(match.span())
    if not raw_calls:
        for match in _FENCE_RE.finditer(text):
            decoded = _decode_first(match.group(1))
            if decoded is None:
                continue
            calls = _calls_in(decoded[0], require_arguments=True, allowed=allowed_names)
            if calls:
                raw_calls.extend(calls)
                spans.append(match.span())
    if not raw_calls:
        pos = 0
        while pos < len(text):
            decoded = _decode_first(text[pos:])
            if decoded is None:
                break
            value, start, end = decoded
            calls = _calls_in(value, require_arguments=True, allowed=allowed_names)
            if calls:
                raw_calls.extend(calls)
                spans.append((pos + start, pos + end))
                pos += end
            else:
                pos += start + 1
    if not raw_calls:
        return (text.strip() or None), []
    return _remaining(text, spans), _build(raw_calls)


def format_tool_call(name: str, arguments: dict[str, Any] | str) -> str:
    """A call in the ``<tool_call>`` format our template asks for (used to render transcripts back)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            pass  # keep the model's broken string as it was
    args_json = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return f'{TOOL_CALL_OPEN}\n{{"name": {json.dumps(name, ensure_ascii=False)}, "arguments": {args_json}}}\n{TOOL_CALL_CLOSE}'
