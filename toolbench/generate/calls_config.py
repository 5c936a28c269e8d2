"""The configuration of ``generate calls``: the mix of categories (:data:`DEFAULT_WEIGHTS`), the kinds of
irrelevance samples (:data:`DEFAULT_IRRELEVANCE`), how hard each category is (:class:`CallsConfig`), and one
whole run (:class:`CallsRunConfig`: catalog, output folder, size, verification, models), which
:func:`toolbench.generate.pipeline.run` takes and ``toolbench generate calls`` builds its options from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from toolbench.config import ConfigError, doc
from toolbench.generate.call_samples import CATEGORIES
from toolbench.generate.errors import GenerateError

DEFAULT_WEIGHTS: dict[str, float] = {"simple": 0.14, "multiple": 0.22, "parallel": 0.14, "parallel_multiple": 0.14,
                                     "irrelevance": 0.14, "hallucination": 0.07, "multi_turn": 0.15}
IRRELEVANCE_KINDS = ("missing_capability", "same_arguments", "other_category", "off_topic")
DEFAULT_IRRELEVANCE: dict[str, float] = {"missing_capability": 0.5, "same_arguments": 0.0, "other_category": 0.3,
                                         "off_topic": 0.2}


def _check_mix(name: str, mix: dict[str, float], allowed: tuple[str, ...]) -> None:
    if any(isinstance(w, bool) or not isinstance(w, (int, float)) for w in mix.values()):
        raise GenerateError(f"calls.{name}: every weight must be a number; got {mix}")
    unknown = sorted(set(mix) - set(allowed))
    if unknown:
        raise GenerateError(f"calls.{name}: unknown categories {unknown}; use {', '.join(allowed)}")
    if any(w < 0 for w in mix.values()) or not any(w > 0 for w in mix.values()):
        raise GenerateError(f"calls.{name}: weights must be >= 0 and at least one > 0")


@dataclass(frozen=True)
class CallsConfig:
    """How call samples are made: the mix of categories and how hard each one is."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS), metadata=doc(
        "The mix: category -> relative weight (simple, multiple, parallel, parallel_multiple, irrelevance, "
        "hallucination, multi_turn); categories the catalog cannot give are dropped. --mix CATEGORY=WEIGHT is "
        "repeatable and changes only the categories it names (0 drops one); a config file's weights are the "
        "whole mix.", option="--mix", form="CATEGORY=WEIGHT", example="multiple=0.3"))
    irrelevance_kinds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_IRRELEVANCE), metadata=doc(
        "Irrelevance samples by kind -> relative weight: missing_capability (neighbours of the API asked for "
        "offered), same_arguments (functions that take the request's values but do something else), "
        "other_category, off_topic; --irrelevance-kind KIND=WEIGHT changes only the kinds it names.",
        option="--irrelevance-kind", form="KIND=WEIGHT", example="off_topic=0"))
    zh_rate: float = field(default=0.3, metadata={"help": "Share of requests written in Chinese."})
    min_offered: int = field(default=3, metadata={
        "help": "Fewest functions offered in a multiple sample (at most max_offered)."})
    max_offered: int = field(default=6, metadata={"help": "Most functions offered in one sample."})
    max_parallel: int = field(default=4, metadata={"help": "Most calls in a parallel or parallel_multiple sample."})
    parallel_values_rate: float = field(default=0.1, metadata={
        "help": "Share of parallel samples where more than one argument differs from call to call (BFCL's "
                "'base 10 and height 5, base 15 and height 7'), on a function with two or more scalar parameters; "
                "a third one varies at the same rate. The extra ones: required parameters, else optional ones the "
                "sample gives, else other optional ones."})
    grid_rate: float = field(default=0.0, metadata={
        "help": "Share of parallel samples (English, max_parallel >= 4) whose calls are every combination of two "
                "values of one argument and two of another, said once each ('the prime factors of 4567 and 7890, "
                "formatted and as a list, every combination': four calls). The function needs two scalar "
                "parameters; a flag's two values are on and off."})
    number_rate: float = field(default=0.0, metadata={
        "help": "Share of simple, multiple, parallel and parallel_multiple samples whose (first) called API takes a "
                "number that is not an identifier (a count, amount, price, distance, coordinate, year ...), drawn "
                "among the catalog's APIs that have one, with that number given (and varied, in a parallel "
                "sample). 0: every API alike, where a REST catalog's calls mostly carry strings and ids."})
    near_miss_rate: float = field(default=0.75, metadata={
        "help": "Share of distractors drawn among the nearest APIs (same tool, similar names) rather than at "
                "random."})
    optional_rate: float = field(default=0.4, metadata={"help": "How often an optional parameter is given."})
    paraphrase_rate: float = field(default=0.0, metadata={
        "help": "Share of requests rewritten by the paraphrasing LLM (needs one)."})
    today: dt.date | None = field(default=None, metadata={
        "help": "The date that sampled dates centre on; None: the median date among the catalog's examples."})

    def __post_init__(self) -> None:
        if isinstance(self.today, str):
            try:
                object.__setattr__(self, "today", dt.date.fromisoformat(self.today))
            except ValueError:
                raise GenerateError(f"calls.today {self.today!r}: write a date as YYYY-MM-DD") from None
        _check_mix("weights", self.weights, CATEGORIES)
        _check_mix("irrelevance_kinds", self.irrelevance_kinds, IRRELEVANCE_KINDS)
        for name in ("zh_rate", "optional_rate", "paraphrase_rate", "near_miss_rate", "parallel_values_rate",
                     "grid_rate", "number_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise GenerateError(f"calls.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.max_offered < 2 or self.max_parallel < 2 or self.min_offered < 2:
            raise GenerateError("calls.min_offered, calls.max_offered and calls.max_parallel must be at least 2")


class CallsConfigError(GenerateError, ConfigError):
    """A ``generate calls`` config file or ``--set`` item is wrong (the message names it and the field)."""


@dataclass
class CallsRunConfig:
    """One ``generate calls`` run; the command has one option per field (its samples' settings, ``calls``, flat)."""

    catalog: str = field(metadata=doc("Catalog folder (<Category>/<tool>.json).", path=True))
    n: int = field(metadata=doc("Samples to make (sample ids 0..n-1; a rerun adds only missing ones)."))
    out: str = field(metadata=doc("Output folder: samples.jsonl, stats.json, bfcl/, train/, heldout/.", path=True))
    calls: CallsConfig = field(default_factory=CallsConfig, metadata=doc("How the samples are made."))
    seed: int = field(default=0, metadata=doc("Seed of everything random in the samples."))
    heldout: float = field(default=0.1, metadata=doc(
        "Share held out, never sharing an API-argument combination with train."))
    verify: bool = field(default=False, metadata=doc(
        "Run the verification stages (format, execution with --hub-url, meaning)."))
    hub_url: str | None = field(default=None, metadata=doc(
        "A running hub (`toolbench hub serve`): runs calls for multi-turn results and for the execution stage."))
    model: str | None = field(default=None, metadata=doc("LLM for --paraphrase-rate and --judge."))
    base_url: str | None = field(default=None, metadata=doc("OpenAI-compatible endpoint of --model."))
    paraphrase_model: str | None = field(default=None, metadata=doc(
        "LLM for --paraphrase-rate (default: --model); a rewrite that loses a value is dropped."))
    judge: bool = field(default=False, metadata=doc("The LLM also judges meaning (needs --model)."))
    cache: str | None = field(default=None, metadata=doc("Record/replay cache of the LLM requests (SQLite).",
                                                         path=True))

    def __post_init__(self) -> None:
        if isinstance(self.calls, dict):
            self.calls = CallsConfig(**self.calls)
        if not isinstance(self.n, int) or self.n < 1:
            raise GenerateError(f"--n must be at least 1, got {self.n}")
        if not 0.0 <= self.heldout < 1.0:
            raise GenerateError(f"--heldout must be in [0, 1), got {self.heldout}")
