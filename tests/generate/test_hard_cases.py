"""The hard cases of the call data: multiple with near-miss distractors, parallel(_multiple) sizes, irrelevance
kinds answered in text, traps beside close neighbours, multi-turn with results; their verification, stats and
exports (issue 19 item 3)."""

from __future__ import annotations

import json
import random
import statistics

import pytest
from typer.testing import CliRunner

from tests.generate.conftest import _tool, only
from toolbench.catalog.store import write_tool
from toolbench.cli import app
from toolbench.generate import abstain, export, off_topic, render
from toolbench.generate.calls import CallGenerator, CallsConfig, Paraphraser
from toolbench.generate.distractors import (
    Offer,
    could_serve,
    distinguished,
    name_stems,
    pick_distractors,
    similarity,
)
from toolbench.generate.errors import GenerateError
from toolbench.generate.off_topic import servable_by
from toolbench.generate.verify import StageCounts, Verifier
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Api, Param


def eats_tools():
    """One tool of near misses (the same id, similar names) and one of another category."""
    rid = Param("restaurant_id", "STRING", "Restaurant id", "R1", required=True,
                schema={"type": "string", "pattern": "^R[0-9]{3}$"})
    eats = _tool("Eats", "Food", [
        Api("", "get_restaurant", "Details of a restaurant", required_params=[rid]),
        Api("", "get_restaurant_reviews", "Reviews of a restaurant", required_params=[rid]),
        Api("", "get_restaurant_menu", "Menu of a restaurant", required_params=[rid]),
    ])
    city = Param("city", "STRING", "City name", "Paris", required=True)
    sky = _tool("Sky", "Weather", [Api("", "get_current_weather", "Current weather", required_params=[city])])
    return [eats, sky]


def _apis(tools):
    return {(a.tool, a.name): a for t in tools for a in t.apis}


# -- near misses ------------------------------------------------------------------------------------------------

def test_similarity_ranks_near_misses_first(hub_catalog):
    apis = _apis(hub_catalog)
    reviews = apis[("TableFinder", "get_restaurant_reviews")]
    assert similarity(reviews, apis[("TableFinder", "get_restaurant_menu")]) > \
        similarity(reviews, apis[("TableFinder", "search_restaurants")]) > similarity(reviews, apis[("StockQuotes", "get_quote")])
    picked = pick_distractors(random.Random(0), reviews, apis.values(), 3, near_rate=1.0)
    assert len(picked) == 3 and reviews not in picked
    assert all(a.tool == "TableFinder" for a in picked)
    assert name_stems("getRestaurantReviews") == ["get", "restaurant", "review"]


def test_distinguished_by_arguments_or_words():
    plain = Offer("f1", "get_restaurant", "Eats", frozenset({"restaurant_id"}), frozenset({"restaurant_id"}))
    reviews = Offer("f2", "get_restaurant_reviews", "Eats", frozenset({"restaurant_id"}), frozenset({"restaurant_id"}))
    weather = Offer("f3", "get_current_weather", "Sky", frozenset({"city"}), frozenset({"city"}))
    args = {"restaurant_id": "R100"}
    assert distinguished(args, plain, weather, "get restaurant R100") == "arguments"
    assert distinguished(args, reviews, plain, "Show me the reviews of restaurant R100") == "words"
    assert distinguished(args, plain, reviews, "Get restaurant R100") == "words"
    assert distinguished(args, reviews, plain, "Get restaurant R100") is None  # the request says no "reviews"
    assert distinguished(args, plain, reviews, "Get restaurant R100 and its reviews") is None
    assert distinguished(args, reviews, plain, "获取餐厅R100的评价", render._GLOSSARY) == "words"


