"""The SFT configuration: one dataclass, filled from a YAML recipe and ``key=value`` overrides, checked on creation.

``SFTConfig(...)`` (and :func:`load_config`) checks every value before any model loads and raises
:class:`~train.errors.ConfigError` naming the field. :meth:`SFTConfig.check_paths` then checks that the data files
exist, so that a recipe can be validated on a machine that has neither the data nor the model (the GPU recipes'
tests do that). DeepSpeed JSON files are named by path, or by file name in ``train/configs/`` (``zero2_offload``).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench import config
from train.errors import ConfigError

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"
LLAMA_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
METHODS = ("lora", "full")
PRECISIONS = ("fp32", "bf16", "fp16")
BASE_DTYPES = ("float32", "bfloat16")
ATTENTION = ("auto", "sdpa", "eager")
ROPE_KINDS = ("linear", "dynamic", "yarn")
DATA_FORMATS = ("auto", "chat", "openai", "sharegpt", "toolllama", "toolbench")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class SFTConfig:
    """Supervised fine-tuning of a tool model (see ``train/configs/*.yaml`` for recipes)."""

    # -- model ------------------------------------------------------------------------------------------------
    model: str = field(default="default", metadata={"help": (
        "Base model: 'default' (the packaged SmolLM2-135M-Instruct, converted once and cached) or the folder of a "
        "local HF checkpoint of a LLaMA-family model. Nothing is downloaded.")})
    context_length: int | None = field(default=None, metadata={"help": (
        "Extend the model's context to this many tokens with RoPE scaling (ToolLLaMA went from 2,048 to 8,192 "
        "with linear scaling, factor 4). None keeps the model's own.")})
    rope_scaling: str = field(default="linear", metadata={"help": (
        "How context_length is reached: 'linear' (position interpolation), 'dynamic' (NTK) or 'yarn'.")})
    # -- data -------------------------------------------------------------------------------------------------
    train_data: list[str] = field(default_factory=list, metadata={"help": (
        "Training data: files or folders of OpenAI fine-tuning JSONL, ShareGPT/LLaMA-Factory, ToolLLaMA or "
        "ToolBench answer files (train.format).")})
    eval_data: list[str] = field(default_factory=list, metadata={"help": (
        "Held-out data, same formats; its loss is measured after training (and every eval_steps).")})
    data_format: str = field(default="auto", metadata={"help": (
        "Format of the data files: 'auto' (told from each row) or one of chat, openai, sharegpt, toolllama, "
        "toolbench.")})
    eval_fraction: float = field(default=0.0, metadata={"help": (
        "Without eval_data, hold out this fraction of the training examples (seeded by 'seed').")})
    toolbench_steps: bool = field(default=False, metadata={"help": (
        "ToolBench answers: one example per step with only its last turn in the loss, as ToolBench trains, "
        "instead of one example per path with every assistant turn in the loss.")})
    only_give_answer: bool = field(default=False, metadata={"help": (
        "ToolBench answers: keep only trees that finished with give_answer (drop give_up).")})
    max_examples: int | None = field(default=None, metadata={"help": (
        "Use at most this many training examples (after the held-out split); None uses all.")})
    max_length: int = field(default=2048, metadata={"help": "Longest sequence in tokens."})
    overlong: str = field(default="truncate", metadata={"help": (
        "Examples longer than max_length: 'truncate' them or 'drop' them.")})
    packing: bool = field(default=False, metadata={"help": (
        "Pack several examples into each max_length sequence (they do not attend to each other).")})
    # -- method -----------------------------------------------------------------------------------------------
    method: str = field(default="lora", metadata={"help": "'lora' (PEFT adapters) or 'full' fine-tuning."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA branch."})
    lora_target_modules: list[str] = field(default_factory=lambda: list(LLAMA_PROJECTIONS), metadata={"help": (
        "Modules that get adapters (default: all seven LLaMA projections).")})
    merge_lora: bool = field(default=True, metadata={"help": (
        "After LoRA training, also write the merged model to <output_dir>/final (what vLLM serves).")})
    # -- optimisation -----------------------------------------------------------------------------------------
    epochs: float = field(default=1.0, metadata={"help": "Training epochs (ignored when max_steps > 0)."})
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many optimizer steps (-1: by epochs)."})
    batch_size: int = field(default=4, metadata={"help": "Sequences per device per forward pass."})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Forward passes per optimizer step."})
    learning_rate: float = field(default=2e-4, metadata={"help": "Peak learning rate."})
    lr_scheduler: str = field(default="cosine", metadata={"help": "Learning-rate schedule (HF scheduler name)."})
    warmup_ratio: float = field(default=0.0, metadata={"help": "Fraction of the steps spent warming up."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    precision: str = field(default="fp32", metadata={"help": (
        "'fp32', or mixed precision 'bf16' / 'fp16' (fp16 needs a GPU). Master weights stay fp32.")})
    base_dtype: str = field(default="float32", metadata={"help": (
        "dtype of the frozen base weights with method 'lora': 'float32', or 'bfloat16' (half the memory; the "
        "adapters stay fp32; on a CPU with AVX512-BF16/AMX, with attn_implementation 'eager', ~2x faster).")})
    attn_implementation: str = field(default="auto", metadata={"help": (
        "'auto' (transformers' choice, sdpa), 'sdpa' or 'eager' (on CPU with a bfloat16 base: faster).")})
    gradient_checkpointing: bool = field(default=False, metadata={"help": (
        "Recompute activations in the backward pass (less memory, ~30% slower).")})
    deepspeed: str | None = field(default=None, metadata={"help": (
        "DeepSpeed config: a JSON path or a name in train/configs (zero2_offload, zero3_offload, zero0_cpu...). "
        "None trains with the plain HF Trainer.")})
    seed: int = field(default=42, metadata={"help": "Seed of the split, the shuffling and the initialisation."})
    device: str = field(default="auto", metadata={"help": "'auto' (CUDA when present), 'cpu' or 'cuda'."})
    # -- output -----------------------------------------------------------------------------------------------
    output_dir: str = field(default="runs/sft", metadata={"help": (
        "Run folder: checkpoint-<step>/ (resumable), adapter/ (LoRA), final/ (servable HF checkpoint), "
        "summary.json.")})
    save_steps: int = field(default=200, metadata={"help": "Write a checkpoint every this many steps."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Keep at most this many checkpoints."})
    logging_steps: int = field(default=10, metadata={"help": "Log loss every this many steps."})
    eval_steps: int | None = field(default=None, metadata={"help": (
        "Measure the held-out loss every this many steps too (None: only after training).")})
    resume: str = field(default="auto", metadata={"help": (
        "'auto' resumes from the last checkpoint in output_dir when there is one, 'never' starts over, or the "
        "path of a checkpoint folder.")})
    report_to: str = field(default="none", metadata={"help": "HF Trainer integrations to log to ('none', ...)."})

    def __post_init__(self) -> None:
        _coerce_fields(self)
        if not self.model.strip():
            raise ConfigError("model", "is empty: give 'default' or the folder of a HF checkpoint")
        if self.context_length is not None and self.context_length < 16:
            raise ConfigError("context_length", f"must be at least 16 tokens or null, got {self.context_length}")
        _one_of("rope_scaling", self.rope_scaling, ROPE_KINDS)
        _one_of("data_format", self.data_format, DATA_FORMATS)
        _one_of("overlong", self.overlong, ("truncate", "drop"))
        _one_of("method", self.method, METHODS)
        _one_of("precision", self.precision, PRECISIONS)
        _one_of("base_dtype", self.base_dtype, BASE_DTYPES)
        _one_of("attn_implementation", self.attn_implementation, ATTENTION)
        if self.method == "full" and self.base_dtype != "float32":
            raise ConfigError("base_dtype", "full fine-tuning trains every weight, whose master copy stays fp32: "
                                            "keep float32 (precision bf16 gives mixed precision)")
        _one_of("lr_scheduler", self.lr_scheduler, SCHEDULERS)
        _one_of("device", self.device, DEVICES)
        if not self.train_data:
            raise ConfigError("train_data", "is empty: list at least one training file or folder")
        if not 0.0 <= self.eval_fraction < 1.0:
            raise ConfigError("eval_fraction", f"must be in [0, 1), got {self.eval_fraction}")
        if self.eval_data and self.eval_fraction:
            raise ConfigError("eval_fraction", "set either eval_data or eval_fraction, not both")
        if self.max_examples is not None and self.max_examples < 1:
            raise ConfigError("max_examples", f"must be at least 1 or null, got {self.max_examples}")
        if self.max_length < 16:
            raise ConfigError("max_length", f"must be at least 16 tokens, got {self.max_length}")
        if self.context_length is not None and self.max_length > self.context_length:
            raise ConfigError("max_length", f"{self.max_length} exceeds context_length {self.context_length}")
        for name in ("lora_r", "lora_alpha", "batch_size", "gradient_accumulation_steps", "save_steps",
                     "logging_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError("lora_dropout", f"must be in [0, 1), got {self.lora_dropout}")
        if self.method == "lora" and not self.lora_target_modules:
            raise ConfigError("lora_target_modules", "is empty: name the modules that get adapters")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ConfigError("max_steps", f"must be positive, or -1 to train by epochs; got {self.max_steps}")
        if self.max_steps == -1 and self.epochs <= 0:
            raise ConfigError("epochs", f"must be positive when max_steps is -1, got {self.epochs}")
        if self.learning_rate <= 0:
            raise ConfigError("learning_rate", f"must be positive, got {self.learning_rate}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError("warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0 or self.max_grad_norm < 0:
            raise ConfigError("weight_decay" if self.weight_decay < 0 else "max_grad_norm", "must not be negative")
        if self.eval_steps is not None and self.eval_steps < 1:
            raise ConfigError("eval_steps", f"must be at least 1 or null, got {self.eval_steps}")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise ConfigError("save_total_limit", f"must be at least 1 or null, got {self.save_total_limit}")
        if self.precision == "fp16" and self.device == "cpu":
            raise ConfigError("precision", "fp16 mixed precision needs a GPU; use bf16 or fp32 on CPU")
        if not self.output_dir.strip():
            raise ConfigError("output_dir", "is empty")
        if self.resume not in ("auto", "never") and not self.resume.strip():
            raise ConfigError("resume", "use 'auto', 'never' or a checkpoint folder")
        if self.deepspeed is not None:
            self.deepspeed = str(deepspeed_path(self.deepspeed))
            check_deepspeed_config(load_deepspeed_config(self.deepspeed), self)

    # -- helpers ----------------------------------------------------------------------------------------------
    def check_paths(self) -> None:
        """Raise :class:`ConfigError` unless every data file and the resume checkpoint exist."""
        for name in ("train_data", "eval_data"):
            for item in getattr(self, name):
                if not Path(item).exists():
                    raise ConfigError(name, f"{item} does not exist")
        if self.resume not in ("auto", "never") and not Path(self.resume).is_dir():
            raise ConfigError("resume", f"{self.resume} is not a checkpoint folder")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def help(cls) -> dict[str, str]:
        """Field name -> its documentation."""
        return config.field_help(cls)


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(name, f"{value!r} is not one of {', '.join(allowed)}")


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """``value`` as the field's type (YAML reads ``2e-4`` as a string; CLI overrides are all YAML scalars)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(name, value, inner[0])
    if origin is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(name, f"must be a list, got {type(value).__name__}")
        return [_coerce(name, v, args[0]) for v in value]
    if value is None:
        raise ConfigError(name, "must not be null")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(name, f"must be true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ConfigError(name, f"must be an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(name, f"must be an integer, got {value!r}") from None
    if annotation is float:
        if isinstance(value, bool):
            raise ConfigError(name, f"must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(name, f"must be a number, got {value!r}") from None
    if annotation is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(name, f"must be a string, got {type(value).__name__}")
        return str(value)
    return value


def _coerce_fields(cfg: SFTConfig) -> None:
    hints = typing.get_type_hints(SFTConfig)
    for f in dataclasses.fields(cfg):
        setattr(cfg, f.name, _coerce(f.name, getattr(cfg, f.name), hints[f.name]))


# ---------------------------------------------------------------------------------------------------------------
# DeepSpeed JSON files


def deepspeed_path(name: str) -> Path:
    """A DeepSpeed JSON path, or a file name in ``train/configs`` (with or without ``.json``)."""
    for candidate in (Path(name), CONFIGS_DIR / name, CONFIGS_DIR / f"{name}.json"):
        if candidate.is_file():
            return candidate.resolve()
    known = sorted(p.stem for p in CONFIGS_DIR.glob("*.json"))
    raise ConfigError("deepspeed", f"{name!r} is neither a file nor one of train/configs: {', '.join(known)}")


def load_deepspeed_config(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError("deepspeed", f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError("deepspeed", f"{path} must hold a JSON object")
    return data


def check_deepspeed_config(ds: dict[str, Any], cfg: SFTConfig) -> None:
    """What the HF integration would only find out after the model loaded."""
    zero = ds.get("zero_optimization") or {}
    stage = zero.get("stage", 0)
    if stage not in (0, 1, 2, 3):
        raise ConfigError("deepspeed", f"zero_optimization.stage must be 0-3, got {stage!r}")
    if stage == 3 and not zero.get("stage3_gather_16bit_weights_on_model_save", False):
        raise ConfigError("deepspeed", "ZeRO-3 without stage3_gather_16bit_weights_on_model_save saves only a ZeRO "
                                       "checkpoint, which nothing can serve: set it to true")
    for key, ours in (("train_micro_batch_size_per_gpu", cfg.batch_size),
                      ("gradient_accumulation_steps", cfg.gradient_accumulation_steps),
                      ("gradient_clipping", cfg.max_grad_norm)):
        theirs = ds.get(key, "auto")
        if theirs != "auto" and theirs != ours:
            raise ConfigError("deepspeed", f"{key} is {theirs} in the JSON but {ours} in this config: write \"auto\" "
                                           "in the JSON")
    for key, wanted in (("bf16", "bf16"), ("fp16", "fp16")):
        enabled = (ds.get(key) or {}).get("enabled", "auto")
        if enabled is True and cfg.precision != wanted:
            raise ConfigError("precision", f"the DeepSpeed JSON enables {key}: set precision to {wanted} (or "
                                           "\"enabled\": \"auto\" in the JSON)")
    offload = any((zero.get(k) or {}).get("device") in ("cpu", "nvme")
                  for k in ("offload_optimizer", "offload_param"))
    if offload and cfg.device == "cpu" and ds.get("zero_force_ds_cpu_optimizer", True):
        raise ConfigError("deepspeed", "optimizer/parameter offload on a CPU-only run needs DeepSpeed's CPUAdam "
                                       "(a ~2 minute JIT build) and gains nothing: use a zero*_cpu config")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> SFTConfig:
    """A config from a YAML recipe (optional; TOML and JSON work too) and ``key=value`` overrides (values parsed as
    YAML scalars), by :func:`toolbench.config.load_config`."""
    return config.load_config(SFTConfig, path, overrides, error=ConfigError, example="max_steps=10")


def validate_deepspeed(cfg: SFTConfig, hidden_size: int, num_training_steps: int = 1000,
                       world_size: int = 1) -> dict[str, Any]:
    """Fill ``cfg.deepspeed``'s ``auto`` values as the HF Trainer does and have DeepSpeed check the result; no GPU,
    launcher or model is needed (``hidden_size`` stands for the model's). Returns the filled config."""
    import math
    from types import SimpleNamespace

    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    if cfg.deepspeed is None:
        raise ConfigError("deepspeed", "is not set")
    args = SimpleNamespace(
        world_size=world_size, per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, max_grad_norm=cfg.max_grad_norm,
        learning_rate=cfg.learning_rate, adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8,
        weight_decay=cfg.weight_decay, save_on_each_node=False, fp16=cfg.precision == "fp16", fp16_full_eval=False,
        bf16=cfg.precision == "bf16", bf16_full_eval=False,
        get_warmup_steps=lambda n: math.ceil(n * cfg.warmup_ratio))
    model = SimpleNamespace(config=SimpleNamespace(hidden_size=hidden_size))
    try:
        hf = HfTrainerDeepSpeedConfig(load_deepspeed_config(cfg.deepspeed))
        hf.trainer_config_process(args)
        hf.trainer_config_finalize(args, model, num_training_steps)
        filled = dict(hf.config)
        filled["train_batch_size"] = cfg.batch_size * cfg.gradient_accumulation_steps  # DeepSpeed checks per rank
        DeepSpeedConfig(filled)
    except (ValueError, AssertionError, TypeError, KeyError) as exc:
        raise ConfigError("deepspeed", f"{cfg.deepspeed} does not validate: {exc}") from exc
    return hf.config
