"""Running the demo's stages in order: resume, progress, timings, clean interruption.

A stage is a name, a title, the servers it needs and a function ``run(ctx) -> StageOutput``. After a stage
finishes, its marker ``<out>/state/<stage>.json`` (figures, artefacts, seconds) is written atomically; a rerun
skips every stage with a marker and redoes the others, whose own resume (journals, caches, checkpoints) makes
them continue where they stopped. A stage's outputs count only once its marker exists, so a half-done stage is
never read by a later one. On Ctrl-C the servers are stopped, nothing is marked done that was not finished, and
the next run resumes.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.formats.atomic import write_json_atomic


class DemoError(ToolbenchError):
    """The demo cannot run (or resume) as asked; the message says what to do."""


@dataclass
class StageOutput:
    """What a stage reports: ``figures`` (JSON-ready, kept in its marker and shown in the summary), ``artefacts``
    (label -> path), and a one-line ``note``."""

    figures: dict[str, Any] = field(default_factory=dict)
    artefacts: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass
class JudgeOptions:
    """An LLM judge for the pass rate besides the rule checks (any OpenAI-compatible endpoint)."""

    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"


@dataclass
class DemoContext:
    """What every stage gets: the run folder, the profile, the servers, the console, the earlier stages'
    markers (``done``), and the optional judge."""

    out: Path
    profile: Any
    services: Any
    console: Any
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    judge: JudgeOptions | None = None

    def path(self, *parts: str) -> Path:
        return self.out.joinpath(*parts)

    def figures(self, stage: str) -> dict[str, Any]:
        return self.done.get(stage, {}).get("figures", {})


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    run: Callable[[DemoContext], StageOutput]
    needs: tuple[str, ...] = ()  # "hub", "llm:base", "llm:tuned"


class Demo:
    """The stages of one run folder, run in order (see the module docstring)."""

    def __init__(self, out: Path, profile: Any, stages: list[Stage], services: Any, console: Any,
                 judge: JudgeOptions | None = None) -> None:
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise DemoError(f"stage names must be unique: {names}")
        self.out = Path(out)
        self.profile = profile
        self.stages = stages
        self.services = services
        self.console = console
        self.ctx = DemoContext(self.out, profile, services, console, judge=judge)

    @property
    def state(self) -> Path:
        return self.out / "state"

    def marker(self, stage: str) -> Path:
        return self.state / f"{stage}.json"

    def bind_profile(self, fresh: bool = False) -> None:
        """Record the profile in a new run folder, or check that an existing one was made with the same."""
        record = self.state / "profile.json"
        if fresh and self.out.exists():
            if not record.exists() and any(self.out.iterdir()):
                raise DemoError(f"--fresh would delete {self.out}, which is not a demo run folder (no "
                                "state/profile.json): pick another --out")
            shutil.rmtree(self.out)
        if record.exists():
            saved = json.loads(record.read_text(encoding="utf-8"))
            if saved.get("fingerprint") != self.profile.fingerprint():
                changed = sorted(k for k, v in self.profile.to_dict().items()
                                 if k != "name" and saved.get("settings", {}).get(k) != v)
                raise DemoError(f"{self.out} was made with profile {saved.get('name')!r} and other settings "
                                f"({', '.join(changed) or 'see state/profile.json'}); rerun with the same profile "
                                "to resume, add --fresh to start over, or use another --out")
            return
        write_json_atomic(record, {"name": self.profile.name, "fingerprint": self.profile.fingerprint(),
                                   "settings": self.profile.to_dict()})

    def run(self, until: str | None = None) -> dict[str, dict[str, Any]]:
        """Run (or resume) every stage, or those up to ``until``; returns the markers by stage name."""
        if until is not None and until not in {s.name for s in self.stages}:
            raise DemoError(f"--until {until!r}: no such stage; stages: {', '.join(s.name for s in self.stages)}")
        started = time.monotonic()
        ran: list[str] = []
        total = len(self.stages)
        try:
            for index, stage in enumerate(self.stages, 1):
                marker = self.marker(stage.name)
                if marker.exists():
                    self.ctx.done[stage.name] = json.loads(marker.read_text(encoding="utf-8"))
                    seconds = self.ctx.done[stage.name].get("seconds", 0)
                    self.console.print(f"[dim][{index}/{total}] {stage.title}: done earlier ({seconds:.0f} s), "
                                       "resumed[/dim]")
                    if stage.name == until:
                        break
                    continue
                self.console.rule(f"[bold][{index}/{total}] {stage.title}")
                self.services.release(stage.needs)
                t0 = time.monotonic()
                output = stage.run(self.ctx)
                seconds = time.monotonic() - t0
                record = {"stage": stage.name, "title": stage.title, "seconds": round(seconds, 1),
                          "figures": output.figures, "artefacts": output.artefacts, "note": output.note,
                          "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "profile": self.profile.fingerprint()}
                write_json_atomic(marker, record)
                self.ctx.done[stage.name] = record
                ran.append(stage.name)
                self.console.print(f"[green]✓[/green] {stage.title} ({seconds:.0f} s)"
                                   + (f": {output.note}" if output.note else ""))
                if stage.name == until:
                    break
        except KeyboardInterrupt:
            self.console.print(f"\n[yellow]interrupted: finished stages are kept in {self.state}; rerun the same "
                               "command to resume[/yellow]")
            raise
        finally:
            self.services.stop_all()
            self._log_run(started, ran)
        return dict(self.ctx.done)

    def _log_run(self, started: float, ran: list[str]) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"finished": time.strftime("%Y-%m-%d %H:%M:%S"), "profile": self.profile.name,
                           "seconds": round(time.monotonic() - started, 1), "stages_run": ran})
        with (self.state / "runs.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
