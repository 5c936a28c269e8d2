"""Pure data steps of the demo (tested with plain equality): labelling the held-out BFCL entries with difficulty
tiers and real/fake entities, turning held-out samples into DFSDT tasks with rule-checkable expectations, writing
generated samples as DFSDT-style training runs, choosing the fine-tuning mix, and the headline figures.

Everything here reads the records the stages wrote (``generate calls``' samples, BFCL entries, ToolBench queries,
evaluation summaries); nothing calls a model or an API.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from toolbench.formats.finish import FINISH, GIVE_ANSWER

# BFCL category of a generated entry -> difficulty tier (complex arguments make any of them "enterprise").
TIER_OF_CATEGORY = {"simple": "simple", "parallel": "parallel", "multiple": "multiple",
                    "parallel_multiple": "parallel_multiple", "multi_turn_multiple": "multi_turn"}
ENTERPRISE = "enterprise"
FAKE_CATEGORY = "irrelevance_hallucination"
# Sample categories whose tasks have a checkable result (the calls a correct run makes).
TASK_CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "multi_turn")


def sample_of_entry(entry_id: str) -> str:
    """The sample id behind a BFCL entry id (``multi_turn_4-1`` -> ``multi_turn_4``)."""
    head, sep, tail = entry_id.rpartition("-")
    return head if sep and tail.isdigit() else entry_id


def _properties(function: Mapping[str, Any]) -> Mapping[str, Any]:
    params = function.get("parameters") or {}
    props = params.get("properties") if isinstance(params, Mapping) else None
    return props if isinstance(props, Mapping) else {}


def _has_enum(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    if "enum" in schema:
        return True
    return any(_has_enum(branch) for key in ("anyOf", "oneOf") for branch in schema.get(key) or [])


def is_complex_call(function: Mapping[str, Any], arguments: Mapping[str, Any]) -> bool:
    """True when a call passes a nested object or a list, or a value restricted to an enum."""
    props = _properties(function)
    return any(isinstance(value, (dict, list)) or _has_enum(props.get(name)) for name, value in arguments.items())


def label_entries(entries: list[dict[str, Any]], samples: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of BFCL entries with ``tier`` (calls only) and ``entity`` (real/fake) fields for ``eval report``.

    - tier: ``enterprise`` when an expected call of the entry's step is complex (:func:`is_complex_call`), else
      its category's tier (:data:`TIER_OF_CATEGORY`); entries expecting no call get none;
    - entity: ``fake`` for hallucination traps (a made-up company, movie, order...); ``real`` for entries calling
      an API that some trap targets (the same APIs, asked about entities that exist); others get none.

    ``samples`` maps sample id -> the sample as ``samples.jsonl`` stores it."""
    trap_targets = {tuple(s["meta"]["target"]) for s in samples.values()
                    if s.get("category") == "hallucination" and s.get("meta", {}).get("target")}
    out = []
    for entry in entries:
        labelled = dict(entry)
        sample = samples.get(sample_of_entry(str(entry["id"])))
        category = str(entry.get("category", ""))
        if category == FAKE_CATEGORY:
            labelled["entity"] = "fake"
        elif sample is not None and category in TIER_OF_CATEGORY:
            step_calls = _entry_calls(entry, sample)
            functions = {f["name"]: f for f in sample.get("functions", [])}
            complex_call = any(is_complex_call(functions.get(c["name"], {}), c.get("arguments") or {})
                               for c in step_calls)
            labelled["tier"] = ENTERPRISE if complex_call else TIER_OF_CATEGORY[category]
            if any((c.get("tool"), c.get("api")) in trap_targets for c in step_calls):
                labelled["entity"] = "real"
        out.append(labelled)
    return out


