"""toolbench.config: a config dataclass as typer options (name, type, default, help from the field), back again."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import typer
from typer.testing import CliRunner

from toolbench.config import doc, field_help, from_options, options, parse_overrides, parse_pairs
from toolbench.errors import ToolbenchError

HUB = "http://127.0.0.1:8750"


@dataclass
class Inner:
    width: int = field(default=2, metadata=doc("Children per state."))
    limit: int | None = field(default=None, metadata=doc("At most this many."))


@dataclass
class Outer:
    queries: str = field(metadata=doc("Query file.", path=True))
    inner: Inner = field(default_factory=Inner, metadata=doc("Nested."))
    rate: float = field(default=0.5, metadata=doc("A rate."))
    cache: bool = field(default=True, metadata=doc("Use the cache."))
    urls: dict[str, str] = field(default_factory=dict, metadata=doc(
        "PREFIX=URL, repeatable.", option="--url", form="PREFIX=URL", example="a=http://b"))


def _app(seen: list) -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.command()
    @options(Outer)
    def run(settings: dict, verbose: bool = False) -> None:
        seen.append((from_options(Outer, settings), verbose))

    return app


def test_every_field_becomes_an_option_with_its_help_and_default():
    result = CliRunner().invoke(_app([]), ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("--queries", "Query file.", "--width", "Children per state.", "[default: 2]", "--limit",
                 "--rate", "[default: 0.5]", "--cache", "--no-cache", "--url", "PREFIX=URL, repeatable.",
                 "--verbose"):
        assert text in result.output
    assert "--inner" not in result.output and "--urls" not in result.output


def test_options_build_the_config():
    seen: list = []
    result = CliRunner().invoke(_app(seen), ["--queries", "q.json", "--width", "3", "--no-cache", "--url", "a=http://b",
                                             "--url", "c=http://d", "--verbose"])
    assert result.exit_code == 0, result.output
    cfg, verbose = seen[0]
    assert cfg == Outer(queries="q.json", inner=Inner(width=3), cache=False, urls={"a": "http://b", "c": "http://d"})
    assert verbose is True
    result = CliRunner().invoke(_app(seen), ["--queries", "q.json", "--url", "nope"])
    assert isinstance(result.exception, ToolbenchError) and "--url 'nope': write PREFIX=URL" in str(result.exception)


def test_from_options_values_replace_options():
    cfg = from_options(Outer, {"queries": None, "width": 0, "limit": 4}, width=5)
    assert cfg.inner == Inner(width=5, limit=4) and cfg.queries is None


def test_field_help():
    assert field_help(Inner) == {"width": "Children per state.", "limit": "At most this many."}


def test_api_overrides_are_parsed_from_prefix_equals_url():
    assert parse_overrides([f"{HUB}=http://127.0.0.1:9000"]) == {HUB: "http://127.0.0.1:9000"}
    assert parse_overrides(None) == {}
    with pytest.raises(ToolbenchError, match="write CATALOG_PREFIX=URL"):
        parse_overrides(["http://127.0.0.1:9000"])
    with pytest.raises(ToolbenchError, match="--x '=b': write KEY=VALUE$"):
        parse_pairs(["=b"], "--x")
