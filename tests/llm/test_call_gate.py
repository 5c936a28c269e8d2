"""The calibrated call-or-text decision (toolbench.llm.call_gate): choosing the threshold, reading it, the labelled
requests it is chosen on, and both engines taking the decision by it (the tiny in-process LLaMA here; the
llama.cpp engine in test_llamacpp.py)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from toolbench.errors import ToolbenchError
from toolbench.llm.call_gate import (
    _auc,
    calibrate,
    call_opening,
    check_threshold,
    choose_threshold,
    labelled_requests,
    read_threshold,
    token_probability,
    write_calibration,
)
from toolbench.llm.generation import GenerationRequest, HFGenerator

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city.",
                                            "parameters": {"type": "object",
                                                           "properties": {"city": {"type": "string"}}}}}


def test_the_threshold_separates_separable_scores_in_the_middle_of_the_gap():
    calibration = choose_threshold([0.4, 0.5, 0.9], [0.01, 0.04, 0.1])
    assert calibration.balanced_accuracy == 1.0 and calibration.auc == 1.0
    assert calibration.call_recall == 1.0 and calibration.text_recall == 1.0
    assert math.isclose(calibration.threshold, math.sqrt(0.1 * 0.4))  # geometric middle of (0.1, 0.4]
    assert (calibration.calls, calibration.texts) == (3, 3)


def test_overlapping_scores_get_the_best_balanced_accuracy():
    calls = [0.05, 0.3, 0.6, 0.8]
    texts = [0.01, 0.02, 0.4, 0.03]
    calibration = choose_threshold(calls, texts)
    best = max(((sum(p >= t for p in calls) / 4 + sum(p < t for p in texts) / 4) / 2)
               for t in np.linspace(0.001, 0.999, 999))
    assert calibration.balanced_accuracy == pytest.approx(best)
    decided = (sum(p >= calibration.threshold for p in calls) / 4
               + sum(p < calibration.threshold for p in texts) / 4) / 2
    assert decided == pytest.approx(best)
    assert 0.03 < calibration.threshold <= 0.05


def test_a_model_that_always_calls_gets_a_threshold_that_never_calls_only_if_that_is_better():
    calibration = choose_threshold([0.9, 0.95], [0.99, 0.97])  # text requests score higher: nothing separates
    assert calibration.balanced_accuracy == 0.5
    assert 0 < calibration.threshold < 1


def test_calibration_needs_both_labels():
    with pytest.raises(ToolbenchError, match="want a call and requests that want text"):
        choose_threshold([0.5], [])


def test_auc_counts_pairs_and_half_ties():
    calls, texts = [0.2, 0.5, 0.5, 0.9], [0.1, 0.5, 0.6]
    pairs = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(calls, texts)]
    assert _auc(calls, texts) == pytest.approx(sum(pairs) / len(pairs))


def test_token_probability_is_the_softmax_and_ignores_banned_tokens():
    logits = np.array([1.0, 2.0, -np.inf, 0.5])
    expected = math.exp(2.0) / (math.exp(1.0) + math.exp(2.0) + math.exp(0.5))
    assert token_probability(logits, 1) == pytest.approx(expected)
    assert token_probability(logits, 2) == 0.0


def test_thresholds_are_probabilities_and_can_come_from_a_calibration_file(tmp_path):
    assert check_threshold(None) is None
    for bad in (0, 1, 1.5, -0.1, True, "0.2"):
        with pytest.raises(ToolbenchError, match="strictly between 0 and 1"):
            check_threshold(bad)
    assert read_threshold("0.25") == 0.25
    path = write_calibration(choose_threshold([0.5], [0.1]), tmp_path / "cal.json")
    assert read_threshold(str(path)) == pytest.approx(math.sqrt(0.05))
    (tmp_path / "bad.json").write_text('{"auc": 1}')
    with pytest.raises(ToolbenchError, match="bad.json: not a calibration file"):
        read_threshold(str(tmp_path / "bad.json"))
    with pytest.raises(ToolbenchError, match="neither a number nor a calibration file"):
        read_threshold(str(tmp_path / "missing.json"))


def _example(user, answer, tools=(WEATHER,)):
    return {"messages": [{"role": "user", "content": user}, answer], "tools": list(tools)}


CALL = {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "get_weather",
                                                                            "arguments": "{}"}}]}
TEXT = {"role": "assistant", "content": "None of these functions can do that."}


def test_labelled_requests_read_openai_examples_up_to_the_first_answer(tmp_path):
    path = tmp_path / "cal.jsonl"
    rows = [_example("Weather in Paris?", CALL), _example("Tell me a joke.", TEXT),
            _example("No tools here.", TEXT, tools=()), {"messages": [{"role": "user", "content": "no answer"}],
                                                         "tools": [WEATHER]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    requests = labelled_requests(path)
    assert [(r.messages[-1]["content"], r.wants_call) for r in requests] == [("Weather in Paris?", True),
                                                                              ("Tell me a joke.", False)]
    assert all(r.messages[-1]["role"] == "user" for r in requests)
    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"text": "not an example"}) + "\n")
    with pytest.raises(ToolbenchError, match=r"cal.jsonl.*line 2.*'messages' list"):
        labelled_requests(path)


class _Scored:
    """A stand-in engine whose call probability is read off the request text (a unit test of the runner)."""

    name = "scored"
    context_length = 100

    def render(self, messages, tools, tool_choice):
        assert tool_choice == "auto" and tools
        return type("R", (), {"text": messages[-1]["content"]})()

    def count_tokens(self, text):
        return 200 if text.startswith("long") else 5

    def call_probability(self, prompt):
        return float(prompt.split()[-1])


def test_calibrate_scores_each_request_and_leaves_out_those_longer_than_the_context(tmp_path):
    path = tmp_path / "cal.jsonl"
    rows = [_example(f"call {p}", CALL) for p in (0.3, 0.6, 0.9)] + [_example(f"text {p}", TEXT)
                                                                     for p in (0.01, 0.05)]
    rows.append(_example("long 0.99", TEXT))  # over the context: not scored
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    seen = []
    calibration = calibrate(_Scored(), labelled_requests(path), source=str(path),
                            progress=lambda done, total: seen.append((done, total)))
    assert (calibration.calls, calibration.texts) == (3, 2)
    assert calibration.balanced_accuracy == 1.0 and 0.05 < calibration.threshold <= 0.3
    assert seen[-1] == (6, 6) and calibration.model == "scored" and calibration.source == str(path)
    limited = calibrate(_Scored(), labelled_requests(path), limit=1)
    assert (limited.calls, limited.texts) == (1, 1)


def test_the_transformers_engine_takes_the_decision_by_the_threshold(tiny_model, tiny_tokenizer):
    generator = HFGenerator(tiny_model, tiny_tokenizer, "tiny")
    opening = call_opening(lambda text: tiny_tokenizer(text, add_special_tokens=False).input_ids)
    assert tiny_tokenizer.decode(opening) == "<tool_call>"
    prompt = generator.render([{"role": "user", "content": "Weather in Paris?"}], [WEATHER], "auto").text
    p = generator.call_probability(prompt)
    assert 0 < p < 0.5  # a random model: calling is not its argmax
    base = {"prompt": prompt, "max_tokens": len(opening) + 2, "temperature": 0.0}
    free = generator.generate(GenerationRequest(**base)).texts[0]
    called = generator.generate(GenerationRequest(**base, call_threshold=p * 0.99)).texts[0]
    text = generator.generate(GenerationRequest(**base, call_threshold=min(p * 1.01, 0.99))).texts[0]
    assert called.startswith("<tool_call>") and not text.startswith("<")
    assert text == free  # below the threshold the argmax was already text: nothing else changes
    rows = generator.generate_batch([GenerationRequest(**base, call_threshold=p * 0.99), GenerationRequest(**base)])
    assert [r.texts[0] for r in rows] == [called, free]  # the gate is per row
