"""Ranking metrics: hand-worked values, and an end-to-end evaluation with a fake encoder whose rankings are
known."""

import math

import pytest
from retriever_fakes import TableEncoder, make_api

from retriever.corpus import Corpus, doc_id
from retriever.evaluate import evaluate
from retriever.index import ApiRetriever
from retriever.metrics import dcg, mean_metrics, ndcg_at_k, precision_at_k, recall_at_k, reciprocal_rank
from toolbench.records import Query

L3 = 1 / math.log2(3)  # discount of rank 2: 0.6309
L5 = 1 / math.log2(5)  # discount of rank 4: 0.4307


def test_dcg_discounts_by_log2_of_rank_plus_one():
    # 1/log2(2) + 0 + 1/log2(4) = 1 + 0.5
    assert dcg([1, 0, 1]) == pytest.approx(1.5)


def test_ndcg_hand_worked():
    ranked = ["a", "b", "c", "d"]
    relevant = {"b", "d"}
    assert ndcg_at_k(ranked, relevant, 1) == 0.0  # "a" is not relevant
    # DCG@3 = 1/log2(3) (b at rank 2); ideal = 1 + 1/log2(3) (two relevant first) -> 0.6309 / 1.6309 = 0.3869
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx(L3 / (1 + L3))
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx(0.3869, abs=1e-4)
    # DCG@5 = 1/log2(3) + 1/log2(5) = 1.0616; ideal is still 1.6309 -> 0.6509
    assert ndcg_at_k(ranked, relevant, 5) == pytest.approx((L3 + L5) / (1 + L3))
    assert ndcg_at_k(ranked, relevant, 5) == pytest.approx(0.6509, abs=1e-4)


def test_ndcg_ideal_is_capped_at_k():
    # 3 relevant, k=1: the ideal DCG@1 is 1 (one slot), so a relevant first document scores 1.
    assert ndcg_at_k(["x", "y"], {"x", "y", "z"}, 1) == 1.0
    # perfect ranking scores 1 at any k
    assert ndcg_at_k(["x", "y", "z", "n"], {"x", "y", "z"}, 5) == pytest.approx(1.0)


def test_ndcg_without_relevant_documents_is_zero():
    assert ndcg_at_k(["a"], set(), 3) == 0.0


def test_recall_precision_mrr_hand_worked():
    ranked = ["a", "b", "c", "d"]
    relevant = {"b", "d"}
    assert recall_at_k(ranked, relevant, 1) == 0.0
    assert recall_at_k(ranked, relevant, 3) == 0.5  # b of {b, d}
    assert recall_at_k(ranked, relevant, 10) == 1.0
    assert precision_at_k(ranked, relevant, 2) == 0.5
    assert precision_at_k(ranked, relevant, 10) == 0.2  # 2 relevant / k=10
    assert reciprocal_rank(ranked, relevant) == 0.5  # first relevant at rank 2
    assert reciprocal_rank(ranked, {"z"}) == 0.0


def test_k_must_be_positive():
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a"}, 0)


def test_mean_metrics_rejects_queries_without_relevant_documents():
    with pytest.raises(ValueError, match="no relevant"):
        mean_metrics({"q": ["a"]}, {"q": set()})


def test_matches_scikit_learn_ndcg_like_toolbench():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    import numpy as np

    # ToolBench scores with sklearn's ndcg_score over the whole corpus, 0/1 relevance.
    corpus = ["a", "b", "c", "d", "e", "f"]
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]])  # ranks a..f
    for relevant in ({"b", "d"}, {"a"}, {"c", "e", "f"}):
        truth = np.array([[1.0 if d in relevant else 0.0 for d in corpus]])
        for k in (1, 3, 5):
            assert ndcg_at_k(corpus, relevant, k) == pytest.approx(sklearn_metrics.ndcg_score(truth, scores, k=k))


