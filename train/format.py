"""Training data: chat examples, and the file formats they come from and go to.

A :class:`ChatExample` is one conversation in OpenAI's form plus the tools offered:

- ``messages``: ``system`` (optional, first), ``user``, ``assistant`` (``content`` and/or ``tool_calls`` in OpenAI's
  wire form, arguments as a JSON string) and ``tool`` (``tool_call_id``, ``name``, ``content``). An assistant
  message may carry OpenAI's fine-tuning ``weight``: ``0`` keeps it in the context but out of the loss.
- ``tools``: OpenAI ``tools`` entries (``{"type": "function", "function": {...}}``).

Sources and sinks (each reader gives back what the matching writer wrote, see the tests):

=====================  =======================================================================================
ToolBench answers      DFSDT answer files (``answer_generation.train_messages``): the successful path of each
                       valid tree; ``steps=True`` gives ToolBench's one-example-per-step form instead
OpenAI fine-tuning     JSONL lines ``{"messages": [...], "tools": [...]}`` (legacy ``functions`` /
                       ``function_call`` accepted on input)
ShareGPT/LLaMA-Factory ``{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value"}],
                       "system": str, "tools": "<JSON list of function schemas>"}``
ToolLLaMA              ToolBench's preprocessed form: ``{"id", "conversations": [{"from": "system"|"user"|
                       "assistant"|"function", "value"}]}``, the functions listed in the system prompt and each
                       assistant turn written as ``Thought: / Action: / Action Input:``
=====================  =======================================================================================

Formats that carry no call ids (ShareGPT, ToolLLaMA, ToolBench) get ``call_<message>_<call>`` ids on reading, and a
tool message's ``name`` is always the name of the call it answers.

Loss masks and tokenisation are in :mod:`train.encode`.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.errors import FormatError

ROLES = ("system", "user", "assistant", "tool")
FORMATS = ("chat", "openai", "sharegpt", "toolllama", "toolbench")

# ToolLLaMA's system prompt: the functions follow this marker (as Python reprs, ToolBench's ``str(functions)``),
# and ToolBench inserts the ReAct hint after the anchor sentence.
TOOLLLAMA_MARKER = "\nSpecifically, you have access to the following APIs: "
TOOLLLAMA_ANCHOR = "with a function call to actually excute your step."
TOOLLLAMA_HINT = " Your output should follow this format:\nThought:\nAction\nAction Input:\n"
# The thought is greedy and the name one line, so a thought that itself says "Action: ..." stays whole.
_REACT_RE = re.compile(r"\A\nThought: ?(?P<thought>.*)\nAction: ?(?P<name>[^\n]*)\nAction Input: ?(?P<args>.*)\Z",
                       re.DOTALL)

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "function_call": "assistant", "observation": "tool", "tool": "tool", "system": "system"}


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


# ---------------------------------------------------------------------------------------------------------------
# ToolBench DFSDT answer files


def _merge_thoughts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ToolBench writes a thought and the call that follows it as two assistant messages; join them."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        prev = out[-1] if out else None
        if (prev is not None and prev["role"] == "assistant" and msg["role"] == "assistant"
                and not prev.get("function_call") and not prev.get("tool_calls")):
            merged = dict(msg)
            merged["content"] = "\n".join(c for c in (prev.get("content"), msg.get("content")) if c) or None
            out[-1] = merged
        else:
            out.append(msg)
    return out


def from_toolbench_answer(data: Any, *, id: str = "", steps: bool = False, only_give_answer: bool = False,
                          where: str = "") -> list[ChatExample]:
    """Chat examples from one ToolBench answer file (``answer_generation`` with ``train_messages``).

    Invalid trees (``valid_data`` false, no ``train_messages``) give ``[]``; so do ``give_up`` trees when
    ``only_give_answer``. By default the successful path is one example, every assistant turn in the loss.
    ``steps=True`` reproduces ToolBench's preprocessing instead: one example per entry of ``train_messages``,
    only its last assistant turn in the loss, entries that end in a plain text reply dropped.
    """
    from toolbench.formats.answers import AnswerFormatError, parse_answer
    from toolbench.formats.finish import GIVE_ANSWER

    where = where or "answer"
    try:
        gen = parse_answer(data, where).generation
    except AnswerFormatError:
        raise FormatError(where, "not a ToolBench answer file (no 'answer_generation' object)") from None
    if not gen.valid_data or not gen.train_messages:
        return []
    finish = gen.finish_type if gen.finish_type is not None else ""
    if only_give_answer and finish != GIVE_ANSWER:
        return []
    tools = normalize_tools(gen.functions or [], f"{where}.answer_generation.function")
    meta = {"source": "toolbench", "finish_type": finish, "query": gen.query if gen.query is not None else ""}
    paths = gen.train_messages
    if not isinstance(paths, list) or not all(isinstance(p, list) for p in paths):
        raise FormatError(f"{where}.answer_generation.train_messages", "must be a list of message lists")
    if not steps:
        longest = max(paths, key=len)
        msgs = normalize_messages(_merge_thoughts(longest), f"{where}.train_messages")
        return [check_example(ChatExample(msgs, tools, id=id, meta=meta), where)]
    out = []
    for si, path in enumerate(paths):
        merged = _merge_thoughts(path)
        if not merged or merged[-1]["role"] != "assistant" or not merged[-1].get("function_call"):
            continue  # ToolBench keeps only steps whose target is a call
        msgs = normalize_messages(merged, f"{where}.train_messages[{si}]")
        last = max(i for i, m in enumerate(msgs) if m["role"] == "assistant")
        for i, m in enumerate(msgs):
            if m["role"] == "assistant" and i != last:
                m["weight"] = 0
        out.append(check_example(ChatExample(msgs, tools, id=f"{id}#step{si}" if id else f"step{si}",
                                             meta=dict(meta)), where))
    return out


# ---------------------------------------------------------------------------------------------------------------
# OpenAI fine-tuning JSONL


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


# ---------------------------------------------------------------------------------------------------------------
# ShareGPT / LLaMA-Factory


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


# ---------------------------------------------------------------------------------------------------------------
# ToolLLaMA conversations


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


# ---------------------------------------------------------------------------------------------------------------
# files

_WRITERS = {"chat": ChatExample.to_dict, "openai": to_openai, "sharegpt": to_sharegpt, "toolllama": to_toolllama}


def detect_format(row: Any) -> str:
    """The format of one row: ``toolbench``, ``openai`` (also ``chat``), ``sharegpt`` or ``toolllama``."""
    if isinstance(row, dict):
        if "answer_generation" in row:
            return "toolbench"
        if "messages" in row:
            return "openai"
        turns = row.get("conversations")
        if isinstance(turns, list):
            tags = {tag for t in turns if isinstance(t, dict) for tag in [t.get("from", t.get("role"))]
                    if isinstance(tag, str)}
            if tags & {"human", "gpt", "function_call", "observation"}:
                return "sharegpt"
            if tags & {"function", "assistant"} and "system" in tags:
                return "toolllama"
            return "sharegpt"
    raise FormatError("", "cannot tell the format of this row; name it (openai, sharegpt, toolllama, toolbench)")


def _rows(path: Path) -> list[tuple[Any, str]]:
    """(row, where) for each row of a file: the lines of a ``.jsonl`` file (``file:line``), the items of a JSON
    list (``file[i]``), or the one JSON object of a ``.json`` file. Read with :mod:`toolbench.formats.jsonl`, so a
    binary, non-UTF-8, empty or invalid file is a FormatError naming the file (and line)."""
    from toolbench.formats.jsonl import DataFileError, read_json, read_rows

    try:
        if path.suffix == ".jsonl":
            rows = read_rows(path)
            if not rows:
                raise FormatError(str(path), "the file is empty; expected JSON lines of examples")
            return [(row.data, f"{path}:{row.line}" if row.line is not None
                     else f"{path}[{row.index}]" if row.index is not None else str(path)) for row in rows]
        data = read_json(path)
    except DataFileError as exc:
        raise FormatError(exc.path if exc.line is None else f"{exc.path}:{exc.line}", exc.message) from None
    if isinstance(data, list):
        if not data:
            raise FormatError(str(path), "an empty list; expected examples")
        return [(row, f"{path}[{i}]") for i, row in enumerate(data)]
    return [(data, str(path))]


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file())
        if not files:
            raise FormatError(str(path), "the folder holds no .json or .jsonl files")
        return files
    if not path.exists():
        raise FormatError(str(path), "no such file or folder")
    return [path]


def read_examples(path: str | Path, fmt: str = "auto", *, steps: bool = False,
                  only_give_answer: bool = False) -> list[ChatExample]:
    """All examples in a file or folder (``.json`` lists or objects, ``.jsonl`` lines), in file order.

    ``fmt="auto"`` tells each row's format by its keys. ``steps``/``only_give_answer`` apply to ToolBench answer
    files (see :func:`from_toolbench_answer`); ToolLLaMA rows keep ToolBench's loss on the last turn only.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise FormatError(str(path), f"unknown format {fmt!r}; use auto or one of {FORMATS}")
    out: list[ChatExample] = []
    for file in _files(Path(path)):
        for row, where in _rows(file):
            kind = detect_format(row) if fmt == "auto" else fmt
            if kind == "toolbench":
                out.extend(from_toolbench_answer(row, id=file.stem, steps=steps, only_give_answer=only_give_answer,
                                                 where=where))
            elif kind in ("openai", "chat"):
                out.append(from_openai(row, where))
            elif kind == "sharegpt":
                out.append(from_sharegpt(row, where))
            else:
                out.append(last_turn_only(from_toolllama(row, where)))
    if not out:
        raise FormatError(str(path), "no training examples found (ToolBench answers without a valid tree give "
                                     "none)")
    return out


def write_examples(path: str | Path, examples: Iterable[ChatExample], fmt: str = "openai") -> Path:
    """Write examples: ``openai`` and ``chat`` as JSONL, ``sharegpt`` and ``toolllama`` as a JSON list."""
    if fmt not in _WRITERS:
        raise FormatError(str(path), f"cannot write format {fmt!r}; use one of {sorted(_WRITERS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [_WRITERS[fmt](ex) for ex in examples]
    if fmt in ("openai", "chat"):
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
