"""eval.tiers and eval.schema_cost: accuracy per tier, hallucination "real k/n, fake k/n", schema token cost;
end to end through `toolbench eval ast`, `eval report`, `eval schema-cost` and the leaderboard."""

from __future__ import annotations

import json

import pytest

from eval import leaderboard, schema_cost, tiers
from tests.capture import run_cli as run

WEATHER = {"name": "get_weather", "description": "Weather of a city.",
           "parameters": {"type": "dict", "properties": {
               "city": {"type": "string", "description": "City name."},
               "description": {"type": "string", "description": "A parameter named description."},
               "when": {"type": "dict", "description": "Time window.", "properties": {
                   "day": {"type": "string", "description": "ISO day.", "enum": ["today", "tomorrow"]}}}},
               "required": ["city"]}}
ENTRIES = [
    {"id": "t_0", "tier": "enterprise", "entity": "real", "function": [WEATHER],
     "question": [[{"role": "user", "content": "Weather in Paris tomorrow?"}]]},
    {"id": "t_1", "tier": "simple", "entity": "real", "function": [WEATHER],
     "question": [[{"role": "user", "content": "Weather in Lyon?"}]]},
    {"id": "t_2", "tier": "simple", "entity": "fake", "category": "irrelevance_fake", "function": [WEATHER],
     "question": [[{"role": "user", "content": "Weather in Zyxxqor?"}]]},
    {"id": "t_3", "tier": "multiple", "entity": "fake", "category": "irrelevance_fake", "function": [WEATHER],
     "question": [[{"role": "user", "content": "Weather in Blorptown?"}]]},
]
ANSWERS = [{"id": "t_0", "ground_truth": [{"get_weather": {"city": ["Paris"], "when": [{"day": ["tomorrow"]}],
                                                             "description": [""]}}]},
           {"id": "t_1", "ground_truth": [{"get_weather": {"city": ["Lyon"], "when": [""], "description": [""]}}]},
           {"id": "t_3", "ground_truth": []}]
PREDICTIONS = [
    {"id": "t_0", "result": [{"get_weather": {"city": "Paris", "when": {"day": "today"}}}]},  # wrong day
    {"id": "t_1", "result": [{"get_weather": {"city": "Lyon"}}]},  # right
    {"id": "t_2", "result": "Sorry, I know no city called Zyxxqor."},  # right: declines
    {"id": "t_3", "result": [{"get_weather": {"city": "Blorptown"}}]},  # wrong: hallucinated a call
]
ROWS = [{"id": "t_0", "category": "t", "valid": False}, {"id": "t_1", "category": "t", "valid": True},
        {"id": "t_2", "category": "irrelevance_fake", "valid": True},
        {"id": "t_3", "category": "irrelevance_fake", "valid": False}]


def test_tier_accuracy():
    assert tiers.tier_accuracy(ENTRIES, ROWS) == {
        "simple": {"accuracy": 1.0, "correct": 2, "n": 2}, "multiple": {"accuracy": 0.0, "correct": 0, "n": 1},
        "enterprise": {"accuracy": 0.0, "correct": 0, "n": 1}}
    assert tiers.tier_accuracy(ENTRIES[:2], ROWS[:1])["simple"] == {"accuracy": 0.0, "correct": 0, "n": 1}
    with pytest.raises(tiers.SeedEvalError, match="has no 'tier' field"):
        tiers.tier_accuracy([{"id": "x"}], [])


def test_hallucination():
    report = tiers.hallucination(ENTRIES, ROWS)
    assert tiers.hallucination_line(report) == "real 1/2, fake 1/2"
    with pytest.raises(tiers.SeedEvalError, match="category containing 'irrelevance'"):
        tiers.hallucination(ENTRIES[2:3], [{"id": "t_2", "category": "simple", "valid": True}])
    with pytest.raises(tiers.SeedEvalError, match="must be 'real' or 'fake'"):
        tiers.hallucination([{"id": "x", "entity": "maybe"}], [])


