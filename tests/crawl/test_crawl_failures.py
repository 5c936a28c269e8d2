"""A crawl over APIs the executor cannot call (port ``notaport``, file://, a 70,000-character example argument)
records them as failed calls in its report and goes on; URL userinfo never reaches the report or the log."""

import json
import logging

from tests.executor.echo_server import EchoServer
from toolbench.crawl import CrawlConfig, crawl
from toolbench.records import Api, Param, Tool


def one_api_tool(name: str, url: str, params=()) -> Tool:
    return Tool(name=name, apis=[Api(tool=name, name="probe", url=url, required_params=list(params))])


def test_crawl_records_uncallable_apis_as_failures_and_continues(tmp_path, caplog):
    with EchoServer() as echo:
        tools = [
            one_api_tool("BadPort", "http://127.0.0.1:notaport/x"),
            one_api_tool("FileUrl", "file:///etc/passwd"),
            one_api_tool("Huge", echo.url + "/q", [Param(name="q", type="STRING", location="query", required=True,
                                                         default="a" * 70_000)]),
            one_api_tool("Secretive", f"http://crawler:pa55word@127.0.0.1:{echo.port}/probe"),
            one_api_tool("Good", echo.url + "/good"),
        ]
        with caplog.at_level(logging.DEBUG, logger="toolbench.executor"):
            report = crawl(tools, tmp_path / "run", CrawlConfig(samples=0, timeout=5), progress=False)
    rows = {r["tool"]: r for r in report["apis"]}
    assert all(r["crawled"] for r in rows.values())
    assert (rows["BadPort"]["alive"], rows["BadPort"]["error_kind"]) == (False, "invalid_url")
    assert rows["BadPort"]["reasons"][0] == "dead (invalid_url)"
    assert (rows["FileUrl"]["alive"], rows["FileUrl"]["error_kind"]) == (False, "invalid_url")
    assert (rows["Huge"]["alive"], rows["Huge"]["error_kind"]) == (False, "invalid_arguments")
    assert rows["Good"]["keep"] and rows["Secretive"]["keep"]
    assert rows["Secretive"]["host"] == f"127.0.0.1:{echo.port}"
    assert report["summary"]["error_kinds"] == {"invalid_arguments": 1, "invalid_url": 2}
    written = (tmp_path / "run" / "report.json").read_text() + (tmp_path / "run" / "report.md").read_text()
    assert "pa55word" not in written and json.loads((tmp_path / "run" / "report.json").read_text())
    assert "pa55word" not in caplog.text and "***@127.0.0.1" in caplog.text
    # the server did get the userinfo as basic auth: it is the catalog's own credential, sent to its own host
    assert any(r["headers"].get("authorization", "").startswith("Basic ") for r in echo.requests)
