"""The demo's stages, each through the same code as its own command (see README): the stage packages are
imported inside the stage functions, as the CLI may.

Run folder (``<out>/``)::

    catalog/              the hub's catalog, imported from its OpenAPI documents over HTTP
    crawl/                crawl.sqlite, cache.sqlite (responses), report.json/.md, tools/ (kept APIs: the
                          catalog every later stage uses)
    compress/report.json  schema-based compression of the crawled responses
    calls/                generate calls: samples.jsonl, stats.json, bfcl/, train/, heldout/
    eval/heldout/         the held-out BFCL entries scored (with tier and entity labels) and their answers
    tasks/dfsdt_tasks.json held-out tasks with rule-checkable expectations (ToolBench query file)
    instructions/         G1/G2/G3_query.json: composed queries phrased by the local model (ToolBench query
                          files, rejections, stats)
    annotate/{base,tuned}/ DFSDT campaigns (ToolBench answer files, events, SQLite state)
    retriever/            trained retriever (model/), its evaluation (eval/results.md) and faiss index (index/)
    sft/                  data/train.jsonl (the LoRA mix), recipe.yaml, run/ (checkpoints, adapter/, final/),
                          tuned.<quant>.gguf (final/ exported for llama.cpp)
    eval/{base,tuned}/    AST verdicts, predictions, per-API accuracy, tiers, hallucination, pass rate
    bfcl/                 sample.json (the public BFCL ids), {base,tuned}/ (BFCL result files, verdicts,
                          public_bfcl.summary.json/.md)
    leaderboard/          index.html, leaderboard.md/.csv, plots/
    logs/                 the model servers' and the trainer's output
    state/                stage markers (resume), the profile, a line per run
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toolbench.cli.demo import data
from toolbench.cli.demo.stage_runner import (
    DemoContext,
    DemoError,
    Stage,
    StageOutput,
)
from toolbench.formats.atomic import atomic_dir, write_json_atomic, write_jsonl_atomic, write_text_atomic

BASE_NAME = "SmolLM2-135M"
TUNED_NAME = "SmolLM2-135M+LoRA"
DISPLAY = {"base": BASE_NAME, "tuned": TUNED_NAME}
SERVED = {"base": "smollm2-135m-instruct", "tuned": "smollm2-135m-demo-lora"}
RULES_GROUP = "DFSDT (rule checks)"
JUDGE_GROUP = "DFSDT (LLM judge)"
API_KEY_ENV = "TOOLBENCH_API_KEY"
SANDBOX_KEY = "sandbox-demo"  # the sandbox hub takes any non-empty key


# -- helpers ----------------------------------------------------------------------------------------------------

def _progress(console: Any, label: str):
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


def _tools(ctx: DemoContext) -> list[Any]:
    from toolbench.catalog.store import load_catalog

    return load_catalog(working_catalog(ctx)).tools


def _overrides(tools: list[Any], hub_url: str) -> dict[str, str]:
    """Every tool's base URL -> the hub's actual address (the catalog says 127.0.0.1:8750; the demo's hub runs on
    a free port)."""
    return {t.base_url.rstrip("/"): hub_url.rstrip("/") for t in tools if t.base_url}


def _credentials() -> dict[str, str]:
    return {"*": os.environ.get(API_KEY_ENV) or SANDBOX_KEY}


def _executor(tools: list[Any], hub_url: str) -> Any:
    from toolbench.executor import Executor, ExecutorConfig

    return Executor(tools, ExecutorConfig(base_url_overrides=_overrides(tools, hub_url), credentials=_credentials()))


def _samples(ctx: DemoContext) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in read_jsonl(ctx.path("calls", "samples.jsonl")) if "id" in row}


def _chat(ctx: DemoContext, kind: str, url: str, cache: Path) -> Any:
    from toolbench.llm.factory import make_chat_model

    return make_chat_model(SERVED[kind], base_url=url, cache_path=cache, timeout=900.0, max_retries=1,
                           max_concurrency=ctx.profile.concurrency)


# -- 1. catalog -------------------------------------------------------------------------------------------------

def stage_catalog(ctx: DemoContext) -> StageOutput:
    """Import the hub's tools from the OpenAPI documents it publishes, as `catalog import-openapi` would."""
    import httpx

    from toolbench.catalog.openapi import import_openapi
    from toolbench.catalog.store import load_catalog, write_tool

    hub = ctx.services.hub()
    tools = []
    with httpx.Client(timeout=30.0) as client:
        for slug in hub.slugs:
            response = client.get(f"{hub.url}/openapi/{slug}.json")
            response.raise_for_status()
            tools.append(import_openapi(response.json()))
    target = ctx.path("catalog")
    with atomic_dir(target, clear_leftovers=True) as folder:
        for tool in tools:
            write_tool(tool, folder)
    catalog = load_catalog(target)
    committed = Path(__file__).resolve().parents[3] / "data" / "tools"
    same = None
    if committed.is_dir():
        ours = {p.relative_to(target): p.read_text(encoding="utf-8") for p in target.rglob("*.json")}
        theirs = {p.relative_to(committed): p.read_text(encoding="utf-8") for p in committed.rglob("*.json")}
        same = ours == theirs
    figures = {"tools": len(catalog.tools), "apis": len(catalog.apis()), "categories": len(catalog.categories()),
               "same_as_data_tools": same}
    note = f"{figures['tools']} tools, {figures['apis']} APIs in {figures['categories']} categories from {hub.url}"
    if same is not None:
        note += "; identical to data/tools" if same else "; differs from data/tools (stale? see docs/catalog.md)"
    return StageOutput(figures, {"catalog": str(target)}, note)


