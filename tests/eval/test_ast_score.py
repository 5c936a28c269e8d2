"""eval.ast_score and `toolbench eval ast`: per-entry rows, the per-category summary, the files written."""

from __future__ import annotations

import importlib.util
import json

import pytest

from eval import ast_score
from eval.ast_check import AstCheckError
from tests.capture import run_cli as run

ADD = {
    "name": "add",
    "parameters": {
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}
ENTRIES = [
    {"id": "simple_0", "function": [ADD]},
    {"id": "simple_1", "function": [ADD]},
    {"id": "parallel_0", "function": [ADD]},
    {"id": "irrelevance_0", "function": [ADD]},
    {"id": "irrelevance_1", "function": [ADD]},
    {"id": "tier1_7", "category": "tier_multiple", "function": [ADD]},
]
ANSWERS = [
    {"id": "simple_0", "ground_truth": [{"add": {"a": [1], "b": [2]}}]},
    {"id": "simple_1", "ground_truth": [{"add": {"a": [1], "b": [2]}}]},
    {"id": "parallel_0", "ground_truth": [{"add": {"a": [1], "b": [2]}}, {"add": {"a": [3], "b": [4]}}]},
    {"id": "tier1_7", "ground_truth": [{"add": {"a": [5], "b": [6]}}]},
]
PREDICTIONS = [
    {"id": "simple_0", "result": "[add(a=1, b=2)]"},  # right
    {"id": "simple_1", "result": [{"add": {"a": 1, "b": 3}}]},  # wrong value
    {
        "id": "parallel_0",
        "result": [  # right, other order, OpenAI tool_calls
            {"function": {"name": "add", "arguments": '{"a": 3, "b": 4}'}},
            {"function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}},
        ],
    },
    {"id": "irrelevance_0", "result": "add(a="},  # unreadable: wrong for us, right for BFCL
    {"id": "irrelevance_1", "result": "Sorry, no suitable function."},  # right
    {"id": "elsewhere_9", "result": []},  # names no entry
    # tier1_7 has no prediction: wrong
]


def test_category_of():
    assert ast_score.category_of({"id": "live_multiple_12-3-4"}) == "live_multiple"
    assert ast_score.category_of({"id": "simple_python_0"}) == "simple_python"
    assert ast_score.category_of({"id": "x_1", "category": "tier_multiple"}) == "tier_multiple"


def test_rows_and_summary():
    answers = {a["id"]: a["ground_truth"] for a in ANSWERS}
    predictions = {p["id"]: p["result"] for p in PREDICTIONS}
    rows = ast_score.score(ENTRIES, answers, predictions)
    assert [(r["id"], r["valid"], r["error_type"]) for r in rows] == [
        ("simple_0", True, None),
        ("simple_1", False, "value_error:others"),
        ("parallel_0", True, None),
        ("irrelevance_0", False, "irrelevance:unparseable"),
        ("irrelevance_1", True, None),
        ("tier1_7", False, "missing_prediction"),
    ]
    assert rows[3]["bfcl_would_accept"] is True and "bfcl_would_accept" not in rows[0]
    summary = ast_score.summarize(rows, unmatched_predictions=1)
    # simple 1/2, parallel 1/1, irrelevance 1/2 (BFCL: 2/2), tier_multiple 0/1; overall 3/6 (BFCL 4/6).
    assert summary["categories"] == {
        "irrelevance": {"accuracy": 0.5, "correct": 1, "n": 2, "bfcl_accuracy": 1.0, "bfcl_would_accept": 1},
        "parallel": {"accuracy": 1.0, "correct": 1, "n": 1},
        "simple": {"accuracy": 0.5, "correct": 1, "n": 2},
        "tier_multiple": {"accuracy": 0.0, "correct": 0, "n": 1, "missing_prediction": 1},
    }
    assert summary["overall"] == {
        "accuracy": 0.5,
        "correct": 3,
        "n": 6,
        "bfcl_accuracy": 0.6667,
        "bfcl_would_accept": 1,
        "missing_prediction": 1,
    }
    markdown = ast_score.summary_markdown(summary)
    assert "| irrelevance | 50.00% | 1 / 2 | 100.00% |" in markdown
    assert "| **overall (micro)** | 50.00% | 3 / 6 | 66.67% |" in markdown
    assert "1 entries had no prediction" in markdown and "1 predictions name no entry" in markdown
    assert "Constrained decoding" not in markdown  # predictions made elsewhere: nothing known
    assert "Constrained decoding (as the server reports it): on." in ast_score.summary_markdown(
        {**summary, "constrained_decoding": True})


def test_java_categories_are_refused():
    with pytest.raises(AstCheckError, match="java"):
        ast_score.score([{"id": "simple_java_0", "function": []}], {}, {})


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def ast_argv(**options):
    argv = ["eval", "ast"]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


def test_cli_scores_files(tmp_path, capsys):
    out = tmp_path / "run" / "ast.jsonl"
    argv = ast_argv(
        dataset=write_jsonl(tmp_path / "entries.json", ENTRIES),
        answers=write_jsonl(tmp_path / "answers.json", ANSWERS),
        predictions=write_jsonl(tmp_path / "preds.jsonl", PREDICTIONS),
        out=out,
    )
    code, stdout, _ = run(argv, capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["valid"] for r in rows] == [True, False, True, False, True, False]
    assert set(rows[1]) == {"id", "category", "valid", "error_type", "errors"}
    summary = json.loads((tmp_path / "run" / "ast.summary.json").read_text())
    assert summary["overall"]["correct"] == 3
    markdown = (tmp_path / "run" / "ast.summary.md").read_text()
    assert markdown in stdout and "| simple | 50.00% | 1 / 2 | same |" in markdown


def test_cli_errors_are_messages(tmp_path, capsys):
    code, _, err = run(ast_argv(dataset="bfcl:multiple", base_url="http://127.0.0.1:1"), capsys)
    assert code == 2 and "--out" in err and "Traceback" not in err
    code, _, err = run(ast_argv(dataset="bfcl:multiple", base_url="http://127.0.0.1:1", out=tmp_path / "o.jsonl"),
                       capsys)
    assert code == 2 and "needs --model" in err and "Traceback" not in err

    missing = ast_argv(
        dataset=tmp_path / "nope.json", predictions=tmp_path / "p.jsonl", out=tmp_path / "o.jsonl"
    )
    code, _, err = run(missing, capsys)
    assert code == 2 and "no such file" in err

    dataset = write_jsonl(tmp_path / "entries.json", ENTRIES[:1])
    no_predictions = write_jsonl(tmp_path / "p.jsonl", [])
    code, _, err = run(
        ast_argv(dataset=dataset, predictions=no_predictions, out=tmp_path / "o.jsonl"), capsys
    )
    assert code == 0 and err == ""  # a missing prediction is a wrong entry, not an error

    one = write_jsonl(tmp_path / "p1.jsonl", [{"id": "simple_0", "result": []}])
    code, _, err = run(ast_argv(dataset=dataset, predictions=one, out=tmp_path / "o.jsonl"), capsys)
    assert code == 2 and "no possible answer" in err and "--answers" in err


@pytest.mark.skipif(importlib.util.find_spec("bfcl_eval") is None, reason="bfcl-eval is not installed")
def test_cli_on_a_bfcl_category(tmp_path, capsys):
    from eval import bfcl_reference

    entries, answers = bfcl_reference.load_category("parallel")
    predictions = [
        {"id": e["id"], "result": bfcl_reference.answer_calls(a["ground_truth"])}
        for e, a in zip(entries, answers)
    ]
    out = tmp_path / "parallel.jsonl"
    code, stdout, _ = run(
        [
            "eval",
            "ast",
            "--dataset",
            "bfcl:parallel",
            "--predictions",
            write_jsonl(tmp_path / "p.jsonl", predictions),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0 and "| parallel | 100.00% | 200 / 200 | same |" in stdout
