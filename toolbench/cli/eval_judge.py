"""``toolbench eval judge ...``: ToolEval's pass rate, StableToolBench's SoPR and SoWR with an LLM judge
(``pass-rate``, ``win-rate``), the pass rate by tasks' rule checks alone (``rules``), and the same figures from
StableToolBench's stored judge outputs (``recompute``).
Part of ``toolbench eval`` (:mod:`toolbench.cli.eval` adds this group as ``judge``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toolbench.errors import ToolbenchError

judge_app = typer.Typer(
    help="Pass rate and win rate with an LLM judge (ToolEval's rules; StableToolBench's SoPR and SoWR).\n\n"
    "The judge is any OpenAI-compatible endpoint: --base-url URL --model M, the key read from the variable named "
    "by --api-key-env (a local server needs none). Every judge request is cached in --cache (default "
    "OUT/judge_cache.sqlite), so a rerun gives identical numbers; --cache-mode replay reruns without a judge.\n\n"
    "Examples:\n\n"
    "  toolbench llm serve &   # a local judge on http://127.0.0.1:8000/v1\n\n"
    "  toolbench eval judge pass-rate runs/answers/mymodel/G1_instruction --base-url http://127.0.0.1:8000/v1 "
    "--model smollm2-135m-instruct --k 3 --out runs/judge/mymodel\n\n"
    "  OPENAI_API_KEY=... toolbench eval judge win-rate --candidate preds/mymodel/G1_instruction.json "
    "--reference preds/chatgpt_cot/G1_instruction.json --model gpt-4o-mini --out runs/judge/mymodel_vs_cot\n\n"
    "  toolbench eval judge rules runs/compare/base/dfsdt/answers --queries runs/tasks/dfsdt_tasks.json "
    "--out runs/eval/base/pass_rate   # by the tasks' rule checks, no judge\n\n"
    "  toolbench eval judge recompute StableToolBench/data_example/pass_rate_results "
    "StableToolBench/data_example/preference_results --out runs/stabletoolbench",
    no_args_is_help=True,
    add_completion=False,
)

_PREDICTIONS_HELP = (
    "Answers to judge, one group per path: a StableToolBench converted-predictions file "
    "(model_predictions_converted/<model>/<group>.json) or a folder of ToolBench answer files "
    "(<query_id>_<method>.json, as toolbench annotate writes them). The group is the file stem or folder name."
)


def _judge_model(model: str, base_url: str | None, api_key_env: str, cache: Path, cache_mode: str,
                 concurrency: int, timeout: float = 120.0):
    from toolbench.llm.cache import CachedChatModel

    inner = None
    if cache_mode != "replay":
        from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

        inner = OpenAIChatModel(OpenAIChatConfig(model=model, base_url=base_url, api_key_env=api_key_env,
                                                 max_concurrency=max(1, concurrency), timeout=timeout))
    return CachedChatModel(inner, cache, cache_mode, model=model)


def _read_groups(paths: list[Path], option: str) -> dict[str, tuple[Path, dict]]:
    from eval import answers

    groups: dict[str, tuple[Path, dict]] = {}
    for path in paths:
        group = answers.group_of(path)
        if group in groups:
            raise ToolbenchError(f"{option}: group {group!r} is given twice ({groups[group][0]} and {path})")
        groups[group] = (path, answers.read_predictions(path))
    return groups


def _test_ids(test_ids: Path | None, group: str) -> list[str] | None:
    """StableToolBench's test ids: a file {id: ...} / [id...], or a folder holding <group>.json."""
    if test_ids is None:
        return None
    path = test_ids / f"{group}.json" if test_ids.is_dir() else test_ids
    if not path.is_file():
        raise ToolbenchError(f"--test-ids: {path} does not exist (give a file of ids or a folder with <group>.json)")
    from toolbench.formats.jsonl import read_json

    data = read_json(path)
    if not isinstance(data, (dict, list)):
        raise ToolbenchError(f"--test-ids: {path} must hold an object {{query_id: ...}} or a list of ids")
    for query_id in data:
        if isinstance(query_id, bool) or not isinstance(query_id, (str, int)):
            raise ToolbenchError(f"--test-ids: {path}: a query id must be a string or an integer, got {query_id!r:.80}")
    return [str(query_id) for query_id in data]


