"""Choosing each token for the llama.cpp engine (:class:`~toolbench.llm.llamacpp.LlamaCppGenerator`): the argmax
fast path, llama.cpp's sampler chain, and the constraint's grammar (lazy or not) checked on the chosen token and
applied to the whole candidate array only when it refuses that token."""

from __future__ import annotations

import ctypes
import functools
from typing import TYPE_CHECKING, Any

from toolbench.errors import ToolbenchError
from toolbench.llm.call_gate import call_opening, token_probability
from toolbench.llm.constraints import TRIGGER, Constraint
from toolbench.llm.llamacpp_lib import gbnf_for, regex_escape

if TYPE_CHECKING:
    from toolbench.llm.llamacpp import _Row


class TokenSampling:
    """The sampling part of the engine, mixed into :class:`~toolbench.llm.llamacpp.LlamaCppGenerator` (it uses
    the engine's ``lib``, ``ctx``, ``vocab``, ``n_vocab``, ``eog_ids``, ``stats`` and candidate buffers)."""

    lib: Any
    ctx: Any
    vocab: Any
    n_vocab: int
    eog_ids: list[int]
    stats: Any
    _np: Any
    _candidates: Any
    _ids: Any
    _token_dtype: Any

    def _grammar_sampler(self, constraint: Constraint) -> Any:
        lib = self.lib
        grammar = gbnf_for(constraint).encode("utf-8")
        if constraint.lazy:
            patterns = (ctypes.c_char_p * 1)(regex_escape(TRIGGER).encode())
            sampler = lib.llama_sampler_init_grammar_lazy_patterns(self.vocab, grammar, b"root", patterns, 1,
                                                                   None, 0)
        else:
            sampler = lib.llama_sampler_init_grammar(self.vocab, grammar, b"root")
        if not sampler:
            raise ToolbenchError(f"llama.cpp rejected the grammar for {constraint.describe()}")
        if constraint.prefill:  # the prompt already ends with this text: advance the grammar over it
            for token in self.tokenize(constraint.prefill, special=False):
                lib.llama_sampler_accept(sampler, token)
        return sampler

    @functools.cached_property
    def _eog(self) -> frozenset[int]:
        return frozenset(self.eog_ids)

    def _sample(self, row: _Row) -> int:
        np = self._np
        lib = self.lib
        pointer = lib.llama_get_logits_ith(self.ctx, row.logits_index)
        logits = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))
        ban_eog = len(row.made) < row.request.min_tokens
        ban: list[int] = []
        if row.request.call_threshold is not None and not row.made:  # the call-or-text decision (call_gate)
            opening = self._call_opening
            if token_probability(logits, opening[0]) >= row.request.call_threshold:
                self.stats.gated_calls += 1
                row.forced = opening[:]
            else:
                self.stats.gated_texts += 1
                ban = [opening[0]]
        if row.forced:
            token = row.forced.pop(0)
        elif row.sampler is None and row.grammar is None and not ban_eog and not ban:
            token = int(logits.argmax())
        else:
            token = self._choose(row, self._fill(logits, ban_eog, ban), full=False)
            if row.grammar is not None and not self._grammar_allows(row.grammar, token):
                self.stats.grammar_fallbacks += 1  # the samplers may have reordered the array: fill it again
                token = self._choose(row, self._fill(logits, ban_eog, ban), full=True)
        if row.grammar is not None:
            if row.awaiting_trigger:
                token = self._at_trigger(row, token)
            lib.llama_sampler_accept(row.grammar, token)
        if row.sampler is not None:
            lib.llama_sampler_accept(row.sampler, token)
        return token

    def _at_trigger(self, row: _Row, token: int) -> int:
        """The token to accept on a lazy grammar still waiting for its trigger. llama.cpp starts the grammar when
        the text written so far contains the trigger and feeds it the rest of the token that completed it; when the
        grammar refuses that rest, it throws from C++ and the whole process aborts (a model quoting the call format
        in prose, "<tool_call></tool_call>": the token "></" completes "<tool_call" and leaves "</"). So a token
        that completes the trigger with text after it is replaced by the one token that ends exactly at the trigger
        (the call then goes on under the grammar), or, when there is none, the reply ends there."""
        trigger = TRIGGER.encode("utf-8")
        text = row.raw + self._piece(token)
        at = text.find(trigger)
        if at < 0:
            return token
        row.awaiting_trigger = False
        end = at + len(trigger)
        if end == len(text):
            return token
        self.stats.trigger_cuts += 1
        ids = self.tokenize(text[len(row.raw):end].decode("utf-8", "replace"), special=False)
        return ids[0] if len(ids) == 1 else self.eog_ids[0]

    @functools.cached_property
    def _call_opening(self) -> list[int]:
        return call_opening(lambda text: self.tokenize(text, special=False))

    def _fill(self, logits: Any, ban_eog: bool, ban: list[int] | None = None) -> Any:
        """The candidate array (id, logit, p) of this step's logits; end-of-generation tokens banned on request,
        and the tokens of ``ban``."""
        candidates = self._candidates
        candidates["id"] = self._ids
        candidates["logit"] = logits
        candidates["p"] = 0.0
        if ban_eog:
            candidates["logit"][self.eog_ids] = -self._np.inf
        if ban:
            candidates["logit"][ban] = -self._np.inf
        return candidates

    def _choose(self, row: _Row, candidates: Any, full: bool) -> int:
        """A token from ``candidates`` (with the grammar applied first when ``full``)."""
        lib = self.lib
        array = lib.llama_token_data_array(
            data=candidates.ctypes.data_as(lib.llama_token_data_p), size=len(candidates), selected=-1, sorted=False)
        if full and row.grammar is not None:
            lib.llama_sampler_apply(row.grammar, ctypes.byref(array))
        if row.sampler is None:
            view = self._np.ctypeslib.as_array(ctypes.cast(array.data, ctypes.POINTER(ctypes.c_char)),
                                               shape=(array.size * self._token_dtype.itemsize,))
            rows = view.view(self._token_dtype)
            return int(rows["id"][int(rows["logit"].argmax())])
        lib.llama_sampler_apply(row.sampler, ctypes.byref(array))
        return int(array.data[array.selected].id)

    def _grammar_allows(self, grammar: Any, token: int) -> bool:
        lib = self.lib
        one = lib.llama_token_data(id=token, logit=1.0, p=0.0)
        array = lib.llama_token_data_array(data=ctypes.pointer(one), size=1, selected=-1, sorted=False)
        lib.llama_sampler_apply(grammar, ctypes.byref(array))
        return one.logit != float("-inf")
