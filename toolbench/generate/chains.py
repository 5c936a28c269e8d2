"""What a call sample's values are made of: the strings a request must contain to state a value, scalars found
in a tool result, and multi-turn chains (an API whose result holds the identifier another API takes).

A :class:`Chain` links ``first`` -> ``second`` when ``second`` requires an entity (an identifier, a ticker, a
city...) that ``first``'s response schema holds under the same name (or as ``id`` of a matching object).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolbench.catalog.pools import is_identifier, pool_for, snake
from toolbench.generate import render
from toolbench.records import Api

ENTITY_POOLS = ("city", "country_code", "currency", "timezone")


def value_mentions(value: Any) -> list[str]:
    """The strings a request must contain for it to state ``value`` (leaves of nested values; booleans and
    None are not required)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (int, float)):
        return [render.show(value)]
    if isinstance(value, list):
        return [m for item in value for m in value_mentions(item)]
    if isinstance(value, dict):
        return [m for item in value.values() for m in value_mentions(item)]
    return [str(value)]


def find_key(data: Any, key: str) -> Any:
    """The first scalar under ``key`` (compared in snake case) in a decoded JSON value, depth first."""
    want = snake(key)
    if isinstance(data, dict):
        for k, v in data.items():
            if snake(str(k)) == want and isinstance(v, (str, int, float)) and not isinstance(v, bool):
                return v
        for v in data.values():
            found = find_key(v, key)
            if found is not None:
                return found
    elif isinstance(data, list):
        for item in data:
            found = find_key(item, key)
            if found is not None:
                return found
    return None


def response_keys(schema: Any, depth: int = 0) -> set[str]:
    """Snake-case names of the scalar fields of a response schema (nested objects and array items too)."""
    out: set[str] = set()
    if not isinstance(schema, dict) or depth > 6:
        return out
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        out |= response_keys(branch, depth + 1)
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict) and (sub.get("type") in ("string", "integer", "number") or "enum" in sub):
            out.add(snake(name))
        out |= response_keys(sub, depth + 1)
    if isinstance(schema.get("items"), dict):
        out |= response_keys(schema["items"], depth + 1)
    return out


@dataclass(frozen=True)
class Chain:
    """``first``'s result gives the value of ``second``'s parameter ``param`` (under ``key``)."""

    first: Api
    second: Api
    param: str
    key: str
    trivial: bool  # the value is also an argument of ``first`` (the chain only copies it along)


def find_chains(apis: list[Api]) -> list[Chain]:
    chains = []
    for first in apis:
        keys = response_keys(first.response_schema if isinstance(first.response_schema, dict) else None)
        if not keys:
            continue
        first_words = set(snake(first.name).split("_"))
        own = {snake(p.name) for p in first.params}
        for second in apis:
            if second.key == first.key:
                continue
            for param in second.required_params:
                name = snake(param.name)
                if not (is_identifier(param.name) or pool_for(param.name) in ENTITY_POOLS):
                    continue  # only entities are worth carrying over (ids, tickers, cities), not free text
                if name in keys:
                    key = name
                elif name.endswith("_id") and "id" in keys and any(
                        w.startswith(name[:-3]) for w in first_words if len(name) > 3):
                    key = "id"
                else:
                    continue
                chains.append(Chain(first, second, param.name, key, trivial=name in own))
    return chains
