"""The leaderboard: every run's scores per group, as Markdown, CSV and a static HTML page with matplotlib plots.

A run is a folder (searched recursively) or a file of ``*.summary.json`` written by the eval commands:

- ``toolbench eval judge pass-rate`` (``kind: pass_rate``): SoPR (mean ± std over k judgments) and pass rate per
  ToolBench group (G1_instruction ... G3_instruction, shown as I1-Inst ... I3-Inst as in the papers);
- ``toolbench eval judge win-rate`` (``kind: win_rate``): SoWR against the named reference;
- ``toolbench eval judge recompute``: the same two from StableToolBench's stored judge outputs;
- ``toolbench eval ast`` (``categories`` + ``overall``): AST accuracy per BFCL category;
- ``toolbench eval report`` (``kind: tiers`` / ``kind: hallucination``): accuracy per difficulty tier, and
  real/fake accuracy of the hallucination set.

A summary names its model (``model``); one without a name (``eval ast``'s) takes the name of the run folder it was
found in, or its file name. Each metric gets one table (runs as rows, groups as columns, best average first) and
one bar chart (groups on the x axis, one bar per run, the std as error bar). Cells read ``mean ± std`` in percent
with ``n`` (queries or entries) beneath; a metric without repeated judgments (AST accuracy) has no std.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError

GROUP_LABELS = {
    "G1_instruction": "I1-Inst", "G1_category": "I1-Cat", "G1_tool": "I1-Tool",
    "G2_instruction": "I2-Inst", "G2_category": "I2-Cat", "G3_instruction": "I3-Inst",
}
TIER_ORDER = ("simple", "multiple", "parallel_multiple", "enterprise")
# Tables appear in this order (a metric named by a prefix here, e.g. "SoWR vs X", takes its place); others after.
METRIC_ORDER = ("SoPR", "Pass rate", "SoWR", "AST accuracy", "Tier accuracy", "Hallucination")
AVERAGE, OVERALL = "Average", "overall"


class LeaderboardError(ToolbenchError):
    """A run could not be read into the leaderboard; the message names the file."""


@dataclass(frozen=True)
class Score:
    """One figure of one run: ``metric`` on ``group``; ``mean``/``std`` are fractions (0..1)."""

    run: str
    metric: str
    group: str
    mean: float | None
    std: float | None
    n: int
    k: int | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_label(group: str) -> str:
    return GROUP_LABELS.get(group, group)


def _group_key(group: str) -> tuple[int, int, str]:
    if group in (AVERAGE, OVERALL):
        return (3, 0, group)
    if group in GROUP_LABELS:
        return (0, list(GROUP_LABELS).index(group), group)
    if group in TIER_ORDER:
        return (1, TIER_ORDER.index(group), group)
    return (2, 0, group)


def order_groups(groups: Iterable[str]) -> list[str]:
    """ToolBench groups in the papers' order, then tiers by difficulty, then the rest by name; averages last."""
    return sorted(set(groups), key=_group_key)


# -- reading summaries --------------------------------------------------------------------------------------------


def scores_from_summary(summary: Mapping[str, Any], run: str, source: str = "") -> list[Score]:
    """The scores one summary holds (see the module docstring for the kinds)."""
    run = str(summary.get("model") or run)
    kind = summary.get("kind")
    out: list[Score] = []
    if kind == "pass_rate":
        for group, figures in summary.get("groups", {}).items():
            sopr = figures.get("sopr")
            if sopr:
                out.append(Score(run, "SoPR", group, sopr["mean"], sopr["std"], int(sopr["n"]), int(sopr["k"]), source))
            rate = figures.get("pass_rate")
            if rate:
                out.append(Score(run, "Pass rate", group, rate["value"], None, int(rate["n"]), figures.get("k"), source))
    elif kind == "win_rate":
        metric = f"SoWR vs {summary.get('reference', 'reference')}"
        for group, figures in summary.get("groups", {}).items():
            out.append(Score(run, metric, group, figures["win_rate"], None, int(figures["n"]), figures.get("rounds"),
                             source))
    elif kind in ("tiers", "hallucination"):
        metric = "Tier accuracy" if kind == "tiers" else "Hallucination (correct)"
        for group, figures in summary.get("groups", {}).items():
            out.append(Score(run, metric, group, figures["accuracy"], None, int(figures["n"]), None, source))
    elif "categories" in summary and "overall" in summary:  # eval ast
        for group, figures in [*summary["categories"].items(), (OVERALL, summary["overall"])]:
            out.append(Score(run, "AST accuracy", group, figures.get("accuracy"), None, int(figures["n"]), None, source))
    else:
        raise LeaderboardError(f"{source or 'summary'}: not a summary the leaderboard knows (kind "
                               f"{kind!r}); expected one written by toolbench eval ast/judge/report")
    return out


def _summary_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.rglob("*.summary.json"))
    if path.is_file():
        return [path]
    raise LeaderboardError(f"{path}: no such run folder or summary file")


