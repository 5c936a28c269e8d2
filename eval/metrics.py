"""Pass rate, SoPR and SoWR from judgments: pure functions, plus readers of StableToolBench's stored judge outputs.

Definitions (what the leaderboard reports):

- **Pass rate** (ToolEval, ToolBench): each of the k judgments of a query gives a label, passed or failed (an
  unsure label was already resolved by a coin, see :mod:`eval.judge`); a query passes when it has at least as
  many passed labels as failed ones; the pass rate is the share of queries that pass.
- **SoPR**, solvable pass rate (StableToolBench): judgment run r (r = 0..k-1) scores every query by its answer
  status, Solved 1, Unsure 0.5, Unsolved 0 (a query without a judgment in run r scores 0); the run's score is
  the mean over queries; SoPR is the mean over runs, reported with the population standard deviation over runs
  (numpy's ``std``), as StableToolBench prints it.
- **SoWR**, solvable win rate (StableToolBench): each round gives a point to the reference's answer or the
  candidate's (or none, for a tie); the candidate wins a query when it has more points than the reference,
  ties when equal; SoWR is the share of queries won. Tie and loss rates are reported beside it.

The arithmetic follows StableToolBench's scripts operation for operation, so figures recomputed from their
stored outputs are the same floats (``tests/eval/test_metrics.py``).
"""

from __future__ import annotations

import ast
import csv
import io
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.formats import jsonl

SOLVED, UNSOLVED, UNSURE = "Solved", "Unsolved", "Unsure"
ANSWER_STATUSES = (SOLVED, UNSOLVED, UNSURE)
ANSWER_SCORE = {SOLVED: 1.0, UNSURE: 0.5, UNSOLVED: 0.0}
PASSED, FAILED = "passed", "failed"


class ResultsFileError(ToolbenchError):
    """A stored judge-output file could not be read; the message names the file and the row."""


@dataclass(frozen=True)
class MeanStd:
    """A figure over repeated judgments: the mean, the population std over runs, n queries, k runs."""

    mean: float
    std: float
    n: int
    runs: tuple[float, ...]

    @property
    def k(self) -> int:
        return len(self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": self.n, "k": self.k, "runs": list(self.runs)}

    def percent(self) -> str:
        """StableToolBench's print format, e.g. ``66.7 ± 0.0``."""
        return f"{100 * self.mean:.1f} ± {100 * self.std:.1f}"


@dataclass(frozen=True)
class Rate:
    """A share of queries: ``count`` of ``n``."""

    value: float
    count: int
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "count": self.count, "n": self.n}


@dataclass(frozen=True)
class WinRate:
    """Candidate vs reference over n queries."""

    win: float
    tie: float
    lose: float
    wins: int
    ties: int
    losses: int
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"win_rate": self.win, "tie_rate": self.tie, "lose_rate": self.lose, "wins": self.wins,
                "ties": self.ties, "losses": self.losses, "n": self.n}


def status_name(value: Any, where: str = "") -> str:
    """``Solved``/``Unsolved``/``Unsure`` from ours or StableToolBench's spelling (``AnswerStatus.Solved``)."""
    name = str(value).removeprefix("AnswerStatus.")
    if name not in ANSWER_STATUSES:
        raise ResultsFileError(f"{where}: unknown answer status {value!r}; expected one of "
                               f"{', '.join(ANSWER_STATUSES)} (or AnswerStatus.<name>)")
    return name


def population_std(values: Sequence[float]) -> float:
    """numpy's ``std`` (ddof 0), the spread StableToolBench reports."""
    import numpy as np

    return float(np.std(list(values))) if values else 0.0


def sopr(statuses: Mapping[str, Mapping[int, str]], k: int | None = None) -> MeanStd:
    """SoPR over queries ``{query_id: {run: status}}`` with k runs (default: the highest run index + 1)."""
    if not statuses:
        raise ToolbenchError("SoPR of no queries: there is nothing to score")
    if k is None:
        k = 1 + max((run for runs in statuses.values() for run in runs), default=0)
    scores: list[float] = []
    for run in range(k):
        score: float = 0
        for runs in statuses.values():
            status = runs.get(run)
            if status == SOLVED:
                score += 1
            elif status == UNSURE:
                score += 0.5
        scores.append(score / len(statuses))
    return MeanStd(mean=sum(scores) / len(scores), std=population_std(scores), n=len(statuses), runs=tuple(scores))


