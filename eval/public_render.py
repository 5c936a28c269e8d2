"""The public BFCL block as a table (:mod:`eval.public_bfcl` makes the summaries this shows).

:func:`public_table` turns summaries (one column each) into a :class:`PublicTable`: the header, the rows as lists
of cells (one row per category, then the micro and macro averages, each followed by a "BFCL would report" row
where BFCL's figure differs from ours in some column) and the notes under it. Everything that shows the block
takes that structure: :meth:`PublicTable.markdown` (the run's ``public_bfcl.summary.md``, ``toolbench eval
bfcl-public``'s output) and the demo's headline, which reads the rows and notes as they are, never the Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eval import intervals
from eval.public_sample import UNKNOWN, PublicBfclError

MODE_LABELS = {
    "auto": 'function calling, tool_choice "auto": the model decides whether to call (the headline mode)',
    "required": 'forced call, tool_choice "required": a call is forced (not comparable with "auto")',
}
BFCL_SUFFIX = ": BFCL would report"  # the label of the row under a figure where BFCL's differs from ours
# Why an entry failed (the keys of a summary's ``failures``, :func:`eval.public_bfcl.failure_kind`), as read.
FAILURE_KINDS = {
    "cut": "reply cut at max_tokens",
    "text": "no call: text instead",
    "wrong_function": "wrong function",
    "call_count": "wrong number of calls",
    "value": "wrong value",
    "missing_argument": "a stated argument left out",
    "type": "wrong type",
    "called": "called a function (irrelevance)",
    "unclear": "neither a call nor a refusal (irrelevance)",
    "no_prediction": "no prediction (request failed)",
}


@dataclass(frozen=True)
class PublicTable:
    """The block as data: ``header`` (``category``, ``n``, then a column per summary), ``rows`` (cells as text:
    the label, n, ``accuracy [95% interval]`` per column) and ``notes`` (a sentence each)."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """The table, then its notes, as Markdown."""
        lines = ["| " + " | ".join(self.header) + " |", "| --- | ---: |" + " ---: |" * (len(self.header) - 2)]
        lines += ["|" + "|".join(f" {cell} " if cell else " " for cell in row) + "|" for row in self.rows]
        return "\n".join(lines + [""] + self.notes) + "\n"


def _cell(figures: Mapping[str, Any] | None) -> str:
    if not figures:
        return "—"
    return intervals.percent(figures.get("accuracy"), figures.get("interval"))


def _on_off(value: Any) -> str:
    return {True: "on", False: "off"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _n_cell(values: list[Any]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "—"
    return str(known[0]) if len(set(known)) == 1 else " / ".join("—" if v is None else str(v) for v in values)


def public_table(summaries: Mapping[str, Mapping[str, Any]]) -> PublicTable:
    """One row per category (then micro and macro), one column per summary (its label, then its mode), ``accuracy
    [95% interval]`` in each cell; a "BFCL would report" row under any figure where BFCL's differs from ours in
    some column; notes on the mode, constrained decoding, intervals and sample. Pure: summaries in, table out."""
    if not summaries:
        raise PublicBfclError("render: no summaries given")
    labels = list(summaries)
    columns = [summaries[label] for label in labels]
    header = ["category", "n"] + [f"{label} ({s.get('mode', '?')})" for label, s in zip(labels, columns)]
    rows: list[list[str]] = []
    categories: list[str] = []
    for summary in columns:
        categories += [c for c in summary.get("categories", {}) if c not in categories]

    def add(label: str, figures: list[Mapping[str, Any] | None]) -> None:
        rows.append([label, _n_cell([f.get("n") if f else None for f in figures])] + [_cell(f) for f in figures])
        if any(f and f.get("differs") for f in figures):
            rows.append([label.replace("**", "") + BFCL_SUFFIX, ""]
                        + [_cell(f.get("bfcl") if f else None) for f in figures])

    for category in categories:
        add(category, [s.get("categories", {}).get(category) for s in columns])
    add("**overall, micro**", [s.get("overall", {}).get("micro") for s in columns])
    counts = {s.get("overall", {}).get("macro", {}).get("categories") for s in columns}
    add(f"**overall, macro** ({' / '.join(str(c) for c in sorted(counts, key=str))} categories)",
        [s.get("overall", {}).get("macro") for s in columns])
    return PublicTable(header, rows, _notes(labels, columns))


def _notes(labels: list[str], columns: list[Mapping[str, Any]]) -> list[str]:
    notes = []
    modes = {s.get("mode") for s in columns}
    for mode in sorted(m for m in modes if m):
        notes.append(f"Mode {mode}: {MODE_LABELS.get(mode, mode)}.")
    notes.append("Constrained decoding (as the server reports it): "
                 + "; ".join(f"{label}: {_on_off(s.get('constrained_decoding', UNKNOWN))}"
                             for label, s in zip(labels, columns)) + ".")
    thresholds = [s.get("call_threshold", UNKNOWN) for s in columns]
    if any(isinstance(t, (int, float)) for t in thresholds):
        notes.append("Call or text decided by a calibrated threshold on the probability of starting a call "
                     "(`llm serve --call-threshold`): " + "; ".join(
                         f"{label}: {t:.3g}" if isinstance(t, (int, float)) else f"{label}: "
                         + ("greedy" if t is None else str(t)) for label, t in zip(labels, thresholds)) + ".")
    notes.append("95% intervals: Wilson score per category and micro; macro: stratified bootstrap "
                 f"({intervals.BOOTSTRAP_REPLICATES} replicates). \"BFCL would report\": BFCL's function-calling "
                 "mode, where only tool calls count (text is wrong in call categories and a correct abstention "
                 "in irrelevance); shown where it differs from ours.")
    samples = [s.get("sample") for s in columns if s.get("sample")]
    if samples:
        first = samples[0]
        of = sum((v.get("of") or 0) for v in first["per_category"].values())
        split = first.get("split", "all")
        where = "" if split == "all" else f" (the {split} slice)"
        notes.append(f"Sample: {first['size']} of {of} entries{where} of bfcl-eval {first['bfcl_eval']} "
                     f"(seed {first['seed']}; the ids are in sample.json).")
        if any(s != first for s in samples[1:]):
            notes.append("**The columns were measured on different samples: they do not compare entry for entry.**")
    for label, s in zip(labels, columns):
        cut = {c: f["cut_at_max_tokens"] for c, f in (s.get("categories") or {}).items() if f.get("cut_at_max_tokens")}
        if cut:
            budget = (s.get("runner") or {}).get("max_tokens", "max_tokens")
            notes.append(f"**{label}: replies cut at {budget} tokens**: "
                         + ", ".join(f"{c} {n}" for c, n in cut.items())
                         + " (a cut call is wrong; raise max_tokens to score them whole).")
    skipped = {c: why for s in columns for c, why in (s.get("skipped") or {}).items()}
    for category, why in skipped.items():
        notes.append(f"{category}: {why}")
    return notes


def render_columns(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """:func:`public_table` as Markdown: the table, then its notes."""
    return public_table(summaries).markdown()


def render_public_block(base: Mapping[str, Any], tuned: Mapping[str, Any]) -> str:
    """The block as Markdown: category | n | base | tuned, each cell ``accuracy [95% interval]``."""
    return render_columns({"base": base, "tuned": tuned})


def failure_table(summary: Mapping[str, Any]) -> str:
    """Why entries failed: one row per kind of failure (:data:`FAILURE_KINDS`), one column per category; "" when
    the summary has no failures recorded."""
    categories = {c: f.get("failures") or {} for c, f in (summary.get("categories") or {}).items()}
    kinds = sorted({k for f in categories.values() for k in f}, key=lambda k: -sum(f.get(k, 0)
                                                                                  for f in categories.values()))
    if not kinds:
        return ""
    lines = ["| why wrong | " + " | ".join(categories) + " |", "| --- |" + " ---: |" * len(categories)]
    for kind in kinds:
        lines.append(f"| {FAILURE_KINDS.get(kind, kind)} | "
                     + " | ".join(str(f.get(kind, 0) or "") for f in categories.values()) + " |")
    return "\n".join(lines) + "\n"


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """One model's block as Markdown, then why its wrong entries failed."""
    failures = failure_table(summary)
    return render_columns({summary.get("model") or "model": summary}) + ("\n" + failures if failures else "")
