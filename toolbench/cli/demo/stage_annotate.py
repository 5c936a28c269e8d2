"""The demo's search stage, once per model: ReACT, ReACT@N and DFSDT on the held-out tasks with the same budget
of model calls (``toolbench annotate compare``, :mod:`annotate.compare`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from toolbench.cli.demo import stage_common as common
from toolbench.cli.demo.stage_runner import DemoContext, StageOutput


def compare_config(ctx: DemoContext, kind: str, url: str | None = None) -> Any:
    """The equal-budget comparison of one model on the held-out tasks (``toolbench annotate compare``'s config)."""
    from annotate.compare import CompareConfig

    p = ctx.profile
    return CompareConfig(tasks=str(ctx.path("tasks", "dfsdt_tasks.json")), out=str(ctx.path("compare", kind)),
                         models={kind: f"{common.SERVED[kind]}@{url}" if url else common.SERVED[kind]},
                         strategies=p.compare_strategies, budget=p.dfsdt_max_llm_calls, max_steps=p.dfsdt_max_steps,
                         width=p.dfsdt_width, max_reply_tokens=p.dfsdt_reply_tokens,
                         max_observation_chars=p.observation_chars, concurrency=p.concurrency,
                         catalog=str(common.working_catalog(ctx)), llm_timeout=900.0)


def stage_annotate(kind: str) -> Callable[[DemoContext], StageOutput]:
    """ReACT, ReACT@N and DFSDT on the held-out tasks with the same budget of model calls (annotate/compare.py)."""
    def run(ctx: DemoContext) -> StageOutput:
        from annotate.compare import STRATEGY_NAMES
        from annotate.compare import run as compare
        from annotate.runner import ExecutorRunner
        from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

        p = ctx.profile
        tasks = json.loads(ctx.path("tasks", "dfsdt_tasks.json").read_text(encoding="utf-8"))
        if not tasks:
            return StageOutput({"tasks": 0}, {}, "no checkable held-out task: nothing to search")
        url = ctx.services.llm(kind)
        hub = ctx.services.hub()
        cfg = compare_config(ctx, kind, url)
        executor = common.make_executor(common.catalog_tools(ctx), hub.url)
        chat = OpenAIChatModel(OpenAIChatConfig(model=common.SERVED[kind], base_url=url, timeout=900.0, max_retries=1,
                                                max_concurrency=p.concurrency))
        try:
            rows = compare(cfg, {kind: chat}, lambda functions: ExecutorRunner(executor, functions))
        finally:
            executor.close()
        figures: dict[str, Any] = {"tasks": len(tasks), "budget": cfg.budget}
        for strategy in cfg.strategy_list:
            units = [r for r in rows if r["strategy"] == strategy]
            figures[strategy] = {key: sum(r[key] for r in units) for key in ("llm_calls", "api_calls", "api_made",
                                                                             "pruned_calls", "seconds")}
            figures[strategy]["answered"] = sum(1 for r in units if r["finish_type"] == "give_answer")
        note = ", ".join(f"{STRATEGY_NAMES[s]} answered {figures[s]['answered']}/{len(tasks)} "
                         f"({figures[s]['llm_calls']} model calls)" for s in cfg.strategy_list)
        return StageOutput(figures, {f"comparison ({kind})": cfg.out},
                           f"{common.DISPLAY[kind]}, {cfg.budget} model calls per task: {note}")

    return run
