"""ToolBench answer files: the reference trees import and export unchanged; our searches export and import back."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from annotate import tree as T
from annotate.export import (
    _MODELED,
    Annotation,
    AnswerFormatError,
    answer_filename,
    chat_example,
    from_answer,
    read_answer,
    to_answer,
    train_messages,
    write_answer,
)
from annotate.strategies import SearchConfig
from tests.annotate.helpers import F_FORECAST, F_WEATHER, QUERY, answer, call, functions, give_up, search
from toolbench.llm.scripted import ScriptedChatModel

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"
FILES = sorted(REFERENCE.glob("toolbench/answer/*/*.json")) + sorted(REFERENCE.glob("stabletoolbench/answer/*/*/*.json"))


def _project(node: dict, keys) -> dict:
    out = {k: node[k] for k in keys if k in node and k != "children"}
    out["children"] = [_project(c, keys) for c in node.get("children", [])]
    return out


def test_there_are_reference_files():
    assert len(FILES) == 21


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_reference_answers_round_trip(path):
    recorded = json.loads(path.read_text())
    annotation = read_answer(path)
    # Exported again, the file is unchanged (node attributes we do not model are carried in `extra`).
    assert to_answer(annotation) == recorded
    generation = recorded["answer_generation"]
    tree = annotation.tree
    # The chosen path is found, and its training messages are rebuilt from the tree (diversity prompts included).
    if generation["valid_data"] and "train_messages" in generation:
        assert tree.chosen is not None and "_train_messages" not in annotation.extra
        assert train_messages(tree, tree.chosen) == generation["train_messages"]
        assert tree.finish_type == generation.get("finish_type", T.GIVE_ANSWER)
    else:
        assert tree.chosen is None
    # What we model (node types, texts, depths, pruning, observations, shape) comes out of the tree itself.
    bare = replace(annotation, tree=replace(tree, nodes={k: replace(n, extra={}) for k, n in tree.nodes.items()}))
    exported = to_answer(bare)
    if "tree" in recorded:
        assert _project(exported["tree"]["tree"], _MODELED) == _project(recorded["tree"]["tree"], _MODELED)
        assert exported["tree"]["size"] == recorded["tree"]["size"]
        assert exported["tree"]["max_length"] == recorded["tree"]["max_length"]
    else:
        assert [[_project(n, _MODELED) for n in t["chain"]] for t in exported["trys"]] == \
            [[_project(n, _MODELED) for n in t["chain"]] for t in recorded["trys"]]
    assert (tree.llm_calls, tree.total_tokens) == (generation["query_count"], generation["total_tokens"])


@pytest.mark.parametrize("path", [p for p in FILES if "DFS" in p.name], ids=lambda p: p.name)
def test_toolbench_step_unit_is_the_depth_toolbench_records(path):
    # step_unit="toolbench" counts chains as ToolBench's single_chain_max_step does: our chain length equals the
    # depth of the recorded tree, and every node that reached the limit was cut there (a leaf, pruned or final).
    recorded = json.loads(path.read_text())
    annotation = read_answer(path)
    tree, limit = annotation.tree, recorded["forward_args"]["single_chain_max_step"]
    assert annotation.search.step_unit == T.STEP_TOOLBENCH and annotation.search.max_steps == limit
    lengths = {n: T.chain_length(tree, n, T.STEP_TOOLBENCH) for n in tree.nodes}
    assert max(lengths.values()) + 1 == recorded["tree"]["max_length"]
    at_limit = [tree.nodes[n] for n, length in lengths.items() if length >= limit]
    assert all(not n.children and (n.pruned or n.terminal) for n in at_limit)


def test_a_give_up_tree_keeps_the_recorded_give_up_path():
    path = REFERENCE / "toolbench/answer/G2_answer/127_ChatGPT_DFS_woFilter_w2.json"
    tree = read_answer(path).tree
    assert (tree.status, tree.finish_type, T.path(tree, tree.chosen)) == (T.EXHAUSTED, T.GIVE_UP, [1, 4, 5])
    assert tree.nodes[4].prompt.startswith("This is not the first time you try this task")


def _annotation(tree, config=SearchConfig()):
    return Annotation(query=QUERY.text, tree=tree, functions=functions().schemas(finish=True), search=config,
                      query_id=QUERY.id)


def test_our_search_exports_and_imports_back(tmp_path):
    model = ScriptedChatModel([call(F_FORECAST, {"city": "Paris"}, "Forecast first."), give_up(),
                               call(F_WEATHER, {"city": "Paris"}), answer("Sunny, 21 C.")])
    tree, _ = search(model)
    annotation = _annotation(tree)
    path = write_answer(annotation, tmp_path / answer_filename(QUERY.id, annotation.search))
    assert path.name == "7_DFS_woFilter_w2.json"
    data = json.loads(path.read_text())
    generation = data["answer_generation"]
    assert (generation["valid_data"], generation["finish_type"], generation["query_count"]) == (True, "give_answer", 4)
    assert json.loads(generation["final_answer"]) == {"return_type": "give_answer", "final_answer": "Sunny, 21 C."}
    assert data["forward_args"] == {"single_chain_max_step": 12, "tree_beam_size": 2, "max_query_count": 200,
                                    "answer": 1, "with_filter": False}
    last = generation["train_messages"][-1]
    assert [m["role"] for m in last] == ["system", "user", "user", "assistant", "function", "assistant"]
    assert last[2]["valid"] is False and last[3]["function_call"]["name"] == F_WEATHER
    root = data["tree"]["tree"]
    assert [c["node_type"] for c in root["children"]] == ["Thought", "Action"]
    again = read_answer(path)
    assert to_answer(again) == data
    assert [(n.content, n.calls, n.prompt, n.finish) for n in again.tree.nodes.values()] == \
        [(n.content, tuple(replace(c, id=a.id) for c, a in zip(n.calls, m.calls)), n.prompt, n.finish)
         for n, m in zip(tree.nodes.values(), again.tree.nodes.values())]


def test_react_at_n_exports_tries():
    model = ScriptedChatModel([give_up(), call(F_WEATHER, {"city": "Paris"}), answer()])
    config = SearchConfig(strategy="react@2")
    tree, _ = search(model, config=config)
    data = to_answer(_annotation(tree, config))
    assert answer_filename("7", config) == "7_CoT@2.json"
    assert (data["try_count"], [len(t["chain"]) for t in data["trys"]]) == (2, [2, 4])
    assert data["forward_args"] == {"single_chain_max_step": 12, "pass_at": 2, "answer": 1}
    assert len(data["compare_candidates"]) == 1 and "finish_type" not in data["answer_generation"]
    assert to_answer(from_answer(data)) == data


def test_training_conversation_from_a_successful_path():
    tree, runner = search(ScriptedChatModel([call(F_WEATHER, {"city": "Paris"}), answer()]))
    example = chat_example(_annotation(tree))
    assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert example["messages"][-1]["tool_calls"][0]["function"]["name"] == "Finish"
    assert [t["function"]["name"] for t in example["tools"]] == [F_WEATHER, F_FORECAST, "Finish"]
    gave_up, _ = search(ScriptedChatModel([give_up()]))
    assert chat_example(_annotation(gave_up)) is None


def test_a_file_without_answer_generation_is_refused():
    with pytest.raises(AnswerFormatError, match="missing field 'answer_generation'"):
        from_answer({"tree": {}})
