"""The seeds' evaluations on BFCL-format sets: accuracy per difficulty tier, and the hallucination test.

Both read the dataset (BFCL-format entries, as ``toolbench eval ast --dataset`` takes them) and the per-entry
verdicts ``toolbench eval ast --out`` wrote (``id``, ``category``, ``valid``...):

- **Tiers** (as in an enterprise tool-use report): each entry carries a ``tier`` field — ``simple``, ``multiple``,
  ``parallel_multiple`` on simple APIs, ``enterprise`` for complex APIs with enums, lists and nested objects (any
  other name is accepted and listed after these). :func:`tier_accuracy` gives accuracy, correct and n per tier.
- **Hallucination**: requests about entities that exist (``entity: "real"``; the right answer is the call) and
  about entities that do not (``entity: "fake"``; the right answer is no call, so a fake entry's ``category``
  must contain ``irrelevance`` for ``eval ast`` to apply its abstention rule). :func:`hallucination` reports
  "real k/n, fake k/n".

An entry without a verdict counts as wrong, as in ``eval ast``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eval.leaderboard import TIER_ORDER
from toolbench.errors import ToolbenchError

REAL, FAKE = "real", "fake"


class SeedEvalError(ToolbenchError):
    """The dataset or the verdicts do not fit the evaluation; the message says which entry and what to add."""


def _verdicts(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for number, row in enumerate(rows, 1):
        if "id" not in row or "valid" not in row:
            raise SeedEvalError(f"verdict {number} lacks 'id' or 'valid' (give the file `toolbench eval ast --out` "
                                "wrote)")
        out[str(row["id"])] = row
    return out


def _figures(correct: int, n: int) -> dict[str, Any]:
    return {"accuracy": correct / n if n else None, "correct": correct, "n": n}


def tier_accuracy(entries: Iterable[Mapping[str, Any]], rows: Iterable[Mapping[str, Any]],
                  field: str = "tier") -> dict[str, dict[str, Any]]:
    """``{tier: {accuracy, correct, n}}`` in tier order (simple, multiple, parallel_multiple, enterprise, others)."""
    verdicts = _verdicts(rows)
    counts: dict[str, list[int]] = {}
    for entry in entries:
        if field not in entry:
            raise SeedEvalError(f"entry {entry.get('id')!r} has no {field!r} field; every entry of a tiered set "
                                f"names its tier ({', '.join(TIER_ORDER)})")
        tally = counts.setdefault(str(entry[field]), [0, 0])
        tally[0] += bool(verdicts.get(str(entry["id"]), {}).get("valid"))
        tally[1] += 1
    order = {tier: index for index, tier in enumerate(TIER_ORDER)}
    return {tier: _figures(*counts[tier]) for tier in sorted(counts, key=lambda t: (order.get(t, len(order)), t))}


def hallucination(entries: Iterable[Mapping[str, Any]], rows: Iterable[Mapping[str, Any]],
                  field: str = "entity") -> dict[str, dict[str, Any]]:
    """``{"real": {accuracy, correct, n}, "fake": {...}}``: correct calls on real entities, abstentions on fake."""
    verdicts = _verdicts(rows)
    counts = {REAL: [0, 0], FAKE: [0, 0]}
    for entry in entries:
        kind = entry.get(field)
        if kind not in counts:
            raise SeedEvalError(f"entry {entry.get('id')!r}: {field!r} must be 'real' or 'fake'; got {kind!r}")
        verdict = verdicts.get(str(entry["id"]), {})
        if kind == FAKE and verdict and "irrelevance" not in str(verdict.get("category", "")):
            raise SeedEvalError(f"entry {entry['id']!r} is about a fake entity but was scored as category "
                                f"{verdict.get('category')!r}: give fake entries a category containing "
                                "'irrelevance' so that no call is the right answer")
        counts[kind][0] += bool(verdict.get("valid"))
        counts[kind][1] += 1
    return {kind: _figures(*tally) for kind, tally in counts.items()}


def hallucination_line(report: Mapping[str, Mapping[str, Any]]) -> str:
    """``real k/n, fake k/n``."""
    return ", ".join(f"{kind} {report[kind]['correct']}/{report[kind]['n']}" for kind in (REAL, FAKE))


def summaries(entries: list[Mapping[str, Any]], rows: list[Mapping[str, Any]], model: str, *,
              tier_field: str = "tier", entity_field: str = "entity") -> list[dict[str, Any]]:
    """The leaderboard summaries (``kind`` tiers / hallucination) the dataset's fields allow."""
    out: list[dict[str, Any]] = []
    if any(tier_field in entry for entry in entries):
        tiered = [entry for entry in entries if tier_field in entry]
        out.append({"kind": "tiers", "model": model, "field": tier_field,
                    "groups": tier_accuracy(tiered, rows, tier_field)})
    if any(entity_field in entry for entry in entries):
        report = hallucination([entry for entry in entries if entity_field in entry], rows, entity_field)
        out.append({"kind": "hallucination", "model": model, "field": entity_field, "groups": report,
                    "line": hallucination_line(report)})
    if not out:
        raise SeedEvalError(f"no entry has a {tier_field!r} or {entity_field!r} field: nothing to report")
    return out
