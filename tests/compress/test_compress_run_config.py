"""``toolbench compress``' settings: one CompressRunConfig from the defaults, --config, --set, the options given
and the CACHE argument (the old flags keep their names); ``run(config)`` is the command as a function."""

import json

import pytest
from typer.testing import CliRunner

from tests.capture import capture_run
from toolbench import compress
from toolbench.cache import ResponseCache
from toolbench.catalog.store import write_tool
from toolbench.cli import app, main
from toolbench.compress import CompressConfig, CompressResult, CompressRunConfig, compression_report
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Api, Observation, Tool

QUOTES = [json.dumps({"ticker": "CNTS", "price": 312.7, "links": {"self": "/q/CNTS"}, "notes": "x" * 50,
                      "bars": [{"close": float(i)} for i in range(9)]}),
          json.dumps({"ticker": "LTGR", "price": 145.6, "links": {"self": "/q/LTGR"}, "notes": "", "bars": []})]
EMPTY = CompressResult({"apis": [], "overall": {"responses": 0, "original_chars": 0, "compressed_chars": 0,
                                                "ratio": 1.0}})


@pytest.fixture
def captured(monkeypatch):
    return capture_run(monkeypatch, compress, EMPTY)


def recorded(tmp_path):
    """A response cache of two quotes and the catalog of their API (no response schema)."""
    cache = ResponseCache(tmp_path / "cache.sqlite")
    for i, text in enumerate(QUOTES):
        cache.put("StockQuotes", "get_quote", {"i": i}, Observation(response=text, status=200))
    cache.close()
    write_tool(Tool(name="StockQuotes", category="Finance", apis=[
        Api(tool="StockQuotes", name="get_quote", url="http://h/q", category="Finance")]), tmp_path / "tools")
    return tmp_path / "cache.sqlite", tmp_path / "tools"


def test_old_flags_keep_their_names(captured):
    result = CliRunner().invoke(app, ["compress", "c.sqlite", "--catalog", "cat", "--max-list-items", "2",
                                      "--max-string-chars", "0", "--max-total-chars", "1024", "-o", "r.json",
                                      "--propose-schema", "--base-url", "http://h/v1", "--model", "m",
                                      "--api-key-env", "KEY", "--llm-cache", "l.sqlite", "--schemas-out", "s.json"])
    assert result.exit_code == 0, result.output
    (cfg,) = captured
    assert (cfg.cache, cfg.catalog, cfg.out, cfg.propose_schema, cfg.schemas) == ("c.sqlite", "cat", "r.json",
                                                                                   True, None)
    assert (cfg.base_url, cfg.model, cfg.api_key_env, cfg.llm_cache, cfg.schemas_out) == ("http://h/v1", "m", "KEY",
                                                                                           "l.sqlite", "s.json")
    assert cfg.compress == CompressConfig(max_list_items=2, max_string_chars=0, max_total_chars=1024)
    assert str(cfg.proposals_path) == "s.json"


def test_config_file_sets_and_options(captured, tmp_path):
    config = tmp_path / "compress.toml"
    config.write_text('cache = "runs/crawl/cache.sqlite"\nmax_list_items = 3\n[compress]\nmax_total_chars = 512\n'
                      "drop_empty = false\n")
    result = CliRunner().invoke(app, ["compress", "--config", str(config), "--set", "max_string_chars=40",
                                      "--max-total-chars", "256"])
    assert result.exit_code == 0, result.output
    (cfg,) = captured
    assert (cfg.cache, cfg.catalog, cfg.model) == ("runs/crawl/cache.sqlite", "data/tools", "smollm2-135m-instruct")
    assert cfg.compress == CompressConfig(max_list_items=3, max_string_chars=40, max_total_chars=256,
                                          drop_empty=False)
    assert str(cfg.proposals_path) == "runs/crawl/cache.sqlite.schemas.json"
    CliRunner().invoke(app, ["compress", "other.sqlite", "--config", str(config)])
    assert captured[1].cache == "other.sqlite"  # the argument over the file


@pytest.mark.parametrize("args, words", [
    ([], ["cache must be given"]),
    (["CACHE", "--max-list-items", "-1"], ["max_list_items: must be >= 0"]),
    (["CACHE", "--set", "max_items=2"], ["no CompressRunConfig field 'max_items'", "max_list_items"]),
    (["CACHE", "--schemas", "SCHEMAS"], ["not a proposals file written by --propose-schema"]),
    (["nope.sqlite"], ["nope.sqlite: no such cache file"]),
])
def test_bad_settings_exit_non_zero(tmp_path, capsys, args, words):
    cache, catalog = recorded(tmp_path)
    (tmp_path / "bad.json").write_text('{"model": "m"}')
    args = [{"CACHE": str(cache), "SCHEMAS": str(tmp_path / "bad.json")}.get(a, a) for a in args]
    with pytest.raises(SystemExit) as exit_:
        main(["compress", *args, "--catalog", str(catalog)])
    err = capsys.readouterr().err
    assert exit_.value.code != 0 and "Traceback" not in err
    for word in words:
        assert word in err, err


def test_run_is_the_command_as_a_function(tmp_path):
    cache, catalog = recorded(tmp_path)
    cfg = CompressRunConfig(cache=str(cache), catalog=str(catalog), out=str(tmp_path / "r" / "report.json"),
                            compress={"max_list_items": 2, "max_string_chars": 10})
    result = compress.run(cfg)
    entries = list(ResponseCache(cache).entries())
    assert result.report == compression_report(entries, {}, CompressConfig(max_list_items=2, max_string_chars=10))
    assert result.report["overall"]["ratio"] < 1.0 and result.proposals == [] and result.proposals_file is None
    assert json.loads((tmp_path / "r" / "report.json").read_text()) == result.report
    # a model given to run proposes the schemas; the file goes to proposals_path and the report compares
    model = ScriptedChatModel(['{"ticker": "str", "price": "float", "volume": "int"}'])
    proposed = compress.run(CompressRunConfig(cache=str(cache), catalog=str(catalog), propose_schema=True), model)
    assert proposed.proposals_file == tmp_path / "cache.sqlite.schemas.json" and len(model.requests) == 1
    saved = json.loads(proposed.proposals_file.read_text())
    assert saved["proposals"][0]["schema"] == {"ticker": "str", "price": "float"}
    assert saved["proposals"][0]["dropped_keys"] == ["volume"]
    row = proposed.report["apis"][0]
    assert row["proposed_ratio"] < row["ratio"] and proposed.report["proposed"]["overall"]["responses"] == 2
    again = compress.run(CompressRunConfig(cache=str(cache), catalog=str(catalog),
                                           schemas=str(proposed.proposals_file)))
    assert again.report == proposed.report and again.proposals == []
