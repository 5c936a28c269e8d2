"""The agent as a LangGraph ``StateGraph``: a user's request, the model's calls, a person's approval, the answer.

```
START -> begin -> think --(no calls: the answer)--> END
                    |  ^
                    v  |
                  review -> execute --(step budget spent)--> stop -> END
```

- ``begin`` appends the user's message and picks the functions to offer: the whole catalog when it is small,
  else the top ``max_tools`` from a retriever (a :data:`ToolSelector`, injected by the CLI) or, without one, a
  keyword match;
- ``think`` asks the model and turns each call it makes into a *proposal*: the function, the tool and API, the
  arguments, their validation problems, the exact HTTP request it would send (no secrets), and the trust policy's
  gate (``execute``, ``suggest``, or ``invalid`` for a function that does not exist);
- ``review`` asks a person about every suggested call, one LangGraph ``interrupt()`` each, showing the proposal.
  The resume value is ``{"action": "approve"}``, ``{"action": "reject", "comment": ...}`` or ``{"action": "edit",
  "arguments": {...}}``, each with optional ``"by"`` (who decided: the principal) and ``"at"`` (when, epoch
  seconds), which are kept with the decision; edited arguments are validated and, when wrong, the same call is
  asked about again with the problems. Nothing runs in ``review``: LangGraph re-runs a node from its start when it resumes, so running
  calls there could repeat them;
- ``execute`` runs what was allowed (the edited call when edited, nothing when rejected) through the executor,
  records each decision in the feedback store (with who made it and when), and hands the results back to the model. Each call goes through
  the core's tool-call step (:mod:`toolbench.toolstep`, shared with the annotation search: proposals are checked by
  its :func:`~toolbench.toolstep.check_call`, calls run by its :func:`~toolbench.toolstep.run_call`) with the store
  as its journal, so a call is sent at most once even if the process dies while it is in flight.

The state holds only JSON-ready data (OpenAI messages, proposals, decisions); the model, executor, functions,
policy and store come in an :class:`AgentContext` (LangGraph's run context), so they are never checkpointed:
API keys stay in the environment, read by the executor at call time.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from toolbench.agent.policy import SUGGEST, TrustPolicy
from toolbench.agent.store import APPROVED, EDITED, REJECTED, AgentStore, Feedback
from toolbench.catalog.functions import FunctionSet, OfferedFunction
from toolbench.executor import Executor, PreparationError, prepare_request
from toolbench.formats.finish import FINISH
from toolbench.llm.base import ChatModel, LLMError, ToolCall
from toolbench.toolstep import (
    ErrorKind,
    ExecutorRunner,
    PendingCall,
    check_call,
    failed,
    parse_arguments,
    run_call,
)

# (request text, k) -> up to k (tool, api) pairs, best first: how a retriever plugs in.
ToolSelector = Callable[[str, int], list[tuple[str, str]]]

INVALID = "invalid"
FINISH_GATE = "finish"
APPROVE, REJECT, EDIT = "approve", "reject", "edit"

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant acting for the user through the functions offered to you. Call a function when "
    "you need data or need to act, then answer the user in plain words from the results. Calls that change "
    "something may be shown to the user for approval; if the user rejects a call, do not try it again: say what "
    "you would need or ask the user."
)


@dataclass
class AgentContext:
    """What the agent needs besides its state; passed as LangGraph's run context, never checkpointed."""

    model: ChatModel
    executor: Executor
    functions: FunctionSet
    policy: TrustPolicy = field(default_factory=TrustPolicy)
    store: AgentStore | None = None
    selector: ToolSelector | None = None
    max_tools: int = 16
    max_steps: int = 8
    params: dict[str, Any] = field(default_factory=dict)
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_observation_chars: int = 4000
    on_event: Callable[[dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        from toolbench.errors import ToolbenchError

        if self.max_tools < 1:
            raise ToolbenchError(f"max_tools: must be >= 1, got {self.max_tools}")
        if self.max_steps < 1:
            raise ToolbenchError(f"max_steps: must be >= 1, got {self.max_steps}")

    def emit(self, event: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event({"event": event, **data})


class AgentState(TypedDict, total=False):
    session: str
    incoming: str | None  # the user's new message (input only; begin moves it into messages)
    messages: list[dict[str, Any]]  # the OpenAI transcript, system prompt first
    request: str  # the user's message this turn
    offered: list[str]  # function names offered this turn
    proposals: list[dict[str, Any]]  # the last assistant message's calls, see propose()
    decisions: list[dict[str, Any]]  # one per proposal, from review
    steps: int  # model calls this turn
    answer: str | None
    error: str | None
    log: list[dict[str, Any]]  # the calls of this turn and what became of them


# -- pure helpers ---------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(("a", "an", "the", "of", "for", "to", "in", "on", "and", "or", "is", "are", "be", "me", "my", "i",
                   "you", "your", "please", "can", "could", "would", "what", "which", "with", "from", "at", "by",
                   "it", "this", "that", "do", "does", "get"))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def keyword_select(functions: FunctionSet, text: str, k: int) -> list[str]:
    """The ``k`` functions whose tool name, API name and description share most words with ``text`` (ties in
    catalog order): the fallback when no retriever is given."""
    wanted = _words(text)
    scored = []
    for pos, (name, fn) in enumerate(functions.functions.items()):
        doc = _words(f"{fn.api.tool} {fn.api.name} {fn.api.description} {name}")
        scored.append((-len(wanted & doc), pos, name))
    return [name for _, _, name in sorted(scored)[:k]]


def select_functions(ctx: AgentContext, text: str) -> list[str]:
    """Function names to offer for ``text``: all when the catalog has at most ``max_tools`` APIs."""
    names = list(ctx.functions.functions)
    if len(names) <= ctx.max_tools:
        return names
    if ctx.selector is None:
        return keyword_select(ctx.functions, text, ctx.max_tools)
    out = []
    for tool, api in ctx.selector(text, ctx.max_tools):
        try:
            name = ctx.functions.names.name_of(tool, api)
        except KeyError:
            continue  # the retriever's index knows an API this catalog lacks
        if name not in out:
            out.append(name)
    return out or keyword_select(ctx.functions, text, ctx.max_tools)


def http_preview(executor: Executor, fn: OfferedFunction, arguments: dict[str, Any]) -> dict[str, Any]:
    """The exact HTTP request a call would send, without credentials: method, URL, query and JSON body."""
    tool = executor.tools.get(fn.api.tool)
    if tool is None:
        return {"error": f"tool {fn.api.tool!r} is not in the executor's catalog"}
    try:
        req = prepare_request(tool, fn.api, fn.api_arguments(arguments), None, executor.config.base_url_overrides)
    except PreparationError as exc:
        return {"error": str(exc)}
    return {"method": req.method, "url": req.url, "query": req.params, "body": req.json}


def propose(ctx: AgentContext, call: ToolCall) -> dict[str, Any]:
    """A model's call as a proposal: what it would do and whether it may run without a person."""
    proposal: dict[str, Any] = {"id": call.id, "name": call.name, "arguments": call.raw_arguments}
    if call.name == FINISH:
        return {**proposal, "gate": FINISH_GATE}
    checked = check_call(ctx.functions, call.name, call.raw_arguments)
    fn, args, problems = checked.function, checked.arguments, checked.problems
    if fn is None:
        return {**proposal, "gate": INVALID, "problems": problems}
    decision = ctx.policy.decide_function(fn)
    return {**proposal, "tool": fn.api.tool, "api": fn.api.name, "method": fn.api.method.upper(),
            "consequential": decision.consequential, "gate": decision.mode, "reason": decision.reason,
            "problems": problems,
            "http": http_preview(ctx.executor, fn, args) if args is not None and not problems else None}


def read_decision(ctx: AgentContext, proposal: dict[str, Any], answer: Any) -> tuple[dict[str, Any], str | None]:
    """A person's answer (the interrupt's resume value) as a decision, or the problem with it."""
    if isinstance(answer, str):
        answer = {"action": answer}
    if not isinstance(answer, dict):
        return {}, "answer with {\"action\": \"approve\" | \"reject\" | \"edit\", ...}"
    action = str(answer.get("action", "")).lower()
    who = {k: answer[k] for k in ("by", "at") if answer.get(k) is not None}
    action = {"y": APPROVE, "yes": APPROVE, "approved": APPROVE, "n": REJECT, "no": REJECT, "rejected": REJECT,
              "e": EDIT, "edited": EDIT}.get(action, action)
    comment = str(answer.get("comment") or "")
    if action == REJECT:
        return {"action": REJECT, "comment": comment, **who}, None
    if action == APPROVE:
        if proposal.get("problems"):
            return {}, "the proposed arguments are invalid (" + "; ".join(proposal["problems"]) + "); edit or reject"
        return {"action": APPROVE, "comment": comment, **who}, None
    if action == EDIT:
        args = answer.get("arguments")
        if isinstance(args, str):
            args, problem = parse_arguments(args)
            if problem:
                return {}, problem
        if not isinstance(args, dict):
            return {}, "edit needs 'arguments': a JSON object of the function's parameters"
        checked = check_call(ctx.functions, proposal["name"], args)
        if checked.function is not None and checked.problems:
            return {}, "the edited arguments are invalid: " + "; ".join(checked.problems)
        return {"action": EDIT, "arguments": args, "comment": comment, **who}, None
    return {}, f"unknown action {action!r}; use approve, reject or edit"


def approval_request(state: AgentState, proposal: dict[str, Any], error: str | None) -> dict[str, Any]:
    """What a person is shown (the interrupt's value)."""
    return {"kind": "approval", "session": state.get("session", ""), "request": state.get("request", ""),
            "call": proposal, "error": error}


def offered_tools(ctx: AgentContext, names: list[str]) -> list[dict[str, Any]]:
    return [ctx.functions.functions[n].to_openai_tool() for n in names if n in ctx.functions.functions]


# -- nodes ----------------------------------------------------------------------------------------------

async def begin(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    text = state.get("incoming") or ""
    messages = list(state.get("messages") or [])
    if not messages and ctx.system_prompt:
        messages.append({"role": "system", "content": ctx.system_prompt})
    messages.append({"role": "user", "content": text})
    recent = [m["content"] for m in messages if m["role"] == "user" and isinstance(m.get("content"), str)][-3:]
    offered = select_functions(ctx, "\n".join(recent))
    ctx.emit("turn", session=state.get("session"), offered=len(offered))
    return {"messages": messages, "incoming": None, "request": text, "offered": offered, "proposals": [],
            "decisions": [], "steps": 0, "answer": None, "error": None, "log": []}


async def think(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    messages = state["messages"]
    try:
        reply = await ctx.model.achat(messages, offered_tools(ctx, state["offered"]) or None, **ctx.params)
    except LLMError as exc:
        ctx.emit("model_error", error=str(exc))
        return {"error": f"the model failed: {exc}", "proposals": []}
    steps = state.get("steps", 0) + 1
    finish = next((c for c in reply.tool_calls if c.name == FINISH), None)
    if finish is not None:  # ToolBench-style models end with Finish(give_answer, final_answer)
        args, _ = parse_arguments(finish.raw_arguments)
        answer = str((args or {}).get("final_answer") or reply.content or "")
        return {"messages": messages + [{"role": "assistant", "content": answer}], "answer": answer,
                "proposals": [], "steps": steps}
    if not reply.tool_calls:
        answer = reply.content or ""
        return {"messages": messages + [{"role": "assistant", "content": answer}], "answer": answer,
                "proposals": [], "steps": steps}
    proposals = [propose(ctx, c) for c in reply.tool_calls]
    ctx.emit("proposals", calls=[(p["name"], p["gate"]) for p in proposals])
    return {"messages": messages + [reply.to_message()], "proposals": proposals, "steps": steps}


def route_think(state: AgentState) -> Literal["review", "__end__"]:
    return "review" if state.get("proposals") and not state.get("error") else END


async def review(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    decisions = []
    for proposal in state["proposals"]:
        if proposal["gate"] != SUGGEST:
            decisions.append({"action": "auto"})
            continue
        error: str | None = None
        while True:  # interrupts are matched to resume values by their order, so asking again is safe
            answer = interrupt(approval_request(state, proposal, error))
            decision, error = read_decision(ctx, proposal, answer)
            if error is None:
                break
        decisions.append(decision)
    return {"decisions": decisions}


async def execute(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    session = state.get("session", "")
    messages = copy.deepcopy(state["messages"])
    at = len(messages) - 1  # the assistant message that made the calls
    assistant = messages[at]
    log = list(state.get("log") or [])
    tools = offered_tools(ctx, state["offered"])
    runner = ExecutorRunner(ctx.executor, ctx.functions)
    for index, (proposal, decision) in enumerate(zip(state["proposals"], state["decisions"])):
        action = decision["action"]
        name = proposal["name"]
        entry = {"function": name, "tool": proposal.get("tool"), "api": proposal.get("api"),
                 "gate": proposal["gate"], "decision": action}
        feedback = None
        if proposal["gate"] == SUGGEST:
            feedback = Feedback(session=session, decision=REJECTED, request=state.get("request", ""), function=name,
                                tool=proposal["tool"], api=proposal["api"],
                                proposed=parse_arguments(proposal["arguments"])[0] or {}, final=None,
                                context=state["messages"][:at], tools=tools, call_id=proposal["id"],
                                comment=decision.get("comment", ""), reason=proposal.get("reason", ""),
                                decided_by=str(decision.get("by") or ""), decided_at=decision.get("at"),
                                key=f"{session}:{at}:{index}")
            entry.update(decided_by=feedback.decided_by, decided_at=feedback.decided_at)
        if action == REJECT:
            why = f" The user said: {decision['comment']}" if decision.get("comment") else ""
            result = failed(ErrorKind.REJECTED_BY_USER, f"the user did not allow this call, so it was not run.{why}")
        else:
            arguments = proposal["arguments"]
            if action == EDIT:
                arguments = json.dumps(decision["arguments"], ensure_ascii=False)
                assistant["tool_calls"][index]["function"]["arguments"] = arguments  # the transcript shows what ran
            result = await run_call(PendingCall(name, arguments, {"session": session, "message": at, "call": index}),
                                    runner, arguments, ctx.store, resend_unfinished=not proposal.get("consequential"))
            entry["arguments"] = parse_arguments(arguments)[0]
            if feedback is not None:
                feedback.decision = EDITED if action == EDIT else APPROVED
                feedback.final = parse_arguments(arguments)[0]
        obs = result.observation
        if feedback is not None and ctx.store is not None:
            feedback.observation = obs.to_dict()
            ctx.store.record(feedback)
        entry.update(ok=obs.ok, error=obs.error, status=obs.status)
        log.append(entry)
        ctx.emit("call", session=session, **entry)
        messages.append({"role": "tool", "tool_call_id": proposal["id"], "name": name,
                         "content": result.text(ctx.max_observation_chars)})
    return {"messages": messages, "proposals": [], "decisions": [], "log": log}


def route_execute(state: AgentState, runtime: Runtime[AgentContext]) -> Literal["think", "stop"]:
    return "think" if state.get("steps", 0) < runtime.context.max_steps else "stop"


async def stop(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    answer = (f"I stopped after {runtime.context.max_steps} steps without a final answer; the results so far are "
              "above. Tell me how to go on.")
    return {"messages": state["messages"] + [{"role": "assistant", "content": answer}], "answer": answer}


# -- the graph ------------------------------------------------------------------------------------------

def build_graph(checkpointer: Any = None) -> Any:
    """The compiled agent graph. Approvals need a checkpointer (e.g. LangGraph's ``AsyncSqliteSaver``)."""
    graph = StateGraph(AgentState, context_schema=AgentContext)
    graph.add_node("begin", begin)
    graph.add_node("think", think)
    graph.add_node("review", review)
    graph.add_node("execute", execute)
    graph.add_node("stop", stop)
    graph.add_edge(START, "begin")
    graph.add_edge("begin", "think")
    graph.add_conditional_edges("think", route_think, ["review", END])
    graph.add_edge("review", "execute")
    graph.add_conditional_edges("execute", route_execute, ["think", "stop"])
    graph.add_edge("stop", END)
    return graph.compile(checkpointer=checkpointer)
