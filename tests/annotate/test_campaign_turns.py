"""Turns (annotate.graph.Turns): searches whose model replies come back together do their step's work one at a
time, first come first served, so the first reply back is the first next request out."""

import asyncio
import json

import pytest

from annotate.graph import SearchContext, Turns, build_graph, run_search
from annotate.prompts import opening_messages
from annotate.runner import ScriptedRunner
from annotate.strategies import SearchConfig
from tests.annotate.helpers import F_WEATHER, QUERY, answer, call, functions

SEARCHES = 4


class TogetherModel:
    """Holds every request until all the searches have asked, then answers them all at once (in the order they
    asked): weather(city) first, then Finish. Logs ``("ask", search)`` when a request comes in."""

    model = "together"

    def __init__(self, log):
        self.log = log
        self.waiting = []

    async def achat(self, messages, tools=None, **params):
        who = messages[1]["content"]
        self.log.append(("ask", who))
        gate = asyncio.get_running_loop().create_future()
        self.waiting.append(gate)
        if len(self.waiting) == SEARCHES:
            for waiting in self.waiting:
                waiting.set_result(None)
            self.waiting = []
        await gate
        done = sum(1 for m in messages if m["role"] == "tool")
        return call(F_WEATHER, {"city": who}) if done == 0 else answer(f"sunny in {who}")


class LoggingRunner(ScriptedRunner):
    def __init__(self, log):
        super().__init__({F_WEATHER: json.dumps({"sky": "sunny"})})
        self.log = log

    async def run(self, fname, arguments):
        self.log.append(("call", arguments["city"]))
        return await super().run(fname, arguments)


def searches(turns):
    log = []
    model, runner, config, fs = TogetherModel(log), LoggingRunner(log), SearchConfig(strategy="react"), functions()

    async def one(i):
        ctx = SearchContext(query_id=str(i), model=model, runner=runner, functions=fs, policy=config.policy(),
                            budget=config.budget(), turns=turns)
        return await run_search(build_graph(), ctx, opening_messages(f"{QUERY.text} #{i}", fs))

    async def all_of_them():
        return await asyncio.gather(*(one(i) for i in range(SEARCHES)))

    trees = asyncio.run(all_of_them())
    return trees, log


def test_with_turns_the_first_search_back_asks_again_before_the_others_have_worked():
    trees, log = searches(Turns())
    assert all(t.finish_type == "give_answer" for t in trees)
    second_round = log[SEARCHES:3 * SEARCHES]
    first_ask = second_round.index(next(e for e in second_round if e[0] == "ask"))
    last_call = max(i for i, e in enumerate(second_round) if e[0] == "call")
    assert first_ask == 1 and second_round[0][1] == second_round[1][1]  # its API call, then its next request
    assert first_ask < last_call


@pytest.mark.parametrize("turns", [None])
def test_without_turns_the_searches_interleave_their_steps(turns):
    """What turns are for: asyncio alone runs a bit of every search's step at each ``await``, so every API call
    comes before the first next request (the searches stay in lockstep)."""
    trees, log = searches(turns)
    assert all(t.finish_type == "give_answer" for t in trees)
    kinds = [kind for kind, _ in log[SEARCHES:3 * SEARCHES]]
    assert kinds == ["call"] * SEARCHES + ["ask"] * SEARCHES


def test_the_turn_goes_to_the_oldest_waiting_step_and_survives_a_cancelled_waiter():
    async def go():
        turns, order = Turns(), []
        await turns.take(turns.ticket())  # ticket 0 holds the turn

        async def step(ticket):
            await turns.take(ticket)
            order.append(ticket)
            turns.give()

        late = asyncio.create_task(step(5))
        cancelled = asyncio.create_task(step(1))
        early = asyncio.create_task(step(2))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.sleep(0)
        turns.give()
        await asyncio.wait_for(asyncio.gather(late, early), 1)
        await asyncio.wait_for(turns.take(turns.ticket()), 1)  # free again
        return order, cancelled.cancelled()

    assert asyncio.run(go()) == ([2, 5], True)


def test_a_search_that_fails_gives_its_turn_back():
    turns = Turns()

    class Broken(TogetherModel):
        async def achat(self, messages, tools=None, **params):
            raise RuntimeError("boom")

    fs, config = functions(), SearchConfig(strategy="react")

    async def go():
        ctx = SearchContext(query_id="x", model=Broken([]), runner=ScriptedRunner(), functions=fs,
                            policy=config.policy(), budget=config.budget(), turns=turns)
        with pytest.raises(RuntimeError, match="boom"):
            await run_search(build_graph(), ctx, opening_messages(QUERY.text, fs))
        await asyncio.wait_for(turns.take(turns.ticket()), 1)  # free again

    asyncio.run(go())


def test_a_waiter_cancelled_as_it_is_handed_the_turn_passes_it_on():
    async def go():
        turns, order = Turns(), []
        await turns.take(turns.ticket())

        async def step(ticket):
            await turns.take(ticket)
            order.append(ticket)
            turns.give()

        first, second = asyncio.create_task(step(1)), asyncio.create_task(step(2))
        await asyncio.sleep(0)
        turns.give()  # handed to ticket 1 ...
        first.cancel()  # ... which is cancelled before it runs
        await asyncio.wait_for(second, 1)
        return order

    assert asyncio.run(go()) == [2]
