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

Issue 20's figures, each against a baseline in the same run (``--threads 2`` for the 2-core targets):

- training (``--training``, ``--recipe NAME`` repeatable, the first is the baseline): each recipe of
  ``RECIPES`` in its own process on the pairs of all 163 G1 reference queries: seconds per step after the
  first, CPU seconds, peak RSS, and the full run's time (``--train-steps N`` times N steps and extrapolates;
  0 runs them all). ``cpu recipe`` is ``retriever.train.cpu_recipe()``;
- encoding (``--backends``): API documents/s (wall and per CPU-second of the process) with torch at 256 tokens
  (previous), torch float and bf16 weights, ONNX Runtime float and int8 at ``--doc-length`` tokens, and each
  one's minimum cosine to torch float;
- quality (``--quality``): NDCG@1 (95% Wilson interval) and NDCG@5 of BM25, the untrained model, a trained
  model, its int8 encoding and the hybrids on a held-out split of APIs (whole tools unseen in training) of the
  reference queries; ``--trained-model`` evaluates a model trained with ``toolbench retriever train ...
  --split-by api``, else one is trained here with the CPU recipe (``--synthetic-per-api``,
  ``--quality-epochs``, ``--quality-steps``). ``--folds K`` replaces the one-off split by K folds of whole
  tools (``toolbench retriever crossval``: every reference query held out once, one model a fold trained with the
  CPU recipe, each method against BM25 with a paired bootstrap interval and a sign test).
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


# Training recipes timed by --training, each against the first in the same run: the field values that differ
# from TrainConfig's defaults (the held-out split is off: every query trains, as in the full run).
RECIPES = {
    "previous": {"max_seq_length": 256, "query_max_seq_length": 256, "mini_batch_size": 0},
    "cached": {"mini_batch_size": 8},
    "plain": {"mini_batch_size": 0},
    "plain bf16": {"mini_batch_size": 0, "bf16": True},
    "plain bf16 + checkpointing": {"mini_batch_size": 0, "bf16": True, "gradient_checkpointing": True},
    "plain bf16, no dropout": {"mini_batch_size": 0, "bf16": True, "dropout": 0.0},
    "plain bf16, no dropout + checkpointing": {"mini_batch_size": 0, "bf16": True, "dropout": 0.0,
                                               "gradient_checkpointing": True},
    "cached 32 bf16, no dropout": {"mini_batch_size": 32, "bf16": True, "dropout": 0.0},
    "cpu recipe": {},  # retriever.train.cpu_recipe(): plain bf16, no dropout, 2 epochs at lr 1e-4
}


