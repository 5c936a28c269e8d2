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
def test_stage_reports_held_out_tools_with_intervals(tmp_path, monkeypatch):
    import retriever.encoder
    from toolbench.cli.demo.profile import TINY
    from toolbench.cli.demo.stage_retriever import stage_retriever
    from toolbench.cli.demo.stage_runner import DemoContext

    tiny = build_tiny_model(tmp_path / "tiny")
    monkeypatch.setattr(retriever.encoder, "packaged_model_path", lambda: tiny)
    run = tmp_path / "run"
    shutil.copytree(TOOLS, run / "catalog")
    apis = [d.api for d in Corpus.from_tool_dir(TOOLS)]
    for part, seed in (("train", 1), ("heldout", 2)):
        qs = synthetic_queries(apis, per_api=1, multi=0, seed=seed)
        for q in qs:
            q.group = ""
            q.id = f"{part}{q.id}"
        (run / "calls" / part).mkdir(parents=True)
        (run / "calls" / part / "queries.json").write_text(json.dumps([q.to_dict() for q in qs]))
    ctx = DemoContext(run, TINY, services=None, console=Console(file=io.StringIO()))
    out = stage_retriever(ctx)
    figures = out.figures
    assert figures["split"] == "api" and figures["heldout_queries"] > 0
    assert set(figures["methods"]) == {"bm25", "untrained", "trained", "trained+bm25"}
    for m in figures["methods"].values():
        low, high = m["ndcg@1_95ci"]
        assert 0 <= low <= m["ndcg@1"] <= high <= 1
    split = json.loads((run / "retriever" / "split.json").read_text())
    assert split["held_out_apis"] and split["counts"]["synthetic_queries"] > 0
    assert json.loads((run / "retriever" / "index" / "meta.json").read_text())["backend"] == "onnx-int8"
    assert "held-out tools" in out.note
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
