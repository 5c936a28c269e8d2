"""The LangGraph search with a scripted chat model and a scripted runner (no network)."""

import asyncio
import json
import os
from pathlib import Path

import pytest

from annotate import tree as T
from annotate.graph import SearchContext, build_graph, run_search
from annotate.prompts import opening_messages
from annotate.runner import ScriptedRunner
from annotate.strategies import SearchConfig
from tests.annotate.helpers import (
    F_FORECAST,
    F_WEATHER,
    QUERY,
    answer,
    call,
    functions,
    give_up,
    search,
)
from toolbench.llm.base import LLMRequestError
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Observation
from toolbench.toolstep import MemoryJournal

SNAPSHOT = Path(__file__).parent / "snapshots" / "search_graph.mmd"


def test_the_compiled_graph_has_the_expected_shape_and_drawing():
    drawn = build_graph().get_graph()
    assert set(drawn.nodes) == {"__start__", "step", "__end__"}
    edges = {(e.source, e.target, e.conditional) for e in drawn.edges}
    assert edges == {("__start__", "step", False), ("step", "step", True), ("step", "__end__", True)}
    mermaid = drawn.draw_mermaid()
    if os.environ.get("UPDATE_SNAPSHOTS"):  # UPDATE_SNAPSHOTS=1 pytest ... rewrites the committed drawing
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(mermaid)
    assert mermaid == SNAPSHOT.read_text()


def test_a_successful_path():
    model = ScriptedChatModel([call(F_WEATHER, {"city": "Paris"}, "Let me look."), answer()])
    tree, runner = search(model)
    assert (tree.status, tree.finish_type, T.final_answer(tree)) == (T.SOLVED, T.GIVE_ANSWER, "It is sunny.")
    assert runner.calls == [(F_WEATHER, {"city": "Paris"})]
    assert (tree.llm_calls, tree.api_calls, tree.total_tokens) == (2, 1, 240)
    assert T.path(tree, tree.chosen) == [1, 2]
    first, second = model.requests
    assert [t["function"]["name"] for t in first["tools"]] == [F_WEATHER, F_FORECAST, "Finish"]
    assert first["messages"] == opening_messages(QUERY.text, functions())
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": tree.nodes[1].calls[0].id,
                                      "content": json.dumps({"error": "", "response": runner.responses[F_WEATHER]})}


def test_give_up_then_backtrack_then_success():
    model = ScriptedChatModel([
        call(F_FORECAST, {"city": "Paris"}),  # node 1
        give_up(),  # node 2: gives up from node 1's state, so node 1 is closed and the root is retried
        call(F_WEATHER, {"city": "Paris"}),  # node 3: second child of the root
        answer(),  # node 4
    ])
    tree, runner = search(model, config=SearchConfig(strategy="dfsdt", width=2))
    assert tree.status == T.SOLVED and T.path(tree, tree.chosen) == [3, 4]
    assert tree.nodes[0].children == (1, 3) and tree.nodes[2].pruned and tree.nodes[1].closed
    retry = model.requests[2]["messages"]
    assert retry[:-1] == opening_messages(QUERY.text, functions())
    assert retry[-1]["role"] == "user" and retry[-1]["content"] == tree.nodes[3].prompt
    assert '"name": "forecast_for_skycast_weather"' in tree.nodes[3].prompt
    assert [name for name, _ in runner.calls] == [F_FORECAST, F_WEATHER]