def load_runs(paths: Sequence[str | Path]) -> list[Score]:
    """Every score in the runs given; the same (run, metric, group) twice is an error."""
    scores: list[Score] = []
    seen: dict[tuple[str, str, str], str] = {}
    for raw in paths:
        path = Path(raw)
        files = _summary_files(path)
        if not files:
            raise LeaderboardError(f"{path}: no *.summary.json in this folder (run toolbench eval ... --out first)")
        for file in files:
            try:
                summary = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise LeaderboardError(f"{file}: cannot read summary ({exc})") from exc
            default_run = path.name if path.is_dir() else file.name.removesuffix(".summary.json")
            for score in scores_from_summary(summary, default_run, str(file)):
                key = (score.run, score.metric, score.group)
                if key in seen:
                    raise LeaderboardError(f"{score.metric} of {score.run!r} on {score.group} is in both {seen[key]} "
                                           f"and {file}; give the runs distinct model names")
                seen[key] = str(file)
                scores.append(score)
    if not scores:
        raise LeaderboardError("no scores found in the runs given")
    return scores


# -- tables -------------------------------------------------------------------------------------------------------


@dataclass
class Table:
    """One metric: the groups (columns) and, per run, its score per group (with an Average column)."""

    metric: str
    groups: list[str]
    rows: list[tuple[str, dict[str, Score]]]


def tables(scores: Sequence[Score]) -> list[Table]:
    """One table per metric (in :data:`METRIC_ORDER`), runs by their average or overall figure (best first)."""
    by_metric: dict[str, dict[str, dict[str, Score]]] = {}
    for score in scores:
        by_metric.setdefault(score.metric, {}).setdefault(score.run, {})[score.group] = score
    def metric_key(metric: str) -> tuple[int, str]:
        for index, prefix in enumerate(METRIC_ORDER):
            if metric.startswith(prefix):
                return (index, metric)
        return (len(METRIC_ORDER), metric)

    out = []
    for metric, runs in sorted(by_metric.items(), key=lambda item: metric_key(item[0])):
        groups = order_groups(group for cells in runs.values() for group in cells)
        plain = [g for g in groups if g not in (AVERAGE, OVERALL)]
        if len(plain) > 1 and OVERALL not in groups:
            for run, cells in runs.items():
                present = [cells[g] for g in plain if g in cells and cells[g].mean is not None]
                if len(present) == len(plain):  # an average only over every group
                    cells[AVERAGE] = Score(run, metric, AVERAGE, sum(s.mean for s in present) / len(present), None,
                                           sum(s.n for s in present))
            if any(AVERAGE in cells for cells in runs.values()):
                groups.append(AVERAGE)
        summary_col = AVERAGE if AVERAGE in groups else (OVERALL if OVERALL in groups else None)

        def rank(item: tuple[str, dict[str, Score]], column: str | None = summary_col) -> tuple[int, float, str]:
            """Runs with the summary column first, by it; then the others by the mean of the groups they have."""
            cell = item[1].get(column) if column else None
            if cell is not None and cell.mean is not None:
                return (0, -cell.mean, item[0])
            means = [s.mean for s in item[1].values() if s.mean is not None]
            return (1, -(sum(means) / len(means)) if means else 0.0, item[0])

        out.append(Table(metric, groups, sorted(runs.items(), key=rank)))
    return out


def cell_text(score: Score | None) -> str:
    if score is None or score.mean is None:
        return "—"
    text = f"{100 * score.mean:.1f}"
    if score.std is not None:
        text += f" ± {100 * score.std:.1f}"
    return text


def to_markdown(scores: Sequence[Score], title: str = "Leaderboard") -> str:
    lines = [f"# {title}", ""]
    for table in tables(scores):
        lines += [f"## {table.metric}", "", "| run | " + " | ".join(group_label(g) for g in table.groups) + " |",
                  "| --- |" + " ---: |" * len(table.groups)]
        for run, cells in table.rows:
            texts = []
            for group in table.groups:
                score = cells.get(group)
                texts.append(cell_text(score) + (f" (n={score.n})" if score else ""))
            lines.append(f"| {run} | " + " | ".join(texts) + " |")
        lines.append("")
    lines.append("Figures in percent: mean ± std over k repeated judgments where the metric has them; n = queries "
                 "or entries.")
    return "\n".join(lines) + "\n"


CSV_FIELDS = ("run", "metric", "group", "group_label", "mean", "std", "n", "k", "source")


def write_csv(scores: Sequence[Score], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_FIELDS)
        for table in tables(scores):
            for run, cells in table.rows:
                for group in table.groups:
                    if group in cells:
                        s = cells[group]
                        writer.writerow([s.run, s.metric, s.group, group_label(s.group),
                                         "" if s.mean is None else repr(s.mean), "" if s.std is None else repr(s.std),
                                         s.n, "" if s.k is None else s.k, s.source])
    return path


# -- plots and the page -------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "metric"


