"""``toolbench generate calls``' settings: one CallsRunConfig from the defaults, --config, --set and the options
given; --mix and --irrelevance-kind change the named entries of the default mix; ``run(config)`` is the
command as a function."""

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from tests.capture import capture_run
from toolbench.catalog.store import write_tool
from toolbench.cli import app, main
from toolbench.generate import pipeline
from toolbench.generate.calls_config import DEFAULT_IRRELEVANCE, DEFAULT_WEIGHTS, CallsConfig, CallsRunConfig
from toolbench.hub.catalog import hub_tools


@pytest.fixture
def captured(monkeypatch):
    return capture_run(monkeypatch, pipeline, {"stages": {}, "made": 0, "failed_to_make": 0, "kept": 0, "train": 0,
                                               "heldout": 0, "rejected": 0})


def test_config_file_sets_and_options(captured, tmp_path):
    config = tmp_path / "calls.toml"
    config.write_text('catalog = "data/tools"\nn = 40\nout = "runs/c"\nzh_rate = 0.0\ntoday = 2025-03-01\n'
                      '[calls]\nmax_offered = 5\nweights = {multiple = 1, irrelevance = 1}\n')
    result = CliRunner().invoke(app, ["generate", "calls", "--config", str(config), "--set", "n=12",
                                      "--set", "optional_rate=0.9", "--max-offered", "4", "--verify"])
    assert result.exit_code == 0, result.output
    (cfg,) = captured
    assert (cfg.catalog, cfg.n, cfg.out, cfg.verify, cfg.seed) == ("data/tools", 12, "runs/c", True, 0)
    assert cfg.calls == CallsConfig(weights={"multiple": 1, "irrelevance": 1}, zh_rate=0.0, max_offered=4,
                                    optional_rate=0.9, today=dt.date(2025, 3, 1))


def test_mix_options_change_only_the_named_weights(captured):
    result = CliRunner().invoke(app, ["generate", "calls", "--catalog", "c", "--n", "3", "--out", "o", "--mix",
                                      "simple=0", "--irrelevance-kind", "off_topic=0", "--today", "2024-01-31"])
    assert result.exit_code == 0, result.output
    (cfg,) = captured
    assert cfg.calls.weights == {**DEFAULT_WEIGHTS, "simple": 0.0}
    assert cfg.calls.irrelevance_kinds == {**DEFAULT_IRRELEVANCE, "off_topic": 0.0}
    assert cfg.calls.today == dt.date(2024, 1, 31)


@pytest.mark.parametrize("args, words", [
    (["--n", "3", "--out", "o"], ["catalog must be given"]),
    (["--catalog", "c", "--n", "3", "--out", "o", "--today", "31/01/2024"], ["--today '31/01/2024'", "YYYY-MM-DD"]),
    (["--catalog", "c", "--n", "3", "--out", "o", "--set", "weights={simple: many}"], ["weights", "number"]),
    (["--catalog", "c", "--n", "3", "--out", "o", "--set", "zh=1"], ["no CallsRunConfig field 'zh'", "zh_rate"]),
    (["--catalog", "c", "--n", "0", "--out", "o"], ["--n must be at least 1"]),
])
def test_bad_settings_exit_non_zero(captured, capsys, args, words):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "calls", *args])
    err = capsys.readouterr().err
    assert exit_.value.code != 0 and not captured and "Traceback" not in err
    for word in words:
        assert word in err, err


def test_run_is_the_command_as_a_function(tmp_path):
    tool = next(t for t in hub_tools() if t.name == "FXRates")
    write_tool(tool, tmp_path / "catalog")
    seen, resumed = [], []
    cfg = CallsRunConfig(catalog=str(tmp_path / "catalog"), n=6, out=str(tmp_path / "calls"), verify=True,
                         calls={"zh_rate": 0.0})
    stats = pipeline.run(cfg, seen.append, resumed.append)
    assert resumed == [0] and len(seen) == 6 and stats["made"] + stats["failed_to_make"] == 6
    assert json.loads((tmp_path / "calls" / "stats.json").read_text()) == stats
    pipeline.run(cfg, seen.append, resumed.append)  # resumes: nothing left to make
    assert resumed == [0, 6] and len(seen) == 6
