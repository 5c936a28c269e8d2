"""``toolbench generate instructions``' settings: one InstructionsRunConfig from the defaults, --config, --set and
the options given (the old flags keep their names: --per-set, --no-json-schema, --max-tokens); ``run(config)`` is
the command as a function."""

import json

import pytest
from typer.testing import CliRunner

from tests.capture import capture_run
from tests.generate.conftest import small_tools
from toolbench.catalog.store import load_queries, write_tool
from toolbench.cli import app, main
from toolbench.generate import instructions
from toolbench.generate.instructions_config import InstructionConfig, InstructionsRunConfig
from toolbench.llm.scripted import ScriptedChatModel

STATS = {"kept": 0, "rejected": 0, "rejected_by_reason": {}, "phrased_by": {}}


@pytest.fixture
def captured(monkeypatch):
    return capture_run(monkeypatch, instructions, STATS)


def test_old_flags_keep_their_names(captured):
    result = CliRunner().invoke(app, ["generate", "instructions", "--catalog", "c", "--group", "g2", "--n", "7",
                                      "--out", "q.json", "--per-set", "2", "--no-json-schema", "--max-tokens",
                                      "300", "--mode", "llm", "--model", "m", "--base-url", "http://h/v1",
                                      "--seed", "3", "--cache", "llm.sqlite"])
    assert result.exit_code == 0, result.output
    (cfg,) = captured
    assert (cfg.catalog, cfg.group, cfg.n, cfg.out, cfg.seed) == ("c", "G2", 7, "q.json", 3)
    assert (cfg.model, cfg.base_url, cfg.cache) == ("m", "http://h/v1", "llm.sqlite")
    assert cfg.instructions == InstructionConfig(mode="llm", queries_per_set=2, json_schema=False, max_tokens=300)
    assert "phrased by rule" not in result.output


def test_config_file_sets_and_options(captured, tmp_path):
    config = tmp_path / "g3.yaml"
    config.write_text("catalog: data/tools\ngroup: G3\nn: 40\nout: runs/G3_query.json\nmin_relevant: 3\n"
                      "instructions: {queries_per_set: 4, temperature: 0.5}\n")
    result = CliRunner().invoke(app, ["generate", "instructions", "--config", str(config), "--set", "n=12",
                                      "--set", "near_duplicate=0.7", "--temperature", "0.2"])
    assert result.exit_code == 0, result.output
    (cfg,) = captured
    assert (cfg.catalog, cfg.group, cfg.n, cfg.out, cfg.model) == ("data/tools", "G3", 12, "runs/G3_query.json", None)
    # options left at their defaults (--per-set, --min-relevant) keep the file's values
    assert cfg.instructions == InstructionConfig(queries_per_set=4, min_relevant=3, near_duplicate=0.7,
                                                 temperature=0.2)
    assert "no --model: every query is phrased by rule" in result.output


@pytest.mark.parametrize("args, words", [
    (["--group", "G1", "--n", "3", "--out", "o"], ["catalog must be given"]),
    (["--catalog", "c", "--group", "G4", "--n", "3", "--out", "o"], ["--group 'G4'", "G1, G2, G3"]),
    (["--catalog", "c", "--group", "G1", "--n", "0", "--out", "o"], ["--n must be at least 1"]),
    (["--catalog", "c", "--group", "G1", "--n", "3", "--out", "o", "--mode", "poetry"], ["instructions.mode"]),
    (["--catalog", "c", "--group", "G1", "--n", "3", "--out", "o", "--per-set", "0"], ["--per-set", "at least 1"]),
    (["--catalog", "c", "--group", "G1", "--n", "3", "--out", "o", "--set", "per_set=2"],
     ["no InstructionsRunConfig field 'per_set'", "queries_per_set"]),
])
def test_bad_settings_exit_non_zero(captured, capsys, args, words):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "instructions", *args])
    err = capsys.readouterr().err
    assert exit_.value.code != 0 and not captured and "Traceback" not in err
    for word in words:
        assert word in err, err


def test_run_is_the_command_as_a_function(tmp_path):
    for tool in small_tools():
        write_tool(tool, tmp_path / "catalog")
    out = tmp_path / "G1_query.json"
    cfg = InstructionsRunConfig(catalog=str(tmp_path / "catalog"), group="g1", n=4, out=str(out),
                                instructions={"queries_per_set": 2})
    seen = []
    stats = instructions.run(cfg, lambda result, kept: seen.append(kept))
    assert stats["kept"] == 4 and stats["phrased_by"] == {"rule": 4} and seen[-1] == 4
    assert json.loads((tmp_path / "G1_query.stats.json").read_text()) == stats
    assert [q.text for q in load_queries(out)] and len(load_queries(out)) == 4
    again = instructions.run(cfg, lambda result, kept: seen.append(kept))  # resumed: nothing left to ask
    assert again == {**stats, "resumed_sets": 2} and len(seen) == 2


def test_run_asks_the_model_it_is_given(tmp_path):
    for tool in small_tools():
        write_tool(tool, tmp_path / "catalog")

    def reply(messages, tools, params):  # the composed draft, with a greeting: it passes the filters
        task = messages[-1]["content"].split("Task: ", 1)[1].split("\nKeep these values exactly:", 1)[0]
        return json.dumps({"query": "Hello! " + task})

    model = ScriptedChatModel([reply], repeat_last=True)
    cfg = InstructionsRunConfig(catalog=str(tmp_path / "catalog"), group="G3", n=3,
                                out=str(tmp_path / "G3_query.json"))
    stats = instructions.run(cfg, chat=model)
    assert stats["kept"] == 3 and stats["phrased_by"] == {"model": 3} and len(model.requests) == 3
    assert all(q.text.startswith("Hello! ") for q in load_queries(tmp_path / "G3_query.json"))
