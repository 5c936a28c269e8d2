"""``toolbench annotate``: search solution paths for queries (ReACT, ReACT@N, DFSDT), resumable; ``merge`` joins
the run folders of a sharded campaign."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Annotated

import typer

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


def parse_overrides(specs: list[str] | None) -> dict[str, str]:
    """``["http://127.0.0.1:8750=http://127.0.0.1:9000"]`` -> ``{catalog prefix: URL}``."""
    out: dict[str, str] = {}
    for spec in specs or []:
        prefix, sep, target = spec.partition("=")
        if not sep or not prefix or not target:
            raise ToolbenchError(f"--api-override {spec!r}: write CATALOG_PREFIX=URL, e.g. "
                                 "http://127.0.0.1:8750=http://127.0.0.1:9000")
        out[prefix] = target
    return out


@app.callback()
def annotate(
    ctx: typer.Context,
    queries: Annotated[Path | None, typer.Option(help="ToolBench query file (G1_query.json, ...).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (created, or resumed when it exists).")] = None,
    strategy: Annotated[str, typer.Option(help="react | react@N | dfsdt.")] = "dfsdt",
    width: Annotated[int, typer.Option(help="DFSDT: children tried per state.")] = 2,
    restarts: Annotated[int, typer.Option(help="ReACT@N: chains at most (react@N sets it too).")] = 3,
    max_steps: Annotated[int, typer.Option(help="Chain length, in --step-unit, at which a chain is cut as failed "
                                                "(ToolBench's single_chain_max_step).")] = 12,
    step_unit: Annotated[str, typer.Option(help="What --max-steps counts: reply (model replies) or toolbench "
                                                "(ToolBench's nodes: Thought, Action, Action Input).")] = "reply",
    max_llm_calls: Annotated[int | None, typer.Option(help="Per query: model calls (0: no limit).")] = 200,
    max_api_calls: Annotated[int | None, typer.Option(help="Per query: API calls.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Per query: model tokens.")] = None,
    max_observation_chars: Annotated[int | None, typer.Option(help="Cut API responses shown to the model.")] = None,
    query_seconds: Annotated[float | None, typer.Option(help="Per query: wall time of one attempt.")] = None,
    query_usd: Annotated[float | None, typer.Option(help="Per query: dollars (needs --prices).")] = None,
    model: Annotated[str, typer.Option(help="Model name sent to the endpoint.")] = "smollm2-135m-instruct",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.")] = None,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the endpoint's key.")] = "OPENAI_API_KEY",
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_reply_tokens: Annotated[int | None, typer.Option(help="max_tokens of each model request (default: the "
                                                              "server's).")] = None,
    tool_choice: Annotated[str | None, typer.Option(help="tool_choice sent with each request: auto | required "
                                                         "(every reply calls a function, Finish included) | "
                                                         "none (default: not sent).")] = None,
    llm_timeout: Annotated[float, typer.Option(help="Seconds to wait for one model reply.")] = 120.0,
    concurrency: Annotated[int, typer.Option(help="Queries searched at once.")] = 16,
    catalog: Annotated[Path | None, typer.Option(help="Catalog folder with the APIs' URLs and tool descriptions.")] = None,
    response_cache: Annotated[Path | None, typer.Option(help="SQLite response cache for API calls.")] = None,
    hub_url: Annotated[str | None, typer.Option(help="Call the sandbox hub at this URL instead of the catalog's "
                                                     "http://127.0.0.1:8750 (`toolbench hub serve --port N`).")] = None,
    api_override: Annotated[list[str] | None, typer.Option(help="CATALOG_PREFIX=URL: call APIs under a catalog URL "
                                                                "prefix at another address (repeatable).")] = None,
    tool_key_env: Annotated[str, typer.Option(help="Environment variable holding the APIs' key (unset: the hub's "
                                                   "tools get a sandbox key).")] = "TOOLBENCH_API_KEY",
    rapidapi_key_env: Annotated[str, typer.Option(help="Environment variable holding the RapidAPI key.")
                                ] = "RAPIDAPI_KEY",
    llm_cache: Annotated[bool, typer.Option(help="Record model replies in RUN/llm_cache.sqlite.")] = True,
    shard: Annotated[str | None, typer.Option(help="i/n: this machine's share of the queries (0 <= i < n).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N queries (after sharding).")] = None,
    prices: Annotated[Path | None, typer.Option(help="Price table, JSON/YAML: model -> {prompt, completion} $/M tokens.")] = None,
    budget_tokens: Annotated[int | None, typer.Option(help="Campaign: model tokens.")] = None,
    budget_usd: Annotated[float | None, typer.Option(help="Campaign: dollars (needs --prices).")] = None,
    budget_api_calls: Annotated[int | None, typer.Option(help="Campaign: API calls.")] = None,
    budget_seconds: Annotated[float | None, typer.Option(help="Campaign: wall time of this run.")] = None,
    progress: Annotated[bool | None, typer.Option(help="Show the progress bar (default: when a terminal).")] = None,
) -> None:
    """Run or resume an annotation campaign."""
    if ctx.invoked_subcommand is not None:
        return
    if queries is None or out is None:
        raise ToolbenchError("annotate needs --queries FILE and --out RUN (see `toolbench annotate --help`)")
    from annotate.campaign import CampaignConfig, main
    from annotate.strategies import SearchConfig

    search = SearchConfig(strategy=strategy, width=width, restarts=restarts, max_steps=max_steps, step_unit=step_unit,
                          max_llm_calls=max_llm_calls or None, max_api_calls=max_api_calls, max_tokens=max_tokens,
                          max_observation_chars=max_observation_chars)
    cfg = CampaignConfig(
        queries=str(queries), out=str(out), search=search, model=model, base_url=base_url, api_key_env=api_key_env,
        temperature=temperature, max_reply_tokens=max_reply_tokens, tool_choice=tool_choice,
        llm_timeout=llm_timeout, concurrency=concurrency,
        catalog=str(catalog) if catalog else None, response_cache=str(response_cache) if response_cache else None,
        hub_url=hub_url, api_overrides=parse_overrides(api_override), tool_key_env=tool_key_env,
        rapidapi_key_env=rapidapi_key_env, llm_cache=llm_cache, shard=shard,
        limit=limit, prices=str(prices) if prices else None, budget_tokens=budget_tokens, budget_usd=budget_usd,
        budget_api_calls=budget_api_calls, budget_seconds=budget_seconds, query_seconds=query_seconds,
        query_usd=query_usd)
    doubles = os.environ.get(TEST_DOUBLES_ENV)
    chat = runner_factory = None
    if doubles:
        module, _, name = doubles.partition(":")
        chat, runner_factory = getattr(importlib.import_module(module), name)(cfg)
    summary = main(cfg, chat, runner_factory, progress)
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "llm"}))
    failed = summary.get("failed") or 0
    if failed:
        typer.echo(f"annotate: {failed} of {summary.get('queries', '?')} queries failed (their errors are in "
                   f"{out / 'events.jsonl'}, event query_error or status failed); rerun the same command to retry "
                   "them", err=True)
        raise typer.Exit(1)


@app.command("merge")
def merge_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders of the shards.")],
    out: Annotated[Path, typer.Option(help="Merged run folder.")],
) -> None:
    """Join the run folders of a sharded campaign (answers, query rows, events)."""
    from annotate.campaign import merge

    typer.echo(json.dumps(merge(list(runs), out)))
