"""The demo's sizes and settings: one :class:`DemoProfile` per named profile (``tiny``, ``quick``, ``full``).

Every field is documented; ``toolbench demo --set field=value`` overrides any of them (values are YAML), and
``__post_init__`` checks them before any server or model starts, with errors naming the field. A run folder
remembers the profile it was made with (``<out>/state/profile.json``): a rerun with other settings is refused
instead of mixing results (start over with ``--fresh``, or use another ``--out``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from toolbench.config import ConfigError, doc, load_config
from toolbench.generate.calls_config import CallsConfig
from toolbench.generate.errors import GenerateError


class ProfileError(ConfigError):
    """A demo profile setting is invalid; the message names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)



# The reference-catalog samples and the mix of the full profile, chosen on BFCL's dev slice (benchmarks/README.md,
# "Session 7"): up to 4 offered functions and 4 parallel calls as BFCL asks, more irrelevance samples, mostly of the
# same_arguments kind (BFCL's shape: the offered function takes the request's values but does something else).
REFERENCE_GENERATION: dict[str, Any] = {
    "max_offered": 4, "max_parallel": 4, "weights": {"irrelevance": 0.25},
    "irrelevance_kinds": {"same_arguments": 0.6, "missing_capability": 0.3, "other_category": 0.0, "off_topic": 0.1}}
# Session 10 (benchmarks/README.md): two passes (544 steps) with the no-call examples at their natural share
# (irrelevance 1) abstain on 70% of the dev slice's irrelevance entries against 20%, the call categories within
# the seed spread; two passes at irrelevance 2, or twice the data at 2, refuse most call requests instead.
# Session 12: the hallucination traps' clarifying question ("I won't guess its id") was asked of most BFCL call
# requests that name a city, team or company; without the traps the dev slice's micro went 30.5 -> 36.5, abstention
# kept. The generator still makes them (the generated split still tests them).
TRAIN_CATEGORY_WEIGHTS: dict[str, float] = {"irrelevance": 1.0, "hallucination": 0.0}
TRAIN_KIND_WEIGHTS: dict[str, float] = {}


