"""``toolbench annotate``: search solution paths for queries (ReACT, ReACT@N, DFSDT), resumable; ``merge`` joins
the run folders of a sharded campaign."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from annotate.compare import CompareConfig  # light: the options are built from it
from annotate.config import CampaignConfig
from toolbench.config import options
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
    "  toolbench annotate --queries q.json --catalog catalog/ --concurrency 32 --workers 2 --out runs/big  "
    "(2 processes, one run folder)\n\n"
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


CONFIG_HELP = ("YAML/TOML/JSON file of {cls} fields (a nested config's flat or under its name); the options given "
               "override it.")
SET_HELP = "field=value (a YAML value) over the --config file, e.g. --set max_steps=8; repeatable."


def _config(cls: type, settings: dict, config: Path | None, sets: list[str] | None):
    """The command's config from the defaults, --config, --set and the options given
    (:func:`toolbench.config.from_command`); --max-llm-calls 0 means no limit."""
    import dataclasses

    from toolbench.config import ConfigError, from_command

    no_limit = settings.get("max_llm_calls") == 0
    if no_limit:
        settings["max_llm_calls"] = None
    cfg = from_command(cls, settings, config, sets, error=ConfigError, example="max_steps=8")
    if no_limit and hasattr(cfg, "search"):
        cfg = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, max_llm_calls=None))
    return cfg


@app.callback()
@options(CampaignConfig)  # one option per field (its name, type, default and help), where `settings` is
def annotate(
    ctx: typer.Context,
    settings: dict,
    progress: Annotated[bool | None, typer.Option(help="Show the progress bar (default: when a terminal).")] = None,
    config: Annotated[Path | None, typer.Option(help=CONFIG_HELP.format(cls="CampaignConfig"))] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
) -> None:
    """Run or resume an annotation campaign."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None and (settings["queries"] is None or settings["out"] is None):
        raise ToolbenchError("annotate needs --queries FILE and --out RUN (see `toolbench annotate --help`)")
    from annotate.campaign import run

    cfg = _config(CampaignConfig, settings, config, set_)
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


COMPARE_HELP = (
    "ReACT, ReACT@N and DFSDT on the same held-out tasks with the same budget of model calls per task, for one or "
    "more models; writes OUT/comparison.json and OUT/comparison.md (pass rate by the tasks' rule checks, and by an "
    "LLM judge with --judge, with 95% intervals; per solved task the model calls, tokens, API calls and seconds; "
    "what the shared call journal, pruning and early stopping saved).\n\n"
    "Examples:\n\n"
    "  toolbench annotate compare --tasks runs/demo/tasks/dfsdt_tasks.json --catalog data/tools "
    "--hub-url http://127.0.0.1:9000 --model base=smollm2-135m-instruct@http://127.0.0.1:8000/v1 "
    "--model tuned=smollm2-135m-demo-lora@http://127.0.0.1:8001/v1 --budget 12 --max-steps 4 --out runs/compare\n\n"
    "  toolbench annotate compare --tasks tasks.json --catalog data/tools --model gpt=gpt-4o-mini "
    "--strategies react,dfsdt --budget 30 --judge gpt-4o-mini --out runs/compare-gpt\n\n"
    "Rerun the same command after a kill: finished searches are skipped, searches in flight continue from their "
    "last step, API calls already made are replayed from the journal. Tasks need an expectation "
    "(Query.expectation, see docs/eval.md) to be scored by rules; without one only the judge scores them.")


