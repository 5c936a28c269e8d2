"""Run a model on a BFCL-format set and score it: ``toolbench eval ast --base-url URL --model M``.

For each entry the runner builds the request BFCL's function-calling mode sends (:func:`build_request`): the
entry's messages (every turn of ``question``, in order) and its functions offered as OpenAI ``tools``, their
BFCL parameter docs turned into JSON Schema (``dict`` -> ``object``, ``float`` -> ``number``, ``tuple`` ->
``array``, ``any`` -> no type). Function names that OpenAI-style APIs refuse (``math.factorial``: only
``[A-Za-z0-9_-]``, at most 64 characters) are offered under a safe name (``math_factorial``) and mapped back
exactly, so scoring sees the entry's own names and needs no ``--underscore-to-dot``.

The reply becomes a prediction (:func:`reply_to_result`): its ``tool_calls`` as BFCL's decoded list
``[{"fname": {args}}]``; with no tool calls, its text, which :mod:`eval.parse` reads later as JSON or Python
calls, or as a refusal (irrelevance). Predictions are then scored by :mod:`eval.ast_score`, as predictions made
elsewhere are.

Every request goes through the record/replay cache (:mod:`toolbench.llm.cache`): a rerun with the same model,
set and settings asks nothing and gives identical numbers. Requests run ``concurrency`` at a time. A request the
endpoint refuses for that entry alone (400/413/422: a prompt longer than the context...) is recorded as that
entry's error and scored as a missing prediction; any other failure (unreachable endpoint, bad key, unknown
model) stops the run.

:func:`per_api_accuracy` gives the agent's trust policy its input (:mod:`toolbench.agent.policy`):
``{"<tool>/<api>" or "<function name>": {"accuracy": x, "n": k}}``, counting each entry once for every
function its possible answer calls.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from toolbench.errors import ToolbenchError

# BFCL's parameter types -> JSON Schema types (None: no type constraint).
_TYPES: dict[str, str | None] = {
    "dict": "object", "object": "object", "float": "number", "number": "number", "double": "number",
    "integer": "integer", "int": "integer", "long": "integer", "string": "string", "str": "string",
    "char": "string", "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
    "tuple": "array", "arraylist": "array", "hashmap": "object", "any": None, "null": "null",
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
MAX_NAME = 64
# Statuses that concern one request only: the entry is recorded as failed and the run goes on.
ENTRY_ERROR_STATUSES = (400, 413, 422)


PENALTIES = ("frequency_penalty", "presence_penalty")  # OpenAI's, sent only when set


def penalty_problem(value: Any) -> str | None:
    """What is wrong with a penalty value (OpenAI's bounds, [-2, 2]), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -2 <= value <= 2:
        return f"must be a number between -2 and 2; got {value!r}"
    return None


class RunnerError(ToolbenchError):
    """The model could not be run on the set (configuration, endpoint); the message says what to do."""


@dataclass
class RunnerConfig:
    """How the model is asked (``toolbench eval ast --base-url ...`` fills it from its options)."""

    max_tokens: int = field(default=256, metadata={"help": "Largest reply, in tokens."})
    temperature: float = field(default=0.0, metadata={"help": "Sampling temperature (0: greedy, reproducible)."})
    concurrency: int = field(default=4, metadata={"help": "Requests in flight at once."})
    system_prompt: str | None = field(default=None, metadata={
        "help": "A system message put before each entry's messages (None: none, as BFCL's function-calling mode)."})
    seed: int | None = field(default=0, metadata={"help": "Seed sent with each request (part of the cache key)."})
    tool_choice: str | None = field(default=None, metadata={
        "help": "tool_choice sent with each request that offers tools: auto (the model decides whether to call), "
                "required (a call is forced); None sends none (the endpoint's default, auto)."})
    frequency_penalty: float = field(default=0.0, metadata={
        "help": "OpenAI's frequency_penalty, in [-2, 2] (0: not sent): lowers a token's logit by this much per time "
                "the reply has written it."})
    presence_penalty: float = field(default=0.0, metadata={
        "help": "OpenAI's presence_penalty, in [-2, 2] (0: not sent): once a token is in the reply."})

    def __post_init__(self) -> None:
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise RunnerError(f"max_tokens: must be an integer >= 1; got {self.max_tokens!r}")
        if not isinstance(self.temperature, (int, float)) or not 0 <= self.temperature <= 2:
            raise RunnerError(f"temperature: must be between 0 and 2; got {self.temperature!r}")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise RunnerError(f"concurrency: must be an integer >= 1; got {self.concurrency!r}")
        if self.tool_choice not in (None, "auto", "required", "none"):
            raise RunnerError(f"tool_choice: must be auto, required or none; got {self.tool_choice!r}")
        for name in PENALTIES:
            if problem := penalty_problem(getattr(self, name)):
                raise RunnerError(f"{name}: {problem}")

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"max_tokens": self.max_tokens, "temperature": self.temperature}
        if self.seed is not None:
            out["seed"] = self.seed
        # sent only when set, so the cache keys of runs without penalties stay what they were
        for name in PENALTIES:
            if getattr(self, name):
                out[name] = float(getattr(self, name))
        return out


