from __future__ import annotations

import json

import pytest

from toolbench.catalog.store import load_queries
from toolbench.generate.api_sets import ApiSetSampler
from toolbench.generate.dedup import DedupIndex, normalize_text
from toolbench.generate.instructions import InstructionConfig, InstructionRun, QueryFilter, queries_for_set
from toolbench.llm.base import LLMRequestError
from toolbench.llm.scripted import ScriptedChatModel

LLM = InstructionConfig(mode="llm")  # the model writes whole queries (ToolBench's prompt)


def words(name):
    """An API name as words (a query writing ``get_quote`` verbatim is rejected)."""
    return name.replace("_", " ")


def reply_for(api_set, *queries):
    """A reply listing queries; each is (text, relevant pairs or None for "the first two sampled APIs")."""
    entries = [{"query": text, "relevant APIs": [list(k) for k in (rel or api_set.keys[:2])]} for text, rel in queries]
    return "Here you go:\n```json\n" + json.dumps(entries) + "\n```"


def test_dedup_catches_exact_and_near_duplicates_in_english_and_chinese():
    index = DedupIndex(threshold=0.8)
    index.add("1", "What's the weather in Paris tomorrow, and the forecast for the week?")
    index.add("2", "帮我查一下巴黎明天的天气和本周的天气预报")
    assert index.check("what's the WEATHER in paris tomorrow and the forecast for the week").kind == "duplicate"
    near = index.check("What's the weather in Paris tomorrow, and the forecast for this week?")
    assert near.kind == "near_duplicate" and near.other == "1" and near.similarity >= 0.8
    assert index.check("帮我查一下巴黎明天的天气和本周天气预报").kind == "near_duplicate"
    assert index.check("Convert 100 euros to yen and show the yen's history") is None
    assert normalize_text("Hi,  THERE!") == "hi there"


def test_each_filter_rejects_what_it_should_with_its_reason(tools):
    api_set = ApiSetSampler(tools, "G1", seed=0).sample(0)
    tool = api_set.tools[0]
    good = "I'm in Paris next week: what is the weather right now and what does the forecast say?"
    model = ScriptedChatModel([reply_for(
        api_set,
        (good, None),
        (good.upper(), None),                                                      # duplicate
        (good.replace("next week", "next weeks"), None),                           # near-duplicate
        ("Check the weather where my sister lives, Lyon, and Rome too please.", [(tool, "no_such_api"),
                                                                                 api_set.keys[0]]),
        ("Tell me the current conditions in Osaka, only that one API please.", api_set.keys[:1]),  # too few
        ("short", None),                                                           # too short
        ("Find a good recipe to cook tonight, and the weather for the picnic.", [("Recipes", "search_recipes"),
                                                                                 api_set.keys[0]]),
    ) + "\n", "this is not json at all"])
    qfilter = QueryFilter(LLM)
    ids = iter(range(1, 100))
    result = queries_for_set(model, api_set, qfilter, LLM, lambda: str(next(ids)), seed=0)
    assert [q.text for q in result.accepted] == [good]
    assert result.accepted[0].relevant == [tuple(k) for k in api_set.keys[:2]]
    assert [r.reason for r in result.rejected] == ["duplicate", "near_duplicate", "not_in_sample", "too_few_apis",
                                                   "malformed_entry", "not_in_sample"]
    assert "no_such_api" in result.rejected[2].detail
    # a reply without JSON is kept as one rejection, with the raw text
    again = queries_for_set(model, api_set, qfilter, LLM, lambda: str(next(ids)), seed=0)
    assert again.accepted == [] and again.rejected[0].reason == "malformed_reply"
    assert again.rejected[0].text == "this is not json at all"
    # the request itself failing is a malformed reply too, and the run goes on
    failing = ScriptedChatModel([LLMRequestError("boom", status=500)])
    failed = queries_for_set(failing, api_set, qfilter, LLM, lambda: "x", seed=0)
    assert failed.rejected[0].reason == "malformed_reply" and "boom" in failed.rejected[0].detail
    # the model was shown the sampled APIs and the seed is per set
    prompt = model.requests[0]["messages"][-1]["content"]
    assert all(api.name in prompt for api in api_set.apis)
    assert model.requests[0]["params"]["seed"] == 0


