"""The judge's results in StableToolBench's file forms: ``pass_rate_results`` and ``preference_results``."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.answers import Prediction
from eval.judge import CANDIDATE, REFERENCE, JudgeError, PassJudgment, Preference


def stabletoolbench_pass_results(judgments: Iterable[PassJudgment],
                                 predictions: Mapping[str, Prediction]) -> dict[str, Any]:
    """Our judgments in the shape of StableToolBench's ``pass_rate_results/<model>/<group>_<model>.json``, so its
    ``eval_preference.py`` (and :func:`eval.metrics.read_pass_rate_results`) can read them."""
    out: dict[str, Any] = {}
    for judgment in judgments:
        prediction = predictions.get(judgment.query_id)
        entry = out.setdefault(judgment.query_id, {
            "query": prediction.query if prediction else "",
            "tool_names": prediction.tool_names if prediction else [],
            "answer_steps": "\n".join(f"Step {i}: {step.to_message()}" for i, step in
                                      enumerate([s for s in prediction.steps if s.role == "tool"], 1))
            if prediction else "",
            "final_step": "",
            "is_solved": {},
        })
        if prediction and prediction.steps:
            tool_steps = [s for s in prediction.steps if s.role == "tool"]
            entry["final_step"] = f"Final step: {tool_steps[-1].to_message()}" if tool_steps else ""
        entry["is_solved"][str(judgment.sample)] = f"AnswerStatus.{judgment.answer_status}"
    return out


def write_stabletoolbench_pass_results(judgments: Sequence[PassJudgment], predictions: Mapping[str, Prediction],
                                       directory: str | Path, model: str, group: str) -> tuple[Path, Path]:
    """Write ``<group>_<model>.json`` and ``.csv`` (tab-separated) as StableToolBench's ``eval_pass_rate.py``
    does; its ``eval_preference.py --use_pass_rate true`` reads the CSV."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    body = stabletoolbench_pass_results(judgments, predictions)
    json_path, csv_path = directory / f"{group}_{model}.json", directory / f"{group}_{model}.csv"
    json_path.write_text(json.dumps(body, ensure_ascii=False, indent=4) + "\n", encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["query", "available_tools", "model_intermediate_steps", "model_final_step", "model",
                         "query_id", "is_solved"])
        for query_id, entry in body.items():
            runs = {int(run): status for run, status in entry["is_solved"].items()}
            writer.writerow([entry["query"], str(entry["tool_names"]), entry["answer_steps"], entry["final_step"],
                             model, query_id, str(runs)])
    return json_path, csv_path


def stabletoolbench_preferences(preferences: Iterable[Preference], reference: str,
                                candidate: str) -> dict[str, Any]:
    """Our preferences in the shape of StableToolBench's ``preference_results/<group>_<ref>_<cand>.json``."""
    if reference == candidate:
        raise JudgeError(f"reference and candidate have the same name {reference!r}; give them distinct names")
    out: dict[str, Any] = {}
    for preference in preferences:
        entry = out.setdefault(preference.query_id, {reference: 0, candidate: 0})
        if preference.winner == REFERENCE:
            entry[reference] += 1
        elif preference.winner == CANDIDATE:
            entry[candidate] += 1
        entry[f"round_{preference.round}"] = "complete"
    return out
