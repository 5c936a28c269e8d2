import httpx2
import pytest

from toolbench.llm.cache import CachedChatModel, CacheMissError
from toolbench.llm.factory import make_chat_model
from toolbench.llm.openai_client import OpenAIChatModel
from toolbench.llm.usage import TrackedChatModel, UsageTracker


def test_plain_client_and_wrappers(tmp_path):
    model = make_chat_model("m", base_url="http://127.0.0.1:1/v1", timeout=5)
    assert isinstance(model, OpenAIChatModel) and model.config.timeout == 5
    tracker = UsageTracker()
    wrapped = make_chat_model("m", base_url="http://127.0.0.1:1/v1", cache_path=tmp_path / "c.sqlite", usage=tracker)
    assert isinstance(wrapped, TrackedChatModel) and isinstance(wrapped.inner, CachedChatModel)


def test_replay_needs_no_endpoint_or_key(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    body = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    recorder = make_chat_model("m", base_url="http://llm.test/v1", cache_path=tmp_path / "c.sqlite")
    recorder.inner._http_client = httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=body)))
    recorded = recorder.chat([{"role": "user", "content": "hello"}])
    replay = make_chat_model("m", cache_path=tmp_path / "c.sqlite", cache_mode="replay")
    assert replay.chat([{"role": "user", "content": "hello"}]).to_dict() == recorded.to_dict()
    with pytest.raises(CacheMissError):
        replay.chat([{"role": "user", "content": "other"}])
