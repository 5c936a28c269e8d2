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
from toolbench.formats import jsonl

_TRAILING_NUMBER = re.compile(r"_\d+(?:-\d+)*$")


def category_of(entry: dict[str, Any]) -> str:
    """The entry's category: its ``category`` field, else its id without the trailing number."""
    if entry.get("category"):
        return str(entry["category"])
    return _TRAILING_NUMBER.sub("", str(entry.get("id", "")))


def load_dataset(dataset: str, answers: Path | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Entries and ``{id: ground_truth}`` from ``bfcl:<category>`` or a file (plus an answers file).

    Every row is checked (:func:`check_entry`, :func:`check_answer`): a problem raises a
    :class:`~toolbench.formats.jsonl.DataFileError` naming the file and line. Ids are read as strings (an integer id
    becomes its decimal text). An empty set is an error."""
    by_id: dict[str, Any] = {}
    if dataset.startswith("bfcl:"):
        entries, answer_rows = bfcl_reference.load_category(dataset.removeprefix("bfcl:"))
        by_id = {row["id"]: row["ground_truth"] for row in answer_rows}
    else:
        path = Path(dataset)
        if not path.exists():
            raise ToolbenchError(
                f"--dataset {dataset}: no such file (or use bfcl:<category>, e.g. bfcl:multiple)"
            )
        rows = jsonl.read_rows(path)
        if not rows:
            raise jsonl.DataFileError(path, "the dataset holds no entries (expected JSON lines of {id, "
                                                "question, function})")
        entries = _unique([check_entry(row) for row in rows], rows, "entry")
    if answers is not None:
        if not answers.exists():
            raise ToolbenchError(f"--answers {answers}: no such file")
        answer_rows = jsonl.read_rows(answers)
        if not answer_rows:
            raise jsonl.DataFileError(answers, "the file holds no answers (expected JSON lines of {id, "
                                                   "ground_truth})")
        by_id = dict(_unique([check_answer(row) for row in answer_rows], answer_rows, "answer"))
    return entries, by_id


def load_predictions(path: Path) -> dict[str, Any]:
    """``{id: result}`` from a predictions file; a duplicate id or a row without id/result is an error naming the
    file and line. An empty file gives no predictions (every entry then counts as wrong)."""
    if not path.exists():
        raise ToolbenchError(f"--predictions {path}: no such file")
    results: dict[str, Any] = {}
    for row in jsonl.read_rows(path):
        _object(row, "a prediction", "{id, result}")
        if "result" not in row.data:
            raise row.error("a prediction needs 'id' and 'result'")
        prediction_id = _id_of(row)
        if prediction_id in results:
            raise row.error(f"id {prediction_id!r} is predicted twice")
        results[prediction_id] = row.data["result"]
    return results


def _object(row: jsonl.Row, what: str, shape: str) -> dict[str, Any]:
    if not isinstance(row.data, dict):
        raise row.error(f"{what} must be a JSON object {shape}, got {jsonl.json_type(row.data)}")
    return row.data


def _id_of(row: jsonl.Row) -> str:
    if "id" not in row.data:
        raise row.error("no 'id'")
    value = row.data["id"]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise row.error(f"'id' must be a string, got {jsonl.json_type(value)}")
    if isinstance(value, str) and not value.strip():
        raise row.error("'id' is empty")
    return str(value)


def _unique(items: list[Any], rows: list[jsonl.Row], what: str) -> list[Any]:
    seen: dict[str, jsonl.Row] = {}
    for item, row in zip(items, rows):
        key = item["id"] if isinstance(item, dict) else item[0]
        if key in seen:
            raise row.error(f"{what} id {key!r} appears twice (also at {seen[key].where})")
        seen[key] = row
    return items


def check_entry(row: jsonl.Row) -> dict[str, Any]:
    """A dataset row checked for what scoring reads (BFCL's shape): ``id`` (a string), ``function`` (a list of
    function docs, each with a ``name`` and an optional ``parameters`` object of ``properties``/``required``),
    optional ``question`` (a list) and ``category`` (a string). Returns the entry with its id as a string."""
    entry = _object(row, "an entry", "{id, question, function}")
    entry = {**entry, "id": _id_of(row)}
    if "category" in entry and entry["category"] is not None and not isinstance(entry["category"], str):
        raise row.error(f"'category' must be a string, got {jsonl.json_type(entry['category'])}")
    if "question" in entry and not isinstance(entry["question"], list):
        raise row.error(f"'question' must be a list of turns, got {jsonl.json_type(entry['question'])}")
    if "function" not in entry:
        raise row.error("no 'function' (the list of function docs offered)")
    functions = entry["function"]
    docs = [functions] if isinstance(functions, dict) else functions
    if not isinstance(docs, list):
        raise row.error(f"'function' must be a list of function docs, got {jsonl.json_type(functions)}")
    for index, doc in enumerate(docs):
        problem = _doc_problem(doc)
        if problem:
            where = "function" if isinstance(functions, dict) else f"function[{index}]"
            raise row.error(f"{where}: {problem}")
    return entry


def _doc_problem(doc: Any) -> str:
    """What is wrong with one function doc, or ``""``."""
    if not isinstance(doc, dict):
        return f"must be an object {{name, description, parameters}}, got {jsonl.json_type(doc)}"
    if not isinstance(doc.get("name"), str) or not doc["name"].strip():
        return "'name' must be a non-empty string"
    params = doc.get("parameters", {})
    if not isinstance(params, dict):
        return f"'parameters' must be an object, got {jsonl.json_type(params)}"
    properties = params.get("properties", {})
    if not isinstance(properties, dict):
        return f"'parameters.properties' must be an object, got {jsonl.json_type(properties)}"
    for name, prop in properties.items():
        if not isinstance(prop, dict):
            return f"parameter {name!r} must be an object {{type, description}}, got {jsonl.json_type(prop)}"
        if "type" in prop and not isinstance(prop["type"], str):
            return f"parameter {name!r}: 'type' must be a string, got {jsonl.json_type(prop['type'])}"
        items = prop.get("items")
        if isinstance(items, dict) and "type" in items and not isinstance(items["type"], str):
            return f"parameter {name!r}: 'items.type' must be a string, got {jsonl.json_type(items['type'])}"
    required = params.get("required", [])
    if not isinstance(required, list) or not all(isinstance(item, str) for item in required):
        return "'parameters.required' must be a list of parameter names"
    return ""


def check_answer(row: jsonl.Row) -> tuple[str, list[dict[str, Any]]]:
    """An answers row checked: ``{id, ground_truth: [{fname: {arg: [accepted values]}}]}``; returns (id,
    ground_truth)."""
    answer = _object(row, "an answer", "{id, ground_truth}")
    if "ground_truth" not in answer:
        raise row.error("an answer needs 'id' and 'ground_truth'")
    answer_id, truth = _id_of(row), answer["ground_truth"]
    if not isinstance(truth, list):
        raise row.error(f"'ground_truth' must be a list of calls, got {jsonl.json_type(truth)}")
    for index, call in enumerate(truth):
        if not (isinstance(call, dict) and len(call) == 1 and isinstance(next(iter(call.values())), dict)):
            raise row.error(f"ground_truth[{index}] must be one call {{fname: {{arg: [accepted values]}}}}")
        for arg, options in next(iter(call.values())).items():
            if not isinstance(options, list):
                raise row.error(f"ground_truth[{index}]: the accepted values of {arg!r} must be a list, got "
                                f"{jsonl.json_type(options)}")
    return answer_id, truth


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
