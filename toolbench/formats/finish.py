"""ToolBench's ``Finish`` function: its names, and the two readings of its arguments.

A run ends by calling ``Finish`` with ``{"return_type": "give_answer" | "give_up_and_restart", "final_answer":
"..."}`` (the schema offered is :data:`toolbench.catalog.functions.FINISH_FUNCTION`). A finished tree or run records
its *finish type*: ``give_answer`` or ``give_up`` (ToolBench's names).

- :func:`parse_finish`: the strict reading of a search (annotation, the agent): a call that is not exactly right
  is refused with a sentence the model is shown, so that it can correct itself.
- :func:`tooleval_finish`: the lenient reading of a judge (ToolEval's): whatever a model wrote, even text that is
  not JSON, is read as an answer or a give-up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

FINISH = "Finish"  # the function's name
GIVE_ANSWER = "give_answer"  # the finish type (and return_type) of an answer
GIVE_UP = "give_up"  # the finish type of a run that gave up (ToolBench's name)
GIVE_UP_AND_RESTART = "give_up_and_restart"  # the return_type that gives up


def answer_text(answer: Any) -> str:
    """A ``final_answer`` value as text (an answer given as JSON other than a string is its JSON text)."""
    return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)


def parse_finish(arguments: str) -> tuple[str | None, str | None, str | None]:
    """A Finish call's (return_type, final_answer, problem). ``problem`` is a sentence when the call is unusable."""
    try:
        data = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return None, None, f"the arguments of Finish are not JSON ({exc.msg})"
    if not isinstance(data, dict):
        return None, None, "the arguments of Finish must be a JSON object"
    rtype = data.get("return_type")
    answer = data.get("final_answer")
    if rtype is None:
        return None, None, 'Finish must have "return_type"'
    if rtype == GIVE_UP_AND_RESTART:
        return rtype, None, None
    if rtype == GIVE_ANSWER:
        if answer is None:
            return rtype, None, 'Finish must have "final_answer" when "return_type" is "give_answer"'
        return rtype, answer_text(answer), None
    return rtype, None, f'"return_type" must be "give_answer" or "give_up_and_restart", not {rtype!r}'


def tooleval_finish(arguments: str) -> tuple[str, str]:
    """``(finish_type, final_answer_text)`` from the arguments of a Finish call, also when the text is not valid
    JSON (then read with a pattern) or is plain prose (then it is the answer itself): ``give_up`` when the
    arguments say ``give_up_and_restart`` or carry no answer, ``give_answer`` otherwise."""
    text = arguments or ""
    data: Any = None
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        data = None
    if isinstance(data, Mapping):
        return_type = str(data.get("return_type", ""))
        answer = answer_text(data.get("final_answer", ""))
    elif "return_type" in text or "final_answer" in text:
        match = re.search(r'"return_type"\s*:\s*"([^"]*)"', text)
        return_type = match.group(1) if match else ""
        match = re.search(r'"final_answer"\s*:\s*"(.*)', text, re.DOTALL)
        answer = re.sub(r'"\s*}?\s*$', "", match.group(1)) if match else ""
        answer = answer.replace('\\"', '"').replace("\\n", "\n")
    else:
        return_type, answer = "", text
    if "give_up" in return_type or GIVE_UP_AND_RESTART in text or not answer.strip():
        return GIVE_UP, answer.strip()
    return GIVE_ANSWER, answer.strip()
