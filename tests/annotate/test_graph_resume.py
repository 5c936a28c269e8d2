"""Resuming searches checkpointed by the graph of earlier versions (nodes select/think/execute/finish) with the
one-node graph, through the campaign's checkpointer (annotate.checkpoints.InlineSqliteSaver): such a search starts
over, with the journal replaying the calls it had made."""

import asyncio

import pytest
from langgraph.graph import START, StateGraph

from annotate import tree as T
from annotate.checkpoints import InlineSqliteSaver
from annotate.graph import SearchContext, SearchState, build_graph, run_search
from annotate.prompts import opening_messages
from annotate.runner import ScriptedRunner
from tests.annotate.helpers import (
    F_FORECAST,
    F_WEATHER,
    QUERY,
    Killed,
    functions,
    replies,
    search,
)
from toolbench.toolstep import MemoryJournal, PendingCall, call_tool


def old_graph(saver, pending: str):
    """A graph with the earlier node names whose ``pending`` node dies: its checkpoint names ``pending`` next."""
    graph = StateGraph(SearchState)

    async def dies(state):
        raise Killed(pending)

    graph.add_node(pending, dies)
    graph.add_edge(START, pending)
    return graph.compile(checkpointer=saver)


@pytest.mark.parametrize("pending", ["think", "execute"])
def test_a_checkpoint_of_the_four_node_graph_resumes_to_the_clean_tree(tmp_path, pending):
    fs = functions()
    messages = opening_messages(QUERY.text, fs)
    tree = T.start(messages)
    if pending == "execute":  # killed after think: the reply is in the tree, its call not run yet
        tree = T.expand(tree, 0, None, [T.Call(id="c0", name=F_WEATHER, arguments='{"city": "Paris"}')],
                        prompt_tokens=100, completion_tokens=20)
    saver = InlineSqliteSaver.open(tmp_path / "checkpoints.sqlite")
    config = {"configurable": {"thread_id": QUERY.id}}
    with pytest.raises(Killed):
        asyncio.run(old_graph(saver, pending).ainvoke({"tree": tree.to_dict()}, config))
    journal = MemoryJournal()
    if pending == "execute":  # and its call had been made and journaled before the kill
        first = ScriptedRunner()
        asyncio.run(call_tool(fs, PendingCall(F_WEATHER, '{"city": "Paris"}', {
            "query": QUERY.id, "path": T.node_path_key(tree, 1), "index": 0}), first, journal))
        assert len(first.calls) == 1
    runner = ScriptedRunner()
    ctx = SearchContext(query_id=QUERY.id, model=replies(), runner=runner, functions=fs, journal=journal)
    resumed = asyncio.run(run_search(build_graph(saver), ctx, messages, thread_id=QUERY.id))
    saver.close()
    clean, _ = search(replies(), ScriptedRunner())
    assert resumed.status == T.SOLVED
    assert [n.calls[0].name for n in resumed.nodes.values() if n.calls] == [F_WEATHER, F_FORECAST, "Finish"]
    made = [name for name, _ in runner.calls]  # nothing run twice, nothing skipped
    assert made == ([F_FORECAST] if pending == "execute" else [F_WEATHER, F_FORECAST])
    strip = [{k: v for k, v in n.items() if k != "calls"} for n in clean.to_dict()["nodes"]]
    assert [{k: v for k, v in n.items() if k != "calls"} for n in resumed.to_dict()["nodes"]] == strip