# -- the request ------------------------------------------------------------------------------------------------

def json_schema(doc: Any) -> dict[str, Any]:
    """A BFCL parameter doc as JSON Schema (recursively; unknown keys are dropped, descriptions kept)."""
    if not isinstance(doc, Mapping):
        return {}
    out: dict[str, Any] = {}
    raw = doc.get("type")
    kind = _TYPES.get(str(raw).lower(), "string") if raw is not None else None
    if kind is not None:
        out["type"] = kind
    if isinstance(doc.get("description"), str):
        out["description"] = doc["description"]
    if isinstance(doc.get("enum"), list):
        out["enum"] = list(doc["enum"])
    if "default" in doc:
        out["default"] = doc["default"]
    if kind == "array":
        out["items"] = json_schema(doc.get("items")) if isinstance(doc.get("items"), Mapping) else {}
    if kind == "object" or isinstance(doc.get("properties"), Mapping):
        props = doc.get("properties")
        if isinstance(props, Mapping):
            out["properties"] = {str(k): json_schema(v) for k, v in props.items()}
        if isinstance(doc.get("required"), list):
            out["required"] = [str(r) for r in doc["required"]]
    return out


def safe_names(names: list[str]) -> dict[str, str]:
    """``{safe name: original}`` for the functions of one entry: characters outside ``[A-Za-z0-9_-]`` become
    ``_``, names are cut to 64 characters, and a clash gets a numeric suffix."""
    out: dict[str, str] = {}
    for name in names:
        base = _SAFE_NAME.sub("_", name)[:MAX_NAME] or "function"
        candidate, number = base, 2
        while candidate in out:
            suffix = f"_{number}"
            candidate, number = base[: MAX_NAME - len(suffix)] + suffix, number + 1
        out[candidate] = name
    return out