def test_a_budget_ends_the_search():
    model = ScriptedChatModel([call(F_WEATHER, {"city": "Paris"})], repeat_last=True)
    tree, _ = search(model, config=SearchConfig(max_llm_calls=3))
    assert (tree.status, tree.llm_calls, tree.reason) == (T.BUDGET, 3, "3 model calls reached max_llm_calls=3")
    model = ScriptedChatModel([call(F_WEATHER, {"city": "Paris"})], repeat_last=True)
    tree, runner = search(model, config=SearchConfig(max_api_calls=2))
    assert (tree.status, tree.api_calls, len(runner.calls)) == (T.BUDGET, 2, 2)
    model = ScriptedChatModel([call(F_WEATHER, {"city": "Paris"})], repeat_last=True)
    tree, _ = search(model, config=SearchConfig(max_tokens=500))
    assert (tree.status, tree.total_tokens) == (T.BUDGET, 600)
    tree, _ = search(ScriptedChatModel([call(F_WEATHER, {"city": "Paris"})], repeat_last=True),
                     campaign_check=lambda: "the campaign's budget is spent")
    assert (tree.status, tree.reason, tree.llm_calls) == (T.BUDGET, "the campaign's budget is spent", 0)


def test_width_and_depth_limits_hold():
    model = ScriptedChatModel([call(F_WEATHER, {"city": "Paris"})], repeat_last=True)
    tree, _ = search(model, config=SearchConfig(width=2, max_steps=2))
    # Every state takes two children, every chain is cut at two steps: 2 + 2*2 nodes, then nothing is left.
    assert (tree.status, tree.llm_calls, len(tree.nodes)) == (T.EXHAUSTED, 6, 7)
    assert all(len(n.children) <= 2 and n.depth <= 2 for n in tree.nodes.values())
    assert tree.finish_type is None and tree.chosen is None


def test_hallucinated_functions_and_bad_arguments_become_observations():
    model = ScriptedChatModel([
        call("get_weather_everywhere", {"city": "Paris"}),
        call(F_WEATHER, {"town": "Paris"}),
        call(F_WEATHER, "{not json"),
        answer(),
    ])
    tree, runner = search(model)
    assert runner.calls == [] and tree.api_calls == 0 and tree.status == T.SOLVED
    (hallucinated,), (missing,), (broken,) = (tree.nodes[i].calls for i in (1, 2, 3))
    assert hallucinated.code == T.CODE_NO_SUCH_FUNCTION
    assert json.loads(hallucinated.observation)["error"].startswith(
        "hallucinated_function: no function named 'get_weather_everywhere' was offered; call one of: "
        f"{F_WEATHER}, {F_FORECAST}, or Finish")
    assert missing.code == T.CODE_REQUEST_INVALID and "'city' is required but missing" in missing.observation
    assert broken.code == T.CODE_REQUEST_INVALID and "not valid JSON" in broken.observation


def test_api_errors_are_observations_with_toolbench_codes():
    runner = ScriptedRunner({F_WEATHER: Observation(error="rate_limited: HTTP 429", status=429)})
    tree, _ = search(ScriptedChatModel([call(F_WEATHER, {"city": "Paris"}), answer()]), runner)
    assert tree.nodes[1].calls[0].code == T.CODE_TOO_MANY_REQUESTS and tree.status == T.SOLVED


def test_react_is_one_chain_and_react_at_n_restarts():
    model = ScriptedChatModel([give_up(), answer()])
    tree, _ = search(model, config=SearchConfig(strategy="react"))
    assert (tree.status, tree.finish_type, tree.llm_calls, model.remaining) == (T.EXHAUSTED, T.GIVE_UP, 1, 1)
    model = ScriptedChatModel([call(F_WEATHER, {"city": "Paris"}), give_up(), give_up(), answer()])
    tree, _ = search(model, config=SearchConfig(strategy="react@3"))
    assert tree.status == T.SOLVED and tree.nodes[0].children == (1, 3, 4) and T.path(tree, tree.chosen) == [4]
    # Restarts are fresh runs: no diversity prompt, the same opening messages.
    assert all(r["messages"] == model.requests[0]["messages"] for r in (model.requests[2], model.requests[3]))


def test_a_model_failure_ends_the_search_with_the_reason():
    tree, _ = search(ScriptedChatModel([call(F_WEATHER, {"city": "Paris"}), LLMRequestError("HTTP 500", 500)]))
    assert (tree.status, tree.reason, tree.llm_calls) == (T.FAILED, "the model failed: HTTP 500", 1)


