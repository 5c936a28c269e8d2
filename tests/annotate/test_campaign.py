"""Campaigns: concurrency, resume after a crash (a killed subprocess), budgets, shards."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotate.campaign import CampaignConfig, CampaignError, main, merge
from annotate.strategies import SearchConfig
from tests.annotate import doubles

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path, name, queries, log=None, **options):
    runner = doubles.LoggingRunner(str(log) if log else None)
    cfg = CampaignConfig(queries=str(queries), out=str(tmp_path / name), concurrency=options.pop("concurrency", 4),
                         **options)
    summary = main(cfg, doubles.model(), lambda functions: runner, progress=False)
    return summary, runner


def _answers(run: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((run / "answers").glob("*.json"))}


def _logged(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_a_campaign_annotates_every_query_and_a_rerun_does_nothing(tmp_path):
    queries = doubles.write_queries(tmp_path / "q.json", 6)
    summary, _ = _run(tmp_path, "run", queries)
    assert {k: summary[k] for k in ("queries", "solved", "gave_up", "failed", "done", "api_calls")} == \
        {"queries": 6, "solved": 6, "gave_up": 0, "failed": 0, "done": 6, "api_calls": 3 * 1 + 3 * 3}
    answers = _answers(tmp_path / "run")
    assert sorted(answers) == [f"{i}_DFS_woFilter_w2.json" for i in range(6)]
    odd = answers["1_DFS_woFilter_w2.json"]["answer_generation"]
    assert (odd["finish_type"], odd["query_count"], len(odd["train_messages"])) == ("give_answer", 5, 3)
    assert odd["train_messages"][-1][4]["valid"] is False  # the diversity prompt of the retry
    events = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert sum(e["event"] == "query_done" for e in events) == 6 and events[-1]["event"] == "campaign_end"
    again, runner2 = _run(tmp_path, "run", queries)
    assert (again["skipped_done"], again["api_calls"], runner2.calls) == (6, 0, [])
    with pytest.raises(CampaignError, match="other search settings"):
        _run(tmp_path, "run", queries, search=SearchConfig(width=3))


def test_a_campaign_budget_stops_and_a_rerun_carries_on_without_repeating_calls(tmp_path):
    queries = doubles.write_queries(tmp_path / "q.json", 6)
    log = tmp_path / "api.log"
    first, _ = _run(tmp_path, "run", queries, log=log, budget_api_calls=4, concurrency=2)
    assert first["stopped_because"] == "the campaign's API-call budget (4) is spent"
    assert first["done"] < 6 and first["stopped"] > 0
    second, _ = _run(tmp_path, "run", queries, log=log)
    assert second["done"] == 6
    calls = _logged(log)
    assert len(calls) == len(set(calls)) == 12  # every call made exactly once over both runs
    _run(tmp_path, "clean", queries)
    assert _answers(tmp_path / "run") == _answers(tmp_path / "clean")


def test_a_run_folder_from_before_a_search_field_existed_resumes(tmp_path):
    queries = doubles.write_queries(tmp_path / "q.json", 2)
    _run(tmp_path, "run", queries)
    db = sqlite3.connect(str(tmp_path / "run" / "campaign.sqlite"))
    stored = json.loads(db.execute("SELECT value FROM settings WHERE key = 'search'").fetchone()[0])
    del stored["step_unit"]  # as written before step_unit was added: it took the default
    db.execute("UPDATE settings SET value = ? WHERE key = 'search'", (json.dumps(stored),))
    db.commit()
    db.close()
    again, _ = _run(tmp_path, "run", queries)
    assert again["skipped_done"] == 2
    with pytest.raises(CampaignError, match="other search settings"):
        _run(tmp_path, "run", queries, search=SearchConfig(step_unit="toolbench"))


def test_per_query_budgets_end_searches_as_done(tmp_path):
    queries = doubles.write_queries(tmp_path / "q.json", 2)
    summary, _ = _run(tmp_path, "run", queries, search=SearchConfig(max_llm_calls=1))
    assert summary["done"] == 2 and summary["solved"] == 0
    generation = _answers(tmp_path / "run")["0_DFS_woFilter_w2.json"]["answer_generation"]
    assert (generation["valid_data"], generation["query_count"]) == (False, 1)


def test_shards_merge_into_the_whole_campaign(tmp_path):
    queries = doubles.write_queries(tmp_path / "q.json", 8)
    parts = [_run(tmp_path, f"shard{i}", queries, shard=f"{i}/2")[0] for i in range(2)]
    assert sum(p["queries"] for p in parts) == 8 and all(p["queries"] > 0 for p in parts)
    summary = merge([tmp_path / "shard0", tmp_path / "shard1"], tmp_path / "merged")
    assert (summary["done"], summary["conflicts"]) == (8, [])
    _run(tmp_path, "whole", queries)
    assert _answers(tmp_path / "merged") == _answers(tmp_path / "whole")
    with pytest.raises(CampaignError, match="shard: i must be in 0..n-1"):
        CampaignConfig(queries="q", out="o", shard="2/2")


def _journal(run: Path) -> set[str]:
    db = sqlite3.connect(str(run / "campaign.sqlite"))
    try:
        rows = db.execute("SELECT function, arguments FROM api_calls").fetchall()
    finally:
        db.close()
    return {f"{name} {json.dumps(json.loads(args), sort_keys=True)}" for name, args in rows}


def test_kill_minus_nine_then_resume_loses_and_repeats_nothing(tmp_path):
    """SIGKILL at a known moment: the campaign process freezes itself (doubles.FREEZE_ENV) once 8 calls are
    journaled, right after making a 9th call and before journaling it; the test then kills it. No timing is
    involved, so the outcome is the same on a loaded machine."""
    queries = doubles.write_queries(tmp_path / "q.json", 12)
    run, log = tmp_path / "run", tmp_path / "api.log"
    env = dict(os.environ, TOOLBENCH_ANNOTATE_TEST_DOUBLES="tests.annotate.doubles:build",
               **{doubles.API_LOG_ENV: str(log), doubles.DELAY_ENV: "0.01"},
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "toolbench", "annotate", "--queries", str(queries), "--out", str(run),
               "--strategy", "dfsdt", "--width", "2", "--max-steps", "12", "--concurrency", "4", "--no-progress"]
    process = subprocess.Popen(command, env={**env, doubles.FREEZE_ENV: "8"}, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (run / doubles.FROZEN_MARK).exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, stderr = process.communicate()
            pytest.fail(f"the campaign never reached its freeze point: {stderr.decode()[-2000:]}")
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    journaled = _journal(run)
    made_before = _logged(log)
    in_flight = set(made_before) - journaled
    assert (len(journaled), len(made_before), len(in_flight)) == (8, 9, 1)  # the call made but not journaled
    log.write_text("")
    resumed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                             check=False)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    made_after = _logged(log)
    assert summary["done"] == 12
    # No API call journaled before the kill is made again; the one in flight at the kill is made once more.
    assert not journaled & set(made_after)
    assert in_flight <= set(made_after) and len(made_after) == len(set(made_after))
    assert set(made_before) | set(made_after) == _journal(run) and len(_journal(run)) == 6 * 1 + 6 * 3
    _run(tmp_path, "clean", queries)
    assert _answers(run) == _answers(tmp_path / "clean")
