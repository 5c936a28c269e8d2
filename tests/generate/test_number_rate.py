"""``number_rate``: call samples whose API takes a number that measures or counts something (issue 19: BFCL's
call entries mostly carry numbers, a REST catalog's calls mostly strings and ids)."""

from __future__ import annotations

import json

import pytest

from tests.generate.conftest import _tool
from toolbench.generate.calls import CallGenerator, CallsConfig
from toolbench.generate.errors import GenerateError
from toolbench.generate.quantities import quantities
from toolbench.generate.verify import Verifier
from toolbench.records import Api, Param


def _param(name: str, kind: str = "NUMBER", required: bool = False, schema: dict | None = None) -> Param:
    return Param(name, kind, f"The {name.replace('_', ' ')}", None, required=required, schema=schema)


def catalog():
    """A listing API (ids and pages only), a search by keyword, and one API that takes real quantities."""
    listing = Api("", "list_orders", "List your orders",
                  optional_params=[_param("order_id", "STRING"), _param("page", schema={"type": "integer"}),
                                   _param("limit", schema={"type": "integer"})])
    search = Api("", "search_homes", "Search homes for sale by keyword",
                 required_params=[_param("query", "STRING", required=True)])
    homes = Api("", "find_homes", "Homes for sale in a price range",
                required_params=[_param("city", "STRING", required=True)],
                optional_params=[_param("max_price", schema={"type": "integer", "minimum": 1000, "maximum": 900000}),
                                 _param("min_beds", schema={"type": "integer", "minimum": 1, "maximum": 6})])
    return [_tool("Shop", "eCommerce", [listing]), _tool("Homes", "Real_Estate", [search, homes])]


def test_quantities_are_numbers_that_measure_not_ids_or_pages():
    tools = catalog()
    by_name = {a.name: a for t in tools for a in t.apis}
    assert quantities(by_name["list_orders"]) == []  # an id and a page of a listing
    assert quantities(by_name["search_homes"]) == []
    assert [p.name for p in quantities(by_name["find_homes"])] == ["max_price", "min_beds"]


@pytest.mark.parametrize("category", ["simple", "multiple", "parallel", "parallel_multiple"])
def test_at_rate_one_every_call_sample_gives_a_quantity(category):
    tools = catalog()
    verifier = Verifier(tools)
    gen = CallGenerator(tools, seed=1, config=CallsConfig(weights={category: 1.0}, zh_rate=0.0, number_rate=1.0,
                                                          optional_rate=0.0))
    for i in range(12):
        sample = gen.generate(i)
        assert verifier.verify(sample).status == "passed", sample.to_dict()
        first = sample.calls[0]
        assert sample.function_map[first.name] == ["Homes", "find_homes"]
        given = [k for k in ("max_price", "min_beds") if k in first.arguments]
        assert given, first.arguments  # optional_rate 0: only number_rate puts it there
        if category == "parallel":  # the number is what varies from call to call
            assert any(len({json.dumps(c.arguments.get(k)) for c in sample.calls}) == len(sample.calls)
                       for k in given)


def test_rate_zero_draws_every_api_alike_and_the_rate_is_checked():
    tools = catalog()
    gen = CallGenerator(tools, seed=1, config=CallsConfig(weights={"simple": 1.0}, zh_rate=0.0, optional_rate=0.0))
    called = [gen.generate(i).function_map[gen.generate(i).calls[0].name][1] for i in range(30)]
    assert {"list_orders", "search_homes", "find_homes"} <= set(called)
    with_numbers = CallGenerator(tools, seed=1, config=CallsConfig(weights={"simple": 1.0}, zh_rate=0.0,
                                                                   optional_rate=0.0, number_rate=0.5))
    numeric = [with_numbers.generate(i).calls[0].arguments for i in range(30)]
    assert sum("max_price" in a or "min_beds" in a for a in numeric) > sum(c == "find_homes" for c in called) / 2
    with pytest.raises(GenerateError, match="number_rate"):
        CallsConfig(number_rate=1.5)