def plot(table: Table, path: Path) -> Path:
    """A grouped bar chart of one table: groups on the x axis, a bar per run, std as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [g for g in table.groups if g != AVERAGE]
    runs = [run for run, _ in table.rows]
    width = min(0.35, 0.8 / max(1, len(runs)))
    fig, ax = plt.subplots(figsize=(max(7.0, 1.1 * len(groups) + 4), 4.0), dpi=100)
    try:
        for index, (run, cells) in enumerate(table.rows):
            xs, heights, errors = [], [], []
            for position, group in enumerate(groups):
                score = cells.get(group)
                if score is None or score.mean is None:
                    continue
                xs.append(position + (index - (len(runs) - 1) / 2) * width)
                heights.append(100 * score.mean)
                errors.append(100 * score.std if score.std is not None else 0.0)
            ax.bar(xs, heights, width=width, yerr=errors if any(errors) else None, capsize=3, label=run)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([group_label(g) for g in groups], rotation=30 if len(groups) > 6 else 0, ha="right"
                           if len(groups) > 6 else "center")
        ax.set_ylim(0, 100)
        ax.set_ylabel(f"{table.metric} (%)")
        ax.set_title(table.metric)
        ax.grid(axis="y", alpha=0.3)
        if runs:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table.leaderboard { border-collapse: collapse; margin: 1rem 0; }
table.leaderboard th, table.leaderboard td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
table.leaderboard th:first-child, table.leaderboard td:first-child { text-align: left; }
table.leaderboard small { color: #666; }
img.plot { max-width: 100%; border: 1px solid #eee; }
"""


def to_html(scores: Sequence[Score], plots: Mapping[str, str], title: str = "Leaderboard",
            intro: Sequence[Section] = ()) -> str:
    """The static page (no script): the ``intro`` sections, then a table and an image per metric; ``plots`` maps
    a metric to its PNG's path relative to the page."""
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', f"<title>{esc(title)}</title>",
             f"<style>{_STYLE}</style>", "</head>", "<body>", f"<h1>{esc(title)}</h1>"]
    for section in intro:
        parts.append(f'<section class="intro"><h2>{esc(section.heading)}</h2>')
        if section.text:
            parts.append(f"<p>{esc(section.text)}</p>")
        if section.rows:
            head, *body = section.rows
            parts.append('<table class="intro"><thead><tr>' + "".join(f"<th>{esc(c)}</th>" for c in head)
                         + "</tr></thead><tbody>")
            parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in body]
            parts.append("</tbody></table>")
        parts.append("</section>")
    for table in tables(scores):
        parts.append(f'<section class="metric" data-metric="{esc(table.metric)}">')
        parts.append(f"<h2>{esc(table.metric)}</h2>")
        parts.append(f'<table class="leaderboard" data-metric="{esc(table.metric)}">')
        parts.append("<thead><tr><th>run</th>" + "".join(
            f'<th data-group="{esc(g)}">{esc(group_label(g))}</th>' for g in table.groups) + "</tr></thead><tbody>")
        for run, cells in table.rows:
            row = [f'<tr data-run="{esc(run)}"><td>{esc(run)}</td>']
            for group in table.groups:
                score = cells.get(group)
                if score is None:
                    row.append(f'<td data-group="{esc(group)}">—</td>')
                    continue
                attrs = f'data-group="{esc(group)}" data-n="{score.n}"'
                if score.mean is not None:
                    attrs += f' data-mean="{score.mean!r}"'
                if score.std is not None:
                    attrs += f' data-std="{score.std!r}"'
                row.append(f"<td {attrs}>{esc(cell_text(score))}<br><small>n={score.n}</small></td>")
            parts.append("".join(row) + "</tr>")
        parts.append("</tbody></table>")
        if table.metric in plots:
            parts.append(f'<img class="plot" src="{esc(plots[table.metric])}" alt="{esc(table.metric)} per group">')
        parts.append("</section>")
    parts.append("<p><small>Figures in percent: mean ± std over k repeated judgments where the metric has them; "
                 "n = queries or entries. Groups I1-Inst ... I3-Inst are ToolBench's G1_instruction ... "
                 "G3_instruction.</small></p>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class Section:
    """A block above the metrics on the page: a heading, a paragraph and a table (first row: the header); text,
    escaped."""

    heading: str
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()


def write_leaderboard(scores: Sequence[Score], out_dir: str | Path, title: str = "Leaderboard",
                      intro: Sequence[Section] = ()) -> dict[str, Path]:
    """Write ``leaderboard.md``, ``leaderboard.csv``, ``index.html`` and ``plots/<metric>.png`` into ``out_dir``
    (``intro``: sections shown above the metrics on the page)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots: dict[str, str] = {}
    written: dict[str, Path] = {}
    for table in tables(scores):
        name = f"plots/{slug(table.metric)}.png"
        written[f"plot:{table.metric}"] = plot(table, out / name)
        plots[table.metric] = name
    written["markdown"] = out / "leaderboard.md"
    written["markdown"].write_text(to_markdown(scores, title), encoding="utf-8")
    written["csv"] = write_csv(scores, out / "leaderboard.csv")
    written["html"] = out / "index.html"
    written["html"].write_text(to_html(scores, plots, title, intro), encoding="utf-8")
    return written


def summary_markdown(summary: Mapping[str, Any], run: str = "run") -> str:
    """One summary's tables (what the eval commands print)."""
    scores = scores_from_summary(summary, run)
    return to_markdown(scores, title=f"{summary.get('model') or run}").split("\n", 2)[2]
