"""The figures of an equal-budget comparison (:mod:`annotate.compare`), from its unit rows and the verdicts of the
tasks' checks, as JSON and Markdown. Pure functions: the caller scores the answers and gives the interval.

Per model and strategy: the pass rate by rule checks (and by the LLM judge when one was asked) with its 95%
interval; per solved task (passed by rule checks) the mean model calls, tokens, API calls and wall time, and what
the whole strategy spent divided by the tasks it solved; what each saving avoided: API calls replayed from the
shared journal, repeated calls pruned, model calls of the budget left unspent by searches that stopped on an
answer (and the tokens those would have cost at the strategy's mean tokens per call), answers rejected by
verification; and, per model and pair of strategies, the tasks only one of them passed (by rule checks) with the
caller's paired test (a sign test: is the ordering more than chance?).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from annotate.compare import STRATEGY_NAMES
from annotate.tree import SOLVED

# ToolLLM's (Qin et al. 2023) average pass rates with ChatGPT, for the reader's reference.
TOOLLLM_CHATGPT = {"react": 35.3, "react@n": 44.5, "dfsdt": 63.8}

Interval = Callable[[int, int], tuple[float, float]]
Paired = Callable[[int, int], float]
Verdicts = Mapping[tuple[str, str], Mapping[str, Mapping[str, bool | None]]]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _rate(passed: int, n: int, interval: Interval) -> dict[str, Any]:
    low, high = interval(passed, n) if n else (0.0, 1.0)
    return {"passed": passed, "n": n, "rate": round(passed / n, 4) if n else None,
            "interval": [round(low, 4), round(high, 4)]}


def paired_rows(verdicts: Verdicts, *, models: Iterable[str], strategies: Iterable[str],
                paired: Paired) -> list[dict[str, Any]]:
    """Per model and pair of strategies (in the given order), over the tasks both ran: how many only the first
    passed by rule checks (``wins``), only the second (``losses``), both or neither (``ties``), and ``p``, the
    paired test of wins against losses."""
    strategies = list(strategies)
    out = []
    for label in models:
        for i, first in enumerate(strategies):
            for second in strategies[i + 1:]:
                a, b = verdicts.get((label, first), {}), verdicts.get((label, second), {})
                both = [t for t in a if t in b]
                wins = sum(1 for t in both if a[t].get("rules") and not b[t].get("rules"))
                losses = sum(1 for t in both if b[t].get("rules") and not a[t].get("rules"))
                out.append({"model": label, "first": first, "second": second, "tasks": len(both), "wins": wins,
                            "losses": losses, "ties": len(both) - wins - losses,
                            "p": round(paired(wins, losses), 4)})
    return out


def build_table(rows: Iterable[Mapping[str, Any]], verdicts: Verdicts, *, budget: int, models: Iterable[str],
                strategies: Iterable[str], interval: Interval, paired: Paired | None = None) -> dict[str, Any]:
    """``{"budget", "rows": [...], "pairs": [...]}``: one row per model and strategy (in the given orders); the
    pairs (:func:`paired_rows`) when ``paired`` is given."""
    rows = list(rows)
    models, strategies = list(models), list(strategies)
    out = []
    for label in models:
        for strategy in strategies:
            units = [r for r in rows if r["model"] == label and r["strategy"] == strategy]
            checks = verdicts.get((label, strategy), {})
            rules = [u for u in units if checks.get(u["task_id"], {}).get("rules")]
            judged = [checks[u["task_id"]]["judge"] for u in units
                      if checks.get(u["task_id"], {}).get("judge") is not None]
            tokens = sum(u["prompt_tokens"] + u["completion_tokens"] for u in units)
            calls = sum(u["llm_calls"] for u in units)
            stopped = [u for u in units if u["status"] == SOLVED]
            unspent = sum(max(budget - u["llm_calls"], 0) for u in stopped)
            solved = len(rules)
            row: dict[str, Any] = {
                "model": label, "strategy": strategy, "name": STRATEGY_NAMES.get(strategy, strategy),
                "tasks": len(units), "answered": sum(1 for u in units if u["finish_type"] == "give_answer"),
                "pass_rules": _rate(solved, len(units), interval),
                "pass_judge": _rate(sum(judged), len(judged), interval) if judged else None,
                "per_solved": {
                    "llm_calls": _mean([u["llm_calls"] for u in rules]),
                    "tokens": _mean([u["prompt_tokens"] + u["completion_tokens"] for u in rules]),
                    "api_calls": _mean([u["api_calls"] for u in rules]),
                    "seconds": _mean([u["seconds"] for u in rules]),
                },
                "spent_per_solved": {
                    "llm_calls": round(calls / solved, 2) if solved else None,
                    "tokens": round(tokens / solved, 1) if solved else None,
                    "api_calls": round(sum(u["api_calls"] for u in units) / solved, 2) if solved else None,
                    "seconds": round(sum(u["seconds"] for u in units) / solved, 2) if solved else None,
                },
                "spent": {"llm_calls": calls, "tokens": tokens, "api_calls": sum(u["api_calls"] for u in units),
                          "api_made": sum(u["api_made"] for u in units),
                          "seconds": round(sum(u["seconds"] for u in units), 2)},
                "saved": {
                    "api_calls_replayed": sum(u["api_calls"] - u["api_made"] for u in units),
                    "repeated_calls_pruned": sum(u["pruned_calls"] for u in units),
                    "llm_calls_unspent": unspent,
                    "tokens_unspent": round(unspent * tokens / calls) if calls else 0,
                    "answers_rejected": sum(u["rejected"] for u in units),
                },
            }
            out.append(row)
    pairs = paired_rows(verdicts, models=models, strategies=strategies, paired=paired) if paired else []
    return {"budget": budget, "rows": out, "pairs": pairs, "toolllm_chatgpt": TOOLLLM_CHATGPT}


def _pct(rate: Mapping[str, Any] | None) -> str:
    if not rate or rate["rate"] is None:
        return "n/a"
    low, high = rate["interval"]
    return f"{100 * rate['rate']:.1f}% [{100 * low:.1f}–{100 * high:.1f}] ({rate['passed']}/{rate['n']})"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def table_markdown(table: Mapping[str, Any]) -> str:
    """The comparison as two Markdown tables: pass rates and costs, then what each saving avoided."""
    lines = [f"# Equal-budget comparison: {table['budget']} model calls per task", "",
             ("| model | strategy | tasks | answered | pass rate (rules) [95%] | pass rate (judge) | "
             "per solved: model calls | tokens | API calls | seconds | spent per solved: model calls | tokens |"),
             "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in table["rows"]:
        ps, sp = r["per_solved"], r["spent_per_solved"]
        lines.append(f"| {r['model']} | {r['name']} | {r['tasks']} | {r['answered']} | {_pct(r['pass_rules'])} | "
                     f"{_pct(r['pass_judge'])} | {_num(ps['llm_calls'])} | {_num(ps['tokens'])} | "
                     f"{_num(ps['api_calls'])} | {_num(ps['seconds'])} | {_num(sp['llm_calls'])} | "
                     f"{_num(sp['tokens'])} |")
    lines += ["", "What the cheaper search saved:", "",
              ("| model | strategy | model calls spent | API calls (made) | API calls replayed (shared journal) | "
              "repeated calls pruned | model calls left by early stop | tokens left | answers rejected |"),
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in table["rows"]:
        s, sv = r["spent"], r["saved"]
        lines.append(f"| {r['model']} | {r['name']} | {s['llm_calls']} | {s['api_calls']} ({s['api_made']}) | "
                     f"{sv['api_calls_replayed']} | {sv['repeated_calls_pruned']} | {sv['llm_calls_unspent']} | "
                     f"{sv['tokens_unspent']} | {sv['answers_rejected']} |")
    if table.get("pairs"):
        lines += ["", "Task by task (rule checks): tasks only the first strategy passed, only the second, and the sign "
                  "test of the two:", "", "| model | first vs second | tasks | first only | second only | sign test p |",
                  "| --- | --- | ---: | ---: | ---: | ---: |"]
        for r in table["pairs"]:
            names = f"{STRATEGY_NAMES.get(r['first'], r['first'])} vs {STRATEGY_NAMES.get(r['second'], r['second'])}"
            lines.append(f"| {r['model']} | {names} | {r['tasks']} | {r['wins']} | {r['losses']} | {r['p']:.2f} |")
    ref = table.get("toolllm_chatgpt", TOOLLLM_CHATGPT)
    lines += ["", (f"For reference, ToolLLM's average pass rates with ChatGPT: ReACT {ref['react']}, "
                  f"ReACT@N {ref['react@n']}, DFSDT {ref['dfsdt']} (their judge, their budget)."), ""]
    return "\n".join(lines)