def _expectations(queries: list[Path]) -> dict[str, dict]:
    """Query.expectation by query id, from ToolBench query files (a JSON list of queries, or JSON lines)."""
    from eval import expectation as expect
    from toolbench.formats.jsonl import read_rows
    from toolbench.records import Query

    out: dict[str, dict] = {}
    for path in queries:
        if not path.exists():
            raise ToolbenchError(f"--queries: {path} does not exist")
        for row in read_rows(path):
            # a field path after the row's place: G1_query.json[3].query_id, queries.jsonl:3.query_id
            where = f"{path}[{row.index}]" if row.index is not None else f"{path}:{row.line or 1}"
            query = Query.from_dict(row.data, where=where)
            if query.expectation is not None:
                out[query.id] = expect.validate(query.expectation, f"{where}.expectation")
    return out


_Model = Annotated[str, typer.Option("--model", help="The judge model's name (e.g. gpt-4o-mini, or the name "
                                     "`toolbench llm serve` lists at /v1/models).")]
_BaseUrl = Annotated[str | None, typer.Option(help="The judge's OpenAI-compatible endpoint, e.g. "
                                              "http://127.0.0.1:8000/v1 (toolbench llm serve). Default: OpenAI's.")]
_KeyEnv = Annotated[str, typer.Option(help="Environment variable holding the judge's API key.")]
_Cache = Annotated[Path | None, typer.Option(help="SQLite cache of judge requests (default OUT/judge_cache.sqlite); "
                                            "share one file between runs to reuse judgments.")]
_CacheMode = Annotated[str, typer.Option(help="read-write (ask the judge on a miss), replay (cache only, no judge "
                                         "needed), off.")]
_K = Annotated[int, typer.Option("--k", help="Judgments per answer (pass rate) or rounds per query (win rate); "
                                 "StableToolBench uses 3.")]
_Seed = Annotated[int, typer.Option(help="Base seed of judge requests (seed + sample) and of the coin that "
                                    "resolves unsure pass labels.")]
_Temperature = Annotated[float, typer.Option(help="Judge sampling temperature (ToolEval: 0.2).")]
_Concurrency = Annotated[int, typer.Option(help="Judge requests in flight at once.")]
_TestIds = Annotated[Path | None, typer.Option(help="StableToolBench's test ids: a folder with <group>.json, or one "
                                               "file ({id: ...} or [id...]). A listed query with no answer counts "
                                               "as Unsolved.")]
_Queries = Annotated[list[Path] | None, typer.Option(help="ToolBench query files whose queries may carry an "
                                                     "'expectation': those are checked by rules, not by the judge.")]
_NoTools = Annotated[bool, typer.Option("--no-judge-tools", help="Do not offer the judge a function to call; ask "
                                        "for a JSON object in its reply instead.")]
_MaxTokens = Annotated[int, typer.Option(help="Reply length limit of one judge request (a small local judge is "
                                         "much faster with e.g. 128).")]
_Timeout = Annotated[float, typer.Option(help="Seconds to wait for one judge reply.")]


def _make_judge(model, base_url, api_key_env, cache, cache_mode, out, concurrency, seed, temperature, no_judge_tools,
                max_tokens, timeout):
    from eval import judge

    config = judge.JudgeConfig(temperature=temperature, seed=seed, use_tools=not no_judge_tools,
                               max_tokens=max_tokens)
    chat = _judge_model(model, base_url, api_key_env, cache or out / "judge_cache.sqlite", cache_mode, concurrency,
                        timeout)
    return judge.Judge(chat, config), chat


