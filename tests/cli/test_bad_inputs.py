"""Bad input files fed to the CLI's readers (issue 17): each gives a message naming the file (and line) and a
non-zero exit, never a traceback. `eval ast` --dataset/--answers/--predictions, `eval judge pass-rate/win-rate/
recompute`, `train convert`, `catalog validate`, `catalog import-toolbench`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolbench.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures"
STB = FIXTURES / "stabletoolbench" / "data_example"
COT = STB / "model_predictions_converted" / "virtual_chatgpt_cot" / "G1_instruction.json"
TOOL = FIXTURES / "toolbench_tools" / "Data" / "theclique.json"

ADD = {"name": "add", "parameters": {"properties": {"a": {"type": "integer"}}, "required": ["a"]}}
ENTRY = {"id": "simple_0", "question": [[{"role": "user", "content": "1"}]], "function": [ADD]}
ANSWER = {"id": "simple_0", "ground_truth": [{"add": {"a": [1]}}]}
PREDICTION = {"id": "simple_0", "result": [{"add": {"a": 1}}]}

BINARY = b"\x1f\x8b\x08\x00\x00\x00binary\xff\xfe"  # a gzip header: NUL bytes on line 1
LATIN1 = '{"id": "caf\xe9"}\n'.encode("latin-1")  # a byte 0xe9 that is not UTF-8


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """The real entry point; an exception other than SystemExit escapes and fails the test (a traceback)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def write(path: Path, content: bytes | str | list | dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, list) and path.suffix == ".jsonl":
        content = "".join(json.dumps(row) + "\n" for row in content)
    elif not isinstance(content, (bytes, str)):
        content = json.dumps(content)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def ast_files(tmp_path: Path, **replace) -> dict[str, Path]:
    files = {"dataset": [ENTRY], "answers": [ANSWER], "predictions": [PREDICTION]}
    files.update(replace)
    return {name: content if isinstance(content, Path) else write(tmp_path / f"{name}.jsonl", content)
            for name, content in files.items()}


def eval_ast(tmp_path: Path, capsys, **replace) -> tuple[int, str, str]:
    files = ast_files(tmp_path, **replace)
    argv = ["eval", "ast", "--out", tmp_path / "out" / "ast.jsonl"]
    for name, path in files.items():
        argv += [f"--{name}", path]
    return run(argv, capsys)


# -- eval ast ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["dataset", "answers", "predictions"])
@pytest.mark.parametrize("content,message", [(BINARY, "line 1: binary data"),
                                             (LATIN1, "line 1: not UTF-8 text")])
def test_eval_ast_binary_and_non_utf8_files(tmp_path, capsys, option, content, message):
    bad = write(tmp_path / "bad" / f"{option}.jsonl", content)
    code, _, err = eval_ast(tmp_path, capsys, **{option: bad})
    assert code == 2 and f"{bad}, {message}" in err


def test_eval_ast_id_that_is_a_list(tmp_path, capsys):
    code, _, err = eval_ast(tmp_path, capsys, predictions=[PREDICTION, {"id": ["simple_0"], "result": []}])
    assert code == 2 and "predictions.jsonl, line 2: 'id' must be a string, got array" in err
    code, _, err = eval_ast(tmp_path, capsys, dataset=[{**ENTRY, "id": [1]}])
    assert code == 2 and "dataset.jsonl, line 1: 'id' must be a string, got array" in err


