"""Pure data steps of the demo (tested with plain equality): the headline figures. (The held-out DFSDT tasks are
``toolbench/generate/tasks.py``, ``toolbench generate tasks``; the tier labeller and the seeded pick of the
held-out entries ``eval/tiers.py``, ``toolbench eval tiers``; the fine-tuning mix ``train/mix.py``, ``toolbench
train mix``.)

Everything here reads the records the stages wrote (``generate calls``' samples, BFCL entries, ToolBench queries,
evaluation summaries); nothing calls a model or an API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _ast(done: Mapping[str, Any], stage: str) -> dict[str, Any] | None:
    figures = done.get(stage, {}).get("figures", {})
    return figures.get("ast")


def headline(done: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The headline from the stages' markers: BFCL's public categories (the public block), then AST accuracy on
    the generated held-out split and the DFSDT pass rate (rule checks), before and after fine-tuning, with their
    sample sizes."""
    out: dict[str, Any] = {}
    for label in ("base", "tuned"):
        public = done.get(f"bfcl_{label}", {}).get("figures", {}).get("public")
        if public is not None:
            out.setdefault("public", {})[label] = public
    for label, stage in (("base", "eval_base"), ("tuned", "eval_tuned")):
        ast = _ast(done, stage)
        if ast is not None:
            out.setdefault("ast", {})[label] = ast
    passes = done.get("pass_rate", {}).get("figures", {})
    for label in ("base", "tuned"):
        if label in passes:
            out.setdefault("pass_rate", {})[label] = passes[label]
    return out


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


PUBLIC_TITLE = "BFCL public categories (function calling, tool_choice auto)"
OWN_TITLE = "In distribution: the generated held-out split, and DFSDT on held-out tasks"


def headline_tables(figures: Mapping[str, Any],
                    model: str = "SmolLM2-135M-Instruct") -> list[tuple[str, list[list[str]], list[str]]]:
    """The headline as tables: ``(title, rows (the first is the header), notes)``; the public BFCL block first."""
    tables = []
    public = figures.get("public", {})
    if public:
        from eval.public_render import public_table

        labels = {"base": "before fine-tuning", "tuned": "after LoRA on generated data"}
        table = public_table({labels[k]: public[k] for k in ("base", "tuned") if k in public})
        tables.append((PUBLIC_TITLE, [table.header, *table.rows], table.notes))
    rows = [[model, "before fine-tuning", "after LoRA on generated data"]]
    ast = figures.get("ast", {})
    if ast:
        rows.append(["AST accuracy, generated held-out split"] + [
            f"{percent(ast[k]['accuracy'])} ({ast[k]['correct']}/{ast[k]['n']})" if k in ast else "n/a"
            for k in ("base", "tuned")])
    rates = figures.get("pass_rate", {})
    if rates:
        rows.append(["DFSDT pass rate, rule checks"] + [
            f"{percent(rates[k]['value'])} ({rates[k]['passed']}/{rates[k]['n']})" if k in rates else "n/a"
            for k in ("base", "tuned")])
    if len(rows) > 1:
        note = "The held-out split comes from the same generator as the training data: an in-distribution figure."
        tables.append((OWN_TITLE, rows, [note]))
    return tables


def headline_markdown(figures: Mapping[str, Any], model: str = "SmolLM2-135M-Instruct") -> str:
    """The headline as Markdown: a table per :func:`headline_tables` entry, with its notes."""
    parts = []
    for title, rows, notes in headline_tables(figures, model):
        lines = [f"**{title}**", "", "| " + " | ".join(rows[0]) + " |",
                 "| --- |" + " ---: |" * (len(rows[0]) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        parts.append("\n".join(lines + ([""] + notes if notes else [])))
    return "\n\n".join(parts) + "\n"