def _entry_calls(entry: Mapping[str, Any], sample: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps = sample.get("steps", [])
    _, sep, tail = str(entry["id"]).rpartition("-")
    index = int(tail) if sep and tail.isdigit() and len(steps) > 1 else 0
    return list(steps[index].get("calls", [])) if index < len(steps) else []


def round_robin(items: list[Any], key: Callable[[Any], str], order: Iterable[str] | None = None) -> list[Any]:
    """Items interleaved by ``key`` (one of each group in turn, groups in ``order`` then by name), each group
    keeping its own order."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    names = [g for g in (order or []) if g in groups] + sorted(g for g in groups if g not in set(order or []))
    out: list[Any] = []
    while any(groups[name] for name in names):
        for name in names:
            if groups[name]:
                out.append(groups[name].pop(0))
    return out


def seeded_order(items: list[Any], key: Callable[[Any], str], seed: int) -> list[Any]:
    """``items`` sorted by a hash of (seed, key): a shuffle that does not depend on the input order."""
    return sorted(items, key=lambda item: hashlib.sha256(f"{seed}:{key(item)}".encode()).hexdigest())


def dfsdt_tasks(queries: list[dict[str, Any]], samples: Mapping[str, Mapping[str, Any]], k: int
                ) -> list[dict[str, Any]]:
    """Up to ``k`` held-out queries (ToolBench query dicts from ``heldout/queries.json``) as tasks with an
    ``expectation``: the run must make each expected call (name and arguments) and finish with an answer. Only
    samples whose result is checkable this way are used (calls expected, every call answered by the hub);
    categories are interleaved so a few tasks cover several kinds."""
    candidates = []
    for query in queries:
        sample = samples.get(str(query.get("sample_id", "")))
        if sample is None or sample.get("category") not in TASK_CATEGORIES:
            continue
        steps = sample.get("steps", [])
        calls = [c for s in steps for c in s.get("calls", [])]
        if not calls or any(len(s.get("observations", [])) != len(s.get("calls", [])) for s in steps):
            continue
        task = dict(query)
        task["expectation"] = {"calls": [{"name": c["name"], "arguments": c.get("arguments") or {}} for c in calls]}
        candidates.append((sample["category"], task))
    ordered = round_robin(candidates, key=lambda pair: pair[0], order=TASK_CATEGORIES)
    return [task for _, task in ordered[:k]]


def final_answer(sample: Mapping[str, Any], max_fields: int = 3) -> str:
    """A short final answer for a DFSDT-style training run: up to ``max_fields`` top-level scalar fields of the
    last result (``count: 5, city: Paris``). Short on purpose: the Finish call must fit in the reply budget, and
    copying raw JSON into it would teach the model to run out of tokens inside an unterminated string."""
    steps = sample.get("steps", [])
    last = next((s["observations"][-1] for s in reversed(steps) if s.get("observations")), "")
    try:
        value = json.loads(last) if isinstance(last, str) else last
    except json.JSONDecodeError:
        value = None
    fields = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, (str, int, float)) and not isinstance(item, bool) and len(str(item)) <= 40:
                fields.append(f"{key}: {item}")
            if len(fields) == max_fields:
                break
    summary = ", ".join(fields)
    if sample.get("language") == "zh":
        return f"已完成。{summary}" if summary else "已完成。"
    return f"Done. {summary}." if summary else "Done."


def agent_example(sample: Mapping[str, Any], functions: Any, descriptions: Mapping[str, str],
                  observation: Callable[[str], str]) -> dict[str, Any] | None:
    """A generated sample as a DFSDT-style run in OpenAI fine-tuning form: ToolBench's opening messages, the
    expected calls (offered under the names ``functions`` gives their APIs), the hub's results as the search
    shows them (``observation`` formats one), and a ``Finish(give_answer)`` call. None for a sample without calls
    or with a call whose result is unknown.

    ``functions`` is the :class:`~toolbench.catalog.functions.FunctionSet` the search would offer for the
    sample's APIs; ``descriptions`` maps tool names to descriptions (the system prompt lists them)."""
    from annotate.prompts import opening_messages

    steps = sample.get("steps", [])
    if not steps or any(not s.get("calls") or len(s.get("observations", [])) != len(s["calls"]) for s in steps):
        return None
    by_api = {(f.api.tool, f.api.name): name for name, f in functions.functions.items()}
    text = " ".join(s["user"] for s in steps if s.get("user"))
    messages: list[dict[str, Any]] = list(opening_messages(text, functions, descriptions))
    for s_index, step in enumerate(steps):
        ids = [f"call_{s_index}_{c_index}" for c_index in range(len(step["calls"]))]
        calls = []
        for call_id, call in zip(ids, step["calls"]):
            name = by_api.get((call.get("tool"), call.get("api")))
            if name is None:
                return None
            calls.append({"id": call_id, "type": "function",
                          "function": {"name": name, "arguments": json.dumps(call.get("arguments") or {},
                                                                              ensure_ascii=False)}})
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        messages += [{"role": "tool", "tool_call_id": call_id, "content": observation(obs)}
                     for call_id, obs in zip(ids, step["observations"])]
    finish = {"return_type": GIVE_ANSWER, "final_answer": final_answer(sample)}
    messages.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_finish", "type": "function",
         "function": {"name": FINISH, "arguments": json.dumps(finish, ensure_ascii=False)}}]})
    return {"messages": messages, "tools": functions.openai_tools(finish=True)}


