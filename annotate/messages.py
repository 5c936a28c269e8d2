"""The requests a search sends to the model, built from its tree (:mod:`annotate.tree`): the messages of a path,
and ToolBench's diversity prompt that shows the model its earlier attempts from a state.

Re-exported by :mod:`annotate.tree` (``T.request_messages``...), where the search's other pure functions are.
"""

from __future__ import annotations

import json

from annotate.tree import Call, Message, Node, Policy, Tree, path, select

# The diversity prompt, word for word as ToolBench's answer files record it (its typos are part of the data
# models were trained on). ``{previous_candidate}`` is the JSON list of earlier attempts from this state.
DIVERSITY_PROMPT = (
    "This is not the first time you try this task, all previous trails failed.\n"
    "Before you generate my thought for this state, I will first show you your previous actions for this "
    "state, and then you must generate actions that is different from all of them. Here are some previous "
    "actions candidates:\n{previous_candidate}\nRemember you are now in the intermediate state of a trail, you "
    "will first analyze the now state and previous action candidates, then make actions that is different from "
    "all the previous."
)



def first_attempt(tree: Tree, node_id: int) -> Call | None:
    """The first call made in the subtree of ``node_id``, following first children (ToolBench shows this as an
    earlier attempt from the parent's state)."""
    current: Node | None = tree.node(node_id)
    while current is not None:
        if current.calls:
            return current.calls[0]
        current = tree.node(current.children[0]) if current.children else None
    return None


def diversity_prompt(tree: Tree, node_id: int) -> str | None:
    """The prompt that shows the model its earlier attempts from ``node_id``'s state, or None for a first
    attempt. Each attempt is listed with its name, arguments, output and a value (ToolBench's
    ``mento-carlo-action-value``, always 0.0 in DFSDT)."""
    node = tree.node(node_id)
    attempts = []
    for child in node.children:
        call = first_attempt(tree, child)
        if call is not None:
            attempts.append({"name": call.name, "arguments": call.arguments, "function_output": call.observation,
                             "mento-carlo-action-value": 0.0})
    if not attempts:
        return None
    candidates = json.dumps(attempts, indent=2) + "\n"
    if node.observation:
        candidates += f"again, your former observation: {node.observation}\n"
    return DIVERSITY_PROMPT.replace("{previous_candidate}", candidates)


def assistant_message(node: Node) -> Message:
    """The node's reply in OpenAI's form."""
    msg: Message = {"role": "assistant", "content": node.content}
    if node.calls:
        msg["tool_calls"] = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                             for c in node.calls]
    return msg


def step_messages(node: Node) -> list[Message]:
    """The reply and its results as OpenAI messages."""
    out = [assistant_message(node)]
    out += [{"role": "tool", "tool_call_id": c.id, "content": c.observation} for c in node.calls]
    return out


def request_messages(tree: Tree, node_id: int, prompt: str | None = None) -> list[Message]:
    """The messages of the request that expands ``node_id``: the opening messages, each step on the path with its
    results, then ``prompt`` (the diversity prompt) if given. Diversity prompts of earlier steps are left out:
    they were meant for those steps only (ToolBench marks them ``valid: false``)."""
    out = [dict(m) for m in tree.messages]
    for nid in path(tree, node_id):
        out += step_messages(tree.node(nid))
    if prompt is not None:
        out.append({"role": "user", "content": prompt})
    return out


def next_request(tree: Tree, policy: Policy) -> tuple[int, list[Message], str | None] | None:
    """(node to expand, request messages, diversity prompt) for the next model call, or None when done."""
    node_id = select(tree, policy)
    if node_id is None:
        return None
    prompt = diversity_prompt(tree, node_id) if policy.diversity else None
    return node_id, request_messages(tree, node_id, prompt), prompt
