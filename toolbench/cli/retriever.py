"""``toolbench retriever ...``: train a dense API retriever, evaluate it against BM25 and the untrained
embedder, build a faiss index, search it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from retriever.crossval import CrossValConfig  # light: the options are built from the configs
from retriever.evaluate import EvalConfig
from retriever.train import TrainConfig
from toolbench.config import options

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
    "  # the fast CPU recipe (docs/retriever.md; --bf16 only on CPUs with AMX/AVX512-BF16):\n\n"
    "  toolbench retriever train data/reference/stabletoolbench/G1_instruction.json --mini-batch-size 0 "
    "--dropout 0 --bf16 --epochs 2 --learning-rate 1e-4 --out runs/retriever\n\n"
    "  # every query held out once: 5 folds of whole tools, a model trained per fold, paired tests vs BM25:\n\n"
    "  toolbench retriever crossval data/reference/stabletoolbench/G1_instruction.json --folds 5 "
    "--out runs/retriever-crossval\n\n"
    "  # index every API of the query files with the trained model, and search it:\n\n"
    "  toolbench retriever index data/reference/stabletoolbench/G1_instruction.json "
    "--model runs/retriever/model --out runs/retriever/index\n\n"
    "  toolbench retriever search \"concerts of the Arctic Monkeys\" --index runs/retriever/index -k 5",
    no_args_is_help=True,
)

QUERY_FILES_HELP = "ToolBench query files (JSON lists of queries with 'api_list' and 'relevant APIs')."
CORPUS_HELP = "API documents: a corpus.jsonl or a ToolBench tools folder (default: the union of the query files' " \
              "api_lists)."


def _settings_to_config(cls: type, settings: dict, config: Path | None, query_files: list[Path] | None):
    """The command's config: the defaults, the --config file (if any), the options given on the command line,
    then the positional query files (:func:`toolbench.config.from_command`)."""
    from retriever.errors import ConfigError
    from toolbench.config import from_command

    return from_command(cls, settings, config, error=ConfigError,
                        query_files=[str(p) for p in query_files] if query_files else None)


@app.command("train")
@options(TrainConfig, skip=("query_files",))
def train_cmd(
    settings: dict,  # one option per TrainConfig field
    query_files: Annotated[list[Path] | None, typer.Argument(help=QUERY_FILES_HELP + " Optional with --config.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/TOML/JSON file of TrainConfig fields; options override "
                                                     "it.")] = None,
) -> None:
    """Fine-tune the embedder (cached MultipleNegativesRankingLoss) on (query, relevant API) pairs.

    Example: toolbench retriever train data/reference/stabletoolbench/G1_instruction.json --out runs/retriever

    With synthetic queries for every API and the hub's catalog, sibling negatives:
    toolbench retriever train data/reference/stabletoolbench/G1_instruction.json --catalogs data/tools
    --synthetic-per-api 2 --synthetic-multi 1 --sibling-negatives 1 --out runs/retriever
    """
    from retriever.train import run

    cfg = _settings_to_config(TrainConfig, settings, config, query_files)
    result = run(cfg)
    typer.echo(f"trained {result.steps} steps in {result.seconds:.0f} s (loss {result.losses[0]:.3f} -> "
               f"{result.losses[-1]:.3f}); model saved to {result.model_dir}")
    if result.missing_relevant:
        typer.echo(f"note: {result.missing_relevant} relevant APIs of training queries are not in the corpus")
    files = " ".join(cfg.query_files)
    split = f" --split {Path(result.output_dir) / 'split.json'}" if result.test_queries else ""
    typer.echo(f"next: toolbench retriever eval {files}{split} --model trained={result.model_dir} "
               "--hybrid trained")


@app.command("eval")
@options(EvalConfig, skip=("query_files",))
def eval_cmd(
    settings: dict,  # one option per EvalConfig field
    query_files: Annotated[list[Path] | None, typer.Argument(help=QUERY_FILES_HELP + " Optional with --config.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/TOML/JSON file of EvalConfig fields; options override "
                                                     "it.")] = None,
) -> None:
    """NDCG@1/3/5, recall@1/3/5/10 and MRR of every method side by side, printed and saved.

    Example: toolbench retriever eval data/reference/stabletoolbench/G1_instruction.json --method bm25

    Trained, hybrid (BM25 + trained, reciprocal rank fusion), int8 ONNX encoder:
    toolbench retriever eval data/reference/stabletoolbench/G1_instruction.json --split runs/retriever/split.json
    --model trained=runs/retriever/model --hybrid trained --backend onnx-int8
    """
    from retriever.evaluate import run

    run(_settings_to_config(EvalConfig, settings, config, query_files), echo=typer.echo)


@app.command("crossval")
@options(CrossValConfig, skip=("query_files",))
def crossval_cmd(
    settings: dict,  # one option per CrossValConfig field
    query_files: Annotated[list[Path] | None, typer.Argument(help=QUERY_FILES_HELP + " Optional with --config.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/TOML/JSON file of CrossValConfig fields; options "
                                                     "override it.")] = None,
) -> None:
    """K-fold held-out APIs: train once per fold of whole tools, score every query on the fold that held it out.

    Prints BM25, untrained, trained and both hybrids' pooled NDCG@1 [95% CI] and NDCG@5, and each method's
    paired NDCG@1 difference to BM25 [95% bootstrap interval, sign test p]; saves results.json and results.md.

    Example (5 folds, the CPU recipe with one synthetic request per API, 1 epoch):
    toolbench retriever crossval data/reference/stabletoolbench/G1_instruction.json --folds 5
    --out runs/retriever-crossval

    Each fold choosing between that recipe and one with multi-API synthetic requests, on a nested dev split:
    toolbench retriever crossval data/reference/stabletoolbench/G1_instruction.json --folds 5
    --out runs/retriever-crossval --candidate synthetic_multi=1
    """
    from retriever.crossval import run

    run(_settings_to_config(CrossValConfig, settings, config, query_files), echo=typer.echo)


@app.command("index")
def index_cmd(
    query_files: Annotated[list[Path] | None, typer.Argument(
        help="Query files whose APIs are indexed (or give --corpus).")] = None,
    corpus: str = typer.Option(None, help="corpus.jsonl or a ToolBench tools folder to index instead."),
    out: Annotated[Path, typer.Option("--out", "-o", help="Index folder to write.")] = Path("runs/retriever/index"),
    model: str = typer.Option("packaged", help="Embedder: 'packaged' (all-MiniLM-L6-v2) or a "
                                               "sentence-transformers folder, e.g. runs/retriever/model."),
    kind: str = typer.Option("flat", help="flat (exact inner product), ivf or hnsw (approximate; for "
                                          "catalogs past ~100k APIs)."),
    nlist: int = typer.Option(None, help="ivf: clusters (default ~4*sqrt(n))."),
    nprobe: int = typer.Option(16, help="ivf: clusters searched per query."),
    ef_search: int = typer.Option(128, help="hnsw: candidate list size at search time."),
    max_seq_length: int = typer.Option(256, help="Tokens kept per document."),
    device: str = typer.Option("cpu", help="cpu, cuda or cuda:N."),
    backend: str = typer.Option("torch", help="Encoder: torch, torch-bf16 (bfloat16 weights; fast on CPUs with "
                                              "AMX/AVX512-BF16), onnx (ONNX Runtime) or onnx-int8 (int8 weights; "
                                              "exported once and cached next to the model)."),
) -> None:
    """Embed every API document and save a faiss index with its id map and model name.

    Example: toolbench retriever index data/reference/stabletoolbench/G1_instruction.json --out runs/retriever/index
    """
    from retriever.corpus import load_corpus
    from retriever.encoder import load_encoder
    from retriever.errors import RetrieverError
    from retriever.index import INDEX_KINDS, LARGE_CORPUS, ApiRetriever
    from retriever.pairs import read_queries

    if kind not in INDEX_KINDS:
        raise typer.BadParameter(f"use one of {', '.join(INDEX_KINDS)}", param_hint="--kind")
    if not query_files and corpus is None:
        raise RetrieverError("nothing to index: give query files or --corpus")
    queries = read_queries(query_files) if query_files and corpus is None else []
    docs = load_corpus(corpus, queries)
    encoder = load_encoder(model, backend=backend, device=device, max_seq_length=max_seq_length)
    retriever = ApiRetriever.build(docs, encoder, kind=kind, nlist=nlist, nprobe=nprobe, ef_search=ef_search,
                                   max_seq_length=max_seq_length)
    retriever.save(out)
    typer.echo(f"indexed {len(docs)} APIs with {encoder.name} ({kind}) -> {out}")
    if kind == "flat" and len(docs) > LARGE_CORPUS:
        typer.echo(f"note: past ~{LARGE_CORPUS:,} APIs, --kind hnsw or ivf searches faster")


@app.command("search")
def search_cmd(
    text: str = typer.Argument(..., help="What the user wants done."),
    index: Annotated[Path, typer.Option("--index", "-i", help="Index folder.")] = Path("runs/retriever/index"),
    k: int = typer.Option(5, "-k", help="How many APIs to return."),
    model: str = typer.Option(None, help="Query encoder, if not the model recorded in the index."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    sentences: bool = typer.Option(False, "--sentences", help="Also score each sentence of the request on its own: "
                                                              "the whole request's cosine plus its best sentence's "
                                                              "(for requests of several sentences)."),
) -> None:
    """The k APIs closest to a request.

    Example: toolbench retriever search "concerts of the Arctic Monkeys" --index runs/retriever/index -k 5

    A request of several sentences, each scored too:
    toolbench retriever search "I'm off to Oslo in May. Which concerts are on?" --index runs/retriever/index --sentences
    """
    from retriever.index import ApiRetriever

    retriever = ApiRetriever.load(index, model=model)
    hits = retriever.search(text, k, sentences=sentences)
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
