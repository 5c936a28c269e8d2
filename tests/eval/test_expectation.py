"""eval.expectation: rule-based checks of generated tasks whose expected result is known."""

from __future__ import annotations

import pytest
from judge_fakes import prediction

from eval import expectation as E
from toolbench.formats.finish import GIVE_UP


def test_all_rules_hold():
    expectation = {
        "answer_contains": ["paris", "18 DEGREES"], "answer_contains_any": ["rain", "sunny"],
        "answer_excludes": ["error"], "answer_matches": r"\d+ degrees",
        "calls": [{"name": "get_weather_for_weather", "arguments": {"city": "PARIS"}}],
        "no_calls": ["delete_city_for_weather"],
    }
    verdict = E.check(expectation, prediction())
    assert verdict.ok and verdict.reason == "all expected results found"


def test_each_rule_can_fail():
    expectation = {"answer_contains": ["Lyon"], "answer_contains_any": ["rain", "snow"], "answer_excludes": ["sunny"],
                   "answer_matches": r"\d+ km", "calls": [{"name": "get_weather_for_weather",
                                                            "arguments": {"city": "Lyon"}}],
                   "no_calls": ["get_weather_for_weather"]}
    verdict = E.check(expectation, prediction())
    assert not verdict.ok
    assert verdict.failures == (
        "final answer lacks 'Lyon'", "final answer has none of 'rain', 'snow'", "final answer contains 'sunny'",
        r"final answer does not match /\d+ km/", 'no call of get_weather_for_weather with {"city": "Lyon"}',
        "called get_weather_for_weather, which the task forbids")


def test_finish_type():
    assert not E.check({}, prediction(finish=None)).ok
    assert E.check({"finish": "give_up"}, prediction(finish=GIVE_UP)).ok
    assert E.check({"finish": "give_up"}, prediction()).failures == (
        "expected the run to finish with give_up, it ended with give_answer",)


def test_normalisation():
    assert E.normalize("  756,000   Followers\n") == "756000 followers"
    assert E.check({"answer_contains": ["756000"]}, prediction(final="It has 756,000 followers.")).ok
    assert E.check({"calls": [{"name": "get_weather_for_weather", "arguments": {"city": "paris"}}]}, prediction()).ok


@pytest.mark.parametrize(("expectation", "message"), [
    ({"answer_contain": ["x"]}, "unknown key"),
    ({"finish": "stop"}, "finish"),
    ({"answer_contains": [1]}, "answer_contains"),
    ({"answer_matches": "("}, "not a regular expression"),
    ({"calls": [{"arguments": {}}]}, r"calls\[0\]"),
    ("yes", "must be an object"),
])
def test_malformed_expectations(expectation, message):
    with pytest.raises(E.ExpectationError, match=message):
        E.validate(expectation)
