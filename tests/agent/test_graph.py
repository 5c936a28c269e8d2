"""The agent against the sandbox hub with a scripted model: read-only calls run, state-changing calls wait for a
person and run once when approved, never when rejected, and as edited when edited."""

from __future__ import annotations

import asyncio
import json

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from tests.agent.helpers import ADDRESS, CREATE, LIST_PRODUCTS, ORDER, order_model, run
from toolbench.agent.graph import build_graph
from toolbench.agent.session import SessionError
from toolbench.agent.store import AgentStore
from toolbench.llm.scripted import ScriptedChatModel


def _orders(hub_get):
    return hub_get("/shop/orders")["orders"]


def test_read_only_call_runs_without_a_prompt(tmp_path, make_context, hub_get):
    model = ScriptedChatModel([ScriptedChatModel.call(LIST_PRODUCTS, {"query": "mug"}), "The mug set costs ..."])
    ctx = make_context(model)
    result = run(lambda rt: rt.send("s1", "How much is a mug set?"), tmp_path, ctx)
    assert result.status == "answered" and result.answer == "The mug set costs ..."
    assert [(c["function"], c["gate"], c["ok"]) for c in result.calls] == [(LIST_PRODUCTS, "execute", True)]
    tool_message = model.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and "Ceramic Mug Set" in json.loads(tool_message["content"])["response"]
    assert AgentStore(tmp_path / "agent.sqlite").feedback() == []  # nothing for a person to decide


def test_state_changing_call_waits_and_runs_once_when_approved(tmp_path, make_context, hub_get):
    before = len(_orders(hub_get))
    ctx = make_context(order_model())

    async def first(rt):
        waiting = await rt.send("s1", "Order two P1003 to Jane Doe in Lyon")
        return waiting, await rt.pending("s1")

    waiting, pending = run(first, tmp_path, ctx)
    assert waiting.status == "awaiting_approval"
    call = waiting.pending["call"]
    assert pending == waiting.pending
    assert (call["name"], call["gate"], call["method"], call["consequential"]) == (CREATE, "suggest", "POST", True)
    assert call["http"]["method"] == "POST" and call["http"]["url"].endswith("/shop/orders")
    assert call["http"]["body"] == ORDER  # the exact call that would run
    assert "changes state" in call["reason"]
    assert len(_orders(hub_get)) == before  # nothing ran yet

    done = run(lambda rt: rt.decide("s1", "approve"), tmp_path, ctx)
    assert done.status == "answered"
    orders = _orders(hub_get)
    assert len(orders) == before + 1 and orders[0]["items"][0]["quantity"] == 2

    # deciding again is refused, and nothing runs a second time
    with pytest.raises(SessionError, match="no call awaiting approval"):
        run(lambda rt: rt.decide("s1", "approve"), tmp_path, ctx)
    assert len(_orders(hub_get)) == before + 1
    [fb] = AgentStore(tmp_path / "agent.sqlite").feedback()
    assert (fb.decision, fb.function, fb.proposed, fb.final) == ("approved", CREATE, ORDER, ORDER)
    assert fb.request == "Order two P1003 to Jane Doe in Lyon" and fb.context[-1]["role"] == "user"
    assert fb.observation["status"] == 201


def test_rejected_call_never_runs(tmp_path, make_context, hub_get):
    before = len(_orders(hub_get))
    model = order_model()
    ctx = make_context(model)

    async def go(rt):
        await rt.send("s1", "Order two P1003")
        return await rt.decide("s1", "reject", comment="not now")

    result = run(go, tmp_path, ctx)
    assert result.status == "answered"
    assert [(c["decision"], c["ok"]) for c in result.calls] == [("reject", False)]
    assert len(_orders(hub_get)) == before
    told = json.loads(model.requests[1]["messages"][-1]["content"])
    assert told["error"].startswith("rejected_by_user") and "not now" in told["error"]
    [fb] = AgentStore(tmp_path / "agent.sqlite").feedback()
    assert (fb.decision, fb.final, fb.comment) == ("rejected", None, "not now")