@dataclass(frozen=True)
class DemoProfile:
    """How big each stage of ``toolbench demo`` is. Times in the help are for 2 idle CPU cores."""

    name: str = field(default="full", metadata=doc("Profile name (tiny, quick, full, or custom)."))
    seed: int = field(default=0, metadata=doc("Seed of the hub's data, sampling, splits and training."))
    # -- crawl --
    crawl_samples: int = field(default=2, metadata=doc("Sampled valid calls per API in the crawl, besides the "
                                                         "documented example call."))
    # -- generation --
    calls: int = field(default=400, metadata=doc("Function-call samples generated (`generate calls --n`); "
                                                   "about 80% pass verification."))
    heldout: float = field(default=0.2, metadata=doc("Share of the kept samples held out for evaluation (no "
                                                       "API-argument combination shared with training); the full "
                                                       "profile's 400 give ~60 AST entries and ~38 checkable "
                                                       "search tasks."))
    max_offered: int = field(default=2, metadata=doc("Most functions offered in one sample (>= 2): fewer "
                                                       "means shorter prompts, which CPU time is spent on."))
    max_parallel: int = field(default=2, metadata=doc("Most calls in a parallel sample (>= 2): a reply of two "
                                                        "calls fits eval_max_tokens."))
    reference_catalog: str | None = field(default="data/reference/stabletoolbench/G1_instruction.json", metadata=doc(
        "A second catalog the call data is also generated from: a ToolBench/StableToolBench query file or tool "
        "folder (`catalog import-toolbench`; default: the G1 reference file's 815 real RapidAPI signatures, no "
        "backend, so its samples are verified by format and meaning). Relative to the working directory; null: "
        "the hub's catalog only."))
    reference_calls: int = field(default=800, metadata=doc("Call samples generated from reference_catalog."))
    reference_generation: dict[str, Any] = field(default_factory=lambda: dict(REFERENCE_GENERATION), metadata=doc(
        "How the reference-catalog samples are made: `generate calls` settings (CallsConfig fields: max_offered, "
        "max_parallel, weights, irrelevance_kinds, near_miss_rate...) over the demo's (zh_rate, max_offered, "
        "max_parallel); weights and irrelevance_kinds change only the entries they name. Those samples only "
        "train, so BFCL's 2-4 offered functions and calls fit. Default: up to 4 functions and 4 parallel calls, "
        "more irrelevance samples, most of them same_arguments (chosen on BFCL's dev slice, benchmarks/README.md)."))
    zh_rate: float = field(default=0.0, metadata=doc("Share of requests written in Chinese (generate's default "
                                                       "is 0.3; SmolLM2 is an English model, so the demo uses 0)."))
    instruction_sets: int = field(default=1, metadata=doc("API sets sampled per group (G1, G2, G3) for the "
                                                            "instruction stage."))
    instruction_queries: int = field(default=3, metadata=doc("Queries composed per API set, each phrased by "
                                                               "one short request to the local model."))
    instruction_max_tokens: int = field(default=160, metadata=doc("Longest reply of the model rewriting a "
                                                                    "composed query (a reply cut off keeps the "
                                                                    "rule's text)."))
    # -- evaluation --
    eval_entries: int | None = field(default=None, metadata=doc(
        "Held-out BFCL entries scored per model (None: all of them)."))
    eval_max_tokens: int = field(default=80, metadata=doc("Longest reply when scoring AST accuracy (a "
                                                            "call of two functions fits)."))
    dfsdt_tasks: int = field(default=30, metadata=doc("Held-out tasks (with rule-checkable expectations) "
                                                        "searched by each strategy of the comparison, by each "
                                                        "model (ToolLLM's table needs enough tasks to separate "
                                                        "the strategies: 30 x 12 model calls is ~25 min for "
                                                        "the base model on 2 idle cores)."))
    dfsdt_width: int = field(default=2, metadata=doc("DFSDT: children tried per state."))
    dfsdt_max_steps: int = field(default=4, metadata=doc("DFSDT: model replies in one chain."))
    dfsdt_max_llm_calls: int = field(default=12, metadata=doc(
        "The comparison's budget: model calls per task, the same for ReACT, ReACT@N and DFSDT (ToolBench: 200)."))
    compare_strategies: str = field(default="react,react@n,dfsdt", metadata=doc(
        "Strategies of the equal-budget comparison (comma-separated: react, react@n, dfsdt)."))
    dfsdt_reply_tokens: int = field(default=96, metadata=doc("Longest model reply during the search (the "
                                                               "local server's default max_tokens)."))
    observation_chars: int = field(default=384, metadata=doc("API responses shown to the model (DFSDT and its "
                                                               "training runs) are cut to this many characters "
                                                               "(ToolBench: 1024-2048; short prompts on CPU)."))
    concurrency: int = field(default=4, metadata=doc("Requests in flight to the local model (its server "
                                                       "generates up to 4 waiting requests together)."))
    judge_k: int = field(default=1, metadata=doc("Judgments per answer when an LLM judge is given."))
    # -- retriever --
    retriever_epochs: int = field(default=1, metadata=doc("Epochs of retriever training (ToolBench: 5)."))
    retriever_batch_size: int = field(default=32, metadata=doc("Pairs per retriever batch."))
    retriever_max_seq_length: int = field(default=128, metadata=doc("Tokens kept of each API document (queries: "
                                                                      "64; ToolBench: 256)."))
    retriever_synthetic_per_api: int = field(default=1, metadata=doc(
        "Synthetic requests per catalog API in retriever training (retriever/synthetic.py)."))
    retriever_folds: int = field(default=5, metadata=doc(
        "K folds of whole tools for the retriever's held-out figures (`retriever crossval`: every query held out "
        "once, a model per fold, each method against BM25 with a paired interval); the index then uses a model "
        "trained on every query. 0: one split of retriever_heldout_apis instead."))
    retriever_heldout_apis: float = field(default=0.2, metadata=doc(
        "Share of retriever queries held out by API (whole tools unseen in training) for its figures."))
    # -- fine-tuning --
    train_call_examples: int = field(default=120, metadata=doc("Generated call examples (OpenAI format) in the "
                                                                 "LoRA data."))
    train_reference_examples: int = field(default=400, metadata=doc(
        "Call examples from the reference catalog's samples in the LoRA mix (`train mix --reference-call-examples`)."))
    train_agent_examples: int = field(default=24, metadata=doc("Generated samples also written as DFSDT-style "
                                                                 "runs (ToolBench prompt, calls, Finish)."))
    train_category_weights: dict[str, float] = field(default_factory=lambda: dict(TRAIN_CATEGORY_WEIGHTS),
                                                     metadata=doc(
        "How often each category comes up in the LoRA mix (`train mix --category-weight`; 1 when not named). "
        "Default: the no-call irrelevance examples at their share (2 with train_steps=544 made the model refuse "
        "call requests), no hallucination traps (the model asked their 'give me its id' question of BFCL call "
        "requests that name a city or a team)."))
    train_kind_weights: dict[str, float] = field(default_factory=lambda: dict(TRAIN_KIND_WEIGHTS), metadata=doc(
        "How often a kind of sample (e.g. an irrelevance kind) comes up against the rest of its category in the "
        "LoRA mix (`train mix --kind-weight`; 0 leaves it out; {}: the shortest first, whatever their kind)."))
    train_max_length: int = field(default=640, metadata=doc("Longest call example in tokens (the shortest "
                                                              "are taken first: CPU time goes by tokens)."))
    train_agent_max_length: int = field(default=1280, metadata=doc("Longest DFSDT-style example in tokens."))
    train_steps: int = field(default=544, metadata=doc("LoRA optimizer steps (x train_grad_accum examples each: "
                                                         "544 x 2 is two passes over the full profile's 544 examples)."))
    train_batch_size: int = field(default=1, metadata=doc("Sequences per forward pass (1: no padding, least "
                                                            "memory on CPU)."))
    train_grad_accum: int = field(default=2, metadata=doc("Forward passes per optimizer step."))
    learning_rate: float = field(default=1e-3, metadata=doc("Peak LoRA learning rate."))
    lora_r: int = field(default=16, metadata=doc("LoRA rank."))
    train_threads: int | None = field(default=None, metadata=doc("torch threads while training (None: one "
                                                                   "per core)."))

    bfcl_categories: str = field(default="simple_python,multiple,parallel,parallel_multiple,irrelevance",
                                 metadata=doc("BFCL's public categories both models are measured on (comma-"
                                                "separated; live_simple and live_multiple can be added)."))
    bfcl_per_category: int | None = field(default=None, metadata=doc(
        "Entries per BFCL category (the same ids every run); null: the documented sample, a third of each "
        "category's test slice within [60, 150] (351 entries for the five default categories)."))
    bfcl_max_tokens: int = field(default=384, metadata=doc(
        "Longest reply on a BFCL entry: holds the shortest accepted answer of every dev-slice entry (the longest "
        "needs 296 tokens; 160 cut 16 of 40 parallel_multiple answers)."))
    engine: str = field(default="auto", metadata=doc("Engine of the local model server: auto (llama.cpp when its "
                                                       "build is installed, else transformers), llamacpp or "
                                                       "transformers."))
    tuned_quant: str = field(default="q8_0", metadata=doc("GGUF type the tuned model is exported to for llama.cpp "
                                                            "(q8_0, q4_1, q4_k_m, f16, ...; benchmarks/README.md has "
                                                            "what each costs)."))
    calibration: str = field(default="bfcl-dev", metadata=doc(
        "Where the tuned model's call threshold is chosen (`toolbench llm calibrate`; its server then decides "
        "call or text by it, `llm serve --call-threshold`): bfcl-dev (BFCL's declared dev slice of "
        "bfcl_categories, disjoint from the test slice the headline reports), mix (the generated examples the "
        "training mix left out) or off (greedy decoding decides)."))
    calibration_requests: int = field(default=150, metadata=doc(
        "At most this many requests of each kind (call, text) to choose the threshold on."))

    def __post_init__(self) -> None:
        if self.bfcl_per_category is not None and (not isinstance(self.bfcl_per_category, int)
                                                   or self.bfcl_per_category < 1):
            raise ProfileError("profile field 'bfcl_per_category' must be an integer >= 1 or null; got "
                               f"{self.bfcl_per_category!r}")
        if not isinstance(self.bfcl_categories, str) or not self.bfcl_categories.strip():
            raise ProfileError("profile field 'bfcl_categories' must name at least one BFCL category")
        if self.calibration not in ("bfcl-dev", "mix", "off"):
            raise ProfileError(f"profile field 'calibration' must be bfcl-dev, mix or off; got {self.calibration!r}")
        if self.engine not in ("auto", "llamacpp", "transformers"):
            raise ProfileError(f"profile field 'engine' must be auto, llamacpp or transformers; got {self.engine!r}")
        if self.tuned_quant not in ("f32", "f16", "bf16", "q8_0", "q4_1", "q4_k_m", "q5_k_m"):
            raise ProfileError("profile field 'tuned_quant' must be one of f32, f16, bf16, q8_0, q4_1, q4_k_m, "
                               f"q5_k_m; got {self.tuned_quant!r}")
        positive = ("crawl_samples", "calls", "instruction_sets", "instruction_queries", "instruction_max_tokens",
                    "eval_max_tokens", "dfsdt_tasks", "dfsdt_width", "dfsdt_max_steps", "dfsdt_max_llm_calls",
                    "dfsdt_reply_tokens", "observation_chars", "concurrency", "judge_k", "retriever_epochs",
                    "retriever_batch_size", "retriever_max_seq_length", "train_max_length", "train_agent_max_length", "train_steps", "train_batch_size",
                    "train_grad_accum", "lora_r", "calibration_requests")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ProfileError(f"profile field '{name}' must be an integer >= 1; got {value!r}")
        for name in ("train_call_examples", "train_agent_examples", "train_reference_examples", "reference_calls"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ProfileError(f"profile field '{name}' must be an integer >= 0; got {value!r}")
        if self.train_call_examples + self.train_agent_examples < 1:
            raise ProfileError("profile fields 'train_call_examples' + 'train_agent_examples' must be >= 1: "
                               "fine-tuning needs data")
        if self.eval_entries is not None and (not isinstance(self.eval_entries, int) or self.eval_entries < 1):
            raise ProfileError(f"profile field 'eval_entries' must be an integer >= 1 or null; got "
                               f"{self.eval_entries!r}")
        if self.train_threads is not None and (not isinstance(self.train_threads, int) or self.train_threads < 1):
            raise ProfileError(f"profile field 'train_threads' must be an integer >= 1 or null; got "
                               f"{self.train_threads!r}")
        for name in ("train_category_weights", "train_kind_weights"):
            weights = getattr(self, name)
            if not isinstance(weights, dict) or any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0
                                                    for w in weights.values()):
                raise ProfileError(f"profile field '{name}' must map names to numbers >= 0; got {weights!r}")
        for name in ("max_offered", "max_parallel"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int) or getattr(self, name) < 2:
                raise ProfileError(f"profile field '{name}' must be an integer >= 2; got {getattr(self, name)!r}")
        for name in ("heldout", "zh_rate", "retriever_heldout_apis"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ProfileError(f"profile field '{name}' must be in [0, 1); got {value!r}")
        if isinstance(self.retriever_synthetic_per_api, bool) or not isinstance(self.retriever_synthetic_per_api, int) \
                or self.retriever_synthetic_per_api < 0:
            raise ProfileError("profile field 'retriever_synthetic_per_api' must be an integer >= 0; got "
                               f"{self.retriever_synthetic_per_api!r}")
        if isinstance(self.retriever_folds, bool) or not isinstance(self.retriever_folds, int) \
                or self.retriever_folds < 0 or self.retriever_folds == 1:
            raise ProfileError("profile field 'retriever_folds' must be 0 (one split) or an integer >= 2; got "
                               f"{self.retriever_folds!r}")
        if self.heldout <= 0:
            raise ProfileError("profile field 'heldout' must be > 0: the headline is measured on the held-out split")
        if not isinstance(self.learning_rate, (int, float)) or self.learning_rate <= 0:
            raise ProfileError(f"profile field 'learning_rate' must be > 0; got {self.learning_rate!r}")
        self.reference_calls_config()  # checks reference_generation

    def reference_calls_config(self) -> CallsConfig:
        """The ``generate calls`` settings of the reference-catalog samples: the demo's, then
        ``reference_generation`` (its weights and irrelevance_kinds over the defaults)."""
        extra = self.reference_generation
        if not isinstance(extra, dict):
            raise ProfileError(f"profile field 'reference_generation' must be a mapping of generate-calls settings; "
                               f"got {extra!r}")
        base = CallsConfig(zh_rate=self.zh_rate, max_offered=self.max_offered, max_parallel=self.max_parallel)
        known = {f.name for f in dataclasses.fields(CallsConfig)}
        unknown = sorted(set(extra) - known)
        if unknown:
            raise ProfileError(f"profile field 'reference_generation': unknown settings {unknown}; use "
                               f"{', '.join(sorted(known))}")
        merged = {k: ({**getattr(base, k), **v} if isinstance(getattr(base, k), dict) and isinstance(v, dict) else v)
                  for k, v in extra.items()}
        try:
            return dataclasses.replace(base, **merged)
        except (GenerateError, TypeError, ValueError) as exc:
            raise ProfileError(f"profile field 'reference_generation': {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the settings (the name excluded: equal settings are one profile)."""
        body = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(self, overrides: list[str]) -> DemoProfile:
        """A copy with ``field=value`` overrides (values parsed as YAML: ``eval_entries=null``, ``calls=120``), by
        :func:`toolbench.config.load_config`; its name gets ``+custom`` unless an override names it."""
        changed = load_config(DemoProfile, sets=overrides, base=self, error=ProfileError, noun="profile",
                              example="calls=120")
        if overrides and "name" not in {item.partition("=")[0].strip() for item in overrides}:
            changed = dataclasses.replace(changed, name=f"{self.name}+custom")
        return changed


FULL = DemoProfile()
QUICK = DemoProfile(
    name="quick", crawl_samples=1, calls=120, reference_calls=120, heldout=0.15, instruction_queries=2, retriever_folds=2,
    instruction_max_tokens=64,
    eval_entries=8, bfcl_per_category=8, dfsdt_tasks=2, dfsdt_max_steps=3, dfsdt_max_llm_calls=2,
    dfsdt_reply_tokens=80,
    train_call_examples=24, train_reference_examples=24, calibration_requests=20,
    train_agent_examples=2, train_max_length=512, train_agent_max_length=1024, train_steps=13, train_grad_accum=2)
TINY = DemoProfile(
    name="tiny", crawl_samples=1, calls=40, reference_calls=12, heldout=0.25, zh_rate=0.0, instruction_sets=1,
    instruction_queries=1,
    instruction_max_tokens=48, eval_entries=3, eval_max_tokens=48, bfcl_per_category=1, bfcl_max_tokens=64,
    dfsdt_tasks=1, dfsdt_width=1, compare_strategies="dfsdt",
    dfsdt_max_steps=2, dfsdt_max_llm_calls=2, dfsdt_reply_tokens=48, retriever_epochs=1, retriever_batch_size=8,
    retriever_folds=2,
    train_call_examples=4, train_reference_examples=2, train_agent_examples=1, calibration_requests=4, train_steps=2, train_grad_accum=1, train_max_length=768,
    lora_r=4)
PROFILES: dict[str, DemoProfile] = {"tiny": TINY, "quick": QUICK, "full": FULL}


def get_profile(name: str) -> DemoProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(f"--profile {name!r}: use one of {', '.join(PROFILES)}") from None
