"""The demo's `calibrate` stage and `toolbench llm calibrate`: the tuned model's call threshold, chosen on BFCL's dev
slice (the default) or on the examples the mix left out, written where the tuned model server picks it up; and
BFCL's dev slice as labelled requests (never the test slice)."""

from __future__ import annotations

import dataclasses
import io
import json
from types import SimpleNamespace
from typing import ClassVar

import pytest
from rich.console import Console
from typer.testing import CliRunner

from eval.public_sample import dev_requests, public_sample
from toolbench.cli import app
from toolbench.cli.demo.profile import TINY, ProfileError
from toolbench.cli.demo.stage_runner import DemoContext
from toolbench.cli.demo.stage_train import calibration_file, stage_calibrate
from toolbench.llm.call_gate import labelled_requests
from toolbench.llm.llamacpp_lib import llama_cpp_available

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city.",
                                            "parameters": {"type": "object",
                                                           "properties": {"city": {"type": "string"}}}}}


class _Engine:
    """Stands in for the tuned model (a unit test of the stage): requests in ``wants_text`` (their messages as
    JSON) score 0.05, the others 0.9."""

    name = "tuned"
    context_length = 10_000
    wants_text: ClassVar[set[str]] = set()

    def __init__(self, seen):
        self.seen = seen

    def render(self, messages, tools, tool_choice):
        return SimpleNamespace(text=json.dumps(messages))

    def count_tokens(self, text):
        return 10

    def call_probability(self, prompt):
        self.seen.append(prompt)
        return 0.05 if prompt in self.wants_text or "joke" in prompt else 0.9

    def close(self):
        self.seen.append("closed")


@pytest.fixture
def engine(monkeypatch):
    seen: list = []
    loaded = []

    def load_generator(config):
        loaded.append(config)
        return _Engine(seen), ()

    monkeypatch.setattr("toolbench.llm.engines.load_generator", load_generator)
    return SimpleNamespace(seen=seen, loaded=loaded)


def _ctx(tmp_path, **changes):
    return DemoContext(out=tmp_path / "demo", profile=dataclasses.replace(TINY, **changes),
                       console=Console(file=io.StringIO()), services=None)


def test_bfcl_dev_requests_are_the_dev_slice_labelled_by_category():
    requests = dev_requests(["simple_python", "irrelevance"], 3)
    assert [r.wants_call for r in requests] == [True] * 3 + [False] * 3
    dev = public_sample(["simple_python", "irrelevance"], "all", split="dev").ids
    assert {r.id for r in requests} <= set(dev["simple_python"]) | set(dev["irrelevance"])
    assert all(r.tools and r.messages[-1]["role"] == "user" for r in requests)


def test_dev_requests_never_read_the_test_slice():
    dev = {r.id for r in dev_requests(["simple_python"], "all")}
    test = set(public_sample(["simple_python"], "all", split="test").ids["simple_python"])
    assert dev and test and not dev & test


def test_the_stage_calibrates_on_bfcls_dev_slice_by_default(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(_Engine, "wants_text", {json.dumps(r.messages) for r in dev_requests(["irrelevance"])})
    ctx = _ctx(tmp_path, calibration_requests=3)
    output = stage_calibrate(ctx)
    written = json.loads(calibration_file(ctx.out).read_text())
    assert written["source"] == "BFCL's dev slice" and 0.05 < written["threshold"] <= 0.9
    assert (written["calls"], written["texts"]) == (3, 3) and output.figures["auc"] == 1.0
    assert engine.seen[-1] == "closed" and engine.loaded[0].max_batch == 1
    assert "chosen on BFCL's dev slice" in output.note


def test_the_stage_can_calibrate_on_the_mix_or_not_at_all(tmp_path, engine):
    ctx = _ctx(tmp_path, calibration="mix")
    skipped = stage_calibrate(ctx)  # no mix yet: greedy decoding decides
    assert "does not exist" in skipped.note and not calibration_file(ctx.out).exists()
    data = ctx.path("sft", "data", "calibration.jsonl")
    data.parent.mkdir(parents=True)
    rows = [{"messages": [{"role": "user", "content": text}, answer], "tools": [WEATHER]} for text, answer in (
        ("Weather in Oslo?", {"role": "assistant", "tool_calls": [{"type": "function", "function": {
            "name": "get_weather", "arguments": "{}"}}]}),
        ("Tell me a joke.", {"role": "assistant", "content": "No function does that."}))]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    stage_calibrate(ctx)
    written = json.loads(calibration_file(ctx.out).read_text())
    assert written["source"] == "the generated examples the mix left out" and (written["calls"], written["texts"]) == (1, 1)
    off = stage_calibrate(_ctx(tmp_path, calibration="off"))
    assert "off" in off.note and not calibration_file(ctx.out).exists()  # a stale threshold is not left behind
    with pytest.raises(ProfileError, match="'calibration' must be bfcl-dev, mix or off"):
        dataclasses.replace(TINY, calibration="dev")


def test_the_calibrate_command_wants_one_source(tmp_path):
    result = CliRunner().invoke(app, ["llm", "calibrate", "--model", "default", "--out", str(tmp_path / "c.json")])
    assert result.exit_code != 0 and "--data FILE or --bfcl-dev" in " ".join(result.output.split())


@pytest.mark.skipif(not llama_cpp_available()[0], reason="llama.cpp is not built here")
def test_the_calibrate_command_on_the_packaged_model(tmp_path):
    data = tmp_path / "cal.jsonl"
    rows = [{"messages": [{"role": "user", "content": text}, answer], "tools": [WEATHER]} for text, answer in (
        ("What is the weather in Oslo?", {"role": "assistant", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]}),
        ("What is the weather in Rome?", {"role": "assistant", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}]}),
        ("Tell me a joke about cats.", {"role": "assistant", "content": "No function tells jokes."}))]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "cal.json"
    result = CliRunner().invoke(app, ["llm", "calibrate", "--model", "default", "--data", str(data), "--out",
                                      str(out), "--threads", "1"])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert (written["calls"], written["texts"]) == (2, 1) and 0 < written["threshold"] < 1
    assert written["source"] == str(data) and "call threshold" in result.output
    assert len(labelled_requests(data)) == 3
