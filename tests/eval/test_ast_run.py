"""``toolbench eval ast``'s settings: one AstRunConfig from the defaults, --config, --set and the options given;
``eval.ast_run.run(config)`` is the command as a function (the same files as the command)."""

import json

import pytest

from eval.ast_run import AstRunConfig, run
from eval.predict import RunnerConfig
from tests.eval.test_ast_score import ANSWERS, ENTRIES, PREDICTIONS, write_jsonl
from toolbench.cli import main
from toolbench.errors import ToolbenchError


@pytest.fixture
def files(tmp_path):
    return {"dataset": str(write_jsonl(tmp_path / "entries.jsonl", ENTRIES)),
            "answers": str(write_jsonl(tmp_path / "answers.jsonl", ANSWERS)),
            "predictions": str(write_jsonl(tmp_path / "preds.jsonl", PREDICTIONS))}


def test_run_scores_predictions_and_writes_what_the_command_writes(files, tmp_path, capsys):
    result = run(AstRunConfig(**files, out=str(tmp_path / "a" / "ast.jsonl"), name="mine"))
    rows = [json.loads(line) for line in (tmp_path / "a" / "ast.jsonl").read_text().splitlines()]
    assert [r["valid"] for r in rows] == [True, False, True, False, True, False]
    assert result.outcome.summary["model"] == "mine" and "predictions" not in result.paths
    config = tmp_path / "ast.yaml"
    config.write_text(json.dumps({**files, "out": str(tmp_path / "b" / "ast.jsonl"), "name": "mine"}))
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "ast", "--config", str(config)])
    assert exit_.value.code == 0, capsys.readouterr().err
    for name in ("ast.jsonl", "ast.summary.json", "ast.per_api.json"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_config_file_then_sets_then_options(files, tmp_path, monkeypatch):
    import eval.ast_run

    seen = []

    class Captured(Exception):
        pass

    def fake_run(cfg, *callbacks):
        seen.append(cfg)
        raise Captured

    monkeypatch.setattr(eval.ast_run, "run", fake_run)
    config = tmp_path / "ast.toml"
    config.write_text('dataset = "bfcl:multiple"\nout = "runs/x.jsonl"\nmodel = "m"\nlimit = 50\n'
                      '[runner]\nmax_tokens = 64\ntemperature = 0.5\n')
    with pytest.raises(Captured):
        main(["eval", "ast", "--config", str(config), "--set", "limit=5", "--set", "tool_choice=required",
              "--temperature", "0", "--base-url", "http://127.0.0.1:9/v1"])
    (cfg,) = seen
    assert (cfg.dataset, cfg.out, cfg.model, cfg.limit, cfg.base_url) == ("bfcl:multiple", "runs/x.jsonl", "m", 5,
                                                                          "http://127.0.0.1:9/v1")
    # --temperature 0 is the default, given on the command line it still wins over the file's 0.5
    assert cfg.runner == RunnerConfig(max_tokens=64, temperature=0.0, tool_choice="required")


@pytest.mark.parametrize("fields, words", [
    ({"predictions": None}, "needs --predictions FILE, or --model"),
    ({"base_url": "http://127.0.0.1:9/v1"}, "--base-url needs --model"),
    ({"model": "m", "underscore_to_dot": True}, "--underscore-to-dot is for predictions made elsewhere"),
    ({"limit": 0}, "--limit must be >= 1"),
    ({"model": "m", "cache_mode": "sometimes"}, "--cache-mode must be one of"),
    ({"out": None}, "needs --out FILE"),
])
def test_bad_settings_are_named(files, fields, words):
    with pytest.raises(ToolbenchError, match=words.replace("(", r"\(")):
        AstRunConfig(**{**files, "out": "o.jsonl", **fields})


def test_unknown_set_field_exits_non_zero(files, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "ast", "--dataset", files["dataset"], "--out", "o.jsonl", "--set", "max_token=3"])
    err = capsys.readouterr().err
    assert exit_.value.code != 0 and "no AstRunConfig field 'max_token'" in err and "max_tokens" in err