def pass_rate(labels: Mapping[str, Iterable[str]]) -> Rate:
    """ToolEval's pass rate over ``{query_id: [passed|failed, ...]}``: a query passes when failed <= passed."""
    if not labels:
        raise ToolbenchError("pass rate of no queries: there is nothing to score")
    passed = 0
    for query_labels in labels.values():
        counts = Counter(query_labels)
        if counts[FAILED] <= counts[PASSED]:
            passed += 1
    return Rate(value=passed / len(labels), count=passed, n=len(labels))


def win_rate(points: Mapping[str, tuple[int, int]]) -> WinRate:
    """SoWR over ``{query_id: (reference_points, candidate_points)}``."""
    if not points:
        raise ToolbenchError("win rate of no queries: there is nothing to compare")
    wins = ties = losses = 0
    for reference, candidate in points.values():
        if reference > candidate:
            losses += 1
        elif reference < candidate:
            wins += 1
        else:
            ties += 1
    n = len(points)
    return WinRate(win=wins / n, tie=ties / n, lose=losses / n, wins=wins, ties=ties, losses=losses, n=n)


# -- our judgment rows (eval.judge writes them) -------------------------------------------------------------------


def _by_group(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row.get("group", "")), []).append(row)
    return groups


def summarize_pass(rows: Iterable[Mapping[str, Any]], k: int | None = None) -> dict[str, Any]:
    """Per group: SoPR, pass rate, status counts, from pass-rate judgment rows
    (``query_id, group, sample, answer_status, resolved_label``, see :class:`eval.judge.PassJudgment`)."""
    out: dict[str, Any] = {}
    for group, group_rows in sorted(_by_group(rows).items()):
        statuses: dict[str, dict[int, str]] = {}
        labels: dict[str, list[str]] = {}
        for row in group_rows:
            statuses.setdefault(str(row["query_id"]), {})[int(row["sample"])] = status_name(row["answer_status"])
            labels.setdefault(str(row["query_id"]), []).append(str(row["resolved_label"]))
        figure = sopr(statuses, k)
        counts = Counter(str(row["answer_status"]) for row in group_rows)
        rules = Counter(str(row.get("rule", "")) for row in group_rows)
        out[group] = {
            "n": figure.n,
            "k": figure.k,
            "sopr": figure.to_dict(),
            "pass_rate": pass_rate(labels).to_dict(),
            "answer_status": {name: counts[name] for name in ANSWER_STATUSES},
            "rules": dict(sorted(rules.items())),
            "unreadable_judge_replies": sum(int(row.get("unreadable", 0)) for row in group_rows),
            "queries_with_hallucinated_calls": len({str(row["query_id"]) for row in group_rows
                                                    if row.get("hallucinated_calls")}),
        }
    return out


