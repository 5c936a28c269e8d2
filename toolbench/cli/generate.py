"""``toolbench generate ...``: instructions (LLM-written ToolBench queries) and function-call data (by program)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from toolbench.errors import ToolbenchError

app = typer.Typer(
    help="Generate tasks from a catalog.\n\n"
    "Examples:\n\n"
    "  toolbench generate instructions --catalog data/tools --group G1 --n 100 "
    "--base-url http://127.0.0.1:8000/v1 --model smollm2 --seed 0 --out runs/gen/G1_query.json\n\n"
    "  toolbench generate instructions --catalog data/tools --group G3 --n 50 --out runs/gen/G3_query.json "
    "(no model: queries phrased by rule)\n\n"
    "  toolbench generate calls --catalog data/tools --n 500 --seed 0 --out runs/calls\n\n"
    "  toolbench generate calls --catalog data/tools --n 500 --seed 0 --out runs/calls --verify "
    "--hub-url http://127.0.0.1:8750\n\n"
    "Both commands resume: rerun the same command after an interruption and finished items are skipped.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def _group() -> None:
    """Generate tasks from a catalog."""


def _tools(catalog_dir: Path):
    from toolbench.catalog.store import load_catalog

    catalog = load_catalog(catalog_dir)
    if not catalog.tools:
        raise ToolbenchError(f"--catalog {catalog_dir}: no readable tool file; see `toolbench catalog validate`")
    return catalog.tools


def _chat_model(base_url: str | None, model: str | None, cache: Path | None, what: str):
    if model is None:
        raise ToolbenchError(f"{what} needs --model (and --base-url for a local OpenAI-compatible server)")
    from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

    chat = OpenAIChatModel(OpenAIChatConfig(model=model, base_url=base_url))
    if cache is not None:
        from toolbench.llm.cache import CachedChatModel

        chat = CachedChatModel(chat, cache)
    return chat


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[note]}"), console=console, transient=False)


@app.command("instructions")
def instructions_command(
    catalog: Annotated[Path, typer.Option(help="Catalog folder (<Category>/<tool>.json).")],
    group: Annotated[str, typer.Option(help="G1 (one tool), G2 (one category) or G3 (one collection, or "
                                            "across categories).")],
    n: Annotated[int, typer.Option(help="Queries to keep.")],
    out: Annotated[Path, typer.Option(help="ToolBench query file to write (e.g. runs/gen/G1_query.json); "
                                           "<stem>.journal.jsonl, .rejected.json and .stats.json go next to it.")],
    model: Annotated[str | None, typer.Option(help="Model name at --base-url.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. "
                                                         "http://127.0.0.1:8000/v1.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the API-set sampling and of the requests.")] = 0,
    per_set: Annotated[int, typer.Option(help="Queries asked for each sampled API set.")] = 5,
    cache: Annotated[Path | None, typer.Option(help="Record/replay cache of the LLM requests (SQLite).")] = None,
    json_schema: Annotated[bool, typer.Option("--json-schema/--no-json-schema", help=(
        "Send the reply's JSON schema as response_format (a server with constrained decoding then answers only "
        "well-formed JSON: the entries naming the set's APIs, or the composed query's {\"query\"}); "
        "--no-json-schema for endpoints that reject it."))] = True,
    mode: Annotated[str, typer.Option(help=(
        "compose (default): each query's APIs and argument values are drawn from the set, phrased by rule, and "
        "the model (if given) rewrites it, kept only when the rewrite passes the filters; works with a small "
        "model or none. llm: the model writes whole queries (ToolBench's prompt), for capable models."))]
        = "compose",
    max_tokens: Annotated[int | None, typer.Option(help="Token budget of one model reply (default: 2048; a "
                                                        "compose rewrite asks for about the draft's length).")]
        = None,
) -> None:
    """Sample API sets of a group, write queries for them (composed, or by an LLM), keep those that pass the
    filters (sampled APIs only, 2-5 of them, two tools for G2/G3, values stated, no API name, no duplicate).

    Examples: toolbench generate instructions --catalog data/tools --group G2 --n 50 --base-url
    http://127.0.0.1:8000/v1 --model smollm2 --out runs/gen/G2_query.json

    toolbench generate instructions --catalog data/tools --group G1 --n 20 --mode llm --model gpt-4o-mini
    --out runs/gen/G1_query.json
    """
    from toolbench.generate.instructions import InstructionConfig, InstructionRun

    tools = _tools(catalog)
    try:
        config = InstructionConfig(queries_per_set=per_set, json_schema=json_schema, mode=mode,
                                   **({"max_tokens": max_tokens} if max_tokens else {}))
    except ToolbenchError as exc:
        raise ToolbenchError(f"--mode/--per-set: {exc}") from None
    run = InstructionRun(out=out, group=group, n=n, seed=seed, config=config)
    if mode == "compose" and model is None:
        chat = None
        console.print("no --model: every query is phrased by rule")
    else:
        chat = _chat_model(base_url, model, cache, "generate instructions --mode llm")
    with _progress() as progress:
        task = progress.add_task(f"{run.group} queries", total=n, note="")
        rejected: dict[str, int] = {}

        def on_set(result, kept: int) -> None:
            for r in result.rejected:
                rejected[r.reason] = rejected.get(r.reason, 0) + 1
            progress.update(task, completed=kept, note=f"set {result.api_set.index}, rejected {sum(rejected.values())}")

        stats = run.run(chat, tools, on_set)
    console.print(f"kept {stats['kept']}/{n} queries -> {out}; rejected {stats['rejected']}: "
                  + json.dumps(stats["rejected_by_reason"]) + f"; phrased by {json.dumps(stats['phrased_by'])}")
    if stats["kept"] < n:
        console.print("[yellow]fewer queries than asked: the set budget ran out (see the rejections)[/yellow]")


@app.command("calls")
def calls_command(
    catalog: Annotated[Path, typer.Option(help="Catalog folder (<Category>/<tool>.json).")],
    n: Annotated[int, typer.Option(help="Samples to make (sample ids 0..n-1; a rerun adds only missing ones).")],
    out: Annotated[Path, typer.Option(help="Output folder: samples.jsonl, stats.json, bfcl/, train/, heldout/.")],
    seed: Annotated[int, typer.Option(help="Seed of everything random in the samples.")] = 0,
    verify: Annotated[bool, typer.Option("--verify", help="Run the verification stages (format, execution with "
                                                          "--hub-url, meaning).")] = False,
    hub_url: Annotated[str | None, typer.Option(help="A running hub (`toolbench hub serve`): runs calls for "
                                                        "multi-turn results and for the execution stage.")] = None,
    zh_rate: Annotated[float, typer.Option(help="Share of requests in Chinese.")] = 0.3,
    heldout: Annotated[float, typer.Option(help="Share held out, never sharing an API-argument combination "
                                                "with train.")] = 0.1,
    today: Annotated[str | None, typer.Option(help="Date (YYYY-MM-DD) sampled dates centre on; default: the "
                                                      "median date among the catalog's examples.")] = None,
    model: Annotated[str | None, typer.Option(help="LLM for --paraphrase-rate and --judge.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint of --model.")] = None,
    paraphrase_rate: Annotated[float, typer.Option(help="Share of requests the LLM rewrites (values kept).")] = 0.0,
    paraphrase_model: Annotated[str | None, typer.Option(help="LLM for --paraphrase-rate (default: --model); a "
                                                              "rewrite that loses a value is dropped.")] = None,
    judge: Annotated[bool, typer.Option("--judge", help="The LLM also judges meaning (needs --model).")] = False,
    cache: Annotated[Path | None, typer.Option(help="Record/replay cache of the LLM requests (SQLite).")] = None,
    mix: Annotated[list[str] | None, typer.Option(help="CATEGORY=WEIGHT, repeatable: the share of a category "
                                                       "(the others keep their default weights; 0 drops one).")] = None,
    irrelevance_kind: Annotated[list[str] | None, typer.Option(help="KIND=WEIGHT, repeatable: missing_capability, "
                                                                    "other_category, off_topic.")] = None,
    min_offered: Annotated[int, typer.Option(help="Fewest functions offered in a multiple sample.")] = 3,
    max_offered: Annotated[int, typer.Option(help="Most functions offered in one sample.")] = 6,
    max_parallel: Annotated[int, typer.Option(help="Most calls in a parallel(_multiple) sample.")] = 4,
    near_miss_rate: Annotated[float, typer.Option(help="Share of distractors drawn among the nearest APIs "
                                                       "(same tool, similar names).")] = 0.75,
) -> None:
    """Make function-call samples from the catalog's schemas (simple, multiple, parallel, parallel_multiple,
    irrelevance, hallucination, multi_turn), verify them, and export BFCL, OpenAI and ShareGPT files.

    Example: toolbench generate calls --catalog data/tools --n 300 --out runs/calls --verify --hub-url
    http://127.0.0.1:8750

    Example (more hard cases): toolbench generate calls --catalog data/tools --n 300 --out runs/calls
    --mix multiple=0.3 --mix irrelevance=0.2 --mix simple=0.05 --irrelevance-kind off_topic=0 --max-offered 5
    """
    from toolbench.generate.calls import (
        DEFAULT_IRRELEVANCE,
        DEFAULT_WEIGHTS,
        CallGenerator,
        CallsConfig,
        Paraphraser,
    )
    from toolbench.generate.pipeline import CallsRun
    from toolbench.generate.verify import Verifier

    tools = _tools(catalog)
    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        raise ToolbenchError(f"--today {today!r}: write a date as YYYY-MM-DD") from None
    chat = _chat_model(base_url, model, cache, "--judge") if judge else None
    para = _chat_model(base_url, paraphrase_model or model, cache, "--paraphrase-rate") if paraphrase_rate > 0 else None
    runner = _executor(tools, hub_url) if hub_url else None
    config = CallsConfig(zh_rate=zh_rate, paraphrase_rate=paraphrase_rate, today=day,
                         weights=_weights(mix, "--mix", DEFAULT_WEIGHTS),
                         irrelevance_kinds=_weights(irrelevance_kind, "--irrelevance-kind", DEFAULT_IRRELEVANCE),
                         min_offered=min_offered, max_offered=max_offered, max_parallel=max_parallel,
                         near_miss_rate=near_miss_rate)
    generator = CallGenerator(tools, seed=seed, config=config, runner=runner,
                              paraphraser=Paraphraser(para) if para is not None else None)
    verifier = Verifier(tools, runner=runner, judge=chat if judge else None) if verify else None
    run = CallsRun(out=out, n=n, heldout=heldout, seed=seed)
    try:
        with _progress() as progress:
            task = progress.add_task("samples", total=n, note="")
            status: dict[str, int] = {}

            def on_sample(sample) -> None:
                key = "failed" if sample is None else sample.status.split(":")[0]
                status[key] = status.get(key, 0) + 1
                progress.update(task, advance=1, note=" ".join(f"{k} {v}" for k, v in sorted(status.items())))

            already = run.journaled()
            progress.update(task, completed=min(already, n))
            stats = run.run(generator, verifier, tools, on_sample)
    finally:
        if runner is not None:
            runner.close()
    _print_stats(stats, out)


def _weights(specs: list[str] | None, option: str, defaults: dict[str, float]) -> dict[str, float]:
    """Repeated NAME=WEIGHT options over the defaults."""
    from toolbench.config import parse_pairs

    out = dict(defaults)
    for name, value in parse_pairs(specs, option, "NAME=WEIGHT", "multiple=0.3").items():
        try:
            out[name] = float(value)
        except ValueError:
            raise ToolbenchError(f"{option} {name}={value}: the weight must be a number") from None
    return out


def _executor(tools, hub_url: str):
    from toolbench.executor import Executor, ExecutorConfig

    bases = {t.base_url.rstrip("/") for t in tools if t.base_url}
    key = os.environ.get("TOOLBENCH_API_KEY") or "sandbox-generate"  # the sandbox hub takes any non-empty key
    return Executor(tools, ExecutorConfig(base_url_overrides={b: hub_url.rstrip("/") for b in bases if b},
                                          credentials={"*": key}))


def _print_stats(stats: dict, out: Path) -> None:
    from rich.table import Table

    table = Table("stage", "checked", "passed", "failed", "pass rate", "top failure")
    for stage, row in stats["stages"].items():
        top = next(iter(row["failures"].items()), ("", 0))
        table.add_row(stage, str(row["checked"]), str(row["passed"]), str(row["failed"]),
                      "-" if row["pass_rate"] is None else f"{row['pass_rate']:.1%}",
                      f"{top[0]} ({top[1]})" if top[1] else "")
    console.print(table)
    per_category = ", ".join(f"{cat} {row.get('total', 0) - sum(v for k, v in row.items() if k.startswith('rejected'))}"
                             f"/{row.get('total', 0)}" for cat, row in stats.get("by_category", {}).items())
    if per_category:
        console.print(f"kept/made per category: {per_category}")
    req = stats.get("requests") or {}
    if req.get("requests"):
        console.print(f"requests: {req['requests']}, {req['name_spelled_share']:.1%} spell a parameter name out "
                      f"(target <= 10%), {req['distinct_templates']} distinct templates; verification: "
                      + ", ".join(f"{k} {v}" for k, v in sorted((stats.get("verification") or {}).items())))
    console.print(f"made {stats['made']} samples ({stats['failed_to_make']} could not be made); kept "
                  f"{stats['kept']} (train {stats['train']}, held-out {stats['heldout']}); rejected "
                  f"{stats['rejected']}. Files in {out}; counts in {out / 'stats.json'}")
