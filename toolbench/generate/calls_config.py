"""The configuration of ``generate calls``: the mix of categories (:data:`DEFAULT_WEIGHTS`), the kinds of
irrelevance samples (:data:`DEFAULT_IRRELEVANCE`), and how hard each category is (:class:`CallsConfig`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from toolbench.generate.call_samples import CATEGORIES
from toolbench.generate.errors import GenerateError

DEFAULT_WEIGHTS: dict[str, float] = {"simple": 0.14, "multiple": 0.22, "parallel": 0.14, "parallel_multiple": 0.14,
                                     "irrelevance": 0.14, "hallucination": 0.07, "multi_turn": 0.15}
IRRELEVANCE_KINDS = ("missing_capability", "other_category", "off_topic")
DEFAULT_IRRELEVANCE: dict[str, float] = {"missing_capability": 0.5, "other_category": 0.3, "off_topic": 0.2}


def _check_mix(name: str, mix: dict[str, float], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(mix) - set(allowed))
    if unknown:
        raise GenerateError(f"calls.{name}: unknown categories {unknown}; use {', '.join(allowed)}")
    if any(w < 0 for w in mix.values()) or not any(w > 0 for w in mix.values()):
        raise GenerateError(f"calls.{name}: weights must be >= 0 and at least one > 0")


@dataclass(frozen=True)
class CallsConfig:
    """How call samples are made: the mix of categories and how hard each one is."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS), metadata={
        "help": "The mix: category -> relative weight (simple, multiple, parallel, parallel_multiple, "
                "irrelevance, hallucination, multi_turn); categories the catalog cannot give are dropped."})
    irrelevance_kinds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_IRRELEVANCE), metadata={
        "help": "Irrelevance samples by kind -> relative weight: missing_capability (neighbours of the API asked "
                "for offered), other_category, off_topic."})
    zh_rate: float = field(default=0.3, metadata={"help": "Share of requests written in Chinese."})
    min_offered: int = field(default=3, metadata={
        "help": "Fewest functions offered in a multiple sample (at most max_offered)."})
    max_offered: int = field(default=6, metadata={"help": "Most functions offered in one sample."})
    max_parallel: int = field(default=4, metadata={"help": "Most calls in a parallel or parallel_multiple sample."})
    near_miss_rate: float = field(default=0.75, metadata={
        "help": "Share of distractors drawn among the nearest APIs (same tool, similar names) rather than at "
                "random."})
    optional_rate: float = field(default=0.4, metadata={"help": "How often an optional parameter is given."})
    paraphrase_rate: float = field(default=0.0, metadata={
        "help": "Share of requests rewritten by the paraphrasing LLM (needs one)."})
    today: dt.date | None = field(default=None, metadata={
        "help": "The date that sampled dates centre on; None: the median date among the catalog's examples."})

    def __post_init__(self) -> None:
        _check_mix("weights", self.weights, CATEGORIES)
        _check_mix("irrelevance_kinds", self.irrelevance_kinds, IRRELEVANCE_KINDS)
        for name in ("zh_rate", "optional_rate", "paraphrase_rate", "near_miss_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise GenerateError(f"calls.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.max_offered < 2 or self.max_parallel < 2 or self.min_offered < 2:
            raise GenerateError("calls.min_offered, calls.max_offered and calls.max_parallel must be at least 2")
