"""Checking a GGUF export: the same prompt through llama.cpp and transformers, next-token logits compared; greedy
decoding and the raw tensor bytes for the benchmark."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from train.gguf.common import DEFAULT_PROMPT, TOLERANCE, GGUFExportError, _llama_cpp


def open_llama(gguf_path: str | Path, extra_buffers: bool = False, **kwargs: Any) -> Any:
    """``llama_cpp.Llama`` on ``gguf_path``; ``extra_buffers=False`` turns off llama.cpp's extra CPU buffer types
    (weight repacking, AMX). On this machine's Xeon the AMX matrix multiply of llama-cpp-python 0.3.36 (built with
    GGML_NATIVE) crashed the process (SIGSEGV in ``ggml_backend_amx_mul_mat``) on every quantised model, the
    packaged SmolLM2 GGUF included; without the extra buffers it runs."""
    llama_cpp = _llama_cpp()
    import llama_cpp.llama as high_level

    if extra_buffers:
        return _load(llama_cpp, gguf_path, kwargs)
    low = high_level.llama_cpp
    defaults = low.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    low.llama_model_default_params = without_extra_buffers
    try:
        return _load(llama_cpp, gguf_path, kwargs)
    finally:
        low.llama_model_default_params = defaults


def _load(llama_cpp: Any, gguf_path: str | Path, kwargs: dict[str, Any]) -> Any:
    try:
        return llama_cpp.Llama(model_path=str(gguf_path), verbose=False, **kwargs)
    except ValueError as exc:  # llama.cpp logs the reason; the binding only says it failed
        raise GGUFExportError(f"llama.cpp cannot load {gguf_path}: {exc} (its log says why: "
                              "llama_cpp.Llama(model_path=..., verbose=True))") from exc


def _judge(check: dict[str, Any], quant: str, model_dir: Path) -> None:
    """Fail an export whose file tokenizes differently, or, for a float type, whose logits are off."""
    if not check["tokenizer_agrees"]:
        raise GGUFExportError(f"the GGUF's tokenizer splits the check prompt differently from {model_dir}'s "
                              "tokenizer.json (wrong pre-tokenizer? set --pre-tokenizer)")
    tol = TOLERANCE.get(quant)
    # a wrong layout moves every logit; a near-tie may flip an argmax even in an exact export, hence >= 0.9
    if tol is not None and (check["max_rel_diff"] > tol or check["argmax_agreement"] < 0.9):
        raise GGUFExportError(f"the {quant} export does not reproduce {model_dir}: next-token agreement "
                              f"{check['argmax_agreement']:.1%}, max logit difference {check['max_abs_diff']:.4g} "
                              f"({check['max_rel_diff']:.2%} of the logit range; tolerance {tol:.2%})")


def llama_logits(gguf_path: str | Path, token_ids: list[int], threads: int | None = None, n_ctx: int = 256,
                 text: str | None = None) -> tuple[Any, list[int] | None]:
    """llama.cpp's logits (positions x vocab, float32) for ``token_ids``, with an F32 KV cache, and, if ``text``
    is given, llama.cpp's token ids for it (special tokens parsed, no BOS added)."""
    import numpy as np

    llm = open_llama(gguf_path, logits_all=True, n_ctx=max(n_ctx, len(token_ids) + 1), n_threads=threads,
                     n_threads_batch=threads, type_k=0, type_v=0)
    try:
        tokens = None if text is None else list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        llm.eval(token_ids)
        return np.array(llm.scores[: len(token_ids)], dtype=np.float32), tokens
    finally:
        llm.close()


def verify_gguf(gguf_path: str | Path, model_dir: str | Path, prompt: str = DEFAULT_PROMPT,
                threads: int | None = None) -> dict[str, Any]:
    """Run ``prompt``'s token ids (the HF tokenizer's) through llama.cpp and transformers and compare.

    Returns the positions compared, the share where both give the same next token (``argmax_agreement``), the
    largest and mean absolute logit difference, the largest difference relative to the logit range at its
    position, and whether llama.cpp tokenizes ``prompt`` to the same ids (``tokenizer_agrees``)."""
    import numpy as np
    import torch

    from toolbench.llm.models import ModelLoadError, load_model

    started = time.time()
    try:
        loaded = load_model(str(model_dir), dtype="float32", device="cpu")
    except ModelLoadError as exc:
        raise GGUFExportError(str(exc)) from exc
    ids = loaded.tokenizer(prompt, add_special_tokens=True).input_ids
    if not ids:
        raise GGUFExportError("the prompt gives no tokens")
    with torch.no_grad():
        ref = loaded.model(torch.tensor([ids])).logits[0].float().numpy()
    del loaded
    got, llama_ids = llama_logits(gguf_path, ids, threads=threads, text=prompt)
    if got.shape != ref.shape:
        raise GGUFExportError(f"{gguf_path}: llama.cpp gives logits of shape {got.shape}, transformers {ref.shape}")
    diff = np.abs(got - ref)
    spread = ref.max(axis=1) - ref.min(axis=1)
    return {
        "positions": len(ids),
        "argmax_agreement": round(float((got.argmax(1) == ref.argmax(1)).mean()), 4),
        "max_abs_diff": round(float(diff.max()), 5),
        "mean_abs_diff": round(float(diff.mean()), 6),
        "max_rel_diff": round(float((diff.max(axis=1) / np.maximum(spread, 1e-9)).max()), 6),
        "tokenizer_agrees": llama_ids == ids,
        "seconds": round(time.time() - started, 2),
    }


def greedy(gguf_path: str | Path, prompt_ids: list[int], max_tokens: int = 32, threads: int | None = None) -> list[int]:
    """llama.cpp's greedy continuation of ``prompt_ids`` (argmax at each step, no sampler state)."""
    import numpy as np

    llm = open_llama(gguf_path, n_ctx=len(prompt_ids) + max_tokens + 8, n_threads=threads,
                     n_threads_batch=threads, logits_all=True)  # else llama-cpp-python keeps no logits
    try:
        out: list[int] = []
        llm.eval(prompt_ids)
        eos = llm.token_eos()
        for _ in range(max_tokens):
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            out.append(token)
            if token == eos:
                break
            llm.eval([token])
        return out
    finally:
        llm.close()


def iter_tensor_bytes(gguf_path: str | Path) -> Iterator[tuple[str, str, bytes]]:
    """(name, type, raw bytes) of every tensor of a GGUF file, sorted by name."""
    import gguf

    reader = gguf.GGUFReader(str(gguf_path))
    for t in sorted(reader.tensors, key=lambda t: t.name):
        yield t.name, t.tensor_type.name, bytes(t.data.tobytes())