# -- 2. crawl ----------------------------------------------------------------------------------------------------

def stage_crawl(ctx: DemoContext) -> StageOutput:
    from toolbench.crawl import CrawlConfig, CrawlTarget, crawl, load_tools

    tools = load_tools(ctx.path("catalog"))
    hub = ctx.services.hub()
    config = CrawlConfig(samples=ctx.profile.crawl_samples, seed=ctx.profile.seed)
    report = crawl(tools, ctx.path("crawl"), config,
                   CrawlTarget(base_url_overrides=_overrides(tools, hub.url), credentials=_credentials()),
                   progress=True)
    summary = report["summary"]
    figures = {key: summary.get(key) for key in ("apis", "alive", "kept_apis", "tools", "kept_tools", "calls",
                                                  "median_api_p50", "schemas_inferred")}
    note = (f"{summary['alive']}/{summary['apis']} APIs alive, {summary['kept_apis']} kept; median p50 "
            f"{summary.get('median_api_p50')} s")
    return StageOutput(figures, {"crawl report": str(ctx.path("crawl", "report.md")),
                                 "kept catalog": str(ctx.path("crawl", "tools")),
                                 "response cache": str(ctx.path("crawl", "cache.sqlite"))}, note)


# -- 3. compress -------------------------------------------------------------------------------------------------

def stage_compress(ctx: DemoContext) -> StageOutput:
    from toolbench.cache import ResponseCache
    from toolbench.compress import CompressConfig, compression_report

    tools = _tools(ctx)
    schemas = {(t.name, a.name): a.response_schema for t in tools for a in t.apis}
    cache = ResponseCache(ctx.path("crawl", "cache.sqlite"))
    try:
        report = compression_report(cache.entries(), schemas,
                                    CompressConfig(max_total_chars=ctx.profile.observation_chars))
    finally:
        cache.close()
    path = ctx.path("compress", "report.json")
    write_json_atomic(path, report)
    overall = report["overall"]
    figures = {"responses": overall["responses"], "original_chars": overall["original_chars"],
               "compressed_chars": overall["compressed_chars"], "ratio": overall["ratio"]}
    return StageOutput(figures, {"compression report": str(path)},
                       f"{overall['responses']} responses, {overall['original_chars']:,} -> "
                       f"{overall['compressed_chars']:,} chars (ratio {overall['ratio']:.3f})")


# -- 4. call data ------------------------------------------------------------------------------------------------

def stage_calls(ctx: DemoContext) -> StageOutput:
    from toolbench.catalog.store import load_queries
    from toolbench.generate.calls import CallGenerator, CallsConfig
    from toolbench.generate.pipeline import CallsRun
    from toolbench.generate.verify import Verifier

    p = ctx.profile
    tools = _tools(ctx)
    hub = ctx.services.hub()
    executor = _executor(tools, hub.url)
    config = CallsConfig(zh_rate=p.zh_rate, max_offered=p.max_offered, max_parallel=p.max_parallel)
    generator = CallGenerator(tools, seed=p.seed, config=config, runner=executor)
    run = CallsRun(out=ctx.path("calls"), n=p.calls, heldout=p.heldout, seed=p.seed)
    try:
        with _progress(ctx.console, "generate calls") as progress:
            task = progress.add_task("samples", total=p.calls, note="")
            done, failed = run._done()
            progress.update(task, completed=min(len(done) + len(failed), p.calls))
            status: dict[str, int] = {}

            def on_sample(sample: Any) -> None:
                key = "failed" if sample is None else sample.status.split(":")[0]
                status[key] = status.get(key, 0) + 1
                progress.update(task, advance=1, note=" ".join(f"{k} {v}" for k, v in sorted(status.items())))

            stats = run.run(generator, Verifier(tools, runner=executor), tools, on_sample)
    finally:
        executor.close()

    # the held-out set scored in the evaluation stages, labelled with tiers and entities
    samples = _samples(ctx)
    from eval.tiers import label_entries

    entries = label_entries(read_jsonl(ctx.path("calls", "heldout", "bfcl_questions.jsonl")), samples)
    if p.eval_entries is not None:
        entries = data.pick(entries, p.eval_entries, category=lambda e: str(e.get("category")),
                            ident=lambda e: str(e["id"]), seed=p.seed)
    if not entries:
        raise DemoError("the held-out split is empty: raise the profile's 'calls' or 'heldout'")
    ids = {e["id"] for e in entries}
    answers = [a for a in read_jsonl(ctx.path("calls", "heldout", "bfcl_possible_answer.jsonl")) if a["id"] in ids]
    write_jsonl_atomic(ctx.path("eval", "heldout", "questions.jsonl"), entries)
    write_jsonl_atomic(ctx.path("eval", "heldout", "possible_answer.jsonl"), answers)
    # held-out tasks for the DFSDT pass rate, with rule-checkable expectations
    queries = [q.to_dict() for q in load_queries(ctx.path("calls", "heldout", "queries.json"))]
    tasks = data.dfsdt_tasks(queries, samples, p.dfsdt_tasks)
    write_json_atomic(ctx.path("tasks", "dfsdt_tasks.json"), tasks)

    stages = {name: {"passed": row["passed"], "checked": row["checked"]} for name, row in stats["stages"].items()}
    figures = {"made": stats["made"], "kept": stats["kept"], "train": stats["train"], "heldout": stats["heldout"],
               "rejected": stats["rejected"], "languages": stats["languages"], "verification": stages,
               "eval_entries": len(entries), "eval_categories": _count(e.get("category") for e in entries),
               "dfsdt_tasks": len(tasks)}
    note = (f"kept {stats['kept']}/{stats['made']} verified samples (train {stats['train']}, held-out "
            f"{stats['heldout']}); {len(entries)} held-out BFCL entries and {len(tasks)} DFSDT tasks to evaluate")
    return StageOutput(figures, {"call data": str(ctx.path("calls")),
                                 "held-out BFCL set": str(ctx.path("eval", "heldout", "questions.jsonl")),
                                 "DFSDT tasks": str(ctx.path("tasks", "dfsdt_tasks.json"))}, note)


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[str(value)] = out.get(str(value), 0) + 1
    return dict(sorted(out.items()))


