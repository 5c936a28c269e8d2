"""`toolbench retriever ...` through the real entry point: eval, index, search, and clear errors."""

import json
from pathlib import Path

import pytest
from retriever_fakes import build_tiny_model

from tests.capture import run_cli as run

REF = Path(__file__).parents[2] / "data" / "reference"
G1 = REF / "toolbench" / "instruction" / "G1_query.json"
STB = REF / "stabletoolbench" / "G1_instruction.json"


def test_help_has_worked_examples(capsys):
    code, out, _ = run(["retriever", "--help"], capsys)
    assert code == 0
    assert "toolbench retriever eval data/reference/stabletoolbench/G1_instruction.json" in out
    assert "retriever search" in out


def test_eval_bm25_on_stabletoolbench_writes_json_and_markdown(tmp_path, capsys):
    code, out, _ = run(["retriever", "eval", str(STB), "--method", "bm25", "--out", str(tmp_path)], capsys)
    assert code == 0, out
    assert "| bm25 |" in out and "163 queries" in out and "810 APIs" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["queries"] == 163 and results["corpus_size"] == 810
    bm25 = results["methods"][0]
    assert bm25["name"] == "bm25" and 0 < bm25["metrics"]["ndcg@1"] <= 1
    assert (tmp_path / "results.md").read_text().startswith("| method | NDCG@1 | NDCG@3 | NDCG@5 |")


def test_index_then_search(tmp_path, capsys):
    tiny = build_tiny_model(tmp_path / "tiny")
    idx = tmp_path / "idx"
    code, out, err = run(["retriever", "index", str(G1), "--model", str(tiny), "--out", str(idx), "--backend",
                          "onnx-int8"], capsys)
    assert code == 0, err
    assert "indexed 12 APIs" in out
    assert json.loads((idx / "meta.json").read_text())["backend"] == "onnx-int8"
    code, out, err = run(["retriever", "search", "songs of a playlist", "--index", str(idx), "-k", "3", "--json"],
                         capsys)
    assert code == 0, err
    hits = [json.loads(line) for line in out.splitlines()]
    assert [h["rank"] for h in hits] == [1, 2, 3] and all(h["tool"] and h["api"] for h in hits)
    # --sentences: the same request as two sentences scores the whole text plus its best sentence (up to 2)
    code, out, err = run(["retriever", "search", "I like music. Songs of a playlist?", "--index", str(idx), "-k", "3",
                          "--json", "--sentences"], capsys)
    assert code == 0, err
    views = [json.loads(line) for line in out.splitlines()]
    assert len(views) == 3 and views[0]["score"] >= views[1]["score"] >= views[2]["score"]
    assert 1 < views[0]["score"] <= 2.0001


@pytest.mark.parametrize("argv, message", [
    (["retriever", "eval", "nope.json"], "query_files: nope.json: no such file"),
    (["retriever", "eval", str(G1), "--method", "tfidf"], "unknown method 'tfidf'"),
    (["retriever", "search", "x", "--index", "no-such-index"], "toolbench retriever index"),
    (["retriever", "index", str(G1), "--model", "no/such/model-dir"], "not found"),
])
def test_errors_are_one_line_messages(argv, message, capsys):
    code, _out, err = run(argv, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_train_and_eval_options_come_from_the_configs(tmp_path, capsys):
    # Options are generated from TrainConfig/EvalConfig; a --config file is read first and options override it.
    tiny = build_tiny_model(tmp_path / "tiny")
    run_dir = tmp_path / "run"
    code, out, err = run(["retriever", "train", str(STB), "--model", str(tiny), "--out", str(run_dir), "--max-steps", "2",
                          "--batch-size", "4", "--max-seq-length", "32", "--split-by", "api", "--test-fraction",
                          "0.3", "--log-every", "0", "--mini-batch-size", "0", "--dropout", "0", "--bf16"], capsys)
    assert code == 0, err
    saved = json.loads((run_dir / "config.json").read_text())
    assert (saved["max_steps"], saved["batch_size"], saved["max_seq_length"], saved["split_by"]) == (2, 4, 32, "api")
    assert (saved["mini_batch_size"], saved["dropout"], saved["bf16"]) == (0, 0.0, True)  # the CPU recipe's flags
    assert json.loads((run_dir / "split.json").read_text())["held_out_apis"]
    assert "--hybrid trained" in out
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(f"methods: [bm25]\noutput_dir: {tmp_path / 'from-file'}\n")
    code, out, err = run(["retriever", "eval", str(STB), "--config", str(cfg), "--split", str(run_dir / "split.json"),
                          "--model", f"trained={run_dir / 'model'}", "--hybrid", "trained", "--sentences", "trained",
                          "--out", str(tmp_path / "ev")], capsys)
    assert code == 0, err
    names = [m["name"] for m in json.loads((tmp_path / "ev" / "results.json").read_text())["methods"]]
    assert names == ["bm25", "trained", "trained+bm25", "trained (sentences)", "trained (sentences)+bm25"]
    assert not (tmp_path / "from-file").exists()
