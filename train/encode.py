"""Chat examples -> token ids and labels, the loss on assistant turns only; packing; the batch collator.

Rendering is the server's (:mod:`toolbench.llm.template`), so a model is trained on exactly the prompt it is later
served with: a chat template that knows tools gets them natively; any other (SmolLM2's ChatML) gets the tools in
the system prompt, calls as ``<tool_call>`` blocks and results as ``<tool_response>`` user turns.

Masking does not depend on the template's shape. For each assistant turn in the loss, the conversation is rendered
up to the turn with the generation prompt (the *prefix*) and up to the end of the turn; the characters between
(the reply and its end-of-turn token, trailing whitespace left out) are the target. The whole conversation is then
tokenised once, and a token is in the loss when its first character lies in a target span. Everything else —
system, user, tool results, the generation prompt — gets label ``-100``. A template whose renderings are not
prefixes of each other (one that rewrites earlier turns) is refused with :class:`TemplateError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from toolbench.llm.template import chatml, template_supports_tools, to_plain_messages
from train.errors import FormatError
from train.format import ChatExample

IGNORE_INDEX = -100


class TemplateError(FormatError):
    """The chat template cannot be used to find assistant turns."""


def _native(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages for a tool-aware template: call arguments as objects, ``content`` never None (as the server)."""
    out = []
    for m in messages:
        m = {k: v for k, v in m.items() if k != "weight"}
        if m.get("tool_calls"):
            calls = []
            for call in m["tool_calls"]:
                args: Any = call["function"]["arguments"]
                try:
                    args = json.loads(args) if args.strip() else {}
                except json.JSONDecodeError:
                    pass
                calls.append({"id": call["id"], "type": "function",
                              "function": {"name": call["function"]["name"], "arguments": args}})
            m["tool_calls"] = calls
        if m.get("content") is None:
            m["content"] = ""
        out.append(m)
    return out


@dataclass
class Rendering:
    """The conversation's text and, per assistant turn in the loss, the (start, end) characters of its target."""

    text: str
    spans: list[tuple[int, int]]


