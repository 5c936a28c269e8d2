"""Training pairs for the retriever: (query text, document of one relevant API), split by query.

Each query gives one pair per relevant API (ToolBench's ``relevant APIs``). The train/test split is made over
queries, never over pairs, so no held-out query has been seen in training; it is a seeded shuffle of the query
keys, so the same files and seed always give the same split. :func:`split_by_api` holds out whole tools
instead, and :func:`api_folds` makes K such folds, each query held out in exactly one. Optional hard negatives
are the best-ranked BM25 documents that are not relevant to the query.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from retriever.corpus import Corpus, doc_id, read_rows, row_place
from retriever.errors import RetrieverError
from toolbench.records import Query


def query_key(query: Query) -> str:
    """A query's key across files: ``G1/123`` (ToolBench numbers queries per group, so ids alone clash)."""
    return f"{query.group}/{query.id}" if query.group else query.id


def read_queries(paths: Iterable[str | os.PathLike]) -> list[Query]:
    """The queries of ToolBench query files, in file order; the group comes from the file name
    (``G1_query.json`` -> ``G1``). Raises when two queries share a key."""
    from toolbench.catalog.store import load_queries

    out: list[Query] = []
    seen: dict[str, str] = {}
    for path in paths:
        if not Path(path).is_file():
            raise RetrieverError(f"{path}: query file not found")
        for q in load_queries(path):
            key = query_key(q)
            if key in seen:
                raise RetrieverError(f"{path}: query {key!r} is also in {seen[key]}; give each file once, and "
                                     "name files by group (G1_..., G2_...) so their ids do not clash")
            seen[key] = str(path)
            out.append(q)
    if not out:
        raise RetrieverError("no queries found in " + ", ".join(str(p) for p in paths))
    return out


def relevant_ids(query: Query) -> list[str]:
    """Document ids of a query's relevant APIs, in file order, without repeats."""
    return list(dict.fromkeys(doc_id(tool, api) for tool, api in query.relevant))


def split_queries(queries: Sequence[Query], *, test_fraction: float, seed: int) -> tuple[list[Query], list[Query]]:
    """Split queries into (train, test): a seeded shuffle of the sorted query keys, the first
    ``round(test_fraction * n)`` (at least 1 when the fraction is positive) going to test. Input order does
    not matter; each part keeps the input order."""
    if not 0.0 <= test_fraction < 1.0:
        raise RetrieverError(f"test fraction must be in [0, 1), got {test_fraction}")
    keys = sorted({query_key(q) for q in queries})
    random.Random(seed).shuffle(keys)
    n_test = round(test_fraction * len(keys))
    if test_fraction > 0 and n_test == 0 and len(keys) > 1:
        n_test = 1
    test_keys = set(keys[:n_test])
    train = [q for q in queries if query_key(q) not in test_keys]
    test = [q for q in queries if query_key(q) in test_keys]
    return train, test


@dataclass
class Pair:
    """One training example: a query and the document id of one of its relevant APIs, optionally with the ids
    of hard negatives (documents ranked high but not relevant)."""

    query_key: str
    query: str
    positive: str
    negatives: list[str] = field(default_factory=list)


def make_pairs(queries: Iterable[Query], corpus: Corpus) -> tuple[list[Pair], list[tuple[str, str]]]:
    """One pair per (query, relevant API in the corpus). Returns the pairs and the (query key, doc id) of
    relevant APIs missing from the corpus, which the caller reports."""
    pairs: list[Pair] = []
    missing: list[tuple[str, str]] = []
    for q in queries:
        for did in relevant_ids(q):
            if did in corpus:
                pairs.append(Pair(query_key(q), q.text, did))
            else:
                missing.append((query_key(q), did))
    return pairs, missing


def add_hard_negatives(pairs: Sequence[Pair], queries: Iterable[Query], corpus: Corpus, *, per_pair: int = 1,
                       depth: int = 10, seed: int = 0, exclude: set[str] | frozenset = frozenset()) -> list[Pair]:
    """Pairs with ``per_pair`` BM25-mined hard negatives each: for every query, the BM25 top-``depth``
    documents that are not relevant to it (nor in ``exclude``), ``per_pair`` of them drawn (seeded) for each
    of its pairs."""
    from retriever.bm25 import Bm25Index

    if per_pair < 1 or depth < per_pair:
        raise RetrieverError(f"hard negatives: need 1 <= per_pair <= depth, got per_pair={per_pair}, depth={depth}")
    relevant = {query_key(q): set(relevant_ids(q)) for q in queries}
    texts = {p.query_key: p.query for p in pairs}
    bm25 = Bm25Index.build(corpus)
    keys = list(texts)
    rankings = bm25.rank([texts[k] for k in keys], k=depth + max((len(relevant.get(k, ())) for k in keys), default=0))
    candidates = {
        k: [d for d, _ in ranked if d not in relevant.get(k, set()) and d not in exclude][:depth]
        for k, ranked in zip(keys, rankings)
    }
    rng = random.Random(seed)
    out = []
    for p in pairs:
        pool = candidates[p.query_key]
        out.append(Pair(p.query_key, p.query, p.positive, rng.sample(pool, min(per_pair, len(pool)))))
    return out


