"""The annotation search as a LangGraph ``StateGraph``: one node, ``step``, run once per model call.

```
START -> step -> step -> ... -> step -> END
```

``step`` does a whole step of the search as one superstep, so that a step costs one checkpoint:

- it checks the budgets (per query, the campaign's through ``campaign_check``, the query's deadline) and picks
  the state to expand (:func:`annotate.tree.select`: DFS pre-order with backtracking);
- it asks the chat model from that state, with the query's functions plus ``Finish`` as tools (and the diversity
  prompt when the state was tried before), and adds the reply as a new node;
- it handles ``Finish`` and runs the reply's other calls through the core's tool-call step
  (:func:`toolbench.toolstep.call_tool`, shared with the agent): an unknown function or bad arguments become error
  observations, and every completed API call is written to the :class:`~toolbench.toolstep.CallJournal` first, so
  a resumed search replays it instead of calling the API again;
- when the answer is found, nothing is left to expand or a budget is spent, it concludes the tree (status,
  chosen path) in the same superstep, and the graph ends.

Crash safety: a process killed inside a step loses only that step's writes; the resumed step picks the same
state, gets the model's reply from the reply cache (when the campaign keeps one) and the completed API calls from
the journal, so nothing is asked or called twice. The graph state holds only JSON-ready data (the tree as a
dict). Everything a search needs besides its state (model, runner, functions, policy, budgets) comes in a
:class:`SearchContext` passed as LangGraph's run context, so one compiled graph serves every query and a
checkpointer (LangGraph's SQLite saver) can resume any of them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from annotate import tree as T
from annotate.runner import observation_code
from annotate.tree import Budget, Policy, Tree
from toolbench.catalog.functions import FunctionSet
from toolbench.llm.base import ChatModel, LLMError
from toolbench.llm.usage import BudgetExceededError
from toolbench.toolstep import CallJournal, PendingCall, ToolRunner, call_tool


class Turns:
    """Takes the searches of a campaign through their CPU work one at a time, the oldest step first.

    A search *holds its turn* from the moment a model reply is back until its next request is sent (the reply
    read, the API calls checked and journaled, the tree expanded, the step checkpointed, the next request built),
    and gives it back whenever it waits (on the model, on an API). Without turns, asyncio interleaves the searches
    whose replies came back together at every ``await``: C of them finish their work together, after C steps'
    worth of CPU, and send their next requests together, so they stay in lockstep and every step waits for all of
    them (at C = 64 and 3.5 ms of CPU a step, ~0.2 s on top of each model call). With turns the first reply back
    is the first next request out, the requests spread out in time, and a step waits only for the work queued
    before it. A step keeps its ticket (its place in the queue) across its API calls: back from one, it goes
    before the steps that began after it."""

    def __init__(self) -> None:
        self._busy = False
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []  # a heap: the smallest ticket first
        self._tickets = itertools.count()

    def ticket(self) -> int:
        return next(self._tickets)

    async def take(self, ticket: int) -> None:
        """Wait for the turn; the waiting step with the smallest ``ticket`` gets it first."""
        if not self._busy:
            self._busy = True
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (ticket, future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # handed the turn just as it was cancelled: pass it on
                self.give()
            raise

    def give(self) -> None:
        """Give the turn back: to the waiting step with the smallest ticket, if any."""
        while self._waiting:
            _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self._busy = False


@dataclass
class SearchContext:
    """What a search needs besides its state. ``campaign_check`` returns a reason when a campaign-wide budget is
    spent; ``deadline`` is a ``time.monotonic()`` instant after which no new step starts."""

    query_id: str
    model: ChatModel
    runner: ToolRunner
    functions: FunctionSet
    policy: Policy = field(default_factory=Policy)
    budget: Budget = field(default_factory=Budget)
    params: dict[str, Any] = field(default_factory=dict)
    journal: CallJournal | None = None
    campaign_check: Callable[[], str | None] | None = None
    deadline: float | None = None
    max_observation_chars: int | None = None
    on_event: Callable[[dict[str, Any]], None] | None = None
    turns: Turns | None = None
    _turn: bool = field(default=False, repr=False)
    _ticket: int | None = field(default=None, repr=False)

    async def hold(self) -> None:
        """Take this search's turn (see :class:`Turns`), unless it holds it already; a new step takes a ticket."""
        if self.turns is not None and not self._turn:
            if self._ticket is None:
                self._ticket = self.turns.ticket()
            await self.turns.take(self._ticket)
            self._turn = True

    def let_go(self, *, step_done: bool = False) -> None:
        """Give this search's turn back (before it waits), if it holds it; ``step_done``: its step's work is
        over (it waits for the model), so its next work is a new step with a new ticket."""
        if self._turn:
            self._turn = False
            self.turns.give()
        if step_done:
            self._ticket = None

    @cached_property
    def tools(self) -> list[dict[str, Any]]:
        return self.functions.openai_tools(finish=True)

    def emit(self, event: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event({"event": event, "query_id": self.query_id, **data})


class SearchState(TypedDict, total=False):
    tree: dict[str, Any]  # annotate.tree.Tree.to_dict()


# -- one step ---------------------------------------------------------------------------------------------

def _stop_reason(tree: Tree, ctx: SearchContext, *, start: bool) -> tuple[str, str] | None:
    """(status, reason) when the search must end before expanding another state: a per-query budget, and at the
    start of a step also the campaign's budgets (``campaign_check`` may raise to leave the query resumable) and
    the query's deadline."""
    reason = ctx.budget.spent(tree)
    if reason is None and start:
        reason = ctx.campaign_check() if ctx.campaign_check else None
        if reason is None and ctx.deadline is not None and time.monotonic() >= ctx.deadline:
            reason = "the query's wall-time budget is spent"
    return None if reason is None else (T.BUDGET, reason)


def _conclude(tree: Tree, ctx: SearchContext, stop: tuple[str, str] | None = None) -> Tree:
    tree = T.conclude(tree, *stop) if stop else T.conclude(tree)
    ctx.emit("finished", status=tree.status, finish_type=tree.finish_type, reason=tree.reason)
    return tree


async def _think(tree: Tree, target: int, ctx: SearchContext) -> Tree | tuple[str, str]:
    """Ask the model from ``target``'s state and add its reply as a node; (status, reason) when it cannot."""
    prompt = T.diversity_prompt(tree, target) if ctx.policy.diversity else None
    messages = T.request_messages(tree, target, prompt)
    ctx.let_go(step_done=True)
    try:
        reply = await ctx.model.achat(messages, ctx.tools, **ctx.params)
    except BudgetExceededError as exc:
        return (T.BUDGET, str(exc))
    except LLMError as exc:
        ctx.emit("model_error", error=str(exc))
        return (T.FAILED, f"the model failed: {exc}")
    await ctx.hold()
    calls = [T.Call(id=c.id, name=c.name, arguments=c.raw_arguments) for c in reply.tool_calls]
    tree = T.expand(tree, target, reply.content, calls, prompt=prompt, prompt_tokens=reply.usage.prompt_tokens,
                    completion_tokens=reply.usage.completion_tokens)
    ctx.emit("step", node=tree.cursor, parent=target, calls=[c.name for c in calls],
             tokens=reply.usage.total_tokens, cached=reply.cached)
    return tree


async def _execute(tree: Tree, ctx: SearchContext) -> Tree:
    """Run the newest node's calls (``Finish`` locally, the others through the journal) and observe them."""
    node = tree.node(tree.cursor)
    where = T.node_path_key(tree, node.id)
    results: list[tuple[str, int]] = []
    api_calls = 0
    for index, call in enumerate(node.calls):
        if call.name == T.FINISH:
            text, code, _, _ = T.finish_observation(call.arguments)
            results.append((text, code))
            continue
        if ctx.policy.prune_repeats and T.is_repeat(tree, node.id, index):  # not run: the chain is cut (observe)
            ctx.emit("repeat_pruned", node=node.id, function=call.name)
            results.append((T.REPEAT_OBSERVATION, T.CODE_ERROR_MESSAGE))
            continue
        ctx.let_go()
        result = await call_tool(ctx.functions, PendingCall(call.name, call.arguments, {
            "query": ctx.query_id, "path": where, "index": index}), ctx.runner, ctx.journal)
        await ctx.hold()
        if result.ran:
            api_calls += 1
            ctx.emit("api_call", node=node.id, function=call.name, ok=result.observation.ok, replayed=result.replayed)
        results.append((result.text(ctx.max_observation_chars), observation_code(result)))
    return T.observe(tree, node.id, results, ctx.policy, api_calls=api_calls)


async def step(state: SearchState, runtime: Runtime[SearchContext]) -> dict[str, Any]:
    """One model call and its API calls, as one superstep (one checkpoint); the search is concluded in the same
    superstep as soon as nothing is left to do."""
    ctx = runtime.context
    await ctx.hold()
    tree = Tree.from_dict(state["tree"])
    if tree.status != T.RUNNING and tree.chosen is not None:
        return {}
    stop = _stop_reason(tree, ctx, start=True) if tree.status == T.RUNNING else None
    target = T.select(tree, ctx.policy) if stop is None else None
    if target is None:
        return {"tree": _conclude(tree, ctx, stop).to_dict()}
    thought = await _think(tree, target, ctx)
    if isinstance(thought, tuple):
        return {"tree": _conclude(tree, ctx, thought).to_dict()}
    tree = await _execute(thought, ctx)
    if tree.status == T.RUNNING:
        stop = _stop_reason(tree, ctx, start=False)
        if stop is None and T.select(tree, ctx.policy) is not None:
            return {"tree": tree.to_dict()}
    return {"tree": _conclude(tree, ctx, stop if tree.status == T.RUNNING else None).to_dict()}


async def route_step(state: SearchState) -> Literal["step", "__end__"]:  # async: run inline, not in a thread
    return "step" if state["tree"].get("chosen") is None and state["tree"].get("status") == T.RUNNING else END


# -- the graph ------------------------------------------------------------------------------------------

def build_graph(checkpointer: Any = None) -> Any:
    """The compiled search graph (optionally with a LangGraph checkpointer, e.g. ``AsyncSqliteSaver``)."""
    graph = StateGraph(SearchState, context_schema=SearchContext)
    graph.add_node("step", step)
    graph.add_edge(START, "step")
    graph.add_conditional_edges("step", route_step, ["step", END])
    return graph.compile(checkpointer=checkpointer)


def recursion_limit(budget: Budget, policy: Policy) -> int:
    """Enough graph steps for the search: one per model call, plus the ends. Without a model-call budget,
    a tree of ``width`` children per state and ``max_steps`` deep bounds the calls."""
    calls = budget.max_llm_calls
    if calls is None:
        width = max(policy.width, policy.root_width or 1)
        calls = min(sum(width ** d for d in range(1, policy.max_steps + 1)), 100_000)
    return calls + 10


def initial_state(messages: list[dict[str, Any]]) -> SearchState:
    return {"tree": T.start(messages).to_dict()}


async def run_search(graph: Any, ctx: SearchContext, messages: list[dict[str, Any]],
                     thread_id: str | None = None) -> Tree:
    """Search one query to the end and return its concluded tree. With a checkpointer and a ``thread_id`` that
    already has an unfinished run, that run is resumed from its last checkpoint instead of starting over."""
    config: dict[str, Any] = {"recursion_limit": recursion_limit(ctx.budget, ctx.policy)}
    payload: SearchState | None = initial_state(messages)
    if thread_id is not None:
        config["configurable"] = {"thread_id": thread_id}
        if graph.checkpointer is not None:
            snapshot = await graph.aget_state(config)
            # A run stopped mid-step has tasks left: ``next`` names those still to run, ``tasks`` also holds those
            # whose writes were saved before the process died but whose step's checkpoint was not (their writes
            # are applied to ``values``, and ``next`` omits them). Only a run that reached END has neither; taking
            # an empty ``next`` alone for "finished" would return a tree that ``finish`` never concluded.
            # A search checkpointed by the four-node graph of earlier versions names nodes this graph lacks: it has
            # neither, is not concluded, and starts over (its replies come from the cache, its calls from the
            # journal).
            if snapshot.values and (snapshot.next or snapshot.tasks):
                payload = None  # resume where it stopped (LangGraph applies the saved writes, runs the rest)
                ctx.emit("resumed", node=snapshot.values.get("tree", {}).get("cursor"))
            elif snapshot.values and snapshot.values.get("tree"):
                done = Tree.from_dict(snapshot.values["tree"])
                if done.status != T.RUNNING:
                    return done
    try:
        final = await graph.ainvoke(payload, config, context=ctx)
    finally:
        ctx.let_go(step_done=True)
    return Tree.from_dict(final["tree"])
