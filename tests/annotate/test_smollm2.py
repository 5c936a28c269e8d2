"""End to end: `toolbench annotate` with the local SmolLM2-135M server (`toolbench llm serve --model default`) and
the sandbox hub (`--hub-url`), on two of the committed sandbox queries, through the real OpenAI client and
executor.

The untuned 135M model rarely calls a function by itself, so the run sends ``tool_choice=required`` (every reply
is a call) and decodes greedily. On these two queries (distance London-Paris, quote of CNTS) it was seen to make
valid calls (it never calls Finish, so the searches end at their model-call budget). What is checked is the
plumbing: the campaign completes, every query is exported as a ToolBench answer file that reads back, the hub
saw exactly the journaled calls, and a rerun repeats nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotate.export import read_answer

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "tests" / "fixtures" / "annotate" / "sandbox_G1_query.json"
pytestmark = pytest.mark.slow  # loads the model, then ~10-20 s per reply on 2 CPU cores


@pytest.fixture(scope="module")
def llm_url():
    proc = subprocess.Popen([sys.executable, "-m", "toolbench", "llm", "serve", "--model", "default", "--port", "0",
                             "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 300
    url, seen = None, []
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("serving ") and " at " in line:
                url = line.rsplit(" at ", 1)[1].strip()
                break
        if url is None:
            pytest.fail("the SmolLM2 server did not start:\n" + "".join(seen[-30:]))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_annotate_with_smollm2_against_the_hub_completes_exports_and_resumes(tmp_path, llm_url):
    from toolbench.hub import HubSettings, HubThread

    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps([q for q in json.loads(QUERIES.read_text()) if q["query_id"] in (3, 4)]))
    run = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "TOOLBENCH_API_KEY"}
    with HubThread(HubSettings(seed=0)) as hub:
        command = [sys.executable, "-m", "toolbench", "annotate", "--queries", str(queries), "--catalog",
                   str(ROOT / "data" / "tools"), "--hub-url", hub.url, "--base-url", llm_url, "--temperature", "0",
                   "--strategy", "dfsdt", "--width", "2", "--max-steps", "2", "--max-llm-calls", "2",
                   "--max-reply-tokens", "96", "--tool-choice", "required", "--concurrency", "2", "--out", str(run),
                   "--no-progress"]
        first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                               check=False)
        assert first.returncode == 0, first.stderr[-3000:]
        summary = json.loads((run / "summary.json").read_text())
        requests = hub.hub.stats["requests"]
        again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert again.returncode == 0, again.stderr[-3000:]
        assert hub.hub.stats["requests"] == requests  # the rerun called nothing
    assert (summary["queries"], summary["done"], summary["failed"]) == (2, 2, 0)
    assert summary["solved"] + summary["gave_up"] + summary["unsolved"] == 2
    assert requests == summary["journaled_api_calls"] == summary["api_calls"]
    assert requests >= 1, "no valid call reached the hub (seen: get_distance and get_quote with valid arguments)"
    assert summary["llm"]["requests"] >= 2 and summary["tokens"] > 0
    rerun = json.loads(again.stdout.strip().splitlines()[-1])
    assert (rerun["skipped_done"], rerun["api_calls"], rerun["tokens"]) == (2, 0, 0)
    answers = sorted((run / "answers").glob("*.json"))
    assert [p.name for p in answers] == ["3_DFS_woFilter_w2.json", "4_DFS_woFilter_w2.json"]
    for path in answers:
        annotation = read_answer(path)
        assert annotation.tree.llm_calls >= 1 and annotation.query
