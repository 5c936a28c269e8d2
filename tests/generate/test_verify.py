from __future__ import annotations

import json

from toolbench.generate.calls import CallGenerator, CallsConfig
from toolbench.generate.verify import StageCounts, Verifier
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Observation


class FakeRunner:
    """Answers every call with ``answer(tool, api, args)``; records the calls."""

    def __init__(self, answer=None):
        self.calls = []
        self.answer = answer or (lambda tool, api, args: Observation(response=json.dumps({"ok": True}), status=200))

    def call(self, tool_name, api_name, args=None):
        self.calls.append((tool_name, api_name, args))
        return self.answer(tool_name, api_name, args)


def make(tools, category, index=0, seed=0, **kw):
    return CallGenerator(tools, seed=seed, config=CallsConfig(weights={category: 1.0}, zh_rate=0.0, **kw)).generate(index)


def test_all_stages_pass_on_a_good_sample_and_calls_run_with_api_names(tools):
    runner = FakeRunner()
    sample = make(tools, "parallel")
    checked = Verifier(tools, runner=runner).verify(sample)
    assert [v.stage for v in checked.verdicts] == ["format", "execution", "meaning"]
    assert checked.status == "passed"
    assert len(runner.calls) == len(sample.calls)
    assert checked.steps[0].observations == ['{"ok": true}'] * len(sample.calls)
    assert sample.steps[0].observations == []  # the input is not changed


def test_format_stage_rejects_bad_calls(tools):
    verifier = Verifier(tools)
    base = make(tools, "simple", index=1)
    cases = {
        "not among the offered functions": lambda s: setattr(s.steps[0].calls[0], "name", "made_up_function"),
        "do not parse as JSON": lambda s: setattr(s.steps[0].calls[0], "arguments", '{"city": '),
        "unknown argument": lambda s: s.steps[0].calls[0].arguments.update(bogus=1),
        "is a required property": lambda s: s.steps[0].calls[0].arguments.clear(),
        "expects exactly 1 call": lambda s: s.steps[0].calls.append(s.steps[0].calls[0]),
    }
    for reason, spoil in cases.items():
        bad = base.copy()
        spoil(bad)
        checked = verifier.verify(bad)
        assert checked.status == "rejected:format", reason
        assert reason in checked.verdicts[0].reason, (reason, checked.verdicts[0].reason)
        assert len(checked.verdicts) == 1  # later stages are not run
    wrong_type = base.copy()
    wrong_type.steps[0].calls[0].arguments["days"] = "three"
    wrong_type.functions[0]["parameters"]["properties"].setdefault("days", {"type": "integer"})
    assert verifier.verify(wrong_type).status == "rejected:format"
    irrelevant = make(tools, "irrelevance", index=0)
    irrelevant.steps[0].calls = list(base.steps[0].calls)
    assert verifier.verify(irrelevant).status == "rejected:format"
    offered = irrelevant.functions[0]
    irrelevant.steps[0].calls[0].name = offered["name"]
    irrelevant.steps[0].calls[0].arguments = {}
    irrelevant.functions[0] = {**offered, "parameters": {"type": "object", "properties": {}}}
    irrelevant.function_map[offered["name"]] = ["unknown tool", "unknown api"]
    assert "must expect no call" in verifier.verify(irrelevant).verdicts[0].reason


def test_execution_stage_rejects_errors_and_checks_traps(tools):
    failing = FakeRunner(lambda t, a, args: Observation(error="not_working: HTTP 500: down", status=500))
    checked = Verifier(tools, runner=failing).verify(make(tools, "simple"))
    assert checked.status == "rejected:execution" and "HTTP 500" in checked.verdicts[1].reason

    trap = make(tools, "hallucination")
    answered = Verifier(tools, runner=FakeRunner()).verify(trap)
    assert answered.status == "rejected:execution" and "no trap" in answered.verdicts[1].reason
    unknown = FakeRunner(lambda t, a, args: Observation(error="request_error: HTTP 404: not found", status=404))
    checked = Verifier(tools, runner=unknown).verify(trap)
    assert checked.status == "passed", checked.verdicts
    probe = trap.meta["probe"]
    assert unknown.calls == [(probe["tool"], probe["api"], probe["arguments"])]
    other = FakeRunner(lambda t, a, args: Observation(error="timeout: no answer", status=None))
    assert "without 'not found'" in Verifier(tools, runner=other).verify(trap).verdicts[1].reason