@app.command("compare", help=COMPARE_HELP)
@options(CompareConfig)
def compare_command(
    settings: dict,
    judge: Annotated[str | None, typer.Option(help="LLM judge MODEL[@BASE_URL] for the pass rate (unset: rule "
                                                   "checks only).")] = None,
    config: Annotated[Path | None, typer.Option(help=CONFIG_HELP.format(cls="CompareConfig"))] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
) -> None:
    """Equal-budget comparison of ReACT, ReACT@N and DFSDT."""
    import asyncio

    from annotate.compare import run_compare

    if config is None and (settings["tasks"] is None or settings["out"] is None):
        raise ToolbenchError("annotate compare needs --tasks FILE and --out DIR (see `toolbench annotate compare "
                             "--help`)")
    cfg = _config(CompareConfig, settings, config, set_)
    if not cfg.models:
        raise ToolbenchError("annotate compare needs at least one --model LABEL=MODEL@BASE_URL")
    doubles = os.environ.get(TEST_DOUBLES_ENV)
    executor = None
    if doubles:
        module, _, name = doubles.partition(":")
        chat, runner_factory = getattr(importlib.import_module(module), name)(cfg)
        models = {label: chat for label in cfg.models}
    else:
        models, runner_factory, executor = _compare_clients(cfg)

    async def go() -> list[dict]:
        try:
            return await run_compare(cfg, models, runner_factory,
                                     on_unit=lambda r: typer.echo(json.dumps(r), err=True))
        finally:
            if executor is not None:
                await executor.aclose()

    rows = asyncio.run(go())
    judge_chat = None
    if judge:
        from toolbench.llm.factory import make_chat_model

        model, _, url = judge.partition("@")
        judge_chat = make_chat_model(model, base_url=url or None, cache_path=Path(cfg.out) / "judge_cache.sqlite",
                                     timeout=300.0)
    try:
        table = score_comparison(cfg, rows, judge_chat)
    finally:
        if judge_chat is not None:
            judge_chat.close()
    from annotate.compare_table import table_markdown

    typer.echo(table_markdown(table))


def _compare_clients(cfg: CompareConfig) -> tuple[dict, object, object]:
    """(label -> chat model, runner factory, executor) for the real endpoints and APIs."""
    from annotate.campaign import _Catalog, _default_runner_factory
    from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

    models = {}
    for label in cfg.models:
        model, url = cfg.endpoint(label)
        models[label] = OpenAIChatModel(OpenAIChatConfig(model=model, base_url=url, timeout=cfg.llm_timeout,
                                                         api_key_env=cfg.api_key_env,
                                                         max_concurrency=cfg.concurrency))
    campaign = CampaignConfig(queries=cfg.tasks, out=cfg.out, catalog=cfg.catalog, hub_url=cfg.hub_url,
                              response_cache=cfg.response_cache)
    runner_factory, executor = _default_runner_factory(campaign, _Catalog(cfg.catalog))
    return models, runner_factory, executor


def score_comparison(cfg: CompareConfig, rows: list[dict], judge_chat: object = None) -> dict:
    """Score every (model, strategy)'s answers (the tasks' rule checks; the LLM judge when given), and write
    OUT/comparison.json and OUT/comparison.md; returns the table (:func:`annotate.compare_table.build_table`)."""
    from annotate.compare import FOLDERS
    from annotate.compare_table import build_table, table_markdown
    from eval import answers, judge
    from eval.expectation import check
    from eval.intervals import sign_test, wilson
    from toolbench.catalog.store import load_queries
    from toolbench.formats.atomic import write_json_atomic, write_text_atomic

    out = Path(cfg.out)
    tasks = load_queries(cfg.tasks)
    expectations = {t.id: t.expectation for t in tasks if t.expectation}
    verdicts: dict = {}
    for label in cfg.models:
        for strategy in cfg.strategy_list:
            folder = out / label / FOLDERS[strategy] / "answers"
            predictions = answers.read_predictions(folder) if folder.is_dir() else {}
            ids = [r["task_id"] for r in rows if r["model"] == label and r["strategy"] == strategy]
            checks = {i: {"rules": (check(expectations[i], predictions[i]).ok if i in predictions else False)
                          if i in expectations else None, "judge": None} for i in ids}
            if judge_chat is not None and ids:
                for row in judge.run_pass_rate(predictions, judge.Judge(judge_chat), k=1,  # type: ignore[arg-type]
                                               group=f"{label}/{strategy}", query_ids=ids):
                    checks[row.query_id]["judge"] = row.resolved_label == judge.PASSED
            verdicts[(label, strategy)] = checks
    table = build_table(rows, verdicts, budget=cfg.budget, models=list(cfg.models), strategies=cfg.strategy_list,
                        interval=wilson, paired=sign_test)
    table["settings"] = cfg.settings()
    table["verdicts"] = {f"{label}/{strategy}": checks for (label, strategy), checks in verdicts.items()}
    write_json_atomic(out / "comparison.json", table)
    write_text_atomic(out / "comparison.md", table_markdown(table))
    return table
