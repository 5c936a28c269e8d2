"""``toolbench eval ...``: score models. ``ast``: AST accuracy with the Berkeley Function Calling Leaderboard's
rules, of predictions made elsewhere or of a model run on the set (``--base-url``/``--model``, :mod:`eval.predict`). ``judge pass-rate`` /
``judge win-rate``: ToolEval's pass rate, StableToolBench's SoPR and SoWR with an LLM judge; ``judge recompute``:
the same figures from StableToolBench's stored judge outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from eval.ast_run import AstRunConfig  # light: the options are built from it
from eval.public_run import PublicBfclConfig
from toolbench.cli.eval_judge import judge_app
from toolbench.config import options
from toolbench.errors import ToolbenchError

app = typer.Typer(
    help="Evaluate models.\n\n"
    "Examples:\n\n"
    "  toolbench eval ast --dataset bfcl:simple_python --predictions preds.jsonl --out runs/ast/simple.jsonl\n\n"
    "  toolbench eval ast --dataset tests.jsonl --answers answers.jsonl --predictions preds.jsonl "
    "--out runs/ast/mine.jsonl\n\n"
    "  toolbench eval ast --dataset bfcl:simple_python --base-url http://127.0.0.1:8000/v1 "
    "--model smollm2-135m-instruct --out runs/ast/smollm2/simple_python.jsonl\n\n"
    "  toolbench eval bfcl-public --base-url http://127.0.0.1:8000/v1 --model smollm2-135m-instruct "
    "--out runs/public_bfcl/smollm2\n\n"
    "  toolbench eval tiers runs/calls/heldout/bfcl_questions.jsonl --samples runs/calls/samples.jsonl "
    "--out runs/eval/questions.jsonl\n\n"
    "  toolbench eval judge pass-rate data/model_predictions_converted/mymodel/G1_instruction.json "
    "--base-url http://127.0.0.1:8000/v1 --model smollm2-135m-instruct --out runs/judge/mymodel",
    no_args_is_help=True,
    add_completion=False,
)


app.add_typer(judge_app, name="judge")  # toolbench eval judge ...: toolbench/cli/eval_judge.py


@app.callback()
def _group() -> None:
    """Evaluate models (a group even while it has one command, so `toolbench eval ast` stays stable)."""


@app.command("ast")
@options(AstRunConfig)
def ast_command(
    settings: dict,  # one option per AstRunConfig / RunnerConfig field
    config: Annotated[Path | None, typer.Option(help="YAML/TOML/JSON file of AstRunConfig fields (the model's "
                                                     "request settings flat or under 'runner').")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="field=value (a YAML value) over the --config "
                                                   "file, e.g. --set limit=20; repeatable.")] = None,
) -> None:
    """AST accuracy (BFCL's rules) on a BFCL-format set, per category: of predictions made elsewhere, or of a model
    run here (--base-url/--model). Settings come from the defaults, then --config, then --set, then the options
    given.

    Examples: toolbench eval ast --dataset bfcl:multiple --predictions preds.jsonl --out runs/ast/multiple.jsonl

    toolbench eval ast --dataset bfcl:simple_python --base-url http://127.0.0.1:8000/v1 --model smollm2-135m-instruct
    --out runs/ast/smollm2/simple_python.jsonl

    toolbench eval ast --config ast.yaml --set limit=20
    """
    from eval import ast_score
    from eval.ast_run import AstConfigError, run
    from toolbench.config import from_command

    cfg = from_command(AstRunConfig, settings, config, set_, error=AstConfigError, example="limit=20")
    progress = _progress(f"eval ast {cfg.name or cfg.model}") if cfg.running else None
    counts = {"cached": 0, "errors": 0}
    task = None

    def on_start(total: int) -> None:
        nonlocal task
        if progress is not None:
            task = progress.add_task("entries", total=total, note="")

    def on_done(prediction) -> None:
        counts["cached"] += prediction.cached
        counts["errors"] += prediction.error is not None
        if progress is not None and task is not None:
            progress.update(task, advance=1, note=f"cached {counts['cached']} · request errors {counts['errors']}")

    if progress is not None:
        with progress:
            result = run(cfg, on_start, on_done)
    else:
        result = run(cfg)
    outcome, paths = result.outcome, result.paths
    typer.echo(ast_score.summary_markdown(outcome.summary))
    written = [f"{len(outcome.rows)} verdicts to {cfg.out}", f"summary to {paths['summary']} and {paths['markdown']}",
               f"per-API accuracy to {paths['per_api']}"]
    if "predictions" in paths:
        written.append(f"predictions to {paths['predictions']}")
    typer.echo("Wrote " + "; ".join(written))


def _progress(label: str):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[note]}"), console=Console(stderr=True))


# -- the public BFCL block ---------------------------------------------------------------------------------------------

@app.command("bfcl-public")
@options(PublicBfclConfig)
def bfcl_public_command(
    settings: dict,  # one option per PublicBfclConfig field
    config: Annotated[Path | None, typer.Option(help="YAML/TOML/JSON file of PublicBfclConfig fields.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="field=value (a YAML value) over the --config "
                                                   "file, e.g. --set per_category=20; repeatable.")] = None,
) -> None:
    """The public BFCL block: a model on a fixed, stratified sample of BFCL's public categories, with 95%
    intervals, ours and "BFCL would report" figures, and every prediction kept for BFCL's own checker. Settings
    come from the defaults, then --config, then --set, then the options given.

    Examples: toolbench eval bfcl-public --base-url http://127.0.0.1:8000/v1 --model smollm2-135m-instruct
    --out runs/public_bfcl/base

    toolbench eval bfcl-public --base-url http://127.0.0.1:8001/v1 --model tuned --out runs/public_bfcl/tuned
    --sample runs/public_bfcl/base/sample.json

    toolbench eval bfcl-public --base-url URL --model M --out runs/public_bfcl/dev --split dev (compare recipes
    here; report the test slice)

    toolbench eval bfcl-public --base-url URL --model M --out runs/public_bfcl/all --categories
    simple_python,live_simple --per-category all --tool-choice required
    """
    from eval import public_bfcl
    from eval.public_run import PublicConfigError, run
    from toolbench.config import from_command

    cfg = from_command(PublicBfclConfig, settings, config, set_, error=PublicConfigError,
                       example="per_category=20")
    progress = _progress(f"bfcl-public {cfg.name or cfg.model}")
    state: dict[str, Any] = {}

    def on_start(sample: Any, total: int) -> None:
        state["sample"] = sample
        state["task"] = progress.add_task("entries", total=total, note="")

    with progress:
        summary = run(cfg, on_start=on_start, on_done=lambda _: progress.update(state["task"], advance=1))
    typer.echo(public_bfcl.summary_markdown(summary))
    typer.echo(f"Wrote {state['sample'].size} entries' predictions and verdicts under {cfg.out} "
               f"(summary: {Path(cfg.out) / (public_bfcl.SUMMARY_NAME + '.json')})")


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_summary(out: Path, stem: str, summary: dict) -> tuple[Path, Path, str]:
    from eval import leaderboard

    json_path, md_path = out / f"{stem}.summary.json", out / f"{stem}.summary.md"
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = leaderboard.summary_markdown(summary)
    md_path.write_text(markdown, encoding="utf-8")
    return json_path, md_path, markdown



# -- the seeds' evaluations: tiers, hallucination, schema token cost ------------------------------------------------


@app.command("tiers")
def tiers_command(
    questions: Annotated[Path, typer.Argument(help="BFCL questions (JSON lines) exported by `toolbench generate "
                                              "calls` (e.g. <calls>/heldout/bfcl_questions.jsonl).")],
    samples: Annotated[Path, typer.Option(help="The samples they came from: <calls>/samples.jsonl.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the labelled entries (JSON lines), the "
                                      "--dataset of `toolbench eval ast` and `toolbench eval report`.")],
    pick: Annotated[int | None, typer.Option(help="Keep N entries: categories interleaved, a seeded order within "
                                             "each (the same N whatever the file's order).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of --pick.")] = 0,
    answers: Annotated[Path | None, typer.Option(help="Possible answers of the questions (e.g. "
                                                 "<calls>/heldout/bfcl_possible_answer.jsonl): the kept entries' "
                                                 "answers are written to --answers-out.")] = None,
    answers_out: Annotated[Path | None, typer.Option(help="Where the kept entries' answers go (default: "
                                                     "possible_answer.jsonl beside --out).")] = None,
) -> None:
    """Label BFCL entries with a difficulty tier (simple, multiple, parallel, parallel_multiple, multi_turn,
    enterprise for complex arguments) and an entity (real/fake, the hallucination test) from their samples;
    optionally keep a seeded pick of them, with their answers.

    Example: toolbench eval tiers runs/calls/heldout/bfcl_questions.jsonl --samples runs/calls/samples.jsonl
    --out runs/eval/heldout/questions.jsonl

    Example (60 of them, with their answers, as the demo scores): toolbench eval tiers
    runs/calls/heldout/bfcl_questions.jsonl --samples runs/calls/samples.jsonl --pick 60 --seed 0
    --answers runs/calls/heldout/bfcl_possible_answer.jsonl --out runs/eval/heldout/questions.jsonl
    """
    from eval.tiers import label_files

    if answers is not None and answers_out is None:
        answers_out = out.parent / "possible_answer.jsonl"
    counts = label_files(questions, samples, out, pick=pick, seed=seed, answers=answers, answers_out=answers_out)
    tiers = ", ".join(f"{k} {v}" for k, v in sorted(counts["tiers"].items())) or "none"
    entities = ", ".join(f"{k} {v}" for k, v in sorted(counts["entities"].items())) or "none"
    typer.echo(f"{counts['entries']} entries -> {out}; tiers: {tiers}; entities: {entities}")


@app.command("report")
def report_command(
    dataset: Annotated[Path, typer.Option(help="The BFCL-format set (JSON lines) whose entries carry a tier and/or "
                                          "an entity field.")],
    verdicts: Annotated[Path, typer.Option(help="Per-entry verdicts written by `toolbench eval ast --out`.")],
    out: Annotated[Path, typer.Option(help="Output folder: tiers.summary.json and/or hallucination.summary.json "
                                      "(for the leaderboard), with .md twins.")],
    model: Annotated[str, typer.Option(help="Name of the model scored (shown on the leaderboard).")],
    tier_field: Annotated[str, typer.Option(help="Entry field naming the difficulty tier (simple, multiple, "
                                            "parallel_multiple, enterprise).")] = "tier",
    entity_field: Annotated[str, typer.Option(help="Entry field saying whether the request is about a real or a "
                                              "fake entity (hallucination test).")] = "entity",
) -> None:
    """Accuracy per difficulty tier, and hallucination as "real k/n, fake k/n", from eval ast's verdicts.

    Example: toolbench eval report --dataset seeds/tiers.jsonl --verdicts runs/ast/tiers.jsonl --model mine
    --out runs/report/mine
    """
    from eval import bfcl_reference, tiers

    for path, option in ((dataset, "--dataset"), (verdicts, "--verdicts")):
        if not path.is_file():
            raise ToolbenchError(f"{option} {path}: no such file")
    entries, rows = bfcl_reference.read_jsonl(dataset), bfcl_reference.read_jsonl(verdicts)
    out.mkdir(parents=True, exist_ok=True)
    for summary in tiers.summaries(entries, rows, model, tier_field=tier_field, entity_field=entity_field):
        _, _, markdown = _write_summary(out, summary["kind"], summary)
        typer.echo(markdown)
        if "line" in summary:
            typer.echo(f"Hallucination: {summary['line']}\n")
    typer.echo(f"Wrote summaries under {out}")


@app.command("schema-cost")
def schema_cost_command(
    dataset: Annotated[str, typer.Option(help="BFCL-format entries (JSON lines) or bfcl:<category>.")],
    tokenizer: Annotated[str, typer.Option(help="A local Hugging Face tokenizer folder (the prompt is rendered as "
                                           "toolbench llm serve renders it), or 'whitespace' for a rough count "
                                           "of the text and the tools' JSON.")],
    out: Annotated[Path, typer.Option(help="Where to write the per-variant figures (JSON; a .md twin beside it).")],
    write_variants: Annotated[Path | None, typer.Option(help="Also write the shortened sets here "
                                                        "(<variant>.jsonl) to run a model on and score with eval "
                                                        "ast.")] = None,
    accuracy: Annotated[list[str] | None, typer.Option(help="variant=accuracy from eval ast runs on the "
                                                       "shortened sets (e.g. minimal=0.71), shown beside the "
                                                       "tokens.")] = None,
) -> None:
    """Prompt tokens with full tool schemas vs shortened ones (descriptions dropped, properties emptied).

    Example: toolbench eval schema-cost --dataset bfcl:simple_python --tokenizer runs/models/smollm2 --out
    runs/schema_cost.json --write-variants runs/schema_variants
    """
    from eval import ast_score, schema_cost

    entries, _ = ast_score.load_dataset(dataset, None)
    if tokenizer == "whitespace":
        counter = schema_cost.token_counter(str.split)
    else:
        if not Path(tokenizer).is_dir():
            raise ToolbenchError(f"--tokenizer {tokenizer}: not a folder (give a local Hugging Face tokenizer "
                                 "folder, or 'whitespace')")
        from transformers import AutoTokenizer

        counter = schema_cost.token_counter(AutoTokenizer.from_pretrained(tokenizer, local_files_only=True))
    figures: dict[str, float] = {}
    for item in accuracy or []:
        variant, _, value = item.partition("=")
        try:
            figures[variant] = float(value)
        except ValueError:
            raise ToolbenchError(f"--accuracy {item!r}: expected variant=number, e.g. minimal=0.71") from None
    cost = schema_cost.schema_cost(entries, counter, accuracy=figures)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"dataset": dataset, "tokenizer": tokenizer, "variants": cost}, indent=2) + "\n",
                   encoding="utf-8")
    markdown = schema_cost.markdown(cost)
    out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    if write_variants is not None:
        write_variants.mkdir(parents=True, exist_ok=True)
        for variant in schema_cost.VARIANTS:
            rows = schema_cost.shortened_dataset(entries, variant)
            (write_variants / f"{variant}.jsonl").write_text(
                "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    typer.echo(markdown)
    typer.echo(f"Wrote {out}" + (f" and the shortened sets under {write_variants}" if write_variants else ""))
