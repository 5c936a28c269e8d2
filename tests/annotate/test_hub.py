"""The search against the sandbox hub through the real executor: the hub counts its requests."""

import asyncio

import pytest

from annotate import tree as T
from annotate.graph import SearchContext, build_graph, run_search
from annotate.prompts import opening_messages
from tests.annotate.helpers import answer, call
from toolbench.catalog.functions import FunctionSet
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Query
from toolbench.toolstep import ExecutorRunner, MemoryJournal

CURRENT = "get_current_weather_for_skycast_weather"


class Crash(Exception):
    pass


@pytest.mark.slow  # ~8 s: builds the hub's catalog and starts it
def test_search_against_the_hub_and_resume_without_a_second_request(tmp_path):
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from toolbench.executor import Executor, ExecutorConfig
    from toolbench.hub import HubSettings, HubThread
    from toolbench.hub.catalog import hub_tools

    tools = hub_tools()
    weather = next(t for t in tools if t.name == "SkyCast Weather")
    query = Query(id="hub-1", text="Weather in Paris?", apis=weather.apis[:2])
    functions = FunctionSet.from_apis(query.apis, {weather.name: weather.standardized_name})
    assert CURRENT in functions.functions

    def respond(messages, tools_, params):
        if not any(m["role"] == "tool" for m in messages):
            return call(CURRENT, {"city": "Paris"})
        return answer("Here is the weather in Paris.")

    with HubThread(HubSettings(seed=1)) as hub:
        executor = Executor(tools, ExecutorConfig(base_url_overrides={"http://127.0.0.1:8750": hub.url},
                                                  credentials={"*": "test-key"}))
        journal = MemoryJournal()

        async def run(model):
            async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
                ctx = SearchContext(query_id=query.id, model=model, runner=ExecutorRunner(executor, functions),
                                    functions=functions, journal=journal)
                try:
                    return await run_search(build_graph(saver), ctx, opening_messages(query.text, functions),
                                            thread_id=query.id)
                finally:
                    await executor.aclose()

        # The process "dies" at the model call after the API call: the API call was journaled.
        with pytest.raises(Crash):
            asyncio.run(run(ScriptedChatModel([respond, Crash("killed")])))
        assert hub.hub.stats["requests"] == 1
        tree = asyncio.run(run(ScriptedChatModel([respond], repeat_last=True)))
        assert hub.hub.stats["requests"] == 1  # resumed: the hub saw no second request
    assert tree.status == T.SOLVED and tree.api_calls == 1
    observation = tree.nodes[1].calls[0]
    assert observation.code == T.CODE_OK and "Paris" in observation.observation