class ChatRenderer:
    """Renders examples through a tokenizer's chat template (tools natively, or the server's tool format)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.has_template = bool(getattr(tokenizer, "chat_template", None))

    def messages(self, example: ChatExample) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
        """The messages (and tools, for a tool-aware template) to render."""
        if example.tools and self.has_template and template_supports_tools(self.tokenizer):
            return _native(example.messages), example.tools
        return to_plain_messages(example.messages, example.tools or None), None

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
               add_generation_prompt: bool = False) -> str:
        if not self.has_template:
            return chatml(messages, add_generation_prompt=add_generation_prompt)
        kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": add_generation_prompt}
        if tools:
            kwargs["tools"] = tools
        return self.tokenizer.apply_chat_template(messages, **kwargs)

    def __call__(self, example: ChatExample) -> Rendering:
        msgs, tools = self.messages(example)
        weights = [m.get("weight", 1) for m in example.messages if m["role"] == "assistant"]
        positions = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
        if len(positions) != len(weights):
            raise TemplateError(example.id or "example", "assistant turns were lost in rendering")
        text = self.render(msgs, tools)
        spans = []
        for pos, weight in zip(positions, weights):
            if not weight:
                continue
            prefix = self.render(msgs[:pos], tools, add_generation_prompt=True)
            upto = self.render(msgs[:pos + 1], tools)
            if not (upto.startswith(prefix) and text.startswith(upto)):
                raise TemplateError(example.id or "example",
                                    "the chat template does not render a conversation's beginning as a prefix of "
                                    "the whole (it rewrites earlier turns); give a template that does")
            end = len(upto.rstrip())
            if end > len(prefix):
                spans.append((len(prefix), end))
        return Rendering(text, spans)


@dataclass
class Encoded:
    """One tokenised example: ids, labels (``-100`` outside the loss) and, once packed, position ids."""

    input_ids: list[int]
    labels: list[int]
    position_ids: list[int] | None = None

    @property
    def loss_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)

    def to_features(self) -> dict[str, list[int]]:
        out = {"input_ids": self.input_ids, "labels": self.labels}
        if self.position_ids is not None:
            out["position_ids"] = self.position_ids
        return out


def _tokenize_spans(tokenizer: Any, text: str, spans: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        labels = [IGNORE_INDEX] * len(ids)
        k = 0
        for t, (start, _end) in enumerate(enc["offset_mapping"]):
            while k < len(spans) and start >= spans[k][1]:
                k += 1
            if k < len(spans) and spans[k][0] <= start < spans[k][1]:
                labels[t] = ids[t]
        return ids, labels
    # Slow tokenizers have no offsets: tokenise the pieces between span edges one after the other.
    ids, labels, last = [], [], 0
    for start, end in spans:
        for piece, target in ((text[last:start], False), (text[start:end], True)):
            if piece:
                piece_ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
                ids += piece_ids
                labels += piece_ids if target else [IGNORE_INDEX] * len(piece_ids)
        last = end
    if text[last:]:
        tail = tokenizer(text[last:], add_special_tokens=False)["input_ids"]
        ids += tail
        labels += [IGNORE_INDEX] * len(tail)
    return ids, labels


def encode_example(example: ChatExample, tokenizer: Any, renderer: ChatRenderer | None = None) -> Encoded:
    """Token ids and labels of one example (no truncation)."""
    rendering = (renderer or ChatRenderer(tokenizer))(example)
    ids, labels = _tokenize_spans(tokenizer, rendering.text, rendering.spans)
    return Encoded(ids, labels)


@dataclass
class EncodeStats:
    examples: int = 0
    kept: int = 0
    truncated: int = 0
    dropped: int = 0
    tokens: int = 0
    loss_tokens: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def encode_examples(examples: Sequence[ChatExample], tokenizer: Any, max_length: int,
                    overlong: str = "truncate") -> tuple[list[Encoded], EncodeStats]:
    """Encode examples; longer than ``max_length`` are cut at it (``truncate``) or left out (``drop``). An
    example with no loss token left is left out and counted."""
    if overlong not in ("truncate", "drop"):
        raise FormatError("overlong", f"must be 'truncate' or 'drop', got {overlong!r}")
    renderer = ChatRenderer(tokenizer)
    stats = EncodeStats(examples=len(examples))
    out = []
    for ex in examples:
        enc = encode_example(ex, tokenizer, renderer)
        if len(enc.input_ids) > max_length:
            if overlong == "drop":
                stats.dropped += 1
                stats.reasons["too long"] = stats.reasons.get("too long", 0) + 1
                continue
            enc = Encoded(enc.input_ids[:max_length], enc.labels[:max_length])
            stats.truncated += 1
        if enc.loss_tokens == 0:
            stats.dropped += 1
            stats.reasons["no target left"] = stats.reasons.get("no target left", 0) + 1
            continue
        stats.kept += 1
        stats.tokens += len(enc.input_ids)
        stats.loss_tokens += enc.loss_tokens
        out.append(enc)
    return out, stats


def pack(encoded: Sequence[Encoded], max_length: int) -> list[Encoded]:
    """Concatenate examples, in order, into sequences of at most ``max_length`` tokens (an example is never
    split). Position ids restart at 0 for each example: with no attention mask, transformers then keeps the
    examples from attending to each other. The first label of each example is masked (nothing predicts it)."""
    packs: list[Encoded] = []
    cur = Encoded([], [], [])
    for enc in encoded:
        if len(enc.input_ids) > max_length:
            raise FormatError("pack", f"an example of {len(enc.input_ids)} tokens exceeds max_length {max_length}; "
                                      "encode with truncation first")
        if cur.input_ids and len(cur.input_ids) + len(enc.input_ids) > max_length:
            packs.append(cur)
            cur = Encoded([], [], [])
        cur.input_ids += enc.input_ids
        cur.labels += [IGNORE_INDEX] + enc.labels[1:]
        assert cur.position_ids is not None
        cur.position_ids += list(range(len(enc.input_ids)))
    if cur.input_ids:
        packs.append(cur)
    return packs


@dataclass
class Collator:
    """Pads a batch. Unpacked rows get an attention mask; packed rows (with ``position_ids``) get none, their
    padding being one more sequence of its own with labels ``-100``."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        longest = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            longest = (longest + m - 1) // m * m
        packed = "position_ids" in features[0]
        batch: dict[str, list[list[int]]] = {"input_ids": [], "labels": []}
        if packed:
            batch["position_ids"] = []
        else:
            batch["attention_mask"] = []
        for f in features:
            n = len(f["input_ids"])
            pad = longest - n
            batch["input_ids"].append(list(f["input_ids"]) + [self.pad_token_id] * pad)
            batch["labels"].append(list(f["labels"]) + [IGNORE_INDEX] * pad)
            if packed:
                batch["position_ids"].append(list(f["position_ids"]) + list(range(pad)))
            else:
                batch["attention_mask"].append([1] * n + [0] * pad)
        return {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}
