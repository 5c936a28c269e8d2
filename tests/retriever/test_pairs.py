"""Training pairs: one per relevant API, split by query with a seed, optional BM25 hard negatives."""

import random

from retriever_fakes import make_query

from retriever.corpus import doc_id
from retriever.pairs import add_hard_negatives, load_pairs, make_pairs, query_key, save_pairs, split_queries
from retriever.train import make_batches


def _queries():
    return [
        make_query("1", "weather in Paris this week", [("Weatherly", "forecast"), ("Weatherly", "current weather")]),
        make_query("2", "convert 100 dollars to euros", [("Moneybox", "convert currency")]),
        make_query("3", "movies with Tom Hanks", [("Filmography", "search movies"), ("Filmography", "actor details")]),
        make_query("4", "how many calories in an apple", [("Recipes", "nutrition facts")]),
        make_query("5", "pasta recipe", [("Recipes", "find recipe")]),
        make_query("1", "same id, other group", [("Moneybox", "exchange history")], group="G2"),
    ]


def test_one_pair_per_relevant_api(toy_corpus):
    pairs, missing = make_pairs(_queries(), toy_corpus)
    assert len(pairs) == 8 and missing == []
    assert pairs[0].query_key == "G1/1" and pairs[0].positive == doc_id("Weatherly", "forecast")
    assert query_key(_queries()[-1]) == "G2/1"


def test_missing_relevant_apis_are_reported(toy_corpus):
    q = make_query("9", "x", [("Nowhere", "api")])
    q.relevant.append(("Weatherly", "forecast"))
    pairs, missing = make_pairs([q], toy_corpus)
    assert [p.positive for p in pairs] == [doc_id("Weatherly", "forecast")]
    assert missing == [("G1/9", doc_id("Nowhere", "api"))]


def test_split_is_by_query_seeded_and_order_free():
    qs = _queries()
    train, test = split_queries(qs, test_fraction=0.34, seed=1)
    assert len(test) == 2 and len(train) == 4  # round(0.34 * 6)
    assert {query_key(q) for q in train}.isdisjoint({query_key(q) for q in test})
    _train2, test2 = split_queries(list(reversed(qs)), test_fraction=0.34, seed=1)
    assert {query_key(q) for q in test2} == {query_key(q) for q in test}

    assert split_queries(qs, test_fraction=0.0, seed=1) == (qs, [])


def test_hard_negatives_are_bm25_ranked_and_never_relevant(toy_corpus):
    qs = _queries()[:5]
    pairs, _ = make_pairs(qs, toy_corpus)
    with_neg = add_hard_negatives(pairs, qs, toy_corpus, per_pair=1, depth=2, seed=0)
    relevant = {query_key(q): {doc_id(*r) for r in q.relevant} for q in qs}
    for p in with_neg:
        assert len(p.negatives) == 1 and p.negatives[0] not in relevant[p.query_key]
    # "convert 100 dollars to euros": the other Moneybox API shares no word; the pool is the BM25 top 2
    # non-relevant documents, so the draw stays within the corpus and repeats with the seed
    assert add_hard_negatives(pairs, qs, toy_corpus, per_pair=1, depth=2, seed=0) == with_neg


def test_pairs_file_round_trip(tmp_path, toy_corpus):
    pairs, _ = make_pairs(_queries(), toy_corpus)
    assert load_pairs(save_pairs(pairs, tmp_path / "p.jsonl")) == pairs


def test_batches_hold_no_false_negatives(toy_corpus):
    qs = _queries()
    pairs, _ = make_pairs(qs, toy_corpus)
    relevant = {query_key(q): {doc_id(*r) for r in q.relevant} for q in qs}
    batches = make_batches(pairs, relevant, batch_size=4, rng=random.Random(0))
    assert sorted(p.positive + p.query_key for b in batches for p in b) == \
        sorted(p.positive + p.query_key for p in pairs)  # nothing lost here
    for batch in batches:
        keys = [p.query_key for p in batch]
        assert len(keys) == len(set(keys)) and 1 < len(batch) <= 4
        for p in batch:
            others = {o.positive for o in batch if o is not p}
            assert not others & relevant[p.query_key]


def test_sentence_pairs_add_each_multi_sentence_query_s_closest_sentence(toy_corpus):
    from retriever.pairs import add_sentence_pairs

    qs = [make_query("7", "I'm off to Rome soon. What's the seven day forecast there? Also convert 100 dollars to "
                          "euros.", [("Weatherly", "forecast"), ("Moneybox", "convert currency")]),
          make_query("8", "pasta recipe", [("Recipes", "find recipe")]),  # one sentence: no extra pair
          make_query("9", "Hello there. Good day!", [("Filmography", "actor details")])]  # no shared word: none
    pairs, _ = make_pairs(qs, toy_corpus)
    pairs = add_hard_negatives(pairs, qs, toy_corpus, per_pair=1, depth=2, seed=0)
    out = add_sentence_pairs(pairs, toy_corpus)
    assert out[:len(pairs)] == pairs
    extra = out[len(pairs):]
    assert [(p.query_key, p.query, p.positive) for p in extra] == [
        ("G1/7", "What's the seven day forecast there?", doc_id("Weatherly", "forecast")),
        ("G1/7", "Also convert 100 dollars to euros.", doc_id("Moneybox", "convert currency"))]
    assert [p.negatives for p in extra] == [p.negatives for p in pairs[:2]]
    # the batcher keeps a sentence pair out of its query's batch (same key, same relevant APIs)
    relevant = {query_key(q): {doc_id(*r) for r in q.relevant} for q in qs}
    for batch in make_batches(out, relevant, batch_size=8, rng=random.Random(0)):
        assert len({p.query_key for p in batch}) == len(batch)
