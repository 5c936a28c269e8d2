"""`toolbench eval judge pass-rate | win-rate | recompute`: the files written, and a replayed rerun that needs no
judge and gives identical figures. The judge is a scripted model put in place of the OpenAI client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from judge_fakes import judge_model

from eval import metrics
from tests.capture import run_cli as run
from toolbench.cli import eval_judge as eval_cli
from toolbench.llm.cache import CachedChatModel

STB = Path(__file__).parents[1] / "fixtures" / "stabletoolbench" / "data_example"
COT = STB / "model_predictions_converted" / "virtual_chatgpt_cot" / "G1_instruction.json"
DFS = STB / "answer" / "virtual_chatgpt_dfs" / "G1_instruction"  # ToolBench answer files


def answers(question, messages, params):
    """Solved, except for answers that mention Kick.com, Unsure then Unsolved; tasks are solvable; the better
    answer is the longer one."""
    content = messages[1]["content"]
    if question == "better_answer":
        first, second = content.split("Answer 1 (JSON):")
        return 0 if len(first) > len(second) else 1
    if question == "task_solvable":
        return "Solvable"
    if "Kick.com" in content:
        return "Unsure" if question == "answer_status" else "Unsolved"
    return "Solved"


@pytest.fixture
def scripted_judge(monkeypatch):
    models = []

    def fake(model, base_url, api_key_env, cache, cache_mode, concurrency, timeout):
        inner = judge_model(answers, model=model) if cache_mode != "replay" else None
        models.append(inner)
        return CachedChatModel(inner, cache, cache_mode, model=model)

    monkeypatch.setattr(eval_cli, "_judge_model", fake)
    return models


def test_pass_rate_then_replay(tmp_path, capsys, scripted_judge):
    out = tmp_path / "run"
    code, stdout, err = run(["eval", "judge", "pass-rate", str(COT), "--model", "judge-x", "--out", str(out),
                             "--concurrency", "2"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    order = list(json.loads(COT.read_text()))  # the file's order
    assert [(r["query_id"], r["sample"]) for r in rows] == [(q, s) for q in order for s in range(3)]
    assert {r["query_id"]: r["rule"] for r in rows} == {"588": "no_finish", "608": "judge_detailed", "1073": "judge"}
    summary = json.loads((out / "pass_rate.summary.json").read_text())
    assert (summary["model"], summary["judge"], summary["k"]) == ("virtual_chatgpt_cot", "judge-x", 3)
    figures = summary["groups"]["G1_instruction"]
    assert figures["sopr"]["mean"] == 1 / 3 and figures["pass_rate"]["value"] == 1 / 3
    assert "| virtual_chatgpt_cot | 33.3 ± 0.0 (n=3) |" in stdout
    ours = out / "stabletoolbench" / "virtual_chatgpt_cot" / "G1_instruction_virtual_chatgpt_cot.json"
    assert metrics.read_pass_rate_results(ours)["1073"] == {0: "Solved", 1: "Solved", 2: "Solved"}
    asked = len(scripted_judge[0].requests)
    assert asked == 3 * (2 + 1) + 3 * 1  # 608: answer, detailed, solvability; 1073: answer; 588: none

    # the rerun replays every judgment from the cache: no judge at all, the same files
    again = tmp_path / "again"
    code, _, err = run(["eval", "judge", "pass-rate", str(COT), "--model", "judge-x", "--out", str(again),
                        "--cache", str(out / "judge_cache.sqlite"), "--cache-mode", "replay"], capsys)
    assert code == 0, err
    assert scripted_judge[1] is None
    assert (again / "pass_rate.summary.json").read_text() == (out / "pass_rate.summary.json").read_text()
    assert (again / "judgments.jsonl").read_text() == (out / "judgments.jsonl").read_text()


def test_win_rate(tmp_path, capsys, scripted_judge):
    out = tmp_path / "win"
    code, stdout, err = run(["eval", "judge", "win-rate", "--candidate", str(DFS), "--reference", str(COT),
                             "--candidate-name", "dfs", "--reference-name", "cot", "--model", "judge-x", "--k", "2",
                             "--out", str(out)], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in (out / "preferences.jsonl").read_text().splitlines()]
    by_query = {(r["query_id"], r["round"]): (r["winner"], r["rule"]) for r in rows}
    assert by_query[("588", 0)] == ("candidate", "only_one_solved")  # the CoT run has no Finish
    # 608: both answers mention Kick.com, both Unsolved after the detailed check -> the judge picks the longer
    assert by_query[("608", 0)] == by_query[("608", 1)] == ("candidate", "judge")
    summary = json.loads((out / "win_rate.summary.json").read_text())
    assert (summary["model"], summary["reference"], summary["rounds"]) == ("dfs", "cot", 2)
    assert summary["groups"]["G1_instruction"]["n"] == 3
    reference, candidate, points = metrics.read_preference_results(out / "stabletoolbench" /
                                                                    "G1_instruction_cot_dfs.json")
    assert (reference, candidate, points["588"]) == ("cot", "dfs", (0, 2))
    assert "## SoWR vs cot" in stdout


def test_recompute(tmp_path, capsys):
    code, stdout, err = run(["eval", "judge", "recompute", str(STB / "pass_rate_results"),
                             str(STB / "preference_results"), "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "| virtual_chatgpt_cot | 66.7 ± 0.0 (n=3) |" in stdout
    assert "| virtual_chatgpt_dfs | 100.0 ± 0.0 (n=3) |" in stdout
    assert "| virtual_chatgpt_dfs | 100.0 (n=3) |" in stdout  # SoWR vs virtual_chatgpt_cot


def test_errors(tmp_path, capsys, scripted_judge):
    code, _, err = run(["eval", "judge", "pass-rate", str(tmp_path / "none.json"), "--model", "j", "--out",
                        str(tmp_path / "o")], capsys)
    assert code == 2 and "no such file or directory" in err
    code, _, err = run(["eval", "judge", "pass-rate", str(COT), "--model", "j", "--out", str(tmp_path / "o"),
                        "--test-ids", str(tmp_path)], capsys)
    assert code == 2 and "G1_instruction.json does not exist" in err
    code, _, err = run(["eval", "judge", "win-rate", "--candidate", str(COT), "--reference", str(tmp_path),
                        "--model", "j", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "no *.json answer files" in err
