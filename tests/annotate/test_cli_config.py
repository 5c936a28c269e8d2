"""`toolbench annotate` and `annotate compare` read --config (YAML/TOML/JSON) and --set like every command with
a config: the defaults, the file, the --set items, then the options given; --max-llm-calls 0 is no limit."""

import pytest

import annotate.campaign
import annotate.compare
from toolbench.cli import main


class Captured(Exception):
    pass


@pytest.fixture
def seen(monkeypatch):
    configs = []

    def capture(cfg, *args, **kwargs):
        configs.append(cfg)
        raise Captured

    monkeypatch.setattr(annotate.campaign, "run", capture)
    monkeypatch.setattr(annotate.compare, "run_compare", capture)
    return configs


def test_campaign_from_a_config_file_sets_and_options(tmp_path, seen):
    config = tmp_path / "campaign.yaml"
    config.write_text("queries: q.json\nout: runs/a\nconcurrency: 3\nstrategy: react\nsearch: {max_steps: 9}\n")
    with pytest.raises(Captured):
        main(["annotate", "--config", str(config), "--set", "max_steps=7", "--set", "restarts=2",
              "--concurrency", "16", "--max-llm-calls", "0"])
    (cfg,) = seen
    assert (cfg.queries, cfg.out, cfg.concurrency) == ("q.json", "runs/a", 16)
    assert (cfg.search.strategy, cfg.search.max_steps, cfg.search.restarts, cfg.search.max_llm_calls) == (
        "react", 7, 2, None)


def doubles(cfg):
    return None, None


def test_compare_from_a_config_file(tmp_path, seen, monkeypatch):
    from toolbench.cli.annotate import TEST_DOUBLES_ENV

    monkeypatch.setenv(TEST_DOUBLES_ENV, f"{__name__}:doubles")
    config = tmp_path / "compare.toml"
    config.write_text('tasks = "t.json"\nout = "runs/c"\nbudget = 9\nmodels = {base = "m@http://127.0.0.1:9/v1"}\n')
    with pytest.raises(Captured):
        main(["annotate", "compare", "--config", str(config), "--set", "budget=5"])
    (cfg,) = seen
    assert (cfg.tasks, cfg.out, cfg.budget, cfg.models) == ("t.json", "runs/c", 5, {"base": "m@http://127.0.0.1:9/v1"})


def test_without_config_the_old_messages(capsys, seen):
    with pytest.raises(SystemExit) as exit_:
        main(["annotate", "--out", "runs/a"])
    assert exit_.value.code != 0 and "annotate needs --queries FILE and --out RUN" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["annotate", "--set", "queries=q.json", "--config", "/nonexistent.yaml"])
    assert exit_.value.code != 0 and "/nonexistent.yaml: config file not found" in capsys.readouterr().err
