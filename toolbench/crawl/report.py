"""The crawl report (pure, from the state, so thresholds can change without a new crawl): per API alive/dead,
error kinds, latency, success and quality, the keep/drop decision; the kept catalog; Markdown and terminal views."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from toolbench.crawl.answers import answered, percentile
from toolbench.crawl.config import CrawlConfig
from toolbench.crawl.store import ApiRecord
from toolbench.executor import TIMEOUT
from toolbench.records import Api, Tool

TOOLBENCH_TOOLS_TOTAL, TOOLBENCH_TOOLS_KEPT = 10_853, 3_451


def summarize_api(api: Api, rec: ApiRecord | None, config: CrawlConfig) -> dict[str, Any]:
    """One API's row of the report, with the keep/drop decision and its reasons."""
    row: dict[str, Any] = {"tool": api.tool, "api": api.name, "category": api.category}
    if rec is None:
        return {**row, "crawled": False, "alive": False, "keep": False, "reasons": ["not crawled yet"]}
    calls = rec.calls
    n = len(calls)
    n_answered = sum(answered(c.status, c.error_kind) for c in calls)
    ok = [c for c in calls if c.error_kind == "" and c.status is not None and 200 <= c.status < 300]
    errors = Counter(c.error_kind for c in calls if c.error_kind)
    timed = [c.latency for c in calls if c.status is not None or c.error_kind == TIMEOUT]
    p50, p95 = percentile(timed, 50), percentile(timed, 95)
    success = len(ok) / n if n else 0.0
    quality = sum(c.informative for c in ok) / len(ok) if ok else 0.0
    alive = n_answered > 0
    reasons = []
    if not alive:
        reasons.append(f"dead ({errors.most_common(1)[0][0] if errors else 'no answer'})")
    if success < config.min_success:
        reasons.append(f"success {success:.0%} < {config.min_success:.0%}")
    if config.max_p95_latency and p95 is not None and p95 > config.max_p95_latency:
        reasons.append(f"p95 {p95:.2f} s > {config.max_p95_latency:g} s")
    if ok and quality < config.min_quality:
        reasons.append(f"quality {quality:.0%} < {config.min_quality:.0%}")
    return {**row, "crawled": True, "host": rec.host.rpartition("@")[2], "calls": n, "answered": n_answered, "ok": len(ok),
            "alive": alive, "error_kind": errors.most_common(1)[0][0] if errors else "",
            "errors": dict(sorted(errors.items())), "statuses": dict(sorted(Counter(
                str(c.status) if c.status is not None else "none" for c in calls).items())),
            "latency_p50": None if p50 is None else round(p50, 4),
            "latency_p95": None if p95 is None else round(p95, 4),
            "success_rate": round(success, 4), "quality": round(quality, 4),
            "keep": not reasons, "reasons": reasons,
            "schema_source": rec.schema_source, "inferred_schema": rec.schema,
            "example_args": calls[0].args if calls else {}}


def build_report(tools: list[Tool], records: dict[tuple[str, str], ApiRecord], config: CrawlConfig) -> dict[str, Any]:
    """The crawl report over every API of ``tools`` (pure: state and thresholds in, report out)."""
    rows = [summarize_api(api, records.get((api.tool, api.name)), config) for tool in tools for api in tool.apis]
    by_tool: dict[str, list[dict]] = {}
    for row in rows:
        by_tool.setdefault(row["tool"], []).append(row)
    tool_rows = [{"tool": t.name, "category": t.category, "apis": len(by_tool.get(t.name, [])),
                  "kept_apis": sum(r["keep"] for r in by_tool.get(t.name, [])),
                  "keep": any(r["keep"] for r in by_tool.get(t.name, []))} for t in tools]
    crawled = [r for r in rows if r["crawled"]]
    latencies = [r["latency_p50"] for r in crawled if r.get("latency_p50") is not None]
    kinds = Counter()
    for r in crawled:
        kinds.update(r["errors"])
    summary = {
        "apis": len(rows), "crawled": len(crawled), "alive": sum(r["alive"] for r in rows),
        "kept_apis": sum(r["keep"] for r in rows), "tools": len(tool_rows),
        "kept_tools": sum(t["keep"] for t in tool_rows), "calls": sum(r.get("calls", 0) for r in crawled),
        "error_kinds": dict(sorted(kinds.items())),
        "median_api_p50": None if not latencies else round(percentile(latencies, 50), 4),
        "schemas_inferred": sum(r.get("schema_source") == "inferred" for r in crawled),
        "toolbench": {"tools": TOOLBENCH_TOOLS_TOTAL, "kept_tools": TOOLBENCH_TOOLS_KEPT,
                      "kept_share": round(TOOLBENCH_TOOLS_KEPT / TOOLBENCH_TOOLS_TOTAL, 4)},
    }
    summary["kept_tool_share"] = round(summary["kept_tools"] / summary["tools"], 4) if tool_rows else 0.0
    thresholds = {"min_success": config.min_success, "max_p95_latency": config.max_p95_latency,
                  "min_quality": config.min_quality}
    return {"summary": summary, "thresholds": thresholds, "config": asdict(config), "tools": tool_rows, "apis": rows}


