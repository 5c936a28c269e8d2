"""The demo's retriever stage: ``toolbench retriever train`` and ``retriever evaluate`` on held-out tools, then
the catalog indexed with the int8 ONNX encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolbench.cli.demo import stage_common as common
from toolbench.cli.demo.stage_instructions import INSTRUCTION_GROUPS
from toolbench.cli.demo.stage_runner import DemoContext, StageOutput


def query_files(ctx: DemoContext) -> list[str]:
    """The demo's queries: the generated calls' (train and held-out) and the instruction stage's G1/G2/G3 files."""
    files = [str(ctx.path("calls", "train", "queries.json")), str(ctx.path("calls", "heldout", "queries.json"))]
    if ctx.figures("instructions").get("kept"):  # the G1/G2/G3 queries of the instruction stage
        files.extend(str(ctx.path("instructions", f"{g}_query.json")) for g in INSTRUCTION_GROUPS
                     if ctx.path("instructions", f"{g}_query.json").exists())
    return [f for f in files if Path(f).is_file()]


def train_config(ctx: DemoContext) -> Any:
    """``toolbench retriever train``'s config from the profile: the fast CPU recipe (``cpu_recipe``: plain loss,
    no dropout, bf16 where native, lr 1e-4), synthetic requests added; whole tools held out
    (``retriever_heldout_apis``) when the figures come from this one split, none when they come from K folds."""
    from retriever.train import TrainConfig, cpu_recipe

    p = ctx.profile
    return TrainConfig(**{**cpu_recipe(), "epochs": p.retriever_epochs}, query_files=query_files(ctx),
                       output_dir=str(ctx.path("retriever")), corpus=str(common.working_catalog(ctx)), split_by="api",
                       test_fraction=0.0 if p.retriever_folds else p.retriever_heldout_apis, seed=p.seed,
                       batch_size=p.retriever_batch_size, max_seq_length=p.retriever_max_seq_length,
                       synthetic_per_api=p.retriever_synthetic_per_api, sibling_negatives=1, log_every=0)


def crossval_config(ctx: DemoContext) -> Any:
    """``toolbench retriever crossval``'s config: the same recipe, one model per fold of whole tools."""
    from retriever.crossval import CrossValConfig

    p = ctx.profile
    return CrossValConfig(query_files=query_files(ctx), corpus=str(common.working_catalog(ctx)),
                          output_dir=str(ctx.path("retriever", "crossval")), folds=p.retriever_folds, seed=p.seed,
                          epochs=p.retriever_epochs, batch_size=p.retriever_batch_size,
                          synthetic_per_api=p.retriever_synthetic_per_api, sibling_negatives=1,
                          train_max_seq_length=p.retriever_max_seq_length, max_seq_length=p.retriever_max_seq_length)


def eval_config(ctx: DemoContext, model_dir: str) -> Any:
    """``toolbench retriever evaluate``'s config: BM25, untrained, the trained model and the hybrid on the
    held-out tools' queries, the last two also with sentence views."""
    from retriever.evaluate import EvalConfig

    folder = ctx.path("retriever")
    return EvalConfig(query_files=query_files(ctx), corpus=str(common.working_catalog(ctx)),
                      split=str(folder / "split.json"), models={"trained": model_dir}, hybrid=["trained"],
                      sentences=["trained"], output_dir=str(folder / "eval"), max_seq_length=ctx.profile.retriever_max_seq_length)


