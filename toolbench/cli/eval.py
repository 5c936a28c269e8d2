"""``toolbench eval ...``: score models. ``ast``: AST accuracy with the Berkeley Function Calling Leaderboard's
rules, on predictions made elsewhere (running a model comes with the LLM layer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toolbench.errors import ToolbenchError

app = typer.Typer(
    help="Evaluate models.\n\n"
    "Examples:\n\n"
    "  toolbench eval ast --dataset bfcl:simple_python --predictions preds.jsonl --out runs/ast/simple.jsonl\n\n"
    "  toolbench eval ast --dataset tests.jsonl --answers answers.jsonl --predictions preds.jsonl "
    "--out runs/ast/mine.jsonl",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Evaluate models (a group even while it has one command, so `toolbench eval ast` stays stable)."""


@app.command("ast")
def ast_command(
    dataset: Annotated[
        str,
        typer.Option(
            help="BFCL-format entries (JSON lines with id, question, function) or bfcl:<category> from the "
            "installed bfcl-eval package: simple_python, multiple, parallel, parallel_multiple, live_simple, "
            "live_multiple, live_parallel, live_parallel_multiple, irrelevance, live_irrelevance, live_relevance."
        ),
    ],
    predictions: Annotated[
        Path | None,
        typer.Option(
            help="JSON lines of {id, result}; result is BFCL's decoded list [{fname: {arg: value}}], OpenAI "
            "tool_calls (or an assistant message), {name, arguments} objects, or raw text (JSON or Python calls)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Per-entry verdicts (JSON lines: id, category, valid, error_type, errors). The summary is "
            "written next to it as <name>.summary.json and <name>.summary.md."
        ),
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option(
            help="Possible answers (JSON lines with id, ground_truth); bfcl:<category> brings its own."
        ),
    ] = None,
    underscore_to_dot: Annotated[
        bool,
        typer.Option(
            "--underscore-to-dot",
            help="The model's API forbids '.' in function names (OpenAI-style tools): expect math_factorial for "
            "math.factorial, as BFCL does for such models.",
        ),
    ] = False,
    base_url: Annotated[
        str | None, typer.Option(help="Not available yet: run a model at this OpenAI-compatible URL.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Not available yet: the model name for --base-url.")
    ] = None,
) -> None:
    """AST accuracy (BFCL's rules) of predictions on a BFCL-format set, per category.

    Example: toolbench eval ast --dataset bfcl:multiple --predictions preds.jsonl --out runs/ast/multiple.jsonl
    """
    if base_url is not None or model is not None:
        raise ToolbenchError(
            "eval ast --base-url/--model: running a model is not available yet (it comes with the LLM layer); "
            "make predictions elsewhere and score them with --predictions FILE --out FILE"
        )
    if predictions is None or out is None:
        raise ToolbenchError("eval ast needs --predictions FILE and --out FILE")
    from eval import ast_score

    entries, answer_map = ast_score.load_dataset(dataset, answers)
    results = ast_score.load_predictions(predictions)
    rows = ast_score.score(entries, answer_map, results, underscore_to_dot=underscore_to_dot)
    known = {entry["id"] for entry in entries}
    summary = ast_score.summarize(rows, unmatched_predictions=sum(1 for key in results if key not in known))
    markdown = ast_score.summary_markdown(summary)

    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=repr) + "\n")
    stem = out.with_suffix("") if out.suffix else out
    json_path, md_path = Path(f"{stem}.summary.json"), Path(f"{stem}.summary.md")
    json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    typer.echo(markdown)
    typer.echo(f"Wrote {len(rows)} verdicts to {out}; summary to {json_path} and {md_path}")
