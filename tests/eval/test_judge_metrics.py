"""eval.metrics and eval.recompute: StableToolBench's per-group figures recomputed exactly from its stored judge
outputs (tests/fixtures/stabletoolbench), and the metric definitions on small worked examples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from judge_fakes import judge_model

from eval import answers, judge, judge_outputs, metrics, recompute

STB = Path(__file__).parents[1] / "fixtures" / "stabletoolbench"
PASS = STB / "data_example" / "pass_rate_results"
PREF = STB / "data_example" / "preference_results" / "G1_instruction_virtual_chatgpt_cot_virtual_chatgpt_dfs"
OLD_COT = STB / "toolbench" / "tooleval" / "results" / "default_evalset" / "gpt-3.5-turbo_CoT" / "G1_instruction.json"


def stabletoolbench_sopr(is_solved: dict[str, dict[int, str]], evaluate_times: int) -> tuple[float, float]:
    """What StableToolBench's eval_pass_rate.py prints, written out here step by step as the check."""
    scores = []
    for run in range(evaluate_times):
        score = 0
        for runs in is_solved.values():
            status = runs.get(run)
            score += {"Solved": 1, "Unsure": 0.5}.get(status, 0)
        scores.append(score / len(is_solved))
    return sum(scores) / len(scores), float(np.std(scores))


@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_sopr_reproduced_from_stored_judgments(suffix):
    # ChatGPT CoT: query 588 Unsolved in all 3 runs (no Finish), 608 and 1073 Solved -> 2/3 in every run
    cot = metrics.read_pass_rate_results(PASS / "virtual_chatgpt_cot" / f"G1_instruction_virtual_chatgpt_cot.{suffix}")
    assert cot == {"588": {0: "Unsolved", 1: "Unsolved", 2: "Unsolved"},
                   "1073": {0: "Solved", 1: "Solved", 2: "Solved"}, "608": {0: "Solved", 1: "Solved", 2: "Solved"}}
    figure = metrics.sopr(cot)
    assert (figure.mean, figure.std, figure.n, figure.k) == (*stabletoolbench_sopr(cot, 3), 3, 3)
    assert figure.runs == (2 / 3, 2 / 3, 2 / 3)
    assert figure.percent() == "66.7 ± 0.0"  # StableToolBench prints "Solve rate: 66.7% Std: 0.0%"
    # ChatGPT DFS: all three Solved in all runs
    dfs = metrics.sopr(metrics.read_pass_rate_results(
        PASS / "virtual_chatgpt_dfs" / f"G1_instruction_virtual_chatgpt_dfs.{suffix}"))
    assert (dfs.mean, dfs.std, dfs.n, dfs.percent()) == (1.0, 0.0, 3, "100.0 ± 0.0")


@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_sowr_reproduced_from_stored_preferences(suffix):
    reference, candidate, points = metrics.read_preference_results(PREF.with_suffix(f".{suffix}"))
    assert (reference, candidate) == ("virtual_chatgpt_cot", "virtual_chatgpt_dfs")
    if suffix == "json":  # points per model over 3 rounds
        assert points == {"588": (0, 3), "608": (0, 3), "1073": (1, 2)}
    rate = metrics.win_rate(points)
    # StableToolBench prints "Win rate: 1.0, Tie rate: 0.0": DFS wins all three queries
    assert (rate.win, rate.tie, rate.lose, rate.n) == (1.0, 0.0, 0.0, 3)


