"""The demo's instruction stage: G1/G2/G3 queries (``toolbench generate instructions --mode compose``) phrased
by the base model."""

from __future__ import annotations

from typing import Any

from toolbench.cli.demo import stage_common as common
from toolbench.cli.demo.stage_runner import DemoContext, StageOutput

INSTRUCTION_GROUPS = ("G1", "G2", "G3")


def instructions_config(ctx: DemoContext, group: str) -> Any:
    """``toolbench generate instructions --mode compose``'s config from the profile, for one group: the working
    catalog, ``instruction_sets`` x ``instruction_queries`` queries into ``instructions/<group>_query.json``."""
    from toolbench.generate.instructions_config import InstructionConfig, InstructionsRunConfig

    p = ctx.profile
    return InstructionsRunConfig(
        catalog=str(common.working_catalog(ctx)), group=group, n=p.instruction_sets * p.instruction_queries,
        out=str(ctx.path("instructions", f"{group}_query.json")), seed=p.seed,
        instructions=InstructionConfig(mode="compose", queries_per_set=p.instruction_queries,
                                       max_tokens=p.instruction_max_tokens, temperature=0.7))


def stage_instructions(ctx: DemoContext) -> StageOutput:
    """G1/G2/G3 queries for the retriever, composed from sampled APIs and values and phrased by the base model
    (its rewrite kept only when it passes the filters, else the rule's text): ``instruction_sets`` x
    ``instruction_queries`` queries per group, one short model request each; the three groups run side by side
    (the server batches their requests). Each group is :func:`toolbench.generate.instructions.run` with
    :func:`instructions_config`; the three share the demo's one client of the base model (``chat=``)."""
    from concurrent.futures import ThreadPoolExecutor

    from toolbench.generate.errors import GenerateError
    from toolbench.generate.instructions import run

    p = ctx.profile
    url = ctx.services.llm("base")
    wanted = p.instruction_sets * p.instruction_queries
    chat = common.chat(ctx, "base", url, ctx.path("instructions", "llm_cache.sqlite"))
    groups: dict[str, Any] = {}
    files: dict[str, str] = {}
    kept_now = dict.fromkeys(INSTRUCTION_GROUPS, 0)
    try:
        with common.progress(ctx.console, "G1/G2/G3 instructions (queries)") as progress:
            task = progress.add_task("queries", total=wanted * len(INSTRUCTION_GROUPS), note="")

            def one(group: str) -> None:
                def on_set(result: Any, kept: int) -> None:
                    kept_now[group] = kept
                    progress.update(task, completed=sum(kept_now.values()), note=f"{group}: kept {kept}")

                try:
                    config = instructions_config(ctx, group)
                    stats = run(config, on_set, chat=chat)
                except GenerateError as exc:  # the catalog has no set of this group (e.g. one tool per category)
                    groups[group] = {"wanted": wanted, "kept": 0, "yield": 0.0, "unavailable": str(exc)}
                    return
                groups[group] = {key: stats[key] for key in ("wanted", "kept", "yield", "phrased_by",
                                                             "rejected_by_reason", "model_text_refused")}
                files[f"{group} instructions"] = config.out

            with ThreadPoolExecutor(len(INSTRUCTION_GROUPS)) as pool:
                list(pool.map(one, INSTRUCTION_GROUPS))  # list(): a group's exception is raised here
    finally:
        chat.close()
    groups = {g: groups[g] for g in INSTRUCTION_GROUPS if g in groups}
    files = {k: files[k] for k in sorted(files)}
    kept = sum(g["kept"] for g in groups.values())
    by_model = sum(g.get("phrased_by", {}).get("model", 0) for g in groups.values())
    figures = {"wanted": wanted * len(INSTRUCTION_GROUPS), "kept": kept,
               "yield": round(kept / (wanted * len(INSTRUCTION_GROUPS)), 4), "phrased_by_model": by_model,
               "groups": groups}
    per_group = ", ".join(f"{g} {v['kept']}/{v['wanted']}" for g, v in groups.items())
    return StageOutput(figures, files, f"{kept} usable queries of {figures['wanted']} asked ({per_group}); the base "
                                       f"model's own phrasing kept for {by_model}, the rule's for the rest")
