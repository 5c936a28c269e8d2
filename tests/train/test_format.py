"""Chat examples: ToolBench answers convert; each format's writer and reader give back the example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_tiny import WEATHER_TOOL, call_example

from train.errors import FormatError
from train.format import (
    TOOLLLAMA_HINT,
    ChatExample,
    from_openai,
    from_sharegpt,
    from_toolbench_answer,
    from_toolllama,
    make_example,
    read_examples,
    to_openai,
    to_sharegpt,
    to_toolllama,
    write_examples,
)

ANSWERS = Path(__file__).resolve().parents[2] / "data" / "reference" / "toolbench" / "answer"


def _answer(name: str) -> dict:
    return json.loads((ANSWERS / name).read_text())


def _parallel() -> ChatExample:
    return make_example([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {"role": "assistant", "content": "Two calls.", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "b", "content": "3 C"},
        {"role": "tool", "tool_call_id": "a", "content": "9 C"},
        {"role": "assistant", "content": "Paris 9 C, Oslo 3 C."},
    ], [WEATHER_TOOL], id="p1")


def test_toolbench_answer_gives_the_successful_path():
    data = _answer("G1_answer/10_ChatGPT_DFS_woFilter_w2.json")
    [ex] = from_toolbench_answer(data, id="10")
    assert [m["role"] for m in ex.messages] == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    calls = [m["tool_calls"][0]["function"]["name"] for m in ex.messages if m["role"] == "assistant"]
    assert calls == ["transitaires_for_transitaires", "transitaire_for_transitaires", "Finish"]
    # tool results answer the call before them, by id and name
    assert ex.messages[3]["tool_call_id"] == ex.messages[2]["tool_calls"][0]["id"]
    assert ex.messages[3]["name"] == "transitaires_for_transitaires"
    assert [t["function"]["name"] for t in ex.tools][-1] == "Finish"
    assert ex.meta["finish_type"] == "give_answer"


def test_toolbench_thought_and_call_are_one_turn():
    # 57: a text reply followed by the Finish call -> one assistant turn with both
    [ex] = from_toolbench_answer(_answer("G1_answer/57_ChatGPT_DFS_woFilter_w2.json"))
    last = ex.messages[-1]
    assert last["content"].startswith("I apologize")
    assert last["tool_calls"][0]["function"]["name"] == "Finish"


def test_toolbench_steps_reproduce_toolbench_preprocessing():
    data = _answer("G1_answer/57_ChatGPT_DFS_woFilter_w2.json")
    steps = from_toolbench_answer(data, steps=True)
    # train_messages has 5 entries; the one ending in a plain text reply is dropped, as ToolBench does
    assert len(steps) == 4
    for ex in steps:
        in_loss = [m for m in ex.messages if m["role"] == "assistant" and m.get("weight", 1)]
        assert in_loss == [ex.messages[-1]]


def test_invalid_and_give_up_answers():
    assert from_toolbench_answer(_answer("G1_answer/69_ChatGPT_DFS_woFilter_w2.json")) == []  # valid_data false
    give_up = _answer("G2_answer/127_ChatGPT_DFS_woFilter_w2.json")
    assert len(from_toolbench_answer(give_up)) == 1
    assert from_toolbench_answer(give_up, only_give_answer=True) == []


def test_all_reference_answers_convert():
    examples = read_examples(ANSWERS)
    assert len(examples) == 13  # 15 files, 2 invalid
    assert len(read_examples(ANSWERS, steps=True)) == 50


def test_openai_round_trip():
    ex = from_openai(call_example(3))
    line = to_openai(ex)
    assert "name" not in line["messages"][2]  # OpenAI's tool messages carry only tool_call_id
    assert from_openai(json.loads(json.dumps(line))) == ex
    assert to_openai(_parallel()) == to_openai(from_openai(to_openai(_parallel())))


def test_openai_legacy_function_call():
    ex = from_openai({"functions": [WEATHER_TOOL["function"]], "messages": [
        {"role": "user", "content": "Rome?"},
        {"role": "assistant", "content": None, "function_call": {"name": "get_weather", "arguments": {"city": "Rome"}}},
        {"role": "function", "name": "get_weather", "content": "20 C"},
        {"role": "assistant", "content": "20 C."}]})
    assert ex.messages[1]["tool_calls"] == [{"id": "call_1_0", "type": "function",
                                             "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]
    assert ex.messages[2] == {"role": "tool", "content": "20 C", "tool_call_id": "call_1_0", "name": "get_weather"}
    assert ex.tools == [WEATHER_TOOL]


@pytest.mark.parametrize("make", [lambda: from_openai(call_example(1)), _parallel])
def test_sharegpt_round_trip(make):
    ex = make()
    row = to_sharegpt(ex)
    back = from_sharegpt(json.loads(json.dumps(row)))
    # ShareGPT has no call ids: reading gives call_<message>_<call> ids
    assert back.messages == _renumbered(ex).messages
    assert back.tools == ex.tools


def test_sharegpt_shape():
    row = to_sharegpt(_parallel())
    assert row["system"] == "Be brief."
    assert json.loads(row["tools"]) == [WEATHER_TOOL["function"]]
    assert [t["from"] for t in row["conversations"]] == ["human", "function_call", "observation", "gpt"]
    assert json.loads(row["conversations"][1]["value"]) == [
        {"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]
    assert row["conversations"][1]["thought"] == "Two calls."
    # results in the order of the calls (the example answered Oslo's call first)
    assert json.loads(row["conversations"][2]["value"]) == ["9 C", "3 C"]


def test_toolllama_round_trip_of_reference_answers():
    for ex in read_examples(ANSWERS):
        row = to_toolllama(ex)
        assert row["conversations"][0]["from"] == "system"
        assert TOOLLLAMA_HINT in row["conversations"][0]["value"]
        back = from_toolllama(json.loads(json.dumps(row)))
        assert back.messages == ex.messages
        assert back.tools == ex.tools


def test_toolllama_assistant_turn_shape():
    row = to_toolllama(from_openai(call_example(0)))
    assert row["conversations"][2] == {"from": "assistant", "value": '\nThought: \nAction: get_weather\nAction '
                                                                      'Input: {"city": "Paris"}'}
    with pytest.raises(FormatError, match="one call per assistant turn"):
        to_toolllama(_parallel())


@pytest.mark.parametrize("fmt", ["openai", "chat", "sharegpt", "toolllama"])
def test_files_round_trip(tmp_path, fmt):
    examples = [from_openai(call_example(i)) for i in range(3)]
    path = write_examples(tmp_path / f"data.{'jsonl' if fmt in ('openai', 'chat') else 'json'}", examples, fmt)
    back = read_examples(path)  # the format is told from the rows
    assert [b.messages[-1]["content"] for b in back] == [e.messages[-1]["content"] for e in examples]
    if fmt == "toolllama":  # ToolLLaMA rows train only their last turn, as ToolBench does
        assert back[0].messages[1]["weight"] == 0
    elif fmt == "sharegpt":
        assert [b.messages for b in back] == [_renumbered(e).messages for e in examples]
    else:
        assert [b.messages for b in back] == [e.messages for e in examples]


@pytest.mark.parametrize("messages, match", [
    ([{"role": "user", "content": "x"}], "no assistant message"),
    ([{"role": "assistant", "content": "x"}], "no user message"),
    ([{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}], "unknown role"),
    ([{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}], "answers no open call"),
    ([{"role": "user", "content": "x"}, {"role": "assistant", "content": None}], "needs content or tool_calls"),
    ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0}], "in the loss"),
])
def test_bad_examples_are_named(messages, match):
    with pytest.raises(FormatError, match=match):
        make_example(messages, where="data.jsonl:7")


def test_bad_file_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(call_example(0)) + "\n{not json\n")
    with pytest.raises(FormatError, match=r"bad.jsonl:2"):
        read_examples(path)


def _renumbered(ex: ChatExample) -> ChatExample:
    """``ex`` with the ids a reader gives calls in a format without ids."""
    out = from_openai(json.loads(json.dumps(to_openai(ex))))
    ids = {}
    for mi, m in enumerate(out.messages):
        for ci, call in enumerate(m.get("tool_calls") or []):
            ids[call["id"]] = f"call_{mi}_{ci}"
            call["id"] = ids[call["id"]]
    for m in out.messages:
        if m["role"] == "tool":
            m["tool_call_id"] = ids[m["tool_call_id"]]
    # a run of results comes back in the order of the calls it answers
    msgs, i = out.messages, 0
    while i < len(msgs):
        j = i
        while j < len(msgs) and msgs[j]["role"] == "tool":
            j += 1
        msgs[i:j] = sorted(msgs[i:j], key=lambda m: m["tool_call_id"])
        i = j + 1
    return out
