"""The query composer: skeletons drawn from the sampled APIs, phrased by rule or by a model whose text must pass
ToolBench's filters, and whole G1/G2/G3 runs in compose mode (scripted models; no network)."""

from __future__ import annotations

import json
import random

import pytest

from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.store import load_queries
from toolbench.catalog.values import ValueSampler
from toolbench.generate import composer, surface
from toolbench.generate.api_sets import ApiSetSampler
from toolbench.generate.calls import mentions_action
from toolbench.generate.instructions import InstructionConfig, InstructionRun, QueryFilter, queries_for_set
from toolbench.llm.base import LLMRequestError
from toolbench.llm.scripted import ScriptedChatModel


def composed(hub_catalog, group, index, seed=0):
    api_set = ApiSetSampler(hub_catalog, group, seed).sample(index)
    rng = random.Random(f"{group}{index}")
    steps = composer.skeleton(api_set, rng, ValueSampler(rng), 2, 5)
    return api_set, steps, composer.draft(steps, rng)


def task_of(messages):
    """The draft a phrasing request carries (its last user turn)."""
    return messages[-1]["content"].split("Task: ", 1)[1].split("\nKeep these values exactly:", 1)[0]


@pytest.mark.parametrize("group", ["G1", "G2", "G3"])
def test_every_draft_states_its_values_and_passes_the_filters(hub_catalog, group):
    """The draft is the call data's request realiser's text: every value stated in a form the checker accepts,
    every API's action named, no API name."""
    for index in range(25):
        api_set, steps, text = composed(hub_catalog, group, index)
        assert 2 <= len(steps) <= 3
        assert {s.api.key for s in steps} <= set(api_set.keys)
        if group == "G1":
            assert len({s.api.tool for s in steps}) == 1
        elif len(api_set.tools) > 1:
            assert len({s.api.tool for s in steps}) >= 2, "a G2/G3 query needs two tools"
        for step in steps:
            assert validate_arguments(step.api, step.arguments) == []
            for mention in step.mentions():
                assert surface.stated(mention, text), (mention, text)
            assert mentions_action(step.api.name, text, "en"), (step.api.name, text)
        assert composer.phrasing_problem(text, steps, api_set, 15, 10_000) is None, text
        assert composer.api_name_used(text, api_set.apis) is None


def test_the_filters_refuse_a_text_that_lost_a_value_an_api_or_names_an_api(hub_catalog):
    apis = {a.name: a for t in hub_catalog for a in t.apis}
    api_set = ApiSetSampler(hub_catalog, "G1", 0).sample(0)
    weather, alerts = apis["get_current_weather"], apis["get_weather_alerts"]
    api_set.apis = [weather, alerts]
    steps = [composer.Step(weather, {"city": "Paris"}), composer.Step(alerts, {"city": "Oslo", "severity": "severe"})]

    def problem(text):
        return composer.phrasing_problem(text, steps, api_set, 15, 400)

    good = "How is the weather in Paris right now? And are there any severe warnings for Oslo?"
    assert problem(good) is None
    assert problem(good.replace("Oslo", "Bergen")).startswith("lost_value: lost the value 'Oslo'")
    assert problem("What's it like in Paris? Any severe news from Oslo?").startswith("lost_api")
    assert problem(good + " Use get_weather_alerts.") == "api_name: names the API 'get_weather_alerts'"
    assert problem('{"query": "' + good + '"}').startswith("markup")
    assert problem("Paris Oslo").startswith("too_short")
    assert problem(good * 6).startswith("too_long")
    # a rewrite may not make a value up, nor copy the worked example's
    draft = "Could you check the weather in Paris, and the severe alerts for Oslo?"
    assert composer.phrasing_problem(good, steps, api_set, 15, 400, source=draft) is None
    made_up = good.replace("right now", "on 2025-01-13")
    assert composer.phrasing_problem(made_up, steps, api_set, 15, 400, source=draft) == (
        "added_value: '2025-01-13' is in no value of the query")
    copied = good + " Also the weather in Lyon."
    assert composer.phrasing_problem(copied, steps, api_set, 15, 400, source=draft).startswith("added_value")


