"""The demo's stages, in the order they run: each a name, a title, the servers it needs and its function in a
``stage_<stage>.py`` module, which builds the stage's config from the profile, runs the stage through the same
code as its own command (the stage packages imported inside, as the CLI does) and reports its figures.

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
    compare/{base,tuned}/ ReACT, ReACT@N and DFSDT on equal budgets (ToolBench answer files, SQLite state)
    retriever/            trained retriever (model/), its K-fold evaluation (crossval/results.md) and faiss index (index/)
    sft/                  data/train.jsonl (the LoRA mix), recipe.yaml, run/ (checkpoints, adapter/, final/),
                          tuned.<quant>.gguf (final/ exported for llama.cpp), calibration.json (its call
                          threshold, chosen on data/calibration.jsonl: the examples the mix left out)
    eval/{base,tuned}/    AST verdicts, predictions, per-API accuracy, tiers, hallucination, pass rate
    eval/comparison.*     the equal-budget comparison of both models (rule checks)
    bfcl/                 sample.json (the public BFCL ids), {base,tuned}/ (BFCL result files, verdicts,
                          public_bfcl.summary.json/.md)
    leaderboard/          index.html, leaderboard.md/.csv, plots/
    logs/                 the model servers' and the trainer's output
    state/                stage markers (resume), the profile, a line per run
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolbench.cli.demo.stage_annotate import stage_annotate
from toolbench.cli.demo.stage_calls import stage_calls
from toolbench.cli.demo.stage_catalog import stage_catalog, stage_compress, stage_crawl
from toolbench.cli.demo.stage_common import BASE_NAME, SERVED, TUNED_NAME
from toolbench.cli.demo.stage_eval import stage_bfcl, stage_eval
from toolbench.cli.demo.stage_instructions import stage_instructions
from toolbench.cli.demo.stage_leaderboard import stage_leaderboard
from toolbench.cli.demo.stage_pass_rate import stage_pass_rate
from toolbench.cli.demo.stage_retriever import stage_retriever
from toolbench.cli.demo.stage_runner import Stage
from toolbench.cli.demo.stage_train import stage_calibrate, stage_export, stage_sft, tuned_model


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
        Stage("calibrate", "Calibrate the tuned model's call-or-text decision", stage_calibrate),
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
    tuned = str(out / "sft" / "run" / "final") if profile is None else tuned_model(out, profile)
    return {"base": ("default", SERVED["base"]), "tuned": (tuned, SERVED["tuned"])}
