"""The trust policy: read-only calls run, consequential calls run on their own only with enough measured accuracy."""

from __future__ import annotations

import json

import pytest

from tests.agent.helpers import CREATE, ORDER, run
from toolbench.agent.policy import EXECUTE, SUGGEST, PolicyError, TrustPolicy, read_accuracy
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Api


def _api(method="POST", **extra):
    return Api(tool="ShopEase Orders", name="create_order", method=method, extra=extra)


def _accuracy(tmp_path, entries):
    path = tmp_path / "per_api.json"
    path.write_text(json.dumps(entries))
    return path


@pytest.mark.parametrize(("accuracy", "mode"), [(0.9, EXECUTE), (0.95, EXECUTE), (0.8999, SUGGEST), (0.0, SUGGEST)])
def test_policy_switches_at_the_threshold(tmp_path, accuracy, mode):
    path = _accuracy(tmp_path, {"ShopEase Orders/create_order": {"accuracy": accuracy, "n": 40}})
    decision = TrustPolicy.load(accuracy_file=path, threshold=0.9).decide(_api())
    assert decision.mode == mode and decision.consequential
    assert decision.evidence.accuracy == accuracy and decision.evidence.n == 40


def test_evidence_keys_tool_standard_name_and_function_name(tmp_path):
    for key in ("shopease_orders/create_order", CREATE):
        path = _accuracy(tmp_path, {key: {"accuracy": 1.0, "n": 50}})
        assert TrustPolicy.load(accuracy_file=path).decide(_api(), CREATE).mode == EXECUTE


def test_too_little_evidence_or_none_means_suggest(tmp_path):
    path = _accuracy(tmp_path, {CREATE: {"accuracy": 1.0, "n": 3}})
    few = TrustPolicy.load(accuracy_file=path, min_n=10).decide(_api(), CREATE)
    assert few.mode == SUGGEST and "only 3 measured calls" in few.reason
    assert TrustPolicy().decide(_api()).mode == SUGGEST
    assert TrustPolicy.load(accuracy_file=path, min_n=3).decide(_api(), CREATE).mode == EXECUTE


def test_read_only_runs_whatever_the_accuracy(tmp_path):
    path = _accuracy(tmp_path, {"ShopEase Orders/create_order": {"accuracy": 0.1, "n": 40}})
    decision = TrustPolicy.load(accuracy_file=path).decide(_api("GET"))
    assert (decision.mode, decision.consequential) == (EXECUTE, False)


def test_catalog_mark_and_policy_file_override_the_method(tmp_path):
    assert TrustPolicy().decide(_api("GET", **{"x-consequential": True})).mode == SUGGEST
    assert TrustPolicy().decide(_api("POST", **{"x-consequential": "false"})).mode == EXECUTE
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("threshold: 0.5\nread_only: ['ShopEase Orders/create_order']\n"
                           "always_confirm: [delete_event_for_chronokit_calendar]\n")
    policy = TrustPolicy.load(policy_file)
    assert policy.threshold == 0.5
    decision = policy.decide(_api("POST", **{"x-consequential": True}))
    assert (decision.mode, decision.consequential_source) == (EXECUTE, "policy file")
    delete = Api(tool="ChronoKit Calendar", name="delete_event", method="DELETE")
    path = _accuracy(tmp_path, {"chronokit_calendar/delete_event": {"accuracy": 1.0, "n": 100}})
    assert TrustPolicy.load(policy_file, path).decide(delete, "delete_event_for_chronokit_calendar").mode == SUGGEST


@pytest.mark.parametrize(("content", "message"), [
    ({"a/b": {"accuracy": 1.5, "n": 3}}, "'a/b'.accuracy: must be a number between 0 and 1"),
    ({"a/b": {"accuracy": 0.5}}, "'a/b'.n: must be the number of measured calls"),
    ({"a/b": 0.5}, "expected {\"accuracy\": x, \"n\": k}"),
    ([1, 2], "expected an object"),
])
def test_bad_accuracy_files_name_the_key(tmp_path, content, message):
    with pytest.raises(PolicyError, match=None) as err:
        read_accuracy(_accuracy(tmp_path, content))
    assert message in str(err.value)


def test_bad_policy_values_are_refused(tmp_path):
    with pytest.raises(PolicyError, match="threshold"):
        TrustPolicy(threshold=1.5)
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"treshold": 0.5}))
    with pytest.raises(PolicyError, match="unknown key"):
        TrustPolicy.load(bad)


def test_trusted_consequential_call_runs_without_approval(tmp_path, make_context, hub_get):
    """Above the threshold the agent places the order on its own; just below, the same call waits."""
    before = len(hub_get("/shop/orders")["orders"])
    trusted = TrustPolicy.load(accuracy_file=_accuracy(tmp_path, {CREATE: {"accuracy": 0.9, "n": 20}}), threshold=0.9)
    model = ScriptedChatModel([ScriptedChatModel.call(CREATE, ORDER), "Ordered."])
    result = run(lambda rt: rt.send("s1", "Order two P1003"), tmp_path / "a", make_context(model, trusted))
    assert result.status == "answered" and result.calls[0]["gate"] == EXECUTE
    assert len(hub_get("/shop/orders")["orders"]) == before + 1

    doubtful = TrustPolicy.load(accuracy_file=_accuracy(tmp_path, {CREATE: {"accuracy": 0.89, "n": 20}}),
                                threshold=0.9)
    model = ScriptedChatModel([ScriptedChatModel.call(CREATE, ORDER), "Ordered."])
    result = run(lambda rt: rt.send("s1", "Order two P1003"), tmp_path / "b", make_context(model, doubtful))
    assert result.status == "awaiting_approval" and "0.890 < threshold 0.900" in result.pending["call"]["reason"]
    assert len(hub_get("/shop/orders")["orders"]) == before + 1
