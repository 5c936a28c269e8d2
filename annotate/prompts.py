"""The opening messages of an annotation request: ToolBench's system prompt and the task.

The texts are ToolBench's, word for word as its answer files record them (typos included: models were trained on
them, and `annotate.export` must reproduce those files). The system prompt names each tool of the query once,
in the order its APIs are offered, with the tool's description from the catalog when one is known.
"""

from __future__ import annotations

from collections.abc import Mapping

from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.naming import standardize

SYSTEM_PROMPT = (
    "You are AutoGPT, you can use many tools(functions) to do the following task.\n"
    "First I will give you the task description, and your task start.\n"
    "At each step, you need to give your thought to analyze the status now and what to do next, with a function "
    "call to actually excute your step.\n"
    "After the call, you will get the call result, and you are now in a new state.\n"
    "Then you will analyze your status now, then decide what to do next...\n"
    "After many (Thought-call) pairs, you finally perform the task, then you can give your finial answer.\n"
    "Remember: \n"
    "1.the state change is irreversible, you can't go back to one of the former state, if you want to restart the "
    "task, say \"I give up and restart\".\n"
    "2.All the thought is short, at most in 5 sentence.\n"
    "3.You can do more then one trys, so if your plan is to continusly try some conditions, you can do one of the "
    "conditions per try.\n"
    "Let's Begin!\n"
    "Task description: {task_description}"
)

TASK_DESCRIPTION = (
    "You should use functions to help handle the real time user querys. Remember:\n"
    "1.ALWAYS call \"Finish\" function at the end of the task. And the final answer should contain enough "
    "information to show to the user,If you can't handle the task, or you find that function calls always "
    "fail(the function is not valid now), use function Finish->give_up_and_restart.\n"
    "2.Do not use origin tool names, use only subfunctions' names.\n"
    "You have access of the following tools:\n"
)


def system_prompt(tools: list[tuple[str, str]]) -> str:
    """The system prompt listing ``(standardised tool name, description)`` pairs."""
    listing = "".join(f"{i}.{name}: {description}\n" for i, (name, description) in enumerate(tools, start=1))
    return SYSTEM_PROMPT.replace("{task_description}", TASK_DESCRIPTION + listing)


def user_prompt(query_text: str) -> str:
    return f"\n{query_text}\nBegin!\n"


def offered_tools(functions: FunctionSet, descriptions: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The tools behind the offered functions, once each in order: (standardised name, description).
    ``descriptions`` maps a tool's name (or standardised name) to its description."""
    descriptions = descriptions or {}
    seen: dict[str, str] = {}
    for offered in functions.functions.values():
        tool = offered.api.tool
        std = standardize(tool)
        if std not in seen:
            seen[std] = descriptions.get(tool, descriptions.get(std, ""))
    return list(seen.items())


def opening_messages(query_text: str, functions: FunctionSet,
                     descriptions: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The system and user messages every request of an annotation starts with."""
    return [{"role": "system", "content": system_prompt(offered_tools(functions, descriptions))},
            {"role": "user", "content": user_prompt(query_text)}]
