"""Property: whatever file the CLI's readers are given (random bytes, random JSON, rows of roughly the right shape
with random values, cut off anywhere), the command ends with exit code 0 or its clean error code and never with
a traceback. One property per reader: `eval ast` --dataset/--answers/--predictions, `eval judge pass-rate/
win-rate/recompute`, `train convert`, `catalog validate`, `catalog import-toolbench`."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolbench.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures"
COT = (FIXTURES / "stabletoolbench" / "data_example" / "model_predictions_converted" / "virtual_chatgpt_cot"
       / "G1_instruction.json")
TOOL = json.loads((FIXTURES / "toolbench_tools" / "Data" / "theclique.json").read_text())

ADD = {"name": "add", "parameters": {"properties": {"a": {"type": "integer"}}, "required": ["a"]}}
ENTRY = {"id": "simple_0", "question": [[{"role": "user", "content": "1"}]], "function": [ADD]}
ANSWER = {"id": "simple_0", "ground_truth": [{"add": {"a": [1]}}]}
PREDICTION = {"id": "simple_0", "result": [{"add": {"a": 1}}]}

# derandomized: CI sees the same examples every run (a new failure shows up in a fuzzing session, not as a flaky
# CI run); to explore, run with `--hypothesis-seed=N` after setting derandomize=False locally.
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
CLEAN_EXITS = {0, 1, 2}  # success, problems reported (catalog), ToolbenchError / usage error

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def like(template: dict) -> st.SearchStrategy:
    """Objects shaped like ``template``: each of its keys kept, dropped, or given a random value (recursively
    for nested objects and the first item of lists), plus random keys."""
    def field(value):
        if isinstance(value, dict):
            inner = like(value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            inner = st.lists(like(value[0]), max_size=3)
        else:
            inner = st.just(value)
        return st.one_of(inner, values)

    keys = {key: field(value) for key, value in template.items()}
    return st.fixed_dictionaries({}, optional=keys).flatmap(
        lambda d: st.dictionaries(st.text(max_size=6), values, max_size=2).map(lambda extra: {**extra, **d}))


@st.composite
def file_bytes(draw, row: st.SearchStrategy) -> bytes:
    """Random bytes, random JSON, or JSON lines / one JSON document of ``row``s, possibly cut or corrupted."""
    kind = draw(st.sampled_from(["bytes", "json", "lines", "document"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        data = json.dumps(draw(values)).encode()
    elif kind == "lines":
        data = "".join(json.dumps(r) + "\n" for r in draw(st.lists(row, max_size=3))).encode()
    else:
        data = json.dumps(draw(row | st.lists(row, max_size=3))).encode()
    damage = draw(st.sampled_from(["none", "none", "cut", "byte"]))
    if damage == "cut" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif damage == "byte":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\x00", b"\xff", b"\xe9", b"\n", b"\xef\xbb\xbf"])) + data[at:]
    return data


def run(argv: list) -> None:
    """Run the CLI in-process; an exception escaping ``main`` (a traceback) fails the property."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    text = out.getvalue() + err.getvalue()
    assert code in CLEAN_EXITS, text
    assert "Traceback" not in text, text


