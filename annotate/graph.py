"""The annotation search as a LangGraph ``StateGraph``.

```
START -> select -> think -> execute -> select ... -> finish -> END
           |          '--(model failed / budget)--> finish
           '--(answer found, nothing left to expand, budget spent)--> finish
```

- ``select`` picks the state to expand next (:func:`annotate.tree.select`: DFS pre-order with backtracking) and
  checks the budgets;
- ``think`` asks the chat model from that state, with the query's functions plus ``Finish`` as tools (and the
  diversity prompt when the state was tried before), and adds the reply as a new node;
- ``execute`` handles ``Finish`` and runs the reply's other calls through the core's tool-call step
  (:func:`toolbench.toolstep.call_tool`, shared with the agent): an unknown function or bad arguments become error
  observations, and every completed API call is written to the :class:`~toolbench.toolstep.CallJournal` first, so
  a resumed search replays it instead of calling the API again;
- ``finish`` concludes the tree (status, chosen path).

The graph state holds only JSON-ready data (the tree as a dict, the selected node, a stop reason); each node
returns just the keys it changes. Everything a search needs besides its state (model, runner, functions,
policy, budgets) comes in a :class:`SearchContext` passed as LangGraph's run context, so one compiled graph
serves every query and a checkpointer (LangGraph's SQLite saver) can resume any of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
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

    @property
    def tools(self) -> list[dict[str, Any]]:
        return self.functions.openai_tools(finish=True)

    def emit(self, event: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event({"event": event, "query_id": self.query_id, **data})


class SearchState(TypedDict, total=False):
    tree: dict[str, Any]  # annotate.tree.Tree.to_dict()
    target: int | None  # the node select chose to expand
    stop: str | None  # "<status>|<reason>" when the search must end before the tree says so


def _stop(status: str, reason: str) -> str:
    return f"{status}|{reason}"


# -- nodes ----------------------------------------------------------------------------------------------

async def select_node(state: SearchState, runtime: Runtime[SearchContext]) -> dict[str, Any]:
    ctx = runtime.context
    tree = Tree.from_dict(state["tree"])
    if tree.status != T.RUNNING:
        return {"target": None}
    reason = ctx.budget.spent(tree) or (ctx.campaign_check() if ctx.campaign_check else None)
    if reason is None and ctx.deadline is not None and time.monotonic() >= ctx.deadline:
        reason = "the query's wall-time budget is spent"
    if reason is not None:
        return {"target": None, "stop": _stop(T.BUDGET, reason)}
    return {"target": T.select(tree, ctx.policy)}


def route_select(state: SearchState) -> Literal["think", "finish"]:
    return "think" if state.get("target") is not None and not state.get("stop") else "finish"


async def think(state: SearchState, runtime: Runtime[SearchContext]) -> dict[str, Any]:
    ctx = runtime.context
    tree = Tree.from_dict(state["tree"])
    target = state["target"]
    assert target is not None
    prompt = T.diversity_prompt(tree, target) if ctx.policy.diversity else None
    messages = T.request_messages(tree, target, prompt)
    try:
        reply = await ctx.model.achat(messages, ctx.tools, **ctx.params)
    except BudgetExceededError as exc:
        return {"stop": _stop(T.BUDGET, str(exc))}
    except LLMError as exc:
        ctx.emit("model_error", error=str(exc))
        return {"stop": _stop(T.FAILED, f"the model failed: {exc}")}
    calls = [T.Call(id=c.id, name=c.name, arguments=c.raw_arguments) for c in reply.tool_calls]
    tree = T.expand(tree, target, reply.content, calls, prompt=prompt, prompt_tokens=reply.usage.prompt_tokens,
                    completion_tokens=reply.usage.completion_tokens)
    ctx.emit("step", node=tree.cursor, parent=target, calls=[c.name for c in calls],
             tokens=reply.usage.total_tokens, cached=reply.cached)
    return {"tree": tree.to_dict()}


def route_think(state: SearchState) -> Literal["execute", "finish"]:
    return "finish" if state.get("stop") else "execute"


async def execute(state: SearchState, runtime: Runtime[SearchContext]) -> dict[str, Any]:
    ctx = runtime.context
    tree = Tree.from_dict(state["tree"])
    node = tree.node(tree.cursor)
    where = T.node_path_key(tree, node.id)
    results: list[tuple[str, int]] = []
    api_calls = 0
    for index, call in enumerate(node.calls):
        if call.name == T.FINISH:
            text, code, _, _ = T.finish_observation(call.arguments)
            results.append((text, code))
            continue
        result = await call_tool(ctx.functions, PendingCall(call.name, call.arguments, {
            "query": ctx.query_id, "path": where, "index": index}), ctx.runner, ctx.journal)
        if result.ran:
            api_calls += 1
            ctx.emit("api_call", node=node.id, function=call.name, ok=result.observation.ok, replayed=result.replayed)
        results.append((result.text(ctx.max_observation_chars), observation_code(result)))
    return {"tree": T.observe(tree, node.id, results, ctx.policy, api_calls=api_calls).to_dict()}


async def finish(state: SearchState, runtime: Runtime[SearchContext]) -> dict[str, Any]:
    tree = Tree.from_dict(state["tree"])
    if tree.status != T.RUNNING and tree.chosen is not None:
        return {}
    stop = state.get("stop")
    if stop:
        status, _, reason = stop.partition("|")
        tree = T.conclude(tree, status, reason)
    else:
        tree = T.conclude(tree)
    runtime.context.emit("finished", status=tree.status, finish_type=tree.finish_type, reason=tree.reason)
    return {"tree": tree.to_dict(), "target": None}


# -- the graph ------------------------------------------------------------------------------------------

def build_graph(checkpointer: Any = None) -> Any:
    """The compiled search graph (optionally with a LangGraph checkpointer, e.g. ``AsyncSqliteSaver``)."""
    graph = StateGraph(SearchState, context_schema=SearchContext)
    graph.add_node("select", select_node)
    graph.add_node("think", think)
    graph.add_node("execute", execute)
    graph.add_node("finish", finish)
    graph.add_edge(START, "select")
    graph.add_conditional_edges("select", route_select, ["think", "finish"])
    graph.add_conditional_edges("think", route_think, ["execute", "finish"])
    graph.add_edge("execute", "select")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)


def recursion_limit(budget: Budget, policy: Policy) -> int:
    """Enough graph steps for the search: three per model call, plus the ends. Without a model-call budget,
    a tree of ``width`` children per state and ``max_steps`` deep bounds the calls."""
    calls = budget.max_llm_calls
    if calls is None:
        width = max(policy.width, policy.root_width or 1)
        calls = min(sum(width ** d for d in range(1, policy.max_steps + 1)), 100_000)
    return 3 * calls + 10


def initial_state(messages: list[dict[str, Any]]) -> SearchState:
    return {"tree": T.start(messages).to_dict(), "target": None, "stop": None}


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
            if snapshot.values and (snapshot.next or snapshot.tasks):
                payload = None  # resume where it stopped (LangGraph applies the saved writes, runs the rest)
                ctx.emit("resumed", node=snapshot.values.get("tree", {}).get("cursor"))
            elif snapshot.values and snapshot.values.get("tree"):
                done = Tree.from_dict(snapshot.values["tree"])
                if done.status != T.RUNNING:
                    return done
    final = await graph.ainvoke(payload, config, context=ctx)
    return Tree.from_dict(final["tree"])