def _train_child(recipe: str, steps: int, out: Path) -> None:
    """One training run in this process (called in a child): prints JSON with seconds, CPU seconds and peak
    RSS."""
    import resource

    from retriever.train import TrainConfig, cpu_recipe, run

    fields = cpu_recipe() if recipe == "cpu recipe" else RECIPES[recipe]
    cfg = TrainConfig(query_files=[str(STB)], output_dir=str(out), test_fraction=0.0, log_every=0,
                      max_steps=steps or None, split_by="query", **fields)
    cpu = time.process_time()
    result = run(cfg)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    after_first = (log[-1]["elapsed"] - log[0]["elapsed"]) / (len(log) - 1) if len(log) > 1 else log[0]["elapsed"]
    print(json.dumps({"recipe": recipe, "steps": result.steps, "seconds": result.seconds,
                      "cpu_seconds": time.process_time() - cpu, "step_s_after_first": after_first,
                      "setup_s": result.seconds - log[-1]["elapsed"],
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def training(steps: int, threads: int, tmp: Path, recipes: list[str]) -> list[dict]:
    import subprocess

    from retriever.train import cpu_recipe

    cpu_recipe_epochs = cpu_recipe()["epochs"]
    rows = []
    for recipe in recipes:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        proc = subprocess.run([sys.executable, __file__, "--_train-child", recipe, "--train-steps", str(steps),
                               "--_out", str(tmp / recipe.replace(" ", "_"))], capture_output=True, text=True,
                              env=env, check=False)
        if proc.returncode:
            raise SystemExit(f"training child ({recipe}) failed:\n{proc.stderr[-2000:]}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        full_steps = row["steps"] if not steps else _full_steps(cpu_recipe_epochs if recipe == "cpu recipe" else 5)
        row["full_steps"] = full_steps
        row["full_seconds_est"] = row["setup_s"] + row["step_s_after_first"] * full_steps
        row["load"] = os.getloadavg()[0]
        rows.append(row)
    return rows


def _full_steps(epochs: int = 5) -> int:
    """Steps of an ``epochs`` run on all 163 reference queries (batches as retriever.train makes them)."""
    import random

    from retriever.corpus import load_corpus
    from retriever.pairs import make_pairs, query_key, read_queries, relevant_ids
    from retriever.train import make_batches

    queries = read_queries([STB])
    pairs, _ = make_pairs(queries, load_corpus(None, queries))
    relevant = {query_key(q): set(relevant_ids(q)) for q in queries}
    rng = random.Random(42)
    return sum(len(make_batches(pairs, relevant, 32, rng)) for _ in range(epochs))


def loss_steps() -> list[dict]:
    """One forward+backward of the same 32 pairs per loss and length, one after another in this process (so a
    machine's load hits them alike): the per-step cost of the cached loss against the plain one."""
    from retriever.corpus import load_corpus
    from retriever.encoder import load_sentence_transformer
    from retriever.pairs import make_pairs, read_queries

    try:
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import losses
    queries = read_queries([STB])
    corpus = load_corpus(None, queries)
    batch = make_pairs(queries, corpus)[0][:32]
    model = load_sentence_transformer(None)
    model.train()

    def feats(texts, length):
        model.max_seq_length = length
        return model.preprocess(texts)

    rows = []
    for name, q_len, d_len, mini in (("plain", 256, 256, 0), ("plain", 64, 128, 0), ("cached, mini-batch 8", 64, 128, 8)):
        loss_fn = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini) if mini else \
            losses.MultipleNegativesRankingLoss(model)
        t = time.perf_counter()
        loss = loss_fn([feats([p.query for p in batch], q_len), feats([corpus[p.positive].text for p in batch], d_len)],
                       None)
        loss.backward()
        model.zero_grad()
        rows.append({"loss": name, "query_tokens": q_len, "doc_tokens": d_len, "seconds": time.perf_counter() - t})
    return rows


def backends(n_docs: int, threads: int, length: int = 128) -> list[dict]:
    """Documents/s per encoder (wall clock, and per CPU-second of this process: the figure a loaded machine
    moves least), and each row's minimum cosine to torch float at the same length."""

    from retriever.corpus import load_corpus
    from retriever.encoder import load_encoder
    from retriever.pairs import read_queries

    queries = read_queries([STB])
    corpus = load_corpus(None, queries)
    docs = [corpus.texts[i % len(corpus)] for i in range(n_docs)]
    rows, ref = [], None
    for label, backend, max_len in (("torch, 256 tokens (previous)", "torch", 256),
                                    (f"torch, {length}", "torch", length),
                                    (f"torch bf16 weights, {length}", "torch-bf16", length),
                                    (f"onnx float, {length}", "onnx", length),
                                    (f"onnx int8, {length}", "onnx-int8", length)):
        encoder = load_encoder(None, backend=backend, max_seq_length=max_len, threads=threads)
        encoder.encode(docs[:32], batch_size=32)  # warm-up (and the first ONNX export, cached after)
        cpu = time.process_time()
        emb, s = _timed(lambda enc=encoder: enc.encode(docs, batch_size=32))
        cpu = time.process_time() - cpu
        if max_len == length and ref is None:
            ref = emb
        cos = float((emb * ref).sum(1).min()) if max_len == length else float("nan")
        rows.append({"encoder": label, "docs_per_s": n_docs / s, "docs_per_cpu_s": n_docs / cpu,
                     "min_cos_vs_float": cos, "load": os.getloadavg()[0]})
        del encoder
    return rows


def quality(trained: str | None, steps: int, tmp: Path, synthetic_per_api: int = 0,
            epochs: int | None = None, fields: dict | None = None) -> dict:
    """NDCG on the held-out API split: BM25, untrained, trained, hybrids; float vs int8 for the trained model.
    A model trained here uses the fast CPU recipe (``retriever.train.cpu_recipe``)."""
    from retriever.corpus import load_corpus
    from retriever.evaluate import bm25_factory, dense_factory, evaluate, hybrid_factory
    from retriever.pairs import read_queries
    from retriever.train import TrainConfig, cpu_recipe, run
    from retriever.training_data import prepare

    recipe = {**cpu_recipe(), "epochs": epochs or cpu_recipe()["epochs"]}
    cfg = TrainConfig(**recipe, query_files=[str(STB)], output_dir=str(tmp / "quality"), split_by="api",
                      test_fraction=0.2, log_every=0, max_steps=steps or None, synthetic_per_api=synthetic_per_api,
                      **(fields or {}))
    data = prepare(cfg)  # the held-out split a --trained-model must have been trained with (same seed)
    source, seconds = trained, None
    if trained is None:
        result = run(cfg)
        trained, seconds = result.model_dir, result.seconds
        source = (f"trained here (CPU recipe, {cfg.epochs} epoch(s), {result.steps} steps, synthetic_per_api "
                  f"{synthetic_per_api}{', ' + json.dumps(fields) if fields else ''})")
    corpus = load_corpus(None, read_queries([STB]))
    built: dict = {}

    def once(name, factory):  # a hybrid reuses its dense method's index
        return lambda c: built[name] if name in built else built.setdefault(name, factory(c))

    label = "untrained" if trained == "none" else "trained"
    model = None if trained == "none" else trained
    flt = once("float", dense_factory(model, backend="onnx", max_seq_length=128))
    bm25 = once("bm25", bm25_factory())
    methods = {"bm25": bm25}
    if model is not None:
        untrained = once("untrained", dense_factory(None, backend="onnx", max_seq_length=128))
        methods |= {"untrained": untrained, "hybrid (bm25 + untrained, RRF)": hybrid_factory(bm25, untrained)}
    methods |= {label: flt, f"{label} int8": dense_factory(model, backend="onnx-int8", max_seq_length=128),
                f"hybrid (bm25 + {label}, RRF)": hybrid_factory(bm25, flt)}
    report = evaluate(data.test, corpus, methods)
    return {"held_out_queries": report.queries, "held_out_apis": len(data.held_out_apis),
            "trained": source if model else "none", "label": label, "train_seconds": seconds,
            "methods": {m.name: m.metrics for m in report.methods}}


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
    p.add_argument("--training", action="store_true", help="time training, previous vs new recipe")
    p.add_argument("--recipe", action="append", choices=list(RECIPES),
                   help="--training: a recipe to time, repeatable (default: all, the first is the baseline)")
    p.add_argument("--train-steps", type=int, default=3, help="steps timed per recipe (0: the full run)")
    p.add_argument("--backends", action="store_true", help="documents/s of torch, ONNX float and int8")
    p.add_argument("--doc-length", type=int, default=128, help="--backends: document tokens of the new rows")
    p.add_argument("--loss-steps", action="store_true", help="one step of each loss/length, in this process")
    p.add_argument("--quality", action="store_true", help="NDCG on a held-out split of APIs")
    p.add_argument("--trained-model", help="model trained with --split-by api (default: train one here; 'none': "
                   "untrained methods only)")
    p.add_argument("--quality-steps", type=int, default=0, help="steps of the model trained here (0: all)")
    p.add_argument("--quality-epochs", type=int, help="--quality: epochs of the model trained here (default: "
                   "the CPU recipe's)")
    p.add_argument("--quality-fields", help="--quality: more TrainConfig fields of the model trained here, as "
                   "JSON (e.g. '{\"hard_negatives\": 1}')")
    p.add_argument("--synthetic-per-api", type=int, help="--quality: synthetic requests per API in the training "
                   "of the model trained here (default: 0; with --folds 1, crossval's recipe)")
    p.add_argument("--folds", type=int, default=0, help="--quality: K folds of whole tools instead of the one-off "
                   "split (retriever crossval; 0: the one-off split)")
    p.add_argument("--skip-search", action="store_true")
    p.add_argument("--_train-child", help=argparse.SUPPRESS)
    p.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if a._train_child:
        _train_child(a._train_child, a.train_steps, a._out)
        return 0
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
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="retriever-bench-"))
    if a.training:
        rows = out["training"] = training(a.train_steps, a.threads, tmp, a.recipe or list(RECIPES))
        print("\n| training recipe | steps timed | s/step (after the first) | CPU-s/step (all) | vs first "
              "| est. full run (s) | peak RSS (MB) | load |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        base = rows[0]["cpu_seconds"] / rows[0]["steps"]
        for r in rows:
            print(f"| {r['recipe']} | {r['steps']} | {r['step_s_after_first']:.1f} | "
                  f"{r['cpu_seconds'] / r['steps']:.1f} | x{r['cpu_seconds'] / r['steps'] / base:.2f} | "
                  f"{r['full_seconds_est']:.0f} ({r['full_steps']} steps) | {r['rss_mb']:.0f} | {r['load']:.1f} |")
    if a.loss_steps:
        rows = out["loss_steps"] = loss_steps()
        print("\n| loss | query / doc tokens | one step of 32 pairs (s) | vs first |")
        print("| --- | --- | --- | --- |")
        for r in rows:
            print(f"| {r['loss']} | {r['query_tokens']} / {r['doc_tokens']} | {r['seconds']:.1f} | "
                  f"x{r['seconds'] / rows[0]['seconds']:.2f} |")
    if a.backends:
        rows = out["backends"] = backends(a.encode, a.threads, a.doc_length)
        print("\n| encoder | API docs/s | vs previous | docs per CPU-s | vs previous | min cosine to float | load |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            print(f"| {r['encoder']} | {r['docs_per_s']:.1f} | x{r['docs_per_s'] / rows[0]['docs_per_s']:.2f} | "
                  f"{r['docs_per_cpu_s']:.1f} | x{r['docs_per_cpu_s'] / rows[0]['docs_per_cpu_s']:.2f} | "
                  f"{r['min_cos_vs_float']:.4f} | {r['load']:.1f} |")
    if a.quality and a.folds:
        from retriever.crossval import CrossValConfig
        from retriever.crossval import run as crossval

        started = time.perf_counter()
        synthetic = 1 if a.synthetic_per_api is None else a.synthetic_per_api
        report = crossval(CrossValConfig(query_files=[str(STB)], folds=a.folds, output_dir=str(tmp / "crossval"),
                                         synthetic_per_api=synthetic, epochs=a.quality_epochs or 1,
                                         max_steps=a.quality_steps or None), echo=lambda _: None)
        out["quality_folds"] = {"seconds": time.perf_counter() - started, **report.to_dict()}
        out["quality_folds"].pop("per_query")
        print(f"\n{a.folds}-fold held-out APIs over {report.queries} queries ({time.perf_counter() - started:.0f} s, "
              f"load {os.getloadavg()[0]:.1f}):\n")
        print(report.to_markdown())
    elif a.quality:
        from eval.intervals import wilson

        q = out["quality"] = quality(a.trained_model, a.quality_steps, tmp, a.synthetic_per_api or 0, a.quality_epochs,
                                     json.loads(a.quality_fields) if a.quality_fields else None)
        print(f"\nheld-out API split: {q['held_out_queries']} queries needing {q['held_out_apis']} APIs of tools "
              f"unseen in training; trained model: {q['trained']}\n")
        print("| method | NDCG@1 [95% Wilson] | NDCG@5 | vs BM25 (NDCG@1) |")
        print("| --- | --- | --- | --- |")
        n = q["held_out_queries"]
        for name, m in q["methods"].items():
            low, high = wilson(round(m["ndcg@1"] * n), n)  # yes/no relevance: NDCG@1 is a share of queries
            print(f"| {name} | {100 * m['ndcg@1']:.1f} [{100 * low:.1f}, {100 * high:.1f}] | {100 * m['ndcg@5']:.1f} | "
                  f"{100 * (m['ndcg@1'] - q['methods']['bm25']['ndcg@1']):+.1f} |")
        if q["train_seconds"]:
            print(f"training took {q['train_seconds']:.0f} s (load {os.getloadavg()[0]:.1f})")
        m = q["methods"]
        lab = q["label"]
        print(f"int8 vs float ({lab}): NDCG@1 {100 * (m[lab + ' int8']['ndcg@1'] - m[lab]['ndcg@1']):+.1f}, "
              f"NDCG@5 {100 * (m[lab + ' int8']['ndcg@5'] - m[lab]['ndcg@5']):+.1f} points")
    if a.skip_search:
        if a.json:
            a.json.write_text(json.dumps(out, indent=2) + "\n")
        return 0
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
