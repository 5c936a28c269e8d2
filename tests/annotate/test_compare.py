"""The equal-budget comparison (annotate/compare.py): budgets, restarts, the shared journal, pruning, early stop on a
verified answer, resume, and the table's figures."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from annotate import compare as C
from annotate import tree as T
from annotate.compare_table import build_table, table_markdown
from annotate.runner import ScriptedRunner
from eval.intervals import wilson
from tests.annotate.helpers import F_WEATHER, FORECAST, WEATHER, answer, call
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Query

WEATHER_JSON = json.dumps({"city": "Paris", "sky": "sunny"})


def write_tasks(path: Path, count: int = 1) -> str:
    tasks = [Query(id=f"t{i}", text=f"Weather in city number {i}?", apis=[WEATHER, FORECAST],
                   expectation={"answer_contains": ["sunny"]}).to_dict() for i in range(count)]
    path.write_text(json.dumps(tasks))
    return str(path)


def config(tmp_path: Path, **kw) -> C.CompareConfig:
    tmp_path.mkdir(parents=True, exist_ok=True)
    tasks = kw.pop("tasks", None) or write_tasks(tmp_path / "tasks.json", kw.pop("count", 1))
    base = {"tasks": tasks, "out": str(tmp_path / "out"), "models": {"base": "scripted"}, "budget": 12,
            "max_steps": 4, "width": 2, "temperature": None, "concurrency": 1}
    return C.CompareConfig(**{**base, **kw})


def run(cfg: C.CompareConfig, model, runner=None):
    runner = runner or ScriptedRunner({F_WEATHER: WEATHER_JSON})
    rows = C.run(cfg, {label: model for label in cfg.models}, lambda functions: runner)
    return rows, runner


def fresh_cities():
    """Never finishes; every call asks for another city (no repeats)."""
    counter = itertools.count()
    return lambda messages, tools, params: call(F_WEATHER, {"city": f"c{next(counter)}"})


@pytest.mark.parametrize("strategy,expected", [("react", 4), ("react@n", 12), ("dfsdt", 12)])
def test_every_strategy_gets_the_same_budget_of_model_calls(tmp_path, strategy, expected):
    model = ScriptedChatModel([fresh_cities()], repeat_last=True)
    rows, _ = run(config(tmp_path, strategies=strategy, count=2), model)
    # ReACT is one chain of max_steps; ReACT@N and DFSDT spend the whole budget, never more
    assert [r["llm_calls"] for r in rows] == [expected, expected]
    assert len(model.requests) == 2 * expected
    assert all(r["status"] == T.BUDGET or strategy == "react" for r in rows)


def test_react_at_n_restarts_fresh_chains_until_the_budget_is_spent(tmp_path):
    model = ScriptedChatModel([fresh_cities()], repeat_last=True)
    run(config(tmp_path, strategies="react@n", budget=10), model)
    starts = [r for r in model.requests if len(r["messages"]) == 2]  # system + task: a chain from the start
    assert len(starts) == 3  # chains of 4, 4, then 2 calls: 10
    assert all(m["role"] != "user" or "not the first time" not in (m["content"] or "")
               for r in model.requests for m in r["messages"])  # no memory of the other chains


def solve_with_paris(messages, tools, params):
    done = any(m["role"] == "tool" for m in messages)
    return answer("It is sunny.") if done else call(F_WEATHER, {"city": "Paris"})


def test_shared_journal_makes_each_call_once_across_strategies(tmp_path):
    model = ScriptedChatModel([solve_with_paris], repeat_last=True)
    rows, runner = run(config(tmp_path), model)
    assert len(runner.calls) == 1  # three strategies, one API call made
    by = {r["strategy"]: r for r in rows}
    assert by["react"]["api_made"] == 1 and by["react@n"]["api_made"] == 0 and by["dfsdt"]["api_made"] == 0
    assert all(r["api_calls"] == 1 and r["status"] == T.SOLVED for r in rows)

    unshared, runner2 = run(config(tmp_path / "b", share_calls=False), ScriptedChatModel([solve_with_paris],
                                                                                         repeat_last=True))
    assert len(runner2.calls) == 3 and [r["api_made"] for r in unshared] == [1, 1, 1]


def always_paris(messages, tools, params):
    return call(F_WEATHER, {"city": "Paris"})


def test_pruning_cuts_a_chain_that_repeats_a_call(tmp_path):
    rows, runner = run(config(tmp_path, strategies="react", share_calls=False), ScriptedChatModel([always_paris],
                                                                                                   repeat_last=True))
    assert len(runner.calls) == 1 and rows[0]["llm_calls"] == 2 and rows[0]["pruned_calls"] == 1
    rows, runner = run(config(tmp_path / "b", strategies="react", share_calls=False, prune_repeats=False),
                       ScriptedChatModel([always_paris], repeat_last=True))
    assert len(runner.calls) == 4 and rows[0]["llm_calls"] == 4 and rows[0]["pruned_calls"] == 0


def test_is_repeat_compares_canonical_arguments():
    tree = T.start([{"role": "user", "content": "q"}])
    tree = T.expand(tree, 0, None, [T.Call("a", F_WEATHER, '{"city": "Paris", "days": 1}')])
    tree = T.observe(tree, 1, [("{}", 0)], T.Policy())
    tree = T.expand(tree, 1, None, [T.Call("b", F_WEATHER, '{"days":1,"city":"Paris"}'),
                                    T.Call("c", F_WEATHER, '{"city": "Rome"}'), T.Call("d", "Finish", "{}")])
    assert [T.is_repeat(tree, 2, i) for i in range(3)] == [True, False, False]
    assert T.repeated_calls(tree) == 1


def test_early_stop_on_a_verified_answer(tmp_path):
    def ungrounded_first():
        replies = iter([answer("It is sunny."), call(F_WEATHER, {"city": "Paris"}), answer("It is sunny.")])
        return ScriptedChatModel([lambda m, t, p: next(replies)], repeat_last=True)

    rows, _ = run(config(tmp_path, strategies="react@n", verify="grounded"), ungrounded_first())
    row = rows[0]
    # the answer without any API response is rejected: the search restarts, then stops on the grounded answer
    assert (row["llm_calls"], row["rejected"], row["status"], row["finish_type"]) == (3, 1, T.SOLVED, "give_answer")
    table = build_table(rows, {}, budget=12, models=["base"], strategies=["react@n"], interval=wilson)
    assert table["rows"][0]["saved"]["llm_calls_unspent"] == 9 and table["rows"][0]["saved"]["answers_rejected"] == 1

    rows, _ = run(config(tmp_path / "b", strategies="react@n", verify="none"), ungrounded_first())
    assert (rows[0]["llm_calls"], rows[0]["rejected"]) == (1, 0)


def test_a_rejected_answer_is_chosen_only_when_no_answer_was_accepted():
    policy = T.Policy(width=1, root_width=2, verify=T.VERIFY_GROUNDED)
    tree = T.start([{"role": "user", "content": "q"}])
    finish = '{"return_type": "give_answer", "final_answer": "x"}'
    tree = T.expand(tree, 0, None, [T.Call("a", "Finish", finish)])
    tree = T.observe(tree, 1, [T.finish_observation(finish)[:2]], policy)
    assert tree.status == T.RUNNING and tree.node(1).pruned
    assert T.conclude(tree, T.EXHAUSTED).chosen == 1
    tree = T.expand(tree, 0, None, [T.Call("b", F_WEATHER, "{}")])
    tree = T.observe(tree, 2, [("{}", T.CODE_OK)], policy)
    tree = T.expand(tree, 2, None, [T.Call("c", "Finish", finish)])
    tree = T.observe(tree, 3, [T.finish_observation(finish)[:2]], policy)
    assert tree.status == T.SOLVED and T.conclude(tree).chosen == 3


class Crash(Exception):
    pass


def test_resume_after_a_crash_continues_without_repeating_calls(tmp_path):
    cfg = config(tmp_path, strategies="react,dfsdt", count=2, share_calls=True)
    calls = itertools.count()

    def crashing(messages, tools, params):
        if next(calls) == 14:  # task t0: react made calls 0-3, dfsdt 4-13; its 11th call dies
            raise Crash("killed")
        return fresh_cities_once(messages)

    counter = itertools.count()

    def fresh_cities_once(messages):
        return call(F_WEATHER, {"city": f"c{next(counter)}"})

    runner = ScriptedRunner({F_WEATHER: WEATHER_JSON})
    with pytest.raises(Crash):
        run(cfg, ScriptedChatModel([crashing], repeat_last=True), runner)
    done_before = C.CompareStore(Path(cfg.out) / "compare.sqlite").units()
    assert [(r["strategy"], r["task_id"]) for r in done_before] == [("react", "t0")]
    second = ScriptedChatModel([lambda m, t, p: fresh_cities_once(m)], repeat_last=True)
    rows, _ = run(cfg, second, runner)
    assert len(rows) == 4 and {r["llm_calls"] for r in rows if r["strategy"] == "dfsdt"} == {12}
    # the unit in flight resumed from its checkpoint: only its remaining calls were asked again
    assert len(second.requests) == (12 - 10) + 4 + 12
    assert len(runner.calls) == len({json.dumps(a, sort_keys=True) for _, a in runner.calls})  # none made twice
    again = ScriptedChatModel([], repeat_last=False)
    rows2, _ = run(cfg, again, runner)
    assert rows2 == rows and not again.requests  # all done: nothing asked


def test_other_settings_in_the_same_folder_are_refused(tmp_path):
    run(config(tmp_path, strategies="react"), ScriptedChatModel([solve_with_paris], repeat_last=True))
    with pytest.raises(C.CompareError, match="other settings"):
        run(config(tmp_path, strategies="react", budget=20), ScriptedChatModel([solve_with_paris], repeat_last=True))


def test_bad_settings_name_the_field(tmp_path):
    with pytest.raises(C.CompareError, match="strategies"):
        config(tmp_path, strategies="react,mcts")
    with pytest.raises(C.CompareError, match="budget"):
        config(tmp_path, budget=0)


def unit(strategy, task, status, llm, api, made, tokens=100, seconds=2.0, pruned=0, rejected=0):
    return {"model": "base", "strategy": strategy, "task_id": task, "status": status,
            "finish_type": "give_answer" if status == T.SOLVED else None, "llm_calls": llm, "api_calls": api,
            "api_made": made, "pruned_calls": pruned, "rejected": rejected, "prompt_tokens": tokens - 10,
            "completion_tokens": 10, "seconds": seconds, "answer": ""}


def test_the_table_figures():
    rows = [unit("react", "a", T.SOLVED, 2, 1, 1), unit("react", "b", T.EXHAUSTED, 4, 3, 3, tokens=300),
            unit("dfsdt", "a", T.SOLVED, 4, 2, 0, tokens=200, seconds=4.0, pruned=1),
            unit("dfsdt", "b", T.SOLVED, 6, 2, 1, tokens=400, seconds=6.0, rejected=1)]
    verdicts = {("base", "react"): {"a": {"rules": True, "judge": None}, "b": {"rules": False, "judge": None}},
                ("base", "dfsdt"): {"a": {"rules": True, "judge": True}, "b": {"rules": True, "judge": False}}}
    table = build_table(rows, verdicts, budget=12, models=["base"], strategies=["react", "dfsdt"], interval=wilson)
    react, dfsdt = table["rows"]
    assert react["pass_rules"]["passed"] == 1 and react["pass_rules"]["rate"] == 0.5
    assert react["pass_rules"]["interval"] == [round(x, 4) for x in wilson(1, 2)]
    assert react["pass_judge"] is None and dfsdt["pass_judge"]["rate"] == 0.5
    assert react["per_solved"] == {"llm_calls": 2, "tokens": 100, "api_calls": 1, "seconds": 2.0}
    assert react["spent_per_solved"]["llm_calls"] == 6 and react["spent_per_solved"]["tokens"] == 400
    assert dfsdt["per_solved"] == {"llm_calls": 5, "tokens": 300, "api_calls": 2, "seconds": 5.0}
    assert dfsdt["saved"] == {"api_calls_replayed": 3, "repeated_calls_pruned": 1, "llm_calls_unspent": 14,
                              "tokens_unspent": round(14 * 600 / 10), "answers_rejected": 1}
    assert react["saved"]["llm_calls_unspent"] == 10  # only the search that stopped on its answer
    text = table_markdown(table)
    assert "| base | DFSDT | 2 | 2 | 100.0% [" in text and "ReACT 35.3, ReACT@N 44.5, DFSDT 63.8" in text
    assert table["pairs"] == [] and "sign test" not in text  # no paired test given


def test_the_table_pairs_strategies_task_by_task():
    """Per model and pair of strategies: the tasks only one passed by rule checks, and the caller's paired test."""
    from eval.intervals import sign_test

    ok = {"rules": True, "judge": None}
    no = {"rules": False, "judge": None}
    verdicts = {("base", "react"): {"a": ok, "b": no, "c": no, "d": no},
                ("base", "react@n"): {"a": ok, "b": ok, "c": ok, "d": no},
                ("base", "dfsdt"): {"a": no, "b": ok, "c": no}}  # "d" was not run
    rows = [unit(s, t, T.SOLVED, 2, 1, 1) for (_, s), checks in verdicts.items() for t in checks]
    table = build_table(rows, verdicts, budget=12, models=["base"], strategies=["react", "react@n", "dfsdt"],
                        interval=wilson, paired=sign_test)
    pairs = {(r["first"], r["second"]): r for r in table["pairs"]}
    assert list(pairs) == [("react", "react@n"), ("react", "dfsdt"), ("react@n", "dfsdt")]
    assert {k: pairs[("react", "react@n")][k] for k in ("tasks", "wins", "losses", "ties", "p")} == {
        "tasks": 4, "wins": 0, "losses": 2, "ties": 2, "p": 0.5}
    assert (pairs[("react", "dfsdt")]["tasks"], pairs[("react", "dfsdt")]["wins"],
            pairs[("react", "dfsdt")]["losses"]) == (3, 1, 1)
    assert (pairs[("react@n", "dfsdt")]["wins"], pairs[("react@n", "dfsdt")]["losses"]) == (2, 0)
    assert "| base | ReACT vs ReACT@N | 4 | 0 | 2 | 0.50 |" in table_markdown(table)


