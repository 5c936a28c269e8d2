"""The local OpenAI-compatible server, in process: HTTP logic with a scripted generator, the real generation
path with a tiny random LLaMA, and the openai SDK talking to the app through an ASGI transport."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from toolbench.errors import ToolbenchError
from toolbench.llm.engines import ServerConfig
from toolbench.llm.generation import Generation, GenerationRequest, HFGenerator
from toolbench.llm.server_app import create_app
from toolbench.llm.template import render_prompt
from toolbench.llm.toolcalls import make_call_id

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
USER = [{"role": "user", "content": "Weather in Paris?"}]


class ScriptedGenerator:
    """Returns queued completions; records what it was asked."""

    name = "scripted-lm"
    context_length = 2048

    def __init__(self, tokenizer, texts=(), delay=0.0, fail=False):
        self.tokenizer, self.texts, self.delay, self.fail = tokenizer, list(texts), delay, fail
        self.reason = "stop"  # the engine's finish reason for every completion
        self.requests: list[GenerationRequest] = []
        self.lock = threading.Lock()
        self.active = self.peak = 0

    def render(self, messages, tools, tool_choice):
        return render_prompt(self.tokenizer, messages, tools, tool_choice)

    def count_tokens(self, text):
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def generate(self, request, on_text=None, cancel=None):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            self.requests.append(request)
            time.sleep(self.delay)
            if self.fail:
                raise RuntimeError("out of memory")
            text = self.texts.pop(0) if self.texts else "ok"
            if on_text:
                for piece in (text[:2], text[2:]):
                    on_text(piece)
            return Generation([text] * request.n, [self.reason] * request.n, self.count_tokens(request.prompt),
                              [3] * request.n)
        finally:
            with self.lock:
                self.active -= 1


@pytest.fixture()
def scripted(tiny_tokenizer):
    return ScriptedGenerator(tiny_tokenizer)


def client_for(generator, **config):
    return TestClient(create_app(generator, ServerConfig(**config), aliases=("default",)))


def post(client, body, **kwargs):
    return client.post("/v1/chat/completions", json=body, **kwargs)


def test_text_reply_and_usage(scripted):
    scripted.texts = ["Hello there."]
    with client_for(scripted) as client:
        response = post(client, {"model": "scripted-lm", "messages": USER, "temperature": 0, "max_tokens": 5,
                                 "stop": "\n\n", "seed": 7})
        assert response.status_code == 200
        body = response.json()
        assert body["object"] == "chat.completion" and body["model"] == "scripted-lm"
        assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "Hello there."},
                                    "logprobs": None, "finish_reason": "stop"}]
        prompt_tokens = body["usage"]["prompt_tokens"]
        assert body["usage"] == {"prompt_tokens": prompt_tokens, "completion_tokens": 3,
                                 "total_tokens": prompt_tokens + 3}
        (request,) = scripted.requests
        assert (request.temperature, request.max_tokens, request.stop, request.seed, request.n) == (0, 5, ["\n\n"], 7, 1)
        health = client.get("/health").json()
        assert health["requests"] == 1 and health["completion_tokens"] == 3
        assert client.get("/v1/models").json()["data"][0]["id"] == "scripted-lm"
        assert post(client, {"model": "default", "messages": USER}).status_code == 200  # an alias


def test_tool_call_is_parsed_into_tool_calls(scripted):
    scripted.texts = ['<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>']
    with client_for(scripted) as client:
        body = post(client, {"model": "scripted-lm", "messages": USER, "tools": [WEATHER]}).json()
    raw = '{"city": "Paris"}'
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": make_call_id(0, "get_weather", raw), "type": "function",
         "function": {"name": "get_weather", "arguments": raw}}]}
    assert "<tools>" in scripted.requests[0].prompt


def test_a_reply_cut_at_max_tokens_says_length_even_with_calls(scripted):
    first = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
    scripted.texts = [first + '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Ber', first]
    scripted.reason = "length"
    with client_for(scripted) as client:
        cut = post(client, {"model": "scripted-lm", "messages": USER, "tools": [WEATHER], "max_tokens": 30}).json()
        scripted.reason = "stop"
        whole = post(client, {"model": "scripted-lm", "messages": USER, "tools": [WEATHER]}).json()
    assert cut["choices"][0]["finish_reason"] == "length"
    assert cut["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'
    assert whole["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_choice_named_required_and_none(scripted):
    scripted.texts = ['{"city": "Rome"}}\n</tool_call>', 'get_weather", "arguments": {"city": "Oslo"}}',
                      '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call>']
    with client_for(scripted) as client:
        named = post(client, {"model": "scripted-lm", "messages": USER, "tools": [WEATHER],
                              "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}).json()
        required = post(client, {"model": "scripted-lm", "messages": USER, "tools": [WEATHER],
                                 "tool_choice": "required"}).json()
        none = post(client, {"model": "scripted-lm", "messages": USER, "tools": [WEATHER],
                             "tool_choice": "none"}).json()
    assert named["choices"][0]["message"]["tool_calls"][0]["function"] == {"name": "get_weather",
                                                                           "arguments": '{"city": "Rome"}'}
    assert required["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    assert scripted.requests[0].prompt.endswith('<tool_call>\n{"name": "get_weather", "arguments": ')
    assert none["choices"][0]["message"] == {"role": "assistant",
                                             "content": '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call>'}
    assert "<tools>" not in scripted.requests[2].prompt


def test_frequency_and_presence_penalties_reach_the_engine_and_are_bounded(scripted):
    with client_for(scripted) as client:
        assert post(client, {"model": "scripted-lm", "messages": USER, "frequency_penalty": 0.5,
                             "presence_penalty": -1.0}).status_code == 200
        assert post(client, {"model": "scripted-lm", "messages": USER}).status_code == 200
        for name in ("frequency_penalty", "presence_penalty"):
            status, err = error_of(post(client, {"model": "scripted-lm", "messages": USER, name: 2.5}))
            assert (status, err["param"]) == (422, name)
    assert [(r.frequency_penalty, r.presence_penalty) for r in scripted.requests] == [(0.5, -1.0), (0.0, 0.0)]


def test_the_call_threshold_reaches_only_requests_where_the_model_chooses(scripted):
    with client_for(scripted, call_threshold=0.2) as client:
        for extra in ({"tools": [WEATHER]}, {"tools": [WEATHER], "tool_choice": "auto"}, {},
                      {"tools": [WEATHER], "tool_choice": "required"}, {"tools": [WEATHER], "tool_choice": "none"},
                      {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}):
            assert post(client, {"model": "scripted-lm", "messages": USER, **extra}).status_code == 200
        assert client.get("/health").json()["call_threshold"] == 0.2
    assert [r.call_threshold for r in scripted.requests] == [0.2, 0.2, None, None, None, None]
    with client_for(scripted) as client:
        post(client, {"model": "scripted-lm", "messages": USER, "tools": [WEATHER]})
        assert client.get("/health").json()["call_threshold"] is None
    assert scripted.requests[-1].call_threshold is None


def test_n_choices(scripted):
    with client_for(scripted) as client:
        body = post(client, {"model": "scripted-lm", "messages": USER, "n": 3}).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 9


def error_of(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return response.status_code, body["error"]


def test_error_cases(scripted):
    with client_for(scripted, max_request_bytes=4000, max_n=4) as client:
        status, err = error_of(client.post("/v1/chat/completions", content=b'{"model": "scripted-lm", "messages": [',
                                           headers={"content-type": "application/json"}))
        assert status == 400 and err["code"] == "invalid_json" and "not valid JSON" in err["message"]
        status, err = error_of(client.post("/v1/chat/completions", content=b"[1, 2]"))
        assert status == 400 and err["code"] == "invalid_json"
        status, err = error_of(post(client, {"model": "gpt-9", "messages": USER}))
        assert (status, err["param"], err["code"]) == (404, "model", "model_not_found")
        assert "gpt-9" in err["message"] and "scripted-lm" in err["message"]
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": [{"role": "user", "content": "x" * 5000}]}))
        assert (status, err["code"]) == (413, "request_too_large")
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": USER, "temperature": 3}))
        assert (status, err["param"]) == (422, "temperature") and err["type"] == "invalid_request_error"
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": []}))
        assert (status, err["param"]) == (422, "messages")
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": [{"role": "robot", "content": "x"}]}))
        assert (status, err["param"]) == (422, "messages.0.role")
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": USER, "n": 5}))
        assert (status, err["param"]) == (422, "n")
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": USER, "tools": [WEATHER],
                                             "tool_choice": {"type": "function", "function": {"name": "nope"}}}))
        assert status == 422 and "'nope'" in err["message"]
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": USER, "tool_choice": "required"}))
        assert status == 422 and "needs tools" in err["message"]
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": USER, "max_tokens": 10_000}))
        assert (status, err["code"]) == (400, "context_length_exceeded")
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": [{"role": "user", "content": "y" * 2100}]}))
        assert (status, err["code"]) == (400, "context_length_exceeded")
        status, err = error_of(client.get("/v1/nothing"))
        assert status == 404
        assert scripted.requests == []  # none of these reached the model


def test_generation_failure_is_a_500_and_the_server_lives_on(tiny_tokenizer):
    generator = ScriptedGenerator(tiny_tokenizer, fail=True)
    with client_for(generator) as client:
        status, err = error_of(post(client, {"model": "scripted-lm", "messages": USER}))
        assert status == 500 and "out of memory" in err["message"] and err["type"] == "server_error"
        generator.fail = False
        assert post(client, {"model": "scripted-lm", "messages": USER}).status_code == 200
        assert client.get("/health").json()["errors"] == 1


def test_concurrent_requests_are_queued_one_at_a_time(tiny_tokenizer):
    generator = ScriptedGenerator(tiny_tokenizer, delay=0.05)
    results = []
    with client_for(generator) as client:
        def call():
            results.append(post(client, {"model": "scripted-lm", "messages": USER}).status_code)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 8 and generator.peak == 1


def test_full_queue_answers_429(tiny_tokenizer):
    generator = ScriptedGenerator(tiny_tokenizer, delay=0.3)
    statuses = []
    with client_for(generator, max_queue=1) as client:
        def call():
            statuses.append(post(client, {"model": "scripted-lm", "messages": USER}).status_code)

        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
    assert sorted(statuses) == [200, 429, 429]


def sse_events(response):
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_streaming_text_and_tool_calls(scripted):
    scripted.texts = ["Hello!", '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>']
    with client_for(scripted) as client:
        events = sse_events(post(client, {"model": "scripted-lm", "messages": USER, "stream": True,
                                          "stream_options": {"include_usage": True}}))
        assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
        assert text == "Hello!"
        assert [e["choices"][0]["finish_reason"] for e in events if e["choices"]][-1] == "stop"
        assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] == 3
        events = sse_events(post(client, {"model": "scripted-lm", "messages": USER, "stream": True,
                                          "tools": [WEATHER]}))
        calls = [c for e in events for c in e["choices"][0]["delta"].get("tool_calls", [])]
        assert calls[0]["index"] == 0 and calls[0]["function"]["name"] == "get_weather"
        assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_real_generation_with_a_tiny_llama(tiny_tokenizer, tiny_model):
    generator = HFGenerator(tiny_model, tiny_tokenizer, "tiny-llama")
    with client_for(generator) as client:
        body = post(client, {"model": "tiny-llama", "messages": USER, "tools": [WEATHER], "temperature": 0,
                             "max_tokens": 6}).json()
        assert body["usage"]["completion_tokens"] == 6 and body["choices"][0]["finish_reason"] == "length"
        again = post(client, {"model": "tiny-llama", "messages": USER, "tools": [WEATHER], "temperature": 0,
                              "max_tokens": 6}).json()
        assert again["choices"] == body["choices"]  # greedy is deterministic
        sampled = [post(client, {"model": "tiny-llama", "messages": USER, "temperature": 1.0, "seed": 3, "n": 2,
                                 "max_tokens": 4}).json()["choices"] for _ in range(2)]
        assert sampled[0] == sampled[1]  # same seed, same samples
        assert post(client, {"model": "tiny-llama", "messages": USER, "max_tokens": 4, "ignore_eos": True,
                             "temperature": 0.7}).json()["usage"]["completion_tokens"] == 4
        events = sse_events(post(client, {"model": "tiny-llama", "messages": USER, "stream": True, "max_tokens": 5,
                                          "temperature": 0}))
        streamed = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
        whole = post(client, {"model": "tiny-llama", "messages": USER, "max_tokens": 5, "temperature": 0}).json()
        assert streamed == (whole["choices"][0]["message"]["content"] or "")


def test_openai_sdk_against_the_app(scripted):
    """The real `openai` client, through the app's ASGI interface (no socket)."""
    import httpx2
    import openai

    scripted.texts = ['<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>', "Sunny."]
    app = create_app(scripted, ServerConfig())

    async def run():
        client = openai.AsyncOpenAI(api_key="EMPTY", base_url="http://llm.test/v1", max_retries=0,
                                    http_client=httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)))
        first = await client.chat.completions.create(model="scripted-lm", messages=USER, tools=[WEATHER])
        models = await client.models.list()
        try:
            await client.chat.completions.create(model="nope", messages=USER)
        except openai.NotFoundError as exc:
            missing = exc
        return first, models, missing

    first, models, missing = asyncio.run(run())
    call = first.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert [m.id for m in models.data] == ["scripted-lm"]
    assert missing.status_code == 404 and missing.body["code"] == "model_not_found"


