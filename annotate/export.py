"""ToolBench's answer files and our search trees, both ways: a finished search as an answer file, ToolBench's and
StableToolBench's answer files as trees.

The file format (layouts, nodes, ``answer_generation``) is :mod:`toolbench.formats.answers`, which reads and
writes the files; this module converts its :class:`~toolbench.formats.answers.AnswerFile` to and from our
:class:`~annotate.tree.Tree`. A step of ours is written as ToolBench nodes: a ``Thought`` (the reply's text,
when there is one), then an ``Action`` and an ``Action Input`` per call; ``train_messages`` marks the diversity
prompts ``valid: false``.

Importing rebuilds our :class:`~annotate.tree.Tree`; node attributes this model does not use (``Elo``,
``finished``, ``matching_time``...) are kept in each node's ``extra`` and written back, so a file imported and
exported again is unchanged. :func:`chat_example` turns a successful path into a training conversation.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from annotate import tree as T
from annotate.strategies import SearchConfig
from annotate.tree import Call, Node, Tree
from toolbench.formats import answers as F
from toolbench.formats.answers import (
    ACTION,
    ACTION_INPUT,
    THOUGHT,
    AnswerFile,
    AnswerFormatError,
    AnswerGeneration,
)
from toolbench.formats.finish import FINISH, GIVE_ANSWER, GIVE_UP
from toolbench.llm.toolcalls import make_call_id

# Node attributes we compute; any other attribute of an imported node is kept as it was.
_MODELED = ("node_type", "description", "depth", "pruned", "observation", "observation_code", "child_count",
            "children")
_EXTRA_KEY = "toolbench"  # Node.extra / Tree.extra key holding ToolBench-only attributes
# How a reply without text is written in train_messages: ToolBench writes ``"content": null``, StableToolBench
# leaves the key out (OMIT) or writes "". Trees keep the convention of the file they came from.
OMIT = "omit"


@dataclass
class Annotation:
    """A finished search with what its answer file needs besides the tree."""

    query: str
    tree: Tree
    functions: list[dict[str, Any]]  # the function schemas offered, Finish included
    search: SearchConfig = field(default_factory=SearchConfig)
    query_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # other top-level keys of an imported file

    @property
    def layout(self) -> str:
        return F.DFS if self.search.strategy == "dfsdt" else F.COT


# -- export ---------------------------------------------------------------------------------------------

def step_subnodes(node: Node, depth: int, *, expand_num: int) -> list[dict[str, Any]]:
    """ToolBench's nodes for one step, in chain order, without ``children`` (the caller links them).
    ``depth`` is the ToolBench depth of the step's parent node."""
    out: list[dict[str, Any]] = []
    if node.content or not node.calls:
        out.append(F.node(THOUGHT, node.content or "", depth + 1))
    for call in node.calls:
        out.append(F.node(ACTION, call.name, depth + len(out) + 1))
        action_input = F.node(ACTION_INPUT, call.arguments, depth + len(out) + 1)
        action_input["observation"] = call.observation
        action_input["observation_code"] = call.code
        out.append(action_input)
    last = out[-1]
    last["pruned"] = node.pruned
    last["is_terminal"] = node.terminal
    for sub in out:
        sub["child_count"] = 0
        sub["expand_num"] = 0
        if sub["node_type"] == ACTION_INPUT:
            sub["io_state"] = {}
    last["expand_num"] = expand_num
    overrides = node.extra.get(_EXTRA_KEY) if node.extra else None
    if overrides and len(overrides) == len(out):
        for sub, extra in zip(out, overrides):
            sub.update(extra)
    return out


def _root_subnode(tree: Tree) -> dict[str, Any]:
    root = F.node(ACTION_INPUT, "", 0)
    root.update({"child_count": 0, "expand_num": 0, "io_state": {}})
    root.update((tree.root.extra or {}).get(_EXTRA_KEY, [{}])[0])
    return root


def _link(chain: list[dict[str, Any]]) -> None:
    for parent, child in zip(chain, chain[1:]):
        parent.setdefault("children", []).append(child)
        parent["child_count"] = len(parent["children"])
    chain[-1].setdefault("children", [])


