"""The demo's retriever stage: trains with held-out tools and synthetic requests, reports BM25, untrained,
trained and hybrid with Wilson intervals, indexes with the int8 ONNX encoder (a tiny model stands in for
MiniLM so it runs in seconds)."""

import io
import json
import shutil
from pathlib import Path

import pytest
from retriever_fakes import build_tiny_model
from rich.console import Console

pytest.importorskip("onnxruntime")

from retriever.corpus import Corpus
from retriever.synthetic import synthetic_queries

TOOLS = Path(__file__).parents[2] / "data" / "tools"


@pytest.mark.slow
@pytest.mark.parametrize("folds", [2, 0])
def test_stage_reports_held_out_tools_with_intervals(tmp_path, monkeypatch, folds):
    """K folds: every query held out once, each method against BM25, the index from a model trained on every
    query; 0 folds: one split of held-out tools, the index from that split's model."""
    import dataclasses

    import retriever.encoder
    from toolbench.cli.demo.profile import TINY
    from toolbench.cli.demo.stage_retriever import stage_retriever
    from toolbench.cli.demo.stage_runner import DemoContext

    tiny = build_tiny_model(tmp_path / "tiny")
    monkeypatch.setattr(retriever.encoder, "packaged_model_path", lambda: tiny)
    run = tmp_path / "run"
    shutil.copytree(TOOLS, run / "catalog")
    apis = [d.api for d in Corpus.from_tool_dir(TOOLS)]
    total = 0
    for part, seed in (("train", 1), ("heldout", 2)):
        qs = synthetic_queries(apis, per_api=1, multi=0, seed=seed)
        for q in qs:
            q.group = ""
            q.id = f"{part}{q.id}"
        total += len(qs)
        (run / "calls" / part).mkdir(parents=True)
        (run / "calls" / part / "queries.json").write_text(json.dumps([q.to_dict() for q in qs]))
    profile = dataclasses.replace(TINY, retriever_folds=folds)
    ctx = DemoContext(run, profile, services=None, console=Console(file=io.StringIO()))
    out = stage_retriever(ctx)
    figures = out.figures
    assert figures["heldout_queries"] > 0 and figures["folds"] == folds
    for m in figures["methods"].values():
        low, high = m["ndcg@1_95ci"]
        assert 0 <= low <= m["ndcg@1"] <= high <= 1
    split = json.loads((run / "retriever" / "split.json").read_text())
    assert split["counts"]["synthetic_queries"] > 0
    if folds:
        assert figures["heldout_queries"] == total  # every query held out once
        assert set(figures["methods"]) == {"bm25", "untrained", "untrained+bm25", "trained", "trained+bm25",
                                           "trained (sentences)", "trained (sentences)+bm25"}
        for name in ("trained+bm25", "trained (sentences)+bm25"):
            c = figures["methods"][name]["ndcg@1_vs_bm25"]
            assert c["interval"][0] <= c["difference"] <= c["interval"][1] and 0 <= c["p"] <= 1
            assert f"{name} vs BM25" in " ".join(out.note.split())
        assert "bm25" not in {k for k, m in figures["methods"].items() if "ndcg@1_vs_bm25" in m}
        assert not split["held_out_apis"] and not split["test"]  # the indexed model saw every query
        assert (run / "retriever" / "crossval" / "results.md").is_file()
        assert "each held out once in 2 folds" in out.note and "vs BM25" in out.note
    else:
        assert figures["split"] == "api" and split["held_out_apis"]
        assert set(figures["methods"]) == {"bm25", "untrained", "trained", "trained+bm25", "trained (sentences)",
                                           "trained (sentences)+bm25"}
        assert "held-out tools" in out.note
    assert json.loads((run / "retriever" / "index" / "meta.json").read_text())["backend"] == "onnx-int8"
    used = json.loads((run / "retriever" / "config.json").read_text())  # the fast CPU recipe, the profile's epochs
    assert (used["mini_batch_size"], used["dropout"], used["learning_rate"]) == (0, 0.0, 1e-4)
    assert used["epochs"] == TINY.retriever_epochs


def test_profile_checks_the_retriever_fields():
    import dataclasses

    from toolbench.cli.demo.profile import TINY, ProfileError

    with pytest.raises(ProfileError, match="retriever_heldout_apis"):
        dataclasses.replace(TINY, retriever_heldout_apis=1.5)
    with pytest.raises(ProfileError, match="retriever_synthetic_per_api"):
        dataclasses.replace(TINY, retriever_synthetic_per_api=-1)
    assert dataclasses.replace(TINY, retriever_synthetic_per_api=0).retriever_synthetic_per_api == 0
    for bad in (1, -2, True, 2.5):
        with pytest.raises(ProfileError, match="retriever_folds"):
            dataclasses.replace(TINY, retriever_folds=bad)
