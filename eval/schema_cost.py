"""Schema token cost: prompt tokens with full tool schemas versus shortened ones.

Variants of a function doc (:func:`shorten`):

- ``full``: as given;
- ``no_descriptions``: every ``description`` dropped (the function's and every parameter's, nested ones too);
  names, types, enums and ``required`` stay;
- ``empty_properties``: ``parameters`` emptied to ``{"type": ..., "properties": {}}`` (no parameter documented);
  the function's description stays;
- ``minimal``: both.

:func:`schema_cost` counts the prompt tokens of every entry of a BFCL-format set under each variant, with a token
counter passed in (:func:`token_counter` makes one from a Hugging Face tokenizer, rendering the chat request the
way ``toolbench llm serve`` does, or from any ``text -> tokens`` function). Accuracy under a variant needs a model
run on the shortened set: :func:`shortened_dataset` writes it, ``toolbench eval ast`` scores it, and the figures can
be passed back in as ``accuracy`` to sit beside the token counts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from toolbench.errors import ToolbenchError

VARIANTS = ("full", "no_descriptions", "empty_properties", "minimal")
Counter = Callable[[list[dict[str, Any]], list[dict[str, Any]]], int]


def shorten(function: Mapping[str, Any], variant: str) -> dict[str, Any]:
    """One function doc (BFCL's ``{name, description, parameters}`` or an OpenAI ``tools`` entry) shortened."""
    if variant not in VARIANTS:
        raise ToolbenchError(f"schema variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    if isinstance(function.get("function"), Mapping):  # OpenAI tools entry
        return {**copy.deepcopy(dict(function)), "function": shorten(function["function"], variant)}
    doc = copy.deepcopy(dict(function))
    if variant in ("empty_properties", "minimal") and "parameters" in doc:
        doc["parameters"] = {"type": (doc["parameters"] or {}).get("type", "object"), "properties": {}}
    if variant in ("no_descriptions", "minimal"):
        doc.pop("description", None)
        if "parameters" in doc:
            doc["parameters"] = _strip_parameter_descriptions(doc["parameters"])
    return doc


def _strip_parameter_descriptions(schema: Any) -> Any:
    """Drop ``description`` keywords of a JSON schema, keeping properties named "description"."""
    if isinstance(schema, list):
        return [_strip_parameter_descriptions(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strip_parameter_descriptions(prop) for name, prop in value.items()}
        else:
            out[key] = _strip_parameter_descriptions(value)
    return out


def messages_of(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The chat messages of a BFCL entry (``question`` is a list of turns, each a list of messages, or one list)."""
    question = entry.get("question", [])
    if isinstance(question, str):
        return [{"role": "user", "content": question}]
    if question and isinstance(question[0], list):
        return [message for turn in question for message in turn]
    return list(question)


def token_counter(tokenizer: Any) -> Counter:
    """A counter ``(messages, tools) -> prompt tokens``.

    A Hugging Face tokenizer (it has ``apply_chat_template``) counts the prompt our server would render
    (:func:`toolbench.llm.template.render_prompt`); an object with ``encode`` or a function ``text -> tokens``
    counts the messages' text plus the tools' JSON.
    """
    if hasattr(tokenizer, "apply_chat_template"):
        from toolbench.llm.template import render_prompt

        def count_chat(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
            text = render_prompt(tokenizer, messages, _as_openai_tools(tools)).text
            return len(tokenizer.encode(text, add_special_tokens=False))

        return count_chat
    encode = tokenizer.encode if hasattr(tokenizer, "encode") else tokenizer
    if not callable(encode):
        raise ToolbenchError("tokenizer must be a Hugging Face tokenizer, have encode(text), or be a function "
                             "text -> tokens")

    def count_text(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
        text = "\n".join(str(m.get("content") or "") for m in messages) + "\n" + json.dumps(tools, ensure_ascii=False)
        return len(encode(text))

    return count_text


def _as_openai_tools(functions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    tools = []
    for function in functions:
        if "function" in function:
            tools.append(dict(function))
            continue
        doc = dict(function)
        parameters = dict(doc.get("parameters") or {"type": "object", "properties": {}})
        if parameters.get("type") == "dict":  # BFCL's spelling
            parameters["type"] = "object"
        doc["parameters"] = parameters
        tools.append({"type": "function", "function": doc})
    return tools


def schema_cost(entries: Sequence[Mapping[str, Any]], count: Counter, variants: Sequence[str] = VARIANTS,
                accuracy: Mapping[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """Per variant: total and mean prompt tokens over the entries, the ratio to ``full``, and the accuracy given."""
    if not entries:
        raise ToolbenchError("schema cost of no entries: the dataset is empty")
    out: dict[str, dict[str, Any]] = {}
    for variant in variants:
        total = 0
        for entry in entries:
            functions = [shorten(function, variant) for function in entry.get("function", [])]
            total += count(messages_of(entry), functions)
        out[variant] = {"prompt_tokens": total, "mean_prompt_tokens": total / len(entries), "n": len(entries)}
        if accuracy and variant in accuracy:
            out[variant]["accuracy"] = accuracy[variant]
    if "full" in out and out["full"]["prompt_tokens"]:
        for figures in out.values():
            figures["ratio_to_full"] = figures["prompt_tokens"] / out["full"]["prompt_tokens"]
    return out


def shortened_dataset(entries: Iterable[Mapping[str, Any]], variant: str) -> list[dict[str, Any]]:
    """The entries with their function docs shortened (to run a model on and score with ``eval ast``)."""
    return [{**entry, "function": [shorten(function, variant) for function in entry.get("function", [])]}
            for entry in entries]


def markdown(cost: Mapping[str, Mapping[str, Any]]) -> str:
    lines = ["| schema | prompt tokens | mean per entry | vs full | accuracy |", "| --- | ---: | ---: | ---: | ---: |"]
    for variant, figures in cost.items():
        ratio = f"{100 * figures['ratio_to_full']:.1f}%" if "ratio_to_full" in figures else "—"
        accuracy = f"{100 * figures['accuracy']:.1f}%" if "accuracy" in figures else "—"
        lines.append(f"| {variant} | {figures['prompt_tokens']} | {figures['mean_prompt_tokens']:.1f} | {ratio} | "
                     f"{accuracy} |")
    return "\n".join(lines) + "\n"
