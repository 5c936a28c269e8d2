"""The public BFCL block: a model measured on the Berkeley Function Calling Leaderboard's own public test sets.

The project's other AST figures are on data it generated itself; this block is on data nobody here wrote, the
test sets of BFCL shipped in the ``bfcl-eval`` package. Three parts:

**The sample** (:func:`public_sample`). BFCL's non-live Python categories — simple_python (400 entries),
multiple (200), parallel (200), parallel_multiple (200) and irrelevance (240) — plus, as options, live_simple
(258) and live_multiple (1,053). A category is taken whole (``"all"``) or sampled: the entry ids are ordered by
``sha256("<salt>:<seed>:<id>")`` and the first k are kept, so the choice depends only on the ids, the seed and
the salt — the same on every run and machine, whatever the file or dict order — and a smaller sample is a
subset of a larger one. The kept ids are run in file order and written to the run folder (``sample.json``,
with the bfcl-eval version).

The sample is drawn from one slice of each category (``split``, :mod:`eval.public_sample`): "test" (four fifths,
the default and the headline), "dev" (the declared fifth on which recipes are compared) or "all".

Default sizes (:func:`default_size`): a third of the slice, at least 60 and at most 150 (or all of it when
smaller). On the test slice: simple_python 107 (of 320), multiple 60, parallel 60, parallel_multiple 60,
irrelevance 64 — 351 entries in all; on the whole categories ("all"): 134, 67, 67, 67, 80 (415) and
live_simple 86, live_multiple 150. A third keeps the categories weighted as BFCL weighs them in the
micro average; the floor of 60 keeps every category's 95% interval within about ±12.5 points; the cap stops
live_multiple (1,053 entries) from taking most of the time. ``per_category="all"`` runs every entry.

**The run** (:func:`run_public_bfcl`). Every sampled entry goes through :mod:`eval.predict` (the same requests,
reply parsing and record/replay cache as ``toolbench eval ast --base-url``) with ``tool_choice`` "auto" — the
headline mode, BFCL's function-calling setting: tools offered, the model decides whether to call — or
"required" (a call is forced: a separate, labelled figure; the abstention category irrelevance is then left
out, since a forced call can never abstain). It writes to ``out_dir``:

- ``sample.json``: the sample;
- ``result/BFCL_v4_<category>_result.json``: the outputs as BFCL stores a function-calling model's (its
  result-file name, JSON lines ``{"id", "result"}``: the tool calls as ``[{"fname": "<JSON arguments>"}]``,
  or the reply's text; ``error`` on a failed request);
- ``verdicts/<category>.jsonl`` (our verdicts, each with ``bfcl_valid``: BFCL's), ``.predictions.jsonl`` (the
  whole replies), ``.summary.json|.md``, ``.per_api.json``, as ``toolbench eval ast`` writes them;
- ``public_bfcl.summary.json`` and ``.md``: the block (:func:`summarize_public`);
- ``llm_cache.sqlite`` when the model was given by ``base_url``: a rerun asks the model nothing.

:func:`rescore_with_official_checker` re-scores the result files with BFCL's own checker and gets the
"BFCL would report" figures.

**The figures** (:func:`summarize_public`). Per category n, correct, accuracy and a 95% Wilson interval; over
all categories the micro average (every entry weighs the same, Wilson) and the macro average (the unweighted
mean over categories, stratified bootstrap: :mod:`eval.intervals`). Each figure comes twice where they differ:
ours, and what BFCL would report in its function-calling mode (:func:`bfcl_fc_valid`). There a reply's tool
calls are the output and a reply without any is text its decoder cannot read: wrong in the call categories
(ours reads calls written as text too) and a correct abstention in irrelevance (ours wants no call or a clear
refusal, see :mod:`eval.ast_check`). The summary also says which mode produced the figures and whether the
server constrained decoding (``constrained_decoding``, read from the server's ``GET /health`` when it reports
it, else "unknown"). Our macro average is over the categories run; BFCL's own leaderboard groups and weighs
categories differently, so it is not BFCL's "Overall Acc".

The table that shows summaries side by side (:func:`public_table`, as rows and cells; :func:`render_columns`,
:func:`render_public_block`, :func:`summary_markdown` as Markdown) is :mod:`eval.public_render`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from eval import intervals
from eval.public_render import (  # the table; its names stay importable from here
    MODE_LABELS,
    PublicTable,
    public_table,
    render_columns,
    render_public_block,
    summary_markdown,
)
from eval.public_sample import (  # the sample lives there; its names stay importable from here
    ABSTENTION,
    OPTIONAL_CATEGORIES,
    PUBLIC_CATEGORIES,
    SAMPLE_CAP,
    SAMPLE_FLOOR,
    SAMPLE_FRACTION,
    SAMPLE_SALT,
    UNKNOWN,
    PublicBfclError,
    PublicSample,
    choose_ids,
    default_size,
    kept_sample,
    parse_per_category,
    public_sample,
)
from toolbench.formats.atomic import write_jsonl_atomic, write_text_atomic

__all__ = [
    "ABSTENTION",
    "MODE_LABELS",
    "OPTIONAL_CATEGORIES",
    "PUBLIC_CATEGORIES",
    "SAMPLE_CAP",
    "SAMPLE_FLOOR",
    "SAMPLE_FRACTION",
    "SAMPLE_SALT",
    "SUMMARY_NAME",
    "TOOL_CHOICES",
    "UNKNOWN",
    "PublicBfclError",
    "PublicSample",
    "PublicTable",
    "bfcl_fc_valid",
    "choose_ids",
    "default_size",
    "fc_decode",
    "fc_result",
    "health_url",
    "kept_sample",
    "load_summary",
    "output_paths",
    "parse_per_category",
    "public_sample",
    "public_table",
    "render_columns",
    "render_public_block",
    "rescore_with_official_checker",
    "run_public_bfcl",
    "server_constrained_decoding",
    "server_health",
    "server_reports",
    "summarize_public",
    "summary_markdown",
    "write_summary",
]

TOOL_CHOICES = ("auto", "required")
SUMMARY_NAME = "public_bfcl.summary"


# -- the figures --------------------------------------------------------------------------------------------------

def _bfcl_ok(row: Mapping[str, Any]) -> bool:
    if "bfcl_valid" in row:
        return bool(row["bfcl_valid"])
    return bool(row.get("valid")) or bool(row.get("bfcl_would_accept"))


def summarize_public(rows_by_category: Mapping[str, list[Mapping[str, Any]]], *, model: str = "",
                     mode: str = "auto", constrained_decoding: Any = UNKNOWN,
                     sample: PublicSample | None = None, request_errors: Mapping[str, int] | None = None,
                     skipped: Mapping[str, str] | None = None, seed: int = intervals.BOOTSTRAP_SEED,
                     cut: Mapping[str, int] | None = None,
                     failures: Mapping[str, Mapping[str, int]] | None = None) -> dict[str, Any]:
    """The block's summary from each category's verdict rows (``{id, valid, error_type, bfcl_would_accept?}``).

    Per category and overall (micro, macro): ``n``, ``correct``, ``accuracy``, ``interval`` (95%), and ``bfcl``
    (the same figures as BFCL would report them) with ``differs`` true where they are not ours. ``cut`` counts
    each category's replies that ended at the request's max_tokens (``cut_at_max_tokens`` where not 0);
    ``failures`` each category's wrong entries by :func:`failure_kind` (``failures``, most frequent first)."""
    if mode not in TOOL_CHOICES:
        raise PublicBfclError(f"mode: must be one of {', '.join(TOOL_CHOICES)}; got {mode!r}")
    categories: dict[str, Any] = {}
    ours_counts: dict[str, tuple[int, int]] = {}
    bfcl_counts: dict[str, tuple[int, int]] = {}
    for category, rows in rows_by_category.items():
        n = len(rows)
        correct = sum(bool(r.get("valid")) for r in rows)
        bfcl_correct = sum(_bfcl_ok(r) for r in rows)
        ours_counts[category], bfcl_counts[category] = (correct, n), (bfcl_correct, n)
        item = {**intervals.figure(correct, n), "bfcl": intervals.figure(bfcl_correct, n),
                "differs": bfcl_correct != correct}
        missing = sum(r.get("error_type") == "missing_prediction" for r in rows)
        if missing:
            item["missing_prediction"] = missing
        if request_errors and request_errors.get(category):
            item["request_errors"] = request_errors[category]
        if cut and cut.get(category):
            item["cut_at_max_tokens"] = cut[category]
        if failures and failures.get(category):
            item["failures"] = dict(sorted(failures[category].items(), key=lambda kv: (-kv[1], kv[0])))
        categories[category] = item
    total = sum(n for _, n in ours_counts.values())
    micro = {**intervals.figure(sum(c for c, _ in ours_counts.values()), total),
             "bfcl": intervals.figure(sum(c for c, _ in bfcl_counts.values()), total)}
    micro["differs"] = micro["bfcl"]["correct"] != micro["correct"]
    macro = {**_macro(ours_counts, seed), "bfcl": _macro(bfcl_counts, seed)}
    macro["differs"] = macro["bfcl"]["accuracy"] != macro["accuracy"]
    summary: dict[str, Any] = {
        "kind": "public_bfcl",
        "model": model,
        "mode": mode,
        "mode_label": MODE_LABELS[mode],
        "tool_choice": mode,
        "constrained_decoding": constrained_decoding,
        "categories": categories,
        "overall": {"micro": micro, "macro": macro},
        "intervals": "95%: Wilson score per category and for the micro average; macro average: stratified "
                     f"percentile bootstrap, {intervals.BOOTSTRAP_REPLICATES} replicates, seed {seed}",
        "bfcl_note": "'bfcl' figures are what BFCL would report in its function-calling mode: only the reply's "
                     "tool calls count; text is undecodable output, wrong in call categories and a correct "
                     "abstention in irrelevance (ours reads calls written as text and, in irrelevance, wants no "
                     "call or a clear refusal).",
    }
    if sample is not None:
        summary["sample"] = {"bfcl_eval": sample.bfcl_eval, "seed": sample.seed, "size": sample.size,
                             "split": sample.split,
                             "per_category": {c: {"n": len(i), "of": sample.totals.get(c)}
                                              for c, i in sample.ids.items()}}
    if skipped:
        summary["skipped"] = dict(skipped)
    return summary


