"""Score predictions made elsewhere on a BFCL-format set: one verdict per entry, a summary per category.

Inputs, all JSON lines (or one JSON array):

- entries: ``{"id", "question", "function": [function docs]}`` (BFCL's test files); an optional ``category``
  field names the category, otherwise it is the id without its trailing number (``live_multiple_3-1-0`` ->
  ``live_multiple``). The category picks the rules: ``irrelevance`` in it -> no call expected;
  ``relevance`` -> any call; otherwise ``parallel``/``multiple``/simple AST checks (:mod:`eval.ast_check`).
- answers: ``{"id", "ground_truth": [{"fname": {"arg": [options]}}]}`` (BFCL's possible answers).
- predictions: ``{"id", "result"}``, ``result`` in any shape :func:`eval.parse.parse_calls` reads (BFCL's result
  files have this shape).

An entry without a prediction counts as wrong (``missing_prediction``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from eval import ast_check, bfcl_reference
from toolbench.errors import ToolbenchError

_TRAILING_NUMBER = re.compile(r"_\d+(?:-\d+)*$")


def category_of(entry: dict[str, Any]) -> str:
    """The entry's category: its ``category`` field, else its id without the trailing number."""
    if entry.get("category"):
        return str(entry["category"])
    return _TRAILING_NUMBER.sub("", str(entry.get("id", "")))