@judge_app.command("pass-rate")
def pass_rate_command(
    predictions: Annotated[list[Path], typer.Argument(help=_PREDICTIONS_HELP)],
    model: _Model,
    out: Annotated[Path, typer.Option(help="Output folder: judgments.jsonl, pass_rate.summary.json/.md, and "
                                      "stabletoolbench/<name>/<group>_<name>.json/.csv in StableToolBench's form.")],
    name: Annotated[str | None, typer.Option(help="Name of the model judged (default: the folder above the "
                                             "predictions).")] = None,
    base_url: _BaseUrl = None,
    api_key_env: _KeyEnv = "OPENAI_API_KEY",
    cache: _Cache = None,
    cache_mode: _CacheMode = "read-write",
    k: _K = 3,
    seed: _Seed = 0,
    temperature: _Temperature = 0.2,
    concurrency: _Concurrency = 4,
    test_ids: _TestIds = None,
    queries: _Queries = None,
    no_solvability: Annotated[bool, typer.Option("--no-solvability", help="Skip the solvability check (SoPR does "
                                                 "not need it); the pass rate then fails every unsolved answer.")]
    = False,
    no_judge_tools: _NoTools = False,
    max_tokens: _MaxTokens = 1024,
    timeout: _Timeout = 120.0,
) -> None:
    """Pass rate (ToolEval) and SoPR (StableToolBench) of answers, per group, with an LLM judge.

    Example: toolbench eval judge pass-rate preds/mymodel/G1_instruction.json --model gpt-4o-mini --out runs/j/m
    """
    from eval import answers, judge, judge_outputs, metrics
    from toolbench.cli.eval import _write_jsonl, _write_summary

    groups = _read_groups(predictions, "predictions")
    model_name = name or answers.model_of(predictions[0])
    expectations = _expectations(queries or [])
    out.mkdir(parents=True, exist_ok=True)
    the_judge, chat = _make_judge(model, base_url, api_key_env, cache, cache_mode, out, concurrency, seed,
                                  temperature, no_judge_tools, max_tokens, timeout)
    rows: list[dict] = []
    try:
        for group, (_, preds) in groups.items():
            judgments = judge.run_pass_rate(preds, the_judge, k=k, group=group, query_ids=_test_ids(test_ids, group),
                                            check_solvable=not no_solvability, expectations=expectations,
                                            concurrency=concurrency)
            judge_outputs.write_stabletoolbench_pass_results(judgments, preds, out / "stabletoolbench" / model_name,
                                                     model_name, group)
            rows += [j.to_dict() for j in judgments]
    finally:
        chat.close()
    _write_jsonl(out / "judgments.jsonl", rows)
    summary = {"kind": "pass_rate", "model": model_name, "judge": model, "k": k, "seed": seed,
               "temperature": temperature, "max_tokens": max_tokens, "check_solvable": not no_solvability,
               "groups": metrics.summarize_pass(rows, k)}
    json_path, md_path, markdown = _write_summary(out, "pass_rate", summary)
    typer.echo(markdown)
    typer.echo(f"Wrote {len(rows)} judgments to {out / 'judgments.jsonl'}; summary to {json_path} and {md_path}")


@judge_app.command("rules")
def rules_command(
    predictions: Annotated[list[Path], typer.Argument(help=_PREDICTIONS_HELP)],
    queries: Annotated[list[Path], typer.Option(help="The tasks: ToolBench query files whose queries carry an "
                                                "'expectation' (e.g. `toolbench generate tasks`' file); each one is "
                                                "scored, an unanswered task fails.")],
    out: Annotated[Path, typer.Option(help="Output folder: judgments.jsonl and pass_rate.summary.json/.md.")],
    name: Annotated[str | None, typer.Option(help="Name of the model scored (default: the folder above the "
                                             "predictions).")] = None,
) -> None:
    """Pass rate by the tasks' rule checks alone, no LLM: each task's expected calls made and an answer given
    (docs/eval.md, expectations).

    Example: toolbench eval judge rules runs/compare/base/dfsdt/answers --queries runs/tasks/dfsdt_tasks.json
    --out runs/eval/base/pass_rate
    """
    from eval import answers, judge
    from toolbench.cli.eval import _write_jsonl, _write_summary

    groups = _read_groups(predictions, "predictions")
    expectations = _expectations(queries)
    if not expectations:
        raise ToolbenchError(f"--queries: no query with an 'expectation' in {', '.join(map(str, queries))}")
    out.mkdir(parents=True, exist_ok=True)
    rows = [j.to_dict() for group, (_, preds) in groups.items()
            for j in judge.rule_pass_rate(preds, expectations, group=group)]
    _write_jsonl(out / "judgments.jsonl", rows)
    json_path, md_path, markdown = _write_summary(out, "pass_rate", judge.rule_pass_summary(
        rows, name or answers.model_of(predictions[0])))
    typer.echo(markdown)
    typer.echo(f"Wrote {len(rows)} judgments to {out / 'judgments.jsonl'}; summary to {json_path} and {md_path}")


