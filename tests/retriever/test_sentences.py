"""Sentence views of a query (retriever.sentences): how a request is cut into sentences, that a document's score is
its whole-query cosine plus its best sentence's, and the lower bound past the pool."""

import numpy as np
import pytest

from retriever.errors import RetrieverError
from retriever.sentences import SentenceViews, label, query_sentences


@pytest.mark.parametrize("text, sentences", [
    ("I'm planning a trip. Can you find hotels? Thanks!", ["I'm planning a trip.", "Can you find hotels?", "Thanks!"]),
    ("first line\nsecond line", ["first line", "second line"]),
    ("Convert 3.5 euros to yen, e.g.for a trip", ["Convert 3.5 euros to yen, e.g.for a trip"]),  # no space: one
    ("Get the weather in Oslo.", ["Get the weather in Oslo."]),
    ("Weather in Oslo. Thanks. Ok.", ["Weather in Oslo.", "Thanks."]),  # "Ok." is too short to be a view
    ("Weather in Oslo. Ok", ["Weather in Oslo. Ok"]),  # one sentence left: the whole text
    ("  padded  ", ["padded"]),
])
def test_query_sentences(text, sentences):
    assert query_sentences(text) == sentences


class WordRanker:
    """A dense ranker over word vectors: a text's vector is the normalised sum of its known words' vectors, the
    score the cosine to each document's vector; ``calls`` records every batch ranked."""

    WORDS = {"hotel": [1, 0, 0], "paris": [0, 1, 0], "museum": [0, 0, 1]}
    DOCS = {"hotels": [1, 0.1, 0], "city guide": [0.7, 0.7, 0.1], "museums": [0, 0.2, 1]}

    def __init__(self):
        self.calls = []

    def vector(self, text):
        v = sum((np.array(self.WORDS[w], float) for w in text.lower().replace(".", " ").replace("?", " ").split()
                 if w in self.WORDS), np.zeros(3))
        return v / (np.linalg.norm(v) or 1.0)

    def cosine(self, text, doc):
        d = np.array(self.DOCS[doc], float)
        return float(self.vector(text) @ (d / np.linalg.norm(d)))

    def rank(self, texts, k=None):
        self.calls.append((list(texts), k))
        out = []
        for t in texts:
            scored = sorted(((d, self.cosine(t, d)) for d in self.DOCS), key=lambda ds: -ds[1])
            out.append(scored[:k] if k else scored)
        return out


def test_a_document_scores_its_whole_query_cosine_plus_its_best_sentence_s():
    dense = WordRanker()
    text = "Paris. Find a hotel?"
    whole = dict(dense.rank([text])[0])
    assert max(whole, key=whole.get) == "city guide"  # one embedding of both sentences favours the blend
    ranked = SentenceViews(dense).rank([text])[0]
    assert ranked[0][0] == "hotels"  # the ask, scored on its own, wins
    sentences = query_sentences(text)
    for doc, score in ranked:
        assert score == pytest.approx(dense.cosine(text, doc) + max(dense.cosine(s, doc) for s in sentences))
    assert dense.calls[-1][0] == [text, *sentences]  # one batch: the whole query and its sentences


def test_one_sentence_ranks_as_the_dense_ranker_and_k_cuts():
    dense = WordRanker()
    for text in ("a museum in Paris", "hotel"):
        plain = [d for d, _ in dense.rank([text])[0]]
        views = SentenceViews(dense).rank([text, text], 2)
        assert [[d for d, _ in r] for r in views] == [plain[:2], plain[:2]]
    assert SentenceViews(dense).rank([]) == []


def test_past_the_pool_a_view_s_lowest_score_stands_in():
    dense = WordRanker()
    text = "Paris. Find a hotel?"
    ranked = dict(SentenceViews(dense, pool=1).rank([text])[0])
    views = [dense.rank([t], 1)[0] for t in (text, *query_sentences(text))]  # each view's only document
    assert set(ranked) == {v[0][0] for v in views} == {"city guide", "hotels"}

    def score(view, doc):
        return dict(view).get(doc, view[-1][1])
    for doc, got in ranked.items():
        assert got == pytest.approx(score(views[0], doc) + max(score(v, doc) for v in views[1:]))
    with pytest.raises(RetrieverError, match="pool"):
        SentenceViews(dense, pool=0)


def test_label():
    assert label("trained") == "trained (sentences)"
