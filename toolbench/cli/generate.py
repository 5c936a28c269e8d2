"""``toolbench generate ...``: instructions (LLM-written ToolBench queries) and function-call data (by program)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from toolbench.config import options
from toolbench.errors import ToolbenchError
from toolbench.generate.calls_config import CallsRunConfig  # light: the options are built from it
from toolbench.generate.instructions_config import InstructionsRunConfig  # light, as above

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
    "  toolbench generate tasks runs/calls --k 12 --out runs/tasks/dfsdt_tasks.json\n\n"
    "Both commands resume: rerun the same command after an interruption and finished items are skipped.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def _group() -> None:
    """Generate tasks from a catalog."""


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[note]}"), console=console, transient=False)


INSTRUCTIONS_CONFIG_HELP = ("YAML/TOML/JSON file of InstructionsRunConfig fields (the filters' settings flat or "
                            "under 'instructions').")
INSTRUCTIONS_SET_HELP = "field=value (a YAML value) over the --config file, e.g. --set queries_per_set=3; repeatable."


@app.command("instructions")
@options(InstructionsRunConfig)
def instructions_command(
    settings: dict,  # one option per InstructionsRunConfig / InstructionConfig field
    config: Annotated[Path | None, typer.Option(help=INSTRUCTIONS_CONFIG_HELP)] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=INSTRUCTIONS_SET_HELP)] = None,
) -> None:
    """Sample API sets of a group, write queries for them (composed, or by an LLM), keep those that pass the
    filters (sampled APIs only, 2-5 of them, two tools for G2/G3, values stated, no API name, no duplicate).

    Settings come from the defaults, then --config, then --set, then the options given.

    Examples: toolbench generate instructions --catalog data/tools --group G2 --n 50 --base-url
    http://127.0.0.1:8000/v1 --model smollm2 --out runs/gen/G2_query.json

    toolbench generate instructions --catalog data/tools --group G1 --n 20 --mode llm --model gpt-4o-mini
    --out runs/gen/G1_query.json

    toolbench generate instructions --config g3.yaml --set n=20 --set min_relevant=3
    """
    from toolbench.config import from_command
    from toolbench.generate.instructions import run
    from toolbench.generate.instructions_config import InstructionsConfigError

    cfg = from_command(InstructionsRunConfig, settings, config, set_, error=InstructionsConfigError,
                       example="queries_per_set=3")
    if cfg.phrased_by_rule:
        console.print("no --model: every query is phrased by rule")
    with _progress() as progress:
        task = progress.add_task(f"{cfg.group} queries", total=cfg.n, note="")
        rejected: dict[str, int] = {}

        def on_set(result, kept: int) -> None:
            for r in result.rejected:
                rejected[r.reason] = rejected.get(r.reason, 0) + 1
            progress.update(task, completed=kept, note=f"set {result.api_set.index}, rejected {sum(rejected.values())}")

        stats = run(cfg, on_set)
    console.print(f"kept {stats['kept']}/{cfg.n} queries -> {cfg.out}; rejected {stats['rejected']}: "
                  + json.dumps(stats["rejected_by_reason"]) + f"; phrased by {json.dumps(stats['phrased_by'])}")
    if stats["kept"] < cfg.n:
        console.print("[yellow]fewer queries than asked: the set budget ran out (see the rejections)[/yellow]")


CONFIG_HELP = "YAML/TOML/JSON file of CallsRunConfig fields (the samples' settings flat or under 'calls')."
SET_HELP = "field=value (a YAML value) over the --config file, e.g. --set zh_rate=0.5; repeatable."


@app.command("calls")
@options(CallsRunConfig)
def calls_command(
    settings: dict,  # one option per CallsRunConfig / CallsConfig field
    config: Annotated[Path | None, typer.Option(help=CONFIG_HELP)] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
) -> None:
    """Make function-call samples from the catalog's schemas (simple, multiple, parallel, parallel_multiple,
    irrelevance, hallucination, multi_turn), verify them, and export BFCL, OpenAI and ShareGPT files.

    Settings come from the defaults, then --config, then --set, then the options given.

    Example: toolbench generate calls --catalog data/tools --n 300 --out runs/calls --verify --hub-url
    http://127.0.0.1:8750

    Example (more hard cases): toolbench generate calls --catalog data/tools --n 300 --out runs/calls
    --mix multiple=0.3 --mix irrelevance=0.2 --mix simple=0.05 --irrelevance-kind off_topic=0 --max-offered 5

    Example (from a file): toolbench generate calls --config calls.yaml --set n=50
    """
    from toolbench.config import from_command
    from toolbench.generate.calls_config import DEFAULT_IRRELEVANCE, DEFAULT_WEIGHTS, CallsConfigError
    from toolbench.generate.pipeline import run

    for name, option, defaults in (("weights", "--mix", DEFAULT_WEIGHTS),
                                   ("irrelevance_kinds", "--irrelevance-kind", DEFAULT_IRRELEVANCE)):
        if settings.get(name):  # the options change the named entries of the default mix
            settings[name] = _weights(settings[name], option, defaults)
    cfg = from_command(CallsRunConfig, settings, config, set_, error=CallsConfigError, example="zh_rate=0.5")
    with _progress() as progress:
        task = progress.add_task("samples", total=cfg.n, note="")
        status: dict[str, int] = {}

        def on_sample(sample) -> None:
            key = "failed" if sample is None else sample.status.split(":")[0]
            status[key] = status.get(key, 0) + 1
            progress.update(task, advance=1, note=" ".join(f"{k} {v}" for k, v in sorted(status.items())))

        stats = run(cfg, on_sample, on_resume=lambda already: progress.update(task, completed=min(already, cfg.n)))
    _print_stats(stats, Path(cfg.out))


@app.command("tasks")
def tasks_command(
    calls: Annotated[Path, typer.Argument(help="The folder `toolbench generate calls --out` wrote.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Task file to write (a JSON list of ToolBench queries "
                                                          "with an 'expectation'), e.g. runs/tasks/dfsdt_tasks.json.")],
    k: Annotated[int, typer.Option("--k", help="Tasks at most.")] = 10,
    split: Annotated[str, typer.Option(help="heldout (default) or train: whose queries become tasks.")] = "heldout",
) -> None:
    """Agent tasks a rule check can score: up to K queries of the call data whose samples' calls all have a
    known result, each with the calls a correct run makes as its 'expectation', categories interleaved. The
    --tasks of `toolbench annotate compare`; `toolbench eval judge pass-rate --queries` checks them by rules.

    Example: toolbench generate tasks runs/calls --k 12 --out runs/tasks/dfsdt_tasks.json
    """
    from toolbench.formats.atomic import write_json_atomic
    from toolbench.generate.tasks import split_tasks

    if split not in ("heldout", "train"):
        raise ToolbenchError(f"--split {split!r}: use heldout or train")
    tasks = split_tasks(calls, k, split)
    write_json_atomic(out, tasks)
    console.print(f"{len(tasks)} tasks -> {out}")


def _weights(specs: list[str] | None, option: str, defaults: dict[str, float]) -> dict[str, float]:
    """Repeated NAME=WEIGHT options over the defaults."""
    from toolbench.config import parse_pairs

    return {**defaults, **parse_pairs(specs, option, "NAME=WEIGHT", "multiple=0.3", number=float)}


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