def write(folder: Path, name: str, data: bytes | str | list) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, list):
        data = "".join(json.dumps(r) + "\n" for r in data)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def ast_run(bad_option: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {"dataset": [ENTRY], "answers": [ANSWER], "predictions": [PREDICTION], bad_option: data}
        argv = ["eval", "ast", "--out", folder / "out" / "ast.jsonl"]
        for option, content in files.items():
            argv += [f"--{option}", write(folder, f"{option}.jsonl", content)]
        run(argv)


@FUZZ
@given(file_bytes(like(ENTRY)))
def test_eval_ast_dataset(data):
    ast_run("dataset", data)


@FUZZ
@given(file_bytes(like(ANSWER)))
def test_eval_ast_answers(data):
    ast_run("answers", data)


@FUZZ
@given(file_bytes(like(PREDICTION) | like({"id": "simple_0", "result": "[add(a=1)]"})))
def test_eval_ast_predictions(data):
    ast_run("predictions", data)


CONVERTED = json.loads(COT.read_text())
CONVERTED_ENTRY = next(iter(CONVERTED.values()))
ANSWER_FILE = {"answer_generation": {"valid_data": True, "query": "q", "final_answer": "",
                                     "function": [{"name": "f", "parameters": {}}],
                                     "train_messages": [[{"role": "user", "content": "q"},
                                                         {"role": "assistant", "content": None,
                                                          "function_call": {"name": "Finish",
                                                                            "arguments": "{}"}}]]},
               "trys": [{"chain": [{"node_type": "Action", "description": "f"}]}]}


@st.composite
def predictions_input(draw) -> tuple[str, bytes]:
    """A converted-predictions file or one answer file of a folder."""
    if draw(st.booleans()):
        return "file", draw(file_bytes(st.dictionaries(st.sampled_from(["1", "2"]), like(CONVERTED_ENTRY),
                                                       max_size=2)))
    return "folder", draw(file_bytes(like(ANSWER_FILE)))


def judge_path(folder: Path, kind: str, data: bytes) -> Path:
    if kind == "file":
        return write(folder, "model/G1_instruction.json", data)
    write(folder, "model/G1_instruction/1_DFS.json", data)
    return folder / "model" / "G1_instruction"


@FUZZ
@given(predictions_input())
def test_judge_pass_rate(given_input):
    with tempfile.TemporaryDirectory() as tmp:
        path = judge_path(Path(tmp), *given_input)
        run(["eval", "judge", "pass-rate", path, "--model", "j", "--out", Path(tmp) / "run", "--cache-mode", "replay"])


@FUZZ
@given(predictions_input())
def test_judge_win_rate(given_input):
    with tempfile.TemporaryDirectory() as tmp:
        path = judge_path(Path(tmp), *given_input)
        run(["eval", "judge", "win-rate", "--candidate", path, "--reference", COT, "--model", "j", "--out",
             Path(tmp) / "run", "--cache-mode", "replay"])


PASS_ENTRY = {"query": "q", "is_solved": {"0": "AnswerStatus.Solved", "1": "Unsolved"}}
PREFERENCE_ENTRY = {"ref": 1, "cand": 0, "round_0": 1}


@FUZZ
@given(st.sampled_from(["pass_rate_results/m/G1_m", "preference_results/G1_ref_cand"]),
       st.sampled_from([".json", ".csv"]),
       file_bytes(st.dictionaries(st.sampled_from(["1", "2"]), like(PASS_ENTRY) | like(PREFERENCE_ENTRY),
                                  min_size=1, max_size=2)),
       st.lists(st.lists(st.text(max_size=8) | st.sampled_from(["1", "2", "3", "Solved", "{0: 'Solved'}"]),
                         max_size=4), max_size=3))
def test_judge_recompute(name, suffix, data, table):
    if suffix == ".csv" and table:  # a tab-separated table, or the random bytes
        header = ["query_id", "is_solved"] if name.startswith("pass") else ["query_id", "preference_label"]
        data = "\n".join("\t".join(row) for row in [header, *table]).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), name + suffix, data)
        run(["eval", "judge", "recompute", path, "--out", Path(tmp) / "out"])


OPENAI_ROW = {"messages": [{"role": "user", "content": "hi"},
                           {"role": "assistant", "content": None,
                            "tool_calls": [{"id": "c", "type": "function",
                                            "function": {"name": "f", "arguments": "{}"}}]},
                           {"role": "tool", "tool_call_id": "c", "content": "ok"},
                           {"role": "assistant", "content": "done"}],
              "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}
SHAREGPT_ROW = {"conversations": [{"from": "human", "value": "hi"}, {"from": "function_call", "value": "{}"},
                                  {"from": "observation", "value": "ok"}, {"from": "gpt", "value": "done"}],
                "tools": "[]", "system": "s"}
TOOLLLAMA_ROW = {"id": "x", "conversations": [{"from": "system", "value": "s"}, {"from": "user", "value": "hi"},
                                              {"from": "assistant", "value": "\nThought: t\nAction: f\nAction Input: {}"}]}


@FUZZ
@given(st.sampled_from(["data.jsonl", "data.json"]), st.sampled_from(["auto", "openai", "sharegpt", "toolbench"]),
       file_bytes(like(OPENAI_ROW) | like(SHAREGPT_ROW) | like(TOOLLLAMA_ROW) | like(ANSWER_FILE)))
def test_train_convert(name, source_format, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), f"in/{name}", data)
        run(["train", "convert", path, Path(tmp) / "out.jsonl", "--from", source_format])


@FUZZ
@given(file_bytes(like(TOOL)))
def test_catalog_validate(data):
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp), "cat/Data/tool.json", data)
        run(["catalog", "validate", Path(tmp) / "cat"])


QUERY = {"query": "q", "query_id": 1, "api_list": [{"category_name": "Data", "tool_name": "T", "api_name": "a",
                                                     "api_description": "", "required_parameters": [],
                                                     "optional_parameters": [], "method": "GET"}],
         "relevant APIs": [["T", "a"]]}


@FUZZ
@given(file_bytes(like(TOOL) | like(QUERY)))
def test_catalog_import_toolbench(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), "src/Data/G1_query.json", data)
        run(["catalog", "import-toolbench", path, "--out", Path(tmp) / "cat"])
