"""HF LLaMA checkpoint (or LoRA adapter) -> a GGUF file that llama.cpp serves (``toolbench train export-gguf``).

Written with the ``gguf`` package (llama.cpp's gguf-py) and llama.cpp's own quantizer (through llama-cpp-python);
no code of llama.cpp's converter is used. What the file holds:

- **architecture metadata** (``llama.*``) from ``config.json``: context length, embedding and feed-forward
  lengths, block count, head counts (query and KV), RoPE dimension count, base frequency and linear scaling,
  RMS-norm epsilon, vocabulary size; ``general.file_type``.
- **tokenizer metadata** (``tokenizer.*``): when the model's vocabulary is exactly the one of a base GGUF (the
  packaged SmolLM2 file by default, ``base_gguf="auto"``), every ``tokenizer.*`` field is copied from that file
  and only the chat template is taken from the model's tokenizer; otherwise they are built from ``tokenizer.json``
  (a GPT-2-style byte-level BPE: tokens, token types, merges, special ids, ``add_bos``, chat template, and the
  pre-tokenizer, recognised from its description: ``gpt-2``, ``smollm`` or ``llama-bpe``). SentencePiece /
  byte-fallback tokenizers (LLaMA 1-2, Mistral) are refused with a message saying so.
- **tensors**, named through gguf's ``TensorNameMap``. ``q_proj``/``k_proj`` rows are permuted from the HF rotary
  layout (per head: first half of the dimensions, then second half) to GGML's (the pairs interleaved), the
  inverse of what transformers' GGUF loader undoes. With tied embeddings there is no ``output.weight``
  (llama.cpp then uses ``token_embd``). Norms are F32; matrices F32, F16 or BF16.

Quantised types (``q8_0``, ``q4_1``, ``q4_k_m``, ``q5_k_m``) are made by writing the matrices first in the
source's own precision (F32 for an fp32 checkpoint, so nothing is rounded twice) and running
``llama_model_quantize`` on that file. Every write goes to a temporary file beside the target, renamed at the end.

:func:`verify_gguf` runs the same token ids through llama.cpp and transformers and compares the logits.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.errors import TrainError

# quant name -> (llama_ftype / gguf.LlamaFileType value, written directly by us without llama.cpp)
QUANTS: dict[str, tuple[int, bool]] = {
    "f32": (0, True),
    "f16": (1, True),
    "bf16": (32, True),
    "q8_0": (7, False),
    "q4_1": (3, False),
    "q4_k_m": (15, False),
    "q5_k_m": (17, False),
}
DEFAULT_PROMPT = ("<|im_start|>user\nWhat is the weather in Paris tomorrow? Answer with a tool call."
                  "<|im_end|>\n<|im_start|>assistant\n")
# Tolerances of the check after an exact (f32) or half-precision (f16/bf16) export: the largest logit difference
# allowed, relative to the spread (max - min) of the reference logits at that position.
TOLERANCE = {"f32": 1e-3, "f16": 2e-2, "bf16": 5e-2}

# general.* fields copied from a base GGUF (with its name as general.base_model.0.name)
COPIED_GENERAL = ("general.basename", "general.organization", "general.license", "general.size_label",
                  "general.languages")
# tokenizer.json pre-tokenizer regexes of the families llama.cpp knows (its "pre" names)
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


class GGUFExportError(TrainError):
    """The model cannot be exported (or checked); the message names the file or field at fault."""


# ---------------------------------------------------------------------------------------------------------------
# the source model


@dataclass
class _Source:
    """A model to export: its config, where its tokenizer files are, and its tensors (name -> loader)."""

    path: Path
    kind: str  # checkpoint | adapter
    config: dict[str, Any]
    tokenizer_dir: Path
    tensors: dict[str, Callable[[], Any]] = field(default_factory=dict)  # HF name -> () -> float32 torch tensor
    dtype: str = "float32"  # precision of the stored weights
    base: Path | None = None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GGUFExportError(f"{path} is missing") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise GGUFExportError(f"cannot read {path}: {exc}") from exc


def _safetensors_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(_read_json(index).get("weight_map", {}).values()))
        return [folder / n for n in names]
    return sorted(folder.glob("*.safetensors"))


def _open_source(model_dir: Path) -> _Source:
    from toolbench.llm.models import ModelLoadError, resolve_model

    if not model_dir.is_dir():
        raise GGUFExportError(f"{model_dir} is not a folder: give a HF checkpoint folder (config.json, "
                              "*.safetensors, tokenizer) or a LoRA adapter folder (adapter_config.json)")
    if not (model_dir / "config.json").is_file() and not (model_dir / "adapter_config.json").is_file():
        raise GGUFExportError(f"{model_dir} has no config.json (a HF checkpoint) and no adapter_config.json "
                              "(a LoRA adapter): nothing to export")
    try:
        source = resolve_model(str(model_dir))
    except ModelLoadError as exc:
        raise GGUFExportError(str(exc)) from exc
    if source.kind == "adapter":
        assert source.base is not None
        config = _read_json(source.base / "config.json")
        _check_config(config, source.base / "config.json")
        tok_dir = source.path if (source.path / "tokenizer.json").is_file() else source.base
        return _Source(model_dir, "adapter", config, tok_dir, base=source.base)
    config = _read_json(model_dir / "config.json")
    _check_config(config, model_dir / "config.json")
    out = _Source(model_dir, "checkpoint", config, model_dir)
    files = _safetensors_files(model_dir)
    if not files:
        raise GGUFExportError(f"{model_dir} has no *.safetensors weights (pytorch_model.bin is not read: load and "
                              "save the model with safe_serialization=True first)")
    from safetensors import safe_open

    dtypes: set[str] = set()
    for file in files:
        if not file.is_file():
            raise GGUFExportError(f"{file} is missing (named by model.safetensors.index.json)")
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                out.tensors[name] = _lazy_tensor(file, name)
                dtypes.add(str(handle.get_slice(name).get_dtype()).lower())
    # the stored precision decides the intermediate file's (F32 / BF16 / F16): nothing is rounded twice
    out.dtype = "float32" if {"f32", "float32", "f64"} & dtypes else (
        "bfloat16" if {"bf16", "bfloat16"} & dtypes else "float16")
    return out


def _lazy_tensor(file: Path, name: str) -> Callable[[], Any]:
    def load() -> Any:
        from safetensors import safe_open

        with safe_open(str(file), framework="pt") as handle:
            return handle.get_tensor(name)

    return load


def _merge_adapter(source: _Source) -> None:
    """Merge a LoRA adapter into its base (fp32, in memory) and expose the merged weights."""
    from toolbench.llm.models import ModelLoadError, load_model

    try:
        loaded = load_model(str(source.path), dtype="float32", device="cpu")
    except ModelLoadError as exc:
        raise GGUFExportError(str(exc)) from exc
    state = loaded.model.state_dict()
    source.config = loaded.model.config.to_dict()
    source.tensors = {name: (lambda t=tensor: t) for name, tensor in state.items()}
    source.dtype = "float32"


def _check_config(config: dict[str, Any], where: Path) -> None:
    model_type = config.get("model_type")
    archs = config.get("architectures") or []
    if model_type != "llama" or (archs and "LlamaForCausalLM" not in archs):
        raise GGUFExportError(f"{where}: model_type {model_type!r} / architectures {archs} is not supported: only "
                              "LLaMA-architecture checkpoints (model_type 'llama', LlamaForCausalLM) are exported")
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size"):
        if not isinstance(config.get(key), int):
            raise GGUFExportError(f"{where}: field {key!r} is missing or not an integer")
    if config.get("hidden_act", "silu") != "silu":
        raise GGUFExportError(f"{where}: hidden_act {config['hidden_act']!r} is not supported (llama.cpp's llama "
                              "graph uses silu)")


def _rope(config: dict[str, Any], where: Path) -> tuple[float, str, float | None]:
    """(base frequency, scaling type, scaling factor) from transformers 5's ``rope_parameters`` or 4's fields."""
    params = dict(config.get("rope_parameters") or {})
    scaling = dict(config.get("rope_scaling") or {})
    theta = params.get("rope_theta", config.get("rope_theta", 10000.0))
    kind = params.get("rope_type") or scaling.get("rope_type") or scaling.get("type") or "default"
    factor = params.get("factor", scaling.get("factor"))
    if kind not in ("default", "linear"):
        raise GGUFExportError(f"{where}: RoPE scaling {kind!r} (rope_parameters / rope_scaling) is not supported "
                              "by this exporter: only none and 'linear'")
    return float(theta), kind, (float(factor) if factor is not None else None)


# ---------------------------------------------------------------------------------------------------------------
# tokenizer metadata


def _token_content(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


def _chat_template(tokenizer_dir: Path) -> str | None:
    jinja = tokenizer_dir / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    tcfg = tokenizer_dir / "tokenizer_config.json"
    if tcfg.is_file():
        template = _read_json(tcfg).get("chat_template")
        if isinstance(template, str):
            return template
        if isinstance(template, list):  # named templates: keep the default one
            for item in template:
                if item.get("name") == "default":
                    return item.get("template")
    return None


def _pre_tokenizer_name(pre: dict[str, Any] | None, where: Path) -> str:
    """llama.cpp's name for a byte-level BPE pre-tokenizer described in tokenizer.json."""
    steps = (pre or {}).get("pretokenizers", [pre] if pre else [])
    kinds = [s.get("type") for s in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True):
        return "gpt-2"
    if (kinds == ["Digits", "ByteLevel"] and steps[0].get("individual_digits")
            and steps[1].get("use_regex", True)):
        return "smollm"
    if kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        regex = (steps[0].get("pattern") or {}).get("Regex")
        if regex == LLAMA3_REGEX:
            return "llama-bpe"
        if regex == GPT2_REGEX:
            return "gpt-2"
    raise GGUFExportError(f"{where}: pre-tokenizer {json.dumps(pre)[:300]} is not one this exporter recognises "
                          "(byte-level with GPT-2's regex, SmolLM's digit split, or LLaMA 3's regex); pass "
                          "pre_tokenizer=<llama.cpp name> (--pre-tokenizer) if you know it")