# -- end to end with a fake encoder ---------------------------------------------------------------------
# Four APIs of tool T with unit vectors; two queries whose vectors give known rankings.
TABLE = {
    "alpha": [1.0, 0.0, 0.0],
    "beta": [0.0, 1.0, 0.0],
    "gamma": [0.0, 0.0, 1.0],
    "delta": [0.6, 0.8, 0.0],
    "first": [1.0, 0.3, 0.1],  # cosines (times 1/|q|): alpha 1, delta 0.84, beta 0.3, gamma 0.1
    "second": [0.0, 1.0, 0.5],  # beta 1, delta 0.8, gamma 0.5, alpha 0
}


def test_evaluate_with_a_fake_encoder_hand_worked():
    corpus = Corpus.from_apis(make_api("T", n, f"the {n} endpoint") for n in ("alpha", "beta", "gamma", "delta"))
    q1 = Query(id="1", text="first question", relevant=[("T", "delta"), ("T", "gamma")])
    q2 = Query(id="2", text="second question", relevant=[("T", "beta")])
    encoder = TableEncoder(TABLE)

    retriever = ApiRetriever.build(corpus, encoder)
    assert [d for d, _ in retriever.rank(["first question"])[0]] == [doc_id("T", n) for n in
                                                                   ("alpha", "delta", "beta", "gamma")]
    report = evaluate([q1, q2], corpus, {"fake": lambda c: ApiRetriever.build(c, encoder)})
    m = report.methods[0].metrics
    # q1 ranks alpha, delta, beta, gamma with {delta, gamma} relevant; q2 ranks beta first, {beta} relevant.
    # NDCG@1: q1 0 (alpha), q2 1 -> 0.5
    assert m["ndcg@1"] == pytest.approx(0.5)
    # NDCG@3: q1 = (1/log2 3) / (1 + 1/log2 3) = 0.3869, q2 = 1 -> 0.6934
    assert m["ndcg@3"] == pytest.approx((L3 / (1 + L3) + 1) / 2)
    # NDCG@5: q1 = (1/log2 3 + 1/log2 5) / (1 + 1/log2 3) = 0.6509, q2 = 1 -> 0.8255
    assert m["ndcg@5"] == pytest.approx(((L3 + L5) / (1 + L3) + 1) / 2)
    assert m["ndcg@5"] == pytest.approx(0.8255, abs=1e-4)
    # recall@1: q1 0, q2 1 -> 0.5; recall@3: q1 1/2 (delta), q2 1 -> 0.75; recall@5: both 1
    assert (m["recall@1"], m["recall@3"], m["recall@5"]) == pytest.approx((0.5, 0.75, 1.0))
    # MRR: q1 first relevant at rank 2 -> 1/2, q2 -> 1; mean 0.75
    assert m["mrr"] == pytest.approx(0.75)
    assert report.queries == 2 and report.corpus_size == 4


def test_evaluate_counts_relevant_apis_missing_from_the_corpus():
    corpus = Corpus.from_apis([make_api("T", "alpha", "a")])
    q1 = Query(id="1", text="first", relevant=[("T", "alpha"), ("T", "nowhere")])
    q2 = Query(id="2", text="second", relevant=[("U", "gone")])
    encoder = TableEncoder({"alpha": [1, 0], "first": [1, 0], "second": [0, 1]})
    report = evaluate([q1, q2], corpus, {"fake": lambda c: ApiRetriever.build(c, encoder)})
    assert report.queries == 1 and report.skipped_queries == 1 and report.missing_relevant == 2
    # q1: alpha found at rank 1 of 2 relevant -> recall@1 = 1/2, and NDCG@1 = 1
    assert report.methods[0].metrics["recall@1"] == 0.5
    assert report.methods[0].metrics["ndcg@1"] == 1.0
    assert "1 queries without any relevant API in the corpus were left out" in report.to_markdown()
    assert "2 relevant APIs are not in the corpus" in report.to_markdown()