def test_server_config_validation():
    with pytest.raises(ToolbenchError, match="'port'"):
        ServerConfig(port=70000)
    with pytest.raises(ToolbenchError, match="'max_queue'"):
        ServerConfig(max_queue=0)
    with pytest.raises(ToolbenchError, match="'dtype'"):
        ServerConfig(dtype="int4")
    with pytest.raises(ToolbenchError, match="'flash_attn'"):
        ServerConfig(flash_attn="yes")
    with pytest.raises(ToolbenchError, match="'call_threshold' must be a probability"):
        ServerConfig(call_threshold=1.0)


def test_openai_sdk_streaming(scripted):
    import httpx2
    import openai

    scripted.texts = ["Hello world", '<tool_call>{"name": "get_weather", "arguments": {"city": "Rome"}}</tool_call>']
    app = create_app(scripted, ServerConfig())

    async def run():
        client = openai.AsyncOpenAI(api_key="EMPTY", base_url="http://llm.test/v1", max_retries=0,
                                    http_client=httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)))
        text = [c async for c in await client.chat.completions.create(model="scripted-lm", messages=USER,
                                                                      stream=True)]
        calls = [c async for c in await client.chat.completions.create(model="scripted-lm", messages=USER,
                                                                       tools=[WEATHER], stream=True)]
        return text, calls

    text, calls = asyncio.run(run())
    assert "".join(c.choices[0].delta.content or "" for c in text) == "Hello world"
    deltas = [d for c in calls for d in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].function.name == "get_weather" and json.loads(deltas[0].function.arguments) == {"city": "Rome"}
    assert calls[-1].choices[0].finish_reason == "tool_calls"