def _messages(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    question = entry.get("question")
    if isinstance(question, str):
        return [{"role": "user", "content": question}]
    if not isinstance(question, list) or not question:
        raise RunnerError(f"entry {entry.get('id')!r}: 'question' must be a list of turns (lists of messages)")
    messages: list[dict[str, Any]] = []
    for turn in question:
        for message in turn if isinstance(turn, list) else [turn]:
            if not isinstance(message, Mapping) or "role" not in message:
                raise RunnerError(f"entry {entry.get('id')!r}: a message of 'question' lacks 'role'")
            messages.append(dict(message))
    return messages


def build_request(entry: Mapping[str, Any], system_prompt: str | None = None
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """(messages, tools, ``{offered name: entry's name}``) for one entry."""
    functions = entry.get("function") or []
    if isinstance(functions, Mapping):
        functions = [functions]
    names = safe_names([str(f.get("name", "")) for f in functions])
    to_safe = {original: safe for safe, original in names.items()}
    tools = []
    for safe, function in zip(names, functions):
        params = json_schema(function.get("parameters") or {"type": "dict", "properties": {}})
        params.setdefault("type", "object")
        params.setdefault("properties", {})
        tools.append({"type": "function", "function": {"name": safe, "description": function.get("description", ""),
                                                        "parameters": params}})
    messages = copy.deepcopy(_messages(entry))
    for message in messages:  # history calls (multi-turn entries) use the names the model is offered
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and function.get("name") in to_safe:
                function["name"] = to_safe[function["name"]]
    if system_prompt:
        messages = [{"role": "system", "content": system_prompt}, *messages]
    return messages, tools, names


# -- the reply ------------------------------------------------------------------------------------------------

def reply_to_result(reply: Any, names: Mapping[str, str]) -> Any:
    """A prediction's ``result`` from a :class:`~toolbench.llm.base.ChatReply`: the tool calls as BFCL's decoded
    list (names mapped back; arguments that are not a JSON object kept as their raw text, which scores as
    unparseable), else the text with any calls in it renamed, else the text as it is."""
    if reply.tool_calls:
        return [{names.get(c.name, c.name): (c.raw_arguments if c.parse_error else c.arguments)}
                for c in reply.tool_calls]
    text = reply.content or ""
    if not text.strip() or not any(safe != original for safe, original in names.items()):
        return text
    from eval.parse import UnparseableOutput, parse_text

    try:
        calls = parse_text(text)
    except UnparseableOutput:
        return text
    if not calls:
        return text
    return [{names.get(name, name): args for name, args in call.items()} for call in calls]


# -- running --------------------------------------------------------------------------------------------------

@dataclass
class Prediction:
    """One entry's outcome: the ``result`` to score, the raw reply, or the error that stopped its request."""

    id: str
    result: Any = None
    reply: dict[str, Any] | None = None
    error: str | None = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "result": self.result}
        if self.reply is not None:
            out["reply"] = self.reply
        if self.error is not None:
            out["error"] = self.error
        return out


def predict_one(chat: Any, entry: Mapping[str, Any], config: RunnerConfig) -> Prediction:
    """Ask the model about one entry (errors of this request alone become the prediction's ``error``)."""
    from toolbench.llm.base import LLMRequestError

    messages, tools, names = build_request(entry, config.system_prompt)
    try:
        params = config.params()
        if tools and config.tool_choice is not None:
            params["tool_choice"] = config.tool_choice
        reply = chat.chat(messages, tools or None, **params)
    except LLMRequestError as exc:
        if exc.status in ENTRY_ERROR_STATUSES:
            return Prediction(str(entry["id"]), error=str(exc))
        raise
    body = reply.to_dict()
    body.pop("alternatives", None)
    return Prediction(str(entry["id"]), reply_to_result(reply, names), body, cached=bool(reply.cached))


def request_size(entry: Mapping[str, Any]) -> int:
    """About how long an entry's prompt is (characters of its functions and question)."""
    return len(json.dumps(entry.get("function"), default=str)) + len(json.dumps(entry.get("question"), default=str))


def run_entries(chat: Any, entries: list[Mapping[str, Any]], config: RunnerConfig | None = None,
                on_done: Callable[[Prediction], None] | None = None) -> list[Prediction]:
    """Predictions for ``entries`` (in entry order), ``config.concurrency`` requests at a time.

    Requests are sent longest prompt first, so the requests a server batches together have contexts of similar
    lengths and the longest ones do not trail at the end (``benchmarks/llamacpp_engine.py`` measures it); the order
    changes nothing but which requests share a batch.

    ``on_done`` is called (from worker threads, one at a time) as each entry finishes. The first error that is
    not an entry's own (see the module docstring) cancels the requests not started and is raised."""
    config = config or RunnerConfig()
    ids = [str(e.get("id")) for e in entries]
    if len(set(ids)) != len(ids):
        raise RunnerError("the dataset has duplicate ids: every entry needs its own id")
    results: dict[str, Prediction] = {}
    lock = threading.Lock()

    def work(entry: Mapping[str, Any]) -> None:
        prediction = predict_one(chat, entry, config)
        with lock:
            results[prediction.id] = prediction
            if on_done is not None:
                on_done(prediction)

    pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="eval-runner")
    futures = [pool.submit(work, entry) for entry in sorted(entries, key=request_size, reverse=True)]
    try:
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
    finally:
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
    return [results[i] for i in ids if i in results]


def predictions_map(predictions: list[Prediction]) -> dict[str, Any]:
    """``{id: result}`` for scoring; entries whose request failed are left out (scored as missing)."""
    return {p.id: p.result for p in predictions if p.error is None}


# -- per-API accuracy -------------------------------------------------------------------------------------------