def test_could_serve_reads_verbs_alike_and_response_fields():
    assert could_serve("list_orders", "get_orders") and could_serve("search_movies_v2", "find_movies")
    assert not could_serve("get_ticket", "create_ticket")
    assert not could_serve("get_movie", "get_movie_cast")
    assert could_serve("get_movie", "get_movie_cast", {"title", "cast"})
    assert could_serve("/dad-jokes/random", "get_jokes")  # a name without a verb reads
    assert not could_serve("track_order", "get_order") and not could_serve("get_order", "cancel_order")


def test_refusals_name_what_was_asked_and_what_is_offered():
    rng = random.Random(0)
    verb = abstain.cannot_reply("missing_capability", "cancel_order", ["create_order", "track_order"], "en", rng)
    assert "cancel order" in verb and "give you" not in verb and '"create order" and "track order"' in verb
    thing = abstain.cannot_reply("other_category", "Heizgradtage", ["Search Contacts"], "en", rng)
    assert 'give you "heizgradtage"' in thing and '"search contacts"' in thing
    zh = abstain.cannot_reply("missing_capability", "cancel_order", ["create_order"], "zh", rng)
    assert "取消订单" in zh and "创建订单" in zh


def test_refusals_and_clarifications_come_in_several_wordings():
    """Many wordings, each naming what it must: a tuned model learns when to refuse, not one sentence."""
    rng = random.Random(0)
    missing = {abstain.cannot_reply("missing_capability", "cancel_order", ["track_order"], "en", rng)
               for _ in range(60)}
    off = {abstain.cannot_reply("off_topic", None, ["track_order"], "en", rng) for _ in range(60)}
    ask = {abstain.clarify_reply("Acme Inc", "company ID", "en", rng) for _ in range(60)}
    assert len(missing) >= 5 and len(off) >= 4 and len(ask) >= 3
    assert all("cancel order" in r and '"track order"' in r for r in missing)
    assert all('"track order"' in r for r in off)
    assert all("Acme Inc" in r and "company ID" in r for r in ask)


def test_multiple_offers_three_to_six_with_near_misses(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=4, config=only("multiple", zh_rate=0.3))
    verifier = Verifier(hub_catalog)
    apis = _apis(hub_catalog)
    near, random_sims, same_tool, total = [], [], 0, 0
    rng = random.Random(0)
    for i in range(40):
        sample = gen.generate(i)
        assert verifier.verify(sample).status == "passed", sample.to_dict()
        assert 3 <= len(sample.functions) <= 6 and len(sample.calls) == 1
        (call,) = sample.calls
        distractors = sample.meta["distractors"]
        assert len(distractors) == len(sample.functions) - 1
        assert (call.tool, call.api) not in {(d["tool"], d["api"]) for d in distractors}
        target = apis[(call.tool, call.api)]
        near += [d["similarity"] for d in distractors]
        random_sims += [similarity(target, a) for a in rng.sample(list(apis.values()), 3) if a.key != target.key]
        same_tool += sum(d["same_tool"] for d in distractors)
        total += len(distractors)
    assert statistics.mean(near) > statistics.mean(random_sims) + 0.1
    assert same_tool / total > 0.4


def test_near_misses_stay_only_when_the_request_tells_them_apart():
    tools = eats_tools()
    gen = CallGenerator(tools, seed=1, config=only("multiple", zh_rate=0.0, near_miss_rate=1.0))
    verifier = Verifier(tools)
    seen_near = vague_checked = 0
    for i in range(20):
        sample = gen.generate(i)
        assert verifier.verify(sample).status == "passed", sample.to_dict()
        (call,) = sample.calls
        offered = {v[1] for v in sample.function_map.values()}
        text = sample.first_user.casefold()
        if call.api == "get_restaurant":
            # the plain API: the request names neither reviews nor menu, so both near misses can be offered
            assert "review" not in text and "menu" not in text
        seen_near += len(offered & {"get_restaurant", "get_restaurant_reviews", "get_restaurant_menu"}) - 1
        if call.api == "get_restaurant_reviews" and "get_restaurant" in offered:
            vague = sample.copy()
            vague.steps[0].user = vague.steps[0].user.replace("reviews", "").replace("review", "")
            checked = verifier.verify(vague)
            assert checked.status == "rejected:meaning" and "does not tell" in checked.verdicts[-1].reason
            vague_checked += 1
    assert seen_near >= 20 and vague_checked > 0


