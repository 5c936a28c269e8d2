"""Shared pieces of the annotate tests: a two-API query, scripted replies, a search runner."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from annotate.graph import SearchContext, build_graph, run_search
from annotate.prompts import opening_messages
from annotate.runner import ScriptedRunner
from annotate.strategies import SearchConfig
from toolbench.catalog.functions import FunctionSet
from toolbench.llm.base import Usage
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Api, Param, Query

WEATHER = Api(tool="SkyCast Weather", name="current weather", description="Weather now in a city.",
              required_params=[Param("city", required=True)], category="Weather")
FORECAST = Api(tool="SkyCast Weather", name="forecast", description="Forecast for a city.",
               required_params=[Param("city", required=True)], optional_params=[Param("days", "NUMBER")],
               category="Weather")
QUERY = Query(id="7", text="What is the weather in Paris?", group="G1", apis=[WEATHER, FORECAST])
F_WEATHER = "current_weather_for_skycast_weather"
F_FORECAST = "forecast_for_skycast_weather"
USAGE = Usage(prompt_tokens=100, completion_tokens=20)


def functions() -> FunctionSet:
    return FunctionSet.from_apis(QUERY.apis)


def call(name: str, arguments: dict[str, Any] | str, content: str | None = None):
    return ScriptedChatModel.call(name, arguments, content=content, usage=USAGE)


def answer(text: str = "It is sunny.", content: str | None = None):
    return call("Finish", {"return_type": "give_answer", "final_answer": text}, content)


def give_up(content: str | None = None):
    return call("Finish", {"return_type": "give_up_and_restart"}, content)


class Killed(Exception):
    """A crash at a chosen point of a search (the resume tests raise it)."""


def replies() -> ScriptedChatModel:
    """A model that calls the weather, then the forecast (both for Paris), then answers."""
    def respond(messages, tools, params):
        done = sum(1 for m in messages if m["role"] == "tool")
        return [call(F_WEATHER, {"city": "Paris"}), call(F_FORECAST, {"city": "Paris"}), answer()][done]
    return ScriptedChatModel([respond], repeat_last=True)


def search(model, runner=None, config: SearchConfig | None = None, **ctx: Any):
    """Run one search of QUERY; returns (tree, runner)."""
    config = config or SearchConfig()
    runner = runner or ScriptedRunner({F_WEATHER: json.dumps({"city": "Paris", "sky": "sunny"})})
    fs = functions()
    context = SearchContext(query_id=QUERY.id, model=model, runner=runner, functions=fs, policy=config.policy(),
                            budget=config.budget(), **ctx)
    tree = asyncio.run(run_search(build_graph(), context, opening_messages(QUERY.text, fs)))
    return tree, runner
