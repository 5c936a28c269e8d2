"""`toolbench train mix --config FILE --set field=value`: the defaults, the file, the --set items, then the options
given (toolbench.config.from_command, as every command with a config)."""

import pytest

import train.mix
from toolbench.cli import main


class Captured(Exception):
    pass


def test_mix_from_a_config_file_sets_and_options(tmp_path, monkeypatch):
    seen = []

    def capture(cfg, *args, **kwargs):
        seen.append(cfg)
        raise Captured

    monkeypatch.setattr(train.mix, "run", capture)
    config = tmp_path / "mix.yaml"
    config.write_text("calls: runs/calls\ncatalog: data/tools\nout: runs/mix\ncall_examples: 10\nagent_examples: 5\n")
    with pytest.raises(Captured):
        main(["train", "mix", "--config", str(config), "--set", "agent_examples=2", "--out", "runs/other"])
    (cfg,) = seen
    assert (cfg.calls, cfg.catalog, cfg.out, cfg.call_examples, cfg.agent_examples) == (
        "runs/calls", "data/tools", "runs/other", 10, 2)
