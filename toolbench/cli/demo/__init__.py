"""``toolbench demo``: the whole loop on embedded defaults, in one command, with no network (what ``make demo`` runs).

It starts the sandbox API hub and the local model server (SmolLM2-135M-Instruct) on free loopback ports, imports
the hub's catalog, crawls and compresses, generates verified call data and G1/G2/G3 instructions, evaluates the base
model (AST accuracy on the held-out split, per category and tier, hallucination) and runs DFSDT with it, trains
the API retriever, fine-tunes SmolLM2 with LoRA on the generated data, evaluates the tuned model the same way,
scores both DFSDT runs (rule checks; an LLM judge too when given one), writes the leaderboard page and prints
the headline and where every artefact is.

Profiles (:mod:`toolbench.cli.demo.profile`): ``full`` (the default), ``quick`` (``--quick``) and ``tiny`` (for
tests). A rerun of the same command resumes: finished stages are skipped (``<out>/state``), unfinished ones
continue from their own journals, caches and checkpoints. Ctrl-C stops the servers and the trainer and leaves no
stage half-recorded.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

DEFAULT_OUT = {"full": Path("runs/demo"), "quick": Path("runs/demo-quick"), "tiny": Path("runs/demo-tiny")}


def demo(
    quick: Annotated[bool, typer.Option("--quick", help="The quick profile (fewer samples, entries, tasks and "
                                                        "steps; under 5 minutes on 2 idle cores).")] = False,
    profile: Annotated[str | None, typer.Option("--profile", help="full (default), quick or tiny (a smoke "
                                                                  "test).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/demo; runs/demo-quick, runs/demo-tiny "
                                                  "for the other profiles).")] = None,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a profile field, e.g. --set "
                                                                      "calls=200 (repeatable; see "
                                                                      "--show-profile).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the run folder first and start over.")] = False,
    until: Annotated[str | None, typer.Option("--until", help="Stop after this stage (catalog, crawl, compress, "
                                                              "calls, instructions, eval_base, bfcl_base, "
                                                              "annotate_base, retriever, sft, export, calibrate, "
                                                              "eval_tuned, bfcl_tuned, annotate_tuned, pass_rate, "
                                                              "leaderboard).")] = None,
    judge_model: Annotated[str | None, typer.Option(help="Also judge the DFSDT answers with this LLM (ToolEval's "
                                                         "pass rate and SoPR), e.g. a vLLM or hosted model.")]
    = None,
    judge_base_url: Annotated[str | None, typer.Option(help="The judge's OpenAI-compatible endpoint (with "
                                                            "/v1).")] = None,
    judge_api_key_env: Annotated[str, typer.Option(help="Environment variable with the judge's key.")]
    = "OPENAI_API_KEY",
    show_profile: Annotated[bool, typer.Option("--show-profile", help="Print the profile's fields and exit.")]
    = False,
) -> None:
    """Run the main job on embedded defaults (no network) and print the headline and every artefact.

    Examples: toolbench demo · toolbench demo --quick · toolbench demo --profile tiny --out /tmp/tiny ·
    toolbench demo --set calls=600 --set train_steps=80 --out runs/demo-big
    """
    from rich.console import Console

    from toolbench.cli.demo.profile import get_profile
    from toolbench.cli.demo.services import Services
    from toolbench.cli.demo.stage_runner import Demo, JudgeOptions
    from toolbench.cli.demo.stages import default_stages, models
    from toolbench.errors import ToolbenchError
    from toolbench.llm.models import set_cpu_threading, set_offline

    if quick and profile not in (None, "quick"):
        raise ToolbenchError(f"--quick and --profile {profile} disagree: give one of them")
    name = "quick" if quick else (profile or "full")
    chosen = get_profile(name).with_overrides(list(overrides or []))
    console = Console()
    if show_profile:
        _print_profile(console, chosen)
        return
    set_offline()
    set_cpu_threading()
    out = out or DEFAULT_OUT.get(name, Path(f"runs/demo-{name}"))
    judge = JudgeOptions(judge_model, judge_base_url, judge_api_key_env) if judge_model else None
    services = Services(out, chosen, models(out, chosen))
    runner = Demo(out, chosen, default_stages(), services, console, judge=judge)
    runner.bind_profile(fresh=fresh)
    console.rule(f"[bold]toolbench demo · profile {chosen.name} · {out}")
    started = time.monotonic()
    try:
        done = runner.run(until=until)
    except KeyboardInterrupt:
        sys.exit(130)
    report(console, out, chosen, done, time.monotonic() - started)


def _print_profile(console: Any, chosen: Any) -> None:
    from dataclasses import fields

    from rich.table import Table

    table = Table("field", "value", "meaning", title=f"profile {chosen.name}")
    for f in fields(chosen):
        table.add_row(f.name, json.dumps(getattr(chosen, f.name)), f.metadata.get("help", ""))
    console.print(table)


def report(console: Any, out: Path, chosen: Any, done: dict[str, dict[str, Any]], wall: float) -> dict[str, Any]:
    """Print the headline, the stage timings and the artefacts; write ``headline.json`` and ``headline.md``."""
    from rich.table import Table

    from toolbench.cli.demo import data
    from toolbench.formats.atomic import write_json_atomic, write_text_atomic

    figures = data.headline(done)
    stage_seconds = {name: marker.get("seconds", 0.0) for name, marker in done.items()}
    record = {"profile": chosen.name, "settings": chosen.to_dict(), "headline": figures,
              "stage_seconds": stage_seconds, "total_stage_seconds": round(sum(stage_seconds.values()), 1),
              "this_run_seconds": round(wall, 1)}
    if figures:
        write_json_atomic(out / "headline.json", record)
        write_text_atomic(out / "headline.md", data.headline_markdown(figures) + "\n"
                          + f"Profile {chosen.name}; stages took {record['total_stage_seconds']:.0f} s in all.\n")

    timings = Table("stage", "seconds", "result", title="stages")
    for name, marker in done.items():
        timings.add_row(name, f"{marker.get('seconds', 0):.0f}", marker.get("note", "")[:110])
    console.print(timings)
    for title, rows, notes in data.headline_tables(figures):
        table = Table(*rows[0], title=f"headline: {title}")
        for row in rows[1:]:
            table.add_row(*row)
        console.print(table)
        for note in notes:
            console.print(note, style="dim")
    artefacts = Table("artefact", "where", title="artefacts")
    for marker in done.values():
        for label, path in marker.get("artefacts", {}).items():
            artefacts.add_row(label, path)
    if figures:
        artefacts.add_row("headline", str(out / "headline.md"))
    console.print(artefacts)
    console.print(f"Total stage time {record['total_stage_seconds']:.0f} s (this run {wall:.0f} s). Open "
                  f"{out / 'leaderboard' / 'index.html'} in a browser; rerun the command to resume or to reprint this.")
    return record
