"""The function-call sample record: the request turns, the functions offered, the expected calls, the verdicts.

A :class:`CallSample` is made of :class:`Step` s. A step opens with a user message (``user``; None when it goes on
right after a tool result) and expects zero or more calls (:class:`ExpectedCall`), or, when none fits, a text
reply (``reply``: a refusal, a clarifying question). ``observations`` holds the tool results of the step's calls
once known (executed against the hub, or synthesised from the response schema when no hub was at hand, as
``meta["observations"]`` says). An expected call's ``from_previous`` names the arguments whose value comes from
the previous step's tool result (argument -> key in that result).

Function names and argument names are those offered to the model (``<api>_for_<tool>``, ``is_id``...);
``function_map`` keeps the exact way back to (tool, api), never re-derived by guesswork.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance", "hallucination", "multi_turn")
NO_CALL_CATEGORIES = ("irrelevance", "hallucination")
STAGES = ("format", "execution", "meaning")


@dataclass
class ExpectedCall:
    name: str
    arguments: dict[str, Any]
    tool: str
    api: str
    from_previous: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "arguments": self.arguments, "tool": self.tool, "api": self.api}
        if self.from_previous:
            out["from_previous"] = self.from_previous
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExpectedCall:
        return cls(data["name"], data.get("arguments"), data.get("tool", ""), data.get("api", ""),
                   dict(data.get("from_previous", {})))


@dataclass
class Step:
    user: str | None
    calls: list[ExpectedCall] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    reply: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user": self.user, "calls": [c.to_dict() for c in self.calls]}
        if self.observations:
            out["observations"] = self.observations
        if self.reply is not None:
            out["reply"] = self.reply
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(data.get("user"), [ExpectedCall.from_dict(c) for c in data.get("calls", [])],
                   list(data.get("observations", [])), data.get("reply"))


@dataclass
class Verdict:
    """One verification stage's outcome: ``stage`` (format/execution/meaning), ``passed``, ``reason``."""

    stage: str
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "passed": self.passed, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(data["stage"], bool(data["passed"]), data.get("reason", ""))


@dataclass
class CallSample:
    id: str
    category: str
    language: str
    functions: list[dict[str, Any]]
    function_map: dict[str, list[str]]
    steps: list[Step]
    meta: dict[str, Any] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def calls(self) -> list[ExpectedCall]:
        return [c for s in self.steps for c in s.calls]

    @property
    def status(self) -> str:
        """``unverified``, ``passed``, or ``rejected:<stage>`` (the first stage that failed)."""
        if not self.verdicts:
            return "unverified"
        for verdict in self.verdicts:
            if not verdict.passed:
                return f"rejected:{verdict.stage}"
        return "passed"

    @property
    def rejected(self) -> bool:
        return self.status.startswith("rejected")

    @property
    def first_user(self) -> str:
        return next((s.user for s in self.steps if s.user), "")

    def api_key(self, name: str) -> tuple[str, str] | None:
        pair = self.function_map.get(name)
        return (pair[0], pair[1]) if pair else None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category": self.category, "language": self.language, "functions": self.functions,
                "function_map": self.function_map, "steps": [s.to_dict() for s in self.steps], "meta": self.meta,
                "verdicts": [v.to_dict() for v in self.verdicts], "status": self.status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallSample:
        return cls(data["id"], data["category"], data.get("language", "en"), data["functions"],
                   {k: list(v) for k, v in data.get("function_map", {}).items()},
                   [Step.from_dict(s) for s in data["steps"]], dict(data.get("meta", {})),
                   [Verdict.from_dict(v) for v in data.get("verdicts", [])])

    def copy(self) -> CallSample:
        return copy.deepcopy(self)

    # -- as a chat transcript -------------------------------------------------------------------------------

    def messages(self, *, final_reply: bool = True) -> list[dict[str, Any]]:
        """The sample as OpenAI chat messages: user turns, assistant tool calls, tool results (when known),
        and the text reply of a no-call step. Call ids are ``call_<step>_<n>``."""
        out: list[dict[str, Any]] = []
        for s_index, step in enumerate(self.steps):
            if step.user is not None:
                out.append({"role": "user", "content": step.user})
            if step.calls:
                ids = [f"call_{s_index}_{c_index}" for c_index in range(len(step.calls))]
                out.append({"role": "assistant", "content": None, "tool_calls": [
                    {"id": call_id, "type": "function",
                     "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                    for call_id, c in zip(ids, step.calls)]})
                for call_id, obs in zip(ids, step.observations):
                    out.append({"role": "tool", "tool_call_id": call_id, "content": obs})
            elif step.reply is not None and final_reply:
                out.append({"role": "assistant", "content": step.reply})
        return out
