import asyncio

import pytest

from toolbench.llm.base import ChatModel, ChatReply, LLMError
from toolbench.llm.scripted import ScriptedChatModel, ScriptExhaustedError


def test_replies_in_order_and_requests_recorded():
    model = ScriptedChatModel([ScriptedChatModel.call("get_weather", {"city": "Paris"}), "Sunny."])
    assert isinstance(model, ChatModel)
    messages = [{"role": "user", "content": "Weather?"}]
    first = model.chat(messages, [{"name": "get_weather"}], temperature=0)
    assert first.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in first.tool_calls] == [("get_weather", {"city": "Paris"})]
    messages.append(first.to_message())
    second = asyncio.run(model.achat(messages))
    assert second == ChatReply("Sunny.", model="scripted")
    assert model.requests[0] == {"messages": [{"role": "user", "content": "Weather?"}],
                                 "tools": [{"name": "get_weather"}], "params": {"temperature": 0}}
    assert model.requests[1]["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
    with pytest.raises(ScriptExhaustedError, match="no reply left for request #3"):
        model.chat(messages)


def test_callables_exceptions_and_repeat():
    model = ScriptedChatModel([lambda messages, tools, params: f"echo {messages[-1]['content']}",
                               LLMError("boom"), "again"], repeat_last=True)
    assert model.chat([{"role": "user", "content": "hi"}]).content == "echo hi"
    with pytest.raises(LLMError, match="boom"):
        model.chat([{"role": "user", "content": "x"}])
    assert [model.chat([{"role": "user", "content": "x"}]).content for _ in range(3)] == ["again"] * 3
