"""The demo's servers on loopback: the sandbox API hub (in a thread) and the local model server (a child process
running ``toolbench llm serve``), each on a free port and stopped cleanly, also on Ctrl-C.

The model server runs as a child process so that its memory and threads are gone once a stage no longer needs
it (training runs between the base model's and the tuned model's evaluations) and so that an interrupted demo
never leaves it behind: :meth:`LLMServer.stop` terminates it, and kills it if it does not exit in time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError


class ServiceError(ToolbenchError):
    """A demo server could not start; the message points at its log."""


class LLMServer:
    """``toolbench llm serve`` in a child process on a free loopback port.

    ``model`` is ``default`` (the packaged SmolLM2-135M-Instruct), a GGUF file or a checkpoint folder; clients send
    ``served_name`` as the model name. The server's output goes to ``log``."""

    def __init__(self, model: str, served_name: str, log: Path, *, default_max_tokens: int = 512,
                 start_timeout: float = 300.0, threads: int | None = None, engine: str = "auto",
                 call_threshold: str | None = None) -> None:
        self.model = model
        self.call_threshold = call_threshold  # a number or a calibration file (llm serve --call-threshold)
        self.engine = engine
        self.served_name = served_name
        self.log = Path(log)
        self.default_max_tokens = default_max_tokens
        self.start_timeout = start_timeout
        self.threads = threads
        self.url: str | None = None
        self._process: subprocess.Popen[str] | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "toolbench", "llm", "serve", "--model", self.model, "--host", "127.0.0.1",
               "--port", "0", "--served-model-name", self.served_name, "--log-level", "warning",
               "--default-max-tokens", str(self.default_max_tokens), "--engine", self.engine]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        if self.call_threshold:
            cmd += ["--call-threshold", self.call_threshold]
        return cmd

    def start(self) -> LLMServer:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("a", encoding="utf-8")
        handle.write(f"\n$ {' '.join(self.command())}\n")
        handle.flush()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         env=env)
        found: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                handle.write(line)
                handle.flush()
                if line.startswith("serving ") and " at " in line and not found:
                    found.append(line.rsplit(" at ", 1)[-1].strip())
                    ready.set()
            handle.close()
            ready.set()

        threading.Thread(target=pump, name=f"llm-log-{self.served_name}", daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while not ready.wait(0.2):
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(f"the model server ({self.model}) did not start within {self.start_timeout:.0f} "
                                   f"s; see {self.log}")
        if not found:
            code = self._process.wait()
            raise ServiceError(f"the model server ({self.model}) exited with status {code} before serving; see "
                               f"{self.log}")
        self.url = found[0]
        return self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        self.url = None


class HubService:
    """The sandbox API hub (``toolbench hub serve``'s app) in a daemon thread on a free loopback port."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._thread: Any = None
        self.url: str | None = None

    def start(self) -> HubService:
        from toolbench.hub.server import HubThread
        from toolbench.hub.settings import HubSettings

        self._thread = HubThread(HubSettings(seed=self.seed)).start()
        self.url = self._thread.url
        return self

    @property
    def slugs(self) -> list[str]:
        return list(self._thread.hub.tools) if self._thread is not None else []

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()
        self.url = None


class Services:
    """The servers the stages ask for, started on first use and stopped when no longer needed.

    ``llm(kind)`` returns the URL of the model server for ``kind`` (``base`` or ``tuned``), stopping the other
    one first: one model server at a time, so that two models never share the two cores."""

    def __init__(self, out: Path, profile: Any, models: dict[str, tuple[str, str]],
                 make_llm: Callable[..., LLMServer] = LLMServer, make_hub: Callable[..., HubService] = HubService,
                 ) -> None:
        self.out = out
        self.profile = profile
        self.models = models  # kind -> (model path or 'default', served name)
        self._make_llm = make_llm
        self._make_hub = make_hub
        self._hub: HubService | None = None
        self._llm: tuple[str, LLMServer] | None = None

    def hub(self) -> HubService:
        if self._hub is None:
            self._hub = self._make_hub(seed=self.profile.seed).start()
        return self._hub

    def llm(self, kind: str) -> str:
        if self._llm is not None and self._llm[0] == kind and self._llm[1].running:
            assert self._llm[1].url is not None
            return self._llm[1].url
        self.stop_llm()
        model, served = self.models[kind]
        from toolbench.cli.demo.stage_train import calibration_file

        calibration = calibration_file(self.out)  # the tuned model's call threshold, when calibrated
        server = self._make_llm(model, served, self.out / "logs" / f"llm-{kind}.log",
                                default_max_tokens=self.profile.dfsdt_reply_tokens,
                                engine=getattr(self.profile, "engine", "auto"),
                                call_threshold=str(calibration) if kind == "tuned" and calibration.exists() else None)
        self._llm = (kind, server)
        server.start()
        assert server.url is not None
        return server.url

    def served_name(self, kind: str) -> str:
        return self.models[kind][1]

    def stop_llm(self) -> None:
        current, self._llm = self._llm, None
        if current is not None:
            current[1].stop()

    def release(self, keep: tuple[str, ...]) -> None:
        """Stop the servers a stage does not need (``keep``: 'hub', 'llm:base', 'llm:tuned')."""
        if self._llm is not None and f"llm:{self._llm[0]}" not in keep:
            self.stop_llm()

    def stop_all(self) -> None:
        try:
            self.stop_llm()
        finally:
            hub, self._hub = self._hub, None
            if hub is not None:
                hub.stop()
