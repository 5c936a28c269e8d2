"""Seeded, order-independent picks shared by the stages: groups interleaved (:func:`round_robin`), a shuffle
that does not depend on the input order (:func:`seeded_order`), and ``k`` items of several categories
(:func:`pick`). The fine-tuning mix (``train/mix.py``), the held-out tasks (``generate/tasks.py``) and the
held-out entries scored (``eval/tiers.py``) all choose with them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Call-sample categories whose samples are tasks an agent solves by calling (the calls a correct run makes are
# known), in interleaving order.
TASK_CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "multi_turn")


def round_robin(items: list[Any], key: Callable[[Any], str], order: Iterable[str] | None = None,
                weights: Mapping[str, float] | None = None) -> list[Any]:
    """Items interleaved by ``key`` (one of each group in turn, groups in ``order`` then by name), each group
    keeping its own order. ``weights`` (group -> items per turn, 1 when not named; 0 drops a group) make a group
    come up more or less often: at 2 it gives two items a turn, at 0.5 one every other turn."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    names = [g for g in (order or []) if g in groups] + sorted(g for g in groups if g not in set(order or []))
    rate = {name: float((weights or {}).get(name, 1.0)) for name in names}
    names = [name for name in names if rate[name] > 0]
    credit = dict.fromkeys(names, 0.0)
    out: list[Any] = []
    while any(groups[name] for name in names):
        for name in names:
            credit[name] += rate[name]
            while credit[name] >= 1.0 and groups[name]:
                out.append(groups[name].pop(0))
                credit[name] -= 1.0
    return out


def seeded_order(items: list[Any], key: Callable[[Any], str], seed: int) -> list[Any]:
    """``items`` sorted by a hash of (seed, key): a shuffle that does not depend on the input order."""
    return sorted(items, key=lambda item: hashlib.sha256(f"{seed}:{key(item)}".encode()).hexdigest())


def pick(items: list[Any], k: int, category: Callable[[Any], str], ident: Callable[[Any], str], seed: int,
         order: Iterable[str] | None = None) -> list[Any]:
    """``k`` items, categories interleaved, a seeded order within each category."""
    return round_robin(seeded_order(items, ident, seed), category, order)[:k]
