"""The demo's crawl stage is `toolbench crawl` (toolbench.crawl.run with the config the profile gives; the demo
keeps one sandbox key for all APIs): on the same catalog and hub, the stage and the command decide alike."""

import io
import json
from types import SimpleNamespace

import httpx
from rich.console import Console

from toolbench.catalog.store import write_tool
from toolbench.cli import main
from toolbench.cli.demo.profile import TINY
from toolbench.cli.demo.stage_catalog import crawl_config, stage_crawl
from toolbench.cli.demo.stage_runner import DemoContext
from toolbench.hub import HubSettings, HubThread
from toolbench.hub.catalog import hub_tools


def test_the_crawl_stage_is_the_crawl_command(tmp_path, monkeypatch):
    monkeypatch.delenv("TOOLBENCH_API_KEY", raising=False)
    tools = [t for t in hub_tools() if t.name in ("FXRates", "GeoPlaces")]  # stateless: the keys do not matter
    with HubThread(HubSettings(retry_after=0)) as hub:
        ctx = DemoContext(out=tmp_path / "demo", profile=TINY, console=Console(file=io.StringIO()),
                          services=SimpleNamespace(hub=lambda: hub))
        for tool in tools:
            write_tool(tool, ctx.path("catalog"))
        cfg = crawl_config(ctx)
        assert (cfg.catalog, cfg.out, cfg.hub_url) == (str(ctx.path("catalog")), str(ctx.path("crawl")), hub.url)
        assert (cfg.crawl.samples, cfg.crawl.seed) == (TINY.crawl_samples, TINY.seed)
        output = stage_crawl(ctx)
        httpx.post(hub.url + "/admin/reset", params={"everything": "true"})  # the command starts from the seed too
        try:
            main(["crawl", str(ctx.path("catalog")), "--out", str(tmp_path / "cli"), "--hub-url", hub.url,
                  "--samples", str(TINY.crawl_samples), "--seed", str(TINY.seed), "--no-progress"])
        except SystemExit as exc:
            assert exc.code in (0, None)

    def decisions(folder):
        report = json.loads((folder / "report.json").read_text())
        return sorted((r["tool"], r["api"], r["keep"], r["calls"]) for r in report["apis"])

    assert decisions(ctx.path("crawl")) == decisions(tmp_path / "cli")
    assert output.figures["apis"] == len(decisions(tmp_path / "cli")) and output.figures["kept_apis"] >= 1
