"""Planning the calls of each API (pure, seeded): the example call and distinct sampled valid calls."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from toolbench.cache import canonical_json
from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.values import ValueSampler, ValueSamplingError, is_valid, param_schema_for_sampling
from toolbench.records import Api


@dataclass
class PlannedCall:
    kind: str  # "example" | "sample"
    args: dict[str, Any]


def example_value(schema: Any, name: str, sampler: Any) -> Any:
    """A value for ``schema`` built from its documented examples, down nested objects and lists (``examples``,
    ``default``, ``example``, ``const``, the first enum value); a part without any is drawn by ``sampler``."""
    if not isinstance(schema, dict):
        return sampler.value(schema, name)
    for key in ("examples", "default", "example", "const"):
        if key in schema:
            value = schema[key]
            if key != "examples":
                return value
            if isinstance(value, list) and value:
                return value[0]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key, []) if isinstance(b, dict) and b.get("type") != "null"]
        if branches:
            rest = {k: v for k, v in schema.items() if k != key}
            return example_value({**rest, **branches[0]}, name, sampler)
    props = schema.get("properties")
    if schema.get("type") == "object" or isinstance(props, dict):
        props = props or {}
        return {k: example_value(props.get(k, {}), k, sampler) for k in schema.get("required", []) if k in props}
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return [example_value(schema["items"], name, sampler) for _ in range(max(1, schema.get("minItems", 1)))]
    return sampler.value(schema, name)


def example_arguments(api: Api, sampler: Any) -> dict[str, Any]:
    """ToolBench's example call: each required parameter's documented example (its ``default``, its schema's
    examples, nested ones included); drawn values where the documentation has none."""
    args = {}
    for p in api.required_params:
        schema = param_schema_for_sampling(p)
        value = p.default if p.default not in ("", None) else example_value(schema, p.name, sampler)
        args[p.name] = value if is_valid(value, schema) else sampler.param_value(p, api)
    if validate_arguments(api, args):
        exemplary = ValueSampler(sampler.rng, example_rate=1.0, identifier_example_rate=1.0, optional_rate=0.0,
                                 today=sampler.today)
        return exemplary.arguments(api)
    return args


def plan_calls(api: Api, samples: int, seed: int, today: Any = None) -> list[PlannedCall]:
    """The example call and up to ``samples`` distinct sampled calls of ``api``. An API whose arguments
    cannot be sampled gets what could be drawn (at least the example call, with whatever examples exist)."""
    rng = random.Random(f"{seed}:{api.tool}:{api.name}")
    sampler = ValueSampler(rng, today=today)
    try:
        first = example_arguments(api, sampler)
    except ValueSamplingError:
        first = {p.name: p.default for p in api.required_params if p.default not in ("", None)}
    calls = [PlannedCall("example", first)]
    seen = {canonical_json(first)}
    for _ in range(samples * 4):
        if len(calls) > samples:
            break
        try:
            args = sampler.arguments(api)
        except ValueSamplingError:
            continue
        key = canonical_json(args)
        if key not in seen:
            seen.add(key)
            calls.append(PlannedCall("sample", args))
    return calls