def trim_trailing_results(example: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI fine-tuning example without the tool results after its last assistant turn: only assistant turns
    are learned, so those results cost training time and teach nothing."""
    messages = list(example.get("messages", []))
    while messages and messages[-1].get("role") == "tool":
        messages.pop()
    return {**example, "messages": messages}


def pick(items: list[Any], k: int, category: Callable[[Any], str], ident: Callable[[Any], str], seed: int,
         order: Iterable[str] | None = None) -> list[Any]:
    """``k`` items, categories interleaved, a seeded order within each category."""
    return round_robin(seeded_order(items, ident, seed), category, order)[:k]


def _ast(done: Mapping[str, Any], stage: str) -> dict[str, Any] | None:
    figures = done.get(stage, {}).get("figures", {})
    return figures.get("ast")


def headline(done: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The headline from the stages' markers: BFCL's public categories (the public block), then AST accuracy on
    the generated held-out split and the DFSDT pass rate (rule checks), before and after fine-tuning, with their
    sample sizes."""
    out: dict[str, Any] = {}
    for label in ("base", "tuned"):
        public = done.get(f"bfcl_{label}", {}).get("figures", {}).get("public")
        if public is not None:
            out.setdefault("public", {})[label] = public
    for label, stage in (("base", "eval_base"), ("tuned", "eval_tuned")):
        ast = _ast(done, stage)
        if ast is not None:
            out.setdefault("ast", {})[label] = ast
    passes = done.get("pass_rate", {}).get("figures", {})
    for label in ("base", "tuned"):
        if label in passes:
            out.setdefault("pass_rate", {})[label] = passes[label]
    return out


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


PUBLIC_TITLE = "BFCL public categories (function calling, tool_choice auto)"
OWN_TITLE = "In distribution: the generated held-out split, and DFSDT on held-out tasks"


def headline_tables(figures: Mapping[str, Any],
                    model: str = "SmolLM2-135M-Instruct") -> list[tuple[str, list[list[str]], list[str]]]:
    """The headline as tables: ``(title, rows (the first is the header), notes)``; the public BFCL block first."""
    tables = []
    public = figures.get("public", {})
    if public:
        from eval.public_bfcl import render_columns

        labels = {"base": "before fine-tuning", "tuned": "after LoRA on generated data"}
        text = render_columns({labels[k]: public[k] for k in ("base", "tuned") if k in public})
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
                if line.startswith("|") and not line.startswith("| ---")]
        notes = [line for line in text.splitlines() if line.strip() and not line.startswith("|")]
        tables.append((PUBLIC_TITLE, rows, notes))
    rows = [[model, "before fine-tuning", "after LoRA on generated data"]]
    ast = figures.get("ast", {})
    if ast:
        rows.append(["AST accuracy, generated held-out split"] + [
            f"{percent(ast[k]['accuracy'])} ({ast[k]['correct']}/{ast[k]['n']})" if k in ast else "n/a"
            for k in ("base", "tuned")])
    rates = figures.get("pass_rate", {})
    if rates:
        rows.append(["DFSDT pass rate, rule checks"] + [
            f"{percent(rates[k]['value'])} ({rates[k]['passed']}/{rates[k]['n']})" if k in rates else "n/a"
            for k in ("base", "tuned")])
    if len(rows) > 1:
        note = "The held-out split comes from the same generator as the training data: an in-distribution figure."
        tables.append((OWN_TITLE, rows, [note]))
    return tables


def headline_markdown(figures: Mapping[str, Any], model: str = "SmolLM2-135M-Instruct") -> str:
    """The headline as Markdown: a table per :func:`headline_tables` entry, with its notes."""
    parts = []
    for title, rows, notes in headline_tables(figures, model):
        lines = [f"**{title}**", "", "| " + " | ".join(rows[0]) + " |",
                 "| --- |" + " ---: |" * (len(rows[0]) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        parts.append("\n".join(lines + ([""] + notes if notes else [])))
    return "\n\n".join(parts) + "\n"