@dataclass
class _Vocab:
    tokens: list[str]
    types: list[int]
    merges: list[str]
    pre: str
    special: dict[str, int]  # bos / eos / unk / pad -> id
    add_bos: bool
    chat_template: str | None


def _read_vocab(tokenizer_dir: Path, config: dict[str, Any], pre_override: str | None = None) -> _Vocab:
    """The vocabulary of a byte-level BPE ``tokenizer.json`` (GPT-2 style, as SmolLM2 and LLaMA 3 use)."""
    import gguf

    path = tokenizer_dir / "tokenizer.json"
    if not path.is_file():
        extra = " (a SentencePiece tokenizer.model is not supported)" if (tokenizer_dir / "tokenizer.model").is_file() \
            else ""
        raise GGUFExportError(f"{path} is missing: the tokenizer is read from a fast tokenizer's tokenizer.json"
                              + extra)
    data = _read_json(path)
    model = data.get("model") or {}
    decoder = data.get("decoder") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback") or decoder.get("type") != "ByteLevel":
        raise GGUFExportError(f"{path}: tokenizer model {model.get('type')!r} (byte_fallback="
                              f"{model.get('byte_fallback')}, decoder {decoder.get('type')!r}) is not supported: "
                              "only byte-level BPE (GPT-2 style: SmolLM2, LLaMA 3); SentencePiece-style tokenizers "
                              "(LLaMA 1/2, Mistral) are not")
    n_vocab = int(config["vocab_size"])
    by_id: dict[int, str] = {int(i): t for t, i in (model.get("vocab") or {}).items()}
    types = {i: int(gguf.TokenType.NORMAL) for i in by_id}
    for added in data.get("added_tokens") or []:
        i = int(added["id"])
        by_id[i] = added["content"]
        types[i] = int(gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED)
    if by_id and max(by_id) >= n_vocab:
        raise GGUFExportError(f"{path} has token id {max(by_id)} but config.json vocab_size is {n_vocab}")
    tokens, token_types = [], []
    for i in range(n_vocab):  # ids the tokenizer does not use (a padded embedding) become unused tokens
        tokens.append(by_id.get(i, f"[PAD{i}]"))
        token_types.append(types.get(i, int(gguf.TokenType.UNUSED)))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    if not merges:  # llama.cpp's BPE vocabulary will not load without the key, and gguf writes no empty array
        raise GGUFExportError(f"{path} has no BPE merges: llama.cpp cannot load a byte-level BPE vocabulary "
                              "without them")

    tcfg = _read_json(tokenizer_dir / "tokenizer_config.json") if (tokenizer_dir / "tokenizer_config.json").is_file() \
        else {}
    ids = {t: i for i, t in by_id.items()}
    special: dict[str, int] = {}
    for key in ("bos", "eos", "unk", "pad"):
        content = _token_content(tcfg.get(f"{key}_token"))
        if content is not None and content in ids:
            special[key] = ids[content]
        elif isinstance(config.get(f"{key}_token_id"), int):
            special[key] = int(config[f"{key}_token_id"])
    if isinstance(tcfg.get("add_bos_token"), bool):
        add_bos = tcfg["add_bos_token"]
    else:  # a post-processor that puts the BOS token first
        single = ((data.get("post_processor") or {}).get("single")) or []
        first = single[0].get("SpecialToken", {}).get("id") if single else None
        add_bos = first is not None and ids.get(first) == special.get("bos")
    pre = pre_override or _pre_tokenizer_name(data.get("pre_tokenizer"), path)
    return _Vocab(tokens, token_types, merges, pre, special, add_bos, _chat_template(tokenizer_dir))


