"""Parallel call samples: sizes, how many values vary per call, values that differ from the call's own, grids."""

from __future__ import annotations

import json

import pytest

from tests.generate.conftest import _tool, only
from toolbench.generate.calls import CallGenerator
from toolbench.generate.verify import Verifier
from toolbench.records import Api, Param


@pytest.mark.parametrize("max_parallel", [2, 4])
def test_parallel_sizes(hub_catalog, max_parallel):
    verifier = Verifier(hub_catalog)
    for category in ("parallel", "parallel_multiple"):
        gen = CallGenerator(hub_catalog, seed=6, config=only(category, max_parallel=max_parallel))
        sizes = set()
        for i in range(25):
            sample = gen.generate(i)
            assert verifier.verify(sample).status == "passed", sample.to_dict()
            names = [c.name for c in sample.calls]
            sizes.add(len(names))
            assert 2 <= len(names) <= max_parallel
            assert len(set(names)) == 1 if category == "parallel" else len(set(names)) >= 2
            assert len(sample.steps) == 1
            if category == "parallel":  # every call states the values that vary, none of them a list or object
                assert len({tuple(sorted(c.arguments)) for c in sample.calls}) == 1
                differ = {k for k in sample.calls[0].arguments
                          if len({json.dumps(c.arguments[k]) for c in sample.calls}) > 1}
                assert differ and all(not isinstance(sample.calls[0].arguments[k], (list, dict)) for k in differ)
        assert max(sizes) == max_parallel


@pytest.mark.parametrize(("rate", "required", "optional_rate"),
                         [(None, True, 1.0), (0.0, True, 1.0), (1.0, True, 1.0), (1.0, False, 1.0), (1.0, False, 0.0)])
def test_parallel_calls_vary_more_values_at_parallel_values_rate(rate, required, optional_rate):
    """Two values differ per call at ``parallel_values_rate`` (default 0.1), drawn among the other required
    parameters, else the optional ones the sample gives, else another optional one."""
    city = Param("city", "STRING", "City name", "Paris", required=True)
    days = Param("days", "NUMBER", "Days ahead", 3, required=required, schema={"type": "integer", "minimum": 1,
                                                                             "maximum": 14})
    api = Api("", "get_forecast", "Daily forecast", required_params=[city, days] if required else [city],
              optional_params=[] if required else [days])
    tools = [_tool("Sky", "Weather", [api])]
    settings = {} if rate is None else {"parallel_values_rate": rate}
    gen = CallGenerator(tools, seed=0, config=only("parallel", zh_rate=0.0, optional_rate=optional_rate, **settings))
    two = 0
    for i in range(30):
        sample = gen.generate(i)
        assert Verifier(tools).verify(sample).status == "passed", sample.to_dict()
        two += all(len({json.dumps(c.arguments.get(k)) for c in sample.calls}) > 1 for k in ("city", "days"))
    assert {None: 0 < two < 30, 0.0: two == 0, 1.0: two == 30}[rate], two


def test_a_parallel_value_is_never_one_the_call_already_has():
    """"Convert USD to MXN and MXN to MXN": the varying "from" drew the fixed "to"."""
    currency = {"type": "string", "enum": ["USD", "EUR", "MXN"]}
    api = Api("", "convert", "Convert an amount between currencies",
              required_params=[Param("from", "STRING", "Currency to convert from", required=True, schema=currency),
                               Param("to", "STRING", "Currency to convert to", required=True, schema=currency)])
    tools = [_tool("FX", "Finance", [api])]
    gen = CallGenerator(tools, seed=0, config=only("parallel", zh_rate=0.0, parallel_values_rate=0.0, grid_rate=0.0))
    for i in range(40):
        sample = gen.generate(i)
        assert all(len(set(c.arguments.values())) == 2 for c in sample.calls), sample.to_dict()


def test_grid_samples_are_every_combination_of_two_arguments(hub_catalog):
    """At ``grid_rate`` a parallel sample is four calls: two values of one argument times two of another."""
    verifier = Verifier(hub_catalog)
    gen = CallGenerator(hub_catalog, seed=3, config=only("parallel", zh_rate=0.0, max_parallel=4, grid_rate=1.0))
    for i in range(20):
        sample = gen.generate(i)
        assert verifier.verify(sample).status == "passed", sample.to_dict()
        args = [c.arguments for c in sample.calls]
        assert sample.meta["kind"] == "grid" and len(args) == 4 and len({c.name for c in sample.calls}) == 1
        differ = [k for k in args[0] if len({json.dumps(a[k]) for a in args}) > 1]
        assert len(differ) == 2, args
        assert len({tuple(json.dumps(a[k]) for k in differ) for a in args}) == 4  # each pair once
        assert all(len({json.dumps(a[k]) for a in args}) == 2 for k in differ)
        assert "combination" in sample.first_user
    for config in (only("parallel", zh_rate=0.0, max_parallel=3, grid_rate=1.0),  # no room for four calls
                   only("parallel", zh_rate=1.0, grid_rate=1.0),  # Chinese requests: the usual form
                   only("parallel", zh_rate=0.0)):  # the default rate is 0
        gen = CallGenerator(hub_catalog, seed=3, config=config)
        assert not any(gen.generate(i).meta.get("kind") == "grid" for i in range(12))
