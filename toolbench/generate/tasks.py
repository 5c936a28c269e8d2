"""Agent tasks from call data (``toolbench generate tasks``): held-out queries of ``toolbench generate calls`` with
an ``expectation`` a rule check can score (:mod:`eval.expectation`), for a DFSDT or ReACT search
(``toolbench annotate compare --tasks``) and its pass rate by rules.

A query becomes a task when its sample is of a category an agent solves by calling
(:data:`toolbench.selection.TASK_CATEGORIES`), it expects at least one call, and the hub answered every call of
the sample (a result the search can meet). The task is the ToolBench query with ``expectation: {"calls": [{name,
arguments}, ...]}``: the run must make each expected call and finish with an answer. Categories are
interleaved, so a few tasks cover several kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from toolbench.generate.errors import GenerateError
from toolbench.selection import TASK_CATEGORIES, round_robin


def checkable_tasks(queries: list[dict[str, Any]], samples: Mapping[str, Mapping[str, Any]], k: int
                    ) -> list[dict[str, Any]]:
    """Up to ``k`` of ``queries`` (ToolBench query dicts, e.g. ``heldout/queries.json``) as tasks with an
    ``expectation``, from the samples they came from (``samples.jsonl`` rows by id)."""
    candidates = []
    for query in queries:
        sample = samples.get(str(query.get("sample_id", "")))
        if sample is None or sample.get("category") not in TASK_CATEGORIES:
            continue
        steps = sample.get("steps", [])
        calls = [c for s in steps for c in s.get("calls", [])]
        if not calls or any(len(s.get("observations", [])) != len(s.get("calls", [])) for s in steps):
            continue
        task = dict(query)
        task["expectation"] = {"calls": [{"name": c["name"], "arguments": c.get("arguments") or {}} for c in calls]}
        candidates.append((sample["category"], task))
    ordered = round_robin(candidates, key=lambda pair: pair[0], order=TASK_CATEGORIES)
    return [task for _, task in ordered[:k]]


def calls_samples(calls_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The samples of a ``generate calls`` folder by id (``samples.jsonl``; a line cut off by an interrupted run
    ends it, none when the file is missing)."""
    from toolbench.formats.jsonl import read_jsonl

    path = Path(calls_dir) / "samples.jsonl"
    rows = read_jsonl(path, resume=True) if path.exists() else []
    return {row["id"]: row for row in rows if "id" in row}


def split_tasks(calls_dir: str | Path, k: int, split: str = "heldout") -> list[dict[str, Any]]:
    """Up to ``k`` tasks from the ``split`` (heldout or train) queries of a ``generate calls`` folder."""
    from toolbench.catalog.store import load_queries

    queries_file = Path(calls_dir) / split / "queries.json"
    if not queries_file.is_file():
        raise GenerateError(f"{queries_file}: no such file; give the folder `toolbench generate calls --out` wrote")
    if k < 0:
        raise GenerateError(f"--k must be >= 0; got {k}")
    queries = [q.to_dict() for q in load_queries(queries_file)]
    return checkable_tasks(queries, calls_samples(calls_dir), k)