def _model_tokens(tokenizer_dir: Path, n_vocab: int) -> list[str] | None:
    """The model's tokens by id (None when tokenizer.json is missing or unreadable)."""
    path = tokenizer_dir / "tokenizer.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    by_id = {int(i): t for t, i in ((data.get("model") or {}).get("vocab") or {}).items()}
    by_id.update({int(a["id"]): a["content"] for a in data.get("added_tokens") or []})
    return [by_id.get(i, f"[PAD{i}]") for i in range(n_vocab)]  # as _read_vocab names unused ids


def _base_fields(base: Path) -> tuple[dict[str, tuple[Any, Any, Any]], list[str]]:
    """A base GGUF's ``tokenizer.*`` and ``general.*`` fields (key -> (value, type, sub type)) and its tokens.
    Reading SmolLM2's takes ~2 s (98k strings), so it is kept for the process."""
    stat = base.stat()
    return _read_base_fields(str(base.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _read_base_fields(base: str, size: int, mtime_ns: int) -> tuple[dict[str, tuple[Any, Any, Any]], list[str]]:
    import gguf

    try:
        reader = gguf.GGUFReader(str(base))
    except (OSError, ValueError) as exc:
        raise GGUFExportError(f"cannot read the base GGUF {base}: {exc}") from exc
    out: dict[str, tuple[Any, Any, Any]] = {}
    for key, f in reader.fields.items():
        if not key.startswith(("tokenizer.", "general.")):
            continue
        vtype = f.types[0]
        sub = f.types[1] if vtype == gguf.GGUFValueType.ARRAY and len(f.types) > 1 else None
        out[key] = (f.contents(), vtype, sub)
    tokens = out.get("tokenizer.ggml.tokens", ([], None, None))[0]
    return out, list(tokens)


def _find_base_gguf(base_gguf: str | Path | None) -> Path | None:
    if base_gguf in (None, "", "none"):
        return None
    if base_gguf == "auto":
        from toolbench.llm.models import ModelLoadError, find_default_gguf

        try:
            return find_default_gguf()
        except ModelLoadError:
            return None
    path = Path(base_gguf).expanduser()
    if not path.is_file():
        raise GGUFExportError(f"base GGUF {path} does not exist")
    return path


# ---------------------------------------------------------------------------------------------------------------
# tensors


def permute_rotary(weights: Any, n_head: int) -> Any:
    """HF's rotary layout -> GGML's, for the rows of a q/k projection (or its bias).

    HF rotates dimension i of a head with dimension i + d/2 (``rotate_half``); GGML rotates neighbours 2i and
    2i + 1. So each head's rows [x_0 .. x_{d/2-1}, y_0 .. y_{d/2-1}] become [x_0, y_0, x_1, y_1, ...]."""
    shape = weights.shape
    head_dim = shape[0] // n_head
    if head_dim * n_head != shape[0] or head_dim % 2:
        raise GGUFExportError(f"cannot permute a tensor of shape {tuple(shape)} for {n_head} heads")
    return weights.reshape(n_head, 2, head_dim // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


@dataclass
class _Tensor:
    gguf_name: str
    hf_name: str
    shape: tuple[int, ...]
    qtype: Any  # gguf.GGMLQuantizationType
    n_head: int | None  # permute rows for rotary with this many heads


def _plan_tensors(source: _Source, float_type: str) -> list[_Tensor]:
    import gguf

    cfg = source.config
    n_blocks = int(cfg["num_hidden_layers"])
    n_head = int(cfg["num_attention_heads"])
    n_kv = int(cfg.get("num_key_value_heads") or n_head)
    tied = bool(cfg.get("tie_word_embeddings", False))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_blocks)
    matrix_type = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
                   "bf16": gguf.GGMLQuantizationType.BF16}[float_type]
    shapes = _shapes(source)
    plan: list[_Tensor] = []
    for hf_name, shape in shapes.items():
        if hf_name.endswith("rotary_emb.inv_freq"):
            continue  # recomputed by llama.cpp from the metadata
        if hf_name == "lm_head.weight" and tied:
            continue  # llama.cpp uses token_embd when there is no output tensor
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise GGUFExportError(f"{source.path}: tensor {hf_name!r} has no GGUF name in the llama architecture "
                                  "(is this a plain LlamaForCausalLM checkpoint?)")
        rotary = None
        if ".attn_q." in name:
            rotary = n_head
        elif ".attn_k." in name:
            rotary = n_kv
        qtype = gguf.GGMLQuantizationType.F32 if len(shape) == 1 else matrix_type
        plan.append(_Tensor(name, hf_name, tuple(shape), qtype, rotary))
    have = {t.gguf_name for t in plan}
    needed = ["token_embd.weight", "output_norm.weight"] + ([] if tied else ["output.weight"])
    for b in range(n_blocks):
        needed += [f"blk.{b}.{n}.weight" for n in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                                   "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")]
    missing = [n for n in needed if n not in have]
    if missing:
        hint = " (config.json says tie_word_embeddings is false: is lm_head.weight saved?)" \
            if missing == ["output.weight"] else ""
        raise GGUFExportError(f"{source.path}: the weights lack {', '.join(missing[:5])}"
                              f"{' ...' if len(missing) > 5 else ''}{hint}")

    def order(t: _Tensor) -> tuple[int, str]:
        parts = t.gguf_name.split(".")
        return (int(parts[1]) + 1 if parts[0] == "blk" else (0 if parts[0] == "token_embd" else 10**9), t.gguf_name)

    return sorted(plan, key=order)


