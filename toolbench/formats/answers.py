"""ToolBench's answer files (the DFSDT / ReACT answer trees): the typed record, its one reader and its one writer.

Two layouts exist (facts from ToolBench's and StableToolBench's files):

- DFS (``<id>_DFS_woFilter_w2.json``): ``tree`` holds the whole search tree (``{"size", "max_length", "tree":
  root}``), ``forward_args`` has ``tree_beam_size``;
- CoT (``<id>_CoT@N.json``, ReACT / ReACT@N): ``trys`` holds one ``{"chain": [node...], "win"}`` per attempt and
  ``forward_args`` has ``pass_at``.

A node is an object ``{"node_type": "Thought" | "Action" | "Action Input", "description", "depth", "pruned",
"observation", "observation_code", "children", ...}``: a reply is a ``Thought`` (its text, when there is one),
then an ``Action`` (the function name) and an ``Action Input`` (the argument text, the observation and its
code) per call. Nodes stay JSON objects here (each stage reads them its own way; attributes nobody models,
``Elo``, ``finished``..., must survive a round trip).

``answer_generation`` (:class:`AnswerGeneration`) holds the chosen path: ``final_answer`` (the Finish arguments),
``finish_type`` (DFS only), the ``function`` schemas offered and ``train_messages``: for each step of the path,
the conversation up to that step's reply, in the legacy ``function_call`` / ``function`` form.

- :func:`parse_answer` reads a file's content into an :class:`AnswerFile` (never failing on the types of the
  fields: the stages check what they use); :func:`read_answer_file` reads a file.
- :meth:`AnswerFile.to_dict` / :func:`write_answer_file` write one (atomically), keys in ToolBench's order.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError

THOUGHT, ACTION, ACTION_INPUT = "Thought", "Action", "Action Input"
DFS, COT = "dfs", "cot"  # the layouts

_GENERATION_KEYS = ("valid_data", "query_count", "total_tokens", "final_answer", "finish_type", "function", "chain",
                    "train_messages", "query")
_LAYOUT_KEYS = ("tree", "trys", "try_count", "forward_args", "answer_generation")


class AnswerFormatError(ToolbenchError, ValueError):
    """An answer file does not have ToolBench's structure; ``where`` names the file and the field."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


@dataclass
class AnswerGeneration:
    """``answer_generation``. Values are as the file has them (a stage checks the types of what it uses);
    ``None`` for ``finish_type``, ``function``, ``train_messages`` and ``query`` means the file has none."""

    valid_data: bool = False  # the run reached an answer worth training on
    query_count: Any = 0  # model calls
    total_tokens: Any = 0
    final_answer: Any = ""  # the Finish arguments of the chosen path
    finish_type: Any = None  # give_answer | give_up (CoT files do not record it)
    functions: Any = None  # "function": the schemas offered, Finish included
    chain: Any = field(default_factory=list)
    train_messages: Any = None  # per step of the chosen path, the conversation up to its reply
    query: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # any other key, kept as read

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnswerGeneration:
        return cls(valid_data=bool(data.get("valid_data")), query_count=data.get("query_count", 0),
                   total_tokens=data.get("total_tokens", 0), final_answer=data.get("final_answer", ""),
                   finish_type=data.get("finish_type"), functions=data.get("function"),
                   chain=data.get("chain", []), train_messages=data.get("train_messages"), query=data.get("query"),
                   extra={k: v for k, v in data.items() if k not in _GENERATION_KEYS})

    @property
    def chosen_path(self) -> Any:
        """The conversation of the whole chosen path (the last entry of ``train_messages``), or None."""
        return self.train_messages[-1] if isinstance(self.train_messages, list) and self.train_messages else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"valid_data": self.valid_data, "query_count": self.query_count,
                               "total_tokens": self.total_tokens, "final_answer": self.final_answer}
        if self.finish_type is not None:
            out["finish_type"] = self.finish_type
        if self.functions is not None:
            out["function"] = self.functions
        out["chain"] = self.chain
        # An empty train_messages (a CoT run without an answer) follows the query, as ToolBench writes it.
        if self.train_messages is not None and self.train_messages != []:
            out["train_messages"] = self.train_messages
        if self.query is not None:
            out["query"] = self.query
        if self.train_messages == []:
            out["train_messages"] = []
        out.update(self.extra)
        return out