def test_a_model_rewrite_is_kept_only_when_it_passes(hub_catalog):
    api_set = ApiSetSampler(hub_catalog, "G2", 0).sample(1)
    qfilter = QueryFilter(InstructionConfig(queries_per_set=3))
    seen = []

    def rewrite(messages, tools, params):
        seen.append(task_of(messages))
        return json.dumps({"query": "Hey! " + task_of(messages)})

    model = ScriptedChatModel([
        rewrite,                                               # a rewrite keeping everything: kept
        json.dumps({"query": "I want some data please, thank you very much."}),  # lost its values: the draft
        LLMRequestError("boom", status=500),                   # the request failed: the draft
    ])
    ids = iter(range(1, 100))
    result = queries_for_set(model, api_set, qfilter, InstructionConfig(queries_per_set=3),
                             lambda: str(next(ids)), seed=0)
    assert len(result.accepted) == 3 and result.rejected == []
    assert result.phrased_by == ["model", "rule", "rule"]
    assert result.accepted[0].text == "Hey! " + seen[0]
    assert [why.split(":")[0] for why in result.refused] in (["lost_value", "request_failed"],
                                                           ["lost_api", "request_failed"])
    for query in result.accepted:
        assert len({tool for tool, _ in query.relevant}) >= 2 and set(query.relevant) <= set(api_set.keys)
        assert "I want some data" not in query.text
    # constrained output: the request carries OpenAI's json_schema response_format, a {"query"} object
    fmt = model.requests[0]["params"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["required"] == ["query"]
    assert model.requests[0]["params"]["max_tokens"] <= InstructionConfig().max_tokens


def test_a_plain_text_reply_is_read_without_json_schema(hub_catalog):
    api_set = ApiSetSampler(hub_catalog, "G1", 0).sample(2)
    config = InstructionConfig(queries_per_set=1, json_schema=False)
    model = ScriptedChatModel([lambda messages, tools, params: '"Please, ' + task_of(messages) + '"'])
    result = queries_for_set(model, api_set, QueryFilter(config), config, lambda: "1", seed=0)
    assert "response_format" not in model.requests[0]["params"]
    assert result.phrased_by == ["model"] and result.accepted[0].text.startswith("Please, ")


@pytest.mark.parametrize("group", ["G1", "G2", "G3"])
def test_a_compose_run_without_a_model_yields_every_query_in_toolbench_format(tmp_path, hub_catalog, group):
    out = tmp_path / f"{group}_query.json"
    stats = InstructionRun(out=out, group=group, n=12, seed=0, config=InstructionConfig(queries_per_set=3)).run(
        None, hub_catalog)
    assert stats["kept"] == 12 and stats["yield"] == 1.0 and stats["phrased_by"] == {"rule": 12}
    queries = load_queries(out)
    assert len(queries) == 12 and len({q.text for q in queries}) == 12
    for query in queries:
        assert 2 <= len(query.relevant) <= 3 and set(query.relevant) <= {a.key for a in query.apis}
        if group != "G1":
            assert len({tool for tool, _ in query.relevant}) >= 2
        assert composer.api_name_used(query.text, query.apis) is None
    raw = json.loads(out.read_text())
    assert set(raw[0]) == {"api_list", "query", "relevant APIs", "query_id"}


def test_a_compose_run_resumes_and_counts_who_phrased(tmp_path, hub_catalog):
    out = tmp_path / "G1_query.json"

    def rewrite(messages, tools, params):
        return json.dumps({"query": "Hi, " + task_of(messages)})

    config = InstructionConfig(queries_per_set=2)
    first = InstructionRun(out=out, group="G1", n=2, seed=5, config=config)
    model = ScriptedChatModel([rewrite, "{\"query\": \"Hi, could you"])  # the second reply cut off
    stats = first.run(model, hub_catalog)
    assert stats["phrased_by"] == {"model": 1, "rule": 1} and stats["model_text_refused"] == {"no_text": 1}
    more = InstructionRun(out=out, group="G1", n=4, seed=5, config=config)
    stats = more.run(None, hub_catalog)
    assert stats["kept"] == 4 and stats["resumed_sets"] == 1 and stats["phrased_by"] == {"model": 1, "rule": 3}
    assert [q.id for q in load_queries(out)] == ["1", "2", "3", "4"]


def test_a_set_stops_once_the_run_has_its_queries(hub_catalog):
    api_set = ApiSetSampler(hub_catalog, "G1", 0).sample(0)
    config = InstructionConfig(queries_per_set=5)
    model = ScriptedChatModel(["x"], repeat_last=True)
    result = queries_for_set(model, api_set, QueryFilter(config), config, lambda: "1", 0, limit=2)
    assert len(result.accepted) == 2 and len(model.requests) == 2


def test_mode_is_checked():
    from toolbench.generate.errors import GenerateError

    with pytest.raises(GenerateError, match="instructions.mode"):
        InstructionConfig(mode="poetry")


def test_queries_of_one_set_prefer_different_api_combinations(hub_catalog):
    for group in ("G1", "G2", "G3"):
        sampler = ApiSetSampler(hub_catalog, group, 0)
        config = InstructionConfig(queries_per_set=3)
        for index in range(6):
            api_set = sampler.sample(index)
            result = queries_for_set(None, api_set, QueryFilter(config), config, lambda: "1", 0)
            combos = [tuple(q.relevant) for q in result.accepted]
            possible = {tuple(a.key for a in composer._pick(api_set, random.Random(i), 2, 5)) for i in range(200)}
            assert len(set(combos)) == min(len(combos), len(possible)), (group, index, combos)
