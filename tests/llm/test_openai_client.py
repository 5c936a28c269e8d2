"""The thin network layer, against a mock transport (no network): what goes on the wire, what comes back."""

import asyncio
import json
import threading
import time

import httpx2
import pytest

from toolbench.errors import ToolbenchError
from toolbench.llm.base import ChatReply, LLMRequestError, ToolCall, Usage
from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel
from toolbench.llm.usage import UsageTracker

TOOL = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def completion(message, finish="stop"):
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "served-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}


class Recorder:
    def __init__(self, reply, status=200):
        self.reply, self.status, self.requests = reply, status, []

    def __call__(self, request):
        self.requests.append((request.url.path, dict(request.headers), json.loads(request.content)))
        return httpx2.Response(self.status, json=self.reply)


def make_model(handler, **config):
    cfg = OpenAIChatConfig(model="m", base_url="http://llm.test/v1", max_retries=0, **config)
    return OpenAIChatModel(cfg, usage=UsageTracker(),
                           http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
                           async_http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))


def test_request_on_the_wire_and_reply(monkeypatch):
    monkeypatch.setenv("TOOLBENCH_LLM_API_KEY", "sk-secret")
    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]}
    handler = Recorder(completion(message, "tool_calls"))
    model = make_model(handler, api_key_env="TOOLBENCH_LLM_API_KEY", default_params={"temperature": 0})
    reply = model.chat([{"role": "user", "content": "Weather in Oslo?"}], [TOOL], seed=1, min_tokens=2)
    assert reply == ChatReply(None, [ToolCall("call_1", "get_weather", {"city": "Oslo"}, '{"city": "Oslo"}')],
                              Usage(5, 3), "tool_calls", "served-model")
    path, headers, body = handler.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-secret"
    assert body == {"model": "m", "messages": [{"role": "user", "content": "Weather in Oslo?"}],
                    "tools": [{"type": "function", "function": TOOL}], "temperature": 0, "seed": 1, "min_tokens": 2}
    assert model.usage.totals().total_tokens == 8
    assert "sk-secret" not in repr(model) and "sk-secret" not in repr(model.config)


def test_async_and_text_tool_calls():
    handler = Recorder(completion({"role": "assistant",
                                   "content": '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call>'}))
    model = make_model(handler, text_tool_calls=True)

    async def run():
        return await asyncio.gather(*(model.achat([{"role": "user", "content": str(i)}], [TOOL]) for i in range(3)))

    replies = asyncio.run(run())
    assert [r.tool_calls[0].name for r in replies] == ["get_weather"] * 3
    assert len(handler.requests) == 3


def test_http_errors_become_llm_errors():
    handler = Recorder({"error": {"message": "model 'm' not found", "type": "invalid_request_error",
                                  "param": "model", "code": "model_not_found"}}, status=404)
    with pytest.raises(LLMRequestError, match="answered 404: model 'm' not found.*is model 'm' served") as info:
        make_model(handler).chat([{"role": "user", "content": "x"}])
    assert info.value.status == 404 and info.value.code == "model_not_found"

    def refuse(request):
        raise httpx2.ConnectError("connection refused")

    with pytest.raises(LLMRequestError, match="cannot reach http://llm.test/v1"):
        make_model(refuse).chat([{"role": "user", "content": "x"}])


def test_concurrency_limit():
    active, peak, lock = [0], [0], threading.Lock()

    def slow(request):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return httpx2.Response(200, json=completion({"role": "assistant", "content": "ok"}))

    model = make_model(slow, max_concurrency=2)
    threads = [threading.Thread(target=model.chat, args=([{"role": "user", "content": "x"}],)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_config_validation(monkeypatch):
    with pytest.raises(ToolbenchError, match="'model' is empty"):
        OpenAIChatConfig(model="")
    with pytest.raises(ToolbenchError, match="'base_url' must start with http"):
        OpenAIChatConfig(model="m", base_url="localhost:8000")
    with pytest.raises(ToolbenchError, match="'max_concurrency'"):
        OpenAIChatConfig(model="m", max_concurrency=0)
    with pytest.raises(ToolbenchError, match="'timeout'"):
        OpenAIChatConfig(model="m", timeout=0)
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ToolbenchError, match="set the environment variable NO_SUCH_KEY_VAR"):
        OpenAIChatConfig(model="m", api_key_env="NO_SUCH_KEY_VAR").resolve_api_key()
    assert OpenAIChatConfig(model="m", base_url="http://127.0.0.1:8000/v1",
                            api_key_env="NO_SUCH_KEY_VAR").resolve_api_key() == "EMPTY"
