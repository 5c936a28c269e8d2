import asyncio
import threading

import pytest

from toolbench.errors import ToolbenchError
from toolbench.llm.base import ChatReply, Usage
from toolbench.llm.cache import CachedChatModel, CacheMissError, request_key
from toolbench.llm.scripted import ScriptedChatModel

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]
TOOLS = [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]


def test_key_is_canonical_and_sensitive_to_content():
    key = request_key("m", MESSAGES, TOOLS, temperature=0, seed=1)
    reordered = [{"content": m["content"], "role": m["role"]} for m in MESSAGES]
    assert request_key("m", reordered, TOOLS, seed=1, temperature=0) == key
    # a bare function schema and its OpenAI tools entry are the same request
    assert request_key("m", MESSAGES, [{"type": "function", "function": TOOLS[0]}], temperature=0, seed=1) == key
    assert request_key("m", MESSAGES, TOOLS, temperature=0, seed=2) != key
    assert request_key("m2", MESSAGES, TOOLS, temperature=0, seed=1) != key
    assert request_key("m", MESSAGES, None, temperature=0, seed=1) != key
    assert len(key) == 64


def run_session(model):
    """A tiny two-turn session, as a stage would run it."""
    first = model.chat(MESSAGES, TOOLS, temperature=0)
    transcript = [*MESSAGES, first.to_message(),
                  {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": '{"sky": "clear"}'}]
    second = model.chat(transcript, TOOLS, temperature=0)
    return [first.to_dict(), second.to_dict()]


def scripted():
    return ScriptedChatModel([ScriptedChatModel.call("get_weather", {"city": "Paris"}, usage=Usage(30, 9)),
                              ChatReply("Clear skies.", usage=Usage(52, 4))], model="m")


def test_record_then_replay_without_a_model(tmp_path):
    path = tmp_path / "llm.sqlite"
    inner = scripted()
    recorded = run_session(CachedChatModel(inner, path, "read-write"))
    assert len(inner.requests) == 2
    # same run again: answered from the cache, the model is not asked
    again = run_session(CachedChatModel(inner, path, "read-write"))
    assert again == recorded and len(inner.requests) == 2
    replay = CachedChatModel(None, path, "replay", model="m")
    assert run_session(replay) == recorded
    reply = replay.chat(MESSAGES, TOOLS, temperature=0)
    assert reply.cached and reply.usage == Usage(30, 9)


def test_replay_miss_is_a_clear_error(tmp_path):
    path = tmp_path / "llm.sqlite"
    run_session(CachedChatModel(scripted(), path, "read-write"))
    replay = CachedChatModel(None, path, "replay", model="m")
    with pytest.raises(CacheMissError, match="no reply for this request.*rerun in cache mode 'read-write'"):
        replay.chat(MESSAGES, TOOLS, temperature=0.7)
    with pytest.raises(ToolbenchError, match="does not exist"):
        CachedChatModel(None, tmp_path / "missing.sqlite", "replay", model="m")


def test_async_and_concurrent_use(tmp_path):
    path = tmp_path / "llm.sqlite"
    inner = ScriptedChatModel([lambda m, t, p: f"echo {m[-1]['content']}"] * 40, model="m")
    cached = CachedChatModel(inner, path, "read-write")

    async def many():
        return await asyncio.gather(*(cached.achat([{"role": "user", "content": str(i)}]) for i in range(20)))

    assert [r.content for r in asyncio.run(many())] == [f"echo {i}" for i in range(20)]
    threads = [threading.Thread(target=cached.chat, args=([{"role": "user", "content": str(i)}],)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(inner.requests) == 20 and len(cached.cache) == 20


def test_off_mode_and_bad_modes(tmp_path):
    inner = scripted()
    off = CachedChatModel(inner, tmp_path / "unused.sqlite", "off")
    run_session(off)
    assert not (tmp_path / "unused.sqlite").exists()
    with pytest.raises(ToolbenchError, match="cache mode must be one of read-write, replay, off"):
        CachedChatModel(inner, tmp_path / "x.sqlite", "record")
    with pytest.raises(ToolbenchError, match="needs a model"):
        CachedChatModel(None, tmp_path / "x.sqlite", "read-write", model="m")
