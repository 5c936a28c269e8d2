"""eval.answers: StableToolBench's converted predictions and ToolBench answer files read into the same
predictions; fixtures are StableToolBench's files (tests/fixtures/stabletoolbench, see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import answers as A

STB = Path(__file__).parents[1] / "fixtures" / "stabletoolbench"
CONVERTED = STB / "data_example" / "model_predictions_converted"
ANSWERS = STB / "data_example" / "answer"
OLD_COT = STB / "toolbench" / "tooleval" / "results" / "default_evalset" / "gpt-3.5-turbo_CoT" / "G1_instruction.json"


@pytest.mark.parametrize("model", ["virtual_chatgpt_cot", "virtual_chatgpt_dfs"])
def test_answer_files_read_like_their_conversion(model):
    """Our reading of the raw answer files equals our reading of StableToolBench's conversion of them."""
    converted = A.read_predictions(CONVERTED / model / "G1_instruction.json")
    raw = A.read_predictions(ANSWERS / model / "G1_instruction")
    assert sorted(converted) == sorted(raw) == ["1073", "588", "608"]
    for query_id, prediction in converted.items():
        other = raw[query_id]
        assert (other.query, other.tools, other.steps, other.final_answer, other.finish_type, other.method) == (
            prediction.query, prediction.tools, prediction.steps, prediction.final_answer, prediction.finish_type,
            prediction.method)


def test_finish_types_and_steps():
    cot = A.read_predictions(CONVERTED / "virtual_chatgpt_cot" / "G1_instruction.json")
    assert {q: p.finish_type for q, p in cot.items()} == {"588": None, "608": "give_answer", "1073": "give_answer"}
    assert cot["588"].called == ["transfermarkt_search_for_theclique", "transfermarkt_details_for_theclique",
                                 "songkick_search_artist_for_theclique", "get_artist_overview_for_theclique",
                                 "songkick_artist_for_theclique", "list_artist_concerts_for_theclique"]
    assert cot["1073"].final_answer.startswith("For the search query 'birthday party ideas', some popular sites")
    assert cot["1073"].called[-1] == "Finish" and cot["1073"].hallucinated_calls() == []
    dfs = A.read_predictions(CONVERTED / "virtual_chatgpt_dfs" / "G1_instruction.json")
    assert [s.role for s in dfs["588"].steps] == ["tool"] * 4 + ["assistant", "tool"]


@pytest.mark.parametrize("model", ["virtual_chatgpt_cot", "virtual_chatgpt_dfs"])
def test_to_converted_round_trip(model):
    """Writing our predictions back gives StableToolBench's converted entries (their system/user node messages
    are empty in these files, ours carry the query)."""
    path = CONVERTED / model / "G1_instruction.json"
    original = json.loads(path.read_text())
    for query_id, prediction in A.read_predictions(path).items():
        ours = prediction.to_converted()
        ours["answer"]["answer_details"][0]["next"][0]["message"] = ""
        assert ours == original[query_id]


def test_older_format_with_truncated_steps():
    old = A.read_predictions(OLD_COT)
    assert len(old) == 100
    finishes = [p.finish_type for p in old.values()]
    assert (finishes.count("give_answer"), finishes.count(None), finishes.count("give_up")) == (64, 33, 3)
    first = old["42700"]
    assert first.steps[0] == A.Step("tool", name="vin_decode_for_vin_decoder_v4",
                                    arguments='{\n  "vin": "WBAWY32040L678750"\n}')
    assert first.final_answer.startswith("The decoded information for the VINs are as follows:")
    assert old["48685"].hallucinated_calls() == ["bing_web_search"] * 3


def test_tool_calls_form_and_errors(tmp_path):
    answer = {"answer_generation": {
        "valid_data": True, "query": "Weather in Paris?", "final_answer": "", "function": [{"name": "w_for_x"}],
        "train_messages": [[
            {"role": "system", "content": "s"}, {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w_for_x", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c2", "type": "function", "function": {
                "name": "Finish", "arguments": '{"return_type": "give_answer", "final_answer": "Sunny."}'}}]},
        ]]}}
    folder = tmp_path / "mymodel" / "G9_custom"
    folder.mkdir(parents=True)
    (folder / "12_DFS_woFilter_w2.json").write_text(json.dumps(answer))
    predictions = A.read_predictions(folder)
    assert predictions["12"].called == ["w_for_x", "Finish"] and predictions["12"].steps[0].response == "sunny"
    assert (predictions["12"].finish_type, predictions["12"].final_answer) == ("give_answer", "Sunny.")
    assert (A.group_of(folder), A.model_of(folder)) == ("G9_custom", "mymodel")
    (folder / "12_CoT@1.json").write_text(json.dumps(answer))
    with pytest.raises(A.AnswerFileError, match="more than one file"):
        A.read_predictions(folder)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"5": {"query": "q"}}))
    with pytest.raises(A.AnswerFileError, match="query 5: missing field 'answer'"):
        A.read_predictions(bad)
    with pytest.raises(A.AnswerFileError, match="no such file"):
        A.read_predictions(tmp_path / "nowhere.json")