@judge_app.command("win-rate")
def win_rate_command(
    candidate: Annotated[list[Path], typer.Option(help="The candidate's answers (repeat per group). "
                                                  + _PREDICTIONS_HELP)],
    reference: Annotated[list[Path], typer.Option(help="The reference answers, same groups as --candidate.")],
    model: _Model,
    out: Annotated[Path, typer.Option(help="Output folder: preferences.jsonl, win_rate.summary.json/.md, and "
                                      "stabletoolbench/<group>_<reference>_<candidate>.json.")],
    candidate_name: Annotated[str | None, typer.Option(help="Default: the folder above --candidate.")] = None,
    reference_name: Annotated[str | None, typer.Option(help="Default: the folder above --reference.")] = None,
    base_url: _BaseUrl = None,
    api_key_env: _KeyEnv = "OPENAI_API_KEY",
    cache: _Cache = None,
    cache_mode: _CacheMode = "read-write",
    k: _K = 3,
    seed: _Seed = 0,
    temperature: _Temperature = 0.2,
    concurrency: _Concurrency = 4,
    test_ids: _TestIds = None,
    queries: _Queries = None,
    no_judge_tools: _NoTools = False,
    max_tokens: _MaxTokens = 1024,
    timeout: _Timeout = 120.0,
) -> None:
    """SoWR (StableToolBench's win rate) of a candidate against reference answers, per group, with an LLM judge.

    Example: toolbench eval judge win-rate --candidate a/G1_instruction.json --reference b/G1_instruction.json
    --model gpt-4o-mini --out runs/j/a_vs_b
    """
    from eval import answers, judge, judge_outputs, metrics
    from toolbench.cli.eval import _write_jsonl, _write_summary

    cands, refs = _read_groups(candidate, "--candidate"), _read_groups(reference, "--reference")
    if set(cands) != set(refs):
        raise ToolbenchError(f"--candidate groups {sorted(cands)} and --reference groups {sorted(refs)} differ; "
                             "give the same groups on both sides")
    cand_name = candidate_name or answers.model_of(candidate[0])
    ref_name = reference_name or answers.model_of(reference[0])
    expectations = _expectations(queries or [])
    out.mkdir(parents=True, exist_ok=True)
    the_judge, chat = _make_judge(model, base_url, api_key_env, cache, cache_mode, out, concurrency, seed,
                                  temperature, no_judge_tools, max_tokens, timeout)
    rows: list[dict] = []
    try:
        for group in cands:
            prefs = judge.run_win_rate(refs[group][1], cands[group][1], the_judge, rounds=k, group=group,
                                       query_ids=_test_ids(test_ids, group), expectations=expectations,
                                       concurrency=concurrency)
            body = judge_outputs.stabletoolbench_preferences(prefs, ref_name, cand_name)
            target = out / "stabletoolbench" / f"{group}_{ref_name}_{cand_name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(body, indent=4) + "\n", encoding="utf-8")
            rows += [p.to_dict() for p in prefs]
    finally:
        chat.close()
    _write_jsonl(out / "preferences.jsonl", rows)
    summary = {"kind": "win_rate", "model": cand_name, "reference": ref_name, "judge": model, "rounds": k,
               "seed": seed, "temperature": temperature, "max_tokens": max_tokens,
               "groups": metrics.summarize_win(rows)}
    json_path, md_path, markdown = _write_summary(out, "win_rate", summary)
    typer.echo(markdown)
    typer.echo(f"Wrote {len(rows)} preferences to {out / 'preferences.jsonl'}; summary to {json_path} and {md_path}")


@judge_app.command("recompute")
def recompute_command(
    results: Annotated[list[Path], typer.Argument(help="StableToolBench's stored judge outputs: "
                                                  "pass_rate_results/<model>/<group>_<model>.json and "
                                                  "preference_results/<group>_<ref>_<cand>.json files, or folders "
                                                  "holding them (the .json is read; a .csv alone is read too).")],
    out: Annotated[Path, typer.Option(help="Output folder: <model>/pass_rate.summary.json and "
                                      "<candidate>_vs_<reference>/win_rate.summary.json per model, for the "
                                      "leaderboard.")],
) -> None:
    """SoPR and SoWR per group recomputed from StableToolBench's stored judge outputs (no judge is asked).

    Example: toolbench eval judge recompute data_example/pass_rate_results data_example/preference_results
    --out runs/stabletoolbench
    """
    from eval import recompute

    written = recompute.recompute(results, out)
    for path in written:
        typer.echo((path.with_suffix("").with_suffix(".summary.md")).read_text(encoding="utf-8"))
    typer.echo(f"Wrote {len(written)} summaries under {out}")
