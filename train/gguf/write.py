"""Writing a GGUF file: metadata and tensors in a float type with the gguf package, then quantised by llama.cpp;
:func:`export_gguf` is the whole export."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from train.gguf.check import _judge, verify_gguf
from train.gguf.common import COPIED_GENERAL, DEFAULT_PROMPT, QUANTS, GGUFExportError, _llama_cpp
from train.gguf.source import _merge_adapter, _open_source, _plan_tensors, _rope, _Source, _tensor_data
from train.gguf.vocab import _base_fields, _chat_template, _find_base_gguf, _model_tokens, _read_vocab, _Vocab


def _write_metadata(writer: Any, source: _Source, ftype: int, vocab: _Vocab | None,
                    base: tuple[Path, dict[str, tuple[Any, Any, Any]]] | None) -> str:
    """Architecture and tokenizer fields; returns where the tokenizer fields came from."""
    import gguf

    cfg = source.config
    where = source.path / "config.json"
    n_embd = int(cfg["hidden_size"])
    n_head = int(cfg["num_attention_heads"])
    head_dim = int(cfg.get("head_dim") or n_embd // n_head)
    theta, rope_kind, factor = _rope(cfg, where)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(source.path.resolve().name if source.path.name not in ("final", "adapter", "merged")
                    else f"{source.path.resolve().parent.name}-{source.path.name}")
    writer.add_context_length(int(cfg.get("max_position_embeddings") or 2048))
    writer.add_embedding_length(n_embd)
    writer.add_block_count(int(cfg["num_hidden_layers"]))
    writer.add_feed_forward_length(int(cfg["intermediate_size"]))
    writer.add_head_count(n_head)
    writer.add_head_count_kv(int(cfg.get("num_key_value_heads") or n_head))
    writer.add_rope_freq_base(theta)
    writer.add_layer_norm_rms_eps(float(cfg.get("rms_norm_eps", 1e-6)))
    writer.add_file_type(ftype)
    writer.add_vocab_size(int(cfg["vocab_size"]))
    writer.add_rope_dimension_count(head_dim)
    if head_dim != n_embd // n_head:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    if rope_kind == "linear" and factor:
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(factor)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    if base is not None:
        base_path, fields = base
        template = _chat_template(source.tokenizer_dir)  # the model's own, if it has one
        for key, (value, vtype, sub) in fields.items():
            if key == "tokenizer.chat_template" and template:
                continue
            if key.startswith("tokenizer.") or key in COPIED_GENERAL:
                writer.add_key_value(key, value, vtype, sub)
        if "general.name" in fields:
            writer.add_base_model_count(1)
            writer.add_base_model_name(0, fields["general.name"][0])
        if template:
            writer.add_key_value("tokenizer.chat_template", template, gguf.GGUFValueType.STRING)
        return f"copied from {base_path}"
    assert vocab is not None
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_token_merges(vocab.merges)
    setters = {"bos": writer.add_bos_token_id, "eos": writer.add_eos_token_id, "unk": writer.add_unk_token_id,
               "pad": writer.add_pad_token_id}
    for key, token_id in vocab.special.items():
        setters[key](token_id)
    writer.add_add_bos_token(vocab.add_bos)
    if vocab.chat_template:
        writer.add_chat_template(vocab.chat_template)
    return f"built from {source.tokenizer_dir / 'tokenizer.json'} (pre-tokenizer {vocab.pre})"


def _write_float_gguf(source: _Source, path: Path, float_type: str, ftype: int, base_gguf: str | Path | None,
                      pre_tokenizer: str | None) -> dict[str, Any]:
    import gguf
    import numpy as np

    plan = _plan_tensors(source, float_type)
    base_path = _find_base_gguf(base_gguf)
    base: tuple[Path, dict[str, tuple[Any, Any, Any]]] | None = None
    n_vocab = int(source.config["vocab_size"])
    if base_path is not None:
        fields, base_tokens = _base_fields(base_path)
        if _model_tokens(source.tokenizer_dir, n_vocab) == base_tokens and len(base_tokens) == n_vocab:
            base = (base_path, fields)
        elif base_gguf not in ("auto", None):
            raise GGUFExportError(f"the vocabulary of {source.tokenizer_dir / 'tokenizer.json'} is not the one of "
                                  f"the base GGUF {base_path}: its tokenizer fields cannot be copied (use "
                                  "--base-gguf none to build them from tokenizer.json)")
    vocab = None if base is not None else _read_vocab(source.tokenizer_dir, source.config, pre_tokenizer)

    writer = gguf.GGUFWriter(str(path), "llama")
    try:
        tokenizer_from = _write_metadata(writer, source, ftype, vocab, base)
        for t in plan:
            shape = t.shape
            if t.qtype == gguf.GGMLQuantizationType.BF16:  # stored as bytes: 2 per value
                nbytes = 2
                for n in shape:
                    nbytes *= n
                writer.add_tensor_info(t.gguf_name, (*shape[:-1], shape[-1] * 2), np.dtype("uint8"), nbytes,
                                       raw_dtype=t.qtype)
            else:
                dtype = np.dtype("float16" if t.qtype == gguf.GGMLQuantizationType.F16 else "float32")
                nbytes = dtype.itemsize
                for n in shape:
                    nbytes *= n
                writer.add_tensor_info(t.gguf_name, shape, dtype, nbytes)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for t in plan:  # one tensor in memory at a time
            writer.write_tensor_data(_tensor_data(source, t))
    finally:
        writer.close()
    return {"tensors": len(plan), "tokenizer": tokenizer_from}


def _quantize(src: Path, dst: Path, quant: str, threads: int | None) -> None:
    from toolbench.errors import ToolbenchError
    from toolbench.llm.llamacpp_lib import quantize_gguf

    _llama_cpp()
    try:
        quantize_gguf(src, dst, quant, threads=threads)
    except ToolbenchError as exc:
        raise GGUFExportError(str(exc)) from exc


def export_gguf(model_dir: str | Path, out_path: str | Path, quant: str = "q8_0",
                base_gguf: str | Path | None = "auto", verify: bool = False, prompt: str = DEFAULT_PROMPT,
                pre_tokenizer: str | None = None, threads: int | None = None,
                intermediate: str = "auto") -> dict[str, Any]:
    """Export a HF LLaMA checkpoint or a LoRA adapter (merged first) to ``out_path`` as GGUF of type ``quant``.

    ``base_gguf``: ``"auto"`` copies the tokenizer fields from the packaged SmolLM2 GGUF when the model has its
    vocabulary (else they are built from tokenizer.json), a path does the same from that file (and fails if the
    vocabularies differ), ``None``/``"none"`` always builds them. ``verify`` runs :func:`verify_gguf` and, for
    f32/f16/bf16, fails if the logits disagree beyond :data:`TOLERANCE` (any type fails if llama.cpp tokenizes
    the prompt differently); the file takes its name only after the check. ``intermediate`` is the float type
    llama.cpp quantises from (``auto``: the stored weights' precision). An adapter is merged into its base as
    ``adapter_config.json`` names it, with the base's config: for an adapter trained with ``context_length``
    (RoPE scaling), export the run's ``final/`` instead. Returns a summary (source, quant, bytes, seconds,
    tensors, where the tokenizer fields came from, and the check's figures).
    """
    started = time.time()
    quant = quant.lower()
    if quant not in QUANTS:
        raise GGUFExportError(f"quant {quant!r} is not one of {', '.join(QUANTS)}")
    if intermediate not in ("auto", "f32", "f16", "bf16"):
        raise GGUFExportError(f"intermediate {intermediate!r} is not one of auto, f32, f16, bf16")
    ftype, direct = QUANTS[quant]
    if not direct:
        _llama_cpp()  # fail before any work
    model_dir = Path(model_dir).expanduser()
    out_path = Path(out_path).expanduser()
    if out_path.is_dir():
        raise GGUFExportError(f"{out_path} is a folder: give the path of the .gguf file to write")
    source = _open_source(model_dir)
    if source.kind == "adapter":
        _merge_adapter(source)
    float_type = quant if direct else (intermediate if intermediate != "auto" else
                                       {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}[source.dtype])

    from toolbench.formats.atomic import atomic_file

    with atomic_file(out_path) as tmp:
        inter = tmp.with_name(tmp.name + f".{float_type}")
        try:
            if direct:
                info = _write_float_gguf(source, tmp, float_type, ftype, base_gguf, pre_tokenizer)
            else:
                info = _write_float_gguf(source, inter, float_type, QUANTS[float_type][0], base_gguf, pre_tokenizer)
                written = time.time()
                _quantize(inter, tmp, quant, threads)
                inter.unlink()
                info["quantize_seconds"] = round(time.time() - written, 2)
            summary: dict[str, Any] = {
                "source": str(model_dir), "kind": source.kind, "out": str(out_path), "quant": quant,
                "intermediate": None if direct else float_type, "bytes": tmp.stat().st_size,
                "seconds": round(time.time() - started, 2), **info,
            }
            if source.base is not None:
                summary["base_model"] = str(source.base)
            if verify:  # on the finished file, before it takes the target's name: a failed check leaves nothing
                summary["verify"] = check = verify_gguf(tmp, model_dir, prompt, threads=threads)
                _judge(check, quant, model_dir)
        finally:
            inter.unlink(missing_ok=True)
    return summary
