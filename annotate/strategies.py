"""The search strategies: ReACT, ReACT@N and DFSDT, as one config dataclass and the tree policy each implies.

=========== ============================================================================================
``react``   one chain: each state takes one step; the first Finish (or ``max_steps``) ends the search.
``react@n`` up to N chains from the start, each a fresh ReACT run (no memory of the others); stops at the
            first answer. ``react@3`` is accepted for ``strategy="react@n", restarts=3``.
``dfsdt``   ToolBench's depth-first search-based decision tree: up to ``width`` children per state, each
            retry shown the earlier attempts; a give-up backs up two levels, a too-long chain one.
=========== ============================================================================================

``max_steps`` counts model replies by default (``step_unit="reply"``). ToolBench's ``single_chain_max_step``
counts the nodes of its tree instead (a Thought when the reply has text, an Action and an Action Input per
call: about three per reply, so its default 12 allows four replies); ``step_unit="toolbench"`` counts that way.
Answer files record ``max_steps`` as ``single_chain_max_step`` whatever the unit, and a file read back is taken
to count ToolBench's nodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from annotate.tree import STEP_REPLY, STEP_TOOLBENCH, STEP_UNITS, VERIFY_MODES, VERIFY_NONE, Budget, Policy
from toolbench.config import doc
from toolbench.errors import ToolbenchError

STRATEGIES = ("react", "react@n", "dfsdt")


class StrategyError(ToolbenchError):
    """A search setting is invalid; the message names the field."""


@dataclass(frozen=True)
class SearchConfig:
    """How each query is searched. Every field can be set from the command line (``--width`` ...)."""

    strategy: str = field(default="dfsdt", metadata=doc("react | react@N | dfsdt."))
    width: int = field(default=2, metadata=doc("DFSDT: children tried per state (ToolBench's tree_beam_size)."))
    restarts: int = field(default=3, metadata=doc("ReACT@N: chains at most (react@N sets it too)."))
    max_steps: int = field(default=12, metadata=doc(
        "Chain length, in step units (step_unit), at which a chain is cut as failed (ToolBench's "
        "single_chain_max_step)."))
    step_unit: str = field(default=STEP_REPLY, metadata=doc(
        "What max_steps counts: reply (model replies) or toolbench (ToolBench's tree nodes: a Thought when the "
        "reply has text, an Action and an Action Input per call)."))
    max_llm_calls: int | None = field(default=200, metadata=doc(
        "Per query: model calls (ToolBench's max_query_count); None (0 on the command line): no limit."))
    max_api_calls: int | None = field(default=None, metadata=doc("Per query: API calls (unset: no limit)."))
    max_tokens: int | None = field(default=None, metadata=doc("Per query: model tokens (unset: no limit)."))
    max_observation_chars: int | None = field(default=None, metadata=doc(
        "Cut API responses shown to the model to this many characters (unset: whole)."))
    prune_repeats: bool = field(default=False, metadata=doc(
        "Do not run a step whose API calls all repeat calls already made in its chain; cut that chain instead."))
    verify: str = field(default=VERIFY_NONE, metadata=doc(
        "Which Finish(give_answer) ends the search: none (any, as ToolBench) | grounded (a non-empty answer on a "
        "chain with a successful API response; others are failed branches and the search goes on)."))

    def __post_init__(self) -> None:
        match = re.fullmatch(r"react@(\d+)", self.strategy.lower()) if isinstance(self.strategy, str) else None
        if match:
            object.__setattr__(self, "strategy", "react@n")
            object.__setattr__(self, "restarts", int(match.group(1)))
        if self.strategy not in STRATEGIES:
            raise StrategyError(f"strategy: must be one of {', '.join(STRATEGIES)} (or react@<N>); "
                                f"got {self.strategy!r}")
        if self.step_unit not in STEP_UNITS:
            raise StrategyError(f"step_unit: must be one of {', '.join(STEP_UNITS)}; got {self.step_unit!r}")
        if self.verify not in VERIFY_MODES:
            raise StrategyError(f"verify: must be one of {', '.join(VERIFY_MODES)}; got {self.verify!r}")
        for name in ("width", "restarts", "max_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise StrategyError(f"{name}: must be an integer >= 1; got {value!r}")
        for name in ("max_llm_calls", "max_api_calls", "max_tokens", "max_observation_chars"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise StrategyError(f"{name}: must be an integer >= 1 or None (no limit); got {value!r}")

    @property
    def label(self) -> str:
        """``dfsdt_w2``, ``react``, ``react@3``: for file names and logs."""
        return {"dfsdt": f"dfsdt_w{self.width}", "react": "react", "react@n": f"react@{self.restarts}"}[self.strategy]

    def policy(self) -> Policy:
        if self.strategy == "dfsdt":
            return Policy(width=self.width, max_steps=self.max_steps, diversity=True, give_up_backtrack=2,
                          step_unit=self.step_unit, prune_repeats=self.prune_repeats, verify=self.verify)
        root = self.restarts if self.strategy == "react@n" else 1
        return Policy(width=1, root_width=root, max_steps=self.max_steps, diversity=False, give_up_backtrack=1,
                      step_unit=self.step_unit, prune_repeats=self.prune_repeats, verify=self.verify)

    def budget(self) -> Budget:
        return Budget(max_llm_calls=self.max_llm_calls, max_api_calls=self.max_api_calls,
                      max_tokens=self.max_tokens)

    def forward_args(self) -> dict[str, Any]:
        """The search settings as ToolBench's answer files record them (``forward_args``)."""
        if self.strategy == "dfsdt":
            return {"single_chain_max_step": self.max_steps, "tree_beam_size": self.width,
                    "max_query_count": self.max_llm_calls, "answer": 1, "with_filter": False}
        return {"single_chain_max_step": self.max_steps,
                "pass_at": self.restarts if self.strategy == "react@n" else 1, "answer": 1}

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_forward_args(cls, args: dict[str, Any]) -> SearchConfig:
        """The settings of a ToolBench answer file (``tree_beam_size`` means DFSDT, ``pass_at`` ReACT@N); its
        ``single_chain_max_step`` counts ToolBench's nodes."""
        steps = int(args.get("single_chain_max_step", 12))
        if "tree_beam_size" in args:
            return cls(strategy="dfsdt", width=int(args["tree_beam_size"]), max_steps=steps,
                       step_unit=STEP_TOOLBENCH, max_llm_calls=args.get("max_query_count"))
        passes = int(args.get("pass_at", 1))
        return cls(strategy="react@n" if passes > 1 else "react", restarts=max(passes, 1), max_steps=steps,
                   step_unit=STEP_TOOLBENCH)
