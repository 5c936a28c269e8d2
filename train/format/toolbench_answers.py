"""ToolBench DFSDT answer files -> chat examples (the successful path of each valid tree, or one example per
step); the answer tree is read by :mod:`toolbench.formats.answers`."""

from __future__ import annotations

from typing import Any

from train.errors import FormatError
from train.format.example import ChatExample, check_example, normalize_messages, normalize_tools


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