def _shapes(source: _Source) -> dict[str, tuple[int, ...]]:
    if source.kind == "adapter":
        return {name: tuple(load().shape) for name, load in source.tensors.items()}
    from safetensors import safe_open

    shapes: dict[str, tuple[int, ...]] = {}
    for file in _safetensors_files(source.path):
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118
                shapes[name] = tuple(handle.get_slice(name).get_shape())
    return shapes


def _tensor_data(source: _Source, t: _Tensor) -> Any:
    """The tensor as GGUF stores it: float32/float16 numpy, or BF16 bytes."""
    import gguf
    import numpy as np
    import torch

    data = source.tensors[t.hf_name]().detach().to(torch.float32).numpy()
    if t.n_head is not None:
        data = permute_rotary(data, t.n_head)
    if t.qtype == gguf.GGMLQuantizationType.F16:
        return data.astype(np.float16)
    if t.qtype == gguf.GGMLQuantizationType.BF16:
        return gguf.quants.quantize(np.ascontiguousarray(data), gguf.GGMLQuantizationType.BF16)
    return np.ascontiguousarray(data, dtype=np.float32)


# ---------------------------------------------------------------------------------------------------------------
# writing


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


def _llama_cpp() -> Any:
    """``llama_cpp`` through the engine's one import path (it also sets OpenMP's waiting), or a
    :class:`GGUFExportError` saying which types still export without it."""
    from toolbench.llm.llamacpp_lib import EngineUnavailable, import_llama_cpp

    try:
        return import_llama_cpp()
    except EngineUnavailable as exc:
        raise GGUFExportError(f"the llama.cpp engine (the llama-cpp-python package) is not installed or does not "
                              f"load ({exc.__cause__ or exc}): only f32, f16 and bf16 can be exported without it"
                              ) from exc


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


# ---------------------------------------------------------------------------------------------------------------
# checking


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
