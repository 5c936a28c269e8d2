"""The cheaper search's checks on a tree (:mod:`annotate.tree`, which re-exports them): repeated calls within a
chain (``Policy.prune_repeats``) and grounded answers (``Policy.verify == "grounded"``)."""

from __future__ import annotations

import json

from annotate.tree import CODE_OK, FINISH, Call, Node, Tree, path


def call_signature(call: Call) -> tuple[str, str]:
    """(function name, arguments as canonical JSON when they decode, else the stripped text): equal for the same
    call written with other spacing or key order."""
    try:
        return call.name, json.dumps(json.loads(call.arguments or "{}"), sort_keys=True, ensure_ascii=False)
    except ValueError:
        return call.name, call.arguments.strip()


def is_repeat(tree: Tree, node_id: int, index: int, node: Node | None = None) -> bool:
    """Whether call ``index`` of the node (an API call, not Finish) repeats a call made earlier in its chain: by an
    ancestor step, or earlier in the same step. ``node`` overrides the tree's copy of the node."""
    node = node or tree.node(node_id)
    call = node.calls[index]
    if call.name == FINISH:
        return False
    signature = call_signature(call)
    earlier = [c for nid in path(tree, node.parent) for c in tree.node(nid).calls] if node.parent else []
    return any(call_signature(c) == signature for c in earlier + list(node.calls[:index]))


def all_repeats(tree: Tree, node: Node) -> bool:
    indexes = [i for i, c in enumerate(node.calls) if c.name != FINISH]
    return bool(indexes) and all(is_repeat(tree, node.id, i, node) for i in indexes)


def repeated_calls(tree: Tree) -> int:
    """How many API calls of the tree repeat an earlier call of their chain (:func:`is_repeat`)."""
    return sum(is_repeat(tree, n.id, i) for n in tree.nodes.values() for i in range(len(n.calls)))


def grounded(tree: Tree, node: Node) -> bool:
    """Whether ``node``'s answer is grounded: non-empty, on a chain with a successful API response (code 0)."""
    if not (node.final_answer or "").strip():
        return False
    steps = [tree.node(nid) for nid in path(tree, node.parent)] if node.parent else []
    return any(c.name != FINISH and c.code == CODE_OK for step in steps + [node] for c in step.calls)
