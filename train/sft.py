"""Supervised fine-tuning of a tool model: HF Trainer, full or LoRA (PEFT), optionally through DeepSpeed.

``main(cfg)`` runs one training job described by an :class:`~train.config.SFTConfig`:

1. read the chat examples (:mod:`train.format`), refuse training data that overlaps BFCL's test sets
   (:mod:`toolbench.contamination`; the per-file reports go to ``summary.json``), hold out a split, encode them
   with the loss on assistant turns only (:mod:`train.encode`), optionally packed;
2. load the base model (``default`` is the packaged SmolLM2-135M-Instruct, see :mod:`toolbench.llm.models`),
   extend its context with RoPE scaling when ``context_length`` asks, wrap it with LoRA adapters or train it all;
3. train with the HF Trainer, plain or with a DeepSpeed config; checkpoints go to ``<output_dir>/checkpoint-N``
   and a rerun resumes from the last one (``resume: auto``);
4. write ``<output_dir>/final`` — a plain HF checkpoint (safetensors, tokenizer, chat template) that
   ``toolbench llm serve --model`` and vLLM load; for LoRA also ``<output_dir>/adapter`` and, with ``merge_lora``,
   ``final`` holds the merged weights;
5. measure the loss on the held-out split (and run an optional ``eval_hook`` on ``final``), and write
   ``<output_dir>/summary.json`` with the figures (steps/s, tokens/s, losses, peak RSS).

One process trains on one device (CPU here). Several GPUs or nodes: start the same command under the
``deepspeed`` or ``torchrun`` launcher (docs/train.md, "GPUs, one node"); each process reads its rank from the
environment. A single process given a DeepSpeed config gets ``RANK=0 WORLD_SIZE=1`` and a free ``MASTER_PORT`` by
itself.
"""

from __future__ import annotations

import json
import logging
import os
import random
import resource
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.config import SFTConfig
from train.errors import ConfigError, TrainError

log = logging.getLogger(__name__)

EvalHook = Callable[[Path], dict[str, Any]]


@dataclass
class TrainResult:
    """Where a run put its outputs, and its figures (also in ``summary.json``)."""

    output_dir: Path
    final_dir: Path | None
    adapter_dir: Path | None
    summary: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# environment


