"""Every retrieval method side by side on held-out queries: NDCG@1/3/5, recall@k, MRR.

Each method ranks the whole corpus for each query (its top ``depth``: MRR is MRR@depth); queries whose
relevant APIs are all missing from the corpus are left out and counted. Results are printed as a Markdown table
and saved as ``results.json`` and ``results.md``, next to ToolBench's published figures for reference (which
were measured on their own corpus of 16,464 APIs and test queries, so they anchor, not compare).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from retriever import sentences
from retriever.corpus import Corpus, load_corpus
from retriever.errors import ConfigError, RetrieverError
from retriever.metrics import DEFAULT_NDCG_KS, DEFAULT_RECALL_KS, mean_metrics, metric_names
from retriever.pairs import query_key, read_queries, relevant_ids
from toolbench.config import doc
from toolbench.records import Query

# ToolBench (Qin et al., 2023, Table 3): NDCG@1 / NDCG@5 averaged over I1, I2, I3 on their own test split.
TOOLBENCH_ANCHOR = {
    "BM25": {"ndcg@1": 15.84, "ndcg@5": 15.63},
    "OpenAI Ada": {"ndcg@1": 46.59, "ndcg@5": 43.95},
    "ToolBench retriever (trained)": {"ndcg@1": 75.73, "ndcg@5": 83.06},
}

BUILTIN_METHODS = ("bm25", "untrained")


class Ranker(Protocol):
    def rank(self, texts: Sequence[str], k: int | None = None) -> list[list[tuple[str, float]]]: ...


RankerFactory = Callable[[Corpus], Ranker]


def bm25_factory() -> RankerFactory:
    def make(corpus: Corpus) -> Ranker:
        from retriever.bm25 import Bm25Index

        return Bm25Index.build(corpus)
    return make


def dense_factory(model: str | None, *, device: str = "cpu", max_seq_length: int | None = 256,
                  batch_size: int = 64, backend: str = "torch") -> RankerFactory:
    """A ranker embedding the corpus with a sentence-transformers model (None: the packaged MiniLM) into an
    exact faiss index; ``backend``: torch, torch-bf16, onnx or onnx-int8 (see
    :func:`retriever.encoder.load_encoder`)."""
    def make(corpus: Corpus) -> Ranker:
        from retriever.encoder import load_encoder
        from retriever.index import ApiRetriever

        encoder = load_encoder(model, backend=backend, device=device, max_seq_length=max_seq_length)
        return ApiRetriever.build(corpus, encoder, batch_size=batch_size, max_seq_length=max_seq_length)
    return make


def hybrid_factory(*factories: RankerFactory) -> RankerFactory:
    """BM25 and dense rankers fused by reciprocal rank fusion (:mod:`retriever.fusion`)."""
    def make(corpus: Corpus) -> Ranker:
        from retriever.fusion import HybridRanker

        return HybridRanker([f(corpus) for f in factories])
    return make


def sentence_factory(factory: RankerFactory) -> RankerFactory:
    """A dense ranker scored with sentence views (:mod:`retriever.sentences`)."""
    def make(corpus: Corpus) -> Ranker:
        return sentences.SentenceViews(factory(corpus))
    return make


@dataclass
class MethodResult:
    name: str
    metrics: dict[str, float]
    seconds: float


@dataclass
class EvalReport:
    """The figures of one evaluation, and what they were measured on."""

    query_files: list[str]
    queries: int
    skipped_queries: int  # no relevant API in the corpus
    missing_relevant: int  # relevant (query, API) pairs whose API is not in the corpus
    corpus_size: int
    split: str | None
    depth: int
    methods: list[MethodResult] = field(default_factory=list)
    metric_names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["toolbench_anchor"] = TOOLBENCH_ANCHOR
        return out

    def to_markdown(self) -> str:
        names = self.metric_names
        head = "| method | " + " | ".join(_label(n, self.depth) for n in names) + " | time (s) |"
        lines = [head, "|" + " --- |" * (len(names) + 2)]
        for m in self.methods:
            lines.append(f"| {m.name} | " + " | ".join(f"{100 * m.metrics[n]:.2f}" for n in names)
                         + f" | {m.seconds:.1f} |")
        lines.append("")
        where = ", ".join(self.query_files)
        lines.append(f"{self.queries} queries from {where}" + (f" (held out by {self.split})" if self.split else "")
                     + f", ranked against a corpus of {self.corpus_size} APIs; figures in %."
                     + (f" {self.skipped_queries} queries without any relevant API in the corpus were left out."
                        if self.skipped_queries else "")
                     + (f" {self.missing_relevant} relevant APIs are not in the corpus (counted as not found)."
                        if self.missing_relevant else ""))
        lines.append("")
        lines.append("ToolBench's published figures (their corpus of 16,464 APIs, their test queries), for scale:")
        lines.append("")
        lines.append("| method | NDCG@1 | NDCG@5 |")
        lines.append("| --- | --- | --- |")
        for name, fig in TOOLBENCH_ANCHOR.items():
            lines.append(f"| {name} | {fig['ndcg@1']:.2f} | {fig['ndcg@5']:.2f} |")
        return "\n".join(lines) + "\n"

    def save(self, folder: str | Path) -> tuple[Path, Path]:
        return save_results(folder, self.to_dict(), self.to_markdown())


def save_results(folder: str | Path, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """An evaluation's ``results.json`` and ``results.md`` in ``folder`` (made if missing); their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    j, m = folder / "results.json", folder / "results.md"
    j.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    m.write_text(markdown, encoding="utf-8")
    return j, m