def toolbench_tree(tree: Tree) -> dict[str, Any]:
    """The ``tree`` entry of a DFS answer file: ``size``, ``max_length`` and the nested nodes."""
    root = _root_subnode(tree)
    root["children"] = []
    size = 1
    max_depth = 0

    def add(node_id: int, parent_sub: dict[str, Any]) -> None:
        nonlocal size, max_depth
        node = tree.node(node_id)
        subs = step_subnodes(node, parent_sub["depth"], expand_num=node.id)
        _link(subs)
        parent_sub["children"].append(subs[0])
        parent_sub["child_count"] = len(parent_sub["children"])
        size += len(subs)
        max_depth = max(max_depth, subs[-1]["depth"])
        for child in node.children:
            add(child, subs[-1])

    for child in tree.root.children:
        add(child, root)
    return {"size": size, "max_length": max_depth + 1, "tree": root}


def _legacy_assistant(content: str | None, call: Call | None, empty: str | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        msg["content"] = content
    elif empty != OMIT:
        msg["content"] = empty
    if call is not None:
        msg["function_call"] = {"name": call.name, "arguments": call.arguments}
    return msg


def train_messages(tree: Tree, node_id: int) -> list[list[dict[str, Any]]]:
    """For each step on the path to ``node_id``: the conversation up to and including that step's reply, in
    ToolBench's legacy form (``function_call``, ``function`` results, the latest diversity prompt on the path
    marked ``valid: false``)."""
    messages: list[dict[str, Any]] = [dict(m) for m in tree.messages]
    empty = (tree.extra or {}).get(_EXTRA_KEY, {}).get("empty_content")
    out = []
    for nid in T.path(tree, node_id):
        node = tree.node(nid)
        if node.prompt is not None:
            # Only the latest diversity prompt stays on a path (as ToolBench's files show).
            messages = [m for m in messages if m.get("valid") is not False]
            messages.append({"role": "user", "content": node.prompt, "valid": False})
        calls = list(node.calls) or [None]
        for index, call in enumerate(calls):
            messages.append(_legacy_assistant(node.content if index == 0 else None, call, empty))
            if index < len(calls) - 1 and call is not None:
                messages.append({"role": "function", "name": call.name, "content": call.observation})
        out.append(copy.deepcopy(messages))
        if node.calls:
            last = node.calls[-1]
            messages.append({"role": "function", "name": last.name, "content": last.observation})
    return out


def _finish_arguments(node: Node) -> str:
    for call in node.calls:
        if call.name == FINISH and call.code in (T.CODE_ANSWER, T.CODE_GIVE_UP):
            return call.arguments
    return ""


def answer_generation(annotation: Annotation) -> AnswerGeneration:
    tree = annotation.tree
    out = AnswerGeneration(query_count=tree.llm_calls, total_tokens=tree.total_tokens, final_answer="",
                           finish_type=GIVE_ANSWER, functions=annotation.functions, query=annotation.query)
    if tree.chosen is not None:
        chosen = tree.node(tree.chosen)
        out.valid_data, out.final_answer, out.finish_type = True, _finish_arguments(chosen), chosen.finish
        recorded = annotation.extra.get("_train_messages")
        out.train_messages = recorded if recorded is not None else train_messages(tree, tree.chosen)
    if annotation.layout == F.COT:
        out.finish_type = None  # CoT files do not record it
        if tree.chosen is None or tree.node(tree.chosen).finish != GIVE_ANSWER:
            out.valid_data = bool(annotation.extra.get("_cot_valid", False))
            if out.train_messages is None:
                out.train_messages = []
    return out


def _chain(tree: Tree, first: int) -> list[dict[str, Any]]:
    """One ReACT attempt as a flat CoT chain (first-child path from a root child)."""
    out: list[dict[str, Any]] = []
    current: int | None = first
    depth = 0
    while current is not None:
        node = tree.node(current)
        subs = step_subnodes(node, depth, expand_num=0)
        out += subs
        depth = subs[-1]["depth"]
        current = node.children[0] if node.children else None
    for i, sub in enumerate(out):
        sub["child_count"] = 1 if i < len(out) - 1 else 0
    return out


def answer_file(annotation: Annotation) -> AnswerFile:
    """The answer file of a finished search (DFS layout for DFSDT, CoT layout for ReACT and ReACT@N)."""
    tree = annotation.tree
    extra = {k: v for k, v in annotation.extra.items() if not k.startswith("_")}
    out = AnswerFile(answer_generation(annotation), annotation.layout, annotation.search.forward_args(), extra=extra)
    if annotation.layout == F.DFS:
        out.tree = toolbench_tree(tree)
    else:
        out.trys = [{"chain": _chain(tree, c), "win": False} for c in tree.root.children]
        for attempt, saved in zip(out.trys, annotation.extra.get("_try_wins", [])):
            attempt["win"] = saved
        if extra.get("compare_candidates") is None:
            extra["compare_candidates"] = [t["chain"] for t, c in zip(out.trys, tree.root.children)
                                           if _chain_answers(tree, c)]
    return out


def to_answer(annotation: Annotation) -> dict[str, Any]:
    """The content of :func:`answer_file`."""
    return answer_file(annotation).to_dict()


def _chain_answers(tree: Tree, first: int) -> bool:
    current: int | None = first
    while current is not None:
        node = tree.node(current)
        if node.finish == GIVE_ANSWER:
            return True
        current = node.children[0] if node.children else None
    return False


def write_answer(annotation: Annotation, path: Path | str, indent: int | None = 2) -> Path:
    return F.write_answer_file(path, answer_file(annotation), indent=indent)


def answer_filename(query_id: str, search: SearchConfig) -> str:
    """ToolBench's file names: ``<id>_DFS_woFilter_w2.json``, ``<id>_CoT@1.json``."""
    if search.strategy == "dfsdt":
        return f"{query_id}_DFS_woFilter_w{search.width}.json"
    return f"{query_id}_CoT@{search.restarts if search.strategy == 'react@n' else 1}.json"


# -- import ---------------------------------------------------------------------------------------------

def _require(data: Any, key: str, where: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise AnswerFormatError(where, f"missing field '{key}'")
    return data[key]


def _extras(sub: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in sub.items() if k not in _MODELED}


class _Builder:
    """Rebuilds our tree from ToolBench nodes, depth first, as the search created them."""

    def __init__(self, messages: list[dict[str, Any]], policy: T.Policy, splits: set[int] | None = None) -> None:
        self.tree = T.start(messages)
        self.policy = policy
        self.splits = splits or set()  # id()s of Thought nodes that were replies of their own
        self.ends: dict[int, int] = {}  # id() of a step's last ToolBench node -> our node id

    def read_step(self, sub: dict[str, Any], where: str) -> tuple[str | None, list[Call], list[dict], dict]:
        """(content, calls, sub-nodes, last sub-node) of the step starting at ``sub``."""
        content: str | None = None
        calls: list[Call] = []
        subs = [sub]
        current = sub
        if current.get("node_type") == THOUGHT:
            content = current.get("description", "")
            kids = current.get("children", [])
            if len(kids) == 1 and kids[0].get("node_type") == ACTION and id(current) not in self.splits:
                current = kids[0]
                subs.append(current)
            else:
                return content, calls, subs, current
        if current.get("node_type") != ACTION:
            raise AnswerFormatError(where, f"expected a Thought or an Action node, got {current.get('node_type')!r}")
        kids = current.get("children", [])
        if len(kids) != 1 or kids[0].get("node_type") != ACTION_INPUT:
            raise AnswerFormatError(where, "an Action node must have one Action Input child")
        action_input = kids[0]
        subs.append(action_input)
        name, arguments = current.get("description", ""), action_input.get("description", "")
        calls.append(Call(id=make_call_id(0, name, arguments), name=name, arguments=arguments,
                          observation=action_input.get("observation", ""),
                          code=action_input.get("observation_code")))
        return content, calls, subs, action_input

    def add(self, parent: int, sub: dict[str, Any], where: str) -> None:
        content, calls, subs, last = self.read_step(sub, where)
        up = self.tree.node(parent)
        prompt = T.diversity_prompt(self.tree, parent) if up.children and self.policy.diversity else None
        tree = T.expand(self.tree, parent, content, calls, prompt=prompt)
        node = tree.node(tree.cursor)
        finish = final = None
        for call in calls:
            if call.name == FINISH and call.code in (T.CODE_ANSWER, T.CODE_GIVE_UP):
                _, _, finish, final = T.finish_observation(call.arguments)
        node = replace(node, pruned=bool(last.get("pruned")), terminal=finish == GIVE_ANSWER, finish=finish,
                       final_answer=final, closed=True, extra={_EXTRA_KEY: [_extras(s) for s in subs]})
        api = sum(1 for c in calls if c.name != FINISH and c.code != T.CODE_NO_SUCH_FUNCTION)
        self.tree = T.with_nodes(tree, node, api_calls=tree.api_calls + api)
        self.ends[id(last)] = node.id
        for i, child in enumerate(last.get("children", [])):
            self.add(node.id, child, f"{where}.children[{i}]")


def _replies(generation: AnswerGeneration) -> list[tuple[Any, ...]]:
    """The chosen path's replies as the file records them: (content, function name, arguments)."""
    out = []
    for msg in generation.chosen_path or []:
        if msg.get("role") == "assistant":
            call = msg.get("function_call") or {}
            out.append((msg.get("content", OMIT), call.get("name"), call.get("arguments")))
    return out


def _find_path(root: dict[str, Any], replies: list[tuple[Any, ...]], empty: str | None
               ) -> tuple[set[int], int | None]:
    """Find the recorded path: the ToolBench nodes whose replies match ``train_messages``. Returns the id()s of the
    Thought nodes on it that were replies without a call (a Thought followed by an Action is one reply or two, and
    only ``train_messages`` tell) and the id() of the path's last node (None when no path matches)."""

    def match(sub: dict[str, Any], i: int) -> tuple[set[int], int] | None:
        if i >= len(replies):
            return None
        kind, desc = sub.get("node_type"), sub.get("description", "")
        options: list[tuple[tuple[Any, ...], dict[str, Any], set[int]]] = []
        if kind == THOUGHT:
            options.append(((desc, None, None), sub, {id(sub)}))
            kids = sub.get("children", [])
            if len(kids) == 1 and kids[0].get("node_type") == ACTION and kids[0].get("children"):
                action_input = kids[0]["children"][0]
                options.append(((desc, kids[0].get("description"), action_input.get("description")), action_input,
                                set()))
        elif kind == ACTION and sub.get("children"):
            action_input = sub["children"][0]
            options.append(((empty, desc, action_input.get("description")), action_input, set()))
        for reply, end, split in options:
            if reply != replies[i]:
                continue
            if i == len(replies) - 1:
                return split, id(end)
            for child in end.get("children", []):
                found = match(child, i + 1)
                if found is not None:
                    return split | found[0], found[1]
        return None

    for child in root.get("children", []):
        found = match(child, 0)
        if found is not None:
            return found
    return set(), None


def _opening(generation: AnswerGeneration) -> list[dict[str, Any]]:
    for messages in generation.train_messages or []:
        if len(messages) >= 2:
            return [dict(messages[0]), dict(messages[1])]
    query = _query(generation)
    return [{"role": "system", "content": ""}, {"role": "user", "content": f"\n{query}\nBegin!\n"}]


def _query(generation: AnswerGeneration) -> Any:
    return generation.query if generation.query is not None else ""


def from_answer(data: Mapping[str, Any], query_id: str = "", where: str = "answer") -> Annotation:
    """Rebuild an :class:`Annotation` from a ToolBench/StableToolBench answer file's content (DFS or CoT)."""
    return from_answer_file(F.parse_answer(data, where), query_id, where)


def from_answer_file(answer: AnswerFile, query_id: str = "", where: str = "answer") -> Annotation:
    """Rebuild an :class:`Annotation` from an answer file (DFS or CoT)."""
    generation = answer.generation
    if answer.forward_args is None:
        raise AnswerFormatError(where, "missing field 'forward_args'")
    search = SearchConfig.from_forward_args(answer.forward_args)
    replies = _replies(generation)
    empty = next((r[0] for r in replies if r[1] is not None and r[0] in (OMIT, "")), None)
    if search.strategy == "dfsdt":
        if answer.tree is None:
            raise AnswerFormatError(where, "missing field 'tree'")
        root = _require(answer.tree, "tree", f"{where}.tree")
    else:
        if answer.trys is None:
            raise AnswerFormatError(where, "missing field 'trys'")
        root = {"children": [n for n in (F.nest(_require(a, "chain", f"{where}.trys[{t}]"))
                                         for t, a in enumerate(answer.trys)) if n is not None]}
    splits, path_end = _find_path(root, replies, empty)
    builder = _Builder(_opening(generation), search.policy(), splits)
    if empty is not None:
        builder.tree = replace(builder.tree, extra={_EXTRA_KEY: {"empty_content": empty}})
    extra = copy.deepcopy(answer.extra)
    if search.strategy == "dfsdt":
        builder.tree = T.with_nodes(builder.tree, replace(builder.tree.root, extra={_EXTRA_KEY: [_extras(root)]}))
        for i, child in enumerate(root.get("children", [])):
            builder.add(0, child, f"{where}.tree.tree.children[{i}]")
    else:
        for t, nested in enumerate(root["children"]):
            builder.add(0, nested, f"{where}.trys[{t}].chain")
        extra["_try_wins"] = [a.get("win", False) for a in answer.trys]
        extra["_cot_valid"] = generation.valid_data
    tree = replace(builder.tree, llm_calls=int(generation.query_count), prompt_tokens=int(generation.total_tokens),
                   completion_tokens=0)
    tree = _choose(tree, generation, builder.ends.get(path_end) if path_end is not None else None)
    if tree.chosen is not None and train_messages(tree, tree.chosen) != generation.train_messages:
        extra["_train_messages"] = copy.deepcopy(generation.train_messages)  # kept as recorded
    return Annotation(query=_query(generation), tree=tree,
                      functions=copy.deepcopy(generation.functions if generation.functions is not None else []),
                      search=search, query_id=query_id, extra=extra)


def _choose(tree: Tree, generation: AnswerGeneration, matched: int | None) -> Tree:
    """Conclude an imported tree, choosing the node whose path the file's ``train_messages`` record (``matched``,
    when the replies were found in the tree)."""
    answers = [n.id for n in tree.nodes.values() if n.finish == GIVE_ANSWER]
    status = T.SOLVED if answers else T.EXHAUSTED
    if not generation.valid_data or generation.train_messages is None:
        return replace(tree, status=status, chosen=None, cursor=max(tree.nodes))
    wanted = generation.finish_type if generation.finish_type is not None else GIVE_ANSWER if answers else GIVE_UP
    candidates = [n.id for n in tree.nodes.values() if n.finish == wanted] or answers
    chosen = matched if matched in candidates else None
    if chosen is None:
        final = generation.final_answer
        chosen = next((c for c in candidates if _finish_arguments(tree.node(c)) == final),
                      candidates[0] if candidates else None)
    return replace(tree, status=status, chosen=chosen, cursor=max(tree.nodes))


def read_answer(path: Path | str) -> Annotation:
    """Import one answer file; the query id is taken from its name (``10_DFS_woFilter_w2.json`` -> ``10``)."""
    return from_answer_file(F.read_answer_file(path), query_id=F.query_id_of(path), where=str(path))


# -- training conversations -----------------------------------------------------------------------------

def chat_example(annotation: Annotation, include_give_up: bool = False) -> dict[str, Any] | None:
    """The chosen path as an OpenAI fine-tuning example (``messages`` with ``tool_calls``/``tool`` turns,
    ``tools``), diversity prompts left out; None when the path did not answer (unless ``include_give_up``)."""
    tree = annotation.tree
    if tree.chosen is None or (tree.finish_type != GIVE_ANSWER and not include_give_up):
        return None
    messages = [dict(m) for m in tree.messages]
    for nid in T.path(tree, tree.chosen):
        messages += T.step_messages(tree.node(nid))
    if messages and messages[-1]["role"] == "tool" and tree.finish_type == GIVE_ANSWER:
        messages.pop()  # Finish's own result is not part of the conversation
    return {"messages": messages, "tools": [{"type": "function", "function": f} for f in annotation.functions]}


def chat_examples(annotations: Iterable[Annotation]) -> list[dict[str, Any]]:
    return [ex for ex in (chat_example(a) for a in annotations) if ex is not None]