# -- abstaining ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["missing_capability", "same_arguments", "other_category", "off_topic"])
def test_irrelevance_kinds_have_no_call_and_say_why(hub_catalog, kind):
    from eval.parse import is_refusal

    gen = CallGenerator(hub_catalog, seed=8, config=CallsConfig(weights={"irrelevance": 1.0},
                                                                irrelevance_kinds={kind: 1.0}, zh_rate=0.3))
    verifier = Verifier(hub_catalog)
    apis = _apis(hub_catalog)
    texts: set[str] = set()
    for i in range(20):
        sample = gen.generate(i)
        checked = verifier.verify(sample)
        assert checked.status == "passed", (sample.to_dict(), checked.verdicts)
        assert sample.meta["kind"] == kind and sample.calls == [] and len(sample.steps) == 1
        reply = sample.steps[0].reply
        assert reply and is_refusal(reply)
        offered = [tuple(v) for v in sample.function_map.values()]
        if kind == "off_topic":
            assert sample.meta["target"] is None and sample.meta["topic"]
            assert not any(servable_by(sample.meta["topic"], api, apis[(tool, api)].description)
                           for tool, api in offered)
            texts.add(sample.first_user)
            continue
        target = apis[tuple(sample.meta["target"])]
        assert target.key not in offered
        assert not any(could_serve(a, target.name) for _, a in offered)
        assert render.action(target.name, sample.language) in reply
        categories = {apis[k].category for k in offered}
        if kind == "missing_capability":
            assert all(apis[k].tool == target.tool or apis[k].category == target.category for k in offered)
        elif kind == "same_arguments":  # every offered function needs a parameter the target takes, by name
            assert all({p.name for p in apis[k].required_params} & {p.name for p in target.params} for k in offered)
        else:
            assert target.category not in categories
    assert kind != "off_topic" or len(texts) >= 15  # composed, not a handful of fixed sentences


def test_off_topic_requests_never_offer_a_function_on_their_topic(hub_catalog):
    rng = random.Random(0)
    translation = off_topic.OffTopic("Translate 'thank you' into Korean.", {"translate", "translation"})
    assert off_topic.servable_by(translation.topic, "translate_text", "Translates text into a language")
    assert not off_topic.servable_by(translation.topic, "get_quote", "Stock quote")
    made = [off_topic.off_topic_request(rng, lang) for lang in ("en", "zh") * 30]
    assert all(m.text and m.topic for m in made) and len({m.text for m in made}) > 40
    gen = CallGenerator(hub_catalog, seed=1, config=CallsConfig(weights={"irrelevance": 1.0},
                                                                irrelevance_kinds={"off_topic": 1.0}))
    sample = gen.generate(0)
    touched = sample.copy()
    touched.functions[0] = {**touched.functions[0], "description": "Translate and explain anything, write poems"}
    touched.meta["topic"] = ["translate", "explain", "poem", "math"]
    checked = Verifier(hub_catalog).verify(touched)
    assert checked.status == "rejected:meaning" and "off-topic request's topic" in checked.verdicts[-1].reason


def test_irrelevance_verification_rejects_a_servable_request(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=2, config=CallsConfig(weights={"irrelevance": 1.0},
                                                                irrelevance_kinds={"missing_capability": 1.0}))
    verifier = Verifier(hub_catalog)
    sample = gen.generate(0)
    tool, api = sample.meta["target"]
    offered = sample.copy()
    offered.function_map[next(iter(offered.function_map))] = [tool, api]
    assert "is offered" in verifier.verify(offered).verdicts[-1].reason
    twin = sample.copy()  # an API of another tool with the same words serves the request too
    twin.function_map[next(iter(twin.function_map))] = ["OtherTool", api]
    checked = Verifier().verify(twin)
    assert checked.status == "rejected:meaning" and "could serve" in checked.verdicts[-1].reason
    unknown = sample.copy()
    unknown.meta["target"] = [tool, "no_such_api"]
    assert "not in the catalog" in verifier.verify(unknown).verdicts[-1].reason
    with_call = sample.copy()
    with_call.steps[0].calls = gen.__class__(hub_catalog, seed=2, config=only("simple")).generate(0).steps[0].calls
    assert verifier.verify(with_call).status == "rejected:format"


