"""The source model of a GGUF export: a HF LLaMA checkpoint or a LoRA adapter (merged into its base), its config
checked, and the tensors planned in GGML's layout (q/k rows permuted to its rotary order)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.gguf.common import GGUFExportError


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