def test_recompute_writes_summaries_for_the_leaderboard(tmp_path):
    written = recompute.recompute([PASS, PREF.parent], tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == [
        "virtual_chatgpt_cot/pass_rate.summary.json", "virtual_chatgpt_dfs/pass_rate.summary.json",
        "virtual_chatgpt_dfs_vs_virtual_chatgpt_cot/win_rate.summary.json"]
    cot = json.loads((tmp_path / "virtual_chatgpt_cot" / "pass_rate.summary.json").read_text())
    assert cot["groups"]["G1_instruction"]["sopr"] == {"mean": 2 / 3, "std": 0.0, "n": 3, "k": 3,
                                                       "runs": [2 / 3, 2 / 3, 2 / 3]}
    assert cot["groups"]["G1_instruction"]["answer_status"] == {"Solved": 6, "Unsolved": 3, "Unsure": 0}
    win = json.loads((tmp_path / "virtual_chatgpt_dfs_vs_virtual_chatgpt_cot" / "win_rate.summary.json").read_text())
    assert (win["model"], win["reference"]) == ("virtual_chatgpt_dfs", "virtual_chatgpt_cot")
    assert win["groups"]["G1_instruction"] == {"win_rate": 1.0, "tie_rate": 0.0, "lose_rate": 0.0, "wins": 3,
                                               "ties": 0, "losses": 0, "n": 3, "rounds": 3}


def test_our_outputs_read_back_as_stabletoolbench_files(tmp_path):
    """Judging ChatGPT-CoT's 100 older predictions with a judge that always says Solved: the 33 runs without
    Finish fail without a question, the 3 that gave up are Unsolved and the (Solvable) task fails them; our
    StableToolBench-form files read back to the same SoPR."""
    predictions = answers.read_predictions(OLD_COT)
    model = judge_model({"answer_status": "Solved", "task_solvable": "Solvable"})
    judgments = judge.run_pass_rate(predictions, judge.Judge(model), k=2, group="G1_instruction")
    summary = metrics.summarize_pass([j.to_dict() for j in judgments])["G1_instruction"]
    assert summary["sopr"]["mean"] == 0.64 and summary["sopr"]["std"] == 0.0
    assert summary["pass_rate"] == {"value": 0.64, "count": 64, "n": 100}
    assert summary["rules"] == {"give_up": 6, "judge": 128, "no_finish": 66}
    assert len(model.requests) == 2 * (64 + 3)
    json_path, csv_path = judge_outputs.write_stabletoolbench_pass_results(judgments, predictions, tmp_path, "cot",
                                                                   "G1_instruction")
    assert metrics.read_pass_rate_results(json_path) == metrics.read_pass_rate_results(csv_path)
    assert metrics.sopr(metrics.read_pass_rate_results(csv_path)).mean == 0.64


def test_metric_definitions():
    # SoPR: a query missing run 1 scores 0 there; Unsure counts half
    statuses = {"a": {0: "Solved", 1: "Unsure"}, "b": {0: "AnswerStatus.Unsure"}}
    figure = metrics.sopr({q: {r: metrics.status_name(s) for r, s in runs.items()} for q, runs in statuses.items()})
    assert figure.runs == (0.75, 0.25) and figure.mean == 0.5 and figure.std == 0.25
    # pass rate: ties pass (failed <= passed)
    rate = metrics.pass_rate({"a": ["passed", "failed"], "b": ["failed", "failed", "passed"], "c": ["passed"]})
    assert (rate.value, rate.count, rate.n) == (2 / 3, 2, 3)
    # win rate: (reference points, candidate points)
    rate = metrics.win_rate({"a": (0, 2), "b": (1, 1), "c": (2, 1), "d": (0, 0)})
    assert (rate.win, rate.tie, rate.lose) == (0.25, 0.5, 0.25)
    with pytest.raises(metrics.ResultsFileError, match="unknown answer status 'Maybe'"):
        metrics.status_name("Maybe")
    with pytest.raises(metrics.ToolbenchError, match="no queries"):
        metrics.sopr({})


def test_unreadable_results_files(tmp_path):
    bad = tmp_path / "G1_x_m.json"
    bad.write_text(json.dumps({"1": {"query": "q"}}))
    with pytest.raises(metrics.ResultsFileError, match="query 1 has no is_solved"):
        metrics.read_pass_rate_results(bad)
    with pytest.raises(metrics.ResultsFileError, match="neither a pass_rate_results nor a preference_results"):
        recompute.recompute([bad], tmp_path / "out")
