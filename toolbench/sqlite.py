"""One way to open the project's SQLite files: WAL, ``synchronous=NORMAL``, a busy timeout, safe when several
processes open the same new file at once.

Switching a file to WAL needs an exclusive lock, and SQLite answers ``database is locked`` at once, without
waiting out the busy timeout, when another connection is switching it at the same moment (two campaign workers
creating ``llm_cache.sqlite``, say). :func:`connect` retries that step until ``timeout``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any


def connect(path: str | Path, timeout: float = 30.0, **options: Any) -> sqlite3.Connection:
    """``sqlite3.connect(path, timeout=timeout, **options)`` in WAL mode with ``synchronous=NORMAL`` (durable when
    the process is killed). Raises ``sqlite3.OperationalError`` if the file stays locked for ``timeout`` seconds."""
    conn = sqlite3.connect(str(path), timeout=timeout, **options)
    deadline = time.monotonic() + timeout
    delay = 0.005
    try:
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    except BaseException:
        conn.close()
        raise
    return conn
