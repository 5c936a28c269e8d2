"""K-fold evaluation on held-out APIs: every query is held out once, by a model that never saw its tool.

The queries fall into K folds of whole tools (:func:`retriever.pairs.api_folds`: a fold's queries need only APIs
of tools no other fold's query needs). For each fold a model is trained (:func:`retriever.train.run`, the CPU
recipe by default) on the other folds' queries plus synthetic requests for every API *not* of the held-out
fold's tools (the training data's ``held_out_apis``: the fold's tools' APIs in the corpus and in every catalog
are never phrased, nor used as negatives), and the fold's queries are ranked against the whole corpus by

- ``bm25``, ``untrained`` (the starting model) and ``untrained+bm25`` (reciprocal rank fusion): these learn
  nothing, so they rank every query once;
- ``trained`` and ``trained+bm25``: the fold's model, on the fold's queries only;
- ``trained (sentences)`` and ``trained (sentences)+bm25``: the same model scoring each query's sentences too
  (:mod:`retriever.sentences`: the whole query's cosine plus its best sentence's).

With ``tune_fusion`` both hybrids are also scored with BM25's fusion weight chosen per fold without its
held-out queries (:func:`choose_weight`): the untrained hybrid's on the fold's training queries, the trained
one's on a nested dev split (``TrainConfig.inner_fold``: a model trained on the fold's training data minus an
inner fold of its tools, scored on that inner fold).

With ``candidates`` (other training recipes, each a few of this config's training fields changed), each fold
chooses its recipe on the same nested dev split: every recipe's dev model is scored there, and the recipe whose
BM25 + dense hybrid gets the best dev NDCG@1 (then NDCG@5; ties keep the earlier recipe, this run's own first)
trains the fold's model for ``trained, chosen recipe`` and ``trained+bm25, chosen recipe``. A recipe is thus
chosen per fold without its held-out queries, and the pooled figures of the chosen recipe are an honest
estimate of choosing that way.

The per-query scores of all folds are pooled (each query scored once per method), and every method is compared
with BM25 query by query: the mean NDCG@1 difference with a seeded paired bootstrap interval and an exact sign
test (:func:`eval.intervals.paired_comparison`; NDCG@1 is 0 or 1 a query, so the sign test is McNemar's exact
test on first hits won and lost). NDCG@1 itself gets a Wilson interval (a share of queries). The bootstrap
redraws queries of the pool; it does not redraw the training of the K models, so it is the uncertainty of
these models on these queries, not of the recipe over all possible trainings.

A run folder holds ``fold<i>/`` (each fold's training run: model/, split.json, ...; a finished fold whose
training settings did not change is reused on a rerun), ``results.json`` (settings, folds, pooled figures,
comparisons and every query's scores) and ``results.md`` (the tables).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from retriever.crossval_report import CrossValReport
from retriever.errors import ConfigError, RetrieverError
from toolbench.config import doc

BASELINE = "bm25"
METHODS = ("bm25", "untrained", "untrained+bm25", "trained", "trained+bm25", "trained (sentences)",
           "trained (sentences)+bm25")
TUNED = ("untrained+bm25, tuned weight", "trained+bm25, tuned weight")  # with tune_fusion
CHOSEN = ("trained, chosen recipe", "trained+bm25, chosen recipe",
          "trained (sentences)+bm25, chosen recipe")  # with candidates
BASE_RECIPE = "base"  # this run's own training settings, the first recipe a fold may choose
# The training fields a candidate recipe may change.
CANDIDATE_FIELDS = ("recipe", "epochs", "learning_rate", "batch_size", "synthetic_per_api", "synthetic_multi",
                    "hard_negatives", "sibling_negatives", "sentence_pairs", "train_max_seq_length", "max_steps",
                    "doc_style", "soup")
RECIPES = ("cpu", "toolbench")
REPORTED = ("ndcg@1", "ndcg@5")


@dataclass
class CrossValConfig:
    """A K-fold held-out-API evaluation; checked in ``__post_init__`` before any model loads."""

    query_files: list[str] = field(default_factory=list, metadata=doc(
        "ToolBench query files; every query is held out in one fold and evaluated there."))
    corpus: str | None = field(default=None, metadata=doc(
        "corpus.jsonl or a ToolBench tools folder; default: the union of the query files' api_lists."))
    output_dir: str = field(default="runs/retriever-crossval", metadata=doc(
        "Run folder: fold<i>/ (each fold's training run), results.json, results.md.", option="--out"))
    folds: int = field(default=5, metadata=doc("K: folds of whole tools; each is held out once."))
    seed: int = field(default=42, metadata=doc("Seed of the folds and of each fold's training."))
    model: str = field(default="packaged", metadata=doc(
        "Starting model (the 'untrained' method too): 'packaged' (all-MiniLM-L6-v2) or a sentence-transformers "
        "folder."))
    recipe: str = field(default="cpu", metadata=doc(
        "Training recipe: 'cpu' (retriever.train.cpu_recipe: plain loss, no dropout, bf16 where native, lr 1e-4) "
        "or 'toolbench' (TrainConfig's defaults: cached loss, lr 2e-5, 5 epochs)."))
    epochs: int | None = field(default=1, metadata=doc(
        "Training epochs per fold (default 1, the recipe chosen on the dev split with synthetic requests; none: "
        "the recipe's)."))
    learning_rate: float | None = field(default=None, metadata=doc("Peak learning rate; default: the recipe's."))
    batch_size: int = field(default=32, metadata=doc("Pairs per training batch (in-batch negatives)."))
    synthetic_per_api: int = field(default=1, metadata=doc(
        "Synthetic requests per API in each fold's training, for every API not of the fold's held-out tools."))
    synthetic_multi: int = field(default=0, metadata=doc("Synthetic multi-API requests per API on average."))
    catalogs: list[str] = field(default_factory=list, metadata=doc(
        "More catalogs whose APIs get synthetic requests (never the held-out fold's tools)."))
    hard_negatives: int = field(default=0, metadata=doc("BM25-mined hard negatives per training pair."))
    doc_style: str = field(default="toolbench", metadata=doc(
        "How the trained model reads API documents: 'toolbench' or 'compact' (retriever.corpus.DOC_STYLES); "
        "BM25 and the untrained model read the ToolBench style."))
    sibling_negatives: int = field(default=0, metadata=doc("Same-tool sibling negatives per training pair."))
    sentence_pairs: bool = field(default=False, metadata=doc(
        "Also train on each multi-sentence query's sentence BM25 scores best for its API "
        "(retriever.pairs.add_sentence_pairs)."))
    soup: int = field(default=1, metadata=doc(
        "Models trained per fold and averaged into one (retriever.train.TrainConfig.soup)."))
    train_max_seq_length: int = field(default=128, metadata=doc("Tokens kept of each API document in training."))
    max_steps: int | None = field(default=None, metadata=doc("Stop each fold's training after this many steps."))
    backend: str = field(default="torch", metadata=doc(
        "Encoder backend of the dense methods: torch, torch-bf16, onnx or onnx-int8."))
    max_seq_length: int = field(default=128, metadata=doc("Tokens kept of each text by the dense methods."))
    encode_batch_size: int = field(default=64, metadata=doc("Encoding batch size."))
    depth: int = field(default=100, metadata=doc("Documents ranked per query (MRR is MRR@depth)."))
    device: str = field(default="cpu", metadata=doc("'cpu', 'cuda', 'cuda:N' or 'auto' (training and encoding)."))
    replicates: int = field(default=2000, metadata=doc("Paired bootstrap replicates."))
    bootstrap_seed: int = field(default=0, metadata=doc("Seed of the paired bootstrap."))
    tune_fusion: bool = field(default=False, metadata=doc(
        "Also score both hybrids with BM25's weight in reciprocal rank fusion chosen per fold from fusion_weights "
        "without the fold's held-out queries: for untrained+bm25 on the fold's training queries (the untrained "
        "model never saw them), for trained+bm25 on a nested dev split (a model trained on the fold's training "
        "data minus its inner fold 0, scored on that inner fold)."))
    fusion_weights: list[float] = field(default_factory=lambda: [0.5, 1.0, 1.5, 2.0, 3.0, 5.0], metadata=doc(
        "BM25 weights tried by tune_fusion (the dense ranking's weight is 1; 1 is plain RRF)."))
    candidates: list[str] = field(default_factory=list, metadata=doc(
        "Other training recipes each fold chooses from on its nested dev split, each 'field=value[,field=value]' "
        f"over this run's training settings ({', '.join(CANDIDATE_FIELDS)}), e.g. synthetic_multi=1 or "
        "'hard_negatives=1,epochs=2', chosen by the dev NDCG@1 of BM25 + the dev model with sentence views; the chosen "
        "recipe's fold model is scored as 'trained, chosen recipe', 'trained+bm25, chosen recipe' and 'trained "
        "(sentences)+bm25, chosen recipe'. Each recipe's runs go to <out>/candidate-<recipe>/.", option="--candidate"))
    reuse: bool = field(default=True, metadata=doc(
        "Reuse a fold's finished model when its training settings are unchanged (a rerun resumes)."))

    def __post_init__(self) -> None:
        for name in ("query_files", "catalogs"):
            value = getattr(self, name)
            setattr(self, name, [str(value)] if isinstance(value, (str, Path)) else [str(p) for p in value])
        if not self.query_files:
            raise ConfigError("query_files", "give at least one ToolBench query file")
        for name in ("query_files", "catalogs"):
            for p in getattr(self, name):
                if not Path(p).exists():
                    raise ConfigError(name, f"{p}: no such file or folder")
        if self.corpus is not None and not Path(self.corpus).exists():
            raise ConfigError("corpus", f"{self.corpus}: no such file or folder")
        if self.folds < 2:
            raise ConfigError("folds", f"must be at least 2, got {self.folds}")
        if self.recipe not in RECIPES:
            raise ConfigError("recipe", f"use one of {', '.join(RECIPES)}, got {self.recipe!r}")
        from retriever.encoder import BACKENDS

        if self.backend not in BACKENDS:
            raise ConfigError("backend", f"use one of {', '.join(BACKENDS)}, got {self.backend!r}")
        for name in ("batch_size", "train_max_seq_length", "max_seq_length", "encode_batch_size", "depth",
                     "replicates", "soup"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be a positive integer, got {getattr(self, name)}")
        for name in ("synthetic_per_api", "synthetic_multi", "hard_negatives", "sibling_negatives"):
            if getattr(self, name) < 0:
                raise ConfigError(name, f"must be >= 0, got {getattr(self, name)}")
        self.fusion_weights = [float(w) for w in self.fusion_weights]
        if not self.fusion_weights or any(not w > 0 for w in self.fusion_weights):
            raise ConfigError("fusion_weights", f"give positive weights, got {self.fusion_weights}")
        if self.tune_fusion and self.folds < 3:
            raise ConfigError("tune_fusion", "the nested dev split needs folds >= 3")
        self.candidates = [str(c) for c in ([self.candidates] if isinstance(self.candidates, str) else self.candidates)]
        if self.candidates and self.folds < 3:
            raise ConfigError("candidates", "the nested dev split needs folds >= 3")
        self.train_config(0)  # the training settings are checked too, before any model loads
        for c in self.candidates:
            self.candidate(c)

    def candidate(self, spec: str) -> CrossValConfig:
        """This config with candidate recipe ``spec`` ('field=value[,field=value]', YAML values) applied, its runs
        in ``<output_dir>/candidate-<spec>``; a bad spec raises :class:`ConfigError` naming it."""
        import yaml

        changes: dict[str, Any] = {}
        for part in (p.strip() for p in spec.split(",")):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or name not in CANDIDATE_FIELDS:
                raise ConfigError("candidates", f"{spec!r}: {part!r} is not field=value with a field of "
                                                f"{', '.join(CANDIDATE_FIELDS)}")
            try:
                changes[name] = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise ConfigError("candidates", f"{spec!r}: {name}: {value!r} is not a value ({exc})") from exc
        slug = "".join(ch if ch.isalnum() or ch in "._=+-" else "_" for ch in spec.replace(",", "+"))
        try:
            return replace(self, **changes, candidates=[], output_dir=str(Path(self.output_dir) / f"candidate-{slug}"))
        except (ConfigError, TypeError, ValueError) as exc:
            raise ConfigError("candidates", f"{spec!r}: {exc}") from exc

    def train_config(self, fold: int, inner_fold: int | None = None) -> Any:
        """The :class:`~retriever.train.TrainConfig` of fold ``fold``'s training run (with ``inner_fold``: the
        run of its nested dev split, in ``fold<i>/dev<j>``)."""
        from retriever.train import TrainConfig, cpu_recipe

        recipe = cpu_recipe() if self.recipe == "cpu" else {}
        if self.epochs is not None:
            recipe["epochs"] = self.epochs
        if self.learning_rate is not None:
            recipe["learning_rate"] = self.learning_rate
        try:
            return TrainConfig(**recipe, query_files=self.query_files, corpus=self.corpus, split_by="api",
                               folds=self.folds, fold=fold, inner_fold=inner_fold, seed=self.seed, model=self.model,
                               output_dir=str(Path(self.output_dir) / f"fold{fold}"
                                              / (f"dev{inner_fold}" if inner_fold is not None else "")),
                               batch_size=self.batch_size,
                               synthetic_per_api=self.synthetic_per_api, synthetic_multi=self.synthetic_multi,
                               catalogs=self.catalogs, hard_negatives=self.hard_negatives,
                               sibling_negatives=self.sibling_negatives, sentence_pairs=self.sentence_pairs,
                               max_seq_length=self.train_max_seq_length,
                               max_steps=self.max_steps, doc_style=self.doc_style, soup=self.soup,
                               device=self.device,
                               log_every=0)
        except ConfigError as exc:
            raise ConfigError(exc.field, f"(a fold's training) {exc}") from exc


def _train_fold(cfg: CrossValConfig, fold: int, echo: Callable[[str], None],
                inner_fold: int | None = None) -> tuple[str, dict[str, Any], bool]:
    """Train fold ``fold`` (or its nested dev split ``inner_fold``), or reuse its finished run: (model folder,
    what the run did, reused?)."""
    from retriever.train import run as train

    tcfg = cfg.train_config(fold, inner_fold)
    folder = Path(tcfg.output_dir)
    done = folder / "done.json"
    settings = json.loads(json.dumps(asdict(tcfg)))
    if cfg.reuse and done.is_file():
        record = json.loads(done.read_text(encoding="utf-8"))
        if _same_training(record.get("config"), settings) and (folder / "model").is_dir():
            echo(f"fold {fold}: reusing {folder / 'model'} (same training settings)")
            return str(folder / "model"), record["result"], True
    done.unlink(missing_ok=True)
    what = f"fold {fold}" + (f", dev split {inner_fold}" if inner_fold is not None else "")
    echo(f"{what}: training ({tcfg.epochs} epoch(s), synthetic {tcfg.synthetic_per_api} per API)...")
    result = train(tcfg)
    info = {"steps": result.steps, "pairs": result.pairs, "train_queries": result.train_queries,
            "test_queries": result.test_queries, "seconds": round(result.seconds, 1)}
    done.write_text(json.dumps({"config": settings, "result": info}, indent=1) + "\n", encoding="utf-8")
    return result.model_dir, info, False


def _dev_rankings(cfg: CrossValConfig, fold: int, keys: list[str], fold_keys: list[str], rank: Callable,
                  dense: Callable, echo: Callable[[str], None], *, plain: bool = True, views: bool = True
                  ) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    """Fold ``fold``'s nested dev split under ``cfg``'s recipe: its dev queries and the dev model's rankings,
    plain (``plain``; tune_fusion's) and with sentence views (``views``; what a recipe is chosen by), ``{}`` for
    the ones not asked for."""
    from retriever.sentences import SentenceViews

    dev_dir, _, _ = _train_fold(cfg, fold, echo, inner_fold=0)
    dev_split = json.loads((Path(dev_dir).parent / "split.json").read_text(encoding="utf-8"))
    dev = set(dev_split["test"])
    ks = [k for k in keys if k in dev]
    if dev & set(fold_keys):
        raise RetrieverError(f"fold {fold}: its dev split holds held-out queries")
    model = dense(dev_dir)
    ranked = rank(model, ks) if plain else {}
    ranked_views = rank(SentenceViews(model), ks) if views else {}
    del model
    return ks, ranked, ranked_views


def _same_training(recorded: Any, settings: dict[str, Any]) -> bool:
    """Whether a finished run's recorded settings are ``settings``, wherever its folder is now (a run folder moved
    or copied elsewhere is still reused)."""
    if not isinstance(recorded, dict):
        return False
    from retriever.train import TrainConfig

    # a setting added since the run was recorded counts at its default
    added = {f.name: f.default for f in fields(TrainConfig) if f.name not in recorded and f.default is not MISSING}
    recorded = {**added, **recorded}
    return ({k: v for k, v in recorded.items() if k != "output_dir"}
            == {k: v for k, v in settings.items() if k != "output_dir"})


def dev_score(bm25: dict[str, list[str]], dense: dict[str, list[str]], qrels: dict[str, set[str]],
              depth: int) -> dict[str, float]:
    """NDCG@1 and NDCG@5 of BM25 fused with ``dense`` (plain RRF) on the queries of ``dense``. A candidate recipe is
    chosen by it, ``dense`` being its dev model's rankings with sentence views (the adopted method since session
    15)."""
    from retriever.metrics import mean_metrics

    fused = {k: fuse(bm25[k], ranked, 1.0, depth) for k, ranked in dense.items()}
    m = mean_metrics(fused, qrels, ndcg_ks=(1, 5), recall_ks=())
    return {"ndcg@1": m["ndcg@1"], "ndcg@5": m["ndcg@5"]}


def choose_recipe(scores: dict[str, dict[str, float]]) -> str:
    """The recipe with the best dev NDCG@1, then NDCG@5; a tie keeps the earlier one (this run's own first)."""
    names = list(scores)
    return max(names, key=lambda n: (scores[n]["ndcg@1"], scores[n]["ndcg@5"], -names.index(n)))


def fuse(first: list[str], second: list[str], weight: float, depth: int) -> list[str]:
    """``first`` (BM25) and ``second`` (dense) fused by reciprocal rank fusion with ``first`` weighted
    ``weight`` and ``second`` 1: what :class:`~retriever.fusion.HybridRanker` ranks from the same lists."""
    from retriever.fusion import reciprocal_rank_fusion

    return [d for d, _ in reciprocal_rank_fusion([first, second], weights=[weight, 1.0])[:depth]]


def choose_weight(bm25: dict[str, list[str]], dense: dict[str, list[str]], qrels: dict[str, set[str]],
                  weights: list[float], depth: int) -> tuple[float, dict[float, float]]:
    """The BM25 weight (of ``weights``) whose fusion scores the best mean NDCG@1 on the queries of ``dense``;
    ties go to the better NDCG@5, then to the weight closest to 1 (plain RRF). Returns it and each weight's
    NDCG@1."""
    from retriever.metrics import mean_metrics

    scored = {}
    for w in weights:
        fused = {k: fuse(bm25[k], ranked, w, depth) for k, ranked in dense.items()}
        m = mean_metrics(fused, qrels, ndcg_ks=(1, 5), recall_ks=())
        scored[w] = (m["ndcg@1"], m["ndcg@5"], -abs(w - 1.0))
    best = max(weights, key=lambda w: scored[w])
    return best, {w: v[0] for w, v in scored.items()}


def run(cfg: CrossValConfig, *, echo: Callable[[str], None] = print) -> CrossValReport:
    """Train and evaluate every fold, pool, compare with BM25, print the tables, save results.json/.md."""
    from eval.intervals import paired_comparison, wilson
    from retriever.corpus import load_corpus
    from retriever.evaluate import bm25_factory, dense_factory, judged
    from retriever.fusion import HybridRanker
    from retriever.metrics import per_query_metrics
    from retriever.pairs import api_folds, query_key, read_queries
    from retriever.sentences import SentenceViews

    queries = read_queries(cfg.query_files)
    corpus = load_corpus(cfg.corpus, queries)
    splits = api_folds(queries, folds=cfg.folds, seed=cfg.seed)
    qrels, texts, skipped, _ = judged(queries, corpus)
    if not qrels:
        raise RetrieverError("no query has a relevant API in the corpus: nothing to evaluate")
    fold_of = {query_key(q): i for i, (_, test, _) in enumerate(splits) for q in test}
    keys = [k for k in qrels if k in fold_of]  # a query whose tools span folds is held out in none
    if not keys:
        raise RetrieverError("no fold holds out a query with a relevant API in the corpus: nothing to evaluate")
    skipped += len(qrels) - len(keys)
    depth = min(cfg.depth, len(corpus))
    methods_run = [*METHODS, *(TUNED if cfg.tune_fusion else ()), *(CHOSEN if cfg.candidates else ())]
    rankings: dict[str, dict[str, list[str]]] = {m: {} for m in methods_run}

    def rank(ranker: Any, ks: list[str]) -> dict[str, list[str]]:
        ranked = ranker.rank([texts[k] for k in ks], depth)
        return {k: [d for d, _ in r] for k, r in zip(ks, ranked, strict=True)}

    def dense(model: str | None) -> Any:
        return dense_factory(None if model in (None, "packaged") else model, device=cfg.device,
                             max_seq_length=cfg.max_seq_length, batch_size=cfg.encode_batch_size,
                             backend=cfg.backend)(corpus)

    started = time.monotonic()
    echo(f"{len(keys)} queries in {cfg.folds} folds of whole tools, corpus of {len(corpus)} APIs; BM25 and the "
         "untrained model rank every query")
    bm25 = bm25_factory()(corpus)
    base = dense(cfg.model)
    rankings["bm25"] = rank(bm25, keys)
    rankings["untrained"] = rank(base, keys)
    rankings["untrained+bm25"] = rank(HybridRanker([bm25, base]), keys)
    del base
    folds: list[dict[str, Any]] = []
    for i, (train_q, test_q, held) in enumerate(splits):
        fold_keys = [k for k in keys if fold_of[k] == i]
        model_dir, info, reused = _train_fold(cfg, i, echo)
        split = json.loads((Path(model_dir).parent / "split.json").read_text(encoding="utf-8"))
        if set(split["test"]) != {query_key(q) for q in test_q}:  # the training held out another fold
            raise RetrieverError(f"fold {i}: the training run's held-out queries are not the fold's; rerun with "
                                 "reuse off")
        trained = dense(model_dir)
        rankings["trained"] |= rank(trained, fold_keys)
        rankings["trained+bm25"] |= rank(HybridRanker([bm25, trained]), fold_keys)
        views = SentenceViews(trained)
        rankings["trained (sentences)"] |= rank(views, fold_keys)
        rankings["trained (sentences)+bm25"] |= rank(HybridRanker([bm25, views]), fold_keys)
        del views
        del trained
        tuned: dict[str, Any] = {}
        dev_keys: list[str] = []
        dev_ranked: dict[str, list[str]] = {}
        dev_views: dict[str, list[str]] = {}
        if cfg.tune_fusion or cfg.candidates:
            dev_keys, dev_ranked, dev_views = _dev_rankings(cfg, i, keys, fold_keys, rank, dense, echo,
                                                            plain=cfg.tune_fusion, views=bool(cfg.candidates))
        if cfg.tune_fusion:
            train_keys = [k for k in keys if fold_of[k] != i]
            w_untrained, grid_untrained = choose_weight(rankings["bm25"], {k: rankings["untrained"][k]
                                                                           for k in train_keys}, qrels,
                                                        cfg.fusion_weights, depth)
            w_trained, grid_trained = choose_weight(rankings["bm25"], dev_ranked, qrels, cfg.fusion_weights, depth)
            for k in fold_keys:
                rankings[TUNED[0]][k] = fuse(rankings["bm25"][k], rankings["untrained"][k], w_untrained, depth)
                rankings[TUNED[1]][k] = fuse(rankings["bm25"][k], rankings["trained"][k], w_trained, depth)
            tuned = {"bm25_weight": {TUNED[0]: w_untrained, TUNED[1]: w_trained}, "dev_queries": len(dev_keys),
                     "dev_ndcg@1": {TUNED[0]: grid_untrained, TUNED[1]: grid_trained}}
            echo(f"fold {i}: BM25 weight {w_untrained:g} (untrained, chosen on {len(train_keys)} training queries), "
                 f"{w_trained:g} (trained, chosen on {len(dev_keys)} dev queries)")
        if cfg.candidates:
            dev_scores = {BASE_RECIPE: dev_score(rankings["bm25"], dev_views, qrels, depth)}
            for spec in cfg.candidates:
                spec_keys, _, spec_views = _dev_rankings(cfg.candidate(spec), i, keys, fold_keys, rank, dense, echo,
                                                         plain=False)
                if spec_keys != dev_keys:
                    raise RetrieverError(f"fold {i}: recipe {spec!r} held out another dev split; rerun with reuse off")
                dev_scores[spec] = dev_score(rankings["bm25"], spec_views, qrels, depth)
            chosen = choose_recipe(dev_scores)
            if chosen == BASE_RECIPE:
                chosen_ranked = {k: rankings["trained"][k] for k in fold_keys}
                chosen_views = {k: rankings["trained (sentences)"][k] for k in fold_keys}
            else:
                chosen_dir, _, _ = _train_fold(cfg.candidate(chosen), i, echo)
                chosen_split = json.loads((Path(chosen_dir).parent / "split.json").read_text(encoding="utf-8"))
                if set(chosen_split["test"]) != {query_key(q) for q in test_q}:
                    raise RetrieverError(f"fold {i}: {chosen_dir} held out another fold; rerun with reuse off")
                chosen_model = dense(chosen_dir)
                chosen_ranked = rank(chosen_model, fold_keys)
                chosen_views = rank(SentenceViews(chosen_model), fold_keys)
                del chosen_model
            rankings[CHOSEN[0]] |= chosen_ranked
            rankings[CHOSEN[1]] |= {k: fuse(rankings["bm25"][k], chosen_ranked[k], 1.0, depth) for k in fold_keys}
            rankings[CHOSEN[2]] |= {k: fuse(rankings["bm25"][k], chosen_views[k], 1.0, depth) for k in fold_keys}
            tuned |= {"recipe": chosen, "dev_queries": len(dev_keys), "recipe_dev_scores": dev_scores}
            echo(f"fold {i}: recipe {chosen!r} chosen on {len(dev_keys)} dev queries (sentence-view hybrid NDCG@1 "
                 + ", ".join(f"{n}: {100 * v['ndcg@1']:.1f}" for n, v in dev_scores.items()) + ")")
        folds.append({"fold": i, "train_queries": len(train_q), "test_queries": len(test_q),
                      "scored_queries": len(fold_keys), "held_out_tools": len({t for q in test_q for t, _ in q.relevant}),
                      "held_out_apis": len(held), "pairs": info["pairs"], "steps": info["steps"],
                      "train_seconds": info["seconds"], "reused": reused, "model": model_dir, **tuned})
        echo(f"fold {i}: {len(fold_keys)} held-out queries scored")
    scores = {m: per_query_metrics(rankings[m], qrels) for m in methods_run}
    base_scores = [scores[BASELINE][k]["ndcg@1"] for k in keys]
    methods: dict[str, dict[str, Any]] = {}
    for m in methods_run:
        col = {name: [scores[m][k][name] for k in keys] for name in scores[m][keys[0]]}
        means = {name: sum(v) / len(v) for name, v in col.items()}
        hits = sum(1 for v in col["ndcg@1"] if v >= 1.0)  # NDCG@1 is 0 or 1 a query
        methods[m] = {**means, "ndcg@1_interval": list(wilson(hits, len(keys)))}
        if m != BASELINE:
            methods[m]["vs_bm25"] = paired_comparison(col["ndcg@1"], base_scores, replicates=cfg.replicates,
                                                      seed=cfg.bootstrap_seed)
            methods[m]["ndcg@5_vs_bm25"] = means["ndcg@5"] - methods[BASELINE]["ndcg@5"]
    for f in folds:
        ks = [k for k in keys if fold_of[k] == f["fold"]]
        f["ndcg@1"] = {m: sum(scores[m][k]["ndcg@1"] for k in ks) / len(ks) if ks else 0.0 for m in methods_run}
    per_query = {k: {"fold": fold_of[k], **{m: {n: scores[m][k][n] for n in REPORTED} for m in methods_run}}
                 for k in keys}
    settings = {**asdict(cfg), "seconds": round(time.monotonic() - started, 1),
                "load": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}
    report = CrossValReport(query_files=cfg.query_files, folds=folds, queries=len(keys), skipped_queries=skipped,
                            corpus_size=len(corpus), settings=settings, methods=methods, per_query=per_query)
    echo(report.to_markdown())
    j, md = report.save(cfg.output_dir)
    echo(f"saved {j} and {md}")
    return report
