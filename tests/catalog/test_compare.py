"""`toolbench catalog compare` (toolbench/catalog/compare.py): the demo's check that its imported catalog is the
committed data/tools, reachable from the CLI and reading explicit paths (not the source tree)."""

import pytest

from toolbench.catalog.compare import compare_catalogs
from toolbench.catalog.store import write_tool
from toolbench.cli import main
from toolbench.errors import ToolbenchError
from toolbench.hub.catalog import hub_tools


def test_same_missing_and_differing_files(tmp_path, capsys):
    tools = hub_tools()[:3]
    for folder in ("a", "b"):
        for tool in tools:
            write_tool(tool, tmp_path / folder)
    assert compare_catalogs(tmp_path / "a", tmp_path / "b").same
    with pytest.raises(SystemExit) as exit_:
        main(["catalog", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert exit_.value.code == 0 and "hold the same tool files" in capsys.readouterr().out

    files = sorted((tmp_path / "b").rglob("*.json"))
    files[0].unlink()
    files[1].write_text(files[1].read_text() + " ")
    (tmp_path / "b" / "Extra").mkdir()
    (tmp_path / "b" / "Extra" / "x.json").write_text("{}")
    diff = compare_catalogs(tmp_path / "a", tmp_path / "b")
    first, second = (f.relative_to(tmp_path / "b").as_posix() for f in files[:2])
    assert (diff.only_first, diff.only_second, diff.differing, diff.same) == ([first], ["Extra/x.json"], [second],
                                                                              False)
    with pytest.raises(SystemExit) as exit_:
        main(["catalog", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert exit_.value.code == 1 and f"differ: {second}" in out and "only in" in out


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(ToolbenchError, match="nope: no such catalog folder"):
        compare_catalogs(tmp_path, tmp_path / "nope")