def test_eval_ast_malformed_rows(tmp_path, capsys):
    code, out, err = eval_ast(tmp_path, capsys, dataset=[{"id": 5}])  # was scored as "category 5"
    assert code == 2 and "dataset.jsonl, line 1: no 'function'" in err and "category" not in out
    code, _, err = eval_ast(tmp_path, capsys, dataset=[ENTRY, {**ENTRY, "id": "simple_1", "function": [{"x": 1}]}])
    assert code == 2 and "dataset.jsonl, line 2: function[0]: 'name' must be a non-empty string" in err
    code, _, err = eval_ast(tmp_path, capsys, dataset=[{**ENTRY, "function": [{**ADD, "parameters": [1]}]}])
    assert code == 2 and "'parameters' must be an object, got array" in err
    code, _, err = eval_ast(tmp_path, capsys, dataset=[ENTRY, ENTRY])
    assert code == 2 and "line 2: entry id 'simple_0' appears twice" in err
    code, _, err = eval_ast(tmp_path, capsys, answers=[{"id": "simple_0", "ground_truth": {"add": {}}}])
    assert code == 2 and "answers.jsonl, line 1: 'ground_truth' must be a list of calls, got object" in err
    code, _, err = eval_ast(tmp_path, capsys, answers=[{"id": "simple_0", "ground_truth": [{"add": {"a": 1}}]}])
    assert code == 2 and "the accepted values of 'a' must be a list, got number" in err
    code, _, err = eval_ast(tmp_path, capsys, predictions=[PREDICTION, [1, 2]])
    assert code == 2 and "predictions.jsonl, line 2: a prediction must be a JSON object" in err
    code, _, err = eval_ast(tmp_path, capsys, predictions='{"id": "simple_0", "result": [}\n')
    assert code == 2 and "predictions.jsonl, line 1: invalid JSON" in err


def test_eval_ast_empty_dataset_and_answers(tmp_path, capsys):
    code, out, err = eval_ast(tmp_path, capsys, dataset="")  # was "0 / 0", exit 0
    assert code == 2 and "dataset.jsonl: the dataset holds no entries" in err and "0 / 0" not in out
    code, _, err = eval_ast(tmp_path, capsys, dataset="\n\n")
    assert code == 2 and "holds no entries" in err
    code, _, err = eval_ast(tmp_path, capsys, answers="")
    assert code == 2 and "answers.jsonl: the file holds no answers" in err


