"""The tool-call step both graphs share: check -> run -> observe -> journal, with typed error kinds."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from toolbench import executor as X
from toolbench.catalog.functions import FunctionSet
from toolbench.records import Api, Observation, Param
from toolbench.toolstep import (
    CallState,
    ErrorKind,
    ExecutorRunner,
    MemoryJournal,
    PendingCall,
    call_key,
    call_tool,
    check_call,
    failed,
    kind_of,
    observation_text,
    run_call,
)

WEATHER = Api(tool="SkyCast Weather", name="current weather", description="Weather now in a city.",
              required_params=[Param("city", required=True)])
F_WEATHER = "current_weather_for_skycast_weather"


def functions() -> FunctionSet:
    return FunctionSet.from_apis([WEATHER])


class Runner:
    def __init__(self, answer: Observation | None = None) -> None:
        self.answer = answer or Observation(response="sunny", status=200)
        self.calls: list[tuple[str, Any]] = []

    async def run(self, fname: str, arguments: Any) -> Observation:
        self.calls.append((fname, arguments))
        return self.answer


class StartedJournal(MemoryJournal):
    """A journal that holds one call as sent but never answered."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.started = {key}

    async def lookup(self, key: str) -> tuple[str, Observation | None]:
        if key in self.started and key not in self.entries:
            return CallState.STARTED, None
        return await super().lookup(key)


def test_every_executor_error_kind_is_an_error_kind():
    assert set(X.ERROR_KINDS) <= {k.value for k in ErrorKind}


def test_kind_of_reads_an_outside_observation_once():
    assert kind_of(Observation(response="x", status=200)) is None
    assert kind_of(Observation(error="rate_limited: HTTP 429", status=429)) is ErrorKind.RATE_LIMITED
    assert kind_of(Observation(error="something odd")) is ErrorKind.OTHER


def test_a_failure_made_by_the_step_carries_its_kind_and_the_executor_text():
    result = failed(ErrorKind.REJECTED_BY_USER, "not now")
    assert result.kind is ErrorKind.REJECTED_BY_USER and not result.ok
    assert result.observation.error == "rejected_by_user: not now"


def test_observation_text_keeps_non_ascii_and_cuts_the_response():
    obs = Observation(response="Zürich " + "x" * 20, status=200)
    assert json.loads(observation_text(obs)) == {"error": "", "response": obs.response}
    assert "Zürich" in observation_text(obs)
    assert json.loads(observation_text(obs, 7))["response"] == "Zürich ..."


def test_call_keys_are_those_of_the_journals_already_written():
    def old(material: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()

    annotate = {"query": "7", "path": "0.1", "index": 0}
    agent = {"session": "s1", "message": 2, "call": 1}
    assert call_key(annotate, "f", '{"a": "é"}') == old({**annotate, "name": "f", "arguments": '{"a": "é"}'})
    assert PendingCall("f", "{}", agent).key == old({**agent, "name": "f", "arguments": "{}"})


def test_check_call_types_each_problem():
    fs = functions()
    unknown = check_call(fs, "get_weather_everywhere", "{}")
    assert unknown.function is None and unknown.problems == ["no function named 'get_weather_everywhere'"]
    assert unknown.error.kind is ErrorKind.HALLUCINATED
    assert unknown.error.observation.error.startswith(
        "hallucinated_function: no function named 'get_weather_everywhere' was offered; call one of: ")

    broken = check_call(fs, F_WEATHER, "{not json")
    assert broken.arguments is None and broken.error.kind is ErrorKind.INVALID_ARGUMENTS
    assert broken.error.observation.error.endswith("; send a JSON object")

    missing = check_call(fs, F_WEATHER, "{}")
    assert missing.arguments == {} and missing.problems and missing.error.kind is ErrorKind.INVALID_ARGUMENTS

    good = check_call(fs, F_WEATHER, '{"city": "Paris"}')
    assert good.error is None and good.problems == [] and good.arguments == {"city": "Paris"}


def test_the_step_checks_before_it_runs():
    runner = Runner()
    result = asyncio.run(call_tool(functions(), PendingCall("nope", "{}"), runner))
    assert not result.ran and result.kind is ErrorKind.HALLUCINATED and runner.calls == []

    result = asyncio.run(call_tool(functions(), PendingCall(F_WEATHER, '{"city": "Paris"}'), runner))
    assert result.ran and result.ok and runner.calls == [(F_WEATHER, {"city": "Paris"})]


def test_a_journaled_call_is_replayed_not_made_again():
    journal, runner = MemoryJournal(), Runner(Observation(error="timeout: no answer in 10 s"))
    call = PendingCall(F_WEATHER, '{"city": "Paris"}', {"query": "7", "path": "0", "index": 0})
    first = asyncio.run(run_call(call, runner, {"city": "Paris"}, journal))
    again = asyncio.run(run_call(call, runner, {"city": "Paris"}, journal))
    assert len(runner.calls) == 1 and not first.replayed and again.replayed
    assert first.kind is again.kind is ErrorKind.TIMEOUT


def test_a_call_cut_off_in_flight_is_resent_only_when_allowed():
    call = PendingCall(F_WEATHER, "{}", {"session": "s1", "message": 2, "call": 0})
    runner = Runner()
    unknown = asyncio.run(run_call(call, runner, "{}", StartedJournal(call.key), resend_unfinished=False))
    assert unknown.kind is ErrorKind.OUTCOME_UNKNOWN and runner.calls == []
    assert unknown.observation.error.startswith("outcome_unknown: this call was sent but")
    resent = asyncio.run(run_call(call, runner, "{}", StartedJournal(call.key)))
    assert resent.ok and runner.calls == [(F_WEATHER, "{}")]


def test_the_executor_runner_never_raises():
    class Broken:
        async def acall_function(self, functions, name, arguments):
            raise RuntimeError("boom")

    obs = asyncio.run(ExecutorRunner(Broken(), functions()).run(F_WEATHER, {}))
    assert kind_of(obs) is ErrorKind.REQUEST_ERROR and "RuntimeError" in obs.error
