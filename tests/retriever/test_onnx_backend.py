"""The ONNX Runtime backend: same embeddings as torch (float), rankings within 1 NDCG point (int8), cached
export that follows retraining, and the index remembering its backend."""

import os

import numpy as np
import pytest
from retriever_fakes import TOY_APIS, build_tiny_model, make_query, toy_corpus

pytest.importorskip("onnxruntime")

from retriever.encoder import load_encoder
from retriever.evaluate import dense_factory, evaluate
from retriever.index import ApiRetriever
from retriever.onnx_backend import FLOAT_FILE, INT8_FILE, export_onnx, onnx_dir

TEXTS = ["weather in Paris", "a much longer request about converting one hundred dollars into euros today", "x"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("m") / "tiny", hidden=64)


def test_onnx_float_matches_torch_and_int8_stays_close(tiny):
    ref = load_encoder(str(tiny)).encode(TEXTS)
    flt = load_encoder(str(tiny), backend="onnx", max_seq_length=256).encode(TEXTS, batch_size=2)
    q8 = load_encoder(str(tiny), backend="onnx-int8", max_seq_length=256).encode(TEXTS, batch_size=2)
    assert flt.shape == ref.shape == (3, 64)
    assert np.allclose(np.linalg.norm(flt, axis=1), 1.0, atol=1e-5)
    assert (flt * ref).sum(1).min() > 0.9999
    assert (q8 * ref).sum(1).min() > 0.95
    assert (onnx_dir(tiny) / FLOAT_FILE).is_file() and (onnx_dir(tiny) / INT8_FILE).is_file()


def test_int8_rankings_within_one_ndcg_point_of_float(tiny):
    corpus = toy_corpus()
    queries = [make_query(str(i), f"I need the {n}: {d}", [(t, n)]) for i, (t, n, d) in enumerate(TOY_APIS)]
    report = evaluate(queries, corpus, {b: dense_factory(str(tiny), backend=b, max_seq_length=128)
                                        for b in ("torch", "onnx", "onnx-int8")})
    m = {r.name: r.metrics for r in report.methods}
    for k in ("ndcg@1", "ndcg@5"):
        assert abs(m["onnx"][k] - m["torch"][k]) < 1e-6
        assert abs(m["onnx-int8"][k] - m["onnx"][k]) <= 0.01


def test_export_is_cached_and_redone_after_retraining(tmp_path):
    model = build_tiny_model(tmp_path / "m")
    path = export_onnx(model)
    first = path.stat().st_mtime_ns
    assert export_onnx(model).stat().st_mtime_ns == first  # unchanged weights: not exported again
    weights = model / "model.safetensors"
    os.utime(weights, (weights.stat().st_atime + 10, weights.stat().st_mtime + 10))  # "retrained"
    assert export_onnx(model).stat().st_mtime_ns != first


def test_index_built_on_onnx_reopens_on_onnx(tiny, tmp_path):
    corpus = toy_corpus()
    enc = load_encoder(str(tiny), backend="onnx-int8", max_seq_length=128)
    ApiRetriever.build(corpus, enc, max_seq_length=128).save(tmp_path / "idx")
    again = ApiRetriever.load(tmp_path / "idx")
    assert again.meta.extra["backend"] == "onnx-int8"
    assert getattr(again.encoder, "backend", None) == "onnx-int8"
    assert again.search("seven day weather forecast for a city", 1)[0].name


def test_unknown_backend_is_refused(tiny):
    from retriever.errors import RetrieverError

    with pytest.raises(RetrieverError, match="backend"):
        load_encoder(str(tiny), backend="tensorrt")