def test_execution_regrounds_multi_turn_values_in_the_real_result(tools):
    sample = make(tools, "multi_turn", seed=4)
    second = sample.steps[1].calls[0]
    (arg, key), = second.from_previous.items()
    real = FakeRunner(lambda t, a, args: Observation(response=json.dumps({"results": [{key: "ZZZZ", "name": "x"}],
                                                                          key: "ZZZZ"}), status=200))
    checked = Verifier(tools, runner=real).verify(sample)
    assert checked.status == "passed", checked.verdicts
    assert checked.steps[1].calls[0].arguments[arg] == "ZZZZ"
    assert checked.meta["regrounded"][0]["now"] == "ZZZZ" and checked.meta["observations"] == "executed"
    empty = FakeRunner(lambda t, a, args: Observation(response="{}", status=200))
    assert "has no" in Verifier(tools, runner=empty).verify(sample).verdicts[1].reason


def test_meaning_stage_rule_check_and_judge(tools):
    sample = make(tools, "simple", index=2)
    call = sample.steps[0].calls[0]
    invented = sample.copy()
    first_arg = next(k for k, v in call.arguments.items() if isinstance(v, str))
    invented.steps[0].calls[0].arguments[first_arg] = "Reykjavik"
    checked = Verifier(tools).verify(invented)
    assert checked.status == "rejected:meaning" and "'Reykjavik' is not stated" in checked.verdicts[-1].reason
    unnamed = sample.copy()
    unnamed.steps[0].user = "Do the thing with " + " ".join(str(v) for v in call.arguments.values())
    assert "does not say what" in Verifier(tools).verify(unnamed).verdicts[-1].reason

    judge = ScriptedChatModel(['{"verdict": "yes", "reason": "fine"}',
                               'Sure! {"verdict": "no", "reason": "wrong city"}', "I think so"])
    verifier = Verifier(tools, judge=judge)
    assert verifier.verify(sample).verdicts[-1].reason == "judge: fine"
    no = verifier.verify(sample)
    assert no.status == "rejected:meaning" and no.verdicts[-1].reason == "judge: wrong city"
    assert "no usable verdict" in verifier.verify(sample).verdicts[-1].reason
    assert "Functions offered" in judge.requests[0]["messages"][-1]["content"]


def test_stage_counts(tools):
    counts = StageCounts()
    verifier = Verifier(tools, runner=FakeRunner())
    for i in range(10):
        counts.add(verifier.verify(make(tools, "simple", index=i)))
    bad = make(tools, "simple", index=11)
    bad.steps[0].calls[0].name = "nope"
    counts.add(verifier.verify(bad))
    report = counts.to_dict()
    assert report["stages"]["format"] == {"checked": 11, "passed": 10, "failed": 1, "pass_rate": 0.9091,
                                          "failures": {"function '…' is not among the offered functions": 1}}
    assert report["by_category"]["simple"] == {"total": 11, "passed": 10, "rejected:format": 1}


def test_against_the_real_hub(hub_catalog, hub_executor):
    gen = CallGenerator(hub_catalog, seed=21, runner=hub_executor)
    verifier = Verifier(hub_catalog, runner=hub_executor)
    counts = StageCounts()
    samples = [verifier.verify(gen.generate(i)) for i in range(40)]
    for sample in samples:
        counts.add(sample)
    stages = counts.to_dict()["stages"]
    assert stages["format"]["pass_rate"] == 1.0
    assert stages["execution"]["checked"] == 40 and stages["execution"]["pass_rate"] >= 0.5
    traps = [s for s in samples if s.category == "hallucination" and s.status == "passed"]
    assert all("(404)" in s.verdicts[1].reason for s in traps)
    multi = [s for s in samples if s.category == "multi_turn" and s.status == "passed"]
    assert multi and all(s.meta["observations"] == "executed" and all(st.observations for st in s.steps)
                         for s in multi)
    failed = [s for s in samples if s.status == "rejected:execution"]
    assert all(" failed: " in s.verdicts[1].reason or "probe" in s.verdicts[1].reason for s in failed)