def set_environment() -> None:
    """Offline hub, and DeepSpeed's JIT-compiled ops cached in a folder of ours (not ~/.cache/torch_extensions)."""
    from toolbench.llm.models import set_offline, toolbench_home

    set_offline()
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(toolbench_home() / "torch_extensions"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def single_process_env() -> None:
    """What a launcher would set, for one DeepSpeed process started without one."""
    if "WORLD_SIZE" in os.environ or "LOCAL_RANK" in os.environ:
        return  # started by deepspeed/torchrun
    os.environ.update({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(free_port())})


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# ---------------------------------------------------------------------------------------------------------------
# data


def load_splits(cfg: SFTConfig, contamination: list[Any] | None = None) -> tuple[list[Any], list[Any]]:
    """Training and held-out examples. Every training file is checked against BFCL's test data first
    (:func:`toolbench.contamination.require_no_bfcl`: an overlap raises, naming the example); the reports are
    appended to ``contamination`` when given."""
    from toolbench.contamination import require_no_bfcl
    from train.format import read_examples

    def read(paths: list[str], check: bool = False) -> list[Any]:
        out = []
        for p in paths:
            examples = read_examples(p, cfg.data_format, steps=cfg.toolbench_steps,
                                     only_give_answer=cfg.only_give_answer)
            if check:
                report = require_no_bfcl(examples, str(p))
                if contamination is not None:
                    contamination.append(report)
            out += examples
        return out

    train = read(cfg.train_data, check=True)
    held = read(cfg.eval_data) if cfg.eval_data else []
    if not cfg.eval_data and cfg.eval_fraction:
        order = list(range(len(train)))
        random.Random(cfg.seed).shuffle(order)
        n_eval = max(1, round(len(train) * cfg.eval_fraction))
        held = [train[i] for i in sorted(order[:n_eval])]
        train = [train[i] for i in sorted(order[n_eval:])]
    if cfg.max_examples is not None:
        train = train[:cfg.max_examples]
    if not train:
        raise ConfigError("train_data", "holds no usable training example")
    return train, held


def encode_splits(cfg: SFTConfig, tokenizer: Any, train: list[Any], held: list[Any]) -> tuple[list, list, dict]:
    from train.encode import encode_examples, pack

    enc_train, train_stats = encode_examples(train, tokenizer, cfg.max_length, cfg.overlong)
    enc_held, held_stats = encode_examples(held, tokenizer, cfg.max_length, cfg.overlong)
    if not enc_train:
        raise ConfigError("max_length", f"no training example has a target token within {cfg.max_length} tokens "
                                        f"({train_stats.reasons})")
    if cfg.packing:
        enc_train = pack(enc_train, cfg.max_length)
    stats = {"train": train_stats.to_dict(), "eval": held_stats.to_dict(), "train_sequences": len(enc_train)}
    return [e.to_features() for e in enc_train], [e.to_features() for e in enc_held], stats


# ---------------------------------------------------------------------------------------------------------------
# model


def base_checkpoint(spec: str) -> Path:
    """The folder of the base model's HF checkpoint (``default`` is converted on first use)."""
    from toolbench.llm.models import ModelLoadError, resolve_model

    try:
        source = resolve_model(spec)
    except ModelLoadError as exc:
        raise ConfigError("model", str(exc)) from exc
    if source.kind == "adapter":
        raise ConfigError("model", f"{spec} is a LoRA adapter; train from its base model, or from a merged "
                                   "checkpoint (<run>/final)")
    return source.path


def apply_context_length(config: Any, length: int | None, kind: str = "linear") -> dict[str, Any] | None:
    """Extend ``config`` to ``length`` positions with RoPE scaling; returns the scaling set, or None when the
    model already reaches that far."""
    current = int(config.max_position_embeddings)
    if length is None or length <= current:
        return None
    factor = length / current
    if hasattr(config, "rope_parameters"):  # transformers >= 5
        params = dict(config.rope_parameters or {})
        params.update({"rope_type": kind, "factor": factor})
        if kind in ("yarn", "dynamic"):
            params["original_max_position_embeddings"] = current
        config.rope_parameters = params
        scaling = params
    else:  # transformers 4.x
        scaling = {"rope_type": kind, "type": kind, "factor": factor}
        if kind == "yarn":
            scaling["original_max_position_embeddings"] = current
        config.rope_scaling = scaling
    config.max_position_embeddings = length
    return scaling


def load_for_training(cfg: SFTConfig, base: Path) -> tuple[Any, Any]:
    """(model, tokenizer): the base model (fp32, or ``base_dtype`` under LoRA) with ``use_cache`` off (packing
    needs it), context extended."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
        config = AutoConfig.from_pretrained(str(base), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError("model", f"cannot load {base}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    apply_context_length(config, cfg.context_length, cfg.rope_scaling)
    if cfg.max_length > config.max_position_embeddings:
        raise ConfigError("max_length", f"{cfg.max_length} exceeds the model's {config.max_position_embeddings} "
                                        "positions: lower it or set context_length (RoPE scaling)")
    config.use_cache = False
    extra = {} if cfg.attn_implementation == "auto" else {"attn_implementation": cfg.attn_implementation}
    dtype = getattr(torch, cfg.base_dtype) if cfg.method == "lora" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(str(base), config=config, dtype=dtype, local_files_only=True,
                                                 **extra)
    return model, tokenizer


def add_lora(cfg: SFTConfig, model: Any) -> Any:
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in cfg.lora_target_modules if m not in present]
    if missing:
        raise ConfigError("lora_target_modules", f"the model has no module named {missing}")
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.lora_target_modules), task_type="CAUSAL_LM", bias="none")
    if cfg.gradient_checkpointing:
        model.enable_input_require_grads()
    return get_peft_model(model, lora)


def enable_cache(checkpoint: Path) -> None:
    """Training turns the KV cache off; a checkpoint to serve wants it on."""
    path = checkpoint / "config.json"
    config = json.loads(path.read_text())
    if config.get("use_cache") is False:
        config["use_cache"] = True
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def count_parameters(model: Any) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def merge_lora(base: Path, adapter_dir: Path, out_dir: Path, *, context_length: int | None = None,
               rope_scaling: str = "linear", dtype: str = "float32") -> Path:
    """Merge a LoRA adapter into its base model and save a plain HF checkpoint (with the adapter's tokenizer)."""
    import torch
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(str(base), local_files_only=True)
    apply_context_length(config, context_length, rope_scaling)
    config.use_cache = True
    model = AutoModelForCausalLM.from_pretrained(str(base), config=config, dtype=getattr(torch, dtype),
                                                 local_files_only=True)
    merged = PeftModel.from_pretrained(model, str(adapter_dir), local_files_only=True).merge_and_unload()
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer_dir = adapter_dir if (adapter_dir / "tokenizer_config.json").is_file() else base
    AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True).save_pretrained(str(out_dir))
    return out_dir


# ---------------------------------------------------------------------------------------------------------------
# trainer


def training_arguments(cfg: SFTConfig, has_eval: bool) -> Any:
    import torch
    from transformers import TrainingArguments

    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was asked but no CUDA device is available; use cpu or auto")
    periodic_eval = has_eval and cfg.eval_steps is not None
    return TrainingArguments(
        output_dir=cfg.output_dir,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        bf16=cfg.precision == "bf16",
        fp16=cfg.precision == "fp16",
        gradient_checkpointing=cfg.gradient_checkpointing,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if periodic_eval else "no",
        eval_steps=cfg.eval_steps if periodic_eval else None,
        prediction_loss_only=True,
        seed=cfg.seed,
        data_seed=cfg.seed,
        deepspeed=cfg.deepspeed,
        report_to=[] if cfg.report_to == "none" else [cfg.report_to],
        use_cpu=cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available()),
        remove_unused_columns=False,
        dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding",
        use_cache=False,
    )