def _label(metric: str, depth: int) -> str:
    """``ndcg@1`` -> ``NDCG@1``, ``recall@5`` -> ``Recall@5``, ``mrr`` -> ``MRR@100``."""
    if metric == "mrr":
        return f"MRR@{depth}"
    name, _, k = metric.partition("@")
    return {"ndcg": "NDCG", "recall": "Recall"}.get(name, name) + f"@{k}"


def judged(queries: Sequence[Query], corpus: Corpus) -> tuple[dict[str, set[str]], dict[str, str], int, int]:
    """What can be scored: (query key -> relevant doc ids, query key -> text, queries skipped because none of
    their relevant APIs is in the corpus, relevant (query, API) pairs missing from the corpus)."""
    qrels: dict[str, set[str]] = {}
    texts: dict[str, str] = {}
    skipped = missing = 0
    for q in queries:
        rel = relevant_ids(q)
        missing += sum(1 for d in rel if d not in corpus)
        if not any(d in corpus for d in rel):
            skipped += 1
            continue
        qrels[query_key(q)] = set(rel)
        texts[query_key(q)] = q.text
    return qrels, texts, skipped, missing


def evaluate(queries: Sequence[Query], corpus: Corpus, methods: Mapping[str, RankerFactory], *, depth: int = 100,
             ndcg_ks: Sequence[int] = DEFAULT_NDCG_KS, recall_ks: Sequence[int] = DEFAULT_RECALL_KS,
             query_files: Sequence[str] = (), split: str | None = None,
             progress: Callable[[str], None] | None = None) -> EvalReport:
    """Rank the corpus for every query with every method and average the metrics."""
    qrels, texts, skipped, missing = judged(queries, corpus)
    if not qrels:
        raise RetrieverError("no query has a relevant API in the corpus: nothing to evaluate; check that the "
                             "corpus holds the queries' APIs")
    depth = min(depth, len(corpus))
    keys = list(qrels)
    report = EvalReport(query_files=list(query_files), queries=len(keys), skipped_queries=skipped,
                        missing_relevant=missing, corpus_size=len(corpus), split=split, depth=depth,
                        metric_names=metric_names(ndcg_ks, recall_ks))
    for name, factory in methods.items():
        started = time.monotonic()
        if progress:
            progress(f"{name}: indexing {len(corpus)} APIs and ranking {len(keys)} queries")
        ranker = factory(corpus)
        ranked = ranker.rank([texts[k] for k in keys], depth)
        rankings = {k: [d for d, _ in r] for k, r in zip(keys, ranked)}
        metrics = mean_metrics(rankings, qrels, ndcg_ks=ndcg_ks, recall_ks=recall_ks)
        report.methods.append(MethodResult(name, metrics, time.monotonic() - started))
    return report



