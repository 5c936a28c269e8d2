"""``toolbench leaderboard RUN... --out DIR``: every run's scores per group as Markdown, CSV and a static HTML page
with plots (see :mod:`eval.leaderboard`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def leaderboard(
    runs: Annotated[list[Path], typer.Argument(help="Run folders (searched for *.summary.json, as written by "
                                               "toolbench eval ast / judge / report) or summary files.")],
    out: Annotated[Path, typer.Option(help="Output folder: leaderboard.md, leaderboard.csv, index.html and "
                                      "plots/<metric>.png.")],
    title: Annotated[str, typer.Option(help="Page and document title.")] = "Leaderboard",
) -> None:
    """Leaderboard of eval runs: per metric, a table (runs x groups, mean ± std and n) and a bar chart.

    Groups are ToolBench's (shown I1-Inst ... I3-Inst), BFCL categories, or difficulty tiers, as the runs hold them.

    Example: toolbench leaderboard runs/judge/mymodel runs/judge/chatgpt runs/ast/mymodel --out runs/leaderboard
    """
    from eval import leaderboard as board

    scores = board.load_runs(runs)
    written = board.write_leaderboard(scores, out, title)
    typer.echo(written["markdown"].read_text(encoding="utf-8"))
    typer.echo(f"Wrote {written['html']} (open it in a browser), {written['markdown']} and {written['csv']}")
