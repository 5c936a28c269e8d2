"""Writing files and folders atomically: the one writer behind every "write aside, then rename" of the project.

A reader never sees half a file: the content goes to a temporary name in the target's folder (the same file
system), which is renamed over the target only once it is complete. A failure or an interruption (Ctrl-C
included) removes the temporary file or folder and leaves the target as it was.

- :func:`atomic_file`: a context manager yielding the temporary path to write (by any means, e.g. a tool that
  takes an output path); :func:`write_text_atomic`, :func:`write_json_atomic` and :func:`write_jsonl_atomic`
  write text, one JSON document (indented, UTF-8, a final newline) or JSON lines through it.
- :func:`atomic_dir`: the same for a folder; it replaces an existing target only when the block succeeds.

Temporary names start with a dot: ``.<name>.<random>.tmp`` for a file, ``.<name>.tmp-<random>`` for a folder
(:func:`leftovers` finds those a killed process left behind).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


@functools.cache
def _umask() -> int:
    """The process's umask: a finished file gets ``0o666``, a folder ``0o777``, less it (as if plainly created;
    the temporary ones are created private)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (an empty file); when the block ends without error, the file takes
    ``path``'s name (replacing it); on any error it is removed. The target's folder is created if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json_atomic(path: str | Path, data: Any, *, indent: int | None = 2, ensure_ascii: bool = False,
                      default: Callable[[Any], Any] | None = None) -> Path:
    """Write one JSON document (then a newline) to ``path`` atomically; returns the path. ``indent=None`` writes
    it compact, with the C encoder (several times faster than the indented form's pure-Python one)."""
    path = Path(path)
    text = json.dumps(data, ensure_ascii=ensure_ascii, indent=indent, default=default)  # one write, not a write
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as handle:  # per token as json.dump does
        handle.write(text + "\n")
    return path


def write_jsonl_atomic(path: str | Path, rows: Iterable[Any], *,
                       default: Callable[[Any], Any] | None = None) -> Path:
    """Write JSON lines (one compact row a line, UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=default) + "\n")
    return path


def leftovers(target: str | Path) -> list[Path]:
    """The temporary folders of :func:`atomic_dir` for ``target`` that an interrupted or killed run left."""
    target = Path(target)
    return sorted(target.parent.glob(f".{target.name}.tmp-*"))


@contextlib.contextmanager
def atomic_dir(target: str | Path, *, clear_leftovers: bool = False) -> Iterator[Path]:
    """Yield a new temporary folder beside ``target`` to fill; when the block ends without error it replaces
    ``target`` (an existing one is removed first), on any error it is removed and ``target`` stays as it was.
    ``clear_leftovers`` first removes the folders that an earlier, killed run left (only safe when no other
    process writes the same target at the same time)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if clear_leftovers:
        for stale in leftovers(target):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp made it private
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
