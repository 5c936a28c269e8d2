"""Following a ``toolbench train sft`` run from its output: the step it is at and the last logged loss.

The trainer (:mod:`train.sft`, the HF Trainer) prints a step counter (``12/30 [00:41<01:02, ...]``) and each
logged record (``{'loss': '1.234', ...}``). :class:`ProgressReader` reads them from the output as it comes, in
chunks cut anywhere; :func:`run_sft_child` runs ``toolbench train sft --config RECIPE`` in a child process, appends
its whole output to a log file and reports the progress it reads (``on_progress``). ``toolbench train sft --log
FILE`` and the demo's fine-tuning stage both train this way: the terminal shows a bar, the log keeps everything.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

STEP = re.compile(r"(\d+)/(\d+) \[")  # the trainer's step counter
LOSS = re.compile(r"'loss': '?([0-9.]+)")  # a logged record's loss
WINDOW = 4096  # bytes of output kept to read a counter or record cut between two chunks


@dataclass
class TrainProgress:
    """Where a run is: ``step`` of ``total`` (None until known) and the last logged ``loss`` (as printed)."""

    step: int = 0
    total: int | None = None
    loss: str | None = None


class ProgressReader:
    """Reads a run's output chunk by chunk. ``total``: the run's steps when known (a counter with another total is
    another bar, as the held-out evaluation's, and is not the training's step); None takes any counter."""

    def __init__(self, total: int | None = None) -> None:
        self.progress = TrainProgress(total=total)
        self._expected = total
        self._tail = b""

    def feed(self, chunk: bytes) -> bool:
        """Read ``chunk``; True when the step or the loss changed."""
        self._tail = (self._tail + chunk)[-WINDOW:]
        text = self._tail.decode("utf-8", "replace")
        before = (self.progress.step, self.progress.total, self.progress.loss)
        for match in STEP.finditer(text):
            done, total = int(match.group(1)), int(match.group(2))
            if self._expected is None or total == self._expected:
                self.progress.step, self.progress.total = done, total
        losses = LOSS.findall(text)
        if losses:
            self.progress.loss = losses[-1]
        return (self.progress.step, self.progress.total, self.progress.loss) != before


def sft_command(recipe: str | Path | None, overrides: Sequence[str] = ()) -> list[str]:
    """``toolbench train sft [--config RECIPE] [--set ...]`` with this Python."""
    command = [sys.executable, "-m", "toolbench", "train", "sft"]
    if recipe is not None:
        command += ["--config", str(recipe)]
    for item in overrides:
        command += ["--set", item]
    return command


def run_sft_child(command: Sequence[str], log: str | Path, *, total: int | None = None, threads: int | None = None,
                  on_progress: Callable[[TrainProgress], None] | None = None) -> int:
    """Run ``command`` (:func:`sft_command`) in a child process, its output (stdout and stderr) appended to ``log``
    after a ``$ command`` line, ``on_progress`` called whenever the step or the loss changes; returns the exit
    status. ``threads`` sets the child's OMP_NUM_THREADS. Interrupted (Ctrl-C, an exception), the child is
    terminated (killed after 30 s) before the interruption goes on. A run resumes from its last checkpoint by
    itself (``resume: auto``), so running the same command again continues it."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    reader = ProgressReader(total)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ {' '.join(command)}\n")
        handle.flush()
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        assert process.stdout is not None
        stdout = process.stdout

        def pump() -> None:
            while True:
                chunk = stdout.read1(4096) if hasattr(stdout, "read1") else stdout.read(4096)
                if not chunk:
                    break
                handle.write(chunk.decode("utf-8", "replace"))
                handle.flush()
                if reader.feed(chunk) and on_progress is not None:
                    on_progress(reader.progress)

        thread = threading.Thread(target=pump, name="train-log", daemon=True)
        thread.start()
        try:
            code = process.wait()
        except BaseException:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
        finally:
            thread.join(timeout=5)
    return code