def test_shorten_variants():
    assert schema_cost.shorten(WEATHER, "full") == WEATHER
    short = schema_cost.shorten(WEATHER, "no_descriptions")
    assert short == {"name": "get_weather", "parameters": {"type": "dict", "properties": {
        "city": {"type": "string"}, "description": {"type": "string"},
        "when": {"type": "dict", "properties": {"day": {"type": "string", "enum": ["today", "tomorrow"]}}}},
        "required": ["city"]}}
    assert schema_cost.shorten(WEATHER, "empty_properties") == {
        "name": "get_weather", "description": "Weather of a city.", "parameters": {"type": "dict", "properties": {}}}
    assert schema_cost.shorten(WEATHER, "minimal") == {"name": "get_weather",
                                                       "parameters": {"type": "dict", "properties": {}}}
    tool = {"type": "function", "function": WEATHER}
    assert schema_cost.shorten(tool, "minimal") == {"type": "function", "function": schema_cost.shorten(WEATHER,
                                                                                                        "minimal")}
    assert WEATHER["parameters"]["properties"]["city"]["description"] == "City name."  # not mutated
    with pytest.raises(schema_cost.ToolbenchError, match="schema variant"):
        schema_cost.shorten(WEATHER, "tiny")


def test_schema_cost_with_a_counter():
    seen = []

    def count(messages, tools):
        seen.append((messages, tools))
        return 10 + len(json.dumps(tools))

    cost = schema_cost.schema_cost(ENTRIES[:2], count, accuracy={"minimal": 0.5})
    full = 2 * (10 + len(json.dumps([WEATHER])))
    minimal = 2 * (10 + len(json.dumps([schema_cost.shorten(WEATHER, "minimal")])))
    assert cost["full"] == {"prompt_tokens": full, "mean_prompt_tokens": full / 2, "n": 2, "ratio_to_full": 1.0}
    assert cost["minimal"]["prompt_tokens"] == minimal and cost["minimal"]["accuracy"] == 0.5
    assert cost["minimal"]["ratio_to_full"] == minimal / full
    assert seen[0][0] == [{"role": "user", "content": "Weather in Paris tomorrow?"}]
    words = schema_cost.token_counter(str.split)
    assert words([{"role": "user", "content": "two words"}], []) == 3  # "two", "words", "[]"


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_end_to_end(tmp_path, capsys):
    dataset = write_jsonl(tmp_path / "seeds.jsonl", ENTRIES)
    code, _, err = run(["eval", "ast", "--dataset", dataset, "--answers", write_jsonl(tmp_path / "a.jsonl", ANSWERS),
                        "--predictions", write_jsonl(tmp_path / "p.jsonl", PREDICTIONS),
                        "--out", str(tmp_path / "ast" / "seeds.jsonl")], capsys)
    assert code == 0, err
    code, out, err = run(["eval", "report", "--dataset", dataset, "--verdicts", str(tmp_path / "ast" / "seeds.jsonl"),
                          "--model", "mine", "--out", str(tmp_path / "report")], capsys)
    assert code == 0, err
    assert "Hallucination: real 1/2, fake 1/2" in out
    summary = json.loads((tmp_path / "report" / "tiers.summary.json").read_text())
    assert summary["groups"]["simple"] == {"accuracy": 1.0, "correct": 2, "n": 2}
    scores = leaderboard.load_runs([tmp_path / "report"])
    assert {(s.metric, s.group, s.mean) for s in scores} >= {("Tier accuracy", "enterprise", 0.0),
                                                             ("Hallucination (correct)", "fake", 0.5)}
    code, out, err = run(["eval", "schema-cost", "--dataset", dataset, "--tokenizer", "whitespace", "--out",
                          str(tmp_path / "cost.json"), "--write-variants", str(tmp_path / "variants"),
                          "--accuracy", "minimal=0.25"], capsys)
    assert code == 0, err
    cost = json.loads((tmp_path / "cost.json").read_text())["variants"]
    assert cost["minimal"]["prompt_tokens"] < cost["no_descriptions"]["prompt_tokens"] < cost["full"]["prompt_tokens"]
    assert cost["minimal"]["accuracy"] == 0.25 and "| minimal |" in out
    minimal = [json.loads(line) for line in (tmp_path / "variants" / "minimal.jsonl").read_text().splitlines()]
    assert minimal[0]["function"] == [schema_cost.shorten(WEATHER, "minimal")] and minimal[0]["tier"] == "enterprise"
    code, _, err = run(["eval", "schema-cost", "--dataset", dataset, "--tokenizer", str(tmp_path / "nope"),
                        "--out", str(tmp_path / "c.json")], capsys)
    assert code == 2 and "not a folder" in err
