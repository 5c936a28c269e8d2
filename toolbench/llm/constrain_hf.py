"""Grammar-constrained decoding for the transformers engine, with llguidance.

A :class:`toolbench.llm.constraints.Constraint` becomes a Lark grammar in llguidance's dialect
(:func:`grammar_text`), compiled once per tokenizer and constraint (:class:`ConstraintCompiler`, an LRU cache;
the cached matcher has already consumed the constraint's prefill). Every constrained row of a ``generate`` call
gets its own copy of the matcher; :class:`GrammarLogitsProcessor` advances each row's matcher over the token the
row just produced and sets the logits of every token the grammar forbids to ``-inf``, so greedy and sampled
decoding alike only produce text the grammar accepts. Rows without a constraint and rows that have ended (their
eos, a stop string, ``max_tokens``, a cancellation: ``finished``) are left alone.

The grammars, with ``ARGS_f`` the arguments schema of function ``f`` inlined with llguidance's ``%json``:

* calls (``tool_choice`` required or named)::

      start: call ("\\n" call)* ("\\n" "\\n"?)?
      call: "<tool_call>" "\\n{\\"name\\": " (fn0 | fn1 | ...) "}\\n</tool_call>"
      fn0: "\\"f\\", \\"arguments\\": " %json ARGS_f

  and then the end: after a ``</tool_call>`` the model may only write ``"\\n<tool_call>"`` (one more call), or at
  most two newlines and an end-of-sequence token (the llama.cpp engine's grammar allows the same newlines).
* lazy calls (``tool_choice`` auto): free text that never contains ``<tool_call>``, or such text followed by
  ``<tool_call>`` and the rest of one or more calls as above (then the end)::

      start: TEXT | HEAD rest
      TEXT: /(?s:.*)/ & ~/(?s:.*)<tool_call>(?s:.*)/
      HEAD: TEXT "<tool_call>"

* JSON answers: ``start: %json SCHEMA`` (any object when the constraint has no schema).

JSON is written the way ``json.dumps`` writes it (``", "`` between items, ``": "`` after keys, no other
whitespace), so a call comes out exactly as :func:`toolbench.llm.toolcalls.format_tool_call` formats it (the
layout our prompts show and our training data holds); this also keeps an unsure model from filling its budget
with whitespace. llguidance writes an object's ``properties`` in the order the schema lists
them, which for a :class:`Constraint` is sorted order (its schemas are canonical JSON); optional ones may be left
out, and keys beyond ``properties`` come after them when ``additionalProperties`` allows them. Unsupported schema
keywords are ignored (llguidance's ``lenient`` mode); a schema it cannot compile at all (a lookaround ``pattern``,
an unknown type) raises :class:`toolbench.llm.constraints.ConstraintError` when the constraint is compiled.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import llguidance
import llguidance.hf
import numpy as np
import torch
from transformers import LogitsProcessor

from toolbench.llm.constraints import (
    ANY_OBJECT,
    CALL_HEAD,
    CALL_MIDDLE,
    CALL_SEPARATOR,
    CALL_TAIL,
    TRIGGER,
    Constraint,
    ConstraintError,
)

log = logging.getLogger(__name__)

CACHE_SIZE = 64  # compiled constraints kept per tokenizer
# How JSON is laid out: json.dumps's separators and no other whitespace; unsupported keywords are ignored.
JSON_OPTIONS: dict[str, Any] = {"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": False,
                                "lenient": True}


def _literal(text: str) -> str:
    """A Lark string literal for ``text``."""
    return json.dumps(text, ensure_ascii=False)


def _json_rule(schema: dict[str, Any] | None) -> str:
    """``%json {...}``: the schema with our layout options (they only count at its top level)."""
    body = dict(ANY_OBJECT if schema is None else schema)
    body["x-guidance"] = {**(body.get("x-guidance") or {}), **JSON_OPTIONS}
    return "%json " + json.dumps(body, ensure_ascii=False)


def grammar_text(constraint: Constraint) -> str:
    """The Lark grammar (llguidance's dialect) that enforces ``constraint``, prefill included (the grammar
    describes the whole constrained text; the prefill is consumed before generation starts)."""
    lines = ["%llguidance {}"]
    if constraint.kind == "json":
        lines.append(f"start: {_json_rule(constraint.schema)}")
        return "\n".join(lines)
    if constraint.kind != "calls":
        raise ConstraintError(f"unknown constraint kind {constraint.kind!r}")
    if not constraint.functions:
        raise ConstraintError("a calls constraint needs at least one function")
    names = []
    for i, (name, schema) in enumerate(constraint.function_schemas()):
        head = json.dumps(name, ensure_ascii=False) + CALL_MIDDLE
        lines.append(f"fn{i}: {_literal(head)} {_json_rule(schema)}")
        names.append(f"fn{i}")
    assert CALL_HEAD.startswith(TRIGGER)
    # one call after its trigger: the rest of the head, a function's name and arguments, the tail
    lines.append(f"body: {_literal(CALL_HEAD[len(TRIGGER):])} ({' | '.join(names)}) {_literal(CALL_TAIL)}")
    # After a call: another one, or at most two newlines and the end (as the llama.cpp engine's grammar): a
    # model that wants to go on in prose (SmolLM2 writes "\n\n" and an explanation) is led to stop, not into
    # repeating the call.
    more = f"({_literal(CALL_SEPARATOR + TRIGGER)} body)* ({_literal(CALL_SEPARATOR)} {_literal(CALL_SEPARATOR)}?)?"
    if constraint.lazy:
        lines += ["start: TEXT | HEAD rest",
                  f"rest: body {more}",
                  f"TEXT: /(?s:.*)/ & ~/(?s:.*){_regex_escape(TRIGGER)}(?s:.*)/",
                  f"HEAD: TEXT {_literal(TRIGGER)}"]
    else:
        lines.append(f"start: {_literal(TRIGGER)} body {more}")
    return "\n".join(lines)


def _regex_escape(text: str) -> str:
    """``text`` as a literal inside a Lark ``/.../`` regex (Rust regex syntax)."""
    return "".join(c if c.isalnum() or c in "_<>-" else "\\" + c for c in text)


class ConstraintCompiler:
    """Compiles constraints for one tokenizer, keeping the last :data:`CACHE_SIZE` (thread-safe)."""

    def __init__(self, tokenizer: Any, eos_ids: Sequence[int]) -> None:
        if getattr(tokenizer, "backend_tokenizer", None) is None:
            raise ConstraintError("constrained decoding needs a fast (Rust-backed) Hugging Face tokenizer")
        self.eos_ids = [int(i) for i in eos_ids]
        self.ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer, eos_token=self.eos_ids or None)
        self.vocab_size = int(self.ll_tokenizer.vocab_size)
        self._cache: OrderedDict[Constraint, llguidance.LLMatcher] = OrderedDict()
        self._lock = threading.Lock()

    def compile(self, constraint: Constraint) -> llguidance.LLMatcher:
        """The matcher for ``constraint`` with its prefill consumed (shared: copy it before use), from the cache
        when it is there. Raises :class:`ConstraintError` for a grammar llguidance cannot compile."""
        with self._lock:
            cached = self._cache.get(constraint)
            if cached is not None:
                self._cache.move_to_end(constraint)
                return cached
        grammar = llguidance.LLMatcher.grammar_from_lark(grammar_text(constraint))
        matcher = llguidance.LLMatcher(self.ll_tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise ConstraintError(f"cannot compile the {constraint.describe()} constraint: "
                                  f"{matcher.get_error().splitlines()[0]}")
        if constraint.prefill and not matcher.consume_tokens(self.ll_tokenizer.tokenize_str(constraint.prefill)):
            raise ConstraintError(f"the prefill {constraint.prefill!r} does not start a text the "
                                  f"{constraint.describe()} constraint allows")
        with self._lock:
            self._cache[constraint] = matcher
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return matcher

    def matcher(self, constraint: Constraint) -> llguidance.LLMatcher:
        """A fresh matcher for one row, its prefill already consumed."""
        return self.compile(constraint).deep_copy()


_COMPILERS: weakref.WeakKeyDictionary[Any, dict[tuple[int, ...], ConstraintCompiler]] = weakref.WeakKeyDictionary()
_COMPILERS_LOCK = threading.Lock()


def compiler_for(tokenizer: Any, eos_ids: Sequence[int]) -> ConstraintCompiler:
    """The (cached) compiler for a tokenizer and its end-of-sequence ids. Building one wraps the tokenizer for
    llguidance (~0.1-1 s for a 50k vocabulary), so it is done once per tokenizer."""
    key = tuple(int(i) for i in eos_ids)
    with _COMPILERS_LOCK:
        by_eos = _COMPILERS.setdefault(tokenizer, {})
        compiler = by_eos.get(key)
        if compiler is None:
            compiler = by_eos[key] = ConstraintCompiler(tokenizer, key)
        return compiler


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks each constrained row's logits with its matcher and advances the matcher over the row's new token.

    ``matchers[i]`` is row ``i``'s matcher (None: unconstrained); ``prompt_width`` the width of the (padded) input,
    so that the first call consumes nothing; ``finished(i)`` tells that row ``i`` has ended (its later tokens are
    padding). A matcher that errs (it cannot on tokens the mask let through) is logged and its row left alone.
    """

    def __init__(self, matchers: Sequence[llguidance.LLMatcher | None], vocab_size: int, prompt_width: int,
                 finished: Callable[[int], bool] | None = None) -> None:
        self.matchers = list(matchers)
        self.vocab_size = vocab_size
        self.words = (vocab_size + 31) // 32
        self.prompt_width = prompt_width
        self.finished = finished

    def _live_rows(self, input_ids: torch.Tensor) -> list[int]:
        made = input_ids.shape[1] - self.prompt_width
        live = []
        for i, matcher in enumerate(self.matchers):
            if matcher is None:
                continue
            if self.finished is not None and self.finished(i):
                self.matchers[i] = None
                continue
            if made > 0 and not matcher.consume_token(int(input_ids[i, -1])):
                log.warning("constrained row %d left unconstrained: %s", i, matcher.get_error()[:300])
                self.matchers[i] = None
                continue
            live.append(i)
        return live

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        live = self._live_rows(input_ids)
        if not live:
            return scores
        bitmask = np.zeros((len(live), self.words), dtype=np.int32)
        row_bytes = self.words * 4
        # Row after row (~0.1-0.3 ms each on SmolLM2's 49k vocabulary): llguidance's LLExecutor thread pool was
        # slower for a batch of 4 on 2 cores, its threads competing with torch's.
        for k, i in enumerate(live):
            self.matchers[i].unsafe_compute_mask_ptr(bitmask.ctypes.data + k * row_bytes, row_bytes)
        allowed = np.unpackbits(bitmask.view(np.uint8), axis=1, bitorder="little").view(np.bool_)
        width = scores.shape[-1]
        if allowed.shape[1] < width:  # logits beyond the tokenizer's vocabulary are never allowed
            allowed = np.pad(allowed, ((0, 0), (0, width - allowed.shape[1])))
        forbidden = ~allowed[:, :width]
        if scores.device.type == "cpu" and scores.dtype in (torch.float32, torch.float64) and scores.is_contiguous():
            rows = scores.numpy()  # the same memory: numpy's single-threaded vector loops beat torch's here
            for k, i in enumerate(live):
                np.copyto(rows[i], -np.inf, where=forbidden[k])
                if not np.isfinite(rows[i].max()):
                    _grammar_wins(rows[i], forbidden[k])
            return scores
        mask = torch.from_numpy(forbidden).to(scores.device)
        for k, i in enumerate(live):
            scores[i].masked_fill_(mask[k], float("-inf"))
            if not bool(torch.isfinite(scores[i].max())):
                scores[i].zero_().masked_fill_(mask[k], float("-inf"))
        return scores


def _grammar_wins(row: np.ndarray, forbidden: np.ndarray) -> None:
    """Every token the grammar allows was banned by an earlier processor (min_new_tokens bans eos when the
    grammar only allows the end): the grammar wins, its tokens equally likely."""
    row[:] = 0.0
    np.copyto(row, -np.inf, where=forbidden)


def logits_processor(tokenizer: Any, eos_ids: Sequence[int], constraints: Sequence[Constraint | None],
                     prompt_width: int, finished: Callable[[int], bool] | None = None) -> GrammarLogitsProcessor:
    """The processor for one ``generate`` call whose row ``i`` follows ``constraints[i]`` (None: free).
    Raises :class:`ConstraintError` when a constraint cannot be compiled."""
    compiler = compiler_for(tokenizer, eos_ids)
    matchers = [None if c is None else compiler.matcher(c) for c in constraints]
    return GrammarLogitsProcessor(matchers, compiler.vocab_size, prompt_width, finished)
