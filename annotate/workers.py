"""One campaign as several worker processes on one machine (``toolbench annotate --workers N``).

Each worker is a process forked from the command's, running :func:`annotate.campaign.run_campaign` on its share
of the queries (those whose id hashes, with a salt of its own, to ``j`` modulo ``N``; inside a ``--shard``, its
share of the shard) with ``--concurrency`` searches at once, into the **same run folder**: the store
(``campaign.sqlite``: query rows, API-call journal), LangGraph's checkpoints, the reply cache and
``events.jsonl`` are shared, SQLite in WAL mode serialising the writes of the processes; answer files are one per
query. So the result is already merged: ``RUN/summary.json`` adds up the workers' summaries
(``RUN/workers/<j>.json``).

Crash safety is the single process's, per worker: a worker killed (even by ``kill -9``) loses nothing that it had
written, its queries in flight stay resumable, and the other workers carry on to the end. The command then fails
(naming the dead workers) and the same command resumes the campaign, with any number of workers: a query's
checkpoint, journal entries and cached replies do not depend on which worker wrote them. The command itself
killed (``kill -9`` of its pid) takes its workers with it (each dies with its parent), so that a rerun never
meets a worker of the killed run still writing.

Campaign budgets: ``budget_api_calls`` counts the shared journal, so it holds for the whole campaign;
``budget_tokens`` and ``budget_usd`` are split evenly between the workers (each tracks its own spend);
``budget_seconds`` is each worker's wall time.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from annotate.config import CampaignConfig, CampaignError
from annotate.store import CampaignStore
from toolbench.catalog.functions import FunctionSet
from toolbench.formats.atomic import write_json_atomic
from toolbench.toolstep import ToolRunner

# Summary fields that add up over the workers (the others are taken as noted in combine()).
SUMMED = ("queries", "skipped_done", "solved", "gave_up", "unsolved", "failed", "stopped", "api_calls",
          "replayed_api_calls", "journaled_api_calls", "tokens")


def worker_config(cfg: CampaignConfig) -> CampaignConfig:
    """The config each of ``cfg.workers`` workers runs: one process each, the campaign's token and dollar
    budgets split evenly."""
    n = cfg.workers
    return replace(cfg, workers=1,
                   budget_tokens=None if cfg.budget_tokens is None else max(1, math.ceil(cfg.budget_tokens / n)),
                   budget_usd=None if cfg.budget_usd is None else cfg.budget_usd / n)


def _die_with(parent: int) -> None:
    """End this worker (SIGKILL, as if killed with its command) as soon as the command's process ``parent`` is
    gone: a worker left running after a ``kill -9`` of the command would keep writing into the run folder while
    the command is run again to resume it. Linux: the kernel's parent-death signal; elsewhere a thread that
    watches the parent's pid."""
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
                if os.getppid() != parent:  # the parent died before the signal was armed
                    os.kill(os.getpid(), signal.SIGKILL)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="annotate-worker-parent-watch", daemon=True).start()


def _worker_main(cfg: CampaignConfig, model: Any, runner_factory: Any, worker: tuple[int, int],
                 parent: int) -> None:
    from annotate.campaign import run_campaign

    _die_with(parent)
    asyncio.run(run_campaign(cfg, model, runner_factory, progress=False, worker=worker))


def _sum_llm(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = (out.get(key) or 0) + value
            elif value is None and key not in out:
                out[key] = None
    return out


def combine(parts: list[dict[str, Any]], done: int, seconds: float, workers: int,
            dead: list[int]) -> dict[str, Any]:
    """The campaign's summary from its workers' summaries: counts added up, the cost known only when every
    worker's is, the first stop reason, ``done`` from the shared store."""
    summary: dict[str, Any] = {key: sum(p.get(key) or 0 for p in parts) for key in SUMMED}
    costs = [p.get("cost_usd") for p in parts]
    summary["cost_usd"] = sum(costs) if parts and None not in costs else None
    summary["llm"] = _sum_llm([p.get("llm") or {} for p in parts])
    summary["seconds"] = round(seconds, 3)
    summary["stopped_because"] = next((p["stopped_because"] for p in parts if p.get("stopped_because")), None)
    summary["done"] = done
    summary["workers"] = workers
    summary["dead_workers"] = dead
    return summary


def run_workers(cfg: CampaignConfig, model: Any = None,
                runner_factory: Callable[[FunctionSet], ToolRunner] | None = None,
                progress: bool | None = None) -> dict[str, Any]:
    """Run (or resume) ``cfg`` as ``cfg.workers`` processes; returns the merged summary (also in
    ``RUN/summary.json``). ``model`` and ``runner_factory`` are inherited by the forked workers (build them
    before: a client's connections must not be open yet). Raises :class:`CampaignError` when a worker died, after
    the others have finished and the summary is written."""
    from annotate.campaign import _Progress, load_campaign_queries, open_store

    n = cfg.workers
    out = Path(cfg.out)
    store = open_store(cfg)  # checks the run folder's search settings once, before any worker starts
    total = len(load_campaign_queries(cfg))
    ids = {q.id for q in load_campaign_queries(cfg)}
    done_before = len(store.done() & ids)
    store.close()  # no SQLite connection may cross a fork
    (out / "workers").mkdir(exist_ok=True)
    shares = worker_config(cfg)
    context = multiprocessing.get_context("fork")  # the workers inherit model and runner_factory as they are
    processes = []
    started = time.monotonic()
    for j in range(n):
        (out / "workers" / f"{j}.json").unlink(missing_ok=True)
        process = context.Process(target=_worker_main, args=(shares, model, runner_factory, (j, n), os.getpid()),
                                  name=f"annotate-worker-{j}")
        process.start()
        processes.append(process)
    store = CampaignStore(out / "campaign.sqlite")
    try:
        with _Progress(progress, total, done_before) as bar:
            while alive := [p.sentinel for p in processes if p.is_alive()]:
                wait(alive, timeout=0.5)
                if bar.enabled:
                    bar.show(len(store.done() & ids), f"{n} workers")
        for process in processes:
            process.join()
        dead = [j for j, p in enumerate(processes) if p.exitcode != 0]
        parts = [json.loads(path.read_text()) for j in range(n)
                 if (path := out / "workers" / f"{j}.json").exists() and j not in dead]
        summary = combine(parts, len(store.done() & ids), time.monotonic() - started, n, dead)
    finally:
        store.close()
    write_json_atomic(out / "summary.json", summary)
    if dead:
        codes = ", ".join(f"worker {j} (exit {processes[j].exitcode})" for j in dead)
        raise CampaignError(f"workers: {codes} did not finish; the other workers' queries are done and theirs are "
                            f"left resumable in {out}: rerun the same command to carry on")
    return summary