def per_api_accuracy(rows: list[Mapping[str, Any]], answers: Mapping[str, Any],
                     function_map: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """``{key: {"accuracy", "n"}}``: for each function called in a possible answer, the share of its entries
    scored correct. ``key`` is ``function_map[name]`` (e.g. ``"Tool/api"``) when known, else the function name.
    Entries with no possible answer (irrelevance) count for no API."""
    function_map = function_map or {}
    counts: dict[str, list[int]] = {}
    for row in rows:
        truth = answers.get(row["id"])
        if not isinstance(truth, list):
            continue
        names = {name for call in truth if isinstance(call, Mapping) for name in call}
        for name in sorted(names):
            tally = counts.setdefault(function_map.get(name, name), [0, 0])
            tally[0] += bool(row.get("valid"))
            tally[1] += 1
    return {key: {"accuracy": round(correct / n, 4), "n": n} for key, (correct, n) in sorted(counts.items())}


def catalog_function_map(catalog_dir: Any) -> dict[str, str]:
    """``{function name: "Tool/api"}`` for every API of a catalog, named as the catalog offers them to a model
    (:class:`toolbench.catalog.functions.FunctionSet`, one tool at a time)."""
    from toolbench.catalog.functions import FunctionSet
    from toolbench.catalog.store import load_catalog

    out: dict[str, str] = {}
    for tool in load_catalog(catalog_dir).tools:
        functions = FunctionSet.from_apis(list(tool.apis), {tool.name: tool.standardized_name})
        for name, offered in functions.functions.items():
            out.setdefault(name, f"{offered.api.tool}/{offered.api.name}")
    return out


# -- a whole evaluation ---------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one evaluation produced: predictions (when a model was run), verdict rows, the summary, per-API
    accuracy."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    per_api: dict[str, dict[str, Any]]
    predictions: list[Prediction] = field(default_factory=list)


def score_predictions(entries: list[dict[str, Any]], answers: dict[str, Any], results: dict[str, Any], *,
                      underscore_to_dot: bool = False, function_map: Mapping[str, str] | None = None,
                      model: str | None = None) -> Outcome:
    """Score ``{id: result}`` on the set (:mod:`eval.ast_score`) and add per-API accuracy."""
    from eval import ast_score

    rows = ast_score.score(entries, answers, results, underscore_to_dot=underscore_to_dot)
    known = {entry["id"] for entry in entries}
    summary = ast_score.summarize(rows, unmatched_predictions=sum(1 for key in results if key not in known))
    if model:
        summary = {"model": model, **summary}
    return Outcome(rows, summary, per_api_accuracy(rows, answers, function_map))


def evaluate(chat: Any, entries: list[dict[str, Any]], answers: dict[str, Any], config: RunnerConfig | None = None,
             *, function_map: Mapping[str, str] | None = None, model: str | None = None,
             on_done: Callable[[Prediction], None] | None = None) -> Outcome:
    """Run ``chat`` on every entry and score its predictions."""
    predictions = run_entries(chat, entries, config, on_done)
    outcome = score_predictions(entries, answers, predictions_map(predictions), function_map=function_map,
                                model=model)
    outcome.predictions = predictions
    errors = sum(1 for p in predictions if p.error is not None)
    if errors:
        outcome.summary["request_errors"] = errors
    return outcome


def output_paths(out: Any) -> dict[str, Any]:
    """The files of an evaluation written to ``out`` (the verdicts): summary JSON/Markdown, per-API accuracy and
    the predictions, beside it (``<stem>.summary.json``, ``.summary.md``, ``.per_api.json``,
    ``.predictions.jsonl``)."""
    from pathlib import Path

    out = Path(out)
    stem = out.with_suffix("") if out.suffix else out
    return {"verdicts": out, "summary": Path(f"{stem}.summary.json"), "markdown": Path(f"{stem}.summary.md"),
            "per_api": Path(f"{stem}.per_api.json"), "predictions": Path(f"{stem}.predictions.jsonl")}


def write_outcome(outcome: Outcome, out: Any, predictions_path: Any = None) -> dict[str, Any]:
    """Write every file of ``outcome`` atomically (a temporary file renamed into place); returns the paths.
    The predictions are written only when a model was run."""
    from pathlib import Path

    from eval import ast_score
    from toolbench.formats.atomic import write_jsonl_atomic, write_text_atomic

    paths = output_paths(out)
    if predictions_path is not None:
        paths["predictions"] = Path(predictions_path)
    if outcome.predictions:
        write_jsonl_atomic(paths["predictions"], [p.to_dict() for p in outcome.predictions], default=repr)
    else:
        paths.pop("predictions")
    write_jsonl_atomic(paths["verdicts"], outcome.rows, default=repr)
    for key, text in (("summary", json.dumps(outcome.summary, indent=2) + "\n"),
                      ("markdown", ast_score.summary_markdown(outcome.summary)),
                      ("per_api", json.dumps(outcome.per_api, indent=2, ensure_ascii=False) + "\n")):
        write_text_atomic(paths[key], text)
    return paths