def _macro(counts: Mapping[str, tuple[int, int]], seed: int) -> dict[str, Any]:
    value = intervals.macro_average(counts)
    low, high = intervals.macro_bootstrap(counts, seed=seed)
    return {"categories": sum(1 for _, n in counts.values() if n), "n": sum(n for _, n in counts.values()),
            "accuracy": None if value is None else round(value, 4), "interval": [round(low, 4), round(high, 4)]}


# -- running ------------------------------------------------------------------------------------------------------

def health_url(base_url: str) -> str:
    """``GET /health`` of an OpenAI-compatible base URL (``http://host:port/v1`` -> ``http://host:port/health``)."""
    root = base_url.rstrip("/")
    root = root.removesuffix("/v1")
    return root + "/health"


def server_health(base_url: str | None, timeout: float = 5.0) -> Mapping[str, Any]:
    """The body of the server's ``GET /health`` at ``base_url``; empty when there is no URL, the server cannot be
    reached or answers something else."""
    if not base_url:
        return {}
    import httpx

    try:
        response = httpx.get(health_url(base_url), timeout=timeout)
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return {}
    return body if isinstance(body, Mapping) else {}


def server_reports(base_url: str | None, key: str, timeout: float = 5.0) -> Any:
    """What the server at ``base_url`` reports as ``key`` in ``GET /health``, copied as it is; ``"unknown"`` when
    there is no URL, the server cannot be reached, or it does not report the key."""
    return server_health(base_url, timeout).get(key, UNKNOWN)


