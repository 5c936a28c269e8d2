"""``toolbench train ...``: fine-tune a tool model (SFT), convert training data, merge a LoRA adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toolbench.config import options
from train.mix import MixConfig  # light: the command's options come from it (no torch, no transformers)

app = typer.Typer(
    help="Train the tool model: supervised fine-tuning with LoRA or full weights, plain or through DeepSpeed.\n\n"
    "Examples:\n\n"
    "  toolbench train sft --config train/configs/smollm2_lora_cpu.yaml --set train_data=runs/data/calls.jsonl\n\n"
    "  toolbench train sft --config train/configs/smollm2_deepspeed_cpu.yaml --set deepspeed=zero3_cpu\n\n"
    "  deepspeed --num_gpus 8 --no_local_rank --module toolbench train sft "
    "--config train/configs/llama7b_lora_zero2.yaml --set model=/models/Llama-2-7b-hf\n\n"
    "  toolbench train mix --calls runs/demo/calls --catalog runs/demo/crawl/tools --out runs/data/mix\n\n"
    "  toolbench train convert data/reference/toolbench/answer runs/data/toolbench.jsonl --to openai\n\n"
    "  toolbench train merge runs/sft/smollm2-lora-cpu/adapter runs/sft/merged\n\n"
    "  toolbench train export-gguf runs/sft/smollm2-lora-cpu/final runs/sft/smollm2-lora-cpu/model.q8_0.gguf",
    no_args_is_help=True,
)


@app.command("sft")
def sft_cmd(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML recipe (train/configs/*.yaml); fields "
                                                                      "not in it keep their defaults.")] = None,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a field: --set key=value (repeatable; "
                                                                      "values are YAML, e.g. --set "
                                                                      "train_data=[a.jsonl,b.jsonl]).")] = None,
    check: bool = typer.Option(False, "--check", help="Only validate the config (and DeepSpeed JSON) and print it."),
    log: Annotated[Path | None, typer.Option("--log", help="Train in a child process whose whole output is "
                                                          "appended to this file, with a bar of its steps and "
                                                          "loss here (as the demo trains).")] = None,
) -> None:
    """Supervised fine-tuning; writes checkpoints, final/ (servable), adapter/ (LoRA) and summary.json.

    Example: toolbench train sft --config train/configs/smollm2_lora_cpu.yaml --set max_steps=30

    toolbench train sft --config recipe.yaml --log runs/sft/train.log (the trainer's output in the log, a
    progress bar here; rerun to resume from the last checkpoint)
    """
    from train.config import load_config

    cfg = load_config(config, overrides or [])
    if check:
        cfg.check_paths()
        typer.echo(json.dumps(cfg.to_dict(), indent=2))
        return
    if log is not None:
        summary = _sft_child(cfg, config, overrides or [], log)
    else:
        from train.sft import main

        summary = main(cfg).summary
    train = summary["train"]
    figures = [f"{train['global_step']} steps", f"train loss {train['train_loss']:.4f}"
               if train["train_loss"] is not None else "", f"{train['steps_per_s'] or 0:.3f} steps/s",
               f"{train['tokens_per_s'] or 0:.0f} tokens/s", f"peak RSS {summary['peak_rss_mb']:.0f} MB"]
    if "eval_loss" in summary["eval"]:
        figures.append(f"held-out loss {summary['eval']['eval_loss']:.4f}")
    typer.echo(", ".join(f for f in figures if f))
    if summary.get("final_dir"):
        typer.echo(f"serve it: toolbench llm serve --model {summary['final_dir']}")
    typer.echo(f"summary: {Path(cfg.output_dir) / 'summary.json'}")


def _sft_child(cfg, recipe: Path | None, overrides: list[str], log: Path) -> dict:
    """``train sft`` in a child process (:func:`train.progress.run_sft_child`) with a bar of its steps and loss;
    its summary.json once done."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from train.progress import run_sft_child, sft_command

    total = cfg.max_steps if cfg.max_steps > 0 else None
    bar = Progress(TextColumn("train sft"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[note]}"), console=Console(stderr=True))
    with bar:
        task = bar.add_task("steps", total=total, note=f"log {log}")

        def show(now) -> None:
            bar.update(task, completed=now.step, total=now.total,
                       note=f"loss {now.loss}" if now.loss else f"log {log}")

        code = run_sft_child(sft_command(recipe, overrides), log, total=total, on_progress=show)
    if code != 0:
        typer.echo(f"error: training failed (exit status {code}); see {log}", err=True)
        raise typer.Exit(code)
    return json.loads((Path(cfg.output_dir) / "summary.json").read_text(encoding="utf-8"))


@app.command("convert")
def convert_cmd(
    source: Annotated[Path, typer.Argument(help="A data file or folder (OpenAI JSONL, ShareGPT, ToolLLaMA, "
                                                "ToolBench answers).")],
    target: Annotated[Path, typer.Argument(help="The file to write.")],
    to: str = typer.Option("openai", help="openai (JSONL), sharegpt (LLaMA-Factory JSON), toolllama (JSON) or chat."),
    source_format: str = typer.Option("auto", "--from", help="Format of the source (auto: told from each row)."),
    steps: bool = typer.Option(False, help="ToolBench answers: one example per step, as ToolBench trains."),
    only_give_answer: bool = typer.Option(False, help="ToolBench answers: drop trees that gave up."),
) -> None:
    """Convert training data between formats.

    Example: toolbench train convert data/reference/toolbench/answer runs/data/sharegpt.json --to sharegpt
    """
    from train.format import read_examples, write_examples

    examples = read_examples(source, source_format, steps=steps, only_give_answer=only_give_answer)
    write_examples(target, examples, to)
    typer.echo(f"{len(examples)} examples -> {target} ({to})")


@app.command("mix")
@options(MixConfig)  # one option per field of MixConfig (its name, type, default and help)
def mix_cmd(
    settings: dict | None = None,
    config: Annotated[Path | None, typer.Option(help="YAML/TOML/JSON file of MixConfig fields; the options given "
                                                     "override it.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="field=value (a YAML value) over the --config "
                                                   "file, e.g. --set call_examples=64; repeatable.")] = None,
) -> None:
    """Build the fine-tuning mix from `toolbench generate calls` output: call examples plus DFSDT-style runs, the
    shortest first, categories interleaved; writes OUT/train.jsonl (for `train sft`) and OUT/mix.json.

    Example: toolbench train mix --calls runs/demo/calls --catalog runs/demo/crawl/tools --out runs/data/mix
    --call-examples 64 --agent-examples 12

    Example (from a file): toolbench train mix --config mix.yaml --set agent_examples=0
    """
    from annotate.prompts import opening_messages
    from toolbench.config import from_command
    from train.mix import run

    result = run(from_command(MixConfig, settings or {}, config, set_, example="call_examples=64"), opening_messages)
    stats = result.stats
    typer.echo(f"{stats['call_examples']} call + {stats['dfsdt_examples']} DFSDT-style examples, "
               f"{stats['tokens']:,} tokens (longest {stats['longest']}) -> {result.paths['train']}")
    typer.echo(f"mix: {result.paths['mix']}; train on it: toolbench train sft --config <recipe.yaml> "
               f"--set train_data={result.paths['train']}")


@app.command("merge")
def merge_cmd(
    adapter: Annotated[Path, typer.Argument(help="A LoRA adapter folder (<run>/adapter).")],
    target: Annotated[Path, typer.Argument(help="Folder for the merged HF checkpoint.")],
    context_length: int = typer.Option(None, help="The context_length the adapter was trained with, if any."),
    rope_scaling: str = typer.Option("linear", help="The rope_scaling it was trained with."),
    dtype: str = typer.Option("float32", help="float32, bfloat16 or float16."),
) -> None:
    """Merge a LoRA adapter into its base model; the result serves with `toolbench llm serve --model TARGET`."""
    from toolbench.llm.models import resolve_model
    from train.sft import merge_lora, set_environment

    set_environment()
    source = resolve_model(str(adapter))
    if source.kind != "adapter" or source.base is None:
        raise typer.BadParameter(f"{adapter} is not a LoRA adapter folder (no adapter_config.json)")
    merge_lora(source.base, source.path, target, context_length=context_length, rope_scaling=rope_scaling,
               dtype=dtype)
    typer.echo(f"merged -> {target}; serve it: toolbench llm serve --model {target}")


@app.command("export-gguf")
def export_gguf_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A HF LLaMA checkpoint folder (config.json, *.safetensors, "
                                                   "tokenizer; e.g. <run>/final) or a LoRA adapter folder "
                                                   "(<run>/adapter).")],
    out: Annotated[Path, typer.Argument(help="The .gguf file to write (atomically).")],
    quant: str = typer.Option("q8_0", "--quant", "-q", help="f32, f16, bf16 (written directly), or q8_0, q4_1, "
                                                           "q4_k_m, q5_k_m (quantised by llama.cpp: needs "
                                                           "llama-cpp-python)."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Run a prompt through llama.cpp and transformers "
                                                                   "and compare the logits (fails on a mismatch for "
                                                                   "f32/f16/bf16; reports for quantised types)."),
    base_gguf: str = typer.Option("auto", help="auto: copy the tokenizer fields from the packaged SmolLM2 GGUF when "
                                               "the model has its vocabulary; a .gguf path: from that file; none: "
                                               "build them from tokenizer.json."),
    pre_tokenizer: str = typer.Option(None, help="llama.cpp's pre-tokenizer name (gpt-2, smollm, llama-bpe, ...) when "
                                                 "tokenizer.json's is not recognised."),
    prompt: str = typer.Option(None, help="The text the check runs (default: a ChatML tool request)."),
    threads: int = typer.Option(None, help="CPU threads for quantising and checking (default: all)."),
) -> None:
    """Export a tuned model to GGUF for llama.cpp (`toolbench llm serve` with the llama.cpp engine).

    Example: toolbench train export-gguf runs/sft/smollm2-lora-cpu/final runs/sft/smollm2.q8_0.gguf --quant q8_0
    """
    from train.gguf_export import DEFAULT_PROMPT, export_gguf

    summary = export_gguf(model_dir, out, quant=quant, base_gguf=None if base_gguf == "none" else base_gguf,
                          verify=verify, prompt=prompt or DEFAULT_PROMPT, pre_tokenizer=pre_tokenizer,
                          threads=threads)
    typer.echo(f"{summary['source']} -> {summary['out']}: {summary['quant']}, {summary['bytes'] / 1e6:.1f} MB, "
               f"{summary['tensors']} tensors, {summary['seconds']:.1f} s; tokenizer {summary['tokenizer']}")
    check = summary.get("verify")
    if check:
        typer.echo(f"check ({check['positions']} positions): next-token agreement {check['argmax_agreement']:.1%}, "
                   f"max logit difference {check['max_abs_diff']:.4g} ({check['max_rel_diff']:.2%} of the range), "
                   f"tokenizer {'agrees' if check['tokenizer_agrees'] else 'DIFFERS'}")
