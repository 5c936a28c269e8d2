"""The configuration of ``generate instructions``: how queries are asked for and filtered
(:class:`InstructionConfig`), and one whole run (:class:`InstructionsRunConfig`: catalog, group, size, output
file, model), which :func:`toolbench.generate.instructions.run` takes and ``toolbench generate instructions``
builds its options from. Light: the command imports it to build its options."""

from __future__ import annotations

from dataclasses import dataclass, field

from toolbench.config import ConfigError, doc
from toolbench.generate.api_sets import GROUPS
from toolbench.generate.errors import GenerateError

MODES = ("compose", "llm")


@dataclass(frozen=True)
class InstructionConfig:
    """How queries are asked for and filtered."""

    mode: str = field(default="compose", metadata=doc(
        "compose (default): each query's APIs and argument values are drawn from the set, phrased by rule, and "
        "the model (if given) rewrites it, kept only when the rewrite passes the filters; works with a small "
        "model or none. llm: the model writes whole queries (ToolBench's prompt), for capable models."))
    queries_per_set: int = field(default=5, metadata=doc("Queries asked for each sampled API set.",
                                                         option="--per-set"))
    min_relevant: int = field(default=2, metadata=doc("Fewest relevant APIs a query must name."))
    max_relevant: int = field(default=5, metadata=doc("Most relevant APIs a query may name."))
    near_duplicate: float = field(default=0.8, metadata=doc(
        "Character 3-gram Jaccard similarity from which a query is a near-duplicate of a kept one."))
    min_chars: int = field(default=15, metadata=doc("Shortest acceptable query text, in characters."))
    temperature: float = field(default=0.9, metadata=doc("Sampling temperature of the writer model."))
    optional_rate: float = field(default=0.3, metadata=doc(
        "compose: how often an optional parameter gets a value in the query."))
    max_tokens: int = field(default=2048, metadata=doc(
        "Token budget of one model reply (a compose rewrite asks for about the draft's length, at most this)."))
    max_sets_factor: int = field(default=4, metadata=doc(
        "Give up after n * factor / queries_per_set + 10 API sets if n queries have not been kept."))
    json_schema: bool = field(default=True, metadata=doc(
        "Send the reply's JSON schema as response_format (a server with constrained decoding then answers only "
        "well-formed JSON: the entries naming the set's APIs, or the composed query's {\"query\"}); "
        "--no-json-schema for endpoints that reject it."))

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise GenerateError(f"instructions.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.queries_per_set < 1:
            raise GenerateError(f"instructions.queries_per_set (--per-set) must be at least 1, got "
                                f"{self.queries_per_set}")
        if not 1 <= self.min_relevant <= self.max_relevant:
            raise GenerateError("instructions.min_relevant must be at least 1 and at most max_relevant, got "
                                f"{self.min_relevant}..{self.max_relevant}")
        if not 0.0 < self.near_duplicate <= 1.0:
            raise GenerateError(f"instructions.near_duplicate must be in (0, 1], got {self.near_duplicate}")
        if self.max_tokens < 1 or self.max_sets_factor < 1:
            raise GenerateError("instructions.max_tokens and instructions.max_sets_factor must be at least 1, got "
                                f"{self.max_tokens} and {self.max_sets_factor}")


class InstructionsConfigError(GenerateError, ConfigError):
    """A ``generate instructions`` config file or ``--set`` item is wrong (the message names it and the field)."""


@dataclass
class InstructionsRunConfig:
    """One ``generate instructions`` run; the command has one option per field (the filters' settings,
    ``instructions``, flat)."""

    catalog: str = field(metadata=doc("Catalog folder (<Category>/<tool>.json).", path=True))
    group: str = field(metadata=doc("G1 (one tool), G2 (one category) or G3 (one collection, or across "
                                    "categories)."))
    n: int = field(metadata=doc("Queries to keep."))
    out: str = field(metadata=doc("ToolBench query file to write (e.g. runs/gen/G1_query.json); "
                                  "<stem>.journal.jsonl, .rejected.json and .stats.json go next to it.", path=True))
    instructions: InstructionConfig = field(default_factory=InstructionConfig, metadata=doc(
        "How queries are asked for and filtered."))
    model: str | None = field(default=None, metadata=doc(
        "Model name at --base-url (compose without one: every query phrased by rule; llm needs one)."))
    base_url: str | None = field(default=None, metadata=doc("OpenAI-compatible endpoint, e.g. "
                                                            "http://127.0.0.1:8000/v1."))
    seed: int = field(default=0, metadata=doc("Seed of the API-set sampling and of the requests."))
    cache: str | None = field(default=None, metadata=doc("Record/replay cache of the LLM requests (SQLite).",
                                                         path=True))

    def __post_init__(self) -> None:
        if isinstance(self.instructions, dict):
            self.instructions = InstructionConfig(**self.instructions)
        self.group = str(self.group).upper()
        if self.group not in GROUPS:
            raise GenerateError(f"--group {self.group!r}: use one of {', '.join(GROUPS)}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise GenerateError(f"--n must be at least 1, got {self.n}")

    @property
    def phrased_by_rule(self) -> bool:
        """No model to ask: compose mode phrases every query by rule."""
        return self.instructions.mode == "compose" and self.model is None
