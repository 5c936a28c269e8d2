"""The BM25 baseline (``bm25s``) over a :class:`~retriever.corpus.Corpus`.

Texts are lower-cased and cut into runs of letters and digits (so ``get_weather_by_city`` gives four words),
English stop words dropped; no stemming. Rankings break score ties by corpus order, so they are deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from retriever.corpus import Corpus

if TYPE_CHECKING:
    import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """Lower-cased letter/digit runs of ``text``, minus ``stopwords``."""
    return [w for w in _WORD.findall(text.lower()) if w not in stopwords]


class Bm25Index:
    """BM25 (Lucene variant, k1=1.5, b=0.75, bm25s's defaults) over a corpus's document texts."""

    def __init__(self, ids: Sequence[str], model: Any, stopwords: frozenset[str]):
        self.ids = list(ids)
        self._model = model
        self._stopwords = stopwords

    @classmethod
    def build(cls, corpus: Corpus, *, k1: float = 1.5, b: float = 0.75) -> Bm25Index:
        import bm25s

        if len(corpus) == 0:
            from retriever.errors import RetrieverError

            raise RetrieverError("cannot build a BM25 index over an empty corpus")
        stop = _stopwords()
        model = bm25s.BM25(k1=k1, b=b)
        # An empty document would leave bm25s without a token for it: give it a placeholder word.
        model.index([tokenize(t, stop) or ["\x00empty"] for t in corpus.texts], show_progress=False)
        return cls(corpus.ids, model, stop)

    def scores(self, text: str) -> np.ndarray:
        """The BM25 score of every document (corpus order) for one query."""
        import numpy as np

        tokens = [t for t in tokenize(text, self._stopwords) if t in self._model.vocab_dict]
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    def rank(self, texts: Sequence[str], k: int | None = None) -> list[list[tuple[str, float]]]:
        """For each query, the top ``k`` (all when None) documents as ``(doc id, score)``, best first."""
        import numpy as np

        out = []
        for text in texts:
            s = self.scores(text)
            order = np.argsort(-s, kind="stable")[: (k or len(self.ids))]
            out.append([(self.ids[i], float(s[i])) for i in order])
        return out