# -- 5. instructions ---------------------------------------------------------------------------------------------

INSTRUCTION_GROUPS = ("G1", "G2", "G3")


def stage_instructions(ctx: DemoContext) -> StageOutput:
    """G1/G2/G3 queries for the retriever, composed from sampled APIs and values and phrased by the base model
    (its rewrite kept only when it passes the filters, else the rule's text): ``instruction_sets`` x
    ``instruction_queries`` queries per group, one short model request each; the three groups run side by side
    (the server batches their requests)."""
    from concurrent.futures import ThreadPoolExecutor

    from toolbench.generate.errors import GenerateError
    from toolbench.generate.instructions import InstructionConfig, InstructionRun

    p = ctx.profile
    url = ctx.services.llm("base")
    tools = _tools(ctx)
    wanted = p.instruction_sets * p.instruction_queries
    config = InstructionConfig(mode="compose", queries_per_set=p.instruction_queries,
                               max_tokens=p.instruction_max_tokens, temperature=0.7)
    chat = _chat(ctx, "base", url, ctx.path("instructions", "llm_cache.sqlite"))
    groups: dict[str, Any] = {}
    files: dict[str, str] = {}
    kept_now = dict.fromkeys(INSTRUCTION_GROUPS, 0)
    try:
        with _progress(ctx.console, "G1/G2/G3 instructions (queries)") as progress:
            task = progress.add_task("queries", total=wanted * len(INSTRUCTION_GROUPS), note="")

            def one(group: str) -> None:
                out = ctx.path("instructions", f"{group}_query.json")

                def on_set(result: Any, kept: int) -> None:
                    kept_now[group] = kept
                    progress.update(task, completed=sum(kept_now.values()), note=f"{group}: kept {kept}")

                try:
                    stats = InstructionRun(out=out, group=group, n=wanted, seed=p.seed, config=config).run(
                        chat, tools, on_set)
                except GenerateError as exc:  # the catalog has no set of this group (e.g. one tool per category)
                    groups[group] = {"wanted": wanted, "kept": 0, "yield": 0.0, "unavailable": str(exc)}
                    return
                groups[group] = {key: stats[key] for key in ("wanted", "kept", "yield", "phrased_by",
                                                             "rejected_by_reason", "model_text_refused")}
                files[f"{group} instructions"] = str(out)

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


# -- 6/10. AST evaluation ----------------------------------------------------------------------------------------

def stage_eval(kind: str) -> Callable[[DemoContext], StageOutput]:
    def run(ctx: DemoContext) -> StageOutput:
        from eval import ast_score, predict, tiers
        from eval.leaderboard import summary_markdown

        p = ctx.profile
        entries, answers = ast_score.load_dataset(str(ctx.path("eval", "heldout", "questions.jsonl")),
                                                  ctx.path("eval", "heldout", "possible_answer.jsonl"))
        url = ctx.services.llm(kind)
        folder = ctx.path("eval", kind)
        chat = _chat(ctx, kind, url, folder / "llm_cache.sqlite")
        name = DISPLAY[kind]
        config = predict.RunnerConfig(max_tokens=p.eval_max_tokens, concurrency=p.concurrency, seed=p.seed)
        try:
            with _progress(ctx.console, f"AST {name}") as progress:
                task = progress.add_task("entries", total=len(entries), note="")
                correct = {"cached": 0}

                def on_done(prediction: Any) -> None:
                    correct["cached"] += prediction.cached
                    progress.update(task, advance=1, note=f"cached {correct['cached']}")

                outcome = predict.evaluate(chat, entries, answers, config,
                                          function_map=predict.catalog_function_map(working_catalog(ctx)),
                                          model=name, on_done=on_done)
        finally:
            chat.close()
        from eval.public_bfcl import server_constrained_decoding

        outcome.summary["constrained_decoding"] = server_constrained_decoding(url)
        paths = predict.write_outcome(outcome, folder / "ast" / "ast.jsonl")
        extra: dict[str, Any] = {}
        for summary in tiers.summaries(entries, outcome.rows, name):
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
    from eval.public_bfcl import PublicSample, public_sample

    path = ctx.path("bfcl", "sample.json")
    if path.exists():
        return PublicSample.read(path)
    categories = [c.strip() for c in ctx.profile.bfcl_categories.split(",") if c.strip()]
    sample = public_sample(categories, ctx.profile.bfcl_per_category, seed=0)
    sample.write(path)
    return sample


