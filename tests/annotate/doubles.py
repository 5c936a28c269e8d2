"""Test doubles for campaigns: a deterministic model (its replies depend only on the request) and a runner that
logs every API call to a file, so that calls can be counted across processes.

The CLI loads them only when TOOLBENCH_ANNOTATE_TEST_DOUBLES=tests.annotate.doubles:build is set (tests only).

For a kill at a known moment, TOOLBENCH_TEST_FREEZE_AT=N makes the runner freeze the whole process (it blocks the
event loop, so no other search moves either) right after it has made a call, before that call is journaled,
once the run's journal holds at least N calls; it first creates ``<RUN>/frozen`` (holding its pid) so that a test
knows when and whom to send SIGKILL. Only the first process to get there freezes (with several workers, the
others carry on).

Each query ``i`` plays one of two scripts:
- even ``i``: weather(i-a), then Finish(give_answer);
- odd ``i``: weather(i-a), forecast(i-b), Finish(give_up) -> DFSDT backs up to the first step's state and is
  shown the earlier attempt -> forecast(i-c), then Finish(give_answer).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from annotate.runner import ScriptedRunner
from tests.annotate.helpers import F_FORECAST, F_WEATHER, FORECAST, WEATHER, answer, call, give_up
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Query

API_LOG_ENV = "TOOLBENCH_TEST_API_LOG"
DELAY_ENV = "TOOLBENCH_TEST_API_DELAY"
FREEZE_ENV = "TOOLBENCH_TEST_FREEZE_AT"
FROZEN_MARK = "frozen"


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


def journal_count(run: Path) -> int:
    """API calls in the run's journal (0 while it does not exist yet)."""
    try:
        db = sqlite3.connect(str(run / "campaign.sqlite"), timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM api_calls").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


class LoggingRunner(ScriptedRunner):
    """Answers with the arguments and appends ``name arguments`` to a log file once the call is complete.
    With ``freeze_at`` and ``run``, freezes the process as the module docstring says."""

    def __init__(self, log: str | None, delay: float = 0.0, freeze_at: int | None = None,
                 run: Path | None = None) -> None:
        super().__init__({}, delay)
        self.log = log
        self.freeze_at = freeze_at
        self.run_dir = run

    async def run(self, fname, arguments):
        obs = await super().run(fname, arguments)
        obs.response = json.dumps({"function": fname, **arguments})
        if self.log:
            with open(self.log, "a", encoding="utf-8") as fh:
                fh.write(f"{fname} {json.dumps(arguments, sort_keys=True)}\n")
        if self.freeze_at is not None and self.run_dir is not None and journal_count(self.run_dir) >= self.freeze_at:
            try:  # one process freezes (the first to create the mark, which holds its pid); other workers go on
                with open(self.run_dir / FROZEN_MARK, "x", encoding="utf-8") as mark:  # noqa: ASYNC230
                    mark.write(str(os.getpid()))
            except FileExistsError:
                return obs
            while True:  # blocks the event loop: the process stays exactly here until it is killed
                time.sleep(3600)  # noqa: ASYNC251 (blocking the loop is the point)
        return obs


def build(cfg: Any = None):
    """(model, runner factory) for a campaign; the log file, delay and freeze point come from the environment."""
    freeze = os.environ.get(FREEZE_ENV)
    runner = LoggingRunner(os.environ.get(API_LOG_ENV), float(os.environ.get(DELAY_ENV, "0")),
                           int(freeze) if freeze else None, Path(cfg.out) if cfg is not None else None)
    return model(), (lambda functions: runner)


# Calls the sandbox hub's APIs with these arguments (the catalog's examples), then answers with what came back.
HUB_CALLS = {
    "get_current_weather_for_skycast_weather": {"city": "Paris"},
    "convert_currency_for_fxrates": {"from": "USD", "to": "EUR", "amount": 250},
}


def hub_respond(messages: list[dict[str, Any]], tools: Any, params: Any):
    results = [m["content"] for m in messages if m["role"] == "tool"]
    if results:
        return answer(f"From the API: {results[-1][:200]}")
    names = [t["function"]["name"] for t in tools if t["function"]["name"] in HUB_CALLS]
    return call(names[0], HUB_CALLS[names[0]])


def hub_build(cfg: Any = None):
    """A scripted model for queries over the hub's catalog, and no runner: the campaign's own executor runs."""
    return ScriptedChatModel([hub_respond], repeat_last=True), None