def test_eval_ast_a_folder_for_a_file(tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    for option in ("dataset", "answers", "predictions"):
        code, _, err = eval_ast(tmp_path, capsys, **{option: folder})
        assert code == 2 and f"{folder}: is a folder; expected a file" in err


def test_eval_ast_still_scores_good_files(tmp_path, capsys):
    code, out, _ = eval_ast(tmp_path, capsys, dataset=[{**ENTRY, "id": 7}], answers=[{**ANSWER, "id": 7}],
                            predictions=[{**PREDICTION, "id": "7"}])  # integer ids are read as text
    assert code == 0 and "1 / 1" in out


# -- eval judge --------------------------------------------------------------------------------------------------------


def judge_argv(command: str, tmp_path: Path, *paths) -> list:
    out = ["--model", "judge-x", "--out", tmp_path / "run", "--cache-mode", "replay"]
    if command == "pass-rate":
        return ["eval", "judge", "pass-rate", *paths, *out]
    return ["eval", "judge", "win-rate", "--candidate", paths[0], "--reference", COT, *out]


@pytest.mark.parametrize("command", ["pass-rate", "win-rate"])
@pytest.mark.parametrize("content,message", [(BINARY, "line 1: binary data"), (LATIN1, "line 1: not UTF-8 text"),
                                             ("", "the file is empty"), ("{}", "holds no predictions"),
                                             ("[1, 2]", "one JSON object"), ('{"1": {"query": "q', "invalid JSON")])
def test_judge_bad_prediction_files(tmp_path, capsys, command, content, message):
    bad = write(tmp_path / "m" / "G1_instruction.json", content)
    code, _, err = run(judge_argv(command, tmp_path, bad), capsys)
    assert code == 2 and str(bad) in err and message in err


def test_judge_bad_answer_file_in_a_folder(tmp_path, capsys):
    folder = tmp_path / "answers" / "G1_instruction"
    write(folder / "1_DFS.json", BINARY)
    code, _, err = run(judge_argv("pass-rate", tmp_path, folder), capsys)
    assert code == 2 and f"{folder / '1_DFS.json'}, line 1: binary data" in err
    write(folder / "1_DFS.json", {"answer_generation": {"query": "q", "valid_data": True, "train_messages": 5}})
    code, _, err = run(judge_argv("pass-rate", tmp_path, folder), capsys)
    assert code == 2 and "train_messages: must be a list" in err
    write(folder / "1_DFS.json", {"answer_generation": {"query": "q"}, "trys": [{"chain": [1]}]})
    code, _, err = run(judge_argv("pass-rate", tmp_path, folder), capsys)
    assert code == 2 and "trys[-1].chain: must be a list of objects" in err


def test_judge_converted_prediction_of_the_wrong_shape(tmp_path, capsys):
    for entry, message in [({"query": "q", "answer": {"answer_details": 5}}, "answer_details: must be a list"),
                           ({"query": "q", "answer": {}, "available_tools": 3}, "available_tools: must be a list"),
                           ({"query": "q", "answer": {"answer_details": [{"role": "tool", "next": 1}]}},
                            "next: must be a list")]:
        bad = write(tmp_path / "m" / "G1_instruction.json", {"1": entry})
        code, _, err = run(judge_argv("pass-rate", tmp_path, bad), capsys)
        assert code == 2 and message in err, err


@pytest.mark.parametrize("name,content,message", [
    ("pass_rate_results/m/G1_instruction_m.json", BINARY, "line 1: binary data"),
    ("pass_rate_results/m/G1_instruction_m.json", LATIN1, "line 1: not UTF-8 text"),
    ("pass_rate_results/m/G1_instruction_m.csv", b"query_id\tis_solved\n1\t" + BINARY, "line 2: binary data"),
    ("pass_rate_results/m/G1_instruction_m.csv", b"query_id\tis_solved\n1\tcaf\xe9\n", "line 2: not UTF-8 text"),
    ("pass_rate_results/m/G1_instruction_m.json", "", "the file is empty"),
    ("pass_rate_results/m/G1_instruction_m.json", '{"1": {"is_solved": "{[1]: 2}"}}', "not a readable dict"),
    ("pass_rate_results/m/G1_instruction_m.csv", "query_id\tis_solved\n1\n", "fewer columns"),
    ("preference_results/G1_a_b.json", '{"1": {"a": "x", "b": [1], "round_0": 1}}', "must be whole numbers"),
    ("preference_results/G1_a_b.csv", "query_id\tpreference_label\n1\n", "preference_label must be 1, 2 or 3"),
    ("preference_results/G1_a_b.json", '{"1": {"../a": 1, "b": 0, "round_0": 1}}', "cannot name an output folder"),
])
def test_recompute_bad_files(tmp_path, capsys, name, content, message):
    bad = write(tmp_path / name, content)
    code, _, err = run(["eval", "judge", "recompute", bad, "--out", tmp_path / "out"], capsys)
    assert code == 2 and str(bad) in err and message in err, err


# -- train convert -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,content,message", [
    ("data.jsonl", BINARY, "data.jsonl:1: binary data"),
    ("data.jsonl", b'{"messages": []}\n' + LATIN1, "data.jsonl:2: not UTF-8 text"),
    ("data.json", BINARY, "data.json:1: binary data"),
    ("data.json", LATIN1, "data.json:1: not UTF-8 text"),
    ("data.jsonl", "", "data.jsonl: the file is empty"),
    ("data.json", "[]", "data.json: an empty list"),
    ("data.json", '[{"messages": [{"role": "user", "content": "x"', "data.json:1: invalid JSON"),
])
def test_train_convert_bad_files(tmp_path, capsys, name, content, message):
    bad = write(tmp_path / "in" / name, content)
    code, _, err = run(["train", "convert", bad, tmp_path / "out.jsonl"], capsys)
    assert code == 2 and message in err, err


