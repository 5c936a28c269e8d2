"""``toolbench retriever ...``: train a dense API retriever, evaluate it against BM25 and the untrained
embedder, build a faiss index, search it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    help="Dense API retrieval (ToolBench's retriever): sentence-transformers + faiss, with a BM25 baseline.\n\n"
    "Examples:\n\n"
    "  # BM25 vs the untrained all-MiniLM-L6-v2 on StableToolBench's 163 G1 queries, against the union of\n\n"
    "  # their APIs (810); prints and saves a table:\n\n"
    "  toolbench retriever eval data/reference/stabletoolbench/G1_instruction.json --out runs/retriever-eval\n\n"
    "  # train on 80% of the queries (split by query, seed 42), then evaluate every method on the other 20%:\n\n"
    "  toolbench retriever train data/reference/stabletoolbench/G1_instruction.json --out runs/retriever\n\n"
    "  toolbench retriever eval data/reference/stabletoolbench/G1_instruction.json "
    "--split runs/retriever/split.json --model trained=runs/retriever/model\n\n"
    "  # index every API of the query files with the trained model, and search it:\n\n"
    "  toolbench retriever index data/reference/stabletoolbench/G1_instruction.json "
    "--model runs/retriever/model --out runs/retriever/index\n\n"
    "  toolbench retriever search \"concerts of the Arctic Monkeys\" --index runs/retriever/index -k 5",
    no_args_is_help=True,
)

QUERY_FILES_HELP = "ToolBench query files (JSON lists of queries with 'api_list' and 'relevant APIs')."
CORPUS_HELP = "API documents: a corpus.jsonl or a ToolBench tools folder (default: the union of the query files' " \
              "api_lists)."


@app.command("train")
def train_cmd(
    query_files: list[Path] = typer.Argument(None, help=QUERY_FILES_HELP + " Optional with --config."),
    out: str = typer.Option(None, "--out", "-o", help="Run folder (default runs/retriever): model/, split.json, "
                                                      "pairs.jsonl, corpus.jsonl, config.json, log.jsonl."),
    model: str = typer.Option(None, help="Starting model: 'packaged' (all-MiniLM-L6-v2, the default) or a "
                                         "sentence-transformers folder."),
    corpus: str = typer.Option(None, help=CORPUS_HELP),
    test_fraction: float = typer.Option(None, help="Share of queries held out (default 0.2; 0 trains on all)."),
    seed: int = typer.Option(None, help="Seed of the split, batches, negatives and torch (default 42)."),
    epochs: int = typer.Option(None, help="Epochs (default 5)."),
    batch_size: int = typer.Option(None, help="Pairs per batch (default 32)."),
    learning_rate: float = typer.Option(None, "--lr", help="Peak learning rate (default 2e-5)."),
    warmup_steps: int = typer.Option(None, help="Warm-up steps (default: 10% of all steps)."),
    max_seq_length: int = typer.Option(None, help="Tokens kept per text (default 256)."),
    hard_negatives: int = typer.Option(None, help="BM25-mined hard negatives per pair (default 0)."),
    max_steps: int = typer.Option(None, help="Stop after this many steps."),
    device: str = typer.Option(None, help="cpu (default), cuda, cuda:N or auto."),
    config: Path = typer.Option(None, help="YAML/TOML/JSON file of TrainConfig fields; options override it."),
) -> None:
    """Fine-tune the embedder with MultipleNegativesRankingLoss on (query, relevant API) pairs.

    Example: toolbench retriever train data/reference/stabletoolbench/G1_instruction.json --out runs/retriever
    """
    from retriever.errors import ConfigError
    from retriever.train import TrainConfig, main
    from toolbench.config import load_config

    cfg = load_config(TrainConfig, config, error=ConfigError, values={
        "query_files": [str(p) for p in query_files] if query_files else None, "output_dir": out, "model": model,
        "corpus": corpus, "test_fraction": test_fraction, "seed": seed, "epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "warmup_steps": warmup_steps, "max_seq_length": max_seq_length,
        "hard_negatives": hard_negatives, "max_steps": max_steps, "device": device})
    result = main(cfg)
    typer.echo(f"trained {result.steps} steps in {result.seconds:.0f} s (loss {result.losses[0]:.3f} -> "
               f"{result.losses[-1]:.3f}); model saved to {result.model_dir}")
    if result.missing_relevant:
        typer.echo(f"note: {result.missing_relevant} relevant APIs of training queries are not in the corpus")
    files = " ".join(cfg.query_files)
    split = f" --split {Path(result.output_dir) / 'split.json'}" if result.test_queries else ""
    typer.echo(f"next: toolbench retriever eval {files}{split} --model trained={result.model_dir}")


def _parse_models(specs: list[str] | None) -> dict[str, str] | None:
    if not specs:
        return None
    models: dict[str, str] = {}
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep:
            label, path = Path(spec.rstrip("/")).name, spec
        if not label or not path:
            raise typer.BadParameter(f"{spec!r}: use LABEL=PATH, e.g. trained=runs/retriever/model",
                                     param_hint="--model")
        if label in models:
            raise typer.BadParameter(f"label {label!r} given twice", param_hint="--model")
        models[label] = path
    return models


@app.command("eval")
def eval_cmd(
    query_files: list[Path] = typer.Argument(None, help=QUERY_FILES_HELP + " Optional with --config."),
    corpus: str = typer.Option(None, help=CORPUS_HELP),
    split: str = typer.Option(None, help="split.json of a training run: evaluate its held-out queries only."),
    method: list[str] = typer.Option(None, "--method", help="Built-in method, repeatable: bm25, untrained "
                                                            "(default: both)."),
    model: list[str] = typer.Option(None, "--model", help="A dense model to add, LABEL=PATH, repeatable "
                                                          "(e.g. trained=runs/retriever/model)."),
    out: str = typer.Option(None, "--out", "-o", help="Folder for results.json and results.md "
                                                      "(default runs/retriever-eval)."),
    depth: int = typer.Option(None, help="Documents ranked per query; MRR is MRR@depth (default 100)."),
    device: str = typer.Option(None, help="Device of the dense methods (default cpu)."),
    config: Path = typer.Option(None, help="YAML/TOML/JSON file of EvalConfig fields; options override it."),
) -> None:
    """NDCG@1/3/5, recall@1/3/5/10 and MRR of every method side by side, printed and saved.

    Example: toolbench retriever eval data/reference/stabletoolbench/G1_instruction.json --method bm25
    """
    from retriever.errors import ConfigError
    from retriever.evaluate import EvalConfig, main
    from toolbench.config import load_config

    cfg = load_config(EvalConfig, config, error=ConfigError, values={
        "query_files": [str(p) for p in query_files] if query_files else None, "corpus": corpus, "split": split,
        "methods": method or None, "models": _parse_models(model), "output_dir": out, "depth": depth,
        "device": device})
    main(cfg, echo=typer.echo)


@app.command("index")
def index_cmd(
    query_files: list[Path] = typer.Argument(None, help="Query files whose APIs are indexed (or give --corpus)."),
    corpus: str = typer.Option(None, help="corpus.jsonl or a ToolBench tools folder to index instead."),
    out: Path = typer.Option(Path("runs/retriever/index"), "--out", "-o", help="Index folder to write."),
    model: str = typer.Option("packaged", help="Embedder: 'packaged' (all-MiniLM-L6-v2) or a "
                                               "sentence-transformers folder, e.g. runs/retriever/model."),
    kind: str = typer.Option("flat", help="flat (exact inner product), ivf or hnsw (approximate; for "
                                          "catalogs past ~100k APIs)."),
    nlist: int = typer.Option(None, help="ivf: clusters (default ~4*sqrt(n))."),
    nprobe: int = typer.Option(16, help="ivf: clusters searched per query."),
    ef_search: int = typer.Option(128, help="hnsw: candidate list size at search time."),
    max_seq_length: int = typer.Option(256, help="Tokens kept per document."),
    device: str = typer.Option("cpu", help="cpu, cuda or cuda:N."),
) -> None:
    """Embed every API document and save a faiss index with its id map and model name.

    Example: toolbench retriever index data/reference/stabletoolbench/G1_instruction.json --out runs/retriever/index
    """
    from retriever.corpus import load_corpus
    from retriever.encoder import SentenceTransformerEncoder
    from retriever.errors import RetrieverError
    from retriever.index import INDEX_KINDS, LARGE_CORPUS, ApiRetriever
    from retriever.pairs import read_queries

    if kind not in INDEX_KINDS:
        raise typer.BadParameter(f"use one of {', '.join(INDEX_KINDS)}", param_hint="--kind")
    if not query_files and corpus is None:
        raise RetrieverError("nothing to index: give query files or --corpus")
    queries = read_queries(query_files) if query_files and corpus is None else []
    docs = load_corpus(corpus, queries)
    encoder = SentenceTransformerEncoder.load(model, device=device, max_seq_length=max_seq_length)
    retriever = ApiRetriever.build(docs, encoder, kind=kind, nlist=nlist, nprobe=nprobe, ef_search=ef_search,
                                   max_seq_length=max_seq_length)
    retriever.save(out)
    typer.echo(f"indexed {len(docs)} APIs with {encoder.name} ({kind}) -> {out}")
    if kind == "flat" and len(docs) > LARGE_CORPUS:
        typer.echo(f"note: past ~{LARGE_CORPUS:,} APIs, --kind hnsw or ivf searches faster")


@app.command("search")
def search_cmd(
    text: str = typer.Argument(..., help="What the user wants done."),
    index: Path = typer.Option(Path("runs/retriever/index"), "--index", "-i", help="Index folder."),
    k: int = typer.Option(5, "-k", help="How many APIs to return."),
    model: str = typer.Option(None, help="Query encoder, if not the model recorded in the index."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """The k APIs closest to a request.

    Example: toolbench retriever search "concerts of the Arctic Monkeys" --index runs/retriever/index -k 5
    """
    from retriever.index import ApiRetriever

    retriever = ApiRetriever.load(index, model=model)
    hits = retriever.search(text, k)
    if as_json:
        for hit in hits:
            typer.echo(json.dumps(hit.to_dict(), ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("rank", "score", "tool", "api", "category", "description")
    for hit in hits:
        table.add_row(str(hit.rank), f"{hit.score:.3f}", hit.tool, hit.name, hit.api.category,
                      hit.api.description[:80])
    Console().print(table)
