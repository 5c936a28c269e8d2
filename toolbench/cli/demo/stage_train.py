"""The demo's training stages: the LoRA data (``toolbench train mix``), fine-tuning (``toolbench train sft`` in a
child process, resumed from its checkpoints) and the GGUF export for llama.cpp (``toolbench train export-gguf``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolbench.cli.demo import stage_common as common
from toolbench.cli.demo.stage_runner import DemoContext, DemoError, StageOutput
from toolbench.formats.atomic import write_text_atomic


def mix_config(ctx: DemoContext, out: Path) -> Any:
    """``toolbench train mix``'s config (:mod:`train.mix`) with the profile's sizes: generated call examples and
    generated samples written as DFSDT-style runs, into ``out`` (train.jsonl, mix.json)."""
    p = ctx.profile
    reference = bool(p.reference_catalog and p.reference_calls)  # the call-data stage made reference/calls
    return profile_mix_config(p, calls=ctx.path("calls"), catalog=common.working_catalog(ctx), out=out,
                              reference_calls=ctx.path("reference", "calls") if reference else None)


def profile_mix_config(p: Any, *, calls: Path, catalog: Path, out: Path, reference_calls: Path | None) -> Any:
    """The mix config profile ``p`` asks for, over the given folders (also used by benchmarks/demo_mix.py)."""
    from train.mix import MixConfig

    return MixConfig(calls=str(calls), catalog=str(catalog), out=str(out),
                     call_examples=p.train_call_examples, agent_examples=p.train_agent_examples,
                     max_length=p.train_max_length, agent_max_length=p.train_agent_max_length,
                     observation_chars=p.observation_chars,
                     reference_calls=str(reference_calls) if reference_calls else None,
                     reference_call_examples=p.train_reference_examples if reference_calls else 0,
                     category_weights=dict(p.train_category_weights),
                     kind_weights=dict(p.train_kind_weights))


def training_mix(ctx: DemoContext, out: Path) -> dict[str, Any]:
    """The LoRA data through ``toolbench train mix``; returns its stats."""
    from annotate.prompts import opening_messages
    from train.mix import MixError, run

    try:
        return run(mix_config(ctx, out), opening_messages).stats
    except MixError as exc:
        raise DemoError(f"{exc} (then rerun with --fresh)") from None


def sft_recipe(ctx: DemoContext, data_file: Path, longest: int) -> dict[str, Any]:
    """``toolbench train sft``'s recipe from the profile (written to ``sft/recipe.yaml``): LoRA on the mix in
    ``data_file``, whose longest example has ``longest`` tokens."""
    p = ctx.profile
    return {
        "model": "default", "train_data": [str(data_file)], "max_length": max(longest, 16), "overlong": "drop",
        # on a CPU: a bfloat16 base and no LoRA dropout train ~1.3-1.6x faster than fp32 with dropout 0.05;
        # sdpa attention instead of eager halves the peak memory at the mix's longest examples (benchmarks/lora_cpu.py
        # --memory: 3.3 instead of 6.9 GB at 1,265 tokens; the demo's 544 steps peaked at 7.8 GB instead of 11.7)
        "method": "lora", "lora_r": p.lora_r, "lora_alpha": 2 * p.lora_r, "lora_dropout": 0.0,
        "base_dtype": "bfloat16", "attn_implementation": "sdpa",
        "max_steps": p.train_steps, "batch_size": p.train_batch_size,
        "gradient_accumulation_steps": p.train_grad_accum, "learning_rate": p.learning_rate,
        "lr_scheduler": "cosine", "warmup_ratio": 0.05, "precision": "fp32", "device": "cpu", "seed": p.seed,
        "output_dir": str(ctx.path("sft", "run")), "save_steps": max(1, p.train_steps // 3), "save_total_limit": 1,
        "logging_steps": 1, "merge_lora": True,
    }


def stage_sft(ctx: DemoContext) -> StageOutput:
    """The mix (made once), checked against BFCL, then LoRA fine-tuning in a child process."""
    import yaml

    from toolbench.contamination import check_training_examples
    from toolbench.formats.jsonl import read_jsonl as read_examples

    p = ctx.profile
    folder = ctx.path("sft")
    data_file = folder / "data" / "train.jsonl"
    if not data_file.exists():
        training_mix(ctx, folder / "data")
    mix = json.loads((folder / "data" / "mix.json").read_text(encoding="utf-8"))
    # never train on BFCL: the trainer refuses too
    contamination = check_training_examples(read_examples(data_file), str(data_file))
    if contamination.overlaps:
        raise DemoError(contamination.message())
    ctx.console.print(f"BFCL overlap in the training data: {contamination.count} of {contamination.examples} "
                      f"examples" + (f" ({contamination.warning})" if contamination.warning else ""))
    run_dir = folder / "run"
    recipe = sft_recipe(ctx, data_file, mix["longest"])
    recipe_path = folder / "recipe.yaml"
    write_text_atomic(recipe_path, "# written by toolbench demo: toolbench train sft --config this-file\n"
                      + yaml.safe_dump(recipe, sort_keys=False))
    _train_subprocess(ctx, recipe_path, p.train_steps, ctx.path("logs", "train.log"))
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    train = summary["train"]
    figures = {"examples": mix, "steps": train["global_step"], "first_loss": train["first_logged_loss"],
               "last_loss": train["last_logged_loss"], "train_loss": train["train_loss"],
               "tokens_per_s": train["tokens_per_s"], "peak_rss_mb": summary["peak_rss_mb"],
               "trainable_parameters": summary["parameters"]["trainable"],
               "bfcl_overlap": contamination.count if contamination.checked else None}
    reference = mix.get("reference_call_examples", 0)
    note = (f"LoRA r={p.lora_r} on {mix['call_examples']} call"
            + (f" ({reference} from the reference catalog)" if reference else "")
            + f" + {mix['dfsdt_examples']} DFSDT-style examples ({mix['tokens']:,} tokens), "
            f"{train['global_step']} steps, loss {train['first_logged_loss']:.3f} -> {train['last_logged_loss']:.3f}"
            if train["first_logged_loss"] is not None else f"{train['global_step']} steps")
    note += f"; BFCL overlap {contamination.count}" if contamination.checked else "; BFCL overlap not checked"
    return StageOutput(figures, {"LoRA adapter": str(run_dir / "adapter"), "tuned model (merged)": str(run_dir / "final"),
                                 "training data": str(data_file), "training recipe": str(recipe_path)}, note)


def uses_llamacpp(profile: Any) -> bool:
    """Whether the model servers run on llama.cpp (profile field ``engine``; ``auto``: when its build is here)."""
    engine = getattr(profile, "engine", "auto")
    if engine == "transformers":
        return False
    from toolbench.llm.llamacpp_lib import llama_cpp_available

    ok, why = llama_cpp_available()
    if engine == "llamacpp" and not ok:
        raise DemoError(f"profile engine=llamacpp, but {why}")
    return ok


def tuned_gguf(out: Path, profile: Any) -> Path:
    return out / "sft" / f"tuned.{profile.tuned_quant}.gguf"


def stage_export(ctx: DemoContext) -> StageOutput:
    """The merged tuned checkpoint as a GGUF file (``toolbench train export-gguf``), for the llama.cpp engine."""
    p = ctx.profile
    if not uses_llamacpp(p):
        return StageOutput({"skipped": "llama.cpp engine not in use"}, {},
                           "skipped: the tuned model is served by the transformers engine")
    from train.gguf_export import export_gguf

    target = tuned_gguf(ctx.out, p)
    summary = export_gguf(ctx.path("sft", "run", "final"), target, quant=p.tuned_quant, verify=True)
    check = summary.get("verify") or {}
    figures = {"quant": p.tuned_quant, "bytes": summary.get("bytes"), "seconds": summary.get("seconds"),
               "argmax_agreement": check.get("argmax_agreement"), "max_abs_diff": check.get("max_abs_diff")}
    note = (f"{p.tuned_quant}, {summary.get('bytes', 0) / 1e6:.0f} MB; next-token agreement with the checkpoint "
            f"{check.get('argmax_agreement', float('nan')):.0%}")
    return StageOutput(figures, {"tuned model (GGUF)": str(target)}, note)


def tuned_model(out: Path, profile: Any) -> str:
    """What the model server serves as the tuned model: its GGUF export on the llama.cpp engine, else the merged
    checkpoint."""
    return str(tuned_gguf(out, profile)) if uses_llamacpp(profile) else str(out / "sft" / "run" / "final")


def calibration_file(out: Path) -> Path:
    return out / "sft" / "calibration.json"


def stage_calibrate(ctx: DemoContext) -> StageOutput:
    """The tuned model's call threshold (``toolbench llm calibrate``) on BFCL's dev slice or on the examples the
    mix left out (profile ``calibration``); the tuned model server then takes its call-or-text decision by it."""
    from toolbench.errors import ToolbenchError
    from toolbench.llm.call_gate import calibrate_model, labelled_requests, write_calibration
    from toolbench.llm.engines import ServerConfig

    p = ctx.profile
    target = calibration_file(ctx.out)
    target.unlink(missing_ok=True)
    data = ctx.path("sft", "data", "calibration.jsonl")
    why = ("profile calibration is off" if p.calibration == "off"
           else f"{data} does not exist" if p.calibration == "mix" and not data.exists() else None)
    if why:
        return StageOutput({"skipped": why}, {}, f"skipped ({why}): greedy decoding decides call or text")
    if p.calibration == "bfcl-dev":
        from eval.public_sample import dev_requests

        categories = [c.strip() for c in p.bfcl_categories.split(",") if c.strip()]
        requests, source = dev_requests(categories), "BFCL's dev slice"
    else:
        requests, source = labelled_requests(data), "the generated examples the mix left out"
    try:
        result = calibrate_model(ServerConfig(model=tuned_model(ctx.out, p), engine=p.engine, max_batch=1),
                                 requests, limit=p.calibration_requests, seed=p.seed, source=source)
    except ToolbenchError as exc:  # requests of one kind only
        return StageOutput({"skipped": str(exc)}, {}, f"skipped ({exc}): greedy decoding decides call or text")
    write_calibration(result, target)
    figures = {k: getattr(result, k) for k in ("threshold", "call_recall", "text_recall", "balanced_accuracy", "auc",
                                               "calls", "texts", "source")}
    note = (f"call when P(call) >= {result.threshold:.3g}, chosen on {source} ({result.calls} + {result.texts} "
            f"requests: {result.call_recall:.0%} of calls and {result.text_recall:.0%} of text answers kept, AUC "
            f"{result.auc:.2f})")
    return StageOutput(figures, {"call threshold": str(target)}, note)


def _train_subprocess(ctx: DemoContext, recipe: Path, steps: int, log: Path) -> None:
    """``toolbench train sft --config recipe`` in a child process (:func:`train.progress.run_sft_child`, as
    ``toolbench train sft --log``), its steps and loss shown as a progress bar (it resumes from its last
    checkpoint by itself). Interrupted, the child is terminated."""
    from train.progress import run_sft_child, sft_command

    with common.progress(ctx.console, "LoRA fine-tuning") as progress:
        task = progress.add_task("steps", total=steps, note="")

        def show(now: Any) -> None:
            progress.update(task, completed=now.step, note=f"loss {now.loss}" if now.loss else "")

        code = run_sft_child(sft_command(recipe), log, total=steps, threads=ctx.profile.train_threads or None,
                             on_progress=show)
        if code != 0:
            raise DemoError(f"fine-tuning failed (exit status {code}); see {log}")
        progress.update(task, completed=steps)