def _fmt_latency(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def report_table_rows(report: dict[str, Any]) -> list[list[str]]:
    """The report's per-API table as text cells (for Markdown and the terminal)."""
    out = []
    for r in report["apis"]:
        if not r["crawled"]:
            out.append([r["tool"], r["api"], "-", "-", "-", "-", "-", "-", "not crawled"])
            continue
        out.append([r["tool"], r["api"], "alive" if r["alive"] else "dead", r["error_kind"] or "-",
                    f"{r['ok']}/{r['calls']}", _fmt_latency(r["latency_p50"]), _fmt_latency(r["latency_p95"]),
                    f"{r['quality']:.0%}", "keep" if r["keep"] else "drop: " + "; ".join(r["reasons"])])
    return out


TABLE_HEADER = ["tool", "api", "status", "error kind", "ok/calls", "p50", "p95", "quality", "decision"]


def summary_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    tb = s["toolbench"]
    return (f"kept {s['kept_tools']} of {s['tools']} tools ({s['kept_tool_share']:.0%}) and {s['kept_apis']} of "
            f"{s['apis']} APIs; {s['alive']} APIs alive; {s['calls']} calls; {s['schemas_inferred']} response "
            f"schemas inferred (ToolBench kept {tb['kept_tools']:,} of {tb['tools']:,} tools, {tb['kept_share']:.0%})")


def report_markdown(report: dict[str, Any]) -> str:
    th = report["thresholds"]
    lines = ["# Crawl report", "", summary_line(report) + ".", "",
             (f"Thresholds: success >= {th['min_success']:.0%}, p95 latency <= {th['max_p95_latency']:g} s "
              f"(0: off), quality >= {th['min_quality']:.0%}."), ""]
    kinds = report["summary"]["error_kinds"]
    if kinds:
        lines += ["Error kinds over all calls: " + ", ".join(f"{k} {v}" for k, v in kinds.items()) + ".", ""]
    lines += ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
    for cells in report_table_rows(report):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def kept_catalog(tools: list[Tool], report: dict[str, Any]) -> list[Tool]:
    """The kept tools with their kept APIs only, inferred response schemas filled in where there was none."""
    rows = {(r["tool"], r["api"]): r for r in report["apis"]}
    out = []
    for tool in tools:
        apis = []
        for api in tool.apis:
            row = rows.get((api.tool, api.name))
            if not row or not row["keep"]:
                continue
            if not api.response_schema and row.get("inferred_schema") is not None:
                api = replace(api, response_schema=row["inferred_schema"])
            apis.append(api)
        if apis:
            out.append(replace(tool, apis=apis))
    return out


def write_outputs(report: dict[str, Any], tools: list[Tool], run: Path, config: CrawlConfig) -> None:
    """``report.json``, ``report.md`` and the kept catalog ``tools/`` in the run folder."""
    import shutil

    from toolbench.catalog.store import write_json_atomic, write_tool

    write_json_atomic(run / "report.json", report)
    (run / "report.md").write_text(report_markdown(report), encoding="utf-8")
    folder = run / "tools"
    if folder.exists():
        shutil.rmtree(folder)
    for tool in kept_catalog(tools, report):
        write_tool(tool, folder)


def print_report(report: dict[str, Any], console: Any = None) -> None:
    """The per-API table and the summary, on the terminal (rich)."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:  # a pipe or a file: rich would wrap at 80 columns
            console = Console(width=180)
    table = Table(*TABLE_HEADER, title="crawl report", show_lines=False)
    for cells in report_table_rows(report):
        style = "green" if cells[-1] == "keep" else "red" if cells[2] == "dead" else "yellow"
        table.add_row(*cells, style=style)
    console.print(table)
    console.print(summary_line(report))
