"""Record/replay cache of chat requests, so any run can be replayed offline with identical results.

The key of a request is the sha256 of the canonical JSON (``sort_keys=True``, no whitespace, UTF-8) of
``{"model", "messages", "tools", "params"}`` after normalisation to OpenAI's wire form
(:func:`toolbench.llm.payload.build_request`): dict order never changes a key, and secrets (API keys, base URLs)
are never part of it. Replies live in a SQLite file in WAL mode, safe for several threads and processes.

Modes (``CachedChatModel(inner, path, mode)``):

- ``read-write``: answer from the cache when the request is there, else ask ``inner`` and store its reply;
- ``replay``: answer only from the cache; a request that is not there raises :class:`CacheMissError` (no model
  is needed: ``inner`` may be None);
- ``off``: always ask ``inner``; the cache file is neither read nor written.

Identical requests share one reply, whatever their temperature: to sample several different answers to one
prompt, vary ``seed`` (it is part of the key).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.llm.base import ChatReply, LLMError, Message, Tool
from toolbench.llm.payload import build_request
from toolbench.sqlite import connect

CACHE_MODES = ("read-write", "replay", "off")


class CacheMissError(LLMError):
    """A replayed run asked a request that the cache does not hold."""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(model: str, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> str:
    """sha256 (hex) of the canonical JSON of model + messages + tools + params."""
    return keyed_request(model, messages, tools, params)[0]


def keyed_request(model: str, messages: list[Message], tools: list[Tool] | None,
                  params: dict[str, Any]) -> tuple[str, str]:
    """(key, the canonical JSON it hashes): the request is built and encoded once, for the key and the store."""
    body = build_request(model, messages, tools, **params)
    material = {"model": body.pop("model"), "messages": body.pop("messages"), "tools": body.pop("tools", None),
                "params": body}
    text = canonical_json(material)
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), text


class ChatCache:
    """The SQLite store: key -> reply (plus the request, for inspection)."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise ToolbenchError(f"cache file {self.path} does not exist: a replay needs the cache of a recorded "
                                 "run (record one with cache mode 'read-write')")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = connect(self.path, check_same_thread=False)
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS chat_cache (key TEXT PRIMARY KEY, model TEXT NOT NULL, "
                "request TEXT NOT NULL, reply TEXT NOT NULL, created REAL NOT NULL)")
            self._conn.commit()

    def get(self, key: str) -> ChatReply | None:
        with self._lock:
            row = self._conn.execute("SELECT reply FROM chat_cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        reply = ChatReply.from_dict(json.loads(row[0]))
        reply.cached = True
        return reply

    def put(self, key: str, model: str, request: dict[str, Any] | str, reply: ChatReply) -> None:
        """Store a reply; the first reply stored under a key stays (concurrent duplicates do not overwrite).
        ``request`` (kept for inspection) is a dict or its canonical JSON."""
        text = request if isinstance(request, str) else canonical_json(request)
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO chat_cache (key, model, request, reply, created) VALUES (?, ?, ?, ?, ?)",
                (key, model, text, canonical_json(reply.to_dict()), time.time()))
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM chat_cache").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class CachedChatModel:
    """A chat model behind the record/replay cache (see the module docstring for the modes)."""

    def __init__(self, inner: Any | None, path: str | Path, mode: str = "read-write", model: str | None = None) -> None:
        if mode not in CACHE_MODES:
            raise ToolbenchError(f"cache mode must be one of {', '.join(CACHE_MODES)}; got {mode!r}")
        if inner is None and mode != "replay":
            raise ToolbenchError(f"cache mode {mode!r} needs a model to ask on a miss; only 'replay' runs without one")
        resolved = model or getattr(inner, "model", None)
        if not resolved:
            raise ToolbenchError("CachedChatModel needs the model name (argument 'model') to key its requests")
        self.inner = inner
        self.mode = mode
        self.model = resolved
        self.cache = None if mode == "off" else ChatCache(path, create=(mode != "replay"))

    def _lookup(self, messages: list[Message], tools: list[Tool] | None,
                params: dict[str, Any]) -> tuple[tuple[str, str] | None, ChatReply | None]:
        if self.cache is None:
            return None, None
        key, text = keyed_request(self.model, messages, tools, params)
        reply = self.cache.get(key)
        if reply is None and self.mode == "replay":
            raise CacheMissError(
                f"replay cache {self.cache.path} has no reply for this request (key {key[:16]}…, model "
                f"{self.model!r}, {len(messages)} messages): the run differs from the recorded one; rerun in "
                "cache mode 'read-write' with a model to record it")
        return (key, text), reply

    def _store(self, keyed: tuple[str, str] | None, reply: ChatReply) -> None:
        if self.cache is not None and keyed is not None:
            self.cache.put(keyed[0], self.model, keyed[1], reply)

    def chat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        keyed, reply = self._lookup(messages, tools, params)
        if reply is not None:
            return reply
        reply = self.inner.chat(messages, tools, **params)
        self._store(keyed, reply)
        return reply

    async def achat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        keyed, reply = self._lookup(messages, tools, params)
        if reply is not None:
            return reply
        reply = await self.inner.achat(messages, tools, **params)
        self._store(keyed, reply)
        return reply

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