@dataclass
class EvalConfig:
    """An evaluation run; checked in ``__post_init__`` before any model loads."""

    query_files: list[str] = field(default_factory=list, metadata=doc(
        "ToolBench query files; their queries are evaluated (all of them, or the held-out ones of --split)."))
    corpus: str | None = field(default=None, metadata=doc(
        "corpus.jsonl or a ToolBench tools folder; default: the union of the query files' api_lists."))
    split: str | None = field(default=None, metadata=doc(
        "A split.json from `toolbench retriever train`: evaluate only its held-out ('test') queries."))
    methods: list[str] = field(default_factory=lambda: list(BUILTIN_METHODS), metadata=doc(
        "Built-in method, repeatable: 'bm25' and 'untrained' (the packaged all-MiniLM-L6-v2); default both.",
        option="--method"))
    models: dict[str, str] = field(default_factory=dict, metadata=doc(
        "A dense model to add, repeatable: label -> sentence-transformers folder.", option="--model",
        form="LABEL=PATH", example="trained=runs/retriever/model"))
    hybrid: list[str] = field(default_factory=list, metadata=doc(
        "A dense method (a model label, or 'untrained') to also fuse with BM25 by reciprocal rank fusion, "
        "repeatable; each adds a method 'LABEL+bm25'."))
    sentences: list[str] = field(default_factory=list, metadata=doc(
        "A dense method (a model label, or 'untrained') to also score with sentence views (retriever.sentences: "
        "the whole query's cosine plus its best sentence's), repeatable; adds 'LABEL (sentences)', and "
        "'LABEL (sentences)+bm25' when LABEL is also a hybrid."))
    backend: str = field(default="torch", metadata=doc(
        "Encoder backend of dense methods: torch, torch-bf16 (bfloat16 weights), onnx (ONNX Runtime) or onnx-int8 "
        "(int8 weights)."))
    output_dir: str = field(default="runs/retriever-eval", metadata=doc("Where results.json/.md are written.",
                                                                        option="--out"))
    depth: int = field(default=100, metadata=doc("Documents ranked per query (MRR is MRR@depth)."))
    max_seq_length: int = field(default=256, metadata=doc("Tokens kept of each text by dense methods."))
    device: str = field(default="cpu", metadata=doc("Device of dense methods: 'cpu', 'cuda', 'cuda:N'."))
    batch_size: int = field(default=64, metadata=doc("Encoding batch size."))

    def __post_init__(self) -> None:
        if isinstance(self.query_files, (str, Path)):
            self.query_files = [str(self.query_files)]
        self.query_files = [str(p) for p in self.query_files]
        if not self.query_files:
            raise ConfigError("query_files", "give at least one ToolBench query file")
        for p in self.query_files:
            if not Path(p).is_file():
                raise ConfigError("query_files", f"{p}: no such file")
        if self.corpus is not None and not Path(self.corpus).exists():
            raise ConfigError("corpus", f"{self.corpus}: no such file or folder")
        if self.split is not None and not Path(self.split).is_file():
            raise ConfigError("split", f"{self.split}: no such file")
        for m in self.methods:
            if m not in BUILTIN_METHODS:
                raise ConfigError("methods", f"unknown method {m!r}; built-in ones are {', '.join(BUILTIN_METHODS)}"
                                             " (add trained models with models / --model LABEL=PATH)")
        for label, path in self.models.items():
            if label in self.methods:
                raise ConfigError("models", f"label {label!r} is also a built-in method; pick another label")
            if not Path(path).is_dir():
                raise ConfigError("models", f"{label}: {path} is not a model folder")
        for name in ("hybrid", "sentences"):
            for label in getattr(self, name):
                if label != "untrained" and label not in self.models:
                    raise ConfigError(name, f"{label!r} is neither 'untrained' nor a label of models")
        from retriever.encoder import BACKENDS

        if self.backend not in BACKENDS:
            raise ConfigError("backend", f"use one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.backend.startswith("onnx") and self.device != "cpu":
            raise ConfigError("backend", f"{self.backend} runs on the CPU; use backend torch for {self.device}")
        if not self.methods and not self.models:
            raise ConfigError("methods", "nothing to evaluate: give a method or a model")
        for name in ("depth", "max_seq_length", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be a positive integer, got {getattr(self, name)}")


def _held_out(queries: list[Query], split_path: str) -> list[Query]:
    try:
        data = json.loads(Path(split_path).read_text(encoding="utf-8"))
        test = set(data["test"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RetrieverError(f"{split_path}: not a split file (needs a 'test' list of query keys): {exc}") from exc
    chosen = [q for q in queries if query_key(q) in test]
    unknown = test - {query_key(q) for q in chosen}
    if unknown:
        raise RetrieverError(f"{split_path}: {len(unknown)} held-out queries (e.g. {min(unknown)!r}) are not in "
                             "the query files given; evaluate on the files the model was trained from")
    return chosen


def run(cfg: EvalConfig, *, echo: Callable[[str], None] = print) -> EvalReport:
    """Evaluate, print the table, save results.json and results.md in ``cfg.output_dir``."""
    all_queries = read_queries(cfg.query_files)
    corpus = load_corpus(cfg.corpus, all_queries)
    queries = _held_out(all_queries, cfg.split) if cfg.split else all_queries
    methods: dict[str, RankerFactory] = {}
    made: dict[str, Ranker] = {}  # a hybrid reuses the index its dense method built

    def once(key: str, factory: RankerFactory) -> RankerFactory:
        def make(corpus: Corpus) -> Ranker:
            if key not in made:
                made[key] = factory(corpus)
            return made[key]
        return make

    def dense(label: str) -> RankerFactory:
        return once(label, dense_factory(cfg.models.get(label), device=cfg.device, max_seq_length=cfg.max_seq_length,
                                         batch_size=cfg.batch_size, backend=cfg.backend))

    bm25 = once("bm25", bm25_factory())
    for m in cfg.methods:
        methods[m] = bm25 if m == "bm25" else dense(m)
    for label in cfg.models:
        methods[label] = dense(label)
    for label in cfg.hybrid:
        methods[f"{label}+bm25"] = hybrid_factory(bm25, dense(label))
    for label in cfg.sentences:
        views = once(sentences.label(label), sentence_factory(dense(label)))
        methods[sentences.label(label)] = views
        if label in cfg.hybrid:
            methods[f"{sentences.label(label)}+bm25"] = hybrid_factory(bm25, views)
    report = evaluate(queries, corpus, methods, depth=cfg.depth, query_files=cfg.query_files, split=cfg.split,
                      progress=echo)
    echo(report.to_markdown())
    j, m = report.save(cfg.output_dir)
    echo(f"saved {j} and {m}")
    return report
