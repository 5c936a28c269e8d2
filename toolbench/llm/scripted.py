"""A scripted chat model for tests: it answers from a queue and records every request.

Tests of a stage hand it the replies the stage should see, instead of mocking HTTP::

    model = ScriptedChatModel([
        ScriptedChatModel.call("get_weather", {"city": "Paris"}),
        "It is sunny in Paris.",
    ])
    ...
    assert model.requests[1]["messages"][-1]["role"] == "tool"

A queued item is a :class:`ChatReply`, a string (a text reply), an exception (raised, to test error paths), or a
function ``(messages, tools, params) -> ChatReply | str`` for replies that depend on the request.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from toolbench.llm.base import ChatReply, LLMError, Message, SyncChatModel, Tool, ToolCall, Usage
from toolbench.llm.toolcalls import decode_arguments, make_call_id

Responder = Callable[[list[Message], list[Tool] | None, dict[str, Any]], ChatReply | str]
ScriptItem = ChatReply | str | BaseException | Responder


class ScriptExhaustedError(LLMError):
    """The scripted model was asked more often than it has replies."""


class ScriptedChatModel(SyncChatModel):
    """Answers from a queue of replies (thread-safe); ``requests`` records what it was asked, in order."""

    def __init__(self, replies: Iterable[ScriptItem] = (), model: str = "scripted",
                 repeat_last: bool = False) -> None:
        self.model = model
        self.repeat_last = repeat_last
        self.requests: list[dict[str, Any]] = []
        self._queue: deque[ScriptItem] = deque(replies)
        self._last: ScriptItem | None = None
        self._lock = threading.Lock()

    def add(self, *replies: ScriptItem) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def remaining(self) -> int:
        return len(self._queue)

    @staticmethod
    def text(content: str, usage: Usage | None = None) -> ChatReply:
        return ChatReply(content=content, usage=usage or Usage())

    @staticmethod
    def call(name: str, arguments: dict[str, Any] | str, content: str | None = None,
             usage: Usage | None = None) -> ChatReply:
        """A reply calling one function."""
        return ScriptedChatModel.calls([(name, arguments)], content=content, usage=usage)

    @staticmethod
    def calls(calls: list[tuple[str, dict[str, Any] | str]], content: str | None = None,
              usage: Usage | None = None) -> ChatReply:
        """A reply calling several functions."""
        tool_calls = []
        for index, (name, arguments) in enumerate(calls):
            args, raw, error = decode_arguments(arguments)
            tool_calls.append(ToolCall(make_call_id(index, name, raw), name, args, raw, error))
        return ChatReply(content=content, tool_calls=tool_calls, usage=usage or Usage(), finish_reason="tool_calls")

    def chat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        request = {"messages": copy.deepcopy(messages), "tools": copy.deepcopy(tools), "params": copy.deepcopy(params)}
        with self._lock:
            self.requests.append(request)
            if self._queue:
                item = self._queue.popleft()
                self._last = item
            elif self.repeat_last and self._last is not None:
                item = self._last
            else:
                raise ScriptExhaustedError(
                    f"scripted model {self.model!r} has no reply left for request #{len(self.requests)}; "
                    "queue more replies")
        if isinstance(item, BaseException):
            raise item
        if callable(item) and not isinstance(item, ChatReply):
            item = item(messages, tools, params)
        reply = ChatReply(content=item) if isinstance(item, str) else copy.deepcopy(item)
        if not reply.model:
            reply.model = self.model
        return reply