def test_traps_offer_neighbours_that_need_the_same_identifier(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=5, config=only("hallucination", max_offered=5))
    apis = _apis(hub_catalog)
    neighbours = 0
    for i in range(25):
        sample = gen.generate(i)
        assert Verifier(hub_catalog).verify(sample).status == "passed"
        assert sample.calls == [] and sample.steps[0].reply and sample.meta["kind"] == "fake_entity"
        probe = sample.meta["probe"]
        for tool, api in (tuple(v) for v in sample.function_map.values()):
            if tool == probe["tool"] and api != probe["api"]:
                assert probe["param"] in {p.name for p in apis[(tool, api)].required_params}
                neighbours += 1
        assert sample.meta["entity"] in sample.steps[0].reply
    assert neighbours > 0


def test_multi_turn_follow_up_uses_the_result_beside_near_misses(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=7, config=only("multi_turn", zh_rate=0.0))
    verifier = Verifier(hub_catalog)
    with_distractors = 0
    for i in range(20):
        sample = gen.generate(i)
        assert verifier.verify(sample).status == "passed", sample.to_dict()
        first, second = sample.steps
        (carried,) = [c for c in second.calls if c.from_previous]
        (arg, _key), = carried.from_previous.items()
        assert str(carried.arguments[arg]) in first.observations[0]
        assert str(carried.arguments[arg]) not in second.user  # the follow-up points at the result
        with_distractors += bool(sample.meta["distractors"])
    assert with_distractors > 0


# -- determinism, config, stats, exports -------------------------------------------------------------------------

@pytest.mark.parametrize("category", ["multiple", "parallel_multiple", "irrelevance", "hallucination"])
def test_hard_cases_are_deterministic(hub_catalog, category):
    a = [CallGenerator(hub_catalog, seed=3, config=only(category)).generate(i).to_dict() for i in range(8)]
    b = [CallGenerator(hub_catalog, seed=3, config=only(category)).generate(i).to_dict() for i in range(8)]
    c = [CallGenerator(hub_catalog, seed=4, config=only(category)).generate(i).to_dict() for i in range(8)]
    assert a == b and a != c


def test_near_miss_rate_moves_distractor_similarity(hub_catalog):
    def mean_similarity(rate):
        gen = CallGenerator(hub_catalog, seed=9, config=only("multiple", near_miss_rate=rate))
        return statistics.mean(d["similarity"] for i in range(30) for d in gen.generate(i).meta["distractors"])
    assert mean_similarity(1.0) > mean_similarity(0.0) + 0.1


def test_config_checks_the_mix():
    with pytest.raises(GenerateError, match="irrelevance_kinds"):
        CallsConfig(irrelevance_kinds={"nonsense": 1.0})
    with pytest.raises(GenerateError, match="near_miss_rate"):
        CallsConfig(near_miss_rate=1.5)
    with pytest.raises(GenerateError, match="min_offered"):
        CallsConfig(min_offered=1)
    small = CallGenerator(eats_tools(), seed=0, config=only("multiple", max_offered=2))
    assert all(len(small.generate(i).functions) == 2 for i in range(5))


