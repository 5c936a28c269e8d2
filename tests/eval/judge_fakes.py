"""Scripted judges and hand-made answers for the judge tests (no network, no model)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from eval.answers import Prediction, Step
from toolbench.formats.finish import FINISH, GIVE_ANSWER, GIVE_UP
from toolbench.llm.scripted import ScriptedChatModel

TOOLS = [
    {"name": "get_weather_for_weather", "description": "Current weather of a city.",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    {"name": "Finish", "description": "Finish the task.", "parameters": {"type": "object", "properties": {}}},
]


def prediction(query_id: str = "1", final: str = "It is 18 degrees and sunny in Paris.",
               finish: str | None = GIVE_ANSWER, steps: list[Step] | None = None,
               query: str = "What is the weather in Paris?") -> Prediction:
    """An answer: a weather call, then Finish (unless ``finish`` is None)."""
    if steps is None:
        steps = [Step("tool", name="get_weather_for_weather", arguments='{"city": "Paris"}',
                      response='{"error": "", "response": {"temp_c": 18, "sky": "sunny"}}')]
        if finish is not None:
            arguments = json.dumps({"return_type": "give_up_and_restart"} if finish == GIVE_UP
                                   else {"return_type": "give_answer", "final_answer": final})
            steps.append(Step("tool", name=FINISH, arguments=arguments))
    return Prediction(query_id=query_id, query=query, tools=TOOLS, steps=steps,
                      final_answer=final if finish == GIVE_ANSWER else "", finish_type=finish)


def question_of(tools: list[dict] | None, params: Mapping[str, Any]) -> str:
    """The judge question a request asks (the function named in tool_choice)."""
    return params["tool_choice"]["function"]["name"]


def decision(question: str, value: Any, reason: str = "scripted"):
    field = {"task_solvable": "task_status", "better_answer": "index"}.get(question, "answer_status")
    return ScriptedChatModel.call(question, {"reason": reason, field: value})


def judge_model(answers: Mapping[str, Any] | Callable[[str, list, Mapping[str, Any]], Any],
                model: str = "judge") -> ScriptedChatModel:
    """A judge answering each question from ``answers`` ({question: value}) or a function
    (question, messages, params) -> value; the reply is a call of the question's function."""

    def respond(messages, tools, params):
        question = question_of(tools, params)
        if callable(answers):
            value = answers(question, messages, params)
        else:
            if question not in answers:
                raise AssertionError(f"the judge was not expected to be asked {question!r}")
            value = answers[question]
        return decision(question, value)

    return ScriptedChatModel([respond], model=model, repeat_last=True)


def asked(model: ScriptedChatModel) -> list[str]:
    """The questions asked, in order."""
    return [question_of(r["tools"], r["params"]) for r in model.requests]
