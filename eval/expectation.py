"""Rule-based checks for generated tasks whose expected result is known (``Query.expectation``).

A task generated from the sandbox hub can say what a correct run does, and then no judge is asked: the run is
Solved when every rule holds, Unsolved otherwise, the same at every repetition. The expectation is a JSON object
with any of these keys (all optional, all must hold)::

    {
      "finish": "give_answer",                 # or "give_up": the run must end with Finish of this type
      "answer_contains": ["Paris", "18 °C"],   # every string appears in the final answer
      "answer_contains_any": ["sunny", "clear"],  # at least one appears
      "answer_excludes": ["error"],            # none appears
      "answer_matches": "order #\\d+",         # a regular expression found in the final answer
      "calls": [{"name": "get_weather_for_weather", "arguments": {"city": "Paris"}}],  # each call was made
      "no_calls": ["delete_order_for_shop"]    # never called
    }

Strings are compared after normalisation: case folded, runs of white space made one space, and the thousands
separators of numbers removed (``756,000`` matches ``756000``). A call matches when its name is equal and its
arguments (decoded from the run's JSON text) include every expected argument; expected string values compare
normalised, other values by equality. Without ``finish``, a run must still end with ``give_answer`` to be Solved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eval.answers import Prediction
from toolbench.errors import ToolbenchError
from toolbench.formats.finish import GIVE_ANSWER, GIVE_UP

KEYS = ("finish", "answer_contains", "answer_contains_any", "answer_excludes", "answer_matches", "calls", "no_calls")


class ExpectationError(ToolbenchError):
    """A query's expectation is malformed; the message names the key."""


@dataclass(frozen=True)
class ExpectationVerdict:
    ok: bool
    failures: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "all expected results found" if self.ok else "; ".join(self.failures)


def normalize(text: str) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def _strings(expectation: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = expectation.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ExpectationError(f"{where}.{key}: must be a string or a list of strings")
    return value


def validate(expectation: Any, where: str = "expectation") -> dict[str, Any]:
    """Check an expectation's shape; returns it. Unknown keys are an error (a typo would silently pass)."""
    if not isinstance(expectation, Mapping):
        raise ExpectationError(f"{where}: must be an object")
    unknown = sorted(set(expectation) - set(KEYS))
    if unknown:
        raise ExpectationError(f"{where}: unknown key(s) {', '.join(unknown)}; use {', '.join(KEYS)}")
    finish = expectation.get("finish", GIVE_ANSWER)
    if finish not in (GIVE_ANSWER, GIVE_UP):
        raise ExpectationError(f"{where}.finish: must be '{GIVE_ANSWER}' or '{GIVE_UP}'; got {finish!r}")
    for key in ("answer_contains", "answer_contains_any", "answer_excludes", "no_calls"):
        _strings(expectation, key, where)
    pattern = expectation.get("answer_matches")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise ExpectationError(f"{where}.answer_matches: not a regular expression ({exc})") from exc
    calls = expectation.get("calls", [])
    if not isinstance(calls, list):
        raise ExpectationError(f"{where}.calls: must be a list of {{name, arguments}} objects")
    for index, call in enumerate(calls):
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise ExpectationError(f"{where}.calls[{index}]: must be an object with a 'name' string")
        if not isinstance(call.get("arguments", {}), Mapping):
            raise ExpectationError(f"{where}.calls[{index}].arguments: must be an object")
    return dict(expectation)


def _value_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str):
        return isinstance(actual, (str, int, float)) and normalize(str(actual)) == normalize(expected)
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(actual, str):
        try:
            return float(actual) == float(expected)
        except ValueError:
            return False
    return expected == actual


def _call_matches(expected: Mapping[str, Any], name: str, arguments: str) -> bool:
    if name != expected["name"]:
        return False
    try:
        decoded = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return False
    if not isinstance(decoded, Mapping):
        return False
    return all(key in decoded and _value_matches(value, decoded[key])
               for key, value in (expected.get("arguments") or {}).items())


def check(expectation: Mapping[str, Any], prediction: Prediction) -> ExpectationVerdict:
    """Whether a run meets its task's expectation, with the rules that failed."""
    expectation = validate(expectation)
    failures: list[str] = []
    finish = expectation.get("finish", GIVE_ANSWER)
    if prediction.finish_type != finish:
        failures.append(f"expected the run to finish with {finish}, it ended with {prediction.finish_type or 'no Finish call'}")
    answer = normalize(prediction.final_answer)
    missing = [s for s in _strings(expectation, "answer_contains", "") if normalize(s) not in answer]
    if missing:
        failures.append(f"final answer lacks {', '.join(repr(s) for s in missing)}")
    any_of = _strings(expectation, "answer_contains_any", "")
    if any_of and not any(normalize(s) in answer for s in any_of):
        failures.append(f"final answer has none of {', '.join(repr(s) for s in any_of)}")
    present = [s for s in _strings(expectation, "answer_excludes", "") if normalize(s) in answer]
    if present:
        failures.append(f"final answer contains {', '.join(repr(s) for s in present)}")
    pattern = expectation.get("answer_matches")
    if pattern is not None and not re.search(pattern, prediction.final_answer, re.IGNORECASE):
        failures.append(f"final answer does not match /{pattern}/")
    tool_steps = [step for step in prediction.steps if step.role == "tool"]
    for call in expectation.get("calls", []):
        if not any(_call_matches(call, step.name, step.arguments) for step in tool_steps):
            failures.append(f"no call of {call['name']} with {json.dumps(call.get('arguments') or {}, ensure_ascii=False)}")
    forbidden = [name for name in _strings(expectation, "no_calls", "") if name in prediction.called]
    if forbidden:
        failures.append(f"called {', '.join(forbidden)}, which the task forbids")
    return ExpectationVerdict(not failures, tuple(failures))