def test_stats_count_kinds_and_shapes(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=1, config=CallsConfig(weights={"multiple": 1, "irrelevance": 1}))
    counts = StageCounts()
    samples = [Verifier(hub_catalog).verify(gen.generate(i)) for i in range(30)]
    for sample in samples:
        counts.add(sample)
    report = counts.to_dict()
    irrelevant = [s for s in samples if s.category == "irrelevance"]
    assert sum(v["total"] for k, v in report["by_kind"].items() if k.startswith("irrelevance/")) == len(irrelevant)
    multiple = report["shapes"]["multiple"]
    assert multiple["calls"] == {"1": 30 - len(irrelevant)}
    assert sum(multiple["offered"].values()) == 30 - len(irrelevant) and set(multiple["offered"]) <= set("3456")
    assert multiple["distractors"]["total"] >= 2 * (30 - len(irrelevant))
    assert report["shapes"]["irrelevance"]["calls"] == {"0": len(irrelevant)}


def test_no_call_samples_export_as_text_replies(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=0, config=only("irrelevance"))
    sample = gen.generate(0)
    ((entry, answer),) = export.bfcl_entries(sample)
    assert entry["category"] == "irrelevance" and answer is None
    assert entry["question"] == [[{"role": "user", "content": sample.first_user}]]
    messages = export.openai_example(sample)["messages"]
    assert messages[-1] == {"role": "assistant", "content": sample.steps[0].reply}
    assert not any(m.get("tool_calls") for m in messages)
    assert export.sharegpt_example(sample)["conversations"][-1] == {"from": "gpt", "value": sample.steps[0].reply}
    from train.format import from_openai, from_sharegpt  # the trainer reads the reply as the assistant's turn

    for example in (from_openai(export.openai_example(sample)), from_sharegpt(export.sharegpt_example(sample))):
        assert example.messages[-1]["role"] == "assistant"
        assert example.messages[-1]["content"] == sample.steps[0].reply and not example.messages[-1].get("tool_calls")


def test_cli_mix_options(tmp_path):
    for tool in eats_tools():
        write_tool(tool, tmp_path / "catalog")
    out = tmp_path / "calls"
    result = CliRunner().invoke(app, ["generate", "calls", "--catalog", str(tmp_path / "catalog"), "--n", "12",
                                      "--out", str(out), "--verify", "--mix", "simple=0", "--mix", "parallel=0",
                                      "--mix", "parallel_multiple=0", "--mix", "multi_turn=0",
                                      "--mix", "hallucination=0", "--mix", "multiple=3",
                                      "--irrelevance-kind", "off_topic=0", "--max-offered", "3"])
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert set(stats["by_category"]) <= {"multiple", "irrelevance"} and "multiple" in stats["by_category"]
    assert "irrelevance/off_topic" not in stats["by_kind"]
    assert all(int(n) <= 3 for shape in stats["shapes"].values() for n in shape["offered"])
    bad = CliRunner().invoke(app, ["generate", "calls", "--catalog", str(tmp_path / "catalog"), "--n", "2",
                                   "--out", str(out), "--mix", "multiple=lots"])
    assert bad.exit_code != 0 and "--mix multiple=lots" in str(bad.exception)


def test_a_paraphrase_must_keep_the_word_that_tells_near_misses_apart():
    tools = eats_tools()
    config = only("multiple", zh_rate=0.0, near_miss_rate=1.0, paraphrase_rate=1.0)
    plain = CallGenerator(tools, seed=1, config=only("multiple", zh_rate=0.0, near_miss_rate=1.0))
    index = next(i for i in range(40) if (s := plain.generate(i)).calls[0].api == "get_restaurant_reviews"
                 and ["Eats", "get_restaurant"] in s.function_map.values())

    def drop_reviews(messages, tools_, params):
        original = messages[-1]["content"].rsplit("Request: ", 1)[1]
        return original.replace("reviews", "opinions").replace("Reviews", "Opinions").replace("review", "opinion")

    model = ScriptedChatModel([drop_reviews])
    sample = CallGenerator(tools, seed=1, config=config, paraphraser=Paraphraser(model)).generate(index)
    assert sample.meta["paraphrase"] == ["paraphrase refused: it lost 'review'"]
    assert sample.first_user == plain.generate(index).first_user