class BatchingGenerator(ScriptedGenerator):
    """A scripted generator that can batch: replies with each request's user text and records batch sizes."""

    def __init__(self, tokenizer, delay=0.2):
        super().__init__(tokenizer, delay=delay)
        self.batches: list[int] = []

    def generate(self, request, on_text=None, cancel=None):
        self.texts = [request.prompt.split("user\n")[1].split("<|im_end|>")[0]]
        return super().generate(request, on_text, cancel)

    def generate_batch(self, requests, cancels=None):
        self.batches.append(len(requests))
        time.sleep(self.delay)
        return [Generation([r.prompt.split("user\n")[1].split("<|im_end|>")[0]], ["stop"], 5, [2]) for r in requests]


def test_waiting_requests_with_equal_settings_are_batched(tiny_tokenizer):
    generator = BatchingGenerator(tiny_tokenizer)
    replies: dict[str, str] = {}
    with client_for(generator, max_batch=3) as client:
        def call(i, **extra):
            body = {"model": "scripted-lm", "messages": [{"role": "user", "content": f"q{i}"}], **extra}
            replies[f"q{i}"] = post(client, body).json()["choices"][0]["message"]["content"]

        threads = [threading.Thread(target=call, args=(i,), kwargs={"temperature": 0}) for i in range(7)]
        threads.append(threading.Thread(target=call, args=(7,), kwargs={"temperature": 0.5, "seed": 1}))
        for t in threads:
            t.start()
            time.sleep(0.02)
        for t in threads:
            t.join()
        health = client.get("/health").json()
    assert replies == {f"q{i}": f"q{i}" for i in range(8)}  # every reply went to its own request
    assert max(generator.batches) == 3 and sum(generator.batches) <= 7  # the seeded sample ran alone
    assert health["largest_batch"] == 3 and health["batched_requests"] == sum(generator.batches)
    assert health["requests"] == 8


