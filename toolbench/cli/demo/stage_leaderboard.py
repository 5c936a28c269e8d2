"""The demo's last stage: the leaderboard page (``toolbench eval leaderboard``) with the headline and the run's
stages above the metrics."""

from __future__ import annotations

from typing import Any

from toolbench.cli.demo import data
from toolbench.cli.demo.stage_runner import DemoContext, StageOutput
from toolbench.formats.atomic import atomic_dir


def page_intro(ctx: DemoContext) -> list[Any]:
    """The sections above the metrics on the demo's page: the headline, then every finished stage with its time
    and result."""
    from eval.leaderboard import Section

    sections = []
    figures = data.headline(ctx.done)
    for title, rows, notes in data.headline_tables(figures):
        sections.append(Section(f"Headline: {title}", f"Profile {ctx.profile.name}: SmolLM2-135M-Instruct before "
                                                      "and after LoRA on the data this run generated. "
                                + " ".join(notes), tuple(tuple(row) for row in rows)))
    stages = [("stage", "seconds", "result")] + [
        (marker.get("title", name), f"{marker.get('seconds', 0):.0f}", marker.get("note", ""))
        for name, marker in ctx.done.items()]
    if len(stages) > 1:
        sections.append(Section("The run", f"Stage markers in {ctx.path('state')}; the figures below come from "
                                           f"{ctx.path('eval')}.", tuple(stages)))
    return sections


def stage_leaderboard(ctx: DemoContext) -> StageOutput:
    from eval.leaderboard import load_runs, write_leaderboard

    runs = [ctx.path("eval", kind) for kind in ("base", "tuned") if ctx.path("eval", kind).is_dir()]
    scores = load_runs(runs)
    target = ctx.path("leaderboard")
    with ctx.console.status("drawing the leaderboard..."), atomic_dir(target, clear_leftovers=True) as folder:
        write_leaderboard(scores, folder, title="toolbench demo: SmolLM2-135M before and after LoRA on generated data",
                          intro=page_intro(ctx))
    page = target / "index.html"
    plots = sorted((target / "plots").glob("*.png"))
    return StageOutput({"scores": len(scores), "plots": len(plots)},
                       {"leaderboard page": str(page), "leaderboard table": str(ctx.path("leaderboard", "leaderboard.md"))},
                       f"{len(scores)} scores, {len(plots)} plots -> {page}")