def server_constrained_decoding(base_url: str | None, timeout: float = 5.0) -> Any:
    """Whether the server at ``base_url`` constrains its decoding (:func:`server_reports`)."""
    return server_reports(base_url, "constrained_decoding", timeout)


def output_paths(out_dir: str | Path, category: str) -> tuple[Path, Path]:
    """(verdicts, BFCL result file) of one category in a run folder."""
    out_dir = Path(out_dir)
    return out_dir / "verdicts" / f"{category}.jsonl", out_dir / "result" / f"BFCL_v4_{category}_result.json"


def fc_result(prediction: Any, names: Mapping[str, str]) -> Any:
    """A prediction as BFCL stores a function-calling model's output: the reply's tool calls as
    ``[{"fname": "<arguments as the model wrote them>"}]`` (names mapped back to the entry's own), else the
    reply's text (``""`` when the request failed)."""
    reply = getattr(prediction, "reply", None) or {}
    calls = reply.get("tool_calls") or []
    if calls:
        return [{names.get(c["name"], c["name"]): c.get("raw_arguments", "")} for c in calls]
    return reply.get("content") or ""


def fc_decode(result: Any) -> list[dict[str, Any]] | None:
    """BFCL's function-calling decoder (``decode_ast`` of its FC handlers): ``json.loads`` of each call's
    arguments; None where it would fail (text, arguments that are not JSON)."""
    if not isinstance(result, list):
        return None
    decoded = []
    try:
        for call in result:
            ((name, arguments),) = call.items()
            decoded.append({name: json.loads(arguments)})
    except (AttributeError, TypeError, ValueError):
        return None
    return decoded


