"""``toolbench eval bfcl-public`` as a function: :func:`run` takes a :class:`PublicBfclConfig` (the command builds
its options from it), draws the sample (or reads a kept one) and runs the public block
(:func:`eval.public_bfcl.run_public_bfcl`), returning its summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eval.predict import PENALTIES, penalty_problem
from eval.public_bfcl import TOOL_CHOICES, PublicBfclError, PublicSample, parse_per_category, public_sample
from eval.public_sample import SPLITS
from toolbench.config import ConfigError, doc


class PublicConfigError(ConfigError):
    """An ``eval bfcl-public`` config file or ``--set`` item is wrong; the message names it and the field."""


@dataclass
class PublicBfclConfig:
    """One ``eval bfcl-public`` run: the model, the sample, how the model is asked, and where everything goes."""

    model: str | None = field(default=None, metadata=doc("The model name sent to --base-url (or to OpenAI's API)."))
    out: str | None = field(default=None, metadata=doc(
        "Run folder: sample.json, result/BFCL_v4_<category>_result.json (predictions), verdicts/<category>.jsonl, "
        "public_bfcl.summary.json/.md, llm_cache.sqlite.", path=True))
    base_url: str | None = field(default=None, metadata=doc(
        "The model's OpenAI-compatible endpoint (with /v1; `toolbench llm serve`, vLLM, a hosted API)."))
    categories: str | None = field(default=None, metadata=doc(
        "Comma-separated BFCL categories (default simple_python,multiple,parallel,parallel_multiple,irrelevance; "
        "live_simple and live_multiple are options)."))
    per_category: str | None = field(default=None, metadata=doc(
        "Entries per category: N, or 'all' (default: a third of each category's slice, at least 60, at most 150; "
        "351 entries of the test slice for the five default categories)."))
    sample: str | None = field(default=None, metadata=doc(
        "Reuse the ids of a sample.json (e.g. the base model's run folder) instead of drawing them; --categories, "
        "--per-category, --seed and --split are then ignored.", path=True))
    seed: int = field(default=0, metadata=doc("Sample seed (the ids are a hash of seed and id: the same everywhere)."))
    split: str = field(default="test", metadata=doc(
        "The slice sampled from: test (four fifths of each category, the headline), dev (the declared fifth to "
        "compare recipes on) or all."))
    tool_choice: str = field(default="auto", metadata=doc(
        "auto (the headline: the model decides whether to call) or required (a call is forced: a separate, "
        "labelled figure)."))
    constrained_decoding: str | None = field(default=None, metadata=doc(
        "Record this as the run's constrained decoding (default: what the server reports in GET /health, else "
        "'unknown')."))
    name: str | None = field(default=None, metadata=doc("The model's name in the summary (default --model)."))
    api_key_env: str = field(default="OPENAI_API_KEY", metadata=doc("Environment variable holding the endpoint's key."))
    max_tokens: int = field(default=256, metadata=doc("Largest reply in tokens."))
    concurrency: int = field(default=4, metadata=doc("Requests in flight at once."))
    frequency_penalty: float = field(default=0.0, metadata=doc(
        "OpenAI's frequency_penalty sent with each request, in [-2, 2] (0: not sent)."))
    presence_penalty: float = field(default=0.0, metadata=doc(
        "OpenAI's presence_penalty sent with each request, in [-2, 2] (0: not sent)."))
    timeout: float = field(default=300.0, metadata=doc("Seconds to wait for one reply."))
    cache_mode: str = field(default="read-write", metadata=doc("Reply cache: read-write, replay (no model needed) or "
                                                               "off."))

    def __post_init__(self) -> None:
        from toolbench.llm.cache import CACHE_MODES

        if self.model is None:
            raise PublicBfclError("eval bfcl-public needs --model (the model name sent to --base-url)")
        if self.out is None:
            raise PublicBfclError("eval bfcl-public needs --out (the run folder)")
        if self.cache_mode not in CACHE_MODES:
            raise PublicBfclError(f"--cache-mode must be one of {', '.join(CACHE_MODES)}; got {self.cache_mode!r}")
        if self.tool_choice not in TOOL_CHOICES:
            raise PublicBfclError(f"--tool-choice must be auto or required; got {self.tool_choice!r}")
        if self.split not in SPLITS:
            raise PublicBfclError(f"--split must be one of {', '.join(SPLITS)}; got {self.split!r}")
        parse_per_category(self.per_category)
        for name in PENALTIES:
            if problem := penalty_problem(getattr(self, name)):
                raise PublicBfclError(f"--{name.replace('_', '-')} {problem}")

    def drawn_sample(self) -> PublicSample:
        """The kept sample (``sample``) or the one drawn from ``categories``/``per_category``/``seed``/``split``."""
        if self.sample is not None:
            return PublicSample.read(self.sample)
        names = [c.strip() for c in self.categories.split(",") if c.strip()] if self.categories else None
        return public_sample(names, parse_per_category(self.per_category), seed=self.seed, split=self.split)


def run(config: PublicBfclConfig, on_start: Callable[[PublicSample, int], None] | None = None,
        on_done: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Draw (or read) the sample, ask the model every entry, score and write everything to ``config.out``; returns
    the summary. ``on_start(sample, entries to ask)`` once the sample is known, ``on_done(prediction)`` per entry."""
    from eval import predict
    from eval.public_bfcl import ABSTENTION, run_public_bfcl

    drawn = config.drawn_sample()
    if on_start is not None:
        on_start(drawn, sum(len(ids) for c, ids in drawn.ids.items()
                            if not (config.tool_choice == "required" and c in ABSTENTION)))
    runner = predict.RunnerConfig(max_tokens=config.max_tokens, concurrency=config.concurrency,
                                  frequency_penalty=config.frequency_penalty, presence_penalty=config.presence_penalty)
    return run_public_bfcl(sample=drawn, out_dir=config.out, base_url=config.base_url, model=config.model,
                           name=config.name, tool_choice=config.tool_choice, config=runner,
                           constrained_decoding=config.constrained_decoding, api_key_env=config.api_key_env,
                           cache_mode=config.cache_mode, timeout=config.timeout, on_done=on_done)
