"""The BM25 baseline on a toy corpus."""

from retriever.bm25 import Bm25Index, tokenize
from retriever.corpus import doc_id


def test_tokenize_splits_names_and_drops_stopwords():
    assert tokenize("Get_Weather for the City!", frozenset({"for", "the"})) == ["get", "weather", "city"]


def test_ranks_the_lexically_matching_api_first(toy_corpus):
    bm25 = Bm25Index.build(toy_corpus)
    top = bm25.rank(["what is the exchange rate history of my currency"], k=3)[0]
    assert top[0][0] == doc_id("Moneybox", "exchange history")
    assert [d for d, _ in top][1] == doc_id("Moneybox", "convert currency")
    assert top[0][1] > top[1][1] > 0


def test_rankings_cover_the_corpus_and_break_ties_by_corpus_order(toy_corpus):
    bm25 = Bm25Index.build(toy_corpus)
    ranked = bm25.rank(["zzz unknown words only"])[0]
    assert [d for d, _ in ranked] == toy_corpus.ids  # all scores 0: corpus order
    assert all(s == 0.0 for _, s in ranked)


def test_rank_is_deterministic(toy_corpus):
    q = ["recipes with tomato"]
    assert Bm25Index.build(toy_corpus).rank(q) == Bm25Index.build(toy_corpus).rank(q)
