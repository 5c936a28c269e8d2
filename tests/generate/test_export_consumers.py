"""Exports checked by their consumers: call data generated from OpenAPI specs with composed schemas (allOf, oneOf,
anyOf, $ref chains, nullable values, nested arrays of objects), every BFCL ground truth run through BFCL's
official checker (the installed ``bfcl-eval``) as a model output, every OpenAI fine-tuning line's arguments
validated against its tools' schemas with jsonschema."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.openapi import import_openapi
from toolbench.generate import export
from toolbench.generate.call_samples import CallSample, ExpectedCall, Step
from toolbench.generate.calls import CallGenerator, CallsConfig
from toolbench.records import Api, Param

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None,
    reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23, or `make install-dev`)",
)

SPECS = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"


@pytest.fixture(scope="module")
def official():
    from eval import bfcl_reference

    return bfcl_reference.official_checker()


@pytest.fixture(scope="module")
def samples() -> list[CallSample]:
    tools = [import_openapi(SPECS / name) for name in ("composed.yaml", "shop.yaml", "notes-3.1.json")]
    generator = CallGenerator(tools, seed=5, config=CallsConfig(zh_rate=0.2, optional_rate=0.7))
    return [generator.generate(i) for i in range(140)]


def _outputs(sample: CallSample, entry: dict, answer: dict) -> dict[str, list[dict]]:
    """The ground truth as model outputs: the expected calls, and the calls made of the answer's first and
    last options."""
    from eval import bfcl_reference

    step = int(entry["id"].rsplit("-", 1)[1]) if sample.category == "multi_turn" else 0
    return {"expected": [{c.name: c.arguments} for c in sample.steps[step].calls],
            "first_options": bfcl_reference.answer_calls(answer["ground_truth"]),
            "last_options": bfcl_reference.answer_calls(answer["ground_truth"], -1)}


def test_bfcl_official_checker_accepts_every_exported_ground_truth(samples, official) -> None:
    rejected, checked, kinds = [], Counter(), Counter()
    for sample in samples:
        for entry, answer in export.bfcl_entries(sample):
            if answer is None:
                continue
            for doc in entry["function"]:
                kinds.update(p["type"] for p in doc["parameters"]["properties"].values())
            for label, calls in _outputs(sample, entry, answer).items():
                result = official(entry["function"], calls, answer["ground_truth"], entry["category"])
                checked[entry["category"]] += 1
                if not result["valid"]:
                    rejected.append(f"{entry['id']} [{label}]: {result['error_type']} {result['error']}"[:400])
    assert rejected == []
    assert set(checked) >= {"simple", "multiple", "parallel", "parallel_multiple", "multi_turn_multiple"}
    assert kinds["dict"] and kinds["array"] and not kinds["any"]
    # the composed parameters were called with values of their real shape
    args = [c.arguments for s in samples for c in s.calls if c.api in ("createFolder", "createReport")]
    assert any(isinstance(a.get("parent"), dict) for a in args)
    assert any(isinstance(a.get("sections"), list) and a["sections"] and isinstance(a["sections"][0]["rows"], list)
               for a in args)


def test_openai_lines_arguments_validate_against_their_tools(samples) -> None:
    problems, calls = [], 0
    for sample in samples:
        line = export.openai_example(sample)
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in line["tools"]}
        for call in sample.calls:
            calls += 1
            for error in Draft202012Validator(schemas[call.name]).iter_errors(call.arguments):
                problems.append(f"{sample.id} {call.name}: {error.message}"[:300])
    assert calls > 100 and problems == []


def _two_calls_sample() -> CallSample:
    """parallel_multiple: ``list_folders`` twice (once without arguments) and ``get_folder``."""
    listing = Api("Drive", "list_folders", "List folders", optional_params=[
        Param("limit", "NUMBER", "Page size", 10, schema={"type": "integer", "default": 10}),
        Param("filter", "OBJECT", "Filter", "", schema={"type": "object", "properties": {
            "owner": {"type": "string"}, "shared": {"type": "boolean"}}})])
    getting = Api("Drive", "get_folder", "A folder", required_params=[
        Param("folder", "OBJECT", "The folder", "", required=True, schema={"allOf": [
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}]})])
    functions = FunctionSet.from_apis([listing, getting])
    names = {f.api.name: f.name for f in functions.functions.values()}
    calls = [ExpectedCall(names["list_folders"], {"limit": 5, "filter": {"owner": "Ada", "shared": True}},
                          "Drive", "list_folders"),
             ExpectedCall(names["list_folders"], {}, "Drive", "list_folders"),
             ExpectedCall(names["get_folder"], {"folder": {"id": "F1"}}, "Drive", "get_folder")]
    return CallSample(id="pm", category="parallel_multiple", language="en", functions=functions.schemas(),
                      function_map={f.name: [f.api.tool, f.api.name] for f in functions.functions.values()},
                      steps=[Step("List Ada's shared folders, 5 a page, and all folders, and show folder F1.", calls)])


def test_two_calls_to_one_function_one_without_arguments_are_matched_in_any_order(official) -> None:
    sample = _two_calls_sample()
    ((entry, answer),) = export.bfcl_entries(sample)
    truth = answer["ground_truth"]
    expected = [{c.name: c.arguments} for c in sample.calls]
    for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0]):
        output = [expected[i] for i in order]
        assert official(entry["function"], output, truth, "parallel_multiple")["valid"], order
    listing = next(f for f in entry["function"] if f["name"] == sample.calls[0].name)
    assert listing["parameters"]["properties"]["filter"]["type"] == "dict"
    assert truth[0][sample.calls[0].name]["filter"] == [{"owner": ["Ada"], "shared": [True]}]
    assert truth[1] == {sample.calls[1].name: {"limit": ["", 10]}}
    # a wrong output is still caught: the filter moved to the call that had none
    wrong = [{sample.calls[0].name: {"limit": 5}}, {sample.calls[1].name: {"filter": {"owner": "Ada",
                                                                                      "shared": True}}}, expected[2]]
    assert not official(entry["function"], wrong, truth, "parallel_multiple")["valid"]


def test_bfcl_docs_of_composed_parameters() -> None:
    union = {"description": "Scope.", "oneOf": [{"type": "string", "enum": ["all", "mine"]},
                                                {"type": "integer", "minimum": 1}, {"type": "null"}]}
    assert export.bfcl_property(union) == {"type": "string", "description": "Scope. Or: integer.",
                                           "enum": ["all", "mine"]}
    parent = {"description": "The parent.", "allOf": [{"type": "object", "properties": {"id": {"type": "string"}}},
                                                      {"properties": {"name": {"type": "string"}}}]}
    assert export.bfcl_property(parent) == {"type": "dict", "description": "The parent.", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}}}
    assert export.bfcl_property({"const": 3}) == {"type": "integer", "enum": [3]}
    assert export.bfcl_property({"pattern": "^a"}) == {"type": "string"}
    assert export.bfcl_property({"type": "array"}) == {"type": "array", "items": {"type": "any"}}
    assert export.bfcl_property({"description": "Anything."}) == {"type": "any", "description": "Anything."}
