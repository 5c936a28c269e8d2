"""The llama.cpp engine behind ``toolbench llm serve --engine llamacpp``: GGUF models on llama.cpp through the C API
that ``llama-cpp-python`` exposes (``llama_cpp.llama_cpp``), with several sequences decoded in one batch and
grammar-constrained tool calls and JSON.

Why the C API and not ``llama_cpp.Llama``: ``Llama`` decodes one sequence at a time and has no lazy grammar. Here
one ``llama_context`` holds ``n_seq`` sequences (``n_seq_max``, each with ``ctx_per_seq`` cells of KV cache), and
a decoding step sends the next token of every running sequence in one ``llama_decode`` call, so the weights are
read once per step for all of them. Batching is continuous (:meth:`LlamaCppGenerator.generate_continuous`, as in
llama-server): when a row ends its slot takes the next waiting request at once, instead of idling until the
longest row of a batch ends.

* **Prefix cache.** Each sequence slot remembers the tokens its KV cache holds; a new prompt goes to the idle
  slot sharing the longest prefix with it and only the rest is decoded (a DFSDT step re-sends its whole
  conversation: only the new turn is prefilled).
* **Sampling.** Greedy rows take the argmax; sampled rows go through llama.cpp's samplers (top-p, temperature,
  a seeded distribution per row, so a seeded request is reproducible even when batched).
* **Constraints** (:mod:`toolbench.llm.constraints`) become GBNF grammars (argument schemas through
  ``llama_cpp.llama_grammar``'s JSON-schema converter, the port of llama.cpp's own) and llama.cpp's grammar
  sampler; ``tool_choice`` auto uses the *lazy* grammar sampler, triggered by ``<tool_call>``, so the model may
  still answer in text. As in llama.cpp's common sampler, the unconstrained choice is tried first and the
  grammar is applied to the whole vocabulary only when that choice breaks it.
* **Flash attention is off by default** (``flash_attn="off"``): on a 2-core CPU llama.cpp's flash-attention kernel
  made a decoding step of 4 rows at ~730 tokens of context take 64 ms instead of 38 ms (the step cost grows with
  context much faster), while prefilling only ~25% faster; a tool-calling prompt is several hundred tokens long,
  so off wins (``benchmarks/llm_server.py`` measures both).
* ``use_extra_bufts`` is off by default: llama.cpp's AMX kernels (built in by ``-march=native`` on Sapphire Rapids
  and newer Xeons) crashed ``llama_decode`` with SIGSEGV on this machine type (llama-cpp-python 0.3.36).

The engine is driven by one thread (the server's worker); ``render`` and ``count_tokens`` may be called from
other threads (they only read the vocabulary).
"""

from __future__ import annotations

import codecs
import ctypes
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.llm.base import Message, Tool
from toolbench.llm.call_gate import token_probability
from toolbench.llm.constraints import TRIGGER
from toolbench.llm.generation import Generation, GenerationRequest, StopHoldback, cut_at_stop
from toolbench.llm.llamacpp_lib import GGUFChatTemplate, import_llama_cpp, quiet
from toolbench.llm.llamacpp_sampling import TokenSampling
from toolbench.llm.template import RenderedPrompt, render_prompt

FLASH_ATTN = {"off": "LLAMA_FLASH_ATTN_TYPE_DISABLED", "on": "LLAMA_FLASH_ATTN_TYPE_ENABLED",
              "auto": "LLAMA_FLASH_ATTN_TYPE_AUTO"}


# ---- the engine -------------------------------------------------------------------------------------------------

@dataclass
class _Slot:
    """One llama.cpp sequence: ``tokens`` is what its KV cache holds."""

    seq: int
    tokens: list[int] = field(default_factory=list)


@dataclass
class _Row:
    """One completion being generated."""

    request: GenerationRequest
    slot: _Slot
    cancel: threading.Event | None
    seed: int | None
    on_text: Callable[[str], None] | None = None
    sampler: Any = None  # llama.cpp sampler chain (sampled rows)
    grammar: Any = None  # llama.cpp grammar sampler (constrained rows)
    awaiting_trigger: bool = False  # a lazy grammar whose trigger has not been written yet
    made: list[int] = field(default_factory=list)
    raw: bytes = b""
    text: str = ""
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))
    holdback: StopHoldback | None = None
    done: bool = False
    reason: str = "length"
    prompt_tokens: int = 0
    next_token: int | None = None
    logits_index: int = -1
    forced: list[int] = field(default_factory=list)  # tokens to write next whatever the logits (call_gate)