def add_sentence_pairs(pairs: Sequence[Pair], corpus: Corpus) -> list[Pair]:
    """The pairs and, for each one whose query has several sentences (:func:`retriever.sentences.query_sentences`),
    one more: the sentence with the best BM25 score for the positive API's document (rare shared words count most;
    the boilerplate every document has counts little), with the same positive and negatives and the same query key
    (so the batcher keeps it out of a batch with its query and away from its query's relevant APIs). A search with
    sentence views scores each sentence on its own; these pairs train on such one-ask sentences. A pair whose
    sentences share no word with its document gets none."""
    from retriever.bm25 import Bm25Index
    from retriever.sentences import query_sentences

    bm25 = Bm25Index.build(corpus)
    row = {did: i for i, did in enumerate(bm25.ids)}
    out = list(pairs)
    for p in pairs:
        sentences = query_sentences(p.query)
        if len(sentences) < 2 or p.positive not in row:
            continue
        scores = [float(bm25.scores(s)[row[p.positive]]) for s in sentences]
        best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
        if scores[best] > 0:
            out.append(Pair(p.query_key, sentences[best], p.positive, list(p.negatives)))
    return out


def save_pairs(pairs: Iterable[Pair], path: str | os.PathLike) -> Path:
    """Write pairs as JSON lines ``{"query_key", "query", "positive", "negatives"}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    return path


def load_pairs(path: str | os.PathLike) -> list[Pair]:
    path = Path(path)
    if not path.is_file():
        raise RetrieverError(f"{path}: pairs file not found")
    what = "expected a pair object with query_key, query, positive"
    out = []
    for row in read_rows(path, what):
        try:
            data = row.data
            out.append(Pair(str(data["query_key"]), str(data["query"]), str(data["positive"]),
                            [str(x) for x in data.get("negatives", [])]))
        except (KeyError, TypeError) as exc:
            raise RetrieverError(f"{row_place(row)}: {what} ({exc})") from exc
    return out


def split_by_api(queries: Sequence[Query], *, test_fraction: float,
                 seed: int) -> tuple[list[Query], list[Query], set[str]]:
    """Split so that the held-out queries ask for APIs no training query has: whole tools are held out (a
    seeded shuffle of the sorted tool names), until the queries needing a held-out tool's API reach
    ``test_fraction`` of all queries. Returns (train, test, held-out document ids); training queries have no
    relevant API of a held-out tool, so neither the held-out APIs nor their same-tool siblings are seen."""
    if not 0.0 <= test_fraction < 1.0:
        raise RetrieverError(f"test fraction must be in [0, 1), got {test_fraction}")
    tools = sorted({tool for q in queries for tool, _ in q.relevant})
    random.Random(seed).shuffle(tools)
    target = round(test_fraction * len(queries))
    held: set[str] = set()
    for tool in tools:
        if sum(1 for q in queries if any(t in held for t, _ in q.relevant)) >= target:
            break
        held.add(tool)
    test = [q for q in queries if any(t in held for t, _ in q.relevant)]
    train = [q for q in queries if not any(t in held for t, _ in q.relevant)]
    return train, test, tool_docs(queries, held)


def tool_docs(queries: Iterable[Query], tools: Collection[str]) -> set[str]:
    """Document ids of every API of ``tools`` that the queries offer (``api_list``) or need."""
    queries = list(queries)
    docs = {doc_id(a.tool, a.name) for q in queries for a in q.apis if a.tool in tools}
    return docs | {doc_id(t, a) for q in queries for t, a in q.relevant if t in tools}


def tool_groups(queries: Sequence[Query]) -> list[list[Query]]:
    """The queries grouped so that no two groups need an API of the same tool: tools needed together by a
    query are joined (union-find), and each group holds every query needing one of its tools. A query with no
    relevant API is a group of its own. Groups come sorted by their first tool name (or query key)."""
    parent: dict[str, str] = {}

    def find(t: str) -> str:
        while parent.setdefault(t, t) != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for q in queries:
        tools = sorted({t for t, _ in q.relevant})
        for t in tools:
            find(t)
        for t in tools[1:]:
            a, b = find(tools[0]), find(t)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[Query]] = {}
    for q in queries:
        tools = sorted({t for t, _ in q.relevant})
        key = "tool:" + find(tools[0]) if tools else "query:" + query_key(q)
        groups.setdefault(key, []).append(q)
    return [groups[k] for k in sorted(groups)]


def api_folds(queries: Sequence[Query], *, folds: int,
              seed: int) -> list[tuple[list[Query], list[Query], set[str]]]:
    """K-fold split by API: a fold's held-out queries need only APIs of tools that none of its training queries
    needs (whole tools held out, as in :func:`split_by_api`). Returns, per fold, (train, test, held-out document
    ids) like :func:`split_by_api`; each part keeps the input order.

    Tools needed together by one query stay in one fold (:func:`tool_groups`): the groups are shuffled (seeded,
    from their sorted order) and each goes to the fold with the fewest queries so far, so every query is held
    out in exactly one fold. Where multi-tool queries join the tools into fewer groups than folds, or into one
    group of more than 3/4 of the queries (a small catalog whose G2/G3 queries chain every tool), the tools
    themselves are dealt out instead (seeded, each to the fold with the fewest queries needing its tools); a
    query is then held out in the fold holding all its tools, and one whose tools span folds is held out in
    none and trains only the folds that hold none of its tools. A query needing no API is never held out
    (nothing to rank) and trains every fold."""
    if folds < 2:
        raise RetrieverError(f"folds must be at least 2, got {folds}")
    scored = [q for q in queries if q.relevant]
    groups = tool_groups(scored)
    if len(groups) >= folds and max(len(g) for g in groups) * 4 <= len(scored) * 3:
        random.Random(seed).shuffle(groups)
        members: list[list[Query]] = [[] for _ in range(folds)]
        for group in groups:
            min(members, key=len).extend(group)  # the first of the smallest folds
        held_tools = [{t for q in m for t, _ in q.relevant} for m in members]
    else:
        held_tools = _deal_tools(scored, folds, seed)
    out = []
    for tools in held_tools:
        test = [q for q in scored if {t for t, _ in q.relevant} <= tools]
        train = [q for q in queries if not any(t in tools for t, _ in q.relevant)]
        out.append((train, test, tool_docs(queries, tools)))
    return out


def _deal_tools(queries: Sequence[Query], folds: int, seed: int) -> list[set[str]]:
    """The tools dealt into ``folds`` sets: shuffled (seeded, from sorted order), each to the set whose tools
    the fewest queries need so far."""
    need: dict[str, int] = {}
    for q in queries:
        for t in {t for t, _ in q.relevant}:
            need[t] = need.get(t, 0) + 1
    tools = sorted(need)
    if len(tools) < folds:
        raise RetrieverError(f"the queries need {len(tools)} tools, which cannot fill {folds} folds of whole tools; "
                             "use fewer folds")
    random.Random(seed).shuffle(tools)
    dealt: list[set[str]] = [set() for _ in range(folds)]
    load = [0] * folds
    for t in tools:
        i = min(range(folds), key=lambda k: (load[k], k))
        dealt[i].add(t)
        load[i] += need[t]
    return dealt


def add_sibling_negatives(pairs: Sequence[Pair], corpus: Corpus, relevant: dict[str, set[str]], *,
                          per_pair: int = 1, seed: int = 0, exclude: set[str] | frozenset = frozenset()) -> list[Pair]:
    """Pairs with up to ``per_pair`` more negatives from the positive's own tool (its siblings, the hardest
    confusions of a catalog), never relevant to the pair's query nor in ``exclude``."""
    by_tool: dict[str, list[str]] = {}
    for d in corpus:
        if d.id not in exclude:
            by_tool.setdefault(d.tool, []).append(d.id)
    rng = random.Random(seed)
    out = []
    for p in pairs:
        rel = relevant.get(p.query_key, {p.positive})
        pool = [d for d in by_tool.get(corpus[p.positive].tool, []) if d not in rel and d not in p.negatives]
        out.append(Pair(p.query_key, p.query, p.positive, p.negatives + rng.sample(pool, min(per_pair, len(pool)))))
    return out
