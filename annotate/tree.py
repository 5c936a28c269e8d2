"""The search tree of one annotation, as pure data, and the pure functions that grow and walk it.

A :class:`Node` is one step of a solution attempt: the assistant's reply (its text and its function calls) and
what those calls returned. The root is the empty state before the first step; the request that produced a node
was made *from its parent*. Nothing here calls a model or an API: the graph (:mod:`annotate.graph`) asks the
model, runs the calls, and feeds the results to these functions, each of which returns a new :class:`Tree`.

The search follows ToolBench's DFSDT (the facts, in our own words):

- a node is expanded into up to ``width`` children (``root_width`` at the root); when a node already has
  children, the request shows the model its earlier attempts from that state (:func:`diversity_prompt`), so
  that it tries something different;
- the next node to expand is found by walking up from the newest node (:func:`select`): that is the DFS
  pre-order, with backtracking to the nearest ancestor that may still take a child;
- a ``Finish(give_up_and_restart)`` prunes its node and also closes ``give_up_backtrack - 1`` ancestors
  (ToolBench backs up two levels: the state the model gave up from is not retried, its parent is);
  a chain that reaches ``max_steps`` without finishing is pruned (a failed branch; its parent is retried);
  ``step_unit`` says what ``max_steps`` counts: model replies (``reply``), or ToolBench's tree nodes
  (``toolbench``: a reply is a Thought when it has text, plus an Action and an Action Input per call, which is
  what ToolBench's ``single_chain_max_step`` counts, so its 12 means about four replies);
- the search stops at the first ``Finish(give_answer)``, when no node may be expanded, or when a budget is spent.

ReACT is the same machine with ``width=1``; ReACT@N uses ``root_width=N``, no diversity prompt, and
``give_up_backtrack=1``, so every failed chain restarts from the root.

Everything is JSON-ready through ``to_dict``/``from_dict`` (the graph keeps trees in its checkpointed state).
The requests to the model (path messages, the diversity prompt) are in :mod:`annotate.messages`, the checks of the
cheaper search (repeated calls, grounded answers) in :mod:`annotate.checks`; both are importable from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.formats.finish import FINISH, GIVE_ANSWER, GIVE_UP, GIVE_UP_AND_RESTART, parse_finish

Message = dict[str, Any]


# ToolBench's observation codes (facts from its answer files): what a call's result was.
CODE_OK = 0
CODE_NO_SUCH_FUNCTION = 1
CODE_BAD_FINISH = 2
CODE_ANSWER = 3
CODE_GIVE_UP = 4
CODE_TIMEOUT = 5
CODE_NOT_FOUND = 6
CODE_UNAUTHORIZED = 8
CODE_TOO_MANY_REQUESTS = 9
CODE_ERROR_MESSAGE = 11
CODE_REQUEST_INVALID = 12

# What Policy.max_steps counts (see the module docstring).
STEP_REPLY = "reply"
STEP_TOOLBENCH = "toolbench"
STEP_UNITS = (STEP_REPLY, STEP_TOOLBENCH)

# Which Finish(give_answer) ends the search (Policy.verify): any (ToolBench), or only a grounded one (a non-empty
# answer on a chain that got at least one successful API response); a rejected answer is a failed branch.
VERIFY_NONE = "none"
VERIFY_GROUNDED = "grounded"
VERIFY_MODES = (VERIFY_NONE, VERIFY_GROUNDED)
REPEAT_OBSERVATION = json.dumps({"error": "repeated call: this chain already made this call with these arguments; "
                                          "the chain is cut", "response": ""})

# Tree status.
RUNNING = "running"
SOLVED = "solved"  # a Finish(give_answer) was reached
EXHAUSTED = "exhausted"  # no node may be expanded any more
BUDGET = "budget"  # a budget was spent before the search ended
FAILED = "failed"  # the search stopped on an error (the model endpoint failed...)
STATUSES = (RUNNING, SOLVED, EXHAUSTED, BUDGET, FAILED)

class TreeError(ToolbenchError):
    """A tree operation was asked something impossible (an unknown node, a bad record)."""


@dataclass(frozen=True)
class Call:
    """One function call of a step and its result.

    ``arguments`` is the argument text exactly as the model wrote it (ToolBench records it so);
    ``observation`` is the text the model is shown (ToolBench's ``{"error": ..., "response": ...}`` JSON);
    ``code`` is ToolBench's observation code, None until the call has run.
    """

    id: str
    name: str
    arguments: str
    observation: str = ""
    code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments, "observation": self.observation,
                "code": self.code}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Call:
        return cls(id=str(data["id"]), name=str(data["name"]), arguments=str(data["arguments"]),
                   observation=str(data.get("observation", "")), code=data.get("code"))


@dataclass(frozen=True)
class Node:
    """One step: the reply generated from ``parent``'s state, its calls and their results.

    ``prompt`` is the diversity prompt shown before this reply (None for a first attempt). ``pruned`` marks a
    failed step (gave up, or too deep); ``terminal`` a ``Finish(give_answer)``; ``closed`` a state that takes
    no further children. ``finish`` is ``give_answer``/``give_up`` when the step called Finish so.
    ``extra`` keeps attributes of imported trees that this model does not use, to write them back.
    """

    id: int
    parent: int | None
    depth: int
    content: str | None = None
    calls: tuple[Call, ...] = ()
    prompt: str | None = None
    children: tuple[int, ...] = ()
    pruned: bool = False
    terminal: bool = False
    closed: bool = False
    finish: str | None = None
    final_answer: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def executed(self) -> bool:
        return all(c.code is not None for c in self.calls)

    @property
    def observation(self) -> str:
        """The last result of the step, as ToolBench's "former observation"."""
        return self.calls[-1].observation if self.calls else ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "parent": self.parent, "depth": self.depth, "content": self.content,
            "calls": [c.to_dict() for c in self.calls], "prompt": self.prompt, "children": list(self.children),
            "pruned": self.pruned, "terminal": self.terminal, "closed": self.closed, "finish": self.finish,
            "final_answer": self.final_answer, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Node:
        try:
            return cls(
                id=int(data["id"]), parent=None if data.get("parent") is None else int(data["parent"]),
                depth=int(data["depth"]), content=data.get("content"),
                calls=tuple(Call.from_dict(c) for c in data.get("calls", ())), prompt=data.get("prompt"),
                children=tuple(int(c) for c in data.get("children", ())), pruned=bool(data.get("pruned")),
                terminal=bool(data.get("terminal")), closed=bool(data.get("closed")), finish=data.get("finish"),
                final_answer=data.get("final_answer"), prompt_tokens=int(data.get("prompt_tokens", 0)),
                completion_tokens=int(data.get("completion_tokens", 0)), extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TreeError(f"bad tree node record {dict(data)!r:.200}: {exc}") from None


@dataclass(frozen=True)
class Policy:
    """How the tree grows (see the module docstring); strategies (:mod:`annotate.strategies`) build these."""

    width: int = 2
    root_width: int | None = None  # None: same as width
    max_steps: int = 12
    diversity: bool = True
    give_up_backtrack: int = 2
    step_unit: str = STEP_REPLY  # what max_steps counts: STEP_REPLY or STEP_TOOLBENCH
    prune_repeats: bool = False  # a step whose API calls all repeat calls of its chain is not run; it is pruned
    verify: str = VERIFY_NONE  # which answer ends the search: VERIFY_NONE or VERIFY_GROUNDED

    def __post_init__(self) -> None:
        for name in ("width", "max_steps", "give_up_backtrack"):
            if getattr(self, name) < 1:
                raise TreeError(f"policy field '{name}' must be >= 1; got {getattr(self, name)}")
        if self.step_unit not in STEP_UNITS:
            raise TreeError(f"policy field 'step_unit' must be one of {', '.join(STEP_UNITS)}; "
                            f"got {self.step_unit!r}")
        if self.verify not in VERIFY_MODES:
            raise TreeError(f"policy field 'verify' must be one of {', '.join(VERIFY_MODES)}; got {self.verify!r}")
        if self.root_width is not None and self.root_width < 1:
            raise TreeError(f"policy field 'root_width' must be >= 1; got {self.root_width}")

    def width_at(self, node: Node) -> int:
        return self.root_width if node.parent is None and self.root_width is not None else self.width


@dataclass(frozen=True)
class Budget:
    """Per-tree limits; None means no limit. ``max_llm_calls`` is ToolBench's ``max_query_count``."""

    max_llm_calls: int | None = 200
    max_api_calls: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None  # US dollars, priced with ``price``
    price: tuple[float, float] | None = None  # dollars per million (prompt, completion) tokens

    def cost(self, tree: Tree) -> float | None:
        if self.price is None:
            return None
        return (tree.prompt_tokens * self.price[0] + tree.completion_tokens * self.price[1]) / 1_000_000

    def spent(self, tree: Tree) -> str | None:
        """Which budget is spent (a sentence), or None."""
        if self.max_llm_calls is not None and tree.llm_calls >= self.max_llm_calls:
            return f"{tree.llm_calls} model calls reached max_llm_calls={self.max_llm_calls}"
        if self.max_api_calls is not None and tree.api_calls >= self.max_api_calls:
            return f"{tree.api_calls} API calls reached max_api_calls={self.max_api_calls}"
        if self.max_tokens is not None and tree.total_tokens >= self.max_tokens:
            return f"{tree.total_tokens} tokens reached max_tokens={self.max_tokens}"
        cost = self.cost(tree)
        if self.max_cost is not None and cost is not None and cost >= self.max_cost:
            return f"${cost:.4f} reached max_cost=${self.max_cost:.4f}"
        return None


@dataclass(frozen=True)
class Tree:
    """The whole search for one query: the opening messages, the nodes by id, counters and status.

    ``cursor`` is the newest node (the DFS position). ``chosen`` is the node whose path is the answer
    (set by :func:`conclude`). ``reason`` says why the search stopped.
    """

    messages: tuple[Message, ...]
    nodes: Mapping[int, Node]
    cursor: int = 0
    status: str = RUNNING
    reason: str = ""
    chosen: int | None = None
    llm_calls: int = 0
    api_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def node(self, node_id: int) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise TreeError(f"the tree has no node {node_id}") from None

    @property
    def finish_type(self) -> str | None:
        """``give_answer``/``give_up`` of the chosen path, None when there is none."""
        return None if self.chosen is None else self.nodes[self.chosen].finish

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "messages": [dict(m) for m in self.messages],
            "nodes": [self.nodes[k].to_dict() for k in sorted(self.nodes)],
            "cursor": self.cursor, "status": self.status, "reason": self.reason, "chosen": self.chosen,
            "llm_calls": self.llm_calls, "api_calls": self.api_calls, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tree:
        try:
            nodes = {n.id: n for n in (Node.from_dict(d) for d in data["nodes"])}
            tree = cls(
                messages=tuple(dict(m) for m in data["messages"]), nodes=nodes, cursor=int(data.get("cursor", 0)),
                status=str(data.get("status", RUNNING)), reason=str(data.get("reason", "")),
                chosen=data.get("chosen"), llm_calls=int(data.get("llm_calls", 0)),
                api_calls=int(data.get("api_calls", 0)), prompt_tokens=int(data.get("prompt_tokens", 0)),
                completion_tokens=int(data.get("completion_tokens", 0)), extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TreeError(f"bad tree record: {exc}") from None
        if 0 not in tree.nodes or tree.status not in STATUSES:
            raise TreeError("bad tree record: it needs a root node 0 and a known status")
        return tree


# -- building -------------------------------------------------------------------------------------------

def start(messages: Iterable[Message]) -> Tree:
    """A tree with only the root: the opening messages (system prompt, task) and nothing tried yet."""
    return Tree(messages=tuple(dict(m) for m in messages), nodes={0: Node(id=0, parent=None, depth=0)})


def with_nodes(tree: Tree, *changed: Node, **fields: Any) -> Tree:
    """A copy of ``tree`` with ``changed`` nodes replaced or added and other fields set."""
    nodes = dict(tree.nodes)
    for node in changed:
        nodes[node.id] = node
    return replace(tree, nodes=nodes, **fields)


def expand(tree: Tree, parent: int, content: str | None, calls: Iterable[Call], *, prompt: str | None = None,
           prompt_tokens: int = 0, completion_tokens: int = 0) -> Tree:
    """Add the reply the model gave from ``parent``'s state as a new child (its calls not run yet); the child
    becomes the cursor and the model call is counted."""
    if tree.status != RUNNING:
        raise TreeError(f"cannot expand a finished tree (status {tree.status})")
    up = tree.node(parent)
    child = Node(id=max(tree.nodes) + 1, parent=parent, depth=up.depth + 1, content=content, calls=tuple(calls),
                 prompt=prompt, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    return with_nodes(tree, replace(up, children=up.children + (child.id,)), child, cursor=child.id,
                       llm_calls=tree.llm_calls + 1, prompt_tokens=tree.prompt_tokens + prompt_tokens,
                       completion_tokens=tree.completion_tokens + completion_tokens)


def count_model_call(tree: Tree, prompt_tokens: int = 0, completion_tokens: int = 0) -> Tree:
    """Count a model call that added no node (it failed after spending tokens)."""
    return replace(tree, llm_calls=tree.llm_calls + 1, prompt_tokens=tree.prompt_tokens + prompt_tokens,
                   completion_tokens=tree.completion_tokens + completion_tokens)


def finish_observation(arguments: str) -> tuple[str, int, str | None, str | None]:
    """The observation, code, finish type and final answer of a Finish call (no API is involved)."""
    rtype, answer, problem = parse_finish(arguments)
    if problem is not None:
        return json.dumps({"error": problem, "response": ""}), CODE_BAD_FINISH, None, None
    if rtype == GIVE_UP_AND_RESTART:
        return '{"response":"chose to give up and restart"}', CODE_GIVE_UP, GIVE_UP, None
    return '{"response":"successfully giving the final answer."}', CODE_ANSWER, GIVE_ANSWER, answer


def observe(tree: Tree, node_id: int, results: Iterable[tuple[str, int]], policy: Policy,
            api_calls: int = 0) -> Tree:
    """Record the results ``(observation, code)`` of a node's calls, in order, and what they mean for the
    search: a give-answer ends it, a give-up prunes the node and closes ``give_up_backtrack - 1`` ancestors, a
    chain whose :func:`chain_length` reaches ``max_steps`` is pruned. ``api_calls`` is how many of the calls
    reached an API. With ``policy.prune_repeats`` a step whose API calls all repeat earlier calls of its chain
    (:func:`is_repeat`) is pruned; with ``policy.verify == "grounded"`` an answer not grounded in a successful API
    response (:func:`grounded`) is pruned as a failed branch and the search goes on."""
    from annotate.checks import all_repeats, grounded

    node = tree.node(node_id)
    results = list(results)
    if len(results) != len(node.calls):
        raise TreeError(f"node {node_id} made {len(node.calls)} calls but {len(results)} results were given")
    calls = tuple(replace(c, observation=obs, code=code) for c, (obs, code) in zip(node.calls, results))
    finish = final_answer = None
    for call in calls:
        if call.name == FINISH and call.code in (CODE_ANSWER, CODE_GIVE_UP):
            _, _, finish, final_answer = finish_observation(call.arguments)
            break
    node = replace(node, calls=calls, finish=finish, final_answer=final_answer)
    changed = [node]
    status = tree.status
    if finish == GIVE_ANSWER and policy.verify == VERIFY_GROUNDED and not grounded(tree, node):
        node = replace(node, pruned=True, closed=True)  # a rejected answer: a failed branch
        changed = [node]
    elif finish == GIVE_ANSWER:
        node = replace(node, terminal=True, closed=True)
        changed = [node]
        status = SOLVED
    elif finish == GIVE_UP:
        node = replace(node, pruned=True, closed=True)
        changed = [node]
        up = node.parent
        for _ in range(policy.give_up_backtrack - 1):
            if up is None:
                break
            ancestor = tree.node(up)
            changed.append(replace(ancestor, closed=True))
            up = ancestor.parent
    elif (chain_length(tree, node.id, policy.step_unit) >= policy.max_steps
          or (policy.prune_repeats and finish is None and all_repeats(tree, node))):
        node = replace(node, pruned=True, closed=True)
        changed = [node]
    return with_nodes(tree, *changed, status=status, api_calls=tree.api_calls + api_calls,
                       reason="a Finish(give_answer) was reached" if status == SOLVED else tree.reason)


# -- walking --------------------------------------------------------------------------------------------

def can_expand(tree: Tree, node_id: int, policy: Policy) -> bool:
    node = tree.node(node_id)
    return (not node.terminal and not node.pruned and not node.closed and node.executed
            and len(node.children) < policy.width_at(node))


def select(tree: Tree, policy: Policy) -> int | None:
    """The node to expand next: the newest node if it may take a child, else its nearest ancestor that may
    (DFS pre-order with backtracking); None when the search is over."""
    if tree.status != RUNNING:
        return None
    current: int | None = tree.cursor
    while current is not None:
        if can_expand(tree, current, policy):
            return current
        current = tree.node(current).parent
    return None


def path(tree: Tree, node_id: int) -> list[int]:
    """Node ids from the root's first child down to ``node_id`` (the root itself is not a step)."""
    out = []
    current: int | None = node_id
    while current is not None and current != 0:
        out.append(current)
        current = tree.node(current).parent
    return out[::-1]


def toolbench_node_count(node: Node) -> int:
    """How many nodes ToolBench's tree has for one step: a Thought when the reply has text (or makes no call),
    plus an Action and an Action Input per call (:mod:`annotate.export` writes steps so)."""
    return (1 if node.content or not node.calls else 0) + 2 * len(node.calls)


def chain_length(tree: Tree, node_id: int, unit: str = STEP_REPLY) -> int:
    """The length of the chain from the root to ``node_id``: its replies (``reply``, the node's depth), or
    ToolBench's node depth (``toolbench``: the sum of :func:`toolbench_node_count` over the path)."""
    if unit == STEP_REPLY:
        return tree.node(node_id).depth
    if unit == STEP_TOOLBENCH:
        return sum(toolbench_node_count(tree.node(n)) for n in path(tree, node_id))
    raise TreeError(f"unknown step unit {unit!r}; use one of {', '.join(STEP_UNITS)}")


def node_path_key(tree: Tree, node_id: int) -> str:
    """A stable name of a node's position: child indexes from the root, ``"0.1.0"`` (``""`` for the root).
    The same search replayed gives the same keys, whatever ids nodes got."""
    parts = []
    for nid in path(tree, node_id):
        parent = tree.node(tree.node(nid).parent)  # type: ignore[arg-type]
        parts.append(str(parent.children.index(nid)))
    return ".".join(parts)


# -- ending ---------------------------------------------------------------------------------------------

def conclude(tree: Tree, status: str | None = None, reason: str = "") -> Tree:
    """End the search: set the status (``solved`` if an answer was reached, else the given one, else
    ``exhausted``) and choose the answer path: the first accepted give-answer node, else the first answer that
    verification rejected (pruned), else the first give-up node."""
    answers = [n.id for n in tree.nodes.values() if n.finish == GIVE_ANSWER and not n.pruned]
    rejected = [n.id for n in tree.nodes.values() if n.finish == GIVE_ANSWER and n.pruned]
    give_ups = [n.id for n in tree.nodes.values() if n.finish == GIVE_UP]
    chosen = min(answers or rejected or give_ups) if answers or rejected or give_ups else None
    if answers:
        final_status = SOLVED
    elif status is not None:
        final_status = status
    else:
        final_status = EXHAUSTED
    if final_status not in STATUSES or final_status == RUNNING:
        raise TreeError(f"cannot conclude a tree with status {final_status!r}")
    if not reason:
        reason = tree.reason or {SOLVED: "a Finish(give_answer) was reached",
                                 EXHAUSTED: "no node may be expanded any more"}.get(final_status, "")
    return replace(tree, status=final_status, reason=reason, chosen=chosen)


def final_answer(tree: Tree) -> str | None:
    return None if tree.chosen is None else tree.node(tree.chosen).final_answer


# Kept importable from here: the requests to the model (annotate.messages), the cheaper-search checks (annotate.checks).
_MOVED = {"annotate.messages": ("DIVERSITY_PROMPT", "assistant_message", "diversity_prompt", "first_attempt",
                                "next_request", "request_messages", "step_messages"),
          "annotate.checks": ("all_repeats", "call_signature", "grounded", "is_repeat", "repeated_calls")}


def __getattr__(name: str) -> Any:
    import importlib

    for module, names in _MOVED.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'annotate.tree' has no attribute {name!r}")
