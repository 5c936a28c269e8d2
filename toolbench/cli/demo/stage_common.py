"""What the demo's stage modules share: the models' names, the working catalog, the hub's address and key, a
progress bar, and the reading of an interrupted run's journals. Nothing here runs a stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolbench.cli.demo.stage_runner import DemoContext

BASE_NAME = "SmolLM2-135M"
TUNED_NAME = "SmolLM2-135M+LoRA"
DISPLAY = {"base": BASE_NAME, "tuned": TUNED_NAME}
SERVED = {"base": "smollm2-135m-instruct", "tuned": "smollm2-135m-demo-lora"}
API_KEY_ENV = "TOOLBENCH_API_KEY"
SANDBOX_KEY = "sandbox-demo"  # the sandbox hub takes any non-empty key


def progress(console: Any, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[note]}"), console=console, transient=False)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a journal an interrupted run may have left: none when it is missing, and a line cut off by the
    interruption ends it."""
    from toolbench.formats.jsonl import read_jsonl as read

    return read(path, resume=True) if path.exists() else []


def working_catalog(ctx: DemoContext) -> Path:
    """The catalog the stages after the crawl use: the crawl's kept APIs, else the imported catalog."""
    kept = ctx.path("crawl", "tools")
    if ctx.figures("crawl").get("kept_tools") and kept.is_dir():
        return kept
    return ctx.path("catalog")


def catalog_tools(ctx: DemoContext) -> list[Any]:
    from toolbench.catalog.store import load_catalog

    return load_catalog(working_catalog(ctx)).tools


def hub_overrides(tools: list[Any], hub_url: str) -> dict[str, str]:
    """Every tool's base URL -> the hub's actual address (the catalog says 127.0.0.1:8750; the demo's hub runs on
    a free port)."""
    from toolbench.generate.pipeline import hub_overrides

    return hub_overrides(tools, hub_url)


def credentials() -> dict[str, str]:
    """$TOOLBENCH_API_KEY, else the demo's one sandbox key, for every call of every stage."""
    from toolbench.generate.pipeline import hub_credentials

    return hub_credentials(SANDBOX_KEY)


def make_executor(tools: list[Any], hub_url: str) -> Any:
    """The executor of ``generate calls`` (:func:`toolbench.generate.pipeline.hub_runner`) with the demo's key."""
    from toolbench.generate.pipeline import hub_runner

    return hub_runner(tools, hub_url, SANDBOX_KEY)


def samples(ctx: DemoContext) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in read_jsonl(ctx.path("calls", "samples.jsonl")) if "id" in row}


def chat(ctx: DemoContext, kind: str, url: str, cache: Path) -> Any:
    from toolbench.llm.factory import make_chat_model

    return make_chat_model(SERVED[kind], base_url=url, cache_path=cache, timeout=900.0, max_retries=1,
                           max_concurrency=ctx.profile.concurrency)


def count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[str(value)] = out.get(str(value), 0) + 1
    return dict(sorted(out.items()))
