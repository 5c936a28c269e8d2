from __future__ import annotations

import pytest

from tests.generate.conftest import small_tools
from toolbench.generate.api_sets import CROSS_CATEGORY, ApiSetSampler, SamplingConfig
from toolbench.generate.errors import GenerateError


def keys(sets):
    return [(s.index, s.shared, s.keys) for s in sets]


@pytest.mark.parametrize("group", ["G1", "G2", "G3"])
def test_same_seed_same_sets_and_set_i_does_not_depend_on_n(tools, hub_catalog, group):
    catalog = hub_catalog if group == "G2" else tools
    a = ApiSetSampler(catalog, group, seed=7).sample_many(30)
    b = ApiSetSampler(catalog, group, seed=7).sample_many(30)
    assert keys(a) == keys(b)
    # a resumed run (start=10) draws the same sets as the full run
    assert keys(ApiSetSampler(catalog, group, seed=7).sample_many(20, start=10)) == keys(a[10:])
    other = ApiSetSampler(catalog, group, seed=8).sample_many(30)
    assert keys(other) != keys(a)


def test_g1_sets_are_several_apis_of_one_tool(hub_catalog):
    cfg = SamplingConfig()
    for s in ApiSetSampler(hub_catalog, "G1", seed=0).sample_many(200):
        assert len(s.tools) == 1 and s.shared == s.tools[0]
        assert cfg.min_apis <= len(s.apis) <= cfg.max_apis
        assert len(set(s.keys)) == len(s.keys)


def test_g2_sets_are_tools_of_one_category(hub_catalog):
    sets = ApiSetSampler(hub_catalog, "G2", seed=0).sample_many(200)
    for s in sets:
        assert s.categories == [s.shared]
        assert 2 <= len(s.tools) <= 5
        for tool in s.tools:
            assert 1 <= sum(1 for api in s.apis if api.tool == tool) <= 3


def test_g3_uses_collections_when_tools_have_them(tools):
    for s in ApiSetSampler(tools, "G3", seed=0).sample_many(50):
        assert s.shared == "Leisure & Money"
        assert set(s.tools) == {"StockQuotes", "CineScope"}


def test_g3_falls_back_to_tools_across_categories(hub_catalog):
    sets = ApiSetSampler(hub_catalog, "G3", seed=3).sample_many(200)
    for s in sets:
        assert s.shared == CROSS_CATEGORY
        assert len(s.categories) >= 2
        assert 2 <= len(s.tools) <= 5


def test_catalogs_too_small_for_a_group_are_refused():
    tools = small_tools()
    with pytest.raises(GenerateError, match="G2 needs a category with at least 2 tools"):
        ApiSetSampler(tools, "G2", seed=0)
    with pytest.raises(GenerateError, match="G1 needs a tool with at least 4 APIs"):
        ApiSetSampler(tools, "G1", seed=0, config=SamplingConfig(min_apis=4, max_apis=5))
    with pytest.raises(GenerateError, match="G3 needs"):
        ApiSetSampler(tools[:1], "G3", seed=0)
    with pytest.raises(GenerateError, match="unknown"):
        ApiSetSampler(tools, "G4", seed=0)
    with pytest.raises(GenerateError, match="min_apis"):
        SamplingConfig(min_apis=4, max_apis=3)
