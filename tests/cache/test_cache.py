"""The response cache: canonical keys, modes, concurrency (threads and processes), kill -9 safety."""

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from toolbench.cache import CacheError, CacheMode, ResponseCache, cache_key, canonical_json
from toolbench.records import Observation


def test_key_is_canonical():
    a = cache_key("T", "a", {"x": 1, "y": {"b": 2, "a": [1, "é"]}})
    assert a == cache_key("T", "a", {"y": {"a": [1, "é"], "b": 2}, "x": 1})
    assert a != cache_key("T", "a", {"x": "1", "y": {"b": 2, "a": [1, "é"]}})
    assert a != cache_key("T", "b", {"x": 1, "y": {"b": 2, "a": [1, "é"]}})
    assert len(a) == 64 and canonical_json({"b": 1, "a": 2}) == '{"a":2,"b":1}'


def test_round_trip_and_entries(tmp_path):
    cache = ResponseCache(tmp_path / "sub" / "c.sqlite")
    assert cache.get("T", "a", {"q": 1}) is None
    cache.put("T", "a", {"q": 1}, Observation(error="", response='{"r": 1}', status=200, latency=0.25))
    hit = cache.get("T", "a", {"q": 1})
    assert hit == Observation(error="", response='{"r": 1}', status=200, latency=0.25, cached=True)
    cache.put("T", "a", {"q": 1}, Observation(response='{"r": 2}', status=200))  # newest answer wins
    assert cache.get("T", "a", {"q": 1}).response == '{"r": 2}' and len(cache) == 1
    assert [e["args"] for e in cache.entries("T", "a")] == [{"q": 1}]
    assert list(cache.entries("Other")) == []


def test_modes_parse():
    assert CacheMode.parse("replay") is CacheMode.REPLAY
    with pytest.raises(CacheError, match="read-write, replay, off"):
        CacheMode.parse("sometimes")


def test_unusable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="bad.sqlite"):
        ResponseCache(bad)


def test_threads(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")

    def work(t):
        for i in range(40):
            cache.put("T", "a", {"t": t, "i": i}, Observation(response=f"{t}-{i}", status=200))
            assert cache.get("T", "a", {"t": t, "i": i}).response == f"{t}-{i}"

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(cache) == 320


def _writer(path, worker, n):
    cache = ResponseCache(path)
    for i in range(n):
        cache.put("T", "a", {"w": worker, "i": i}, Observation(response=f"{worker}-{i}", status=200))


def test_processes(tmp_path):
    path = str(tmp_path / "c.sqlite")
    ResponseCache(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 40)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = ResponseCache(path)
    assert len(cache) == 120
    assert cache.get("T", "a", {"w": 2, "i": 39}).response == "2-39"


KILLED_WRITER = textwrap.dedent("""
    import sys
    from toolbench.cache import ResponseCache
    from toolbench.records import Observation
    cache = ResponseCache(sys.argv[1])
    big = "x" * 200_000
    i = 0
    while True:
        cache.put("T", "a", {"i": i}, Observation(response=f"{i}:{big}", status=200))
        i += 1
""")


def test_kill_minus_nine_mid_write_leaves_a_readable_cache(tmp_path):
    path = tmp_path / "c.sqlite"
    ResponseCache(path).put("T", "a", {"i": -1}, Observation(response="before", status=200))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if len(ResponseCache(path)) > 20:
                break
        time.sleep(0.137)  # land somewhere inside a write
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    cache = ResponseCache(path)
    n = len(cache)
    assert n > 20 and cache.get("T", "a", {"i": -1}).response == "before"
    for entry in cache.entries("T", "a"):
        i = entry["args"]["i"]
        if i >= 0:
            assert entry["response"] == f"{i}:" + "x" * 200_000  # whole entries only
    cache.put("T", "a", {"i": "after"}, Observation(response="ok", status=200))  # still writable
    assert len(cache) == n + 1