def test_g2_and_g3_queries_must_use_two_tools(hub_catalog):
    api_set = next(s for s in ApiSetSampler(hub_catalog, "G3", seed=1).sample_many(20) if len(s.tools) >= 2)
    one_tool = [k for k in api_set.keys if k[0] == api_set.tools[0]]
    two_tools = [api_set.keys[0], next(k for k in api_set.keys if k[0] != api_set.keys[0][0])]
    model = ScriptedChatModel([reply_for(api_set, ("Use two things from the same tool for my trip planning.",
                                                   one_tool[:2] if len(one_tool) >= 2 else one_tool * 2),
                                         ("Plan my evening: combine two different services for me.", two_tools))])
    result = queries_for_set(model, api_set, QueryFilter(LLM), LLM, lambda: "1", 0)
    reasons = [r.reason for r in result.rejected]
    assert reasons == ["single_tool"] or reasons == ["too_few_apis"]
    assert len(result.accepted) == 1 and {t for t, _ in result.accepted[0].relevant} == {k[0] for k in two_tools}


def test_a_run_writes_toolbench_queries_and_resumes(tmp_path, tools):
    def responder(messages, tools_, params):
        # one good and one out-of-sample query per set, built from the APIs in the prompt
        docs = json.loads(messages[-1]["content"].split("APIs:\n", 1)[1].split("\n\n- ", 1)[0])
        pairs = [[d["tool"], d["api"]] for d in docs][:2]
        n = params["seed"]
        return json.dumps([
            {"query": f"Request number {n}: please do {words(docs[0]['api'])} then {words(docs[1]['api'])} for me, with care "
                      f"{'and speed' * (n % 3)} {n * 7919}", "relevant APIs": pairs},
            {"query": f"Another request {n} that uses an API that was never offered here", "relevant APIs":
                [["Nope", "nothing"], pairs[0]]}])

    out = tmp_path / "G1_query.json"
    run = InstructionRun(out=out, group="G1", n=3, seed=100, config=LLM)
    stats = run.run(ScriptedChatModel([responder] * 3), tools)
    assert stats["kept"] == 3 and stats["rejected_by_reason"] == {"not_in_sample": 3}
    queries = load_queries(out)
    assert [q.id for q in queries] == ["1", "2", "3"] and all(q.group == "G1" for q in queries)
    assert all(set(q.relevant) <= {a.key for a in q.apis} for q in queries)
    raw = json.loads(out.read_text())
    assert set(raw[0]) == {"api_list", "query", "relevant APIs", "query_id"} and raw[0]["query_id"] == 1
    assert set(raw[0]["api_list"][0]) >= {"category_name", "tool_name", "api_name", "api_description",
                                          "required_parameters", "optional_parameters", "method"}
    rejected = json.loads((tmp_path / "G1_query.rejected.json").read_text())
    assert {r["reason"] for r in rejected} == {"not_in_sample"}
    # asking for more resumes: the 3 sets already done are skipped, ids go on
    more = InstructionRun(out=out, group="G1", n=5, seed=100, config=LLM)
    model = ScriptedChatModel([responder] * 2)
    stats = more.run(model, tools)
    assert stats["kept"] == 5 and stats["resumed_sets"] == 3 and model.remaining == 0
    assert [q.id for q in load_queries(out)] == ["1", "2", "3", "4", "5"]
    assert [r["params"]["seed"] for r in model.requests] == [103, 104]


def test_requests_carry_the_reply_schema_which_accepts_good_replies_only(tools):
    import jsonschema

    api_set = ApiSetSampler(tools, "G1", seed=3).sample(0)
    good = json.loads(reply_for(api_set, ("Please look this up for me and tell me what you find out.", None))
                      .split("```json\n")[1].split("\n```")[0])
    config = InstructionConfig(mode="llm", queries_per_set=2)
    model = ScriptedChatModel([json.dumps({"queries": good})])
    result = queries_for_set(model, api_set, QueryFilter(config), config, lambda: "1", 0)
    assert len(result.accepted) == 1
    fmt = model.requests[0]["params"]["response_format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["json_schema"]["schema"]
    jsonschema.validate({"queries": good}, schema)
    with pytest.raises(jsonschema.ValidationError):  # an API outside the set
        bad = [{"query": good[0]["query"], "relevant APIs": [["Nope", "x"], list(api_set.keys[0])]}]
        jsonschema.validate({"queries": bad}, schema)
    with pytest.raises(jsonschema.ValidationError):  # more queries than asked for
        jsonschema.validate({"queries": good * 3}, schema)
    config = InstructionConfig(mode="llm", queries_per_set=2, json_schema=False)
    model = ScriptedChatModel([json.dumps(good)])
    queries_for_set(model, api_set, QueryFilter(config), config, lambda: "1", 0)
    assert "response_format" not in model.requests[0]["params"]
