"""SoPR and SoWR recomputed from StableToolBench's stored judge outputs, written as our summaries.

StableToolBench keeps what its judge decided in ``pass_rate_results/<model>/<group>_<model>.json`` (``is_solved``:
one AnswerStatus per query and run) and ``preference_results/<group>_<reference>_<candidate>.json`` (points per
model and query). :func:`recompute` reads those files (or their ``.csv`` twins), computes the figures with
:mod:`eval.metrics`, and writes one ``pass_rate.summary.json`` per model and one ``win_rate.summary.json`` per
comparison, which the leaderboard reads like the summaries of our own judge runs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval import leaderboard, metrics
from toolbench.errors import ToolbenchError

SOURCE = "StableToolBench stored judge outputs"


def _files(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(path.rglob("*.json"))
            found += sorted(p for p in path.rglob("*.csv") if not p.with_suffix(".json").exists())
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise metrics.ResultsFileError(f"{path}: no such file or folder")
    if not files:
        raise metrics.ResultsFileError("no .json or .csv judge outputs in the paths given")
    return files


def kind_of(path: Path) -> str:
    """``pass_rate`` or ``preference``, from the file's content."""
    if path.suffix == ".csv":
        rows = metrics.read_tsv(path)
        header = list(rows[0]) if rows else []
        if "preference_label" in header:
            return "preference"
        if "is_solved" in header:
            return "pass_rate"
    else:
        data = metrics.read_json(path)
        entry = next(iter(data.values()), None) if isinstance(data, dict) else None
        if isinstance(entry, dict) and "is_solved" in entry:
            return "pass_rate"
        if isinstance(entry, dict) and any(key.startswith("round_") for key in entry):
            return "preference"
    raise metrics.ResultsFileError(f"{path}: neither a pass_rate_results nor a preference_results file of "
                                   "StableToolBench")


def _rounds(path: Path) -> int | None:
    if path.suffix != ".json":
        return None
    data = metrics.read_json(path)
    return max((len([k for k in entry if k.startswith("round_")]) for entry in data.values()), default=0)


def summaries(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Our summaries (``kind`` pass_rate / win_rate) of every stored output found in ``paths``."""
    passes: dict[str, dict[str, Any]] = {}
    wins: dict[tuple[str, str], dict[str, Any]] = {}
    for path in _files(paths):
        if kind_of(path) == "pass_rate":
            model = path.parent.name
            group = path.stem.removesuffix(f"_{model}")
            statuses = metrics.read_pass_rate_results(path)
            figure = metrics.sopr(statuses)
            counts = Counter(status for runs in statuses.values() for status in runs.values())
            summary = passes.setdefault(model, {"kind": "pass_rate", "model": model, "judge": SOURCE, "sources": {},
                                                "groups": {}})
            if group in summary["groups"]:
                raise ToolbenchError(f"{model} {group}: given twice ({summary['sources'][group]} and {path}); "
                                     "keep one of the .json/.csv twins")
            summary["sources"][group] = str(path)
            summary["groups"][group] = {"n": figure.n, "k": figure.k, "sopr": figure.to_dict(),
                                        "answer_status": {name: counts[name] for name in metrics.ANSWER_STATUSES}}
        else:
            reference, candidate, points = metrics.read_preference_results(path)
            for name in (reference, candidate):
                if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
                    raise metrics.ResultsFileError(f"{path}: model name {name!r} cannot name an output folder")
            group = path.stem.removesuffix(f"_{reference}_{candidate}")
            summary = wins.setdefault((reference, candidate), {
                "kind": "win_rate", "model": candidate, "reference": reference, "judge": SOURCE, "sources": {},
                "groups": {}})
            if group in summary["groups"]:
                raise ToolbenchError(f"{candidate} vs {reference} {group}: given twice ({summary['sources'][group]} "
                                     f"and {path}); keep one of the .json/.csv twins")
            summary["sources"][group] = str(path)
            summary["groups"][group] = {**metrics.win_rate(points).to_dict(), "rounds": _rounds(path)}
    return [*passes.values(), *wins.values()]


def recompute(paths: Sequence[str | Path], out: str | Path) -> list[Path]:
    """Write ``<model>/pass_rate.summary.json`` and ``<candidate>_vs_<reference>/win_rate.summary.json`` (each with
    its ``.summary.md``) under ``out``; returns the JSON paths."""
    out = Path(out)
    written = []
    for summary in summaries(paths):
        if summary["kind"] == "pass_rate":
            folder, stem = out / summary["model"], "pass_rate"
        else:
            folder, stem = out / f"{summary['model']}_vs_{summary['reference']}", "win_rate"
        folder.mkdir(parents=True, exist_ok=True)
        json_path = folder / f"{stem}.summary.json"
        json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (folder / f"{stem}.summary.md").write_text(leaderboard.summary_markdown(summary), encoding="utf-8")
        written.append(json_path)
    return written
