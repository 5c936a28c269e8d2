"""`toolbench annotate` options that reach the executor: the hub's address, URL overrides, key variables."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotate import tree as T
from annotate.campaign import HUB_KEY, CampaignConfig, CampaignError, main
from annotate.runner import ScriptedRunner
from tests.annotate import doubles
from toolbench.cli import app

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_QUERIES = ROOT / "tests" / "fixtures" / "annotate" / "sandbox_G1_query.json"
HUB = "http://127.0.0.1:8750"


def test_executor_settings_come_from_the_campaign_config():
    cfg = CampaignConfig(queries="q", out="o", hub_url="http://127.0.0.1:9000/",
                         api_overrides={"https://api.example.com/v1/": "http://127.0.0.1:9100"},
                         tool_key_env="MY_TOOL_KEY", rapidapi_key_env="MY_RAPID_KEY")
    executor = cfg.executor_config()
    assert executor.base_url_overrides == {HUB: "http://127.0.0.1:9000",
                                           "https://api.example.com/v1": "http://127.0.0.1:9100"}
    assert (executor.api_key_env, executor.rapidapi_key_env) == ("MY_TOOL_KEY", "MY_RAPID_KEY")
    assert CampaignConfig(queries="q", out="o").executor_config().base_url_overrides == {}
    with pytest.raises(CampaignError, match="hub_url: '127.0.0.1:9000' is not an http"):
        CampaignConfig(queries="q", out="o", hub_url="127.0.0.1:9000")
    with pytest.raises(CampaignError, match="api_overrides: 'ftp://x' is not an http"):
        CampaignConfig(queries="q", out="o", api_overrides={HUB: "ftp://x"})
    with pytest.raises(CampaignError, match="max_reply_tokens"):
        CampaignConfig(queries="q", out="o", max_reply_tokens=0)


def test_request_options_reach_every_model_request(tmp_path):
    seen = []

    def respond(messages, tools, params):
        seen.append(dict(params))
        return doubles.respond(messages, tools, params)

    from toolbench.llm.scripted import ScriptedChatModel

    cfg = CampaignConfig(queries=str(doubles.write_queries(tmp_path / "q.json", 1)), out=str(tmp_path / "run"),
                         temperature=0.5, max_reply_tokens=64, tool_choice="required")
    summary = main(cfg, ScriptedChatModel([respond], repeat_last=True), lambda f: ScriptedRunner(), progress=False)
    assert summary["solved"] == 1
    assert seen == [{"temperature": 0.5, "max_tokens": 64, "tool_choice": "required"}] * 2
    with pytest.raises(CampaignError, match="tool_choice: must be one of auto, required, none"):
        CampaignConfig(queries="q", out="o", tool_choice="always")


def test_annotate_calls_the_hub_at_hub_url_with_a_sandbox_key(tmp_path, monkeypatch):
    # The committed catalog points at 127.0.0.1:8750; --hub-url sends its calls to a hub on a free port, and the
    # hub's tools get a sandbox key since TOOLBENCH_API_KEY is unset. The model is scripted (tests.annotate.doubles).
    from toolbench.hub import HubSettings, HubThread

    monkeypatch.delenv("TOOLBENCH_API_KEY", raising=False)
    monkeypatch.setenv("TOOLBENCH_ANNOTATE_TEST_DOUBLES", "tests.annotate.doubles:hub_build")
    run = tmp_path / "run"
    with HubThread(HubSettings(seed=0)) as hub:
        result = CliRunner().invoke(app, [
            "annotate", "--queries", str(SANDBOX_QUERIES), "--catalog", str(ROOT / "data" / "tools"),
            "--limit", "2", "--hub-url", hub.url, "--out", str(run), "--concurrency", "2", "--no-progress"])
        assert result.exit_code == 0, result.output
        assert hub.hub.stats["requests"] == 2
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["solved"], summary["api_calls"], summary["done"]) == (2, 2, 2)
    weather = json.loads((run / "answers" / "1_DFS_woFilter_w2.json").read_text())
    call = weather["answer_generation"]["train_messages"][-1][3]
    assert call["role"] == "function" and '"error": ""' in call["content"] and "Paris" in call["content"]
    events = (run / "events.jsonl").read_text()
    assert HUB_KEY not in events  # the key is never logged
    assert T.GIVE_ANSWER in {json.loads(line).get("finish_type") for line in events.splitlines()}
