"""``toolbench crawl``'s settings: one CrawlRunConfig from the defaults, --config, --set and the options given, in
that order; the old flags still work; bad settings name the file or item and the field."""

import pytest
from typer.testing import CliRunner

import toolbench.crawl
from tests.capture import capture_run
from toolbench.cli import app, main
from toolbench.crawl import CrawlConfig, CrawlConfigError, CrawlRunConfig


@pytest.fixture
def captured(monkeypatch):
    monkeypatch.setattr(toolbench.crawl, "print_report", lambda report: None)
    return capture_run(monkeypatch, toolbench.crawl, {"summary": {}, "apis": [], "tools": []})


def test_options_config_file_and_sets_in_order(captured, tmp_path):
    config = tmp_path / "crawl.yaml"
    config.write_text("out: runs/from-file\nsamples: 5\nconcurrency: 2\ncrawl: {seed: 7, rate: 1.5}\n"
                      "hub_url: http://127.0.0.1:9\ntools: [FXRates]\n")
    result = CliRunner().invoke(app, ["crawl", "data/tools", "--config", str(config), "--set", "seed=9",
                                      "--set", "max_p95_latency=1e-1", "--samples", "3", "--max-p95", "2",
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    (cfg,) = captured
    assert cfg.catalog == "data/tools" and cfg.out == "runs/from-file" and cfg.tools == ["FXRates"]
    assert cfg.hub_url == "http://127.0.0.1:9" and cfg.progress is False
    # --samples 3 is the default, but given on the command line it wins over the file's 5
    assert cfg.crawl == CrawlConfig(samples=3, concurrency=2, seed=9, rate=1.5, max_p95_latency=2.0)


def test_old_flags(captured):
    result = CliRunner().invoke(app, ["crawl", "cat", "-o", "run", "--tool", "A", "--tool", "B", "--timeout", "3",
                                      "--min-success", "0.5", "--schema-style", "template", "--cache", "c.sqlite"])
    assert result.exit_code == 0, result.output
    (cfg,) = captured
    assert (cfg.catalog, cfg.out, cfg.tools, cfg.cache) == ("cat", "run", ["A", "B"], "c.sqlite")
    assert (cfg.crawl.timeout, cfg.crawl.min_success, cfg.crawl.schema_style) == (3.0, 0.5, "template")


@pytest.mark.parametrize("args, words", [
    (["crawl", "cat"], ["out must be given"]),
    (["crawl", "cat", "-o", "r", "--set", "sample=2"], ["--set 'sample=2'", "no CrawlRunConfig field 'sample'",
                                                        "samples"]),
    (["crawl", "cat", "-o", "r", "--set", "schema_style=xml"], ["schema_style", "'xml' unknown"]),
    (["crawl", "cat", "-o", "r", "--set", "rate=fast"], ["field 'rate' takes a number"]),
])
def test_bad_settings_exit_non_zero_naming_the_field(captured, capsys, args, words):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code != 0 and not captured and "Traceback" not in err
    for word in words:
        assert word in err, err


def test_bad_config_file_is_named(captured, capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("samples = [\n")
    with pytest.raises(SystemExit) as exit_:
        main(["crawl", "cat", "-o", "r", "--config", str(bad)])
    assert exit_.value.code != 0 and f"{bad}: cannot parse" in capsys.readouterr().err


def test_run_config_builds_its_crawl_settings_from_a_mapping():
    cfg = CrawlRunConfig(catalog="c", out="o", crawl={"samples": 1})
    assert cfg.crawl == CrawlConfig(samples=1)
    with pytest.raises(toolbench.crawl.CrawlError, match="samples"):
        CrawlRunConfig(catalog="c", out="o", crawl={"samples": -1})
    assert issubclass(CrawlConfigError, toolbench.crawl.CrawlError)
