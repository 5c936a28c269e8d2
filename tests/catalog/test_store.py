"""Catalog folders and query files: round trips, imports, and bad files that never stop the good ones."""

import json
import shutil
from pathlib import Path

import pytest

from toolbench.catalog.importer import import_toolbench
from toolbench.catalog.store import (
    CatalogError,
    group_from_filename,
    load_catalog,
    load_queries,
    read_queries,
    write_tool,
)
from toolbench.catalog.validate_catalog import validate_catalog
from toolbench.records import Tool

FIXTURES = Path(__file__).parents[1] / "fixtures" / "toolbench_tools"
REF = Path(__file__).parents[2] / "data" / "reference"


def test_write_then_load_round_trip(tmp_path):
    src = json.loads((FIXTURES / "Data" / "theclique.json").read_text())
    tool = Tool.from_dict(src, category="Data")
    path = write_tool(tool, tmp_path)
    assert path == tmp_path / "Data" / "theclique.json"
    catalog = load_catalog(tmp_path)
    assert catalog.problems == []
    assert catalog.tools == [tool]
    assert catalog.get_api("theclique", "Songkick concert").url.startswith("https://theclique")
    assert not list(tmp_path.rglob("*.tmp"))  # atomic write leaves no temporary file


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_bad_files_are_reported_and_never_stop_the_good_ones(tmp_path):
    shutil.copytree(FIXTURES / "Data", tmp_path / "Data")
    good = json.loads((FIXTURES / "Data" / "theclique.json").read_text())
    _write(tmp_path / "Data" / "truncated.json", json.dumps(good)[:200])
    _write(tmp_path / "Data" / "empty.json", "")
    missing = dict(good, tool_name="Missing")
    del missing["api_list"]
    _write(tmp_path / "Finance" / "missing.json", json.dumps(missing))
    wrong = dict(good, tool_name="Wrong")
    wrong["api_list"] = [dict(good["api_list"][0], required_parameters="id")]
    _write(tmp_path / "Finance" / "wrong.json", json.dumps(wrong))
    dup_api = dict(good, tool_name="DupApi")
    dup_api["api_list"] = [good["api_list"][0], good["api_list"][0]]
    _write(tmp_path / "Finance" / "dup_api.json", json.dumps(dup_api))
    _write(tmp_path / "Finance" / "dup_tool.json", json.dumps(good))
    other = dict(good, tool_name="Other")
    _write(tmp_path / "Finance" / "other.json", json.dumps(other))

    catalog = load_catalog(tmp_path)
    assert sorted(t.name for t in catalog.tools) == ["Other", "TheClique"]
    messages = {Path(p.path).name: (p.location, p.message) for p in catalog.problems}
    assert set(messages) == {"truncated.json", "empty.json", "missing.json", "wrong.json", "dup_api.json",
                             "dup_tool.json"}
    assert messages["truncated.json"][0].startswith("line 1 column")
    assert "truncated" in messages["truncated.json"][1]
    assert "empty" in messages["empty.json"][1]
    assert messages["missing.json"] == ("api_list", "missing required field (a list of the tool's APIs)")
    assert messages["wrong.json"][0] == "api_list[0].required_parameters"
    assert "must be list" in messages["wrong.json"][1]
    assert messages["dup_api.json"][0] == "api_list[1].name"
    assert "duplicate tool 'TheClique'" in messages["dup_tool.json"][1]

    n_tools, problems = validate_catalog(tmp_path)
    assert n_tools == 2
    assert len([p for p in problems if p.severity == "error"]) == 6


def test_checks_find_bad_schemas_methods_and_warn_on_duplicates(tmp_path):
    good = json.loads((FIXTURES / "Data" / "theclique.json").read_text())
    good["api_list"][0]["method"] = "FETCH"
    good["api_list"][1]["optional_parameters"].append({"name": "limit", "type": "NUMBER", "default": 5})
    good["api_list"][1]["optional_parameters"].append(
        {"name": "sort", "type": "ENUM", "default": "", "schema": {"type": "strng"}})
    _write(tmp_path / "Data" / "theclique.json", json.dumps(good))
    _, problems = validate_catalog(tmp_path)
    found = {(p.location, p.severity) for p in problems}
    assert ("api_list[0].method", "error") in found
    assert ("api_list[1].optional_parameters[2].name", "warning") in found
    assert ("api_list[1].optional_parameters[3].schema", "error") in found


def test_query_files_with_bad_entries(tmp_path):
    good = json.loads((REF / "toolbench/instruction/G1_query.json").read_text())
    entries = good[:2] + [{"query": "no id"}, {"query_id": 7, "query": "x", "api_list": [{"tool_name": "T"}]}]
    path = tmp_path / "G2_query.json"
    path.write_text(json.dumps(entries))
    queries, problems = read_queries(path)
    assert [q.group for q in queries] == ["G2", "G2"]
    assert [(p.location, p.message) for p in problems] == [
        ("[2].query_id", "missing required field"),
        ("[3].api_list[0].api_name", "missing required field"),
    ]
    with pytest.raises(CatalogError, match=r"G2_query.json: \[2\].query_id"):
        load_queries(path)


@pytest.mark.parametrize("name, group", [("G1_query.json", "G1"), ("G3_instruction.json", "G3"),
                                         ("queries.json", ""), ("g2-tool.json", "G2")])
def test_group_from_filename(name, group):
    assert group_from_filename(Path(name)) == group


def test_import_reference_queries_then_merge(tmp_path):
    out = tmp_path / "catalog"
    report = import_toolbench(REF / "toolbench" / "instruction", out)
    assert report.errors == [] and report.queries == 12
    first = load_catalog(out)
    assert first.problems == [] and len(first.tools) == len(report.tools_written)
    # Importing again adds nothing; importing a tool file merges its APIs into the existing catalog.
    again = import_toolbench(REF / "toolbench" / "instruction", out)
    assert again.apis_added == 0
    tool_file = import_toolbench(FIXTURES, out)
    assert tool_file.apis_added == 2
    assert len(load_catalog(out).get_tool("TheClique").apis) == 2


def test_import_stabletoolbench_queries(tmp_path):
    report = import_toolbench(REF / "stabletoolbench" / "G1_instruction.json", tmp_path)
    assert report.errors == []
    catalog = load_catalog(tmp_path)
    assert len(catalog.tools) > 100 and len(catalog.apis()) > 700
    assert catalog.get_tool("TheClique").category == "Data"


def test_import_reports_files_that_are_neither_kind(tmp_path):
    src = tmp_path / "src"
    _write(src / "notes.json", json.dumps({"hello": 1}))
    _write(src / "broken.json", "{")
    report = import_toolbench(src, tmp_path / "out")
    assert {(Path(p.path).name, p.severity) for p in report.problems} == {("notes.json", "warning"),
                                                                          ("broken.json", "error")}
    with pytest.raises(CatalogError, match="no such file"):
        import_toolbench(tmp_path / "nope", tmp_path / "out")
