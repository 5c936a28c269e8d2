"""The demo's call-data stage is `toolbench generate calls` (toolbench.generate.pipeline.run with the config the
profile gives, and the demo's one sandbox key): on the same catalog and hub state the stage and the command make
the same samples; the demo's executor is the command's."""

import dataclasses
import io
from types import SimpleNamespace

import httpx
import pytest
from rich.console import Console

from toolbench.catalog.store import write_tool
from toolbench.cli import main
from toolbench.cli.demo import stage_common
from toolbench.cli.demo.profile import TINY
from toolbench.cli.demo.stage_calls import calls_config, stage_calls
from toolbench.cli.demo.stage_runner import DemoContext
from toolbench.generate import pipeline
from toolbench.hub import HubSettings, HubThread
from toolbench.hub.catalog import hub_tools

TOOLS = ("FXRates", "DeskPilot CRM")  # the CRM keeps state per key (its tickets and clock)


def test_the_calls_stage_is_the_generate_calls_command(tmp_path, monkeypatch):
    monkeypatch.delenv("TOOLBENCH_API_KEY", raising=False)
    profile = dataclasses.replace(TINY, calls=16, reference_catalog=None, eval_entries=None)
    with HubThread(HubSettings(retry_after=0)) as hub:
        ctx = DemoContext(out=tmp_path / "demo", profile=profile, console=Console(file=io.StringIO()),
                          services=SimpleNamespace(hub=lambda: hub))
        for tool in hub_tools():
            if tool.name in TOOLS:
                write_tool(tool, ctx.path("catalog"))
        cfg = calls_config(ctx)
        assert (cfg.catalog, cfg.out, cfg.hub_url, cfg.verify) == (str(ctx.path("catalog")), str(ctx.path("calls")),
                                                                    hub.url, True)
        assert (cfg.n, cfg.seed, cfg.heldout, cfg.calls.zh_rate, cfg.calls.max_parallel) == (
            16, profile.seed, profile.heldout, profile.zh_rate, profile.max_parallel)
        output = stage_calls(ctx)
        httpx.post(hub.url + "/admin/reset", params={"everything": "true"},
                   headers={"X-API-Key": stage_common.SANDBOX_KEY})
        monkeypatch.setenv("TOOLBENCH_API_KEY", stage_common.SANDBOX_KEY)  # the command with the demo's key
        with pytest.raises(SystemExit) as exit_info:
            main(["generate", "calls", "--catalog", str(ctx.path("catalog")), "--n", "16", "--out",
                  str(tmp_path / "cli"), "--verify", "--hub-url", hub.url, "--seed", str(profile.seed),
                  "--heldout", str(profile.heldout), "--zh-rate", str(profile.zh_rate),
                  "--max-offered", str(profile.max_offered), "--max-parallel", str(profile.max_parallel)])
        assert exit_info.value.code in (0, None)
    stage = ctx.path("calls", "samples.jsonl").read_text(encoding="utf-8")
    assert stage == (tmp_path / "cli" / "samples.jsonl").read_text(encoding="utf-8")
    assert '"execution": "backend"' in stage  # verified against the hub
    assert output.figures["made"] == 16 and output.figures["kept"] == output.figures["train"] + output.figures[
        "heldout"]


def test_one_hub_executor_with_the_key_asked(monkeypatch):
    monkeypatch.delenv("TOOLBENCH_API_KEY", raising=False)
    tools = [t for t in hub_tools() if t.name in TOOLS]
    url = "http://127.0.0.1:9999/"
    command = pipeline.hub_runner(tools, url)
    demo = stage_common.make_executor(tools, url)
    try:
        assert command.config.credentials == {"*": pipeline.HUB_KEY}
        assert demo.config.credentials == {"*": stage_common.SANDBOX_KEY} != command.config.credentials
        assert demo.config.base_url_overrides == command.config.base_url_overrides == {
            t.base_url.rstrip("/"): "http://127.0.0.1:9999" for t in tools}
    finally:
        command.close()
        demo.close()
    monkeypatch.setenv("TOOLBENCH_API_KEY", "mine")  # the environment's key wins over any sandbox key
    assert stage_common.credentials() == pipeline.hub_credentials("other") == {"*": "mine"}