def test_text_only_replies_are_steps_and_the_chain_goes_on():
    tree, _ = search(ScriptedChatModel(["I think it is sunny.", answer()]))
    assert tree.status == T.SOLVED and tree.nodes[1].calls == () and tree.nodes[1].content == "I think it is sunny."


def test_resume_from_the_sqlite_checkpoint_repeats_no_finished_call(tmp_path):
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    def replies():  # replies that depend on the request, as a deterministic model's would
        def respond(messages, tools, params):
            done = sum(1 for m in messages if m["role"] == "tool")
            return [call(F_WEATHER, {"city": "Paris"}), call(F_FORECAST, {"city": "Paris"}), answer()][done]
        return ScriptedChatModel([respond], repeat_last=True)

    class Crash(Exception):
        pass

    def crashing(fname, arguments):
        raise Crash("killed")

    fs = functions()
    messages = opening_messages(QUERY.text, fs)
    journal = MemoryJournal()

    async def run(runner):
        async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
            ctx = SearchContext(query_id=QUERY.id, model=replies(), runner=runner, functions=fs, journal=journal)
            return await run_search(build_graph(saver), ctx, messages, thread_id=QUERY.id)

    first = ScriptedRunner({F_FORECAST: crashing})
    with pytest.raises(Crash):
        asyncio.run(run(first))
    assert [name for name, _ in first.calls] == [F_WEATHER, F_FORECAST]
    second = ScriptedRunner()
    resumed = asyncio.run(run(second))
    assert [name for name, _ in second.calls] == [F_FORECAST]  # the weather call is not made again
    clean, _ = search(replies(), ScriptedRunner())
    assert resumed.status == T.SOLVED and resumed.to_dict() == clean.to_dict()
    again = ScriptedRunner()
    assert asyncio.run(run(again)).to_dict() == resumed.to_dict() and again.calls == []  # finished: no work


@pytest.mark.parametrize("dies_at", range(1, 13))
def test_a_search_killed_between_a_steps_writes_and_its_checkpoint_resumes_to_the_clean_tree(tmp_path, dies_at):
    """LangGraph saves a node's writes as soon as it returns, then the step's checkpoint. A process killed in
    between leaves a checkpoint whose ``next`` is empty (the node has writes) but that never reached END: resuming
    must run the rest (the last step concludes the tree and chooses the answer path) and give the clean tree."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    class Killed(Exception):
        pass

    def replies():
        def respond(messages, tools, params):
            done = sum(1 for m in messages if m["role"] == "tool")
            return [call(F_WEATHER, {"city": "Paris"}), call(F_FORECAST, {"city": "Paris"}), answer()][done]
        return ScriptedChatModel([respond], repeat_last=True)

    fs = functions()
    messages = opening_messages(QUERY.text, fs)
    journal = MemoryJournal()
    puts = 0

    class Dying(AsyncSqliteSaver):
        async def aput(self, config, checkpoint, metadata, new_versions):
            nonlocal puts
            puts += 1
            if puts == dies_at:
                raise Killed(f"killed before checkpoint {puts} was saved")
            return await super().aput(config, checkpoint, metadata, new_versions)

    async def run(saver_class):
        async with saver_class.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
            ctx = SearchContext(query_id=QUERY.id, model=replies(), runner=ScriptedRunner(), functions=fs,
                                journal=journal)
            return await run_search(build_graph(saver), ctx, messages, thread_id=QUERY.id)

    try:
        asyncio.run(run(Dying))
    except Killed:
        pass
    else:
        pytest.skip(f"a clean search saves fewer than {dies_at} checkpoints")
    resumed = asyncio.run(run(AsyncSqliteSaver))
    clean, _ = search(replies(), ScriptedRunner())
    assert resumed.chosen is not None and resumed.to_dict() == clean.to_dict()
