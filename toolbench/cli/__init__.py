"""The ``toolbench`` command: one subcommand per stage.

Each stage's commands live in their own module here (``catalog.py``...) and are registered below. Modules keep
heavy imports (torch, transformers, faiss...) inside the command functions so ``toolbench --help`` is fast.
"""

from __future__ import annotations

import sys

import typer

from toolbench.cli import agent as _agent
from toolbench.cli import annotate as _annotate
from toolbench.cli import catalog as _catalog
from toolbench.cli import compress as _compress
from toolbench.cli import crawl as _crawl
from toolbench.cli import demo as _demo
from toolbench.cli import eval as _eval
from toolbench.cli import generate as _generate
from toolbench.cli import hub as _hub
from toolbench.cli import leaderboard as _leaderboard
from toolbench.cli import llm as _llm
from toolbench.cli import retriever as _retriever
from toolbench.cli import train as _train
from toolbench.errors import ToolbenchError

app = typer.Typer(
    name="toolbench",
    help="A ToolLLM-style stack: catalog and crawl APIs, generate instructions, annotate solution paths with "
    "DFSDT, train a retriever and a tool model, evaluate and rank.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(_agent.app, name="agent")
app.add_typer(_annotate.app, name="annotate")
app.add_typer(_catalog.app, name="catalog")
app.add_typer(_eval.app, name="eval")
app.add_typer(_generate.app, name="generate")
app.add_typer(_hub.app, name="hub")
app.add_typer(_llm.app, name="llm")
app.add_typer(_retriever.app, name="retriever")
app.add_typer(_train.app, name="train")
app.command("demo")(_demo.demo)
app.command("compress")(_compress.compress)
app.command("crawl")(_crawl.crawl)
app.command("leaderboard")(_leaderboard.leaderboard)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user-facing errors are printed without a traceback (exit status 2)."""
    try:
        app(args=argv, standalone_mode=True)
    except ToolbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
