import pytest

from toolbench.catalog.functions import FINISH_FUNCTION
from toolbench.llm.base import ChatReply, LLMError, LLMRequestError, ToolCall, Usage
from toolbench.llm.payload import (
    build_request,
    build_response,
    error_body,
    parse_response,
    response_choice,
    split_sdk_kwargs,
)
from toolbench.llm.toolcalls import make_call_id

WEATHER = {"name": "get_weather", "description": "Weather of a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_build_request_normalises_tools_and_drops_none():
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    body = build_request("m", messages, [WEATHER, {"type": "function", "function": FINISH_FUNCTION}],
                         temperature=0.2, max_tokens=None, tool_choice="get_weather", seed=3)
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [{"type": "function", "function": WEATHER}, {"type": "function", "function": FINISH_FUNCTION}],
        "seed": 3,
        "temperature": 0.2,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }
    assert body["messages"][0] is not messages[0]


def test_build_request_converts_our_tool_calls_to_wire_form():
    call = ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
    messages = [
        {"role": "user", "content": "Weather?"},
        ChatReply(None, [call]).to_message(),
        {"role": "assistant", "content": None, "tool_calls": [call.to_dict()]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    body = build_request("m", messages, tool_choice="auto")
    wire = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert body["messages"][1] == {"role": "assistant", "content": None, "tool_calls": [wire]}
    assert body["messages"][2] == body["messages"][1]
    assert body["tool_choice"] == "auto"
    assert "tools" not in body


def test_build_request_rejects_bad_input():
    with pytest.raises(LLMError, match="model is empty"):
        build_request("", [{"role": "user", "content": "x"}])
    with pytest.raises(LLMError, match="at least one message"):
        build_request("m", [])
    with pytest.raises(LLMError, match="'role'"):
        build_request("m", [{"content": "x"}])
    with pytest.raises(LLMError, match="a tool must be"):
        build_request("m", [{"role": "user", "content": "x"}], [{"parameters": {}}])


def test_split_sdk_kwargs_moves_extras_to_extra_body():
    body = build_request("m", [{"role": "user", "content": "x"}], temperature=0, min_tokens=5, top_k=3)
    assert split_sdk_kwargs(body) == {"model": "m", "messages": [{"role": "user", "content": "x"}],
                                      "temperature": 0, "extra_body": {"min_tokens": 5, "top_k": 3}}


def openai_body(message, finish="stop", **extra):
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}, **extra}


def test_parse_text_reply():
    reply = parse_response(openai_body({"role": "assistant", "content": "Hello"}))
    assert reply == ChatReply("Hello", [], Usage(11, 7), "stop", "gpt-x")


def test_parse_tool_calls_reply():
    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "Finish", "arguments": "{bad"}},
    ]}
    reply = parse_response(openai_body(message, finish="tool_calls"))
    assert reply == ChatReply(None, [
        ToolCall("call_a", "get_weather", {"city": "Paris"}, '{"city":"Paris"}'),
        ToolCall("call_b", "Finish", {}, "{bad", "arguments are not valid JSON: Expecting property name enclosed "
                 "in double quotes at position 1"),
    ], Usage(11, 7), "tool_calls", "gpt-x")
    assert reply.to_message() == {"role": "assistant", "content": None, "tool_calls": message["tool_calls"]}


def test_parse_legacy_function_call_and_text_calls():
    reply = parse_response(openai_body({"role": "assistant", "content": None,
                                        "function_call": {"name": "f", "arguments": "{}"}}))
    assert reply.tool_calls == [ToolCall(make_call_id(0, "f", "{}"), "f", {}, "{}")]
    assert reply.finish_reason == "tool_calls"
    text = {"role": "assistant", "content": '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>'}
    assert parse_response(openai_body(text)).tool_calls == []
    parsed = parse_response(openai_body(text), text_tool_calls=True)
    assert parsed.content is None and [c.arguments for c in parsed.tool_calls] == [{"a": 1}]


def test_parse_several_choices():
    body = openai_body({"role": "assistant", "content": "one"})
    body["choices"].append({"index": 1, "message": {"role": "assistant", "content": "two"}, "finish_reason": "length"})
    body["choices"].reverse()
    reply = parse_response(body)
    assert reply.content == "one" and reply.usage == Usage(11, 7)
    assert reply.alternatives == [ChatReply("two", [], Usage(), "length", "gpt-x")]


def test_parse_errors():
    with pytest.raises(LLMRequestError, match="rate limited"):
        parse_response({"error": {"message": "rate limited", "type": "x", "param": None, "code": "rate"}})
    with pytest.raises(LLMError, match="no choices"):
        parse_response({"choices": []})


def test_server_side_body_parses_back():
    call = ToolCall("call_x", "f", {"a": 1}, '{"a": 1}')
    body = build_response("chatcmpl-9", 5, "local", [response_choice(0, "hi", [call], "tool_calls")], Usage(3, 4))
    assert body == {
        "id": "chatcmpl-9", "object": "chat.completion", "created": 5, "model": "local",
        "choices": [{"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "hi",
            "tool_calls": [{"id": "call_x", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    assert parse_response(body) == ChatReply("hi", [call], Usage(3, 4), "tool_calls", "local")
    assert error_body("bad", param="n") == {"error": {"message": "bad", "type": "invalid_request_error",
                                                      "param": "n", "code": None}}