def load_dataset(dataset: str, answers: Path | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Entries and ``{id: ground_truth}`` from ``bfcl:<category>`` or a file (plus an answers file)."""
    if dataset.startswith("bfcl:"):
        entries, answer_rows = bfcl_reference.load_category(dataset.removeprefix("bfcl:"))
    else:
        path = Path(dataset)
        if not path.is_file():
            raise ToolbenchError(
                f"--dataset {dataset}: no such file (or use bfcl:<category>, e.g. bfcl:multiple)"
            )
        entries, answer_rows = bfcl_reference.read_jsonl(path), []
    if answers is not None:
        if not answers.is_file():
            raise ToolbenchError(f"--answers {answers}: no such file")
        answer_rows = bfcl_reference.read_jsonl(answers)
    for number, entry in enumerate(entries, 1):
        if "id" not in entry:
            raise ToolbenchError(f"{dataset}: entry {number} has no 'id'")
    by_id = {}
    for row in answer_rows:
        if "id" not in row or "ground_truth" not in row:
            raise ToolbenchError(
                f"{answers or dataset}: an answer lacks 'id' or 'ground_truth': {str(row)[:120]}"
            )
        by_id[row["id"]] = row["ground_truth"]
    return entries, by_id


def load_predictions(path: Path) -> dict[str, Any]:
    """``{id: result}`` from a predictions file; a duplicate id or a row without id/result is an error."""
    if not path.is_file():
        raise ToolbenchError(f"--predictions {path}: no such file")
    results: dict[str, Any] = {}
    for number, row in enumerate(bfcl_reference.read_jsonl(path), 1):
        if "id" not in row or "result" not in row:
            raise ToolbenchError(f"{path}: prediction {number} needs 'id' and 'result'")
        if row["id"] in results:
            raise ToolbenchError(f"{path}: id {row['id']!r} is predicted twice")
        results[row["id"]] = row["result"]
    return results


def _supported_category(entry: dict[str, Any]) -> str:
    category = category_of(entry)
    if "java" in category:
        raise ast_check.AstCheckError(
            f"entry {entry['id']}: category {category!r} is not supported (BFCL's java/javascript categories "
            "need its Java/JS value converters)"
        )
    return category


def score_entry(
    entry: dict[str, Any], ground_truth: Any, result: Any, *, underscore_to_dot: bool = False
) -> ast_check.Verdict:
    """The verdict on one prediction, by the rules of the entry's category."""
    category = _supported_category(entry)
    if "irrelevance" in category:
        return ast_check.check_abstention(result)
    if "relevance" in category:
        return ast_check.check_relevance(result)
    if ground_truth is None:
        raise ToolbenchError(f"entry {entry['id']}: no possible answer for it (pass --answers FILE)")
    return ast_check.check_output(
        entry.get("function", []), result, ground_truth, category, underscore_to_dot=underscore_to_dot
    )


def score(
    entries: list[dict[str, Any]],
    answers: dict[str, Any],
    predictions: dict[str, Any],
    *,
    underscore_to_dot: bool = False,
) -> list[dict[str, Any]]:
    """One row per entry, in entry order: id, category, valid, error_type, errors (+ bfcl_would_accept)."""
    rows = []
    for entry in entries:
        if entry["id"] in predictions:
            verdict = score_entry(
                entry, answers.get(entry["id"]), predictions[entry["id"]], underscore_to_dot=underscore_to_dot
            )
        else:
            _supported_category(entry)
            verdict = ast_check.Verdict(False, "missing_prediction", ("No prediction for this entry.",))
        rows.append({"id": entry["id"], "category": category_of(entry), **verdict.to_dict()})
    return rows


def summarize(rows: list[dict[str, Any]], unmatched_predictions: int = 0) -> dict[str, Any]:
    """Accuracy and n per category and over all entries (micro average: every entry weighs the same).

    Where our irrelevance rule departs from BFCL's, ``bfcl_accuracy`` gives the figure BFCL would report.
    """
    per: dict[str, Counter[str]] = {}
    for row in rows:
        counts = per.setdefault(row["category"], Counter())
        counts["n"] += 1
        counts["correct"] += bool(row["valid"])
        counts["bfcl_would_accept"] += bool(row.get("bfcl_would_accept"))
        counts["missing_prediction"] += row["error_type"] == "missing_prediction"
    categories = {name: _figures(counts) for name, counts in sorted(per.items())}
    overall = _figures(sum(per.values(), Counter()))
    return {"categories": categories, "overall": overall, "unmatched_predictions": unmatched_predictions}


def _figures(counts: Counter[str]) -> dict[str, Any]:
    n, correct = counts["n"], counts["correct"]
    out: dict[str, Any] = {"accuracy": round(correct / n, 4) if n else None, "correct": correct, "n": n}
    if counts["bfcl_would_accept"]:
        out["bfcl_accuracy"] = round((correct + counts["bfcl_would_accept"]) / n, 4)
        out["bfcl_would_accept"] = counts["bfcl_would_accept"]
    if counts["missing_prediction"]:
        out["missing_prediction"] = counts["missing_prediction"]
    return out


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table (accuracy in percent)."""
    lines = ["| category | accuracy | correct / n | BFCL would report |", "| --- | ---: | ---: | ---: |"]
    rows = [*summary["categories"].items(), ("**overall (micro)**", summary["overall"])]
    for name, figures in rows:
        accuracy = "n/a" if figures["accuracy"] is None else f"{100 * figures['accuracy']:.2f}%"
        bfcl = f"{100 * figures['bfcl_accuracy']:.2f}%" if "bfcl_accuracy" in figures else "same"
        lines.append(f"| {name} | {accuracy} | {figures['correct']} / {figures['n']} | {bfcl} |")
    notes = []
    missing = summary["overall"].get("missing_prediction")
    if missing:
        notes.append(f"{missing} entries had no prediction and count as wrong.")
    if summary.get("unmatched_predictions"):
        notes.append(
            f"{summary['unmatched_predictions']} predictions name no entry of the dataset (ignored)."
        )
    if "bfcl_accuracy" in summary["overall"]:
        notes.append(
            "BFCL counts unreadable output as a correct abstention in irrelevance; we do not "
            "(error type irrelevance:unparseable)."
        )
    if "constrained_decoding" in summary:
        value = summary["constrained_decoding"]
        notes.append("Constrained decoding (as the server reports it): "
                     + ("on" if value is True else "off" if value is False else str(value)) + ".")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"
