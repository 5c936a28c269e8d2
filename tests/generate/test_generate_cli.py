from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.generate.conftest import small_tools
from toolbench.catalog.store import load_queries, write_tool
from toolbench.cli import app
from toolbench.llm.scripted import ScriptedChatModel

runner = CliRunner()


def catalog_dir(tmp_path):
    for tool in small_tools():
        write_tool(tool, tmp_path / "catalog")
    return tmp_path / "catalog"


def test_help_has_examples():
    result = runner.invoke(app, ["generate", "--help"])
    assert result.exit_code == 0 and "toolbench generate calls --catalog" in result.output


def test_calls_command_writes_every_export_and_resumes(tmp_path):
    catalog = catalog_dir(tmp_path)
    out = tmp_path / "calls"
    args = ["generate", "calls", "--catalog", str(catalog), "--n", "30", "--seed", "4", "--out", str(out), "--verify"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["made"] + stats["failed_to_make"] == 30
    assert stats["stages"]["format"]["checked"] == stats["made"] and stats["stages"]["execution"]["checked"] == 0
    for name in ("bfcl/questions.jsonl", "bfcl/possible_answer.jsonl", "train/openai.jsonl", "train/sharegpt.json",
                 "train/queries.json", "heldout/openai.jsonl", "rejected.jsonl"):
        assert (out / name).exists(), name
    train, held = load_queries(out / "train" / "queries.json"), load_queries(out / "heldout" / "queries.json")
    # ids are the samples' numbers: unique across the two files, so a retriever can read both
    assert held and not {q.id for q in train} & {q.id for q in held}
    assert all(q.id == q.extra["sample_id"].rsplit("_", 1)[1] for q in train + held)
    lines = (out / "samples.jsonl").read_text().splitlines()
    # rerun with a larger n: only the 10 new samples are made
    result = runner.invoke(app, args[:5] + ["40"] + args[6:])
    assert result.exit_code == 0, result.output
    again = (out / "samples.jsonl").read_text().splitlines()
    assert again[:len(lines)] == lines and len(again) == 40


def test_instructions_command(tmp_path, monkeypatch):
    from toolbench.generate import pipeline

    def scripted(base_url, model, cache, what):
        def reply(messages, tools, params):
            docs = json.loads(messages[-1]["content"].split("APIs:\n", 1)[1].split("\n\n- ", 1)[0])
            return json.dumps([{"query": f"Set {params['seed']}: use {docs[0]['api'].replace('_', ' ')} and {docs[1]['api'].replace('_', ' ')} now",
                                "relevant APIs": [[d["tool"], d["api"]] for d in docs[:2]]}])
        return ScriptedChatModel([reply], repeat_last=True)

    monkeypatch.setattr(pipeline, "chat_model", scripted)
    out = tmp_path / "G1_query.json"
    result = runner.invoke(app, ["generate", "instructions", "--catalog", str(catalog_dir(tmp_path)), "--group",
                                 "G1", "--n", "4", "--model", "m", "--mode", "llm", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(load_queries(out)) == 4


def test_bad_options_are_user_errors(tmp_path):
    result = runner.invoke(app, ["generate", "calls", "--catalog", str(tmp_path / "nope"), "--n", "3", "--out",
                                 str(tmp_path / "o")])
    assert result.exit_code != 0
    result = runner.invoke(app, ["generate", "instructions", "--catalog", str(catalog_dir(tmp_path)), "--group",
                                 "G1", "--n", "4", "--mode", "llm", "--out", str(tmp_path / "q.json")])
    assert result.exit_code != 0 and "needs --model" in str(result.exception)


def test_instructions_command_composes_g3_queries_without_a_model(tmp_path):
    out = tmp_path / "G3_query.json"
    result = runner.invoke(app, ["generate", "instructions", "--catalog", str(catalog_dir(tmp_path)), "--group",
                                 "G3", "--n", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    queries = load_queries(out)
    assert len(queries) == 5 and all(len({t for t, _ in q.relevant}) >= 2 for q in queries)
    stats = json.loads((tmp_path / "G3_query.stats.json").read_text())
    assert stats["mode"] == "compose" and stats["phrased_by"] == {"rule": 5}
    bad = runner.invoke(app, ["generate", "instructions", "--catalog", str(catalog_dir(tmp_path)), "--group",
                              "G1", "--n", "2", "--mode", "poetry", "--out", str(tmp_path / "x.json")])
    assert bad.exit_code != 0 and "instructions.mode" in str(bad.exception)
