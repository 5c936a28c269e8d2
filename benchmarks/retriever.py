"""Retriever speed at ToolBench scale: encoding throughput, index build time and query latency, faiss
(exact, IVF, HNSW) against brute-force numpy in the same run.

    .venv/bin/python benchmarks/retriever.py                 # 16,464 APIs, as ToolBench's corpus
    .venv/bin/python benchmarks/retriever.py --apis 100000 --encode 128

Encoding speed is measured on real API documents (StableToolBench's, cycled) with the packaged
all-MiniLM-L6-v2. The index and search figures use synthetic unit vectors of the model's dimension, made
with ToolBench's structure (49 categories, ~4.8 APIs per tool: each API a noisy copy of its tool's vector,
each tool of its category's; each query a noisy copy of one API), so the run takes a minute instead of the
half hour that embedding 16,464 documents on two CPU cores would. Exact search cost does not depend on where
the vectors came from; approximate indexes report their recall@10 against the exact result, which on real
embeddings can differ. Every method runs on ``--threads`` threads (default 1) for a like-for-like figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STB = ROOT / "data" / "reference" / "stabletoolbench" / "G1_instruction.json"


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def encoding(n_docs: int, n_queries: int) -> dict:
    from retriever.corpus import load_corpus
    from retriever.encoder import SentenceTransformerEncoder
    from retriever.pairs import read_queries

    queries = read_queries([STB])
    corpus = load_corpus(None, queries)
    docs = [corpus.texts[i % len(corpus)] for i in range(n_docs)]
    texts = [queries[i % len(queries)].text for i in range(n_queries)]
    encoder, load_s = _timed(lambda: SentenceTransformerEncoder.load(None, max_seq_length=256))
    encoder.encode(texts[:8])  # warm-up
    _, doc_s = _timed(lambda: encoder.encode(docs, batch_size=32))
    _, q_s = _timed(lambda: encoder.encode(texts, batch_size=64))
    return {"model_load_s": load_s, "docs": n_docs, "docs_per_s": n_docs / doc_s, "queries": n_queries,
            "queries_per_s": n_queries / q_s}


def _faiss_ids(index, k, qs):
    return index.search(qs, k)[1]


def search(n_apis: int, dim: int, n_queries: int, k: int, seed: int) -> list[dict]:
    import faiss
    import numpy as np

    rng = np.random.default_rng(seed)

    def unit(v):
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    n_tools = max(1, round(n_apis / 4.8))
    categories = unit(rng.standard_normal((49, dim)))
    tools = unit(categories[rng.integers(0, 49, n_tools)] + 0.08 * rng.standard_normal((n_tools, dim)))
    x = unit(tools[rng.integers(0, n_tools, n_apis)] + 0.05 * rng.standard_normal((n_apis, dim)))
    q = unit(x[rng.integers(0, n_apis, n_queries)] + 0.05 * rng.standard_normal((n_queries, dim)))

    def numpy_search(qs):
        s = qs @ x.T
        top = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.take_along_axis(s, top, 1).argsort(axis=1)[:, ::-1]
        return np.take_along_axis(top, order, 1)

    def build(kind):
        if kind == "faiss flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "faiss ivf":
            nlist = max(1, min(int(4 * n_apis ** 0.5), n_apis // 39))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(x)
            index.nprobe = 16
        else:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = 128
        index.add(x)
        return index

    exact = numpy_search(q)
    rows = []
    for kind in ("numpy", "faiss flat", "faiss ivf", "faiss hnsw"):
        if kind == "numpy":
            build_s, run = 0.0, numpy_search
        else:
            index, build_s = _timed(partial(build, kind))
            run = partial(_faiss_ids, index, k)
        lat = []
        for i in range(n_queries):
            _, s = _timed(partial(run, q[i:i + 1]))
            lat.append(s * 1000)
        found, batch_s = _timed(partial(run, q))
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, exact)]))
        rows.append({"method": kind, "build_s": build_s, "p50_ms": statistics.median(lat),
                     "p95_ms": sorted(lat)[int(0.95 * (len(lat) - 1))], "batch_queries_per_s": n_queries / batch_s,
                     f"recall@{k}_vs_exact": recall})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--apis", type=int, default=16_464, help="corpus size (ToolBench: 16,464 APIs)")
    p.add_argument("--dim", type=int, default=384, help="embedding dimension (all-MiniLM-L6-v2: 384)")
    p.add_argument("--queries", type=int, default=500, help="queries timed one by one and as a batch")
    p.add_argument("--encode", type=int, default=256, help="real API documents encoded to time the model")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-encoding", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="threads of numpy's BLAS, torch and faiss")
    p.add_argument("--json", type=Path, help="also write the figures here")
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)  # read when numpy/torch/faiss load, below
    import faiss
    import torch

    faiss.omp_set_num_threads(a.threads)
    torch.set_num_threads(a.threads)

    out: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                             "faiss": faiss.__version__, "threads": a.threads}}
    if not a.skip_encoding:
        enc = out["encoding"] = encoding(a.encode, 163)
        print(f"encoding (all-MiniLM-L6-v2, max 256 tokens, CPU): {enc['docs_per_s']:.1f} API docs/s, "
              f"{enc['queries_per_s']:.1f} queries/s; {a.apis:,} docs would take "
              f"{a.apis / enc['docs_per_s'] / 60:.1f} min (model load {enc['model_load_s']:.1f} s)")
    rows = out["search"] = search(a.apis, a.dim, a.queries, a.k, a.seed)
    print(f"\n{a.apis:,} APIs x {a.dim} dims, {a.queries} queries, top {a.k}:\n")
    print(f"| method | build (s) | latency p50 (ms) | p95 (ms) | batch (queries/s) | recall@{a.k} vs exact |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['method']} | {r['build_s']:.2f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
              f"{r['batch_queries_per_s']:.0f} | {r[f'recall@{a.k}_vs_exact']:.3f} |")
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