def test_the_command_writes_the_table_scored_by_rules_and_resumes(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tests.annotate import doubles
    from toolbench.cli import app
    from toolbench.cli.annotate import TEST_DOUBLES_ENV

    tasks = [Query(id=str(i), text=f"Weather in city number {i}?", apis=[WEATHER, FORECAST],
                   expectation={"answer_contains": [f"answer {i}"]}).to_dict() for i in range(2)]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    log = tmp_path / "api.log"
    monkeypatch.setenv(TEST_DOUBLES_ENV, "tests.annotate.doubles:build")
    monkeypatch.setenv(doubles.API_LOG_ENV, str(log))
    args = ["annotate", "compare", "--tasks", str(tmp_path / "tasks.json"), "--out", str(tmp_path / "out"),
            "--model", "base=scripted@http://127.0.0.1:1/v1", "--budget", "6", "--max-steps", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = json.loads((tmp_path / "out" / "comparison.json").read_text())
    by = {r["strategy"]: r for r in table["rows"]}
    # query 0 answers after one call; query 1 gives up once: ReACT stops there, ReACT@N and DFSDT try again
    assert by["react"]["pass_rules"]["passed"] == 1 and by["dfsdt"]["pass_rules"]["passed"] == 2
    assert by["react@n"]["pass_rules"]["n"] == 2 and table["budget"] == 6
    assert "| base | DFSDT | 2 |" in (tmp_path / "out" / "comparison.md").read_text()
    made = log.read_text().splitlines()
    assert len(made) == len(set(made))  # the shared journal: no call made twice
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and log.read_text().splitlines() == made
    assert json.loads((tmp_path / "out" / "comparison.json").read_text())["rows"] == table["rows"]


def test_the_demo_prints_and_writes_the_comparison_of_both_models(tmp_path):
    import dataclasses
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from toolbench.cli.demo.profile import TINY
    from toolbench.cli.demo.stage_annotate import compare_config
    from toolbench.cli.demo.stage_pass_rate import stage_pass_rate

    def path(*parts):
        target = tmp_path.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    tasks = [Query(id=f"t{i}", text=f"Weather in city number {i}?", apis=[WEATHER, FORECAST],
                   expectation={"answer_contains": ["sunny"]}).to_dict() for i in range(2)]
    path("tasks", "dfsdt_tasks.json").write_text(json.dumps(tasks))
    out = io.StringIO()
    profile = dataclasses.replace(TINY, compare_strategies="react,dfsdt", dfsdt_max_llm_calls=4)
    ctx = SimpleNamespace(profile=profile, path=path, figures=lambda name: {}, console=Console(file=out, width=200),
                          judge=None)
    for kind, model in (("base", fresh_cities()), ("tuned", solve_with_paris)):
        cfg = dataclasses.replace(compare_config(ctx, kind), catalog=None)
        run(cfg, ScriptedChatModel([model], repeat_last=True))
    stage = stage_pass_rate(ctx)
    figures, artefacts = stage.figures["comparison"], stage.artefacts
    assert figures["base/dfsdt"]["passed"] == 0 and figures["tuned/dfsdt"]["passed"] == 2
    # the headline's DFSDT pass rate scores the comparison's DFSDT answers (both models answered every task)
    assert (stage.figures["tuned"]["passed"], stage.figures["tuned"]["n"]) == (2, 2)
    assert stage.figures["base"]["passed"] == 0 and "no answer for this query" not in stage.figures["base"]["failures"]
    assert figures["tuned/react"]["n"] == 2 and set(figures) == {"base/react", "base/dfsdt", "tuned/react",
                                                                  "tuned/dfsdt"}
    text = (tmp_path / "eval" / "comparison.md").read_text()
    assert "| tuned | DFSDT | 2 | 2 | 100.0% [" in text and "| base | ReACT | 2 | 0 | 0.0% [" in text
    assert "Equal-budget comparison: 4 model calls" in out.getvalue()
    assert artefacts["equal-budget comparison"].endswith("comparison.md")