def test_train_convert_empty_folder_and_no_examples(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(["train", "convert", empty, tmp_path / "out.jsonl"], capsys)  # was "0 examples", exit 0
    assert code == 2 and "the folder holds no .json or .jsonl files" in err and "0 examples" not in out
    invalid_tree = write(tmp_path / "answers" / "1_DFS.json", {"answer_generation": {"valid_data": False}})
    code, _, err = run(["train", "convert", invalid_tree.parent, tmp_path / "out.jsonl"], capsys)
    assert code == 2 and "no training examples found" in err


# -- catalog validate / import-toolbench -----------------------------------------------------------------------------


def test_validate_lists_every_problem_of_a_file(tmp_path, capsys):
    good = json.loads(TOOL.read_text())
    bad = dict(good, tool_name=5, tool_description=["x"])
    bad["api_list"] = [dict(good["api_list"][0], name=3), "oops",
                       dict(good["api_list"][0], name="b", required_parameters=[{"name": "q", "type": 7}, 4]),
                       dict(good["api_list"][0], name="c", optional_parameters={"a": 1})]
    write(tmp_path / "Data" / "bad.json", bad)
    write(tmp_path / "Data" / "typed.json", dict(good, tool_name=5))  # loads (5 read as "5") but is wrong
    code, out, err = run(["catalog", "validate", tmp_path], capsys)
    assert code == 1
    for where in ["bad.json: tool_name: must be a string, got number",
                  "bad.json: tool_description: must be a string, got array",
                  "bad.json: api_list[0].name: must be a string",
                  "bad.json: api_list[1]: must be an object, got string",
                  "bad.json: api_list[2].required_parameters[0].type: must be a string",
                  "bad.json: api_list[2].required_parameters[1]: must be an object",
                  "bad.json: api_list[3].optional_parameters: must be a list of parameter objects",
                  "typed.json: tool_name: must be a string, got number (5)"]:
        assert where in err, where
    assert "1 tool(s) loaded; 8 error(s)" in out


def test_validate_lists_every_file_and_folder(tmp_path, capsys):
    write(tmp_path / "Data" / "binary.json", BINARY)
    write(tmp_path / "Data" / "latin.json", LATIN1)
    write(tmp_path / "Data" / "empty.json", "")
    write(tmp_path / "Data" / "list.json", "[1]")
    (tmp_path / "Empty").mkdir()
    code, out, err = run(["catalog", "validate", tmp_path], capsys)
    assert code == 1
    assert "binary.json: line 1: binary data" in err and "latin.json: line 1: not UTF-8 text" in err
    assert "empty.json: the file is empty" in err and "list.json: a tool file must be a JSON object" in err
    assert "Empty: no tool files (*.json) in this category folder" in err
    assert "0 tool(s) loaded; 4 error(s), 1 warning(s)" in out


def test_validate_empty_catalog_folder(tmp_path, capsys):
    code, out, err = run(["catalog", "validate", tmp_path], capsys)  # was exit 0
    assert code == 1 and f"{tmp_path}: no tool files" in err and "1 error(s)" in out


@pytest.mark.parametrize("content", ["[]", "{}", '{"a": 1}', "[1, 2]", '"text"'])
def test_import_a_file_of_the_wrong_shape(tmp_path, capsys, content):
    bad = write(tmp_path / "wrong.json", content)
    code, _, err = run(["catalog", "import-toolbench", bad, "--out", tmp_path / "cat"], capsys)  # was exit 0
    assert code == 1 and f"{bad}: neither a ToolBench tool file" in err


def test_import_a_folder_with_nothing_to_import(tmp_path, capsys):
    write(tmp_path / "src" / "notes.json", {"a": 1})
    code, _, err = run(["catalog", "import-toolbench", tmp_path / "src", "--out", tmp_path / "cat"], capsys)
    assert code == 1 and "nothing to import" in err
    write(tmp_path / "src" / "bin.json", BINARY)
    code, _, err = run(["catalog", "import-toolbench", tmp_path / "src", "--out", tmp_path / "cat"], capsys)
    assert code == 1 and "bin.json: line 1: binary data" in err


def test_import_never_writes_outside_the_catalog(tmp_path, capsys):
    tool = dict(json.loads(TOOL.read_text()), standardized_name="../../escaped")
    code, _, _ = run(["catalog", "import-toolbench", write(tmp_path / "src" / "t.json", tool), "--out",
                      tmp_path / "cat"], capsys)
    written = list(tmp_path.rglob("escaped.json"))
    assert code == 0 and written and all(tmp_path / "cat" in path.parents for path in written)
