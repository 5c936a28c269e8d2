"""Throughput of an annotation campaign against its bound C/L, with a stub model that takes L ms per completion.

The stub is an OpenAI-compatible FastAPI app in its own process on loopback: every ``/v1/chat/completions``
sleeps L ms, then calls the first offered function until the request holds ``--calls`` results, then
``Finish(give_answer)``. So each query is ``--calls + 1`` steps (completions) of one chain.

The campaign runs the real code path, ``annotate.campaign.run_campaign``: the OpenAI client of ``toolbench.llm``
against the stub, LangGraph with its SQLite checkpointer, the reply cache, the API-call journal, the event log.
API calls go to one of two runners (``--runner``):

- ``hub``: the real executor (httpx) against the sandbox hub, ``toolbench hub serve`` in its own process, through
  the campaign's ``hub_url`` option (``get_current_weather`` of SkyCast Weather, response cache off);
- ``trivial``: an in-process runner that answers at once, to tell the campaign's own cost from the hub's.

With C queries in flight, completions come at most C/L per second. Printed per (L, C) point: steps/s, the bound
C/L, their ratio, the per-step overhead ``C * wall / steps - L`` (what a step costs on top of the model's
latency, API call included), and the campaign process's CPU time per step (``time.process_time``), which caps
the rate at 1/CPU once C/L exceeds it.

    .venv/bin/python benchmarks/annotate.py                                  # both runners, default points
    .venv/bin/python benchmarks/annotate.py --points 100:1,100:8 --runner trivial --rounds 3
    .venv/bin/python benchmarks/annotate.py --points 1000:64 --workers 1,2          # one process vs two workers

With ``--workers N`` the campaign runs as N forked worker processes (``toolbench annotate --workers N``), C split
between them, and CPU/step adds the workers' CPU time to the parent's.

Before/after on a loaded machine: ``--baseline DIR`` (a checkout of another commit, e.g. ``git worktree add
/tmp/base HEAD~3`` or ``git archive``) runs every point with that tree's code and this one's, each in a fresh
child process against the same stub and hub servers, alternately ``--repeat`` times, and prints the ratios of
the medians (CPU/step, steps/s): load swings hit both alike.

    .venv/bin/python benchmarks/annotate.py --points 1000:64 --baseline /tmp/base --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, Request  # (at module level: FastAPI resolves the handlers' annotations here)

WEATHER = ("SkyCast Weather", "get_current_weather")
ARGUMENTS = {"city": "Paris"}


# -- the stub model server ------------------------------------------------------------------------------

def stub_app(latency: float, calls: int):
    """A FastAPI app answering chat completions after ``latency`` seconds with scripted tool calls."""
    app = FastAPI()
    counter = iter(range(10**12))

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": "stub", "object": "model", "created": 0, "owned_by": "bench"}]}

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> dict:
        body = await request.json()
        await asyncio.sleep(latency)
        n = next(counter)
        done = sum(1 for m in body["messages"] if m.get("role") == "tool")
        offered = [t["function"]["name"] for t in body.get("tools", []) if t["function"]["name"] != "Finish"]
        if done < calls and offered:
            name, arguments = offered[0], ARGUMENTS
        else:
            name, arguments = "Finish", {"return_type": "give_answer", "final_answer": f"done after {done} calls"}
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}
        return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "stub"),
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}

    return app


def serve_stub(port: int, latency: float, calls: int) -> None:
    import uvicorn

    uvicorn.run(stub_app(latency, calls), host="127.0.0.1", port=port, log_level="warning", access_log=False,
                timeout_keep_alive=30)


# -- child processes ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def child(code: str, ready_url: str) -> Iterator[None]:
    """``python -c code`` in a child process until ``ready_url`` answers; stopped by its PID afterwards."""
    import httpx

    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(ready_url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the child process serving {ready_url} did not start") from None
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def stub_server(latency_ms: float, calls: int) -> Iterator[str]:
    port = free_port()
    code = f"from benchmarks.annotate import serve_stub; serve_stub({port}, {latency_ms / 1000!r}, {calls})"
    with child(code, f"http://127.0.0.1:{port}/v1/models"):
        yield f"http://127.0.0.1:{port}/v1"


@contextlib.contextmanager
def hub_server() -> Iterator[str]:
    port = free_port()
    code = f"from toolbench.hub import serve; serve('127.0.0.1', {port}, log_level='warning')"
    with child(code, f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}"


# -- one measured campaign ------------------------------------------------------------------------------

def write_queries(path: Path, count: int) -> Path:
    from toolbench.catalog.store import load_catalog

    catalog = load_catalog(ROOT / "data" / "tools")
    api = next(a for t in catalog.tools for a in t.apis if (t.name, a.name) == WEATHER)
    from toolbench.records import Query

    queries = [Query(id=f"q{i}", text=f"What is the weather in Paris? (request {i})", apis=[api]).to_dict()
               for i in range(count)]
    path.write_text(json.dumps(queries))
    return path


def children_cpu() -> float:
    """CPU seconds of the finished (reaped) child processes: the campaign's workers."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_point(base_url: str, hub_url: str | None, concurrency: int, queries: int, calls: int,
              workdir: Path, workers: int = 1) -> dict:
    from annotate.campaign import CampaignConfig, run, run_campaign
    from annotate.runner import ScriptedRunner

    qfile = write_queries(workdir / "queries.json", queries)
    cfg = CampaignConfig(queries=str(qfile), out=str(workdir / "run"), model="stub", base_url=base_url,
                         concurrency=max(1, concurrency // workers), workers=workers,
                         catalog=str(ROOT / "data" / "tools") if hub_url else None, hub_url=hub_url)
    factory = None if hub_url else (lambda functions: ScriptedRunner())
    cpu = time.process_time() + children_cpu()
    if workers > 1:  # forked workers (the servers are children too, but reaped only at the end)
        summary = run(cfg, runner_factory=factory, progress=False)
    else:
        summary = asyncio.run(run_campaign(cfg, runner_factory=factory, progress=False))
    cpu = time.process_time() + children_cpu() - cpu
    if summary["solved"] != queries or summary["api_calls"] != queries * calls:
        raise RuntimeError(f"the campaign did not solve every query as scripted: {summary}")
    return {"steps": queries * (calls + 1), "seconds": summary["seconds"], "cpu": cpu}


POINT_CHILD = """
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, {tree!r})
from benchmarks.annotate import run_point
with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports, connections, first SQLite files
    run_point({base!r}, {hub!r}, 1, 1, {calls}, Path(tmp))
with tempfile.TemporaryDirectory() as tmp:
    print(json.dumps(run_point({base!r}, {hub!r}, {conc}, {queries}, {calls}, Path(tmp), {workers})))
"""


def run_point_in(tree: Path, base_url: str, hub_url: str | None, concurrency: int, queries: int, calls: int,
                 workers: int) -> dict:
    """:func:`run_point` with the code of the source tree ``tree``, in a child process of its own."""
    code = POINT_CHILD.format(tree=str(tree), base=base_url, hub=hub_url, calls=calls, conc=concurrency,
                              queries=queries, workers=workers)
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(tree)})
    if done.returncode != 0:
        raise RuntimeError(f"the point failed with the code of {tree}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(opts: argparse.Namespace, points: list[tuple[float, int]], runners: tuple[str, ...],
            worker_counts: list[int]) -> None:
    """``--baseline``: every point with the baseline tree's code and this tree's, alternately, in child
    processes; the medians and their ratios."""
    import statistics

    trees = {"baseline": Path(opts.baseline).resolve(), "current": ROOT}
    for name, tree in trees.items():
        if not (tree / "annotate" / "campaign.py").exists():
            raise SystemExit(f"--baseline: {tree} is not a toolbench source tree (no annotate/campaign.py)")
    load_before = os.getloadavg()[0]
    rows = []
    with contextlib.ExitStack() as stack:
        hub_url = stack.enter_context(hub_server()) if "hub" in runners else None
        for latency_ms in sorted({lat for lat, _ in points}):
            base_url = stack.enter_context(stub_server(latency_ms, opts.calls))
            for runner in runners:
                for (lat, conc), workers in ((p, w) for p in points for w in worker_counts):
                    if lat != latency_ms:
                        continue
                    queries = max(conc * opts.rounds, opts.min_queries)
                    got: dict[str, list[dict]] = {"baseline": [], "current": []}
                    for _ in range(opts.repeat):
                        for name, tree in trees.items():
                            got[name].append(run_point_in(tree, base_url, hub_url if runner == "hub" else None,
                                                          conc, queries, opts.calls, workers))
                    bound = conc / (latency_ms / 1000)
                    medians = {}
                    for name, runs in got.items():
                        rate = statistics.median(r["steps"] / r["seconds"] for r in runs)
                        cpu = statistics.median(r["cpu"] / r["steps"] * 1000 for r in runs)
                        medians[name] = (rate, cpu)
                        rows.append((runner, workers, latency_ms, conc, runs[0]["steps"], name, rate, bound,
                                     rate / bound, cpu))
                    print(f"  {runner} x{workers} L={latency_ms:g} ms C={conc}: CPU/step "
                          f"{medians['current'][1] / medians['baseline'][1]:.2f}x of the baseline's, steps/s "
                          f"{medians['current'][0] / medians['baseline'][0]:.2f}x", file=sys.stderr)
    print(f"baseline {trees['baseline']} vs current {ROOT}; medians of {opts.repeat} alternating runs each; "
          f"{opts.calls + 1} steps per query; 1-min load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} CPUs)")
    print("| runner | workers | L ms | C | steps | code | steps/s | bound C/L | ratio | CPU ms/step | CPU vs baseline |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for i, (runner, workers, lat, conc, steps, name, rate, bound, ratio, cpu) in enumerate(rows):
        versus = f"{cpu / rows[i - 1][9]:.2f}x" if name == "current" else ""
        print(f"| {runner} | {workers} | {lat:g} | {conc} | {steps} | {name} | {rate:.1f} | {bound:.1f} | "
              f"{ratio:.2f} | {cpu:.1f} | {versus} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", default="50:1,50:4,50:16,200:16,200:64",
                    help="L_ms:C pairs, comma-separated (latency per completion, queries in flight).")
    ap.add_argument("--runner", choices=("hub", "trivial", "both"), default="both")
    ap.add_argument("--calls", type=int, default=3, help="API calls per query (steps = calls + 1).")
    ap.add_argument("--rounds", type=int, default=4, help="Queries per slot: each point runs C * rounds queries.")
    ap.add_argument("--min-queries", type=int, default=8, help="At least this many queries per point.")
    ap.add_argument("--workers", default="1", help="Worker processes per campaign, comma-separated to compare "
                    "(C is split between them; CPU/step then adds up the workers' CPU).")
    ap.add_argument("--baseline", metavar="DIR", help="A source tree of another commit: run every point with its "
                    "code and this tree's, alternately, in child processes, and print the ratios.")
    ap.add_argument("--repeat", type=int, default=3, help="With --baseline: runs of each code per point (medians).")
    opts = ap.parse_args()
    points = [(float(lat), int(conc)) for lat, conc in (p.split(":") for p in opts.points.split(","))]
    runners = ("trivial", "hub") if opts.runner == "both" else (opts.runner,)
    worker_counts = [int(w) for w in opts.workers.split(",")]
    if opts.baseline:
        compare(opts, points, runners, worker_counts)
        return
    load_before = os.getloadavg()[0]

    rows = []
    with contextlib.ExitStack() as stack:
        hub_url = stack.enter_context(hub_server()) if "hub" in runners else None
        for latency_ms in sorted({lat for lat, _ in points}):
            base_url = stack.enter_context(stub_server(latency_ms, opts.calls))
            with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports, connections, first SQLite files
                run_point(base_url, hub_url if "hub" in runners else None, 1, 1, opts.calls, Path(tmp))
            for runner in runners:
                for (lat, conc), workers in ((p, w) for p in points for w in worker_counts):
                    if lat != latency_ms:
                        continue
                    queries = max(conc * opts.rounds, opts.min_queries)
                    with tempfile.TemporaryDirectory() as tmp:
                        got = run_point(base_url, hub_url if runner == "hub" else None, conc, queries, opts.calls,
                                        Path(tmp), workers)
                    rate = got["steps"] / got["seconds"]
                    bound = conc / (latency_ms / 1000)
                    overhead = (conc * got["seconds"] / got["steps"]) * 1000 - latency_ms
                    rows.append((runner, workers, latency_ms, conc, queries, got["steps"], got["seconds"], rate,
                                 bound, rate / bound, overhead, got["cpu"] / got["steps"] * 1000))
                    print(f"  {runner} x{workers} L={latency_ms:g} ms C={conc}: {rate:.1f} steps/s of {bound:.1f} "
                          f"({rate / bound:.2f})", file=sys.stderr)

    print(f"{opts.calls + 1} steps per query ({opts.calls} API calls, then Finish); stub model and hub in their own "
          f"processes on loopback; 1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} CPUs)")
    print("| runner | workers | L ms | C | queries | steps | wall s | steps/s | bound C/L | ratio | overhead ms/step "
          "| CPU ms/step |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for runner, workers, lat, conc, queries, steps, seconds, rate, bound, ratio, overhead, cpu in rows:
        print(f"| {runner} | {workers} | {lat:g} | {conc} | {queries} | {steps} | {seconds:.2f} | {rate:.1f} "
              f"| {bound:.1f} | {ratio:.2f} | {overhead:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
