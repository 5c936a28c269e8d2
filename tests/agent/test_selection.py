"""Which functions the model is offered: all of a small catalog, a retriever's top k of a large one (keyword
match without a retriever); and the graph's shape, as a mermaid snapshot."""

from __future__ import annotations

from pathlib import Path

from tests.agent.helpers import CREATE
from toolbench.agent.graph import build_graph, keyword_select, select_functions
from toolbench.llm.scripted import ScriptedChatModel

SNAPSHOT = Path(__file__).parent / "snapshots" / "agent_graph.mmd"


def test_small_catalog_offers_everything(make_context, functions):
    ctx = make_context(ScriptedChatModel(), max_tools=100)
    assert select_functions(ctx, "anything") == list(functions.functions)


def test_large_catalog_goes_through_the_retriever(make_context):
    asked = []

    def retriever(text, k):
        asked.append((text, k))
        return [("ShopEase Orders", "create_order"), ("Nowhere", "unknown_api"), ("SkyCast Weather",
                                                                                  "get_current_weather")]

    ctx = make_context(ScriptedChatModel(), max_tools=3, selector=retriever)
    assert select_functions(ctx, "order a mug") == [CREATE, "get_current_weather_for_skycast_weather"]
    assert asked == [("order a mug", 3)]


def test_keyword_fallback(functions):
    picked = keyword_select(functions, "What is the weather forecast in Paris?", 3)
    assert len(picked) == 3 and picked[0] == "get_weather_forecast_for_skycast_weather"


def test_offered_tools_reach_the_model(tmp_path, make_context):
    from tests.agent.helpers import run

    model = ScriptedChatModel(["Hello."])
    run(lambda rt: rt.send("s", "weather forecast please"), tmp_path, make_context(model, max_tools=2))
    names = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert len(names) == 2 and "get_weather_forecast_for_skycast_weather" in names


def test_graph_shape_snapshot():
    assert build_graph().get_graph().draw_mermaid() == SNAPSHOT.read_text()
