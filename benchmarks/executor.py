"""Calls per second through the executor against the sandbox hub, with the cache off, cold and warm, next to
raw httpx making the same requests in the same run; prints the ratios.

The hub runs in its own process (so client and server do not share a GIL); each figure is the best of
``--repeat`` runs.

    .venv/bin/python benchmarks/executor.py [--calls 300] [--concurrency 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from toolbench.cache import ResponseCache
from toolbench.executor import Executor, ExecutorConfig
from toolbench.hub.catalog import hub_tools
from toolbench.hub.settings import PUBLIC_URL
from toolbench.hub.world import CITIES

KEY = "bench-key"


def workload(n: int) -> list[tuple[str, str, dict, str, dict]]:
    """(tool, api, args, path, query) for n distinct GET calls over three tools (distinct, so a cold cache
    really misses every time)."""
    calls = []
    cities = [c.name for c in CITIES]
    k = len(cities)
    for i in range(n):
        j = i // 3
        if i % 3 == 0:
            a, b = cities[j % k], cities[(j // k + j + 1) % k]
            calls.append(("GeoPlaces", "get_distance", {"from_city": a, "to_city": b}, "/geo/distance",
                          {"from_city": a, "to_city": b}))
        elif i % 3 == 1:
            c, days = cities[j % k], (j // k) % 7 + 1
            calls.append(("SkyCast Weather", "get_weather_forecast", {"city": c, "days": days}, "/weather/forecast",
                          {"city": c, "days": days}))
        else:
            calls.append(("FXRates", "convert_currency", {"from": "USD", "to": "EUR", "amount": i + 1},
                          "/fx/convert", {"from": "USD", "to": "EUR", "amount": i + 1}))
    assert n > 3 * k * 7 or len({(t, a, str(sorted(g.items()))) for t, a, g, _, _ in calls}) == n
    return calls


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@contextlib.contextmanager
def hub_process():
    """``toolbench hub serve`` in a child process on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = f"from toolbench.hub import serve; serve('127.0.0.1', {port}, log_level='warning')"
    proc = subprocess.Popen([sys.executable, "-c", code])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the hub did not start")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    opts = ap.parse_args()
    calls = workload(opts.calls)
    tools = hub_tools()
    rep = opts.repeat
    conc = opts.concurrency
    with hub_process() as hub_url, tempfile.TemporaryDirectory() as tmp:
        cfg = {"credentials": {"*": KEY}, "base_url_overrides": {PUBLIC_URL: hub_url},
               "max_concurrency_per_host": conc}
        client = httpx.Client(base_url=hub_url, headers={"X-RapidAPI-Key": KEY})
        plain = Executor(tools, ExecutorConfig(cache_mode="off", **cfg))
        warm = Executor(tools, ExecutorConfig(**cfg), cache=ResponseCache(Path(tmp) / "warm.sqlite"))
        fresh = iter(range(10**6))

        def raw():
            for _, _, _, path, query in calls:
                assert client.get(path, params=query).status_code == 200

        def through(ex: Executor):
            for tool, api, args, _, _ in calls:
                assert ex.call(tool, api, args).ok

        def cold():
            cache = ResponseCache(Path(tmp) / f"cold{next(fresh)}.sqlite")
            through(Executor(tools, ExecutorConfig(**cfg), cache=cache))

        async def raw_async():
            async with httpx.AsyncClient(base_url=hub_url, headers={"X-RapidAPI-Key": KEY}) as aclient:
                sem = asyncio.Semaphore(conc)

                async def one(path, query):
                    async with sem:
                        assert (await aclient.get(path, params=query)).status_code == 200
                await asyncio.gather(*[one(p, q) for _, _, _, p, q in calls])

        async def ex_async():
            ex = Executor(tools, ExecutorConfig(cache_mode="off", **cfg))
            assert all(o.ok for o in await asyncio.gather(*[ex.acall(t, a, g) for t, a, g, _, _ in calls]))
            await ex.aclose()

        through(warm)  # fill the warm cache
        raw()  # warm up connections
        variants = {
            "raw httpx, sync": raw,
            "executor, sync, cache off": lambda: through(plain),
            "executor, sync, cache cold (miss + write)": cold,
            "executor, sync, cache warm (hits)": lambda: through(warm),
            f"raw httpx, async x{conc}": lambda: asyncio.run(raw_async()),
            f"executor, async x{conc}, cache off": lambda: asyncio.run(ex_async()),
        }
        results = {name: float("inf") for name in variants}
        for _ in range(rep):  # interleaved rounds, so load changes on the machine hit every variant alike
            for name, fn in variants.items():
                results[name] = min(results[name], timed(fn))
        client.close()

    n = len(calls)
    print(f"{n} calls against the sandbox hub (own process, loopback); best of {rep} runs")
    print(f"{'path':45s} {'calls/s':>9s} {'vs raw':>8s}")
    for name, seconds in results.items():
        base = results[f"raw httpx, async x{conc}"] if "async" in name else results["raw httpx, sync"]
        print(f"{name:45s} {n / seconds:9.0f} {base / seconds:7.2f}x")


if __name__ == "__main__":
    main()
