"""Sentence views of a query: a dense ranker that also scores each sentence of a request on its own.

A ToolBench request is often several sentences: a persona ("I'm planning a trip to Paris"), one or two asks
("Can you provide me with the channel clips and the channel details?"), and thanks. One embedding of the whole
text averages them, so an API that answers one ask well can rank below one that matches the persona. Here a
document's score is its cosine to the whole query plus its best cosine to any one sentence of it::

    score(d) = cos(q, d) + max over sentences s of q of cos(s, d)

(a query of one sentence ranks exactly as before). It was chosen, fused with BM25, on the nested dev splits of
`retriever crossval`; docs/retriever.md ("Sentence views") has the dev and held-out figures.

Each view is ranked to ``pool`` documents (all of a corpus up to that size, so the score is exact there); a
document outside one view's pool gets that view's lowest returned score, an upper bound of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from retriever.errors import RetrieverError

if TYPE_CHECKING:
    from retriever.evaluate import Ranker

POOL = 2000
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
MIN_CHARS = 4  # shorter pieces ("Hi.", "OK!") are not a view of their own


def label(method: str) -> str:
    """The name of ``method`` (a dense method's label) scored with sentence views."""
    return f"{method} (sentences)"


def query_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (split after . ! ? followed by space, and at line breaks), each stripped; pieces
    under :data:`MIN_CHARS` characters are dropped; a text without two sentences gives ``[text]``."""
    parts = [p.strip() for p in _SPLIT.split(text)]
    parts = [p for p in parts if len(p) >= MIN_CHARS]
    return parts if len(parts) > 1 else [text.strip() or text]


class SentenceViews:
    """Ranks with ``dense`` (a ranker whose scores are cosines, e.g. :class:`~retriever.index.ApiRetriever`) by the
    whole query's score plus its best sentence's (module docstring)."""

    def __init__(self, dense: Ranker, *, pool: int = POOL):
        if pool < 1:
            raise RetrieverError(f"pool must be at least 1, got {pool}")
        self.dense = dense
        self.pool = pool

    def rank(self, texts: Sequence[str], k: int | None = None) -> list[list[tuple[str, float]]]:
        """For each text, the top ``k`` (all scored when None) documents as ``(doc id, score)``, best first."""
        if not texts:
            return []
        views = [query_sentences(t) for t in texts]
        flat = [v for t, sents in zip(texts, views, strict=True) for v in (t, *sents)]
        depth = max(self.pool, k or 0)
        ranked = self.dense.rank(flat, depth)
        out = []
        at = 0
        for sents in views:
            whole, parts = ranked[at], ranked[at + 1: at + 1 + len(sents)]
            at += 1 + len(sents)
            combined = _combine(whole, parts)
            out.append(combined[:k] if k else combined)
        return out


def _combine(whole: list[tuple[str, float]], parts: list[list[tuple[str, float]]]) -> list[tuple[str, float]]:
    """``whole + max(parts)`` per document over the union of the lists; where a list misses a document, its
    lowest score stands in."""
    views = [dict(v) for v in (whole, *parts) if v]
    if not views or not whole:
        return []
    floors = [min(v.values()) for v in views]
    ids = list(dict.fromkeys(d for v in views for d in v))  # the whole query's order first
    sentence_views = list(zip(views[1:], floors[1:], strict=True))
    if not sentence_views:
        return list(whole)
    combined = [(d, views[0].get(d, floors[0]) + max(v.get(d, f) for v, f in sentence_views)) for d in ids]
    combined.sort(key=lambda ds: -ds[1])  # stable: ties keep the whole query's order
    return combined
