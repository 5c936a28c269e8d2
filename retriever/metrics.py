"""Ranking metrics with binary relevance: pure functions of a ranked list of document ids and the set of
relevant ids.

NDCG@k is ToolBench's (scikit-learn's ``ndcg_score`` with 0/1 relevance over the whole corpus):
``DCG@k = sum over ranks r <= k of rel(r) / log2(r + 1)``, divided by the DCG@k of the ideal ranking (every
relevant document first), so a query with more relevant documents than k can still score 1.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains listed by rank (rank 1 first)."""
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """NDCG@k with 0/1 gains; 0.0 when nothing is relevant."""
    _check_k(k)
    ideal = dcg([1.0] * min(k, len(relevant)))
    if ideal == 0.0:
        return 0.0
    return dcg([1.0 if d in relevant else 0.0 for d in ranked[:k]]) / ideal


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant documents found in the top k; 0.0 when nothing is relevant."""
    _check_k(k)
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the top k that is relevant (the denominator is k even when fewer are ranked)."""
    _check_k(k)
    return sum(1 for d in ranked[:k] if d in relevant) / k


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """1 / rank of the first relevant document; 0.0 when none is ranked."""
    for rank, d in enumerate(ranked, start=1):
        if d in relevant:
            return 1.0 / rank
    return 0.0


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


DEFAULT_NDCG_KS = (1, 3, 5)
DEFAULT_RECALL_KS = (1, 3, 5, 10)


def metric_names(ndcg_ks: Sequence[int] = DEFAULT_NDCG_KS, recall_ks: Sequence[int] = DEFAULT_RECALL_KS) -> list[str]:
    """Names of the metrics :func:`mean_metrics` returns, in report order."""
    return [f"ndcg@{k}" for k in ndcg_ks] + [f"recall@{k}" for k in recall_ks] + ["mrr"]


def query_metrics(ranked: Sequence[str], relevant: Collection[str], *, ndcg_ks: Sequence[int] = DEFAULT_NDCG_KS,
                  recall_ks: Sequence[int] = DEFAULT_RECALL_KS) -> dict[str, float]:
    """Every metric of one query."""
    out = {f"ndcg@{k}": ndcg_at_k(ranked, relevant, k) for k in ndcg_ks}
    out.update({f"recall@{k}": recall_at_k(ranked, relevant, k) for k in recall_ks})
    out["mrr"] = reciprocal_rank(ranked, relevant)
    return out


def mean_metrics(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Collection[str]], *,
                 ndcg_ks: Sequence[int] = DEFAULT_NDCG_KS,
                 recall_ks: Sequence[int] = DEFAULT_RECALL_KS) -> dict[str, float]:
    """Each metric averaged over the queries of ``rankings`` (query key -> ranked doc ids). Every query needs
    a non-empty entry in ``qrels`` (query key -> relevant doc ids): leave queries without relevant documents
    out before calling, as they have no defined score."""
    if not rankings:
        raise ValueError("no rankings to score")
    totals = dict.fromkeys(metric_names(ndcg_ks, recall_ks), 0.0)
    for scores in per_query_metrics(rankings, qrels, ndcg_ks=ndcg_ks, recall_ks=recall_ks).values():
        for name, value in scores.items():
            totals[name] += value
    return {name: total / len(rankings) for name, total in totals.items()}


def per_query_metrics(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Collection[str]], *,
                      ndcg_ks: Sequence[int] = DEFAULT_NDCG_KS,
                      recall_ks: Sequence[int] = DEFAULT_RECALL_KS) -> dict[str, dict[str, float]]:
    """Query key -> every metric of that query (what :func:`mean_metrics` averages, and what paired
    comparisons of two methods pair); the same rule on ``qrels``."""
    out = {}
    for key, ranked in rankings.items():
        relevant = qrels.get(key)
        if not relevant:
            raise ValueError(f"query {key!r} has no relevant documents; leave it out of the rankings")
        out[key] = query_metrics(ranked, relevant, ndcg_ks=ndcg_ks, recall_ks=recall_ks)
    return out