@dataclass
class EngineStats:
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    prefill_seconds: float = 0.0
    decode_tokens: int = 0
    decode_steps: int = 0  # llama_decode calls of the decode phase: decode_tokens / decode_steps = rows per step
    decode_seconds: float = 0.0
    grammar_fallbacks: int = 0
    trigger_cuts: int = 0  # tokens cut at the end of a lazy grammar's trigger (TokenSampling._at_trigger)
    gated_calls: int = 0  # replies the call threshold started as a call (toolbench.llm.call_gate)
    gated_texts: int = 0  # ... and as text


class LlamaCppGenerator(TokenSampling):
    """A :class:`toolbench.llm.generation.TextGenerator` on llama.cpp (see the module docstring)."""

    engine = "llamacpp"

    def __init__(self, model_path: str | Path, name: str | None = None, *, n_seq: int = 4, ctx_per_seq: int = 4096,
                 threads: int | None = None, n_batch: int = 512, extra_buffers: bool = False,
                 flash_attn: str = "off", template: Any | None = None) -> None:
        if flash_attn not in FLASH_ATTN:
            raise ToolbenchError(f"flash_attn must be one of {', '.join(FLASH_ATTN)}; got {flash_attn!r}")
        lib = import_llama_cpp()
        self.lib = lib
        quiet(lib)
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise ToolbenchError(f"GGUF model {path} does not exist")
        self.path = path
        self.name = name or path.stem
        threads = threads or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)
        lib.llama_backend_init()
        model_params = lib.llama_model_default_params()
        model_params.use_extra_bufts = bool(extra_buffers)
        model_params.n_gpu_layers = 0
        self.model = lib.llama_model_load_from_file(str(path).encode(), model_params)
        if not self.model:
            raise ToolbenchError(f"llama.cpp could not load {path} (not a GGUF model file, or an architecture this "
                                 "llama.cpp build does not know)")
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = lib.llama_vocab_n_tokens(self.vocab)
        train_ctx = lib.llama_model_n_ctx_train(self.model)
        self.n_seq = max(1, int(n_seq))
        self.context_length = int(min(ctx_per_seq, train_ctx) if train_ctx > 0 else ctx_per_seq)
        ctx_params = lib.llama_context_default_params()
        ctx_params.n_ctx = self.context_length * self.n_seq
        ctx_params.n_batch = int(n_batch)
        ctx_params.n_ubatch = int(n_batch)
        ctx_params.n_seq_max = self.n_seq
        ctx_params.n_threads = threads
        ctx_params.n_threads_batch = threads
        ctx_params.kv_unified = False  # each sequence has its own context_length cells
        ctx_params.no_perf = True
        ctx_params.flash_attn_type = getattr(lib, FLASH_ATTN[flash_attn])
        self.flash_attn = flash_attn
        self.ctx = lib.llama_init_from_model(self.model, ctx_params)
        if not self.ctx:
            lib.llama_model_free(self.model)
            raise ToolbenchError(f"llama.cpp could not create a context of {ctx_params.n_ctx} tokens for {path}")
        self.threads = threads
        self.n_batch = int(n_batch)
        self.memory = lib.llama_get_memory(self.ctx)
        self.batch = lib.llama_batch_init(max(self.n_batch, self.n_seq), 0, 1)
        self.slots = [_Slot(i) for i in range(self.n_seq)]
        self.eog_ids = [t for t in range(self.n_vocab) if lib.llama_vocab_is_eog(self.vocab, t)]
        self._piece_cache: dict[int, bytes] = {}
        self.stats = EngineStats()
        self._closed = False
        import numpy as np

        self._np = np
        self._ids = np.arange(self.n_vocab, dtype=np.int32)
        self._token_dtype = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        self._candidates = np.zeros(self.n_vocab, dtype=self._token_dtype)
        if template is None:
            chat_template = lib.llama_model_chat_template(self.model, None)
            template = GGUFChatTemplate(chat_template.decode("utf-8") if chat_template else None,
                                        self._special_text(lib.llama_vocab_bos(self.vocab)),
                                        self._special_text(lib.llama_vocab_eos(self.vocab)))
        self.template = template

    # -- text and tokens --

    def _special_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._piece(token, special=True).decode("utf-8", "replace")

    def _piece(self, token: int, special: bool = False) -> bytes:
        key = token if not special else -token - 1
        cached = self._piece_cache.get(key)
        if cached is not None:
            return cached
        buf = ctypes.create_string_buffer(64)
        n = self.lib.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self.lib.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        piece = buf.raw[:max(n, 0)]
        self._piece_cache[key] = piece
        return piece

    def tokenize(self, text: str, special: bool = True) -> list[int]:
        data = text.encode("utf-8")
        size = len(data) + 16
        arr = (self.lib.llama_token * size)()
        n = self.lib.llama_tokenize(self.vocab, data, len(data), arr, size, False, special)
        if n < 0:
            size = -n
            arr = (self.lib.llama_token * size)()
            n = self.lib.llama_tokenize(self.vocab, data, len(data), arr, size, False, special)
        return list(arr[:n])

    def detokenize(self, tokens: list[int]) -> str:
        return b"".join(self._piece(t) for t in tokens).decode("utf-8", "replace")

    def render(self, messages: list[Message], tools: list[Tool] | None, tool_choice: Any) -> RenderedPrompt:
        return render_prompt(self.template, messages, tools, tool_choice)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def batch_key(self, request: GenerationRequest) -> tuple[Any, ...] | None:
        """Any single-choice requests can share a batch: every row has its own sampler and grammar."""
        return ("any",) if request.n == 1 else None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.lib.llama_batch_free(self.batch)
        self.lib.llama_free(self.ctx)
        self.lib.llama_model_free(self.model)

    # -- generation --

    def generate(self, request: GenerationRequest, on_text: Callable[[str], None] | None = None,
                 cancel: threading.Event | None = None) -> Generation:
        """``n`` completions of one prompt (greedy ones are generated once and repeated); streamed through
        ``on_text`` when ``n`` is 1. Sampled choice ``i`` of a seeded request uses seed ``seed + i``."""
        sample = request.temperature > 0
        rows = request.n if sample else 1
        seeds = [None if request.seed is None else request.seed + i for i in range(rows)]
        results = self._run_all([(i, request, cancel, seeds[i], on_text if request.n == 1 else None)
                                 for i in range(rows)])
        texts = [t for r in results for t in r.texts]
        reasons = [f for r in results for f in r.finish_reasons]
        counts = [c for r in results for c in r.completion_tokens]
        if not sample and request.n > 1:
            texts, reasons, counts = texts * request.n, reasons * request.n, counts * request.n
        return Generation(texts, reasons, results[0].prompt_tokens, counts)

    def generate_batch(self, requests: list[GenerationRequest],
                       cancels: list[threading.Event | None] | None = None) -> list[Generation]:
        """Single-choice requests decoded together (each keeps its sampling settings, stops and constraint)."""
        if any(r.n != 1 for r in requests):
            raise ValueError("generate_batch: every request must ask for one choice")
        cancels = list(cancels) if cancels is not None else [None] * len(requests)
        return self._run_all([(i, r, c, r.seed, None) for i, (r, c) in enumerate(zip(requests, cancels))])

    def _run_all(self, work: list[tuple[Any, GenerationRequest, threading.Event | None, int | None, Any]]
                 ) -> list[Generation]:
        """Every row of ``work`` through :meth:`generate_continuous`; the results in order (the first failure
        raised)."""
        queue = list(work)
        results: dict[Any, Generation | BaseException] = {}

        def take(n: int) -> list[Any]:
            taken, queue[:n] = queue[:n], []
            return taken

        def finish(handle: Any, result: Generation | BaseException) -> None:
            results[handle] = result

        self.generate_continuous(take, finish)
        out = []
        for handle, *_ in work:
            result = results[handle]
            if isinstance(result, BaseException):
                raise result
            out.append(result)
        return out

    def generate_continuous(self, take: Callable[[int], list[Any]],
                            finish: Callable[[Any, Generation | BaseException], None]) -> int:
        """Continuous batching: decode every running row in one batch per step, and start new rows as slots free
        up, until no row runs and ``take`` has nothing more.

        ``take(n)`` returns up to ``n`` rows to start now, without blocking: ``(handle, request, cancel, seed,
        on_text)`` (a request with ``n`` 1). ``finish(handle, result)`` gets each row's :class:`Generation` as
        soon as it ends, or the exception that stopped it (a prompt too long for the context fails its own row;
        an engine failure fails every running row and ends the run). Returns the most rows that ran at once."""
        active: dict[int, tuple[Any, _Row]] = {}
        peak = 0
        try:
            while True:
                free = [slot for slot in self.slots if slot.seq not in active]
                started = take(len(free)) if free else []
                self._start(started, free, active, finish)
                peak = max(peak, len(active))
                if not active:
                    if started:
                        continue  # every new row ended at its first token: ask again
                    return peak
                self._decode_step(active, finish)
        except BaseException as exc:
            for handle, row in active.values():  # the KV cache no longer matches what the slots remember
                row.slot.tokens = []
                self.lib.llama_memory_seq_rm(self.memory, row.slot.seq, -1, -1)
                self._free_row(row)
                finish(handle, exc)
            if isinstance(exc, Exception):
                return peak
            raise

    def _start(self, started: list[Any], free: list[_Slot], active: dict[int, tuple[Any, _Row]],
               finish: Callable[[Any, Generation | BaseException], None]) -> None:
        """Prefill the new rows into free slots (the longest shared prefix first) and sample their first token."""
        for handle, request, cancel, seed, on_text in started:
            try:
                prompt = self.tokenize(request.prompt)
                if not prompt:
                    raise ToolbenchError("the prompt is empty")
                if len(prompt) >= self.context_length:
                    raise ToolbenchError(f"the prompt has {len(prompt)} tokens; this engine's context is "
                                         f"{self.context_length} per sequence")
            except ToolbenchError as exc:
                finish(handle, exc)
                continue
            slot, cached = max(((slot, _common_prefix(slot.tokens, prompt)) for slot in free),
                               key=lambda pair: pair[1])
            free.remove(slot)
            cached = max(0, min(cached, len(prompt) - 1))
            try:
                row = self._make_row(request, slot, cancel, seed, on_text)
            except ToolbenchError as exc:  # e.g. a grammar llama.cpp refuses: this row only
                free.append(slot)
                finish(handle, exc)
                continue
            active[slot.seq] = (handle, row)
            self._prefill(row, prompt, cached)
            if row.done:
                del active[slot.seq]
                finish(handle, self._finish_row(row))

    def _decode_step(self, active: dict[int, tuple[Any, _Row]],
                     finish: Callable[[Any, Generation | BaseException], None]) -> None:
        """One token for every running row; rows that end are handed to ``finish`` and free their slot."""
        started = time.perf_counter()
        live = list(active.values())
        for i, (_, row) in enumerate(live):
            token = row.next_token
            assert token is not None
            self._add(i, token, len(row.slot.tokens), row.slot.seq, True)
            row.slot.tokens.append(token)
            row.logits_index = i
        self._decode(len(live))
        self.stats.decode_tokens += len(live)
        self.stats.decode_steps += 1
        for handle, row in live:
            self._step(row)
            if row.done:
                del active[row.slot.seq]
                finish(handle, self._finish_row(row))
        self.stats.decode_seconds += time.perf_counter() - started

    def _finish_row(self, row: _Row) -> Generation:
        self._free_row(row)
        if row.holdback is not None:
            row.holdback.finish()
        text, cut = cut_at_stop(row.text, row.request.stop)
        return Generation([text], ["stop" if cut else row.reason], row.prompt_tokens, [len(row.made)])

    def _make_row(self, request: GenerationRequest, slot: _Slot, cancel: threading.Event | None,
                  seed: int | None, on_text: Callable[[str], None] | None) -> _Row:
        lib = self.lib
        row = _Row(request, slot, cancel, seed, on_text)
        if on_text is not None:
            row.holdback = StopHoldback(request.stop, on_text)
        penalised = bool(request.frequency_penalty or request.presence_penalty)
        if request.temperature > 0 or penalised:
            chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
            if penalised:  # over every token this row writes (the prompt is never accepted into the chain)
                lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_penalties(
                    self.n_vocab, max(1, request.max_tokens), 1.0, request.frequency_penalty,
                    request.presence_penalty))
            if request.temperature > 0:
                if request.top_p < 1:
                    lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(request.top_p, 1))
                lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(request.temperature))
                rng_seed = seed if seed is not None else int.from_bytes(os.urandom(4), "little")
                lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(rng_seed & 0xFFFFFFFF))
            else:
                lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            row.sampler = chain
        constraint = getattr(request, "constraint", None)
        if constraint is not None:
            row.grammar = self._grammar_sampler(constraint)
            row.awaiting_trigger = bool(constraint.lazy) and TRIGGER not in (constraint.prefill or "")
        return row

    def _free_row(self, row: _Row) -> None:
        if row.sampler is not None:
            self.lib.llama_sampler_free(row.sampler)
            row.sampler = None
        if row.grammar is not None:
            self.lib.llama_sampler_free(row.grammar)
            row.grammar = None

    def _add(self, index: int, token: int, pos: int, seq: int, logits: bool) -> None:
        batch = self.batch
        batch.token[index] = token
        batch.pos[index] = pos
        batch.n_seq_id[index] = 1
        batch.seq_id[index][0] = seq
        batch.logits[index] = 1 if logits else 0

    def _decode(self, n_tokens: int) -> None:
        self.batch.n_tokens = n_tokens
        status = self.lib.llama_decode(self.ctx, self.batch)
        if status != 0:
            raise ToolbenchError(f"llama_decode failed with status {status} (the KV cache is full or the batch is "
                                 "invalid)")

    def _feed(self, slot: _Slot, prompt: list[int], cached: int) -> int:
        """Decode the prompt's tokens after the first ``cached`` into the slot's sequence; the batch index of the
        last token's logits (-1 when nothing was decoded)."""
        self.lib.llama_memory_seq_rm(self.memory, slot.seq, cached, -1)
        slot.tokens = prompt[:cached]
        started = time.perf_counter()
        position = cached
        last = -1
        while position < len(prompt):
            chunk = prompt[position:position + self.n_batch]
            for i, token in enumerate(chunk):
                self._add(i, token, position + i, slot.seq, position + i == len(prompt) - 1)
            self._decode(len(chunk))
            position += len(chunk)
            last = len(chunk) - 1
        slot.tokens = list(prompt)
        self.stats.prefill_seconds += time.perf_counter() - started
        self.stats.prompt_tokens += len(prompt)
        self.stats.cached_prompt_tokens += cached
        return last

    def _prefill(self, row: _Row, prompt: list[int], cached: int) -> None:
        """Decode the prompt's uncached tokens into the row's sequence, then sample its first token."""
        row.logits_index = self._feed(row.slot, prompt, cached)
        row.prompt_tokens = len(prompt)
        self._step(row)

    def call_probability(self, prompt: str) -> float:
        """The probability that the reply to ``prompt`` starts a call (:mod:`toolbench.llm.call_gate`), for
        calibration: run it on an engine that is not generating (it uses the first sequence's cache)."""
        ids = self.tokenize(prompt)
        if len(ids) >= self.context_length:
            raise ToolbenchError(f"the prompt has {len(ids)} tokens; this engine's context is {self.context_length}")
        slot = self.slots[0]
        index = self._feed(slot, ids, min(_common_prefix(slot.tokens, ids), len(ids) - 1))
        logits = self._np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.ctx, index), shape=(self.n_vocab,))
        return token_probability(logits, self._call_opening[0])

    def _step(self, row: _Row) -> None:
        """Sample the row's next token from the logits at ``row.logits_index`` and decide whether it ends."""
        if row.cancel is not None and row.cancel.is_set():
            row.done, row.reason = True, "stop"
            return
        token = self._sample(row)
        row.made.append(token)
        request = row.request
        if token in self._eog and len(row.made) > request.min_tokens:
            row.done, row.reason = True, "stop"
            return
        piece = self._piece(token)
        row.raw += piece
        delta = row.decoder.decode(piece)
        row.text += delta
        if row.holdback is not None and delta:
            row.holdback.feed(delta)
        if request.stop and len(row.made) >= request.min_tokens and cut_at_stop(row.text, request.stop)[1]:
            row.done, row.reason = True, "stop"
            return
        if len(row.made) >= request.max_tokens:
            row.done, row.reason = True, "length"
            return
        if len(row.slot.tokens) + 1 >= self.context_length:
            row.done, row.reason = True, "length"
            return
        row.next_token = token

def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
