"""The judge's questions (ToolEval's prompts: answer status, task solvable, better answer), the messages they
become, and how a reply is read back into a decision (a function call, or a JSON object in the text)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eval.metrics import SOLVED, UNSOLVED, UNSURE
from toolbench.llm.base import ChatReply

# the answers of TASK_SOLVABLE
SOLVABLE, UNSOLVABLE = "Solvable", "Unsolvable"

SYSTEM_PROMPT = (
    "You are a strict, careful evaluator of AI assistants that answer user requests by calling tools (APIs). "
    "You judge only from the material given to you. Give a short reason, then your decision, exactly in the form "
    "asked."
)


@dataclass(frozen=True)
class Question:
    """One kind of decision: the function the judge calls, the field it fills, the allowed values."""

    name: str
    field: str
    values: tuple[Any, ...]
    description: str
    template: str

    def tool(self) -> dict[str, Any]:
        kind = "integer" if all(isinstance(v, int) for v in self.values) else "string"
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "reason": {"type": "string", "description": "Why, in one to three sentences."},
                        self.field: {"type": kind, "enum": list(self.values)},
                    },
                    "required": ["reason", self.field],
                },
            },
        }


_REPLY_FORM = (
    "\n\nAnswer by calling the function `{name}` with `reason` and `{field}`. If you cannot call functions, reply "
    "with only a JSON object: {{\"reason\": \"...\", \"{field}\": <one of {choices}>}}."
)

ANSWER_STATUS = Question(
    name="answer_status",
    field="answer_status",
    values=(SOLVED, UNSOLVED, UNSURE),
    description="Record whether the final answer solves the user's request.",
    template=(
        "A user made a request and an assistant, after using tools, gave the final answer below. Decide whether "
        "the final answer solves the request.\n"
        "- If the answer apologises, refuses, says it could not do it, or does not respond directly and positively "
        "to the request, the status is \"Unsolved\".\n"
        "- If it does respond directly: when you are confident whether it solves every part of the request, the "
        "status is \"Solved\" or \"Unsolved\"; when the answer alone is not enough to tell, the status is "
        "\"Unsure\".\n\n"
        "Request:\n{query}\n\nFinal answer:\n{answer}"
    ),
)

DETAILED_ANSWER_STATUS = Question(
    name="detailed_answer_status",
    field="answer_status",
    values=(SOLVED, UNSOLVED, UNSURE),
    description="Record whether the run, checked against its tool calls and their results, solves the request.",
    template=(
        "A user made a request. Below is how an assistant worked on it: each tool call with its arguments and the "
        "response it got, then the final answer. Decide whether the request was solved.\n"
        "- If every tool response is an error, the status is \"Unsolved\".\n"
        "- If the final answer states things that the tool responses contradict or do not support, the status is "
        "\"Unsolved\".\n"
        "- If you cannot verify whether the information in the final answer is true and valid, the status is "
        "\"Unsure\".\n"
        "- If successful tool calls did produce what the request asks for, and the final answer reports it, the "
        "status is \"Solved\".\n\n"
        "Request:\n{query}\n\nRun (JSON):\n{answer}"
    ),
)

TASK_SOLVABLE = Question(
    name="task_solvable",
    field="task_status",
    values=(SOLVABLE, UNSOLVABLE, UNSURE),
    description="Record whether the request can be solved with the tools available.",
    template=(
        "Decide whether the user's request below can be solved with the tools available.\n"
        "- If the request gives invalid information (an impossible date, a malformed e-mail address or phone "
        "number...), the status is \"Unsolvable\".\n"
        "- If the request lacks information that solving it needs (for example which restaurant to navigate "
        "to), the status is \"Unsolvable\".\n"
        "- If the tools available are enough to solve it, the status is \"Solvable\".\n"
        "- If you cannot reach a conclusion, the status is \"Unsure\".\n\n"
        "Request:\n{query}\n\nTools available (JSON):\n{tools}"
    ),
)

BETTER_ANSWER = Question(
    name="better_answer",
    field="index",
    values=(0, 1),
    description="Record which of the two answers is better (0 or 1). The order in which they are shown must not "
    "matter.",
    template=(
        "A user made a request; two assistants answered it. Choose the better answer.\n"
        "First compare the final answers: is it informative (does it hold everything the request needs)? "
        "Is it factual (does it describe correctly what was done and what failed)? If it does not solve the "
        "request, does it explain why, accurately?\n"
        "If that does not settle it, compare the runs: fewer failed or repeated tool calls; fewer steps; more of "
        "the request's sub-tasks completed; useful tools tried with different arguments.\n"
        "The order in which the answers are shown says nothing about their quality.\n\n"
        "Request:\n{query}\n\nAnswer 0 (JSON):\n{answer_0}\n\nAnswer 1 (JSON):\n{answer_1}"
    ),
)

QUESTIONS = {q.name: q for q in (ANSWER_STATUS, DETAILED_ANSWER_STATUS, TASK_SOLVABLE, BETTER_ANSWER)}


def build_messages(question: Question, fields: Mapping[str, str]) -> list[dict[str, Any]]:
    """The chat messages asking ``question`` (pure; tested with plain equality)."""
    choices = ", ".join(json.dumps(v) for v in question.values)
    body = question.template.format(**fields) + _REPLY_FORM.format(name=question.name, field=question.field,
                                                                  choices=choices)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": body}]


def _coerce(question: Question, value: Any) -> Any:
    """The allowed value ``value`` stands for, or None."""
    if isinstance(value, bool):
        return None
    if all(isinstance(v, int) for v in question.values):
        if isinstance(value, (int, float)) and int(value) == value and int(value) in question.values:
            return int(value)
        if isinstance(value, str) and value.strip() in {str(v) for v in question.values}:
            return int(value.strip())
        return None
    if isinstance(value, str):
        for allowed in question.values:
            if value.strip().strip(".\"'").casefold() == str(allowed).casefold():
                return allowed
    return None


def _json_objects(text: str) -> Iterable[Any]:
    """JSON objects found in text: the whole text, fenced blocks, then each balanced {...} span."""
    candidates = [text]
    candidates += re.findall(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    depth, start = 0, -1
    for index, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                candidates.append(text[start:index + 1])
    for candidate in candidates:
        try:
            yield json.loads(candidate)
        except (ValueError, TypeError):
            continue


def parse_decision(question: Question, reply: ChatReply) -> tuple[Any, str] | None:
    """``(value, reason)`` from the judge's reply, or None when it holds no readable decision.

    Read in this order: a call of the question's function (or of any function whose arguments hold the field);
    call arguments that are not valid JSON but give the field one allowed value (an echo of the prompt's list of
    choices does not count); a JSON object in the text with the field; the allowed word the text names right after
    the field's name; for the status questions, an allowed word alone on the last line. Values are matched
    case-insensitively.
    """
    calls = sorted(reply.tool_calls, key=lambda call: call.name != question.name)
    for call in calls:
        if question.field in call.arguments:
            value = _coerce(question, call.arguments[question.field])
            if value is not None:
                return value, str(call.arguments.get("reason", reply.content or ""))
    words = "|".join(re.escape(str(v)) for v in question.values)
    # arguments that are not valid JSON but hold the field with one value (not the prompt's list of choices echoed)
    salvage = re.compile(rf'"{re.escape(question.field)}"\s*:\s*"?({words})\b"?+(?!\s*[|,]\s*"?(?:{words})\b)',
                         re.IGNORECASE)
    for call in calls:
        if call.parse_error:
            found = salvage.findall(call.raw_arguments)
            if len(set(found)) == 1:
                return _coerce(question, found[0]), reply.content or ""
    text = reply.content or ""
    for data in _json_objects(text):
        if isinstance(data, Mapping) and question.field in data:
            value = _coerce(question, data[question.field])
            if value is not None:
                return value, str(data.get("reason", ""))
    labelled = re.findall(rf"{re.escape(question.field)}\W{{0,5}}({words})\b", text, re.IGNORECASE)
    if labelled:
        return _coerce(question, labelled[-1]), text.strip()
    if isinstance(question.values[0], str):
        last = text.strip().splitlines()[-1] if text.strip() else ""
        value = _coerce(question, re.sub(r"^\W+|\W+$", "", last))
        if value is not None:
            return value, text.strip()
    return None
