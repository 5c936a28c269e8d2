"""Hybrid ranking: BM25 and a dense model fused by reciprocal rank fusion (Cormack et al., 2009).

A document's fused score is ``sum over rankers of 1 / (k + rank)`` (rank 1 = best, ``k`` = 60 by default), so
a document both rankers place high wins, and neither ranker's score scale matters. Each ranker ranks
``pool`` documents (at least the requested depth) per query; a document missing from one ranking gets
nothing from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

RRF_K = 60


class _Ranker(Protocol):
    def rank(self, texts: Sequence[str], k: int | None = None) -> list[list[tuple[str, float]]]: ...


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], *, k: int = RRF_K,
                           weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fuse ranked lists of document ids (best first) into one, best first; ties keep first-seen order."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, did in enumerate(ranking, start=1):
            scores[did] = scores.get(did, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class HybridRanker:
    """Ranks with every ranker and fuses their lists by reciprocal rank fusion."""

    def __init__(self, rankers: Sequence[_Ranker], *, k: int = RRF_K, pool: int = 100,
                 weights: Sequence[float] | None = None):
        self.rankers = list(rankers)
        self.k = k
        self.pool = pool
        self.weights = list(weights) if weights is not None else None

    def rank(self, texts: Sequence[str], k: int | None = None) -> list[list[tuple[str, float]]]:
        depth = max(k or self.pool, self.pool)
        per_ranker = [r.rank(texts, depth) for r in self.rankers]
        out = []
        for i in range(len(texts)):
            fused = reciprocal_rank_fusion([[d for d, _ in ranked[i]] for ranked in per_ranker], k=self.k,
                                           weights=self.weights)
            out.append(fused[:k] if k else fused)
        return out