def stage_bfcl(kind: str) -> Callable[[DemoContext], StageOutput]:
    """BFCL's public categories (from the installed bfcl-eval), function calling with tool_choice auto: the
    model decides whether to call; a grammar may shape a call once it starts, never force one."""

    def run(ctx: DemoContext) -> StageOutput:
        from eval import predict
        from eval.public_bfcl import run_public_bfcl, server_constrained_decoding

        p = ctx.profile
        sample = bfcl_sample(ctx)
        total = sum(len(ids) for ids in sample.ids.values())
        url = ctx.services.llm(kind)
        folder = ctx.path("bfcl", kind)
        chat = _chat(ctx, kind, url, folder / "llm_cache.sqlite")
        config = predict.RunnerConfig(max_tokens=p.bfcl_max_tokens, concurrency=p.concurrency, seed=p.seed)
        try:
            with _progress(ctx.console, f"BFCL {DISPLAY[kind]}") as progress:
                task = progress.add_task("entries", total=total, note="")
                summary = run_public_bfcl(chat, sample=sample, out_dir=folder, name=DISPLAY[kind],
                                          tool_choice="auto", config=config,
                                          constrained_decoding=server_constrained_decoding(url),
                                          on_done=lambda _prediction: progress.update(task, advance=1))
        finally:
            chat.close()
        overall = summary["overall"]
        micro = overall["micro"]
        note = (f"{DISPLAY[kind]}: BFCL public, {micro['n']} entries, micro {data.percent(micro['accuracy'])}, "
                f"macro {data.percent(overall['macro']['accuracy'])}")
        return StageOutput({"public": summary}, {f"BFCL predictions and verdicts ({kind})": str(folder),
                                                 "BFCL sample (ids)": str(ctx.path("bfcl", "sample.json"))}, note)

    return run


# -- 7/11. DFSDT ----------------------------------------------------------------------------------------------------

