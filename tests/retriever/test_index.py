"""The faiss index: identical results after save and load, approximate kinds, clear errors."""

import json

import pytest
from retriever_fakes import HashingEncoder, TableEncoder

from retriever.errors import RetrieverError
from retriever.index import ApiRetriever

QUERIES = ["weather forecast for a city", "currency exchange rates", "movies by title", "calories of food"]


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_save_load_round_trip_gives_identical_results(tmp_path, toy_corpus, kind):
    encoder = HashingEncoder()
    built = ApiRetriever.build(toy_corpus, encoder, kind=kind, nlist=2, nprobe=2)
    before = built.rank(QUERIES, 5)
    built.save(tmp_path / "idx")
    loaded = ApiRetriever.load(tmp_path / "idx", encoder=encoder)
    assert loaded.rank(QUERIES, 5) == before
    assert loaded.meta == built.meta
    meta = json.loads((tmp_path / "idx" / "meta.json").read_text())
    assert meta["model"] == "fake-hashing" and meta["kind"] == kind and meta["count"] == len(toy_corpus)


def test_search_returns_apis_best_first(toy_corpus):
    retriever = ApiRetriever.build(toy_corpus, HashingEncoder())
    hits = retriever.search("seven day weather forecast", k=3)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert (hits[0].tool, hits[0].name) == ("Weatherly", "forecast")
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert hits[0].api.description == "seven day weather forecast for a city"
    assert len(retriever.search("anything", k=100)) == len(toy_corpus)


def test_flat_search_is_exact(toy_corpus):
    import numpy as np

    encoder = HashingEncoder()
    retriever = ApiRetriever.build(toy_corpus, encoder)
    docs = encoder.encode(toy_corpus.texts)
    q = encoder.encode(["recipes with an ingredient"])[0]
    expected = [toy_corpus.ids[i] for i in np.argsort(-(docs @ q), kind="stable")]
    assert [d for d, _ in retriever.rank(["recipes with an ingredient"])[0]][:3] == expected[:3]


def test_load_refuses_a_folder_without_index(tmp_path):
    with pytest.raises(RetrieverError, match="toolbench retriever index"):
        ApiRetriever.load(tmp_path)


def test_query_encoder_of_another_dimension_is_refused(tmp_path, toy_corpus):
    ApiRetriever.build(toy_corpus, HashingEncoder(dim=64)).save(tmp_path / "idx")
    loaded = ApiRetriever.load(tmp_path / "idx", encoder=HashingEncoder(dim=32))
    with pytest.raises(RetrieverError, match="64-dimensional"):
        loaded.search("weather")


def test_unknown_kind_is_refused(toy_corpus):
    with pytest.raises(RetrieverError, match="unknown index kind"):
        ApiRetriever.build(toy_corpus, TableEncoder({"x": [1.0]}), kind="lsh")
