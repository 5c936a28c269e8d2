from __future__ import annotations

import json
import re

import pytest

from toolbench.generate.call_samples import CATEGORIES, CallSample
from toolbench.generate.calls import CallGenerator, CallsConfig, Paraphraser, find_chains, value_mentions
from toolbench.generate.errors import GenerateError
from toolbench.generate.verify import Verifier
from toolbench.llm.scripted import ScriptedChatModel


def only(category: str, **kw) -> CallsConfig:
    return CallsConfig(weights={category: 1.0}, **kw)


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_gives_well_formed_samples(hub_catalog, category):
    gen = CallGenerator(hub_catalog, seed=3, config=only(category, zh_rate=0.5))
    verifier = Verifier(hub_catalog)
    for index in range(15):
        sample = gen.generate(index)
        assert sample.id == f"{category}_{index}" and sample.category == category
        checked = verifier.verify(sample)
        assert checked.status == "passed", (sample.to_dict(), checked.verdicts)
        names = [c.name for c in sample.calls]
        offered = [f["name"] for f in sample.functions]
        assert set(names) <= set(offered)
        if category == "simple":
            assert len(names) == 1 and len(offered) == 1
        elif category == "multiple":
            assert len(names) == 1 and len(offered) >= 2
        elif category == "parallel":
            assert len(names) >= 2 and len(set(names)) == 1
            assert len({json.dumps(c.arguments, sort_keys=True) for c in sample.calls}) == len(names)
        elif category == "parallel_multiple":
            assert len(set(names)) >= 2
        elif category in ("irrelevance", "hallucination"):
            assert names == [] and sample.steps[-1].reply
        elif category == "multi_turn":
            first, second = sample.steps
            (carried,) = [c for c in second.calls if c.from_previous]
            (arg, _key), = carried.from_previous.items()
            assert json.dumps(carried.arguments[arg], ensure_ascii=False).strip('"') in first.observations[0]
            assert sample.meta["observations"] == "synthetic"


def test_samples_are_deterministic_per_seed_and_index(hub_catalog):
    a = CallGenerator(hub_catalog, seed=11)
    b = CallGenerator(hub_catalog, seed=11)
    assert [a.generate(i).to_dict() for i in range(25)] == [b.generate(i).to_dict() for i in (range(25))]
    assert b.generate(17).to_dict() == a.generate(17).to_dict()
    c = CallGenerator(hub_catalog, seed=12)
    assert [a.generate(i).to_dict() for i in range(10)] != [c.generate(i).to_dict() for i in range(10)]
    counts = {cat: 0 for cat in CATEGORIES}
    for i in range(200):
        counts[a.category_for(i)] += 1
    assert all(n > 0 for n in counts.values())


def test_chinese_and_english_requests(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=5, config=CallsConfig(zh_rate=0.5))
    samples = [gen.generate(i) for i in range(60)]
    zh = [s for s in samples if s.language == "zh"]
    en = [s for s in samples if s.language == "en"]
    assert zh and en
    assert all(re.search(r"[\u4e00-\u9fff]", s.first_user) for s in zh)
    assert all(not re.search(r"[\u4e00-\u9fff]", s.first_user) or s.category == "irrelevance" or
               any(re.search(r"[\u4e00-\u9fff]", m) for c in s.calls for m in value_mentions(c.arguments))
               for s in en)


def test_hallucination_traps_name_an_unknown_entity(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=2, config=only("hallucination"))
    for i in range(10):
        sample = gen.generate(i)
        probe = sample.meta["probe"]
        assert sample.meta["entity"] in sample.first_user
        assert str(probe["arguments"][probe["param"]]) not in sample.first_user
        assert tuple(sample.meta["target"]) in {tuple(v) for v in sample.function_map.values()}


def test_multi_turn_chains_carry_identifiers(hub_catalog):
    chains = find_chains([a for t in hub_catalog for a in t.apis])
    pairs = {(c.first.name, c.second.name, c.param) for c in chains}
    assert ("search_companies", "get_quote", "ticker") in pairs
    assert all(c.param not in ("description", "subject", "body") for c in chains)


def test_paraphrase_keeps_values_or_is_refused(tools):
    def good(messages, tools_, params):
        original = messages[-1]["content"].rsplit("Request: ", 1)[1]
        return "Quick question from me: " + original[0].lower() + original[1:]

    model = ScriptedChatModel([good, "Tell me about the weather somewhere nice."])
    gen = CallGenerator(tools, seed=0, config=only("simple", paraphrase_rate=1.0, zh_rate=0.0),
                        paraphraser=Paraphraser(model))
    first = gen.generate(0)
    assert first.meta["paraphrase"] == ["paraphrased"]
    assert first.first_user.startswith("Quick question from me: ")
    assert Verifier(tools).verify(first).status == "passed"
    second = gen.generate(1)
    plain = CallGenerator(tools, seed=0, config=only("simple", zh_rate=0.0)).generate(1)
    if second.calls[0].arguments:
        assert second.meta["paraphrase"][0].startswith("paraphrase refused: it lost")
        assert second.first_user == plain.first_user  # the original request is kept
    assert "keep these values exactly as written" in model.requests[0]["messages"][-1]["content"]


def test_config_errors_name_the_field(tools):
    with pytest.raises(GenerateError, match="calls.weights"):
        CallsConfig(weights={"nope": 1.0})
    with pytest.raises(GenerateError, match="zh_rate"):
        CallsConfig(zh_rate=2.0)
    with pytest.raises(GenerateError, match="no API"):
        CallGenerator([], seed=0)


def test_sample_round_trips(hub_catalog):
    gen = CallGenerator(hub_catalog, seed=9)
    for i in range(20):
        sample = gen.generate(i)
        assert CallSample.from_dict(json.loads(json.dumps(sample.to_dict()))).to_dict() == sample.to_dict()
