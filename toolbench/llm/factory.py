"""One call that builds the chat model a stage uses from its command-line options.

Every stage that talks to a model takes the same options (``--model``, ``--base-url``, ``--api-key-env``, a cache
file and mode) and passes them here::

    model = make_chat_model("gpt-4o-mini", api_key_env="OPENAI_API_KEY", cache_path="runs/x/llm.sqlite")
    model = make_chat_model("smollm2-135m-instruct", base_url="http://127.0.0.1:8000/v1")  # toolbench llm serve

The result is the OpenAI-compatible client, wrapped in the record/replay cache when a cache path is given and in
usage accounting when a tracker is given (outermost, so replayed replies are counted too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolbench.llm.cache import CachedChatModel
from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel
from toolbench.llm.usage import TrackedChatModel, UsageTracker


def make_chat_model(model: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                    cache_path: str | Path | None = None, cache_mode: str = "read-write",
                    usage: UsageTracker | None = None, **client_options: Any) -> Any:
    """The chat model for ``model`` at ``base_url`` (see the module docstring). ``client_options`` are further
    :class:`OpenAIChatConfig` fields (timeout, max_retries, max_concurrency, default_params...)."""
    inner: Any = None
    if cache_mode != "replay" or cache_path is None:
        inner = OpenAIChatModel(OpenAIChatConfig(model=model, base_url=base_url, api_key_env=api_key_env,
                                                 **client_options))
    chat: Any = inner
    if cache_path is not None:
        chat = CachedChatModel(inner, cache_path, cache_mode, model=model)
    if usage is not None:
        chat = TrackedChatModel(chat, usage)
    return chat
