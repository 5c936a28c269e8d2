"""`toolbench demo --profile tiny` for real, in a child process (slow: ~5 minutes on 2 busy cores): the hub, the
SmolLM2 server, training and evaluation all run. Ctrl-C in the middle leaves no server behind and no stage
half-recorded; the rerun finishes; a third run resumes every stage and prints the same headline."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from toolbench.cli.demo.stages import default_stages

pytestmark = pytest.mark.slow

STAGES = [stage.name for stage in default_stages()]


def demo(out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "toolbench", "demo", "--profile", "tiny", "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "160"})


def finish(process: subprocess.Popen[str], timeout: float) -> str:
    out, _ = process.communicate(timeout=timeout)
    return out


def served_urls(log: Path) -> list[str]:
    return re.findall(r"serving \S+ at (http://\S+)", log.read_text()) if log.exists() else []


def test_tiny_demo_interrupted_resumed_and_rerun(tmp_path):
    from toolbench.llm.models import ensure_default_model

    ensure_default_model()  # the one-time conversion stays out of the timings
    out = tmp_path / "demo"
    state = out / "state"

    # 1. interrupt it while the base model is being evaluated (its server is up)
    first = demo(out)
    deadline = time.monotonic() + 600
    while not (state / "instructions.json").exists():
        assert first.poll() is None, finish(first, 10)
        assert time.monotonic() < deadline, "the tiny demo did not reach the evaluation in 10 minutes"
        time.sleep(0.5)
    time.sleep(2)
    first.send_signal(signal.SIGINT)
    output = finish(first, 120)
    assert first.returncode == 130, output
    assert "rerun the same command to resume" in " ".join(output.split())
    assert not (state / "eval_base.json").exists()
    for url in served_urls(out / "logs" / "llm-base.log"):  # the model server is gone
        with pytest.raises(httpx.TransportError):
            httpx.get(url.removesuffix("/v1") + "/health", timeout=2)
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".*.tmp-*"))

    # 2. the rerun resumes and finishes
    started = time.monotonic()
    second = demo(out)
    output = finish(second, 1500)
    assert second.returncode == 0, output
    assert "Catalog: import the hub's OpenAPI into a ToolBench catalog: done earlier" in " ".join(output.split())
    assert sorted(p.stem for p in state.glob("*.json") if p.stem != "profile") == sorted(STAGES)
    headline = json.loads((out / "headline.json").read_text())
    ast = headline["headline"]["ast"]
    assert ast["base"]["n"] == ast["tuned"]["n"] >= 1
    assert set(headline["headline"]["pass_rate"]) == {"base", "tuned"}
    page = (out / "leaderboard" / "index.html").read_text()
    assert "AST accuracy" in page and "SmolLM2-135M+LoRA" in page
    assert list((out / "leaderboard" / "plots").glob("*.png"))
    assert (out / "sft" / "run" / "final" / "config.json").exists()
    calibration = json.loads((out / "sft" / "calibration.json").read_text())  # on BFCL's dev slice, by default
    assert 0 < calibration["threshold"] < 1 and calibration["source"] == "BFCL's dev slice"
    assert "--call-threshold" in (out / "logs" / "llm-tuned.log").read_text()  # the tuned server decides by it
    assert (out / "eval" / "tuned" / "ast" / "ast.per_api.json").exists()
    first_total = time.monotonic() - started

    # 3. a third run does nothing but report, with the same figures
    started = time.monotonic()
    third = demo(out)
    output = finish(third, 300)
    assert third.returncode == 0, output
    assert json.loads((out / "headline.json").read_text())["headline"] == headline["headline"]
    assert time.monotonic() - started < min(60, first_total)
    assert output.count("done earlier") == len(STAGES)