def stage_retriever(ctx: DemoContext) -> StageOutput:
    """Train on the demo's queries (generated calls, the instruction stage's G1/G2/G3 files) plus synthetic
    requests for every catalog API, holding out whole tools; report BM25, untrained, trained and hybrid
    (BM25 + trained, reciprocal rank fusion) on the queries of the held-out tools, with 95% Wilson intervals
    on NDCG@1 (with yes/no relevance, NDCG@1 is the share of queries whose first API is relevant); index the
    catalog with the int8 ONNX encoder."""
    from eval.intervals import wilson
    from retriever.corpus import load_corpus
    from retriever.crossval import run as crossval
    from retriever.encoder import load_encoder
    from retriever.evaluate import run as evaluate
    from retriever.index import ApiRetriever
    from retriever.train import run as train

    p = ctx.profile
    catalog = str(common.working_catalog(ctx))
    folder = ctx.path("retriever")
    lines: list[str] = []
    methods: dict[str, dict] = {}
    queries = 0
    if p.retriever_folds:
        with ctx.console.status(f"{p.retriever_folds}-fold held-out tools: a retriever per fold, then BM25, "
                                "untrained, trained and hybrid on each fold's queries..."):
            folds = crossval(crossval_config(ctx), echo=lines.append)
        queries = folds.queries
        for name, m in folds.methods.items():
            methods[name] = {k: round(m[k], 4) for k in ("ndcg@1", "ndcg@5")}
            methods[name]["ndcg@1_95ci"] = [round(x, 4) for x in m["ndcg@1_interval"]]
            if "vs_bm25" in m:
                c = m["vs_bm25"]
                methods[name]["ndcg@1_vs_bm25"] = {"difference": round(c["difference"], 4),
                                                   "interval": [round(x, 4) for x in c["interval"]],
                                                   "wins": c["wins"], "losses": c["losses"], "p": round(c["p"], 4)}
    with ctx.console.status("training the retriever (CPU recipe: plain in-batch negatives, bf16"
                            + (", on every query" if p.retriever_folds else ", held-out tools") + ")..."):
        result = train(train_config(ctx))
    if result.test_queries and not p.retriever_folds:
        with ctx.console.status("evaluating BM25, untrained, trained and hybrid on the held-out tools' queries..."):
            report = evaluate(eval_config(ctx, result.model_dir), echo=lines.append)
        queries = report.queries
        for m in report.methods:
            hits = round(m.metrics["ndcg@1"] * queries)
            methods[m.name] = {k: round(v, 4) for k, v in m.metrics.items() if k in ("ndcg@1", "ndcg@5", "recall@5")}
            methods[m.name]["ndcg@1_95ci"] = [round(x, 4) for x in wilson(hits, queries)]
    with ctx.console.status("indexing the catalog with the trained model (int8 ONNX encoder, faiss)..."):
        docs = load_corpus(catalog, [])
        encoder = load_encoder(result.model_dir, backend="onnx-int8", max_seq_length=p.retriever_max_seq_length)
        ApiRetriever.build(docs, encoder, max_seq_length=p.retriever_max_seq_length).save(folder / "index")
    figures = {"steps": result.steps, "pairs": result.pairs, "seconds": round(result.seconds, 1),
               "first_loss": result.losses[0] if result.losses else None,
               "last_loss": result.losses[-1] if result.losses else None, "heldout_queries": queries,
               "split": f"{p.retriever_folds} folds of tools" if p.retriever_folds else "api",
               "folds": p.retriever_folds, "methods": methods}
    ndcg = ", ".join(f"{name} {100 * m['ndcg@1']:.1f} [{100 * m['ndcg@1_95ci'][0]:.1f}, "
                     f"{100 * m['ndcg@1_95ci'][1]:.1f}]" for name, m in methods.items()) or "no held-out tool"
    evaluation = folder / "crossval" / "results.md" if p.retriever_folds else folder / "eval" / "results.md"
    if p.retriever_folds:
        where = f"{queries} queries, each held out once in {p.retriever_folds} folds of whole tools"
        for name in ("trained+bm25", "trained (sentences)+bm25"):
            best = methods.get(name, {}).get("ndcg@1_vs_bm25")
            if best:
                ndcg += (f"; {name} vs BM25 {100 * best['difference']:+.1f} [{100 * best['interval'][0]:+.1f}, "
                         f"{100 * best['interval'][1]:+.1f}] (sign test p {best['p']:.2g})")
    else:
        where = f"{queries} queries of held-out tools"
    return StageOutput(figures, {"retriever model": result.model_dir, "retriever index": str(folder / "index"),
                                 "retriever evaluation": str(evaluation)},
                       f"{result.steps} steps on {result.pairs} pairs; NDCG@1 (95% CI) on {where}: {ndcg}")