def test_every_generated_refusal_scores_as_an_abstention(hub_catalog):
    """eval's irrelevance rule accepts a reply it reads as a refusal: the generated ones, English and Chinese."""
    from eval.parse import is_refusal

    gen = CallGenerator(hub_catalog, seed=0, config=CallsConfig(weights={"irrelevance": 2, "hallucination": 1},
                                                                zh_rate=0.5))
    replies = [(s.language, s.steps[-1].reply) for s in (gen.generate(i) for i in range(60))]
    assert {lang for lang, _ in replies} == {"en", "zh"}
    assert [r for _, r in replies if not is_refusal(r)] == []
    assert not is_refusal("能不能帮我查一下天气？") and not is_refusal("好的，这是巴黎的天气。")


def test_generated_hard_cases_keep_their_tiers(hub_catalog):
    from eval.tiers import label_entries

    gen = CallGenerator(hub_catalog, seed=0)
    samples = [gen.generate(i) for i in range(80)]
    entries = [entry for s in samples for entry, _ in export.bfcl_entries(s)]
    labelled = label_entries(entries, {s.id: s.to_dict() for s in samples})
    tiers = {e.get("tier") for e in labelled}
    assert {"simple", "multiple", "parallel", "parallel_multiple", "multi_turn", "enterprise"} <= tiers
    for entry in labelled:
        if entry["category"] == "irrelevance":
            assert "tier" not in entry and "entity" not in entry
        if entry["category"] == "irrelevance_hallucination":
            assert entry["entity"] == "fake" and "tier" not in entry


def test_large_catalogs_are_sampled_and_still_give_near_misses():
    """Over 400 APIs, distractors are looked for among the anchor's tool and category and a random draw."""
    tools = []
    for t in range(120):
        rid = Param("item_id", "STRING", "Item id", "I1", required=True, schema={"type": "string", "pattern": "^I[0-9]{3}$"})
        tools.append(_tool(f"Shop{t}", f"Cat{t % 12}", [
            Api("", f"get_item_{t}", "Details of an item", required_params=[rid]),
            Api("", f"get_item_{t}_reviews", "Reviews of an item", required_params=[rid]),
            Api("", f"get_item_{t}_price_history", "Past prices of an item", required_params=[rid]),
            Api("", f"list_items_{t}", "All items", optional_params=[Param("page", "NUMBER", "Page", 1)])]))
    gen = CallGenerator(tools, seed=0, config=only("multiple", zh_rate=0.0, near_miss_rate=1.0))
    assert len(gen.apis) == 480
    samples = [gen.generate(i) for i in range(20)]
    assert all(Verifier(tools).verify(s).status == "passed" for s in samples)
    distractors = [d for s in samples for d in s.meta["distractors"]]
    assert sum(d["same_tool"] for d in distractors) / len(distractors) > 0.3
    assert [s.to_dict() for s in samples] == [
        CallGenerator(tools, seed=0, config=only("multiple", zh_rate=0.0, near_miss_rate=1.0)).generate(i).to_dict()
        for i in range(20)]


def test_a_trap_names_the_kind_of_thing_from_the_apis_nouns():
    """"It's a from." and "It's a id." came from the last word of an API's name, whatever it was."""
    from toolbench.generate.fakes import entity_kind

    kinds = {name: entity_kind("x", Api("T", name, "")) for name in (
        "Search trips from-to", "Get User By ID", "List of Champions", "player details", "teams-coaches/{teamIds}",
        "Get Categories", "Get All Stats")}
    assert kinds == {"Search trips from-to": "trip", "Get User By ID": "user", "List of Champions": "champion",
                     "player details": "player", "teams-coaches/{teamIds}": "coach", "Get Categories": "category",
                     "Get All Stats": "item"}
    assert entity_kind("movie_id", Api("T", "Get details", "")) == "movie"  # an identifier's own name first
