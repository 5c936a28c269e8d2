"""The demo's evaluation stages, once per model: AST accuracy on the held-out split (``toolbench eval ast``,
:func:`eval.ast_run.run` with :func:`ast_config`) with tiers and hallucination (``toolbench eval report``), and
BFCL's public categories (``toolbench eval bfcl-public``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolbench.cli.demo import data
from toolbench.cli.demo import stage_common as common
from toolbench.cli.demo.stage_runner import DemoContext, StageOutput
from toolbench.formats.atomic import write_json_atomic, write_text_atomic


def predict_config(ctx: DemoContext, max_tokens: int) -> Any:
    """How a model is asked (``eval.predict.RunnerConfig``): the profile's concurrency and seed."""
    from eval import predict

    return predict.RunnerConfig(max_tokens=max_tokens, concurrency=ctx.profile.concurrency, seed=ctx.profile.seed)


def ast_config(ctx: DemoContext, kind: str) -> Any:
    """``toolbench eval ast``'s config: the model ``kind`` (base or tuned, served by the demo) run on the held-out
    split, its replies cached in ``eval/<kind>/llm_cache.sqlite``, the verdicts in ``eval/<kind>/ast/``, per-API
    accuracy keyed by the working catalog's APIs."""
    from eval.ast_run import AstRunConfig

    folder = ctx.path("eval", kind)
    return AstRunConfig(dataset=str(ctx.path("eval", "heldout", "questions.jsonl")),
                        answers=str(ctx.path("eval", "heldout", "possible_answer.jsonl")),
                        out=str(folder / "ast" / "ast.jsonl"), base_url=ctx.services.llm(kind),
                        model=common.SERVED[kind], name=common.DISPLAY[kind],
                        runner=predict_config(ctx, ctx.profile.eval_max_tokens), timeout=900.0, max_retries=1,
                        cache=str(folder / "llm_cache.sqlite"), catalog=str(common.working_catalog(ctx)))


def stage_eval(kind: str) -> Callable[[DemoContext], StageOutput]:
    def run(ctx: DemoContext) -> StageOutput:
        """``toolbench eval ast`` (:func:`eval.ast_run.run`) with :func:`ast_config`, then the tier and
        hallucination summaries of its verdicts (``toolbench eval report``)."""
        from eval import ast_run, tiers
        from eval.leaderboard import summary_markdown

        config = ast_config(ctx, kind)
        name = common.DISPLAY[kind]
        folder = ctx.path("eval", kind)
        with common.progress(ctx.console, f"AST {name}") as progress:
            task = progress.add_task("entries", total=None, note="")
            cached = {"n": 0}

            def on_done(prediction: Any) -> None:
                cached["n"] += prediction.cached
                progress.update(task, advance=1, note=f"cached {cached['n']}")

            result = ast_run.run(config, on_start=lambda total: progress.update(task, total=total), on_done=on_done)
        outcome, paths = result.outcome, result.paths
        extra: dict[str, Any] = {}
        for summary in tiers.summaries(result.entries, outcome.rows, name):
            summary_path = folder / "report" / f"{summary['kind']}.summary.json"
            write_json_atomic(summary_path, summary)
            write_text_atomic(summary_path.with_name(f"{summary['kind']}.summary.md"), summary_markdown(summary))
            extra[summary["kind"]] = summary
        overall = outcome.summary["overall"]
        figures: dict[str, Any] = {
            "ast": {"accuracy": overall["accuracy"], "correct": overall["correct"], "n": overall["n"]},
            "categories": {c: f["accuracy"] for c, f in outcome.summary["categories"].items()},
            "request_errors": outcome.summary.get("request_errors", 0),
        }
        if "tiers" in extra:
            figures["tiers"] = {t: f["accuracy"] for t, f in extra["tiers"]["groups"].items()}
        if "hallucination" in extra:
            figures["hallucination"] = extra["hallucination"]["line"]
        note = (f"{name}: AST accuracy {data.percent(overall['accuracy'])} ({overall['correct']}/{overall['n']})"
                + (f"; hallucination {figures['hallucination']}" if "hallucination" in figures else ""))
        return StageOutput(figures, {f"AST verdicts ({kind})": str(paths["verdicts"]),
                                     f"AST summary ({kind})": str(paths["markdown"]),
                                     f"per-API accuracy ({kind})": str(paths["per_api"])}, note)

    return run


def bfcl_sample(ctx: DemoContext) -> Any:
    """The public BFCL sample of this run: written once to ``bfcl/sample.json`` and read back after, so both models
    (and every rerun) answer the same ids."""
    from eval.public_bfcl import kept_sample

    categories = [c.strip() for c in ctx.profile.bfcl_categories.split(",") if c.strip()]
    return kept_sample(ctx.path("bfcl", "sample.json"), categories, ctx.profile.bfcl_per_category, seed=0)


def stage_bfcl(kind: str) -> Callable[[DemoContext], StageOutput]:
    """BFCL's public categories (from the installed bfcl-eval), function calling with tool_choice auto: the
    model decides whether to call; a grammar may shape a call once it starts, never force one."""

    def run(ctx: DemoContext) -> StageOutput:
        from eval.public_bfcl import run_public_bfcl, server_constrained_decoding

        p = ctx.profile
        sample = bfcl_sample(ctx)
        total = sum(len(ids) for ids in sample.ids.values())
        url = ctx.services.llm(kind)
        folder = ctx.path("bfcl", kind)
        chat = common.chat(ctx, kind, url, folder / "llm_cache.sqlite")
        config = predict_config(ctx, p.bfcl_max_tokens)
        try:
            with common.progress(ctx.console, f"BFCL {common.DISPLAY[kind]}") as progress:
                task = progress.add_task("entries", total=total, note="")
                summary = run_public_bfcl(chat, sample=sample, out_dir=folder, name=common.DISPLAY[kind],
                                          tool_choice="auto", config=config,
                                          constrained_decoding=server_constrained_decoding(url),
                                          on_done=lambda _prediction: progress.update(task, advance=1))
        finally:
            chat.close()
        overall = summary["overall"]
        micro = overall["micro"]
        note = (f"{common.DISPLAY[kind]}: BFCL public, {micro['n']} entries, micro {data.percent(micro['accuracy'])}, "
                f"macro {data.percent(overall['macro']['accuracy'])}")
        return StageOutput({"public": summary}, {f"BFCL predictions and verdicts ({kind})": str(folder),
                                                 "BFCL sample (ids)": str(ctx.path("bfcl", "sample.json"))}, note)

    return run
