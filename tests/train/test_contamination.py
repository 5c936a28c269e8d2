"""Never train on BFCL (toolbench.contamination): the index of the installed bfcl-eval's names and questions, the
matching rules, the refusal naming the example (planted question, planted function name), clean data passing
with 0 overlaps, the warning when bfcl-eval is missing, and `toolbench train sft` refusing before training."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from train_tiny import save_tiny_checkpoint, write_call_data, write_short_data

from toolbench import bfcl_data, contamination
from toolbench.cli import main
from train.config import SFTConfig
from train.format import read_examples, write_examples
from train.sft import load_splits

needs_bfcl = pytest.mark.skipif(importlib.util.find_spec("bfcl_eval") is None, reason="bfcl-eval is not installed")

# simple_python_0 of bfcl-eval 2026.3.23, and the function it offers
BFCL_QUESTION = "Find the area of a triangle with a base of 10 units and height of 5 units."
BFCL_FUNCTION = "calculate_triangle_area"


def _example(user: str, tool: str = "get_weather", id: str = "") -> dict:
    out = {"messages": [
        {"role": "user", "content": user},
        {"role": "assistant", "tool_calls": [{"id": "c0", "type": "function",
                                              "function": {"name": tool, "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c0", "content": "ok"},
        {"role": "assistant", "content": "Done."}],
        "tools": [{"type": "function", "function": {"name": tool, "description": "A tool.",
                                                     "parameters": {"type": "object", "properties": {}}}}]}
    if id:
        out["id"] = id
    return out


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def planted(tmp_path) -> Path:
    """Four examples; line 2 holds BFCL's question inside a longer message, line 4 offers and calls BFCL's
    function."""
    return _write(tmp_path / "planted.jsonl", [
        _example("What is the weather in Paris?"),
        _example(f"Hi!  Please help:\n{BFCL_QUESTION.upper()}   Thanks.", id="ex-2"),
        _example("And in Rome?"),
        _example("Compute something for me.", tool=BFCL_FUNCTION),
    ])


# -- the index and the rules --------------------------------------------------------------------------------------

def test_normalisation_and_name_keys():
    assert contamination.normalize_text("  Find THE\n area\t of ") == "find the area of"
    assert contamination.name_key("math.Factorial") == contamination.name_key("math_factorial") == "math_factorial"
    assert contamination.name_key("calculateTriangleArea") == "calculate_triangle_area"
    assert contamination.is_distinctive("calculate_triangle_area")
    assert contamination.is_distinctive("math_toolkit_sum_of_multiples")
    for generic in ("add", "ls", "get_weather", "math_factorial", "book_flight", "get_current_weather"):
        assert not contamination.is_distinctive(generic)


def test_index_of_a_bfcl_like_data_folder(tmp_path):
    (tmp_path / "multi_turn_func_doc").mkdir()
    (tmp_path / "possible_answer").mkdir()
    long_q = "Please compute the orbital period of a satellite at 400 km altitude."
    (tmp_path / "BFCL_v4_simple_python.json").write_text(json.dumps(
        {"id": "simple_python_7", "question": [[{"role": "user", "content": long_q}]],
         "function": [{"name": "orbit.period_calculator", "parameters": {}}]}) + "\n" + json.dumps(
        {"id": "simple_python_8", "question": [[{"role": "user", "content": "hello"}]],
         "function": [{"name": "add", "parameters": {}}]}) + "\n")
    (tmp_path / "multi_turn_func_doc" / "vehicle.json").write_text(json.dumps(
        {"name": "setCruiseControlSpeed", "description": "x", "parameters": {}}) + "\n")
    (tmp_path / "possible_answer" / "BFCL_v4_simple_python.json").write_text(json.dumps(
        {"id": "simple_python_7", "ground_truth": [{"answer_only_name_here": {}}]}) + "\n")
    (tmp_path / "BFCL_v4_format_sensitivity.json").write_text('{\n "simple_python": ["simple_python_7"]\n}\n')
    index = contamination.build_index(tmp_path, "test")
    assert index.files == 3  # answers skipped; the pretty-printed object is read and ignored
    assert index.match_name("orbit_period_calculator")[1] == contamination.BfclRef("simple_python_7",
                                                                                    "simple_python")
    assert index.match_name("set_cruise_control_speed")[1].category == "multi_turn_func_doc:vehicle"
    assert index.match_name("add") is None and index.match_name("answer_only_name_here") is None
    assert index.match_text(f"x {long_q.lower()} y")[1].id == "simple_python_7"
    assert index.match_text("hello") is None  # too short to prove anything
    assert index.match_text(long_q[:-5]) is None  # a part of a question is not the question


@needs_bfcl
def test_the_installed_package_is_indexed_once_per_process():
    index = contamination.load_index()
    assert contamination.load_index() is index
    assert index.version == bfcl_data.version() and not index.unreadable
    assert index.files >= 20 and len(index.names) > 1000 and len(index.questions) > 5000
    categories = {ref.category for ref in index.questions.values()}
    assert {"simple_python", "live_multiple", "multi_turn_base", "irrelevance"} <= categories
    assert index.match_text(BFCL_QUESTION) is not None
    assert index.match_name(BFCL_FUNCTION) is not None


# -- checking examples --------------------------------------------------------------------------------------------

@needs_bfcl
def test_planted_question_and_function_name_are_refused_naming_the_examples(planted):
    examples = read_examples(planted)
    report = contamination.check_training_examples(examples, str(planted))
    assert report.checked and report.count == 2 and report.examples == 4
    question, name = report.overlaps
    assert (question.location, question.kind, question.bfcl_id, question.bfcl_category, question.example_id) == (
        "line 2", "question", "simple_python_0", "simple_python", "ex-2")
    assert (name.location, name.kind, name.matched) == ("line 4", "function_name", BFCL_FUNCTION)
    with pytest.raises(contamination.TrainingDataContaminated) as refused:
        contamination.require_no_bfcl(examples, str(planted))
    message = str(refused.value)
    assert str(planted) in message and "line 2 (id 'ex-2')" in message and "simple_python_0" in message
    assert f"line 4: function {BFCL_FUNCTION!r} is BFCL's" in message
    assert "2 of 4 training examples overlap" in message


@needs_bfcl
def test_other_formats_are_checked_as_chat_examples(planted, tmp_path):
    sharegpt = write_examples(tmp_path / "planted_sharegpt.json", read_examples(planted), "sharegpt")
    report = contamination.check_training_examples(read_examples(sharegpt), str(sharegpt))
    assert [(o.location, o.kind) for o in report.overlaps] == [("example 2", "question"),
                                                                ("example 4", "function_name")]
    dicts = [json.loads(line) for line in planted.read_text().splitlines()]
    assert contamination.check_training_examples(dicts, "rows").count == 2  # plain dicts too


@needs_bfcl
def test_clean_data_passes_with_zero_overlaps(tmp_path):
    for path in (write_short_data(tmp_path / "short.jsonl", 6), write_call_data(tmp_path / "calls.jsonl", 6)):
        report = contamination.require_no_bfcl(read_examples(path), str(path))
        assert report.clean and report.count == 0 and report.to_dict()["overlapping_examples"] == 0
    generic = [_example("hello"), _example("What is 2*3?", tool="get_current_weather"),
               _example("Area please", tool="math.factorial")]
    assert contamination.check_training_examples(generic, "generic").count == 0
    reference = Path(__file__).resolve().parents[2] / "data" / "reference" / "toolbench" / "answer"
    assert contamination.check_training_examples(read_examples(reference), str(reference)).count == 0


def test_without_bfcl_eval_the_check_says_so(monkeypatch, planted):
    monkeypatch.setattr(bfcl_data, "installed", lambda: False)
    report = contamination.check_training_examples(read_examples(planted), str(planted))
    assert not report.checked and "bfcl-eval is not installed" in report.warning and "NOT checked" in report.warning
    with pytest.warns(contamination.BfclCheckSkipped, match="bfcl-eval is not installed"):
        contamination.require_no_bfcl(read_examples(planted), str(planted))


# -- train sft refuses before training ----------------------------------------------------------------------------

@needs_bfcl
def test_load_splits_refuses_and_reports(planted, tmp_path):
    cfg = SFTConfig(model="default", train_data=[str(planted)], output_dir=str(tmp_path / "out"), device="cpu")
    with pytest.raises(contamination.TrainingDataContaminated, match="line 2"):
        load_splits(cfg)
    clean = write_short_data(tmp_path / "clean.jsonl", 4)
    reports: list = []
    train, _ = load_splits(SFTConfig(model="default", train_data=[str(clean)], output_dir=str(tmp_path / "o"),
                                     device="cpu", eval_fraction=0.0), reports)
    assert len(train) == 4 and [r.count for r in reports] == [0]


@needs_bfcl
def test_train_sft_command_refuses_without_a_traceback(planted, tmp_path, capsys):
    save_tiny_checkpoint(tmp_path / "base")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "sft", "--set", f"model={tmp_path / 'base'}", "--set", f"train_data=[{planted}]",
              "--set", f"output_dir={tmp_path / 'out'}", "--set", "device=cpu", "--set", "max_steps=1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "never train on BFCL" in err and "line 4" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing trained, nothing written