def summarize_win(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per group: SoWR (and tie/lose rates) from preference rows (``query_id, group, round, winner``)."""
    out: dict[str, Any] = {}
    for group, group_rows in sorted(_by_group(rows).items()):
        points: dict[str, list[int]] = {}
        rounds: set[int] = set()
        for row in group_rows:
            tally = points.setdefault(str(row["query_id"]), [0, 0])
            rounds.add(int(row["round"]))
            if row["winner"] == "reference":
                tally[0] += 1
            elif row["winner"] == "candidate":
                tally[1] += 1
        figure = win_rate({query_id: (a, b) for query_id, (a, b) in points.items()})
        rules = Counter(str(row.get("rule", "")) for row in group_rows)
        out[group] = {**figure.to_dict(), "rounds": len(rounds), "rules": dict(sorted(rules.items())),
                      "unreadable_judge_replies": sum(int(row.get("unreadable", 0)) for row in group_rows)}
    return out


# -- StableToolBench's stored outputs ---------------------------------------------------------------------------


def read_tsv(path: Path) -> list[dict[str, Any]]:
    """The rows of a tab-separated file with a header (StableToolBench's ``.csv`` twins); the file is read as
    :mod:`toolbench.formats.jsonl` reads text (binary or non-UTF-8 bytes are an error naming the line)."""
    text = _read(jsonl.read_text, path)
    csv.field_size_limit(sys.maxsize)
    try:
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    except csv.Error as exc:
        raise ResultsFileError(f"{path}: not a tab-separated table ({exc})") from None


def _read(reader: Any, path: Path) -> Any:
    try:
        return reader(path)
    except jsonl.DataFileError as exc:
        raise ResultsFileError(str(exc)) from None


def read_json(path: Path) -> Any:
    """One JSON document (:func:`toolbench.formats.jsonl.read_json`), problems as :class:`ResultsFileError`."""
    return _read(jsonl.read_json, path)


def _runs_of(value: Any, where: str) -> dict[int, str]:
    """``is_solved`` as stored: ``{run: status}`` (JSON keys are strings; the CSV holds a Python dict's repr),
    or one status (ToolBench's older files: run 0)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
            raise ResultsFileError(f"{where}: is_solved is not a readable dict ({exc})") from None
    if isinstance(value, Mapping):
        try:
            return {int(run): status_name(status, where) for run, status in value.items()}
        except (ValueError, TypeError) as exc:
            raise ResultsFileError(f"{where}: is_solved keys must be run numbers ({exc})") from exc
    return {0: status_name(value, where)}


def read_pass_rate_results(path: str | Path) -> dict[str, dict[int, str]]:
    """``{query_id: {run: status}}`` from StableToolBench's ``pass_rate_results/<model>/<group>_<model>.json``
    or ``.csv`` (tab-separated), or from ToolBench's older files with one status per query."""
    path = Path(path)
    out: dict[str, dict[int, str]] = {}
    if path.suffix == ".csv":
        for number, row in enumerate(read_tsv(path), 2):
            if "query_id" not in row or "is_solved" not in row:
                raise ResultsFileError(f"{path}: needs columns query_id and is_solved (tab-separated)")
            if row["query_id"] is None or row["is_solved"] is None:
                raise ResultsFileError(f"{path}: line {number}: the row has fewer columns than the header")
            out[row["query_id"]] = _runs_of(row["is_solved"], f"{path}: line {number}")
        if not out:
            raise ResultsFileError(f"{path}: no rows")
        return out
    data = read_json(path)
    if not isinstance(data, Mapping) or not data:
        raise ResultsFileError(f"{path}: expected an object {{query_id: {{..., is_solved}}}}")
    for query_id, entry in data.items():
        if not isinstance(entry, Mapping) or "is_solved" not in entry:
            raise ResultsFileError(f"{path}: query {query_id} has no is_solved")
        out[str(query_id)] = _runs_of(entry["is_solved"], f"{path}: query {query_id}")
    return out


def read_preference_results(path: str | Path) -> tuple[str, str, dict[str, tuple[int, int]]]:
    """``(reference, candidate, {query_id: (reference_points, candidate_points)})`` from StableToolBench's
    ``preference_results/<group>_<reference>_<candidate>.json`` (points per model and ``round_i`` flags; the
    reference is the first model key, as the script writes it) or ``.csv`` (``preference_label`` 1 = reference
    better, 2 = candidate better, 3 = tie: one point, as only the outcome is stored)."""
    path = Path(path)
    out: dict[str, tuple[int, int]] = {}
    if path.suffix == ".csv":
        rows = read_tsv(path)
        if not rows:
            raise ResultsFileError(f"{path}: no rows")
        if "query_id" not in rows[0]:
            raise ResultsFileError(f"{path}: needs columns query_id and preference_label (tab-separated)")
        reference, candidate = rows[0].get("ref_model") or "", rows[0].get("output_model") or ""
        outcome = {"1": (1, 0), "2": (0, 1), "3": (0, 0)}
        for number, row in enumerate(rows, 2):
            label = row.get("preference_label", "")
            if label not in outcome or row["query_id"] is None:
                raise ResultsFileError(f"{path}: line {number}: preference_label must be 1, 2 or 3; got {label!r}")
            out[row["query_id"]] = outcome[label]
        return reference, candidate, out
    data = read_json(path)
    if not isinstance(data, Mapping) or not data:
        raise ResultsFileError(f"{path}: expected an object {{query_id: {{model: points, round_i: ...}}}}")
    names: list[str] = []
    for query_id, entry in data.items():
        models = [key for key in entry if not key.startswith("round_")] if isinstance(entry, Mapping) else []
        if len(models) != 2:
            raise ResultsFileError(f"{path}: query {query_id} must hold the points of exactly two models")
        if not names:
            names = models
        elif set(models) != set(names):
            raise ResultsFileError(f"{path}: query {query_id} names models {models}, others {names}")
        points = (entry[names[0]], entry[names[1]])
        if not all((isinstance(p, int) and not isinstance(p, bool)) or (isinstance(p, float) and p.is_integer())
                   for p in points):
            raise ResultsFileError(f"{path}: query {query_id}: the points of {names[0]} and {names[1]} must be "
                                   f"whole numbers, got {points[0]!r:.40} and {points[1]!r:.40}")
        out[str(query_id)] = (int(points[0]), int(points[1]))
    return names[0], names[1], out
