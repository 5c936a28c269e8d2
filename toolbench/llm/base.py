"""The chat-model interface every stage uses, and the reply it returns.

A stage is handed a :class:`ChatModel` (never a global one): the OpenAI-compatible client
(:mod:`toolbench.llm.openai_client`), the scripted fake for tests (:mod:`toolbench.llm.scripted`), or a wrapper
around either (:mod:`toolbench.llm.cache`, :mod:`toolbench.llm.usage`).

Messages are OpenAI chat messages (plain dicts): ``{"role": "system"|"user"|"assistant"|"tool", ...}``; an
assistant message that called tools carries ``tool_calls`` in OpenAI's wire form and a tool result carries
``tool_call_id``. :meth:`ChatReply.to_message` gives the assistant message to append to a transcript.
Tools are OpenAI ``tools`` entries (``{"type": "function", "function": {...}}``) or bare function schemas
(``{"name", "description", "parameters"}``, as :class:`toolbench.catalog.functions.FunctionSet` gives them).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from toolbench.errors import ToolbenchError

Message = dict[str, Any]
Tool = dict[str, Any]


class LLMError(ToolbenchError):
    """A chat request failed (bad configuration, a refused request, an unreachable endpoint)."""


class LLMRequestError(LLMError):
    """The endpoint answered with an error; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class ToolCall:
    """One function call the model asked for.

    ``arguments`` is the decoded JSON object; ``raw_arguments`` the exact string the model produced. When that
    string is not a JSON object, ``arguments`` is ``{}`` and ``parse_error`` says why, so that the caller can
    show the model an error observation instead of crashing.
    """

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str
    parse_error: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's wire form, as it appears in an assistant message's ``tool_calls``."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.raw_arguments}}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        return cls(**data)


@dataclass
class Usage:
    """Token counts of one request (all choices together, as OpenAI reports them)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)

    def to_dict(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


@dataclass
class ChatReply:
    """A model's answer to one request.

    ``content`` is the text (``None`` when the model only called tools); ``finish_reason`` is OpenAI's
    (``stop``, ``length``, ``tool_calls``, ``content_filter``). With ``n > 1`` this is the first choice and
    ``alternatives`` holds the others (their ``usage`` is zero: the request's usage is counted here once).
    ``cached`` is true when the reply came from the record/replay cache rather than from a model.
    """

    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    model: str = ""
    alternatives: list[ChatReply] = field(default_factory=list)
    cached: bool = field(default=False, compare=False)

    def to_message(self) -> Message:
        """The assistant message to append to the transcript (OpenAI form)."""
        msg: Message = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        return msg

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "usage": self.usage.to_dict(),
            "finish_reason": self.finish_reason,
            "model": self.model,
            "alternatives": [a.to_dict() for a in self.alternatives],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatReply:
        return cls(
            content=data.get("content"),
            tool_calls=[ToolCall.from_dict(c) for c in data.get("tool_calls", [])],
            usage=Usage(**data.get("usage", {})),
            finish_reason=data.get("finish_reason", "stop"),
            model=data.get("model", ""),
            alternatives=[cls.from_dict(a) for a in data.get("alternatives", [])],
        )


@runtime_checkable
class ChatModel(Protocol):
    """What a stage needs from a language model.

    ``params`` are OpenAI request parameters (``temperature``, ``top_p``, ``max_tokens``, ``n``, ``stop``,
    ``seed``, ``tool_choice``...). ``model`` names the model; it is part of cache keys.
    """

    model: str

    def chat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply: ...

    async def achat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply: ...


class SyncChatModel:
    """Mixin for models written synchronously: ``achat`` runs ``chat`` in a worker thread."""

    model: str = ""

    def chat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        raise NotImplementedError

    async def achat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        return await asyncio.to_thread(self.chat, messages, tools, **params)
