"""Test doubles for campaigns: a deterministic model (its replies depend only on the request) and a runner that
logs every API call to a file, so that calls can be counted across processes.

The CLI loads them only when TOOLBENCH_ANNOTATE_TEST_DOUBLES=tests.annotate.doubles:build is set (tests only).

Each query ``i`` plays one of two scripts:
- even ``i``: weather(i-a), then Finish(give_answer);
- odd ``i``: weather(i-a), forecast(i-b), Finish(give_up) -> DFSDT backs up to the first step's state and is
  shown the earlier attempt -> forecast(i-c), then Finish(give_answer).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from annotate.runner import ScriptedRunner
from tests.annotate.helpers import F_FORECAST, F_WEATHER, FORECAST, WEATHER, answer, call, give_up
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Query

API_LOG_ENV = "TOOLBENCH_TEST_API_LOG"
DELAY_ENV = "TOOLBENCH_TEST_API_DELAY"


def write_queries(path: Path, count: int) -> Path:
    queries = [Query(id=str(i), text=f"Weather in city number {i}?", apis=[WEATHER, FORECAST]).to_dict()
               for i in range(count)]
    path.write_text(json.dumps(queries))
    return path


def respond(messages: list[dict[str, Any]], tools: Any, params: Any):
    qid = int(messages[1]["content"].split("number ")[1].split("?")[0])
    done = sum(1 for m in messages if m["role"] == "tool")
    retry = messages[-1]["role"] == "user" and messages[-1]["content"].startswith("This is not the first time")
    if qid % 2 == 0:
        return call(F_WEATHER, {"city": f"{qid}-a"}) if done == 0 else answer(f"answer {qid}")
    if retry:
        return call(F_FORECAST, {"city": f"{qid}-c"}, "Let me try another city.")
    if done == 0:
        return call(F_WEATHER, {"city": f"{qid}-a"})
    if done == 1:
        return call(F_FORECAST, {"city": f"{qid}-b"})
    last = messages[-1]["content"]
    return answer(f"answer {qid}") if f"{qid}-c" in last else give_up("No luck.")


def model() -> ScriptedChatModel:
    return ScriptedChatModel([respond], repeat_last=True)


class LoggingRunner(ScriptedRunner):
    """Answers with the arguments and appends ``name arguments`` to a log file once the call is complete."""

    def __init__(self, log: str | None, delay: float = 0.0) -> None:
        super().__init__({}, delay)
        self.log = log

    async def run(self, fname, arguments):
        obs = await super().run(fname, arguments)
        obs.response = json.dumps({"function": fname, **arguments})
        if self.log:
            with open(self.log, "a", encoding="utf-8") as fh:
                fh.write(f"{fname} {json.dumps(arguments, sort_keys=True)}\n")
        return obs


def build(cfg: Any = None):
    """(model, runner factory) for a campaign; the log file and delay come from the environment."""
    runner = LoggingRunner(os.environ.get(API_LOG_ENV), float(os.environ.get(DELAY_ENV, "0")))
    return model(), (lambda functions: runner)