def build_trainer(cfg: SFTConfig, model: Any, tokenizer: Any, train_features: list, eval_features: list) -> Any:
    from transformers import Trainer

    from train.encode import Collator

    args = training_arguments(cfg, bool(eval_features))
    return Trainer(model=model, args=args, train_dataset=train_features, eval_dataset=eval_features or None,
                   data_collator=Collator(pad_token_id=tokenizer.pad_token_id), processing_class=tokenizer)


def resume_checkpoint(cfg: SFTConfig) -> str | None:
    """The checkpoint to resume from: ``resume`` itself, none (``never``), or with ``auto`` the last one in the
    run folder. A checkpoint the trainer was writing when it was interrupted has no trainer_state.json: resuming
    from it would fail, so ``auto`` deletes it first (the one before it is used)."""
    if cfg.resume == "never":
        return None
    if cfg.resume != "auto":
        return cfg.resume
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(cfg.output_dir)
    if not out.is_dir():
        return None
    for checkpoint in out.glob("checkpoint-*"):
        if checkpoint.is_dir() and not (checkpoint / "trainer_state.json").exists():
            shutil.rmtree(checkpoint)
    return get_last_checkpoint(str(out))


# ---------------------------------------------------------------------------------------------------------------
# entry point


def main(cfg: SFTConfig, eval_hook: EvalHook | None = None) -> TrainResult:
    """Train as ``cfg`` says; see the module docstring for what is written where."""
    started = time.time()
    set_environment()
    cfg.check_paths()
    if cfg.deepspeed:
        try:
            import deepspeed  # noqa: F401
        except ImportError as exc:
            raise TrainError("deepspeed is set but the 'deepspeed' package is not installed") from exc
        single_process_env()
    import torch

    torch.manual_seed(cfg.seed)
    contamination: list[Any] = []
    train, held = load_splits(cfg, contamination)  # refuses data that overlaps BFCL, before any model loads
    base = base_checkpoint(cfg.model)
    model, tokenizer = load_for_training(cfg, base)
    train_features, eval_features, data_stats = encode_splits(cfg, tokenizer, train, held)
    data_stats["bfcl_contamination"] = [report.to_dict() for report in contamination]
    if cfg.method == "lora":
        model = add_lora(cfg, model)
    trainable, total = count_parameters(model)
    log.info("training %s (%s): %d of %d parameters, %d sequences", base, cfg.method, trainable, total,
             len(train_features))

    trainer = build_trainer(cfg, model, tokenizer, train_features, eval_features)
    resume = resume_checkpoint(cfg)
    output = trainer.train(resume_from_checkpoint=resume)
    trainer.save_state()

    out = Path(cfg.output_dir)
    final_dir: Path | None = out / "final"
    adapter_dir: Path | None = None
    if cfg.method == "lora":
        adapter_dir = out / "adapter"
        trainer.save_model(str(adapter_dir))  # adapter + tokenizer (gathered under ZeRO-3)
    else:
        trainer.save_model(str(final_dir))
    main_process = trainer.is_world_process_zero()
    if cfg.method == "full" and main_process:
        enable_cache(final_dir)

    eval_metrics: dict[str, Any] = {}
    if eval_features:
        eval_metrics = trainer.evaluate()
        if "eval_loss" in eval_metrics:
            eval_metrics["eval_perplexity"] = float(torch.exp(torch.tensor(eval_metrics["eval_loss"])))
    state = trainer.state
    del trainer, model

    if cfg.method == "lora":
        if cfg.merge_lora and main_process:
            merge_dtype = {"bf16": "bfloat16", "fp16": "float16"}.get(cfg.precision, "float32")
            merge_lora(base, adapter_dir, final_dir, context_length=cfg.context_length,
                       rope_scaling=cfg.rope_scaling, dtype=merge_dtype)
        elif not cfg.merge_lora:
            final_dir = None
    if eval_hook is not None and main_process and final_dir is not None:
        eval_metrics.update(eval_hook(final_dir))

    metrics = dict(output.metrics)
    runtime = metrics.get("train_runtime") or 0.0
    tokens = int(state.num_input_tokens_seen or 0)
    losses = [h["loss"] for h in state.log_history if "loss" in h]
    summary = {
        "config": cfg.to_dict(),
        "base_model": str(base),
        "parameters": {"trainable": trainable, "total": total},
        "data": data_stats,
        "resumed_from": resume,
        "train": {
            "global_step": state.global_step,
            "epoch": state.epoch,
            "train_loss": metrics.get("train_loss"),
            "first_logged_loss": losses[0] if losses else None,
            "last_logged_loss": losses[-1] if losses else None,
            "runtime_s": runtime,
            "steps_per_s": metrics.get("train_steps_per_second"),
            "samples_per_s": metrics.get("train_samples_per_second"),
            "tokens_seen": tokens,
            "tokens_per_s": tokens / runtime if runtime else None,
        },
        "eval": eval_metrics,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "wall_s": round(time.time() - started, 1),
        "final_dir": str(final_dir) if final_dir else None,
        "adapter_dir": str(adapter_dir) if adapter_dir else None,
    }
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return TrainResult(out, final_dir, adapter_dir, summary)