def test_a_batch_waits_briefly_for_more_requests(tiny_tokenizer):
    generator = BatchingGenerator(tiny_tokenizer, delay=0.05)
    with client_for(generator, max_batch=4, batch_wait=1.0) as client:
        def call(i):
            post(client, {"model": "scripted-lm", "messages": [{"role": "user", "content": f"q{i}"}],
                          "temperature": 0})

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:  # arriving 50 ms apart: the first waits for the others instead of running alone
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
    assert generator.batches == [4]
    with client_for(generator, max_batch=4, batch_wait=0) as client:
        started = time.monotonic()
        post(client, {"model": "scripted-lm", "messages": USER, "temperature": 0})  # alone: no wait
        assert time.monotonic() - started < 1.0
    with pytest.raises(ToolbenchError, match="batch_wait"):
        ServerConfig(batch_wait=-1)


def test_max_batch_one_generates_one_at_a_time(tiny_tokenizer):
    generator = BatchingGenerator(tiny_tokenizer, delay=0.05)
    with client_for(generator, max_batch=1) as client:
        threads = [threading.Thread(target=post, args=(client, {"model": "scripted-lm", "messages": USER}))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert generator.batches == [] and generator.peak == 1


def test_a_failing_batch_fails_its_requests_only(tiny_tokenizer):
    generator = BatchingGenerator(tiny_tokenizer)
    original = generator.generate_batch

    def fail_once(requests, cancels=None):
        generator.generate_batch = original
        time.sleep(0.2)
        raise RuntimeError("out of memory")

    generator.generate_batch = fail_once
    statuses = []
    with client_for(generator, max_batch=4) as client:
        def call():
            statuses.append(post(client, {"model": "scripted-lm", "messages": USER, "temperature": 0}).status_code)

        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.02)
        for t in threads:
            t.join()
        assert post(client, {"model": "scripted-lm", "messages": USER, "temperature": 0}).status_code == 200
    assert 500 in statuses and set(statuses) <= {200, 500} and len(statuses) == 4


