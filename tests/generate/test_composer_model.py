"""The composer with the packaged default model (SmolLM2-135M-Instruct, llama.cpp, constrained decoding) behind
the project's own OpenAI-compatible app, in-process: the rewrite request is answered as JSON, and a composed
query is kept whatever the model writes. Slow (a model load and two generations on a CPU)."""

from __future__ import annotations

import json

import pytest

from toolbench.generate.instructions import InstructionConfig, InstructionRun
from toolbench.llm.base import ChatReply, SyncChatModel
from toolbench.llm.llamacpp_lib import llama_cpp_available

AVAILABLE, WHY = llama_cpp_available()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=f"llama-cpp-python: {WHY}")]


class _AppModel(SyncChatModel):
    """A chat model posting to the in-process server app."""

    model = "default"

    def __init__(self, client) -> None:
        self.client, self.replies = client, []

    def chat(self, messages, tools=None, **params):
        body = {"model": self.model, "messages": messages, **params}
        response = self.client.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        choice = response.json()["choices"][0]
        self.replies.append(choice)
        return ChatReply(content=choice["message"]["content"], finish_reason=choice["finish_reason"])


def test_the_default_model_answers_the_rewrite_as_json_and_every_query_is_kept(tmp_path, hub_catalog):
    from fastapi.testclient import TestClient

    from toolbench.llm.engines import ServerConfig
    from toolbench.llm.llamacpp import LlamaCppGenerator
    from toolbench.llm.models import find_default_gguf
    from toolbench.llm.server_app import create_app

    engine = LlamaCppGenerator(find_default_gguf(), "smollm2-135m-instruct", n_seq=2, ctx_per_seq=2048)
    try:
        with TestClient(create_app(engine, ServerConfig(), aliases=("default",))) as client:
            model = _AppModel(client)
            config = InstructionConfig(queries_per_set=2, max_tokens=96, temperature=0.7)
            stats = InstructionRun(out=tmp_path / "G2_query.json", group="G2", n=2, seed=0, config=config).run(
                model, hub_catalog)
    finally:
        engine.close()
    assert stats["kept"] == 2 and sum(stats["phrased_by"].values()) == 2
    assert len(model.replies) == 2
    for choice in model.replies:  # constrained: a JSON object with a query, unless cut off by max_tokens
        if choice["finish_reason"] == "stop":
            assert isinstance(json.loads(choice["message"]["content"])["query"], str)