def test_edited_call_runs_as_edited(tmp_path, make_context, hub_get):
    before = len(_orders(hub_get))
    model = order_model()
    ctx = make_context(model)
    edited = {"items": [{"product_id": "P1003", "quantity": 1}], "shipping_address": ADDRESS,
              "shipping_method": "express"}

    async def go(rt):
        await rt.send("s1", "Order two P1003")
        return await rt.decide("s1", "edit", arguments=edited), await rt.messages("s1")

    result, messages = run(go, tmp_path, ctx)
    assert result.status == "answered"
    orders = _orders(hub_get)
    assert len(orders) == before + 1
    assert orders[0]["items"][0]["quantity"] == 1 and orders[0]["shipping_method"] == "express"
    # the transcript (and so the model) shows the call that ran
    call = next(m for m in messages if m.get("tool_calls"))["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == edited
    [fb] = AgentStore(tmp_path / "agent.sqlite").feedback()
    assert (fb.decision, fb.proposed, fb.final) == ("edited", ORDER, edited)


def test_invalid_edit_is_refused_and_the_call_still_waits(tmp_path, make_context, hub_get):
    before = len(_orders(hub_get))
    ctx = make_context(order_model())

    async def go(rt):
        await rt.send("s1", "Order two P1003")
        with pytest.raises(SessionError) as problem:
            await rt.decide("s1", "edit", arguments={"items": []})
        return problem.value, await rt.pending("s1")

    problem, pending = run(go, tmp_path, ctx)
    assert getattr(problem, "status", None) == 422 and "shipping_address" in str(problem)
    assert pending is not None and pending["call"]["name"] == CREATE
    assert len(_orders(hub_get)) == before


def test_invalid_edit_through_the_graph_asks_again(tmp_path, make_context, hub_get):
    """Resumed directly with bad arguments, the graph asks about the same call again, with the problem."""
    before = len(_orders(hub_get))
    ctx = make_context(order_model())
    graph = build_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}

    async def go():
        first = await graph.ainvoke({"incoming": "Order", "session": "t"}, config, context=ctx)
        again = await graph.ainvoke(Command(resume={"action": "edit", "arguments": {"items": "x"}}), config,
                                    context=ctx)
        done = await graph.ainvoke(Command(resume={"action": "approve"}), config, context=ctx)
        return first, again, done

    first, again, done = asyncio.run(go())
    assert first["__interrupt__"][0].value["error"] is None
    assert "invalid" in again["__interrupt__"][0].value["error"]
    assert done["answer"] == "Done: see the result above."
    assert len(_orders(hub_get)) == before + 1


def test_unknown_function_becomes_an_observation(tmp_path, make_context):
    model = ScriptedChatModel([ScriptedChatModel.call("launch_rocket", {}), "Sorry."])
    result = run(lambda rt: rt.send("s1", "Launch"), tmp_path, make_context(model))
    assert result.status == "answered" and result.calls[0]["gate"] == "invalid"
    assert "hallucinated_function" in json.loads(model.requests[1]["messages"][-1]["content"])["error"]


def test_step_budget_ends_the_turn(tmp_path, make_context):
    model = ScriptedChatModel([ScriptedChatModel.call(LIST_PRODUCTS, {"query": "mug"})], repeat_last=True)
    result = run(lambda rt: rt.send("s1", "Loop"), tmp_path, make_context(model, max_steps=2))
    assert result.status == "answered" and "stopped after 2 steps" in result.answer
    assert len(model.requests) == 2


def test_new_message_while_a_call_waits_is_refused(tmp_path, make_context):
    ctx = make_context(order_model())

    async def go(rt):
        await rt.send("s1", "Order")
        with pytest.raises(SessionError) as refused:
            await rt.send("s1", "Something else")
        return refused.value

    exc = run(go, tmp_path, ctx)
    assert exc.status == 409 and "awaiting approval" in str(exc)