def test_oversized_body_is_413_before_it_is_read(scripted):
    """The request-size limit answers 413 (OpenAI's error schema) without reading the body: at once from
    Content-Length, and for a chunked body as soon as the bytes received pass the limit."""
    assert ServerConfig().max_request_bytes == 8 << 20  # room for long chats with many tools
    big = json.dumps({"model": "scripted-lm", "messages": [{"role": "user", "content": "x" * 10_000}]}).encode()
    with client_for(scripted, max_request_bytes=4000) as client:
        status, err = error_of(client.post("/v1/chat/completions", content=big,
                                           headers={"content-type": "application/json"}))
        assert (status, err["code"]) == (413, "request_too_large")
        assert f"{len(big)} bytes" in err["message"] and "--max-request-bytes" in err["message"]
        status, err = error_of(client.post("/v1/models", content=big))  # every route, not only chat
        assert (status, err["code"]) == (413, "request_too_large")
        assert post(client, {"model": "scripted-lm", "messages": USER}).status_code == 200

    app = create_app(scripted, ServerConfig(max_request_bytes=4000), aliases=("default",))
    pulled = []  # chunks of a 1 MB chunked body the app asked for

    async def receive():
        if len(pulled) == 1000:
            return {"type": "http.disconnect"}
        pulled.append(1000)
        return {"type": "http.request", "body": b" " * 1000, "more_body": len(pulled) < 1000}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
             "root_path": "", "query_string": b"", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
             "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]}
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        app.state.server.close()
    assert sent[0]["status"] == 413 and len(sent) == 2, sent
    assert json.loads(sent[1]["body"])["error"]["code"] == "request_too_large"
    assert sum(pulled) <= 5000  # cut off just past the limit: the rest was never read
    assert len(scripted.requests) == 1  # only the request within the limit reached the model
