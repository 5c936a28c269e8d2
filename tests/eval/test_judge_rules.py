"""The pass rate by the tasks' rule checks alone (eval.judge.rule_pass_rate, `toolbench eval judge rules`), moved
out of the demo's pass-rate stage: no LLM is asked, an unanswered task fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import answers, judge
from toolbench.cli import main

COT = (Path(__file__).parents[1] / "fixtures" / "stabletoolbench" / "data_example" / "model_predictions_converted"
       / "virtual_chatgpt_cot" / "G1_instruction.json")
TASKS = [{"query_id": "1073", "query": "a", "expectation": {"answer_contains": ["Pinterest"]}},
         {"query_id": "588", "query": "b", "expectation": {"answer_contains": ["no-such-word-here"]}},
         {"query_id": "424242", "query": "c", "expectation": {"answer_contains": ["x"]}}]


def test_rule_pass_rate_needs_no_model():
    predictions = answers.read_predictions(COT)
    rows = judge.rule_pass_rate(predictions, {t["query_id"]: t["expectation"] for t in TASKS}, group="G")
    assert [(r.query_id, r.resolved_label) for r in rows] == [("1073", "passed"), ("588", "failed"),
                                                               ("424242", "failed")]
    summary = judge.rule_pass_summary([r.to_dict() for r in rows], "cot")
    assert summary["judge"] == judge.RULES_JUDGE and summary["groups"]["G"]["pass_rate"]["count"] == 1


def test_eval_judge_rules_command(tmp_path, capsys):
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps(TASKS), encoding="utf-8")
    out = tmp_path / "rules"
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "judge", "rules", str(COT), "--queries", str(tasks), "--out", str(out)])
    assert exit_.value.code == 0, capsys.readouterr().err
    summary = json.loads((out / "pass_rate.summary.json").read_text())
    rate = summary["groups"]["G1_instruction"]["pass_rate"]
    assert (rate["count"], rate["n"], summary["model"]) == (1, 3, "virtual_chatgpt_cot")
    assert len((out / "judgments.jsonl").read_text().splitlines()) == 3
    tasks.write_text(json.dumps([{"query_id": "1", "query": "q"}]), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "judge", "rules", str(COT), "--queries", str(tasks), "--out", str(out)])
    assert exit_.value.code != 0 and "no query with an 'expectation'" in capsys.readouterr().err
