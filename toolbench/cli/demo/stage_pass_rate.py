"""The demo's pass-rate stage: both models' DFSDT answers scored by the tasks' rule checks (and by an LLM judge
when given one, ``toolbench eval judge``), and the equal-budget comparison table of both models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolbench.cli.demo import data
from toolbench.cli.demo import stage_common as common
from toolbench.cli.demo.stage_annotate import compare_config
from toolbench.cli.demo.stage_runner import DemoContext, StageOutput
from toolbench.formats.atomic import write_json_atomic, write_jsonl_atomic, write_text_atomic

RULES_GROUP = "DFSDT (rule checks)"
JUDGE_GROUP = "DFSDT (LLM judge)"


def stage_pass_rate(ctx: DemoContext) -> StageOutput:
    from eval import answers, judge
    from eval.leaderboard import summary_markdown

    tasks = json.loads(ctx.path("tasks", "dfsdt_tasks.json").read_text(encoding="utf-8"))
    if not tasks:
        return StageOutput({}, {}, "no DFSDT task: no pass rate")
    expectations = {str(t["query_id"]): t["expectation"] for t in tasks}
    ids = list(expectations)
    figures: dict[str, Any] = {}
    artefacts: dict[str, str] = {}
    from annotate.compare import FOLDERS

    for kind in ("base", "tuned"):
        folder = Path(compare_config(ctx, kind).out) / kind / FOLDERS["dfsdt"] / "answers"  # the comparison's DFSDT
        predictions = answers.read_predictions(folder) if folder.is_dir() and any(folder.iterdir()) else {}
        rows = [j.to_dict() for j in judge.rule_pass_rate(predictions, expectations, group=RULES_GROUP)]
        summary = judge.rule_pass_summary(rows, common.DISPLAY[kind])
        out = ctx.path("eval", kind, "pass_rate")
        write_jsonl_atomic(out / "judgments.jsonl", rows)
        write_json_atomic(out / "pass_rate.summary.json", summary)
        write_text_atomic(out / "pass_rate.summary.md", summary_markdown(summary))
        rate = summary["groups"][RULES_GROUP]["pass_rate"]
        figures[kind] = {"value": rate["value"], "passed": rate["count"], "n": rate["n"],
                         "failures": common.count(r["reason"].split(";")[0] for r in rows if r["resolved_label"] != "passed")}
        artefacts[f"pass rate ({kind})"] = str(out / "pass_rate.summary.md")
        if ctx.judge is not None:
            figures[f"{kind}_judge"] = _judge_pass_rate(ctx, kind, predictions, ids)
    note = ", ".join(f"{common.DISPLAY[k]} {data.percent(figures[k]['value'])} ({figures[k]['passed']}/{figures[k]['n']})"
                     for k in ("base", "tuned"))
    figures["comparison"] = comparison(ctx, artefacts)
    return StageOutput(figures, artefacts, f"DFSDT pass rate by rule checks: {note}")


def comparison(ctx: DemoContext, artefacts: dict[str, str]) -> dict[str, Any]:
    """The equal-budget comparison of both models, scored by the tasks' rule checks: written to
    eval/comparison.{json,md} and printed; returns the pass rates by model and strategy."""
    from annotate.compare import CompareStore
    from annotate.compare_table import table_markdown
    from toolbench.cli.annotate import score_comparison

    rows: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    for kind in ("base", "tuned"):
        cfg = compare_config(ctx, kind)
        if (Path(cfg.out) / "compare.sqlite").exists():
            store = CompareStore(Path(cfg.out) / "compare.sqlite")
            try:
                scored = score_comparison(cfg, store.units())
                rows, pairs = rows + scored["rows"], pairs + scored["pairs"]
            finally:
                store.close()
    if not rows:
        return {}
    table = {"budget": ctx.profile.dfsdt_max_llm_calls, "rows": rows, "pairs": pairs}
    text = table_markdown(table)
    write_json_atomic(ctx.path("eval", "comparison.json"), table)
    write_text_atomic(ctx.path("eval", "comparison.md"), text)
    artefacts["equal-budget comparison"] = str(ctx.path("eval", "comparison.md"))
    ctx.console.print(text)
    return {f"{r['model']}/{r['strategy']}": r["pass_rules"] for r in rows}


def _judge_pass_rate(ctx: DemoContext, kind: str, predictions: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    from eval import judge, metrics
    from eval.leaderboard import summary_markdown
    from toolbench.llm.factory import make_chat_model

    assert ctx.judge is not None
    out = ctx.path("eval", kind, "judge")
    chat = make_chat_model(ctx.judge.model, base_url=ctx.judge.base_url, api_key_env=ctx.judge.api_key_env,
                           cache_path=out / "judge_cache.sqlite", timeout=300.0)
    try:
        rows = [j.to_dict() for j in judge.run_pass_rate(predictions, judge.Judge(chat), k=ctx.profile.judge_k,
                                                         group=JUDGE_GROUP, query_ids=ids, concurrency=2)]
    finally:
        chat.close()
    summary = {"kind": "pass_rate", "model": common.DISPLAY[kind], "judge": ctx.judge.model, "k": ctx.profile.judge_k,
               "groups": metrics.summarize_pass(rows, ctx.profile.judge_k)}
    write_jsonl_atomic(out / "judgments.jsonl", rows)
    write_json_atomic(out / "pass_rate.summary.json", summary)
    write_text_atomic(out / "pass_rate.summary.md", summary_markdown(summary))
    group = summary["groups"][JUDGE_GROUP]
    return {"pass_rate": group["pass_rate"], "sopr": group["sopr"]}
