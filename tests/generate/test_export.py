from __future__ import annotations

import itertools
import json

import pytest
from jsonschema import Draft202012Validator

from toolbench.catalog.store import load_queries
from toolbench.generate import export
from toolbench.generate.call_samples import CallSample
from toolbench.generate.calls import CallGenerator, CallsConfig

ast_check = pytest.importorskip("eval.ast_check")

# The shapes each format's readers expect.
OPENAI_LINE = {
    "type": "object", "required": ["messages", "tools"],
    "properties": {
        "messages": {"type": "array", "minItems": 2, "items": {"oneOf": [
            {"type": "object", "required": ["role", "content"], "properties": {
                "role": {"enum": ["user"]}, "content": {"type": "string", "minLength": 1}}},
            {"type": "object", "required": ["role", "content"], "properties": {
                "role": {"const": "assistant"}, "content": {"type": ["string", "null"]},
                "tool_calls": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["id", "type", "function"], "properties": {
                        "type": {"const": "function"},
                        "function": {"type": "object", "required": ["name", "arguments"],
                                     "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}}}}}}}},
            {"type": "object", "required": ["role", "tool_call_id", "content"], "properties": {
                "role": {"const": "tool"}, "content": {"type": "string"}}}]}},
        "tools": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["type", "function"], "properties": {
                "type": {"const": "function"},
                "function": {"type": "object", "required": ["name", "parameters"]}}}}}}
SHAREGPT = {
    "type": "object", "required": ["conversations", "tools"],
    "properties": {
        "conversations": {"type": "array", "minItems": 2, "items": {
            "type": "object", "required": ["from", "value"], "properties": {
                "from": {"enum": ["human", "gpt", "function_call", "observation"]}, "value": {"type": "string"}}}},
        "tools": {"type": "string"}}}
BFCL_QUESTION = {
    "type": "object", "required": ["id", "question", "function"],
    "properties": {
        "question": {"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 1}},
        "function": {"type": "array", "items": {"type": "object", "required": ["name", "description", "parameters"],
                                                "properties": {"parameters": {"type": "object", "required": [
                                                    "type", "properties"], "properties": {
                                                    "type": {"const": "dict"}}}}}}}}


@pytest.fixture(scope="module")
def samples(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=13, config=CallsConfig(zh_rate=0.3))
    return [gen.generate(i) for i in range(120)]


def test_bfcl_export_scores_its_own_answers_as_correct(samples, tmp_path):
    """The export loads in the BFCL checker of the evaluation issue, and the expected calls pass it."""
    from eval import ast_score

    questions, answers = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    n = export.write_bfcl(samples, questions, answers)
    entries, truth = ast_score.load_dataset(str(questions), answers)
    assert len(entries) == n > len(samples)  # multi-turn samples give one entry per step
    predictions = {}
    for sample in samples:
        for entry, answer in export.bfcl_entries(sample):
            Draft202012Validator(BFCL_QUESTION).validate(entry)
            if answer is None:
                predictions[entry["id"]] = {"role": "assistant", "content": sample.steps[-1].reply}
            else:
                step = int(entry["id"].rsplit("-", 1)[1]) if sample.category == "multi_turn" else 0
                predictions[entry["id"]] = [{c.name: c.arguments} for c in sample.steps[step].calls]
    rows = ast_score.score(entries, truth, predictions)
    wrong = [r for r in rows if not r["valid"]]
    assert wrong == []
    assert {r["category"] for r in rows} == set(export.BFCL_CATEGORY.values())
    # and a wrong answer is caught
    first = next(e for e in entries if e["category"] == "simple")
    (name, args), = predictions[first["id"]][0].items()
    spoiled = {name: {k: (v + "x" if isinstance(v, str) else v) for k, v in args.items()}}
    if any(isinstance(v, str) for v in args.values()):
        assert not ast_score.score([first], truth, {first["id"]: [spoiled]})[0]["valid"]


def test_chat_exports_validate_against_their_schemas(samples):
    for sample in samples:
        line = export.openai_example(sample)
        Draft202012Validator(OPENAI_LINE).validate(line)
        json.loads(json.dumps(line))
        share = export.sharegpt_example(sample)
        Draft202012Validator(SHAREGPT).validate(share)
        roles = [t["from"] for t in share["conversations"]]
        assert roles[0] == "human"
        for a, b in itertools.pairwise(roles):
            if b == "observation":
                assert a == "function_call"
        assert json.loads(share["tools"]) == sample.functions


def test_toolbench_queries_load(samples, hub_catalog, tmp_path):
    apis = {(t.name, a.name): a for t in hub_catalog for a in t.apis}
    path = tmp_path / "queries.json"
    path.write_text(json.dumps([export.toolbench_query(s, i, apis).to_dict() for i, s in enumerate(samples, 1)]))
    queries = load_queries(path)
    assert len(queries) == len(samples)
    for query, sample in zip(queries, samples):
        assert set(query.relevant) <= {a.key for a in query.apis}
        assert query.extra["category"] == sample.category


def test_heldout_split_shares_no_api_argument_combination(samples):
    duplicated = samples + [CallSample.from_dict({**s.to_dict(), "id": f"copy_{s.id}_9999"}) for s in samples[:20]]
    train, held = export.split_heldout(duplicated, 0.25, seed=1)
    assert len(train) + len(held) == len(duplicated) and held and train
    train_combos = set().union(*(export.combinations(s) for s in train))
    held_combos = set().union(*(export.combinations(s) for s in held))
    assert not train_combos & held_combos
    again = export.split_heldout(duplicated, 0.25, seed=1)
    assert [s.id for s in again[1]] == [s.id for s in held]
