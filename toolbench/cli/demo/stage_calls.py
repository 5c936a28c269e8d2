"""The demo's call-data stage (``toolbench generate calls``, verified against the hub), then what the evaluation
stages read from it: the held-out BFCL entries labelled with tiers and entities (``eval/tiers.py``), a seeded
pick of them (profile ``eval_entries``), and the held-out DFSDT tasks with rule-checkable expectations."""

from __future__ import annotations

from typing import Any

from toolbench.cli.demo import stage_common as common
from toolbench.cli.demo.stage_runner import DemoContext, DemoError, StageOutput
from toolbench.formats.atomic import atomic_dir, write_json_atomic, write_jsonl_atomic


def calls_config(ctx: DemoContext) -> Any:
    """``toolbench generate calls``' config: the working catalog's samples, verified (format, execution on the
    demo's hub, meaning) into ``calls/``, with the profile's size, held-out share, seed and generator settings."""
    from toolbench.generate.calls import CallsConfig
    from toolbench.generate.calls_config import CallsRunConfig

    p = ctx.profile
    return CallsRunConfig(catalog=str(common.working_catalog(ctx)), n=p.calls, out=str(ctx.path("calls")),
                          calls=CallsConfig(zh_rate=p.zh_rate, max_offered=p.max_offered, max_parallel=p.max_parallel),
                          seed=p.seed, heldout=p.heldout, verify=True, hub_url=ctx.services.hub().url)


def stage_calls(ctx: DemoContext) -> StageOutput:
    """``toolbench generate calls`` (:func:`toolbench.generate.pipeline.run`) with the demo's one sandbox key: the
    hub state the crawl left under that key is the one the samples are made and verified against."""
    from toolbench.generate import pipeline

    p = ctx.profile
    config = calls_config(ctx)
    with common.progress(ctx.console, "generate calls") as progress:
        task = progress.add_task("samples", total=p.calls, note="")
        status: dict[str, int] = {}

        def on_sample(sample: Any) -> None:
            key = "failed" if sample is None else sample.status.split(":")[0]
            status[key] = status.get(key, 0) + 1
            progress.update(task, advance=1, note=" ".join(f"{k} {v}" for k, v in sorted(status.items())))

        stats = pipeline.run(config, on_sample, on_resume=lambda done: progress.update(task, completed=min(done, p.calls)),
                             hub_key=common.SANDBOX_KEY)

    reference = reference_calls(ctx)
    entries, tasks = heldout_sets(ctx)
    stages = {name: {"passed": row["passed"], "checked": row["checked"]} for name, row in stats["stages"].items()}
    figures = {"made": stats["made"], "kept": stats["kept"], "train": stats["train"], "heldout": stats["heldout"],
               "rejected": stats["rejected"], "languages": stats["languages"], "verification": stages,
               "eval_entries": len(entries), "eval_categories": common.count(e.get("category") for e in entries),
               "dfsdt_tasks": len(tasks), "reference": reference}
    note = (f"kept {stats['kept']}/{stats['made']} verified samples (train {stats['train']}, held-out "
            f"{stats['heldout']}); {len(entries)} held-out BFCL entries and {len(tasks)} DFSDT tasks to evaluate")
    if reference:
        note += (f"; {reference['kept']} samples from the reference catalog ({reference['apis']} APIs, verified by "
                 "format and meaning)")
    return StageOutput(figures, {"call data": str(ctx.path("calls")),
                                 "held-out BFCL set": str(ctx.path("eval", "heldout", "questions.jsonl")),
                                 "DFSDT tasks": str(ctx.path("tasks", "dfsdt_tasks.json"))}, note)


def reference_calls(ctx: DemoContext) -> dict[str, Any] | None:
    """Call data from the profile's ``reference_catalog`` too (``catalog import-toolbench`` into
    ``reference/catalog``, then ``generate calls --verify`` into ``reference/calls``): many more real function
    signatures than the hub's; no backend, so format and meaning are verified. None when the profile has none."""
    from pathlib import Path

    from toolbench.catalog.importer import import_toolbench
    from toolbench.catalog.store import load_catalog
    from toolbench.generate import pipeline
    from toolbench.generate.calls_config import CallsRunConfig

    p = ctx.profile
    if not p.reference_catalog or not p.reference_calls:
        return None
    source = Path(p.reference_catalog)
    if not source.exists():
        raise DemoError(f"profile field 'reference_catalog': {source} not found (run the demo from the repository "
                        "root, give another file, or --set reference_catalog=null)")
    catalog = ctx.path("reference", "catalog")
    if not catalog.exists():
        with atomic_dir(catalog, clear_leftovers=True) as folder:
            import_toolbench(source, folder)
    config = CallsRunConfig(catalog=str(catalog), n=p.reference_calls, out=str(ctx.path("reference", "calls")),
                            calls=p.reference_calls_config(),
                            seed=p.seed, heldout=0.0, verify=True)
    with common.progress(ctx.console, "reference calls") as progress:
        task = progress.add_task("samples", total=p.reference_calls, note="")
        stats = pipeline.run(config, on_sample=lambda _: progress.update(task, advance=1),
                             on_resume=lambda done: progress.update(task, completed=done))
    apis = sum(len(t.apis) for t in load_catalog(catalog).tools)
    return {"source": str(source), "apis": apis, "made": stats["made"], "kept": stats["kept"],
            "train": stats["train"], "categories": {c: row.get("passed", 0)
                                                    for c, row in stats.get("by_category", {}).items()}}


def heldout_sets(ctx: DemoContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the evaluation stages score, from the held-out split of the call data: the BFCL entries labelled with
    tiers and entities, a seeded pick of ``eval_entries`` of them, categories interleaved (written with their
    answers to ``eval/heldout/``: ``toolbench eval tiers --pick``), and up to ``dfsdt_tasks`` held-out queries with
    rule-checkable expectations (``tasks/dfsdt_tasks.json``: ``toolbench generate tasks``)."""
    from eval.tiers import label_entries, pick_entries
    from toolbench.generate.tasks import split_tasks

    p = ctx.profile
    samples = common.samples(ctx)
    heldout = ctx.path("calls", "heldout")
    entries = label_entries(common.read_jsonl(heldout / "bfcl_questions.jsonl"), samples)
    if p.eval_entries is not None:
        entries = pick_entries(entries, p.eval_entries, p.seed)
    if not entries:
        raise DemoError("the held-out split is empty: raise the profile's 'calls' or 'heldout'")
    ids = {e["id"] for e in entries}
    answers = [a for a in common.read_jsonl(heldout / "bfcl_possible_answer.jsonl") if a["id"] in ids]
    write_jsonl_atomic(ctx.path("eval", "heldout", "questions.jsonl"), entries)
    write_jsonl_atomic(ctx.path("eval", "heldout", "possible_answer.jsonl"), answers)
    tasks = split_tasks(ctx.path("calls"), p.dfsdt_tasks)
    write_json_atomic(ctx.path("tasks", "dfsdt_tasks.json"), tasks)
    return entries, tasks
