"""Campaigns as several worker processes sharing one run folder: one merged result, and kill -9 of a worker."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotate.campaign import CampaignConfig, main
from annotate.workers import worker_config
from tests.annotate import doubles

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path, name, queries, log, **options):
    cfg = CampaignConfig(queries=str(queries), out=str(tmp_path / name), concurrency=options.pop("concurrency", 2),
                         **options)
    return main(cfg, doubles.model(), lambda functions: doubles.LoggingRunner(str(log)), progress=False)


def _answers(run: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((run / "answers").glob("*.json"))}


def _journal(run: Path) -> set[str]:
    db = sqlite3.connect(str(run / "campaign.sqlite"))
    try:
        rows = db.execute("SELECT function, arguments FROM api_calls").fetchall()
    finally:
        db.close()
    return {f"{name} {json.dumps(json.loads(args), sort_keys=True)}" for name, args in rows}


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_workers_share_the_run_folder_and_give_the_single_process_result(tmp_path):
    queries = doubles.write_queries(tmp_path / "q.json", 10)
    log = tmp_path / "api.log"
    summary = _run(tmp_path, "run", queries, log, workers=3)
    assert {k: summary[k] for k in ("queries", "solved", "failed", "done", "api_calls", "workers", "dead_workers")} \
        == {"queries": 10, "solved": 10, "failed": 0, "done": 10, "api_calls": 5 * 1 + 5 * 3, "workers": 3,
            "dead_workers": []}
    calls = _lines(log)
    assert len(calls) == len(set(calls)) == 20  # every call made once, by one of the workers
    events = [json.loads(line) for line in _lines(tmp_path / "run" / "events.jsonl")]  # no torn lines
    starts = [e for e in events if e["event"] == "campaign_start"]
    assert sorted(e["worker"] for e in starts) == [0, 1, 2] and sum(e["queries"] for e in starts) == 10
    assert sum(e["event"] == "query_done" for e in events) == 10
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["done"] == 10
    _run(tmp_path, "clean", queries, tmp_path / "clean.log")
    assert _answers(tmp_path / "run") == _answers(tmp_path / "clean")
    again = _run(tmp_path, "run", queries, log, workers=2)  # another number of workers resumes the same folder
    assert (again["skipped_done"], again["api_calls"], len(_lines(log))) == (10, 0, 20)


def test_workers_split_the_token_and_dollar_budgets_and_keep_the_shared_ones():
    cfg = CampaignConfig(queries="q", out="o", workers=4, budget_tokens=10, budget_usd=2.0, budget_api_calls=7,
                         prices="p.json")
    share = worker_config(cfg)
    assert (share.workers, share.budget_tokens, share.budget_usd, share.budget_api_calls) == (1, 3, 0.5, 7)


def test_kill_minus_nine_of_a_worker_then_resume_loses_and_repeats_nothing(tmp_path):
    """Two workers; the first to make a call once 8 are journaled freezes right after making it (before journaling
    it) and is killed by its pid; the other worker finishes its share and the command fails naming the dead one.
    The same command then resumes: no journaled call is made again, the one in flight is made once more."""
    queries, run, log, env, command, process = _start_frozen(tmp_path, 12, freeze_at=8)
    worker = int((run / doubles.FROZEN_MARK).read_text())
    assert worker != process.pid
    os.kill(worker, signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0 and "exit -9" in stderr.decode(), stderr.decode()[-2000:]
    journaled, made_before = _journal(run), _lines(log)
    in_flight = set(made_before) - journaled
    assert len(in_flight) == 1 and len(made_before) == len(set(made_before)) == len(journaled) + 1
    assert json.loads((run / "summary.json").read_text())["dead_workers"] in ([0], [1]), stderr.decode()[-3000:]
    log.write_text("")
    resumed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    made_after = _lines(log)
    assert summary["done"] == 12 and summary["dead_workers"] == []
    assert not journaled & set(made_after)
    assert in_flight <= set(made_after) and len(made_after) == len(set(made_after))
    assert set(made_before) | set(made_after) == _journal(run) and len(_journal(run)) == 6 * 1 + 6 * 3
    _run(tmp_path, "clean", queries, tmp_path / "clean.log")
    assert _answers(run) == _answers(tmp_path / "clean")


def _start_frozen(tmp_path: Path, n: int, *, freeze_at: int):
    """A ``--workers 2`` DFSDT campaign over ``n`` queries whose first worker to make a call once ``freeze_at``
    are journaled freezes right after making it; returns once that worker has frozen (its pid in the run's mark):
    (queries, run folder, API log, env, command, the running process)."""
    queries = doubles.write_queries(tmp_path / "q.json", n)
    run, log = tmp_path / "run", tmp_path / "api.log"
    env = dict(os.environ, TOOLBENCH_ANNOTATE_TEST_DOUBLES="tests.annotate.doubles:build",
               **{doubles.API_LOG_ENV: str(log), doubles.DELAY_ENV: "0.01"},
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "toolbench", "annotate", "--queries", str(queries), "--out", str(run),
               "--strategy", "dfsdt", "--width", "2", "--max-steps", "12", "--concurrency", "2", "--workers", "2",
               "--no-progress"]
    process = subprocess.Popen(command, env={**env, doubles.FREEZE_ENV: str(freeze_at)}, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    mark = run / doubles.FROZEN_MARK
    deadline = time.monotonic() + 120
    while not (mark.exists() and mark.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, stderr = process.communicate()
            pytest.fail(f"no worker reached the freeze point: {stderr.decode()[-2000:]}")
        time.sleep(0.02)
    return queries, run, log, env, command, process


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, only not reaped yet


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the worker pids from /proc (Linux)")
def test_kill_minus_nine_of_the_command_takes_its_workers_and_the_rerun_does_every_query_once(tmp_path):
    """``kill -9`` of a ``--workers 2`` command mid-run (one worker frozen right after a call it has not journaled,
    the other running): both workers die with it, and the rerun leaves every query answered exactly once, no
    journaled call made again and the answers of a clean run."""
    queries, run, log, env, command, process = _start_frozen(tmp_path, 16, freeze_at=10)
    workers = _children(process.pid)
    assert len(workers) == 2 and int((run / doubles.FROZEN_MARK).read_text()) in workers
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    deadline = time.monotonic() + 30
    try:
        while any(_alive(w) for w in workers):
            assert time.monotonic() < deadline, "a worker outlived the killed command"
            time.sleep(0.05)
    finally:
        for worker in filter(_alive, workers):  # left by a failure: not to keep running (or frozen) after it
            os.kill(worker, signal.SIGKILL)
    journaled, made_before = _journal(run), _lines(log)
    in_flight = set(made_before) - journaled
    assert 1 <= len(in_flight) <= 2 and len(made_before) == len(set(made_before))
    log.write_text("")
    resumed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    made_after = _lines(log)
    assert summary["done"] == 16 and summary["dead_workers"] == []
    assert not journaled & set(made_after) and len(made_after) == len(set(made_after))
    assert set(made_before) | set(made_after) == _journal(run) and len(_journal(run)) == 8 * 1 + 8 * 3
    db = sqlite3.connect(str(run / "campaign.sqlite"))
    try:
        ids = [row[0] for row in db.execute("SELECT query_id FROM queries WHERE status = 'solved'")]
    finally:
        db.close()
    assert sorted(ids, key=int) == [str(i) for i in range(16)]
    _run(tmp_path, "clean", queries, tmp_path / "clean.log")
    assert _answers(run) == _answers(tmp_path / "clean") and len(_answers(run)) == 16