def compare_config(ctx: DemoContext, kind: str, url: str | None = None) -> Any:
    """The equal-budget comparison of one model on the held-out tasks (``toolbench annotate compare``'s config)."""
    from annotate.compare import CompareConfig

    p = ctx.profile
    return CompareConfig(tasks=str(ctx.path("tasks", "dfsdt_tasks.json")), out=str(ctx.path("compare", kind)),
                         models={kind: f"{SERVED[kind]}@{url}" if url else SERVED[kind]},
                         strategies=p.compare_strategies, budget=p.dfsdt_max_llm_calls, max_steps=p.dfsdt_max_steps,
                         width=p.dfsdt_width, max_reply_tokens=p.dfsdt_reply_tokens,
                         max_observation_chars=p.observation_chars, concurrency=p.concurrency,
                         catalog=str(working_catalog(ctx)), llm_timeout=900.0)


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
        executor = _executor(_tools(ctx), hub.url)
        chat = OpenAIChatModel(OpenAIChatConfig(model=SERVED[kind], base_url=url, timeout=900.0, max_retries=1,
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
                           f"{DISPLAY[kind]}, {cfg.budget} model calls per task: {note}")

    return run


# -- 8. retriever ----------------------------------------------------------------------------------------------------

def stage_retriever(ctx: DemoContext) -> StageOutput:
    """Train on the demo's queries (generated calls, the instruction stage's G1/G2/G3 files) plus synthetic
    requests for every catalog API, holding out whole tools; report BM25, untrained, trained and hybrid
    (BM25 + trained, reciprocal rank fusion) on the queries of the held-out tools, with 95% Wilson intervals
    on NDCG@1 (with yes/no relevance, NDCG@1 is the share of queries whose first API is relevant); index the catalog with the int8 ONNX encoder."""
    from eval.intervals import wilson
    from retriever.corpus import load_corpus
    from retriever.encoder import load_encoder
    from retriever.evaluate import EvalConfig
    from retriever.evaluate import run as evaluate
    from retriever.index import ApiRetriever
    from retriever.train import TrainConfig
    from retriever.train import run as train

    p = ctx.profile
    catalog = str(working_catalog(ctx))
    files = [str(ctx.path("calls", "train", "queries.json")), str(ctx.path("calls", "heldout", "queries.json"))]
    if ctx.figures("instructions").get("kept"):  # the G1/G2/G3 queries of the instruction stage
        files.extend(str(ctx.path("instructions", f"{g}_query.json")) for g in INSTRUCTION_GROUPS
                     if ctx.path("instructions", f"{g}_query.json").exists())
    files = [f for f in files if Path(f).is_file()]
    folder = ctx.path("retriever")
    with ctx.console.status("training the retriever (cached MultipleNegativesRankingLoss, held-out tools)..."):
        result = train(TrainConfig(query_files=files, output_dir=str(folder), corpus=catalog, split_by="api",
                                   test_fraction=p.retriever_heldout_apis, seed=p.seed, epochs=p.retriever_epochs,
                                   batch_size=p.retriever_batch_size, max_seq_length=p.retriever_max_seq_length,
                                   synthetic_per_api=p.retriever_synthetic_per_api, sibling_negatives=1,
                                   log_every=0))
    lines: list[str] = []
    methods: dict[str, dict] = {}
    queries = 0
    if result.test_queries:
        with ctx.console.status("evaluating BM25, untrained, trained and hybrid on the held-out tools' queries..."):
            report = evaluate(EvalConfig(query_files=files, corpus=catalog, split=str(folder / "split.json"),
                                         models={"trained": result.model_dir}, hybrid=["trained"],
                                         output_dir=str(folder / "eval"), max_seq_length=p.retriever_max_seq_length),
                              echo=lines.append)
        queries = report.queries
        for m in report.methods:
            hits = round(m.metrics["ndcg@1"] * queries)
            methods[m.name] = {k: round(v, 4) for k, v in m.metrics.items() if k in ("ndcg@1", "ndcg@5", "recall@5")}
            methods[m.name]["ndcg@1_95ci"] = [round(x, 4) for x in wilson(hits, queries)]
    with ctx.console.status("indexing the catalog with the trained model (int8 ONNX encoder, faiss)..."):
        docs = load_corpus(catalog, [])
        encoder = load_encoder(result.model_dir, backend="onnx-int8", max_seq_length=p.retriever_max_seq_length)
        ApiRetriever.build(docs, encoder, max_seq_length=p.retriever_max_seq_length).save(folder / "index")
    figures = {"steps": result.steps, "pairs": result.pairs, "seconds": round(result.seconds, 1),
               "first_loss": result.losses[0] if result.losses else None,
               "last_loss": result.losses[-1] if result.losses else None, "heldout_queries": queries,
               "split": "api", "methods": methods}
    ndcg = ", ".join(f"{name} {100 * m['ndcg@1']:.1f} [{100 * m['ndcg@1_95ci'][0]:.1f}, "
                     f"{100 * m['ndcg@1_95ci'][1]:.1f}]" for name, m in methods.items()) or "no held-out tool"
    return StageOutput(figures, {"retriever model": result.model_dir, "retriever index": str(folder / "index"),
                                 "retriever evaluation": str(folder / "eval" / "results.md")},
                       f"{result.steps} steps on {result.pairs} pairs; NDCG@1 (95% CI) on {queries} queries of "
                       f"held-out tools: {ndcg}")


# -- 9. fine-tuning -----------------------------------------------------------------------------------------------

def training_mix(ctx: DemoContext, out: Path) -> dict[str, Any]:
    """The LoRA data through ``toolbench train mix`` (:mod:`train.mix`) with the profile's sizes: generated call
    examples and generated samples written as DFSDT-style runs, into ``out`` (train.jsonl, mix.json)."""
    from annotate.prompts import opening_messages
    from train.mix import MixConfig, MixError, run

    p = ctx.profile
    cfg = MixConfig(calls=str(ctx.path("calls")), catalog=str(working_catalog(ctx)), out=str(out),
                    call_examples=p.train_call_examples, agent_examples=p.train_agent_examples,
                    max_length=p.train_max_length, agent_max_length=p.train_agent_max_length,
                    observation_chars=p.observation_chars)
    try:
        return run(cfg, opening_messages).stats
    except MixError as exc:
        raise DemoError(f"{exc} (then rerun with --fresh)") from None


def stage_sft(ctx: DemoContext) -> StageOutput:
    import yaml


    p = ctx.profile
    folder = ctx.path("sft")
    data_file = folder / "data" / "train.jsonl"
    if not data_file.exists():
        training_mix(ctx, folder / "data")
    mix = json.loads((folder / "data" / "mix.json").read_text(encoding="utf-8"))
    from toolbench.contamination import check_training_examples
    from toolbench.formats.jsonl import read_jsonl as read_examples

    # never train on BFCL: the trainer refuses too
    contamination = check_training_examples(read_examples(data_file), str(data_file))
    if contamination.overlaps:
        raise DemoError(contamination.message())
    ctx.console.print(f"BFCL overlap in the training data: {contamination.count} of {contamination.examples} "
                      f"examples" + (f" ({contamination.warning})" if contamination.warning else ""))
    run_dir = folder / "run"
    recipe = {
        "model": "default", "train_data": [str(data_file)], "max_length": max(mix["longest"], 16), "overlong": "drop",
        # on a CPU: a bfloat16 base with eager attention and no LoRA dropout trains ~1.6x faster than fp32 with
        # sdpa and dropout 0.05 (benchmarks/lora_cpu.py)
        "method": "lora", "lora_r": p.lora_r, "lora_alpha": 2 * p.lora_r, "lora_dropout": 0.0,
        "base_dtype": "bfloat16", "attn_implementation": "eager",
        "max_steps": p.train_steps, "batch_size": p.train_batch_size,
        "gradient_accumulation_steps": p.train_grad_accum, "learning_rate": p.learning_rate,
        "lr_scheduler": "cosine", "warmup_ratio": 0.05, "precision": "fp32", "device": "cpu", "seed": p.seed,
        "output_dir": str(run_dir), "save_steps": max(1, p.train_steps // 3), "save_total_limit": 1,
        "logging_steps": 1, "merge_lora": True,
    }
    recipe_path = folder / "recipe.yaml"
    write_text_atomic(recipe_path, "# written by toolbench demo: toolbench train sft --config this-file\n"
                      + yaml.safe_dump(recipe, sort_keys=False))
    _drop_partial_checkpoints(run_dir)
    _train_subprocess(ctx, recipe_path, p.train_steps, ctx.path("logs", "train.log"))
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    train = summary["train"]
    figures = {"examples": mix, "steps": train["global_step"], "first_loss": train["first_logged_loss"],
               "last_loss": train["last_logged_loss"], "train_loss": train["train_loss"],
               "tokens_per_s": train["tokens_per_s"], "peak_rss_mb": summary["peak_rss_mb"],
               "trainable_parameters": summary["parameters"]["trainable"],
               "bfcl_overlap": contamination.count if contamination.checked else None}
    note = (f"LoRA r={p.lora_r} on {mix['call_examples']} call + {mix['dfsdt_examples']} DFSDT-style examples "
            f"({mix['tokens']:,} tokens), "
            f"{train['global_step']} steps, loss {train['first_logged_loss']:.3f} -> {train['last_logged_loss']:.3f}"
            if train["first_logged_loss"] is not None else f"{train['global_step']} steps")
    note += f"; BFCL overlap {contamination.count}" if contamination.checked else "; BFCL overlap not checked"
    return StageOutput(figures, {"LoRA adapter": str(run_dir / "adapter"), "tuned model (merged)": str(run_dir / "final"),
                                 "training data": str(data_file), "training recipe": str(recipe_path)}, note)


def uses_llamacpp(profile: Any) -> bool:
    """Whether the model servers run on llama.cpp (profile field ``engine``; ``auto``: when its build is here)."""
    engine = getattr(profile, "engine", "auto")
    if engine == "transformers":
        return False
    from toolbench.llm.llamacpp_lib import llama_cpp_available

    ok, why = llama_cpp_available()
    if engine == "llamacpp" and not ok:
        raise DemoError(f"profile engine=llamacpp, but {why}")
    return ok


def tuned_gguf(out: Path, profile: Any) -> Path:
    return out / "sft" / f"tuned.{profile.tuned_quant}.gguf"


def stage_export(ctx: DemoContext) -> StageOutput:
    """The merged tuned checkpoint as a GGUF file (``toolbench train export-gguf``), for the llama.cpp engine."""
    p = ctx.profile
    if not uses_llamacpp(p):
        return StageOutput({"skipped": "llama.cpp engine not in use"}, {},
                           "skipped: the tuned model is served by the transformers engine")
    from train.gguf_export import export_gguf

    target = tuned_gguf(ctx.out, p)
    summary = export_gguf(ctx.path("sft", "run", "final"), target, quant=p.tuned_quant, verify=True)
    check = summary.get("verify") or {}
    figures = {"quant": p.tuned_quant, "bytes": summary.get("bytes"), "seconds": summary.get("seconds"),
               "argmax_agreement": check.get("argmax_agreement"), "max_abs_diff": check.get("max_abs_diff")}
    note = (f"{p.tuned_quant}, {summary.get('bytes', 0) / 1e6:.0f} MB; next-token agreement with the checkpoint "
            f"{check.get('argmax_agreement', float('nan')):.0%}")
    return StageOutput(figures, {"tuned model (GGUF)": str(target)}, note)


def _drop_partial_checkpoints(run_dir: Path) -> None:
    """A checkpoint the trainer was writing when interrupted has no trainer_state.json: resuming from it would
    fail, so it goes (the previous one is used)."""
    if not run_dir.is_dir():
        return
    for checkpoint in run_dir.glob("checkpoint-*"):
        if checkpoint.is_dir() and not (checkpoint / "trainer_state.json").exists():
            shutil.rmtree(checkpoint)


_STEP = re.compile(r"(\d+)/(\d+) \[")


def _train_subprocess(ctx: DemoContext, recipe: Path, steps: int, log: Path) -> None:
    """``toolbench train sft --config recipe`` in a child process, its step counter shown as a progress bar (it
    resumes from its last checkpoint by itself). Interrupted, the child is terminated."""
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "toolbench", "train", "sft", "--config", str(recipe)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    if ctx.profile.train_threads:
        env["OMP_NUM_THREADS"] = str(ctx.profile.train_threads)
    with log.open("a", encoding="utf-8") as handle, _progress(ctx.console, "LoRA fine-tuning") as progress:
        handle.write(f"\n$ {' '.join(cmd)}\n")
        handle.flush()
        task = progress.add_task("steps", total=steps, note="")
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        assert process.stdout is not None
        losses: list[str] = []

        def pump() -> None:
            buffer = b""
            assert process.stdout is not None
            while True:
                chunk = process.stdout.read1(4096) if hasattr(process.stdout, "read1") else process.stdout.read(4096)
                if not chunk:
                    break
                handle.write(chunk.decode("utf-8", "replace"))
                handle.flush()
                buffer = (buffer + chunk)[-4096:]
                text = buffer.decode("utf-8", "replace")
                for match in _STEP.finditer(text):
                    done, total = int(match.group(1)), int(match.group(2))
                    if total == steps:
                        progress.update(task, completed=done)
                found = re.findall(r"'loss': '?([0-9.]+)", text)
                if found:
                    losses.append(found[-1])
                    progress.update(task, note=f"loss {found[-1]}")

        reader = threading.Thread(target=pump, name="train-log", daemon=True)
        reader.start()
        try:
            code = process.wait()
        except BaseException:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
        finally:
            reader.join(timeout=5)
        if code != 0:
            raise DemoError(f"fine-tuning failed (exit status {code}); see {log}")
        progress.update(task, completed=steps)


# -- 12. pass rate ------------------------------------------------------------------------------------------------

class _NoJudge:
    """The judge's model when every task is checked by rules: asking it is a bug."""

    model = "rules"

    def chat(self, *args: Any, **kwargs: Any) -> Any:
        raise DemoError("the rule checks needed an LLM judge (a task without an expectation?)")

    async def achat(self, *args: Any, **kwargs: Any) -> Any:
        return self.chat()


def stage_pass_rate(ctx: DemoContext) -> StageOutput:
    from eval import answers, judge, metrics
    from eval.leaderboard import summary_markdown

    tasks = json.loads(ctx.path("tasks", "dfsdt_tasks.json").read_text(encoding="utf-8"))
    if not tasks:
        return StageOutput({}, {}, "no DFSDT task: no pass rate")
    expectations = {str(t["query_id"]): t["expectation"] for t in tasks}
    ids = list(expectations)
    figures: dict[str, Any] = {}
    artefacts: dict[str, str] = {}
    for kind in ("base", "tuned"):
        folder = ctx.path("compare", kind, "dfsdt", "answers")
        predictions = answers.read_predictions(folder) if folder.is_dir() and any(folder.iterdir()) else {}
        rows = [j.to_dict() for j in judge.run_pass_rate(predictions, judge.Judge(_NoJudge()), k=1, group=RULES_GROUP,
                                                         query_ids=ids, check_solvable=False,
                                                         expectations=expectations)]
        summary = {"kind": "pass_rate", "model": DISPLAY[kind], "judge": "rule checks (task expectations)", "k": 1,
                   "groups": metrics.summarize_pass(rows, 1)}
        out = ctx.path("eval", kind, "pass_rate")
        write_jsonl_atomic(out / "judgments.jsonl", rows)
        write_json_atomic(out / "pass_rate.summary.json", summary)
        write_text_atomic(out / "pass_rate.summary.md", summary_markdown(summary))
        rate = summary["groups"][RULES_GROUP]["pass_rate"]
        figures[kind] = {"value": rate["value"], "passed": rate["count"], "n": rate["n"],
                         "failures": _count(r["reason"].split(";")[0] for r in rows if r["resolved_label"] != "passed")}
        artefacts[f"pass rate ({kind})"] = str(out / "pass_rate.summary.md")
        if ctx.judge is not None:
            figures[f"{kind}_judge"] = _judge_pass_rate(ctx, kind, predictions, ids)
    note = ", ".join(f"{DISPLAY[k]} {data.percent(figures[k]['value'])} ({figures[k]['passed']}/{figures[k]['n']})"
                     for k in ("base", "tuned"))
    figures["comparison"] = _comparison(ctx, artefacts)
    return StageOutput(figures, artefacts, f"DFSDT pass rate by rule checks: {note}")


def _comparison(ctx: DemoContext, artefacts: dict[str, str]) -> dict[str, Any]:
    """The equal-budget comparison of both models, scored by the tasks' rule checks: written to
    eval/comparison.{json,md} and printed; returns the pass rates by model and strategy."""
    from annotate.compare import CompareStore
    from annotate.compare_table import table_markdown
    from toolbench.cli.annotate import score_comparison

    rows: list[dict[str, Any]] = []
    for kind in ("base", "tuned"):
        cfg = compare_config(ctx, kind)
        if (Path(cfg.out) / "compare.sqlite").exists():
            store = CompareStore(Path(cfg.out) / "compare.sqlite")
            try:
                rows += score_comparison(cfg, store.units())["rows"]
            finally:
                store.close()
    if not rows:
        return {}
    table = {"budget": ctx.profile.dfsdt_max_llm_calls, "rows": rows}
    text = table_markdown(table)
    write_json_atomic(ctx.path("eval", "comparison.json"), table)
    write_text_atomic(ctx.path("eval", "comparison.md"), text)
    artefacts["equal-budget comparison"] = str(ctx.path("eval", "comparison.md"))
    ctx.console.print(text)
    return {f"{r['model']}/{r['strategy']}": r["pass_rules"] for r in rows}


def _judge_pass_rate(ctx: DemoContext, kind: str, predictions: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    from eval import judge, metrics
    from eval.leaderboard import summary_markdown
    from toolbench.llm.factory import make_chat_model

    assert ctx.judge is not None
    out = ctx.path("eval", kind, "judge")
    chat = make_chat_model(ctx.judge.model, base_url=ctx.judge.base_url, api_key_env=ctx.judge.api_key_env,
                           cache_path=out / "judge_cache.sqlite", timeout=300.0)
    try:
        rows = [j.to_dict() for j in judge.run_pass_rate(predictions, judge.Judge(chat), k=ctx.profile.judge_k,
                                                         group=JUDGE_GROUP, query_ids=ids, concurrency=2)]
    finally:
        chat.close()
    summary = {"kind": "pass_rate", "model": DISPLAY[kind], "judge": ctx.judge.model, "k": ctx.profile.judge_k,
               "groups": metrics.summarize_pass(rows, ctx.profile.judge_k)}
    write_jsonl_atomic(out / "judgments.jsonl", rows)
    write_json_atomic(out / "pass_rate.summary.json", summary)
    write_text_atomic(out / "pass_rate.summary.md", summary_markdown(summary))
    group = summary["groups"][JUDGE_GROUP]
    return {"pass_rate": group["pass_rate"], "sopr": group["sopr"]}


# -- 13. leaderboard ----------------------------------------------------------------------------------------------

def page_intro(ctx: DemoContext) -> list[Any]:
    """The sections above the metrics on the demo's page: the headline, then every finished stage with its time
    and result."""
    from eval.leaderboard import Section

    sections = []
    figures = data.headline(ctx.done)
    for title, rows, notes in data.headline_tables(figures):
        sections.append(Section(f"Headline: {title}", f"Profile {ctx.profile.name}: SmolLM2-135M-Instruct before "
                                                      "and after LoRA on the data this run generated. "
                                + " ".join(notes), tuple(tuple(row) for row in rows)))
    stages = [("stage", "seconds", "result")] + [
        (marker.get("title", name), f"{marker.get('seconds', 0):.0f}", marker.get("note", ""))
        for name, marker in ctx.done.items()]
    if len(stages) > 1:
        sections.append(Section("The run", f"Stage markers in {ctx.path('state')}; the figures below come from "
                                           f"{ctx.path('eval')}.", tuple(stages)))
    return sections


def stage_leaderboard(ctx: DemoContext) -> StageOutput:
    from eval.leaderboard import load_runs, write_leaderboard

    runs = [ctx.path("eval", kind) for kind in ("base", "tuned") if ctx.path("eval", kind).is_dir()]
    scores = load_runs(runs)
    target = ctx.path("leaderboard")
    with ctx.console.status("drawing the leaderboard..."), atomic_dir(target, clear_leftovers=True) as folder:
        write_leaderboard(scores, folder, title="toolbench demo: SmolLM2-135M before and after LoRA on generated data",
                          intro=page_intro(ctx))
    page = target / "index.html"
    plots = sorted((target / "plots").glob("*.png"))
    return StageOutput({"scores": len(scores), "plots": len(plots)},
                       {"leaderboard page": str(page), "leaderboard table": str(ctx.path("leaderboard", "leaderboard.md"))},
                       f"{len(scores)} scores, {len(plots)} plots -> {page}")


# -- the list --------------------------------------------------------------------------------------------------------

def default_stages() -> list[Stage]:
    """The stages in the order they run: data with the hub, the base model's work (its server up once), then
    training without any server, then the tuned model's work, then the figures."""
    return [
        Stage("catalog", "Catalog: import the hub's OpenAPI into a ToolBench catalog", stage_catalog, ("hub",)),
        Stage("crawl", "Crawl: call every API, keep the live ones", stage_crawl, ("hub",)),
        Stage("compress", "Compress: schema-based pruning of the crawled responses", stage_compress),
        Stage("calls", "Generate function-call data, verified against the hub", stage_calls, ("hub",)),
        Stage("instructions", "Generate G1/G2/G3 instructions with the local model", stage_instructions,
              ("llm:base",)),
        Stage("eval_base", f"Evaluate {BASE_NAME}: AST accuracy on the held-out split", stage_eval("base"),
              ("llm:base",)),
        Stage("bfcl_base", f"BFCL public categories: {BASE_NAME}", stage_bfcl("base"), ("llm:base",)),
        Stage("annotate_base", f"ReACT, ReACT@N and DFSDT on equal budgets: {BASE_NAME} (held-out tasks)",
              stage_annotate("base"), ("llm:base", "hub")),
        Stage("retriever", "Train and evaluate the API retriever", stage_retriever),
        Stage("sft", "Fine-tune SmolLM2 with LoRA on the generated data", stage_sft),
        Stage("export", "Export the tuned model to GGUF for llama.cpp", stage_export),
        Stage("eval_tuned", f"Evaluate {TUNED_NAME}: AST accuracy on the held-out split", stage_eval("tuned"),
              ("llm:tuned",)),
        Stage("bfcl_tuned", f"BFCL public categories: {TUNED_NAME}", stage_bfcl("tuned"), ("llm:tuned",)),
        Stage("annotate_tuned", f"ReACT, ReACT@N and DFSDT on equal budgets: {TUNED_NAME} (held-out tasks)",
              stage_annotate("tuned"), ("llm:tuned", "hub")),
        Stage("pass_rate", "Pass rates: DFSDT, and the equal-budget comparison (rule checks; the LLM judge when "
              "given)", stage_pass_rate),
        Stage("leaderboard", "Leaderboard page and plots", stage_leaderboard),
    ]


def models(out: Path, profile: Any | None = None) -> dict[str, tuple[str, str]]:
    """What the model server serves for each kind: the packaged default, then the tuned model (its GGUF export on
    the llama.cpp engine, else the merged checkpoint)."""
    tuned = str(out / "sft" / "run" / "final")
    if profile is not None and uses_llamacpp(profile):
        tuned = str(tuned_gguf(out, profile))
    return {"base": ("default", SERVED["base"]), "tuned": (tuned, SERVED["tuned"])}