@dataclass
class AnswerFile:
    """One answer file. ``layout`` is :data:`DFS` (the file has ``tree``), :data:`COT` (``trys``) or ``""``."""

    generation: AnswerGeneration
    layout: str = DFS
    forward_args: Any = None  # the search settings (tree_beam_size / pass_at, single_chain_max_step...)
    tree: Any = None  # DFS: {"size", "max_length", "tree": the root node}
    trys: Any = None  # CoT: [{"chain": [node...], "win"}]
    extra: dict[str, Any] = field(default_factory=dict)  # the other top-level keys (win, compare_candidates...)

    @property
    def root(self) -> Mapping[str, Any] | None:
        """The root node of a DFS tree (None when the file has no such object)."""
        if isinstance(self.tree, Mapping) and isinstance(self.tree.get("tree"), Mapping):
            return self.tree["tree"]
        return None

    def to_dict(self) -> dict[str, Any]:
        """The file's content, keys in ToolBench's order."""
        extra = dict(self.extra)
        out: dict[str, Any] = {}
        if self.layout == DFS:
            out = {"win": extra.pop("win", False), "tree": self.tree, "forward_args": self.forward_args,
                   "compare_candidates": extra.pop("compare_candidates", [])}
        elif self.layout == COT:
            trys = self.trys or []
            out = {"win": extra.pop("win", False), "try_count": len(trys), "trys": trys,
                   "compare_candidates": extra.pop("compare_candidates", []), "forward_args": self.forward_args}
        out.update(extra)
        out["answer_generation"] = self.generation.to_dict()
        return out


def parse_answer(data: Any, where: str = "answer") -> AnswerFile:
    """An :class:`AnswerFile` from a file's content; only a missing ``answer_generation`` object is an error
    (:class:`AnswerFormatError`). The values are shared with ``data``, not copied."""
    if not isinstance(data, Mapping) or not isinstance(data.get("answer_generation"), Mapping):
        raise AnswerFormatError(where, "missing field 'answer_generation'")
    layout = DFS if "tree" in data else COT if "trys" in data else ""
    return AnswerFile(generation=AnswerGeneration.from_dict(data["answer_generation"]), layout=layout,
                      forward_args=data.get("forward_args"), tree=data.get("tree"), trys=data.get("trys"),
                      extra={k: v for k, v in data.items() if k not in _LAYOUT_KEYS})


def query_id_of(path: str | Path) -> str:
    """The query id in an answer file's name: ``10_DFS_woFilter_w2.json`` -> ``10``."""
    return Path(path).name.split("_", 1)[0]


def read_answer_file(path: str | Path) -> AnswerFile:
    """Read one answer file (JSON problems: :class:`~toolbench.formats.jsonl.DataFileError`)."""
    from toolbench.formats.jsonl import read_json

    return parse_answer(read_json(path), where=str(path))


def write_answer_file(path: str | Path, answer: AnswerFile, indent: int | None = 2) -> Path:
    """Write an answer file atomically (JSON, UTF-8; indented unless ``indent=None``, which annotation campaigns
    use: same document, a fraction of the CPU); returns the path."""
    from toolbench.formats.atomic import write_json_atomic

    return write_json_atomic(path, answer.to_dict(), indent=indent)


# -- nodes ----------------------------------------------------------------------------------------------------


def node(node_type: str, description: str, depth: int) -> dict[str, Any]:
    """A new node with ToolBench's default attributes (not terminal, not pruned, ``Elo`` 1000)."""
    return {"is_terminal": False, "pruned": False, "finished": False, "depth": depth, "node_type": node_type,
            "description": description, "Elo": 1000.0}


def nest(chain: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A flat CoT chain as nested nodes (copies, each the only child of the one before); None for no nodes."""
    if not chain:
        return None
    nodes = [dict(sub) for sub in chain]
    for parent, child in itertools.pairwise(nodes):
        parent["children"] = [child]
    nodes[-1]["children"] = []
    return nodes[0]


def children(node: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    """A node's children (none when missing or empty); anything but a list of objects is an AnswerFormatError."""
    value = node.get("children") or None
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise AnswerFormatError(f"{where}: children", "must be a list of objects")
    return value


def preorder(root: Mapping[str, Any], where: str = "tree") -> list[Mapping[str, Any]]:
    """The nodes below ``root`` in depth-first order, as the search created them (``root`` itself left out)."""
    out: list[Mapping[str, Any]] = []
    stack = list(reversed(children(root, where)))
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(children(current, where)))
    return out

