"""The public BFCL block's sample: a fixed, stratified sample of BFCL's public categories, chosen by the sha256 of
each entry id (a third of each category, at least 60, at most 150), the same on every machine and run; the
entries and possible answers loaded from the installed ``bfcl-eval``.

**Dev and test slices.** Each category is cut once, by the sha256 of ``<DEV_SALT>:<id>`` (no seed: the cut never
moves), into a declared *dev* slice (a fifth of the category, :func:`dev_ids`) and a *test* slice (the rest).
Recipes are compared on ``split="dev"``; headline figures (the demo's, ``eval bfcl-public``'s default) are drawn
from ``split="test"``, so a choice made by looking at dev figures never inflates the reported ones. Both slices are
evaluation data: neither may reach training or few-shot prompts (:mod:`toolbench.contamination`)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.formats.atomic import write_text_atomic

PUBLIC_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
OPTIONAL_CATEGORIES = ("live_simple", "live_multiple")
ABSTENTION = ("irrelevance", "live_irrelevance")
SAMPLE_SALT = "toolbench-public-bfcl-v1"
SAMPLE_FRACTION = 3  # a third of each category...
SAMPLE_FLOOR = 60  # ...at least 60 entries...
SAMPLE_CAP = 150  # ...at most 150
DEV_SALT = "toolbench-public-bfcl-dev-v1"
DEV_FRACTION = 5  # the dev slice: a fifth of each category
SPLITS = ("test", "dev", "all")
UNKNOWN = "unknown"


class PublicBfclError(ToolbenchError):
    """The public block could not be sampled or run; the message says what to do."""


def default_size(total: int) -> int:
    """A category's default sample size: a third of its ``total`` entries, clamped to [60, 150], at most all."""
    return min(total, max(SAMPLE_FLOOR, min(SAMPLE_CAP, math.ceil(total / SAMPLE_FRACTION))))


