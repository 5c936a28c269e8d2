"""The results of a K-fold held-out-API evaluation (:func:`retriever.crossval.run`): pooled figures of every
method, their comparison with BM25, the folds and each query's scores, as JSON and as Markdown tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CrossValReport:
    """Pooled held-out figures of every method, their comparison with BM25, the folds and each query's scores."""

    query_files: list[str]
    folds: list[dict[str, Any]]
    queries: int
    skipped_queries: int
    corpus_size: int
    settings: dict[str, Any]
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_query: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_markdown(self) -> str:
        n = self.queries
        lines = ["| method | NDCG@1 [95% CI] | NDCG@5 | NDCG@1 vs BM25 [95% CI] | first hits won / lost | sign test p |",
                 "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name, m in self.methods.items():
            low, high = m["ndcg@1_interval"]
            row = f"| {name} | {100 * m['ndcg@1']:.1f} [{100 * low:.1f}, {100 * high:.1f}] | {100 * m['ndcg@5']:.1f} | "
            c = m.get("vs_bm25")
            if c is None:
                row += "- | - | - |"
            else:
                row += (f"{100 * c['difference']:+.1f} [{100 * c['interval'][0]:+.1f}, {100 * c['interval'][1]:+.1f}] | "
                        f"{c['wins']} / {c['losses']} | {_p(c['p'])} |")
            lines.append(row)
        lines.append("")
        k = len(self.folds)
        lines.append(f"{n} queries from {', '.join(self.query_files)}, each held out once in {k} folds of whole "
                     f"tools (no training query of its fold needs an API of its tool), ranked against {self.corpus_size}"
                     " APIs; figures in %. NDCG@1: Wilson interval; vs BM25: mean per-query difference, paired "
                     f"bootstrap ({self.settings['replicates']} replicates, seed {self.settings['bootstrap_seed']}) "
                     "and the exact two-sided sign test on the queries whose first hit differs."
                     + (f" {self.skipped_queries} queries without a relevant API in the corpus, or whose tools span "
                        "folds (held out in none), were left out."
                        if self.skipped_queries else ""))
        lines.append("")
        names = list(self.methods)
        weights = any("bm25_weight" in f for f in self.folds)
        recipes = any("recipe" in f for f in self.folds)
        lines.append("| fold | training queries | held-out queries | held-out tools | pairs | steps | train (s) | "
                     + ("BM25 weight (untrained / trained; dev queries) | " if weights else "")
                     + ("recipe chosen (dev sentence-view hybrid NDCG@1 of each) | " if recipes else "")
                     + " | ".join(f"{m} NDCG@1" for m in names) + " |")
        lines.append("|" + " ---: |" * (7 + weights + recipes + len(names)))
        for f in self.folds:
            w = ""
            if weights:
                chosen = list(f.get("bm25_weight", {}).values())
                w = " / ".join(f"{x:g}" for x in chosen) + f"; {f.get('dev_queries', 0)} | "
            if recipes:
                dev = f.get("recipe_dev_scores", {})
                w += (f"{f.get('recipe', '-')} ("
                      + ", ".join(f"{n}: {100 * v['ndcg@1']:.1f}" for n, v in dev.items()) + ") | ")
            lines.append(f"| {f['fold']} | {f['train_queries']} | {f['test_queries']} | {f['held_out_tools']} | "
                         f"{f['pairs']} | {f['steps']} | {f['train_seconds']:.0f}{' (reused)' if f['reused'] else ''} | "
                         + w + " | ".join(f"{100 * f['ndcg@1'][m]:.1f}" for m in names) + " |")
        return "\n".join(lines) + "\n"

    def save(self, folder: str | Path) -> tuple[Path, Path]:
        from retriever.evaluate import save_results

        return save_results(folder, self.to_dict(), self.to_markdown())


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"
