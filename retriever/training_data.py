"""What a training run learns from: the split, the pairs (human, generated and synthetic) and their negatives.

- The split (``split_by``): ``api`` holds out whole tools, so held-out queries ask for APIs never seen in
  training (:func:`retriever.pairs.split_by_api`); ``query`` holds out queries only; ``folds`` (K > 0) holds
  out fold ``fold`` of a K-fold split by tool (:func:`retriever.pairs.api_folds`, as ``toolbench retriever
  crossval`` does for every fold); ``inner_fold`` then leaves that fold out entirely and holds out an inner
  fold of the rest instead (a dev split to choose settings on).
- ``train_files``: more query files used for training only (e.g. the demo's generated ``*_query.json``); their
  keys are prefixed ``train:`` so their ids never clash with the evaluated files', and a query of theirs that
  names an API of a held-out tool is left out (counted as ``train_file_queries_held_out``).
- Synthetic queries (:mod:`retriever.synthetic`) for every API of the training corpus and of ``catalogs``,
  never for a held-out API.
- Hard negatives: BM25-mined (``hard_negatives``) and same-tool siblings (``sibling_negatives``), never a
  held-out API.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from retriever.corpus import Corpus, load_corpus, split_doc_id
from retriever.errors import RetrieverError
from retriever.pairs import (
    Pair,
    add_hard_negatives,
    add_sentence_pairs,
    add_sibling_negatives,
    api_folds,
    make_pairs,
    query_key,
    read_queries,
    relevant_ids,
    split_by_api,
    split_queries,
)
from retriever.synthetic import catalog_apis, synthetic_queries
from toolbench.records import Query

if TYPE_CHECKING:
    from retriever.train import TrainConfig


@dataclass
class TrainingData:
    corpus: Corpus  # the evaluation corpus (saved as corpus.jsonl)
    documents: Corpus  # every document a pair may name (corpus + catalogs)
    train: list[Query]
    test: list[Query]
    held_out_apis: set[str]
    pairs: list[Pair]
    missing: int
    relevant: dict[str, set[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _train_only(paths: list[str]) -> list[Query]:
    if not paths:
        return []
    return [replace(q, group=f"train:{q.group}" if q.group else "train") for q in read_queries(paths)]


def prepare(cfg: TrainConfig, draw_seed: int | None = None) -> TrainingData:
    """Split (by ``cfg.seed``), make pairs, add synthetic queries and negatives (drawn with ``draw_seed``, default
    ``cfg.seed``: a soup member's own), as ``cfg`` says."""
    draw = cfg.seed if draw_seed is None else draw_seed
    queries = read_queries(cfg.query_files)
    corpus = load_corpus(cfg.corpus, queries)
    if cfg.folds:
        train_q, test_q, held = api_folds(queries, folds=cfg.folds, seed=cfg.seed)[cfg.fold]
        if cfg.inner_fold is not None:  # a dev split of the training data; the held-out fold stays unseen
            train_q, test_q, inner = api_folds(train_q, folds=cfg.folds - 1, seed=cfg.seed)[cfg.inner_fold]
            held |= inner
    elif cfg.split_by == "api":
        train_q, test_q, held = split_by_api(queries, test_fraction=cfg.test_fraction, seed=cfg.seed)
    else:
        (train_q, test_q), held = split_queries(queries, test_fraction=cfg.test_fraction, seed=cfg.seed), set()
    extra = _train_only(cfg.train_files)
    catalogs = [load_corpus(c) for c in cfg.catalogs]
    documents = Corpus.from_apis(catalog_apis([corpus, *catalogs, Corpus.from_queries(extra)]))
    held_tools = {split_doc_id(d)[0] for d in held}
    held |= {d.id for d in documents if d.tool in held_tools}  # a held-out tool's APIs in other catalogs too
    named_held = [q for q in extra if any(split_doc_id(d)[0] in held_tools for d in relevant_ids(q))]
    extra = [q for q in extra if q not in named_held]  # a held-out tool is unseen in training, whatever the file
    synthetic: list[Query] = []
    if cfg.synthetic_per_api or cfg.synthetic_multi:
        synthetic = synthetic_queries(catalog_apis([corpus, *catalogs]), per_api=cfg.synthetic_per_api,
                                      multi=cfg.synthetic_multi, seed=draw, exclude=held)
    learn = [*train_q, *extra, *synthetic]
    pairs, missing = make_pairs(learn, documents)
    if not pairs:
        raise RetrieverError("no training pairs: the training queries have no relevant APIs in the corpus")
    relevant = {query_key(q): set(relevant_ids(q)) for q in [*queries, *extra, *synthetic]}
    if cfg.hard_negatives:
        pairs = add_hard_negatives(pairs, learn, documents, per_pair=cfg.hard_negatives,
                                   depth=cfg.hard_negative_depth, seed=draw, exclude=held)
    if cfg.sibling_negatives:
        pairs = add_sibling_negatives(pairs, documents, relevant, per_pair=cfg.sibling_negatives, seed=draw,
                                      exclude=held)
    if cfg.sentence_pairs:
        pairs = add_sentence_pairs(pairs, documents)
    counts = {"human_queries": len(train_q), "train_file_queries": len(extra),
              "train_file_queries_held_out": len(named_held), "synthetic_queries": len(synthetic)}
    return TrainingData(corpus=corpus, documents=documents, train=train_q, test=test_q, held_out_apis=held,
                        pairs=pairs, missing=len(missing), relevant=relevant, counts=counts)
