"""`toolbench catalog validate` refuses URLs the executor cannot call: file://, gopher://, a bad port, a number,
an empty URL among real ones, a host that does not parse. Userinfo in a URL is not printed."""

import json
from pathlib import Path

from typer.testing import CliRunner

from toolbench.catalog.validate_catalog import check_urls, validate_catalog
from toolbench.cli import app
from toolbench.records import Api, Tool

FIXTURES = Path(__file__).parents[1] / "fixtures" / "toolbench_tools"
BAD_URLS = {
    "file": "file:///etc/passwd",
    "gopher": "gopher://127.0.0.1:70/1",
    "port": "http://127.0.0.1:notaport/x",
    "range": "https://api.example.com:70000/x",
    "number": 12345,
    "empty": "",
    "host": "http://exa mple.com/x",
    "noscheme": "api.example.com/x",
}


def test_check_urls_finds_every_uncallable_url():
    apis = [Api(tool="T", name=k, url=str(v)) for k, v in BAD_URLS.items()]
    apis.append(Api(tool="T", name="good", url="https://api.example.com/v1/{id}"))
    problems = check_urls(Tool(name="T", apis=apis), "t.json")
    by_where = {p.location: p for p in problems}
    assert all(p.severity == "error" for p in problems)
    assert sorted(by_where) == [f"api_list[{i}].url" for i in range(len(BAD_URLS))]
    messages = [by_where[f"api_list[{i}].url"].message for i in range(len(BAD_URLS))]
    assert "'file://' is not http(s)" in messages[0] and "'gopher://' is not http(s)" in messages[1]
    assert "invalid port" in messages[2] and "out of range" in messages[3] and "no scheme" in messages[4]
    assert "no URL" in messages[5] and "not a valid host name" in messages[6] and "no scheme" in messages[7]


def test_a_tool_without_any_url_is_only_a_warning():
    tool = Tool(name="T", apis=[Api(tool="T", name="a"), Api(tool="T", name="b")])
    (problem,) = check_urls(tool, "t.json")
    assert problem.severity == "warning" and problem.location == "api_list"


def test_validate_cli_rejects_bad_urls_and_hides_userinfo(tmp_path):
    good = json.loads((FIXTURES / "Data/theclique.json").read_text())
    (tmp_path / "Data").mkdir()
    (tmp_path / "Data/good.json").write_text(json.dumps(good))
    assert not [p for p in validate_catalog(tmp_path)[1] if p.severity == "error"]
    bad = dict(good, tool_name="Bad")
    bad["api_list"] = [dict(good["api_list"][0], name=f"api{i}", url=url) for i, url in enumerate(
        ["file:///etc/passwd", "gopher://h/", "http://127.0.0.1:notaport/x", 12345,
         "https://user:hunter22@api.example.com:99999/x"])]
    (tmp_path / "Data/bad.json").write_text(json.dumps(bad))
    result = CliRunner().invoke(app, ["catalog", "validate", str(tmp_path)])
    assert result.exit_code == 1
    for i in range(5):
        assert f"bad.json: api_list[{i}].url" in result.output
    assert "hunter22" not in result.output and "***@api.example.com" in result.output
    assert "5 error(s)" in result.output