def _rank(entry_id: str, seed: int, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{seed}:{entry_id}".encode()).hexdigest()


def choose_ids(ids: Iterable[str], k: int, *, seed: int = 0, salt: str = SAMPLE_SALT) -> list[str]:
    """The ``k`` ids of ``ids`` with the lowest ``sha256(salt:seed:id)``, returned in their given order."""
    ids = list(ids)
    kept = set(sorted(ids, key=lambda i: (_rank(i, seed, salt), i))[:k])
    return [i for i in ids if i in kept]


def dev_ids(ids: Iterable[str]) -> set[str]:
    """The declared dev slice of a category's ``ids``: the ``ceil(n / 5)`` ids with the lowest
    ``sha256(DEV_SALT:id)``. It depends on nothing else (no seed), so it is the same for every run."""
    ids = list(ids)
    k = math.ceil(len(ids) / DEV_FRACTION)
    return set(sorted(ids, key=lambda i: (_rank(i, 0, DEV_SALT), i))[:k])


def split_ids(ids: Iterable[str], split: str) -> list[str]:
    """The ids of ``split`` ("dev", "test": the rest, or "all"), in their given order."""
    if split not in SPLITS:
        raise PublicBfclError(f"split: expected one of {', '.join(SPLITS)}; got {split!r}")
    ids = list(ids)
    if split == "all":
        return ids
    dev = dev_ids(ids)
    return [i for i in ids if (i in dev) == (split == "dev")]


@dataclass
class PublicSample:
    """The ids chosen per category (in file order), how many entries each category has, and how they were
    chosen."""

    ids: dict[str, list[str]]
    totals: dict[str, int]
    seed: int = 0
    salt: str = SAMPLE_SALT
    bfcl_eval: str = UNKNOWN
    split: str = "all"

    @property
    def categories(self) -> list[str]:
        return list(self.ids)

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.ids.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "bfcl_eval": self.bfcl_eval,
            "seed": self.seed,
            "salt": self.salt,
            "split": self.split,
            "method": "per category, the k ids with the lowest sha256('<salt>:<seed>:<id>'), listed in file order",
            "size": self.size,
            "per_category": {c: {"n": len(ids), "of": self.totals.get(c)} for c, ids in self.ids.items()},
            "ids": {c: list(ids) for c, ids in self.ids.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "sample") -> PublicSample:
        if not isinstance(data, Mapping) or not isinstance(data.get("ids"), Mapping):
            raise PublicBfclError(f"{where}: expected an object with 'ids' {{category: [id, ...]}}")
        per = data.get("per_category") or {}
        return cls(ids={str(c): [str(i) for i in ids] for c, ids in data["ids"].items()},
                   totals={str(c): int(v.get("of") or len(data["ids"][c])) for c, v in per.items()},
                   seed=int(data.get("seed", 0)), salt=str(data.get("salt", SAMPLE_SALT)),
                   bfcl_eval=str(data.get("bfcl_eval", UNKNOWN)), split=str(data.get("split", "all")))

    def write(self, path: str | Path) -> Path:
        return write_text_atomic(Path(path), json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> PublicSample:
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (OSError, json.JSONDecodeError) as exc:
            raise PublicBfclError(f"{path}: cannot read the sample ({exc})") from exc

    def load(self) -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
        """``{category: (entries, {id: ground_truth})}`` for the sampled ids, from the installed bfcl-eval; an
        id the package does not have is an error (the sample was drawn from another version)."""
        out = {}
        for category, ids in self.ids.items():
            entries, answers = _load_category(category)
            by_id = {e["id"]: e for e in entries}
            missing = [i for i in ids if i not in by_id]
            if missing:
                raise PublicBfclError(
                    f"sample: {len(missing)} ids of {category} are not in the installed bfcl-eval "
                    f"({_installed_version()}; the sample was drawn from {self.bfcl_eval}), e.g. {missing[0]}")
            wanted = set(ids)
            out[category] = ([by_id[i] for i in ids],
                             {a["id"]: a["ground_truth"] for a in answers if a.get("id") in wanted})
        return out


def _load_category(category: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from eval import bfcl_reference

    return bfcl_reference.load_category(category)


def _installed_version() -> str:
    from toolbench import bfcl_data

    return bfcl_data.version()


def parse_per_category(value: Any) -> int | str | None:
    """``--per-category``: None (defaults), ``"all"``, or a positive integer (given as text or a number)."""
    if value is None or value == "all":
        return value
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PublicBfclError(f"per-category: expected a number or 'all'; got {value!r}") from None
    if number < 1:
        raise PublicBfclError(f"per-category: must be >= 1 (or 'all'); got {number}")
    return number


def public_sample(categories: Iterable[str] | None = None,
                  per_category: Mapping[str, int | str] | int | str | None = None, *, seed: int = 0,
                  salt: str = SAMPLE_SALT, split: str = "test") -> PublicSample:
    """The fixed, stratified sample of BFCL's public categories (see the module docstring), drawn from the
    ``split`` slice of each category ("test", the default; "dev" for comparing recipes; "all").

    ``categories``: default :data:`PUBLIC_CATEGORIES`. ``per_category``: None (the default sizes,
    :func:`default_size`), an int (that many of each category, or all of a smaller one), ``"all"`` (every
    entry), or ``{category: int | "all"}`` (categories not named get the default)."""
    categories = list(PUBLIC_CATEGORIES if categories is None else categories)
    if not categories:
        raise PublicBfclError("public_sample: no categories given")
    if len(set(categories)) != len(categories):
        raise PublicBfclError(f"public_sample: a category is given twice: {categories}")
    if isinstance(per_category, Mapping):
        unknown = sorted(set(per_category) - set(categories))
        if unknown:
            raise PublicBfclError(f"per-category names categories not sampled: {', '.join(unknown)}")
    ids: dict[str, list[str]] = {}
    totals: dict[str, int] = {}
    for category in categories:
        entries, _ = _load_category(category)
        all_ids = split_ids([str(e["id"]) for e in entries], split)
        totals[category] = len(all_ids)
        wanted = per_category.get(category) if isinstance(per_category, Mapping) else per_category
        wanted = parse_per_category(wanted)
        if wanted == "all":
            ids[category] = all_ids
            continue
        k = default_size(len(all_ids)) if wanted is None else min(int(wanted), len(all_ids))
        ids[category] = choose_ids(all_ids, k, seed=seed, salt=salt)
    return PublicSample(ids=ids, totals=totals, seed=seed, salt=salt, bfcl_eval=_installed_version(), split=split)


def kept_sample(path: str | Path, categories: Iterable[str] | None = None,
                per_category: Mapping[str, int | str] | int | str | None = None, *, seed: int = 0,
                split: str = "test") -> PublicSample:
    """The sample kept at ``path``: read back when it is there, else drawn (:func:`public_sample`) and written
    there first, so every model of a run, and every rerun, answers the same ids (the categories and sizes of a
    later call do not redraw it). A kept sample of another ``split`` is an error, not a silent mix."""
    if Path(path).exists():
        kept = PublicSample.read(path)
        if kept.split != split:
            raise PublicBfclError(f"{path}: this sample was drawn from the {kept.split!r} split, not {split!r}; "
                                  "delete it (or use another run folder) to draw a new one")
        return kept
    sample = public_sample(categories, per_category, seed=seed, split=split)
    sample.write(path)
    return sample


def dev_requests(categories: Iterable[str] | None = None, per_category: int | str | None = 40, *,
                 seed: int = 0) -> list[Any]:
    """BFCL's declared dev slice as labelled requests for choosing a model's call threshold
    (:func:`toolbench.llm.call_gate.calibrate`): the request as the model is asked it, wanting text in the
    abstention categories and a call in the others. Only the dev slice: a choice made on it is reported on the
    test slice, which this never reads."""
    from eval import predict
    from toolbench.llm.call_gate import LabelledRequest

    sample = public_sample(categories, per_category, seed=seed, split="dev")
    out = []
    for category, (entries, _) in sample.load().items():
        for entry in entries:
            messages, tools, _ = predict.build_request(entry)
            out.append(LabelledRequest(str(entry["id"]), messages, tools, category not in ABSTENTION))
    return out


def reference_reply(entry: Mapping[str, Any], answer: Any) -> str:
    """The shortest reply in the call format that BFCL would accept for ``entry`` (its possible ``answer``): every
    call of it, each argument at its shortest option and left out where an option says it may be. What a reply
    budget (``max_tokens``) must hold so a right answer is not cut: ``toolbench demo``'s ``bfcl_max_tokens`` is
    checked against the dev slice's."""
    from eval import predict
    from eval.bfcl_reference import realize_option
    from toolbench.llm.constraints import CALL_SEPARATOR
    from toolbench.llm.toolcalls import format_tool_call

    _, _, names = predict.build_request(entry)
    safe = {original: name for name, original in names.items()}
    calls = []
    for call in answer if isinstance(answer, list) else []:
        if not isinstance(call, Mapping):
            continue
        for name, options_by_param in call.items():
            args = {param: min((realize_option(o) for o in options), key=lambda v: len(json.dumps(v)))
                    for param, options in (options_by_param or {}).items()
                    if isinstance(options, list) and options and "" not in options}
            calls.append(format_tool_call(safe.get(name, name), args))
    return CALL_SEPARATOR.join(calls)
