"""ToolBench's answer files: the one reader and the one writer (the stages' conversions are tested in annotate,
eval and train)."""

import json
from pathlib import Path

import pytest

from toolbench.formats import answers as F
from toolbench.formats.jsonl import DataFileError

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"
FILES = sorted(REFERENCE.glob("toolbench/answer/*/*.json")) + sorted(REFERENCE.glob("stabletoolbench/answer/*/*/*.json"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_reference_files_read_and_write_back_unchanged(path, tmp_path):
    recorded = json.loads(path.read_text())
    answer = F.read_answer_file(path)
    assert answer.layout == (F.DFS if "tree" in recorded else F.COT)
    assert answer.generation.valid_data == bool(recorded["answer_generation"]["valid_data"])
    assert answer.to_dict() == recorded
    written = F.write_answer_file(tmp_path / path.name, answer)
    assert json.loads(written.read_text()) == recorded and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_the_typed_record():
    data = {"win": True, "trys": [{"chain": [{"node_type": F.THOUGHT, "description": "hm"}], "win": True}],
            "forward_args": {"pass_at": 1}, "answer_generation": {
                "valid_data": True, "query": "q", "final_answer": "{}", "function": [{"name": "Finish"}],
                "train_messages": [[{"role": "user", "content": "q"}], [{"role": "user", "content": "q"},
                                                                        {"role": "assistant", "content": "a"}]],
                "odd": 1}}
    answer = F.parse_answer(data)
    generation = answer.generation
    assert (answer.layout, answer.root, answer.extra, generation.finish_type) == (F.COT, None, {"win": True}, None)
    assert generation.chosen_path == data["answer_generation"]["train_messages"][-1]
    assert generation.extra == {"odd": 1}
    out = answer.to_dict()
    assert list(out) == ["win", "try_count", "trys", "compare_candidates", "forward_args", "answer_generation"]
    assert out["try_count"] == 1 and out["answer_generation"]["odd"] == 1


def test_an_answer_file_needs_answer_generation(tmp_path):
    for bad in ({"tree": {}}, [], {"answer_generation": "x"}):
        with pytest.raises(F.AnswerFormatError, match=r"^f\.json: missing field 'answer_generation'$"):
            F.parse_answer(bad, "f.json")
    (tmp_path / "1_CoT@1.json").write_text('{"answer_generation": {')
    with pytest.raises(DataFileError, match="invalid JSON"):
        F.read_answer_file(tmp_path / "1_CoT@1.json")
    assert F.query_id_of(tmp_path / "10_DFS_woFilter_w2.json") == "10"


def test_nodes():
    a, b, c = ({"node_type": F.ACTION, "description": n} for n in "abc")
    root = {"children": [{**a, "children": [b]}, c]}
    assert [n["description"] for n in F.preorder(root)] == ["a", "b", "c"]
    with pytest.raises(F.AnswerFormatError, match=r"^t: children: must be a list of objects$"):
        F.preorder({"children": [{"children": 3}]}, "t")
    nested = F.nest([a, b])
    assert nested["children"][0]["description"] == "b" and nested["children"][0]["children"] == [] and "children" not in a
    assert F.nest([]) is None
    assert F.node(F.THOUGHT, "x", 2)["Elo"] == 1000.0
