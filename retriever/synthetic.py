"""Synthetic (request, API) training queries for every API of a catalog, phrased by the request generator.

Single-API requests come from :func:`toolbench.generate.render.request` (the project's natural phrasing, fed
arguments sampled by :class:`toolbench.catalog.values.ValueSampler`), ``per_api`` of them for each API. Multi-API
requests join two or three such requests (:func:`toolbench.generate.render.joined`), in ToolBench's styles:
``G1`` several APIs of one tool, ``G2`` APIs of different tools of one category. Each synthetic query is a
:class:`toolbench.records.Query` whose relevant APIs are the ones phrased, so it trains like a human query.
APIs in ``exclude`` (document ids held out for evaluation) are never phrased.

Only catalogs are read here (API descriptions and parameters), never evaluation queries.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence

from retriever.corpus import Corpus, doc_id
from toolbench.records import Api, Query

GROUP = "SYN"


def _request(api: Api, rng: random.Random) -> str | None:
    from toolbench.catalog.values import ValueSampler, ValueSamplingError
    from toolbench.generate import render

    try:
        args = ValueSampler(rng).arguments(api)
        text = render.request(api, args, "en", rng)
    except (ValueSamplingError, ValueError, KeyError, TypeError):  # a schema the sampler cannot fill
        return None
    return text.strip() or None


def _joined(apis: Sequence[Api], rng: random.Random) -> str | None:
    from toolbench.generate import render

    parts = [_request(a, rng) for a in apis]
    if any(p is None for p in parts):
        return None
    return render.joined([p for p in parts if p], "en", rng)


def synthetic_queries(apis: Iterable[Api], *, per_api: int = 2, multi: int = 1, seed: int = 0,
                      exclude: Iterable[str] = ()) -> list[Query]:
    """``per_api`` single-API requests for every API (not in ``exclude``), then ``multi`` multi-API requests
    per API on average (half G1-style, half G2-style where the catalog has the tools for it)."""
    excluded = set(exclude)
    pool = list({doc_id(a.tool, a.name): a for a in apis if doc_id(a.tool, a.name) not in excluded}.values())
    rng = random.Random(seed)
    out: list[Query] = []

    def add(text: str | None, chosen: Sequence[Api]) -> None:
        if text:
            out.append(Query(id=str(len(out)), text=text, group=GROUP, apis=list(chosen),
                             relevant=[(a.tool, a.name) for a in chosen]))

    for api in pool:
        for _ in range(per_api):
            add(_request(api, rng), [api])
    by_tool: dict[str, list[Api]] = defaultdict(list)
    by_category: dict[str, list[Api]] = defaultdict(list)
    for a in pool:
        by_tool[a.tool].append(a)
        by_category[a.category].append(a)
    multi_tool = [t for t, v in by_tool.items() if len(v) > 1]
    for i in range(multi * len(pool)):
        n = rng.choice((2, 2, 3))
        if i % 2 == 0 and multi_tool:  # G1: one tool, several of its APIs
            tool_apis = by_tool[rng.choice(multi_tool)]
            chosen = rng.sample(tool_apis, min(n, len(tool_apis)))
            add(_joined(chosen, rng), chosen)
            continue
        anchor = rng.choice(pool)  # G2: tools of one category
        others = [a for a in by_category[anchor.category] if a.tool != anchor.tool]
        if not others:
            continue
        chosen = [anchor, *rng.sample(others, min(n - 1, len(others)))]
        add(_joined(chosen, rng), chosen)
    return out


def catalog_apis(corpora: Iterable[Corpus]) -> list[Api]:
    """Every API of the given corpora, once each (first occurrence wins)."""
    seen: dict[str, Api] = {}
    for corpus in corpora:
        for d in corpus:
            seen.setdefault(d.id, d.api)
    return list(seen.values())
