"""The direct async path of the OpenAI client (an async httpx2 client given): wire, retries, errors."""

import asyncio
import json

import httpx2
import pytest

from toolbench.llm.base import LLMRequestError
from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel


def completion(content):
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "served",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}


def model(handler, **config):
    cfg = OpenAIChatConfig(model="m", base_url="http://llm.test/v1", api_key="sk-x", **config)
    return OpenAIChatModel(cfg, async_http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))


def test_the_direct_path_posts_the_built_body_with_the_sdk_headers_and_retries_overload(monkeypatch):
    seen = []

    def handler(request):
        seen.append((str(request.url), request.headers.get("authorization"), json.loads(request.content)))
        if len(seen) == 1:
            return httpx2.Response(503, json={"error": {"message": "busy"}}, headers={"retry-after": "0"})
        return httpx2.Response(200, json=completion("hi"))

    reply = asyncio.run(model(handler, max_retries=2).achat([{"role": "user", "content": "x"}], temperature=0))
    assert reply.content == "hi" and reply.usage.total_tokens == 8
    assert [s[0] for s in seen] == ["http://llm.test/v1/chat/completions"] * 2
    assert seen[1][1] == "Bearer sk-x"
    assert seen[1][2] == {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0}


def test_the_direct_path_raises_the_clients_errors_without_retrying_a_client_error():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx2.Response(404, json={"error": {"message": "no model m", "code": "model_not_found"}})

    with pytest.raises(LLMRequestError, match="answered 404: no model m.*is model 'm' served") as info:
        asyncio.run(model(handler, max_retries=3).achat([{"role": "user", "content": "x"}]))
    assert (info.value.status, info.value.code, len(calls)) == (404, "model_not_found", 1)

    def refuse(request):
        raise httpx2.ConnectError("connection refused")

    with pytest.raises(LLMRequestError, match="cannot reach http://llm.test/v1"):
        asyncio.run(model(refuse, max_retries=0).achat([{"role": "user", "content": "x"}]))
