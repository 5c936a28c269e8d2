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

**Labelling** (:func:`label_entries`, ``toolbench eval tiers``): the one writer of those two fields, for the
BFCL entries ``toolbench generate calls`` exports, from the samples they came from (``samples.jsonl``): the tier
from the entry's category and its expected calls' arguments, the entity from the hallucination traps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eval.leaderboard import TIER_ORDER
from toolbench.errors import ToolbenchError

REAL, FAKE = "real", "fake"
# BFCL category of a generated entry -> difficulty tier (complex arguments make any of them "enterprise").
TIER_OF_CATEGORY = {"simple": "simple", "parallel": "parallel", "multiple": "multiple",
                    "parallel_multiple": "parallel_multiple", "multi_turn_multiple": "multi_turn"}
ENTERPRISE = "enterprise"
FAKE_CATEGORY = "irrelevance_hallucination"


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


# -- labelling --------------------------------------------------------------------------------------------------

def sample_of_entry(entry_id: str) -> str:
    """The sample id behind a BFCL entry id (``multi_turn_4-1`` -> ``multi_turn_4``)."""
    head, sep, tail = entry_id.rpartition("-")
    return head if sep and tail.isdigit() else entry_id


def _properties(function: Mapping[str, Any]) -> Mapping[str, Any]:
    params = function.get("parameters") or {}
    props = params.get("properties") if isinstance(params, Mapping) else None
    return props if isinstance(props, Mapping) else {}


def _has_enum(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    if "enum" in schema:
        return True
    return any(_has_enum(branch) for key in ("anyOf", "oneOf") for branch in schema.get(key) or [])


def is_complex_call(function: Mapping[str, Any], arguments: Mapping[str, Any]) -> bool:
    """True when a call passes a nested object or a list, or a value restricted to an enum."""
    props = _properties(function)
    return any(isinstance(value, (dict, list)) or _has_enum(props.get(name)) for name, value in arguments.items())


def label_entries(entries: list[dict[str, Any]], samples: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of BFCL entries with ``tier`` (calls only) and ``entity`` (real/fake) fields for ``eval report``.

    - tier: ``enterprise`` when an expected call of the entry's step is complex (:func:`is_complex_call`), else
      its category's tier (:data:`TIER_OF_CATEGORY`); entries expecting no call get none;
    - entity: ``fake`` for hallucination traps (a made-up company, movie, order...); ``real`` for entries calling
      an API that some trap targets (the same APIs, asked about entities that exist); others get none.

    ``samples`` maps sample id -> the sample as ``samples.jsonl`` stores it."""
    trap_targets = {tuple(s["meta"]["target"]) for s in samples.values()
                    if s.get("category") == "hallucination" and s.get("meta", {}).get("target")}
    out = []
    for entry in entries:
        labelled = dict(entry)
        sample = samples.get(sample_of_entry(str(entry["id"])))
        category = str(entry.get("category", ""))
        if category == FAKE_CATEGORY:
            labelled["entity"] = FAKE
        elif sample is not None and category in TIER_OF_CATEGORY:
            step_calls = _entry_calls(entry, sample)
            functions = {f["name"]: f for f in sample.get("functions", [])}
            complex_call = any(is_complex_call(functions.get(c["name"], {}), c.get("arguments") or {})
                               for c in step_calls)
            labelled["tier"] = ENTERPRISE if complex_call else TIER_OF_CATEGORY[category]
            if any((c.get("tool"), c.get("api")) in trap_targets for c in step_calls):
                labelled["entity"] = REAL
        out.append(labelled)
    return out


def _entry_calls(entry: Mapping[str, Any], sample: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps = sample.get("steps", [])
    _, sep, tail = str(entry["id"]).rpartition("-")
    index = int(tail) if sep and tail.isdigit() and len(steps) > 1 else 0
    return list(steps[index].get("calls", [])) if index < len(steps) else []


def samples_by_id(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """``samples.jsonl`` rows keyed by their ``id`` (rows without one are skipped)."""
    return {row["id"]: row for row in rows if "id" in row}


def pick_entries(entries: list[dict[str, Any]], k: int, seed: int) -> list[dict[str, Any]]:
    """``k`` of ``entries``, categories interleaved, in a seeded order that does not depend on the input order."""
    from toolbench.selection import pick

    return pick(entries, k, category=lambda e: str(e.get("category")), ident=lambda e: str(e["id"]), seed=seed)


def label_files(questions: str | Path, samples: str | Path, out: str | Path, *, pick: int | None = None,
                seed: int = 0, answers: str | Path | None = None, answers_out: str | Path | None = None
                ) -> dict[str, Any]:
    """``toolbench eval tiers``: label the BFCL entries of ``questions`` from the samples of ``samples``
    (``samples.jsonl`` of ``toolbench generate calls``), keep a seeded pick of ``pick`` of them
    (:func:`pick_entries`; None: all), and write them to ``out``; with ``answers`` (the possible answers), the
    kept entries' answers go to ``answers_out``. Returns the counts."""
    from toolbench.formats.atomic import write_jsonl_atomic
    from toolbench.formats.jsonl import read_jsonl

    entries = read_jsonl(questions)
    for number, entry in enumerate(entries, 1):
        if "id" not in entry:
            raise SeedEvalError(f"{questions}, entry {number}: no 'id' field (give a BFCL questions file)")
    if pick is not None and pick < 1:
        raise SeedEvalError(f"--pick must be >= 1; got {pick}")
    labelled = label_entries(entries, samples_by_id(read_jsonl(samples)))
    if pick is not None:
        labelled = pick_entries(labelled, pick, seed)
    write_jsonl_atomic(out, labelled)
    if answers is not None:
        if answers_out is None:
            raise SeedEvalError("answers: say where the kept entries' answers go (answers_out)")
        ids = {e["id"] for e in labelled}
        write_jsonl_atomic(answers_out, [a for a in read_jsonl(answers) if a.get("id") in ids])
    tiers: dict[str, int] = {}
    entities: dict[str, int] = {}
    for entry in labelled:
        if "tier" in entry:
            tiers[entry["tier"]] = tiers.get(entry["tier"], 0) + 1
        if "entity" in entry:
            entities[entry["entity"]] = entities.get(entry["entity"], 0) + 1
    return {"entries": len(labelled), "tiers": tiers, "entities": entities, "out": str(out)}
