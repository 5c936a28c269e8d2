"""End to end: `toolbench llm serve` with the real SmolLM2-135M-Instruct on an ephemeral port, on each engine
(llama.cpp on the packaged GGUF, transformers on the converted checkpoint), called through the `openai` SDK with
a tool offered. The first run converts the packaged GGUF into the model cache
($TOOLBENCH_HOME or ~/.cache/toolbench; ~30-75 s once); later runs start the server in a few seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from toolbench.catalog.functions import FINISH_FUNCTION
from toolbench.llm.models import ensure_default_model

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name",
                                                             "example_value": "London"}},
                   "required": ["city"]}}}
TOOLS = [WEATHER, {"type": "function", "function": FINISH_FUNCTION}]


@pytest.fixture(scope="module", params=["llamacpp", "transformers"])
def server_url(request):
    engine = request.param
    if engine == "llamacpp":
        from toolbench.llm.llamacpp_lib import llama_cpp_available

        ok, why = llama_cpp_available()
        if not ok:
            pytest.skip(why)
    else:
        ensure_default_model()  # convert once, outside the server's start-up timeout
    process = subprocess.Popen([sys.executable, "-m", "toolbench", "llm", "serve", "--model", "default", "--port",
                                "0", "--log-level", "warning", "--engine", engine], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    found: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("serving ") and not found:
                found.append(line.split(" at ")[-1].strip())

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + 120
    while not found and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    if not found:
        process.kill()
        pytest.fail("the server did not start:\n" + "".join(lines[-30:]))
    yield found[0]
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def test_openai_sdk_with_a_tool(server_url):
    import openai

    client = openai.OpenAI(base_url=server_url, api_key="EMPTY", timeout=180, max_retries=0)
    assert [m.id for m in client.models.list().data] == ["smollm2-135m-instruct"]
    response = client.chat.completions.create(
        model="smollm2-135m-instruct", tools=TOOLS, temperature=0, max_tokens=48, seed=0,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    choice = response.choices[0]
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    assert response.usage.prompt_tokens > 100 and 0 < response.usage.completion_tokens <= 48
    message = choice.message
    assert message.content or message.tool_calls
    for call in message.tool_calls or []:  # a 135M model need not call it right, but a call must parse
        assert call.id.startswith("call_") and call.function.name
        assert isinstance(json.loads(call.function.arguments), dict)

    forced = client.chat.completions.create(
        model="smollm2-135m-instruct", tools=TOOLS, temperature=0, max_tokens=24,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    (call,) = forced.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and forced.choices[0].finish_reason == "tool_calls"

    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
