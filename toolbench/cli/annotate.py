"""``toolbench annotate``: search solution paths for queries (ReACT, ReACT@N, DFSDT), resumable; ``merge`` joins
the run folders of a sharded campaign."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from annotate.config import CampaignConfig  # light: the options are built from it
from toolbench.config import from_options, options
from toolbench.errors import ToolbenchError

# Test-only: "module:function" returning (model, runner_factory) for a campaign config, used instead of the
# OpenAI client and the executor. The product never sets it.
TEST_DOUBLES_ENV = "TOOLBENCH_ANNOTATE_TEST_DOUBLES"

app = typer.Typer(
    help="Annotate solution paths by tree search through function calling.\n\n"
    "Examples:\n\n"
    "  toolbench annotate --queries data/G1_query.json --catalog catalog/ --strategy dfsdt --width 2 "
    "--max-steps 12 --base-url http://127.0.0.1:8000/v1 --model smollm2-135m-instruct --concurrency 16 "
    "--out runs/annotate/g1\n\n"
    "  toolbench annotate --queries q.json --catalog catalog/ --strategy react@3 --out runs/r3 --shard 0/2\n\n"
    "  toolbench annotate --queries q.json --catalog data/tools --hub-url http://127.0.0.1:9000 "
    "--base-url http://127.0.0.1:8000/v1 --max-steps 12 --step-unit toolbench --out runs/hub\n\n"
    "  toolbench annotate merge runs/r3-shard0 runs/r3-shard1 --out runs/r3\n\n"
    "Rerun the same command to resume after a crash: finished queries are skipped, searches in flight resume "
    "from their last checkpoint, completed API calls are replayed from the run's journal.\n\n"
    "--max-steps counts model replies (--step-unit reply, the default); ToolBench's single_chain_max_step counts "
    "its tree nodes (a Thought when the reply has text, an Action and an Action Input per call), which "
    "--step-unit toolbench reproduces: its 12 allows about four replies.\n\n"
    "Exit status: 0 when every query searched ended (solved, gave up, unsolved or stopped by a budget); 1 when any "
    "query failed (an error ended its search), with the count on stderr.",
    invoke_without_command=True,
    add_completion=False,
)


@app.callback()
@options(CampaignConfig)  # one option per field (its name, type, default and help), where `settings` is
def annotate(
    ctx: typer.Context,
    settings: dict,
    progress: Annotated[bool | None, typer.Option(help="Show the progress bar (default: when a terminal).")] = None,
) -> None:
    """Run or resume an annotation campaign."""
    if ctx.invoked_subcommand is not None:
        return
    if settings["queries"] is None or settings["out"] is None:
        raise ToolbenchError("annotate needs --queries FILE and --out RUN (see `toolbench annotate --help`)")
    from annotate.campaign import run

    cfg = from_options(CampaignConfig, settings, max_llm_calls=settings["max_llm_calls"] or None)  # 0: no limit
    doubles = os.environ.get(TEST_DOUBLES_ENV)
    chat = runner_factory = None
    if doubles:
        module, _, name = doubles.partition(":")
        chat, runner_factory = getattr(importlib.import_module(module), name)(cfg)
    summary = run(cfg, chat, runner_factory, progress)
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "llm"}))
    failed = summary.get("failed") or 0
    if failed:
        typer.echo(f"annotate: {failed} of {summary.get('queries', '?')} queries failed (their errors are in "
                   f"{Path(cfg.out) / 'events.jsonl'}, event query_error or status failed); rerun the same command "
                   "to retry them", err=True)
        raise typer.Exit(1)


@app.command("merge")
def merge_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders of the shards.")],
    out: Annotated[Path, typer.Option(help="Merged run folder.")],
) -> None:
    """Join the run folders of a sharded campaign (answers, query rows, events)."""
    from annotate.campaign import merge

    typer.echo(json.dumps(merge(list(runs), out)))
