"""``toolbench eval ast`` as a function: :func:`run` takes an :class:`AstRunConfig` (the command builds its
options from it) and scores AST accuracy (BFCL's rules, :mod:`eval.ast_score`) on a BFCL-format set, of
predictions made elsewhere or of a model run here (:mod:`eval.predict`), writing the verdicts, the summary and
the per-API accuracy beside ``out`` (:func:`eval.predict.write_outcome`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.predict import Outcome, Prediction, RunnerConfig
from toolbench.config import ConfigError, doc
from toolbench.errors import ToolbenchError

DATASET_HELP = ("BFCL-format entries (JSON lines with id, question, function) or bfcl:<category> from the installed "
                "bfcl-eval package: simple_python, multiple, parallel, parallel_multiple, live_simple, "
                "live_multiple, live_parallel, live_parallel_multiple, irrelevance, live_irrelevance, live_relevance.")


class AstConfigError(ConfigError):
    """An ``eval ast`` config file or ``--set`` item is wrong; the message names it and the field."""


@dataclass
class AstRunConfig:
    """One ``eval ast`` run: the set, the predictions or the model to run, and where the verdicts go."""

    dataset: str | None = field(default=None, metadata=doc(DATASET_HELP))
    out: str | None = field(default=None, metadata=doc(
        "Per-entry verdicts (JSON lines: id, category, valid, error_type, errors). The summary is written next to "
        "it as <name>.summary.json and <name>.summary.md.", path=True))
    predictions: str | None = field(default=None, metadata=doc(
        "JSON lines of {id, result}; result is BFCL's decoded list [{fname: {arg: value}}], OpenAI tool_calls (or "
        "an assistant message), {name, arguments} objects, or raw text (JSON or Python calls). With --model, where "
        "the model's predictions are written (default <out stem>.predictions.jsonl).", path=True))
    answers: str | None = field(default=None, metadata=doc(
        "Possible answers (JSON lines with id, ground_truth); bfcl:<category> brings its own.", path=True))
    underscore_to_dot: bool = field(default=False, metadata=doc(
        "The model's API forbids '.' in function names (OpenAI-style tools): expect math_factorial for "
        "math.factorial, as BFCL does for such models."))
    base_url: str | None = field(default=None, metadata=doc(
        "Run a model at this OpenAI-compatible endpoint (with /v1; `toolbench llm serve`, vLLM, a hosted API) "
        "instead of reading --predictions."))
    model: str | None = field(default=None, metadata=doc("The model name sent to --base-url (or to OpenAI's API)."))
    api_key_env: str = field(default="OPENAI_API_KEY", metadata=doc(
        "Environment variable holding the endpoint's key (a local server needs none)."))
    runner: RunnerConfig = field(default_factory=RunnerConfig, metadata=doc("How the model is asked."))
    timeout: float = field(default=300.0, metadata=doc("Running a model: seconds to wait for one reply."))
    max_retries: int = field(default=2, metadata=doc(
        "Running a model: retries with backoff on connection errors, timeouts, 408, 409, 429 and 5xx."))
    cache: str | None = field(default=None, metadata=doc(
        "Running a model: record/replay cache of its replies (default <out stem>.llm_cache.sqlite); a rerun asks "
        "nothing and gives identical numbers.", path=True))
    cache_mode: str = field(default="read-write", metadata=doc("read-write, replay (no model needed) or off."))
    limit: int | None = field(default=None, metadata=doc("Only the first N entries of the set."))
    catalog: str | None = field(default=None, metadata=doc(
        "A catalog folder: per-API accuracy is keyed by '<tool>/<api>' for its functions (else by function name).",
        path=True))
    name: str | None = field(default=None, metadata=doc(
        "The model's name in the summary and on the leaderboard (default: --model when running one)."))

    def __post_init__(self) -> None:
        from toolbench.llm.cache import CACHE_MODES

        if isinstance(self.runner, dict):
            self.runner = RunnerConfig(**self.runner)
        if self.dataset is None:
            raise ToolbenchError("eval ast needs --dataset FILE or bfcl:<category>")
        if self.out is None:
            raise ToolbenchError("eval ast needs --out FILE (the per-entry verdicts; the summary goes beside it)")
        if not self.running and self.predictions is None:
            raise ToolbenchError("eval ast needs --predictions FILE, or --model (and --base-url) to run a model")
        if self.running and self.model is None:
            raise ToolbenchError("--base-url needs --model: the model name to send")
        if self.running and self.underscore_to_dot:
            raise ToolbenchError("--underscore-to-dot is for predictions made elsewhere; a model run here is "
                                 "offered safe names that are mapped back exactly")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ToolbenchError(f"--max-retries must be an integer >= 0; got {self.max_retries!r}")
        if self.limit is not None and self.limit < 1:
            raise ToolbenchError(f"--limit must be >= 1; got {self.limit}")
        if self.cache_mode not in CACHE_MODES:
            raise ToolbenchError(f"--cache-mode must be one of {', '.join(CACHE_MODES)}; got {self.cache_mode!r}")

    @property
    def running(self) -> bool:
        """A model is run here (rather than predictions read)."""
        return self.base_url is not None or self.model is not None


@dataclass
class AstResult:
    outcome: Outcome
    paths: dict[str, Any]  # what was written: verdicts, summary, markdown, per_api, predictions when run
    entries: list[dict[str, Any]] = field(default_factory=list)  # the entries scored (after --limit), in order


def run(config: AstRunConfig, on_start: Callable[[int], None] | None = None,
        on_done: Callable[[Prediction], None] | None = None) -> AstResult:
    """Score the set (``on_start`` gets its size once read; ``on_done`` each prediction of a model run here) and
    write the outcome beside ``config.out``."""
    from eval import ast_score, predict

    assert config.dataset is not None and config.out is not None  # checked by the config
    out = Path(config.out)
    entries, answer_map = ast_score.load_dataset(config.dataset, Path(config.answers) if config.answers else None)
    if config.limit is not None:
        entries = entries[:config.limit]
    if on_start is not None:
        on_start(len(entries))
    function_map = predict.catalog_function_map(config.catalog) if config.catalog is not None else None
    if config.running:
        outcome = _run_model(config, entries, answer_map, function_map, on_done)
    else:
        assert config.predictions is not None
        results = ast_score.load_predictions(Path(config.predictions))
        outcome = predict.score_predictions(entries, answer_map, results, underscore_to_dot=config.underscore_to_dot,
                                            function_map=function_map, model=config.name)
    paths = predict.write_outcome(outcome, out, config.predictions if config.running else None)
    return AstResult(outcome, paths, entries)


def _run_model(config: AstRunConfig, entries: list[dict[str, Any]], answer_map: dict[str, Any],
               function_map: dict[str, str] | None, on_done: Callable[[Prediction], None] | None) -> Outcome:
    from eval import predict
    from eval.public_bfcl import server_constrained_decoding
    from toolbench.llm.factory import make_chat_model

    assert config.model is not None and config.out is not None
    out = Path(config.out)
    stem = out.with_suffix("") if out.suffix else out
    chat = make_chat_model(config.model, base_url=config.base_url, api_key_env=config.api_key_env,
                           cache_path=config.cache or Path(f"{stem}.llm_cache.sqlite"), cache_mode=config.cache_mode,
                           timeout=config.timeout, max_retries=config.max_retries,
                           max_concurrency=config.runner.concurrency)
    try:
        outcome = predict.evaluate(chat, entries, answer_map, config.runner, function_map=function_map,
                                   model=config.name or config.model, on_done=on_done)
    finally:
        if hasattr(chat, "close"):
            chat.close()
    # what decoded the replies: the server's GET /health says whether grammars constrained them
    outcome.summary["constrained_decoding"] = server_constrained_decoding(config.base_url)
    return outcome