def bfcl_fc_valid(category: str, result: Any, ours_valid: bool) -> bool:
    """The verdict BFCL would give in its function-calling mode, given ours on the same output: in irrelevance,
    correct unless the output decodes to calls; elsewhere, ours when it decodes (BFCL's checker and ours agree
    on decoded calls, see :mod:`eval.ast_check`), else wrong."""
    decoded = fc_decode(result)
    if category in ABSTENTION:
        return not decoded
    return bool(ours_valid) and decoded is not None


# error type -> failure kind: whole types first, then the part after the colon, then the part before it
_KIND_BY_TYPE = {"irrelevance_error:decoder_success": "called", "irrelevance:unparseable": "unclear",
                 "missing_prediction": "no_prediction"}
_KIND_BY_DETAIL = {"decoder_failed": "text", "wrong_func_name": "wrong_function", "wrong_count": "call_count",
                   "missing_optional": "missing_argument", "missing_required": "missing_argument"}
_KIND_BY_CHECK = {"value_error": "value", "type_error": "type"}


def _kind_of(error_type: str) -> str | None:
    check, _, detail = error_type.partition(":")
    return _KIND_BY_TYPE.get(error_type) or _KIND_BY_DETAIL.get(detail) or _KIND_BY_CHECK.get(check)


def failure_kind(row: Mapping[str, Any], cut: bool = False) -> str | None:
    """A failed verdict row's kind (a key of :data:`eval.public_render.FAILURE_KINDS`, else its error type); None
    for a correct one; ``cut`` (the reply ended at max_tokens) comes first.
    A parallel entry no call of which matches an expected call takes the kind of the closest miss: a call of the
    right function with a wrong or missing value, else a wrong function."""
    if row.get("valid"):
        return None
    if cut:
        return "cut"
    error_type = str(row.get("error_type") or "")
    if error_type.endswith(":cannot_find_match"):
        nested = [_kind_of(str(e.get("error_type") or "")) for e in row.get("errors") or [] if isinstance(e, dict)]
        closest = [k for k in nested if k and k != "wrong_function"]
        return closest[0] if closest else "wrong_function"
    return _kind_of(error_type) or error_type or "unknown"


