"""One list of error kinds; an observation carries its kind as a field."""

from toolbench import executor as X
from toolbench import toolstep
from toolbench.error_kinds import EXECUTOR_KINDS, ErrorKind, kind_from_text
from toolbench.records import Observation


def test_one_list_shared_by_executor_and_step():
    assert toolstep.ErrorKind is ErrorKind
    assert set(X.ERROR_KINDS) == set(EXECUTOR_KINDS)
    assert ErrorKind.REJECTED_BY_USER not in X.ERROR_KINDS and ErrorKind.OUTCOME_UNKNOWN not in X.ERROR_KINDS


def test_executor_observations_carry_their_kind():
    obs = X.observation_from_http(429, {}, '{"message": "slow down"}', 0.1)
    assert obs.kind is ErrorKind.RATE_LIMITED
    assert obs.error == "rate_limited: HTTP 429: slow down"
    assert X.observation_from_http(200, {"content-type": "application/json"}, "{}", 0.1).kind is None
    bad = X.observation_from_http(200, {"content-type": "application/json"}, "{oops", 0.1)
    assert bad.kind is ErrorKind.MALFORMED and X.error_kind(bad) == "malformed_response"


def test_failure_sets_field_and_text():
    obs = Observation.failure(ErrorKind.TIMEOUT, "no answer in 10 s", status=None)
    assert obs.kind is ErrorKind.TIMEOUT and obs.error == "timeout: no answer in 10 s"
    assert obs.to_dict() == {"error": "timeout: no answer in 10 s", "response": "", "status": None,
                             "latency": 0.0, "cached": False}


def test_kind_read_back_from_stored_text_once():
    back = Observation.from_dict({"error": "unauthorized: HTTP 401", "response": "", "status": 401})
    assert back.kind is ErrorKind.UNAUTHORIZED
    assert Observation(error="something broke").kind is ErrorKind.OTHER
    assert Observation(error="rejected_by_user: no").kind is ErrorKind.REJECTED_BY_USER
    assert Observation(response="{}").kind is None
    assert kind_from_text("") is None and kind_from_text("cache_miss: x") is ErrorKind.CACHE_MISS


def test_step_kind_of_reads_the_field():
    obs = Observation(error="free text", kind=ErrorKind.NOT_WORKING)
    assert toolstep.kind_of(obs) is ErrorKind.NOT_WORKING
    assert toolstep.kind_of(Observation(response="ok")) is None
