"""The torch-bf16 encoder backend: bfloat16 weights, float32 unit rows close to float's, rankings within 1 NDCG
point, and an index that reopens on the same backend."""

import numpy as np
import pytest
from retriever_fakes import TOY_APIS, build_tiny_model, make_query, toy_corpus

from retriever.encoder import BACKENDS, load_encoder
from retriever.evaluate import EvalConfig, dense_factory, evaluate
from retriever.index import ApiRetriever

TEXTS = ["weather in Paris", "a much longer request about converting one hundred dollars into euros today", "x"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("m") / "tiny", hidden=64)


def test_bf16_rows_are_float32_units_close_to_float(tiny):
    import torch

    ref = load_encoder(str(tiny)).encode(TEXTS)
    enc = load_encoder(str(tiny), backend="torch-bf16")
    out = enc.encode(TEXTS, batch_size=2)
    assert enc.backend == "torch-bf16" and "torch-bf16" in BACKENDS
    assert next(enc.model.parameters()).dtype == torch.bfloat16
    assert out.dtype == np.float32 and out.shape == ref.shape == (3, 64)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert (out * ref).sum(1).min() > 0.99
    assert enc.encode([]).shape == (0, 64)


def test_bf16_rankings_within_one_ndcg_point_of_float(tiny):
    corpus = toy_corpus()
    queries = [make_query(str(i), f"I need the {n}: {d}", [(t, n)]) for i, (t, n, d) in enumerate(TOY_APIS)]
    report = evaluate(queries, corpus, {b: dense_factory(str(tiny), backend=b, max_seq_length=128)
                                        for b in ("torch", "torch-bf16")})
    m = {r.name: r.metrics for r in report.methods}
    for k in ("ndcg@1", "ndcg@5"):
        assert abs(m["torch-bf16"][k] - m["torch"][k]) <= 0.01


def test_index_built_on_bf16_reopens_on_bf16(tiny, tmp_path):
    enc = load_encoder(str(tiny), backend="torch-bf16", max_seq_length=128)
    ApiRetriever.build(toy_corpus(), enc, max_seq_length=128).save(tmp_path / "idx")
    again = ApiRetriever.load(tmp_path / "idx")
    assert again.meta.extra["backend"] == "torch-bf16"
    assert again.encoder.backend == "torch-bf16"
    assert again.search("seven day weather forecast for a city", 1)[0].name


def test_eval_config_takes_bf16_backend(tmp_path):
    from retriever.errors import ConfigError

    queries = tmp_path / "q.json"
    queries.write_text("[]")
    assert EvalConfig(query_files=[str(queries)], backend="torch-bf16").backend == "torch-bf16"
    with pytest.raises(ConfigError, match="backend"):
        EvalConfig(query_files=[str(queries)], backend="bf16")


def test_fast_bf16_reads_the_cpu_flags():
    from retriever.encoder import fast_bf16

    assert fast_bf16("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\n")
    assert fast_bf16("flags\t: fpu amx_bf16\n")
    assert not fast_bf16("flags\t: fpu sse2 avx2 avx512f\nbugs\t: amx_bf16\n")
    assert not fast_bf16("")