def reply_was_cut(reply: Mapping[str, Any] | None, max_tokens: int) -> bool:
    """Whether a reply ended at its token budget: finish reason "length", or (servers that report "tool_calls"
    for a cut reply) as many completion tokens as it was allowed."""
    if not reply:
        return False
    used = (reply.get("usage") or {}).get("completion_tokens") or 0
    return reply.get("finish_reason") == "length" or used >= max_tokens


def run_public_bfcl(chat: Any = None, *, sample: PublicSample, out_dir: str | Path, base_url: str | None = None,
                    model: str | None = None, name: str | None = None, tool_choice: str = "auto",
                    config: Any = None, constrained_decoding: Any = None, api_key_env: str = "OPENAI_API_KEY",
                    cache_mode: str = "read-write", timeout: float = 300.0,
                    on_done: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Ask the model every sampled entry, score, write every file to ``out_dir``, return the summary.

    The model is ``chat`` (any :class:`~toolbench.llm.base.ChatModel`), or ``model`` at ``base_url`` (an
    OpenAI-compatible endpoint, through the reply cache ``out_dir/llm_cache.sqlite``). ``config`` is an
    :class:`eval.predict.RunnerConfig` (its ``tool_choice`` is set from ``tool_choice``). ``constrained_decoding``:
    None reads it from the server's ``GET /health`` when ``base_url`` is given, else ``"unknown"``.
    ``on_done(prediction)`` is called as each entry finishes."""
    from eval import predict

    if tool_choice not in TOOL_CHOICES:
        raise PublicBfclError(f"tool_choice: must be one of {', '.join(TOOL_CHOICES)}; got {tool_choice!r}")
    if chat is None and model is None:
        raise PublicBfclError("run_public_bfcl needs a chat model, or model (and base_url)")
    config = dataclasses.replace(config or predict.RunnerConfig(), tool_choice=tool_choice)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sample.write(out_dir / "sample.json")
    loaded = sample.load()
    skipped = {}
    if tool_choice == "required":
        for category in [c for c in loaded if c in ABSTENTION]:
            loaded.pop(category)
            skipped[category] = ('not asked under tool_choice "required": a forced call can never abstain, so '
                                 "the figure would say nothing")
    health = server_health(base_url)  # read once: constrained decoding and the call threshold
    if constrained_decoding is None:
        constrained_decoding = health.get("constrained_decoding", UNKNOWN)
    entries = [entry for category_entries, _ in loaded.values() for entry in category_entries]

    own_chat = chat is None
    if own_chat:
        from toolbench.llm.factory import make_chat_model

        chat = make_chat_model(str(model), base_url=base_url, api_key_env=api_key_env,
                               cache_path=out_dir / "llm_cache.sqlite", cache_mode=cache_mode, timeout=timeout,
                               max_concurrency=config.concurrency)
    try:
        predictions = predict.run_entries(chat, entries, config, on_done)
    finally:
        if own_chat and hasattr(chat, "close"):
            chat.close()
    name = name or model or getattr(chat, "model", "") or "model"

    by_id = {p.id: p for p in predictions}
    rows_by_category: dict[str, list[dict[str, Any]]] = {}
    request_errors: dict[str, int] = {}
    cut: dict[str, int] = {}
    failures: dict[str, dict[str, int]] = {}
    files: dict[str, Any] = {"sample": str(out_dir / "sample.json"), "results": {}, "verdicts": {}}
    for category, (category_entries, answers) in loaded.items():
        category_predictions = [by_id[str(e["id"])] for e in category_entries if str(e["id"]) in by_id]
        outcome = predict.score_predictions(category_entries, answers, predict.predictions_map(category_predictions),
                                           model=name)
        outcome.predictions = category_predictions
        errors = sum(p.error is not None for p in category_predictions)
        if errors:
            outcome.summary["request_errors"] = request_errors[category] = errors
        was_cut = {p.id for p in category_predictions if reply_was_cut(p.reply, config.max_tokens)}
        cut[category] = len(was_cut)
        bfcl_rows = []
        for entry, row in zip(category_entries, outcome.rows):
            prediction = by_id.get(str(entry["id"]))
            result = fc_result(prediction, predict.build_request(entry)[2]) if prediction else ""
            failed = prediction is None or prediction.error is not None
            row["bfcl_valid"] = False if failed else bfcl_fc_valid(category, result, row["valid"])
            bfcl_row = {"id": entry["id"], "result": result}
            if failed:
                bfcl_row["error"] = prediction.error if prediction else "no prediction"
            bfcl_rows.append(bfcl_row)
        failures[category] = dict(Counter(k for row in outcome.rows
                                          if (k := failure_kind(row, str(row.get("id")) in was_cut))))
        verdicts, result_path = output_paths(out_dir, category)
        predict.write_outcome(outcome, verdicts)
        write_jsonl_atomic(result_path, bfcl_rows, default=repr)
        rows_by_category[category] = outcome.rows
        files["results"][category], files["verdicts"][category] = str(result_path), str(verdicts)

    summary = summarize_public(rows_by_category, model=name, mode=tool_choice,
                               constrained_decoding=constrained_decoding, sample=sample,
                               request_errors=request_errors, skipped=skipped, cut=cut, failures=failures)
    # the server's call-or-text threshold (toolbench.llm.call_gate); None: greedy decoding's own choice
    summary["call_threshold"] = health.get("call_threshold", UNKNOWN)
    summary["runner"] = {"max_tokens": config.max_tokens, "temperature": config.temperature, "seed": config.seed,
                         "system_prompt": config.system_prompt, "frequency_penalty": config.frequency_penalty,
                         "presence_penalty": config.presence_penalty}
    summary["files"] = files
    write_summary(summary, out_dir)
    return summary


def write_summary(summary: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """``public_bfcl.summary.json`` and ``.md`` in ``out_dir``."""
    out_dir = Path(out_dir)
    json_path = write_text_atomic(out_dir / f"{SUMMARY_NAME}.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    md_path = write_text_atomic(out_dir / f"{SUMMARY_NAME}.md", summary_markdown(summary))
    return json_path, md_path


def load_summary(out_dir: str | Path) -> dict[str, Any]:
    """The summary a run wrote to ``out_dir``."""
    path = Path(out_dir) / f"{SUMMARY_NAME}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PublicBfclError(f"{path}: cannot read the public BFCL summary ({exc})") from exc


# -- BFCL's own checker -------------------------------------------------------------------------------------------

def rescore_with_official_checker(out_dir: str | Path) -> dict[str, dict[str, int]]:
    """``{category: {"correct", "n"}}`` from a run folder's BFCL result files, scored as BFCL scores a
    function-calling model: each output decoded by BFCL's FC rule (:func:`fc_decode`), call categories checked
    by ``bfcl-eval``'s own ``ast_checker``, irrelevance correct unless the output decodes to calls. A request
    that failed counts as wrong. It equals the summary's ``bfcl`` figures."""
    from eval import bfcl_reference

    out_dir = Path(out_dir)
    sample = PublicSample.read(out_dir / "sample.json")
    check = bfcl_reference.official_checker()
    out: dict[str, dict[str, int]] = {}
    for category, (entries, answers) in sample.load().items():
        _, result_path = output_paths(out_dir, category)
        if not result_path.is_file():
            continue
        results = {row["id"]: row for row in bfcl_reference.read_jsonl(result_path)}
        correct = 0
        for entry in entries:
            row = results.get(entry["id"])
            if row is None or row.get("error") is not None:
                continue
            decoded = fc_decode(row.get("result"))
            if category in ABSTENTION:
                correct += not decoded
            elif decoded is not None:
                verdict = check(copy.deepcopy(entry["function"]), decoded, answers[entry["id"]], category)
                correct += bool(verdict.get("valid"))
        out[category] = {"correct": correct, "n": len(entries)}
    return out
