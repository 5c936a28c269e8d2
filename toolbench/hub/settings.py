"""Settings of the sandbox API hub: one dataclass, each field documented, checked before the server starts."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from toolbench.errors import ToolbenchError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8750
# The server URL written into the hub's OpenAPI documents (and so into data/tools/): fixed, so the committed
# catalog does not depend on the port a hub happens to run on. The executor maps it to the live hub with
# ``ExecutorConfig.base_url_overrides``.
PUBLIC_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
FAULT_MODES = ("rate_limit", "server_error", "slow", "malformed", "unauthorized")
DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: the largest hub request a model makes is a few KB


class HubSettingsError(ToolbenchError):
    """A hub setting is invalid: the message names the field and what to do."""


@dataclass
class HubSettings:
    """How the sandbox hub behaves. Every field has a safe default: loopback, no faults, fixed seed."""

    host: str = field(default=DEFAULT_HOST, metadata={
        "help": "Interface to bind. Loopback by default; another address exposes the sandbox to the network."})
    port: int = field(default=DEFAULT_PORT, metadata={"help": "TCP port; 0 picks a free one."})
    seed: int = field(default=0, metadata={
        "help": "Seed of every generated record (weather, quotes, restaurants...): same seed, same data."})
    faults: dict[str, float] = field(default_factory=dict, metadata={
        "help": f"Fault injection: mode -> fraction of tool requests (0..1) that get it. Modes: {FAULT_MODES}. "
                "Which requests fail is drawn from a generator seeded by `seed`, so runs repeat."})
    retry_after: int = field(default=1, metadata={"help": "Seconds sent in Retry-After with an injected 429."})
    slow_seconds: float = field(default=3.0, metadata={
        "help": "Delay added by the `slow` fault, meant to exceed the caller's timeout."})
    require_key: bool = field(default=True, metadata={
        "help": "Answer 401 to tool requests without X-RapidAPI-Key or Authorization: Bearer."})
    api_keys: tuple[str, ...] = field(default=(), metadata={
        "help": "Keys accepted; empty accepts any non-empty key. State (orders, tickets) is kept per key. When "
                "set, /admin/* also needs one of them (401 without)."})
    allow_fault_header: bool = field(default=True, metadata={
        "help": "Honour the X-Hub-Fault request header (a fault mode for that one request), for tests."})
    admin: bool = field(default=True, metadata={
        "help": "Serve /admin/reset, /admin/faults and /admin/stats (not part of the published OpenAPI)."})
    public_url: str = field(default=PUBLIC_URL, metadata={
        "help": "Server URL written into the OpenAPI documents (the catalog's base URL)."})
    cache_path: str = field(default="", metadata={
        "help": "SQLite response cache that POST /virtual answers from first; empty: no cache."})
    llm_model: str = field(default="", metadata={
        "help": "Model that simulates POST /virtual answers the hub cannot give (unknown API, failed call); empty: "
                "no simulation."})
    llm_base_url: str = field(default="", metadata={
        "help": "OpenAI-compatible endpoint of llm_model, e.g. http://127.0.0.1:8000/v1 (toolbench llm serve); "
                "empty: the SDK's default."})
    llm_api_key_env: str = field(default="OPENAI_API_KEY", metadata={
        "help": "Environment variable holding the LLM's key (unset with a base URL: a placeholder is sent)."})
    llm_cache_path: str = field(default="", metadata={
        "help": "SQLite record/replay cache of the simulator's LLM replies, so simulations repeat; empty: none."})
    virtual_catalog: str = field(default="", metadata={
        "help": "ToolBench tool folder documenting APIs the hub does not serve, for the simulator's prompt."})
    keep_alive_seconds: float = field(default=30.0, metadata={
        "help": "How long an idle keep-alive connection stays open. uvicorn's default (5 s) equals httpx's pool "
                "expiry (5 s): a client reusing a connection idle for ~5 s raced the server's close and got a "
                "ReadError. Keep it above the clients' expiry."})
    max_body_bytes: int = field(default=DEFAULT_MAX_BODY_BYTES, metadata={
        "help": "Largest request body accepted, in bytes; a larger one gets 413 before it is read (from "
                "Content-Length, or as soon as a chunked body passes the limit)."})
    max_json_values: int = field(default=10_000, metadata={
        "help": "Most values (objects, arrays, strings, numbers...) a JSON request body may hold; more gets 413 "
                "before validation, which bounds the work (and the 422) one request can cause."})
    max_json_depth: int = field(default=32, metadata={
        "help": "Deepest nesting of arrays/objects a JSON request body may have; deeper gets 413."})
    now: str = field(default="2025-01-15T09:30:00+00:00", metadata={
        "help": "The sandbox clock (ISO 8601 with offset): 'now' for time APIs and timestamps, fixed so "
                "responses repeat."})

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise HubSettingsError(f"port: {self.port!r} is not a TCP port; use 0..65535 (0 picks a free one)")
        for mode, rate in self.faults.items():
            if mode not in FAULT_MODES:
                raise HubSettingsError(f"faults: unknown mode {mode!r}; use one of {', '.join(FAULT_MODES)}")
            if not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0:
                raise HubSettingsError(f"faults.{mode}: rate {rate!r} must be a number between 0 and 1")
        if sum(self.faults.values()) > 1.0 + 1e-9:
            raise HubSettingsError("faults: the rates add up to more than 1; lower them")
        if self.retry_after < 0:
            raise HubSettingsError("retry_after: must be >= 0 seconds")
        if self.llm_base_url and not self.llm_model:
            raise HubSettingsError("llm_model: name the model served at llm_base_url (e.g. smollm2-135m-instruct)")
        if self.llm_base_url and not self.llm_base_url.startswith(("http://", "https://")):
            raise HubSettingsError(f"llm_base_url: {self.llm_base_url!r} is not an http(s) URL")
        if self.keep_alive_seconds <= 0:
            raise HubSettingsError("keep_alive_seconds: must be > 0 seconds")
        for name in ("max_body_bytes", "max_json_values", "max_json_depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise HubSettingsError(f"{name}: must be an integer >= 1; got {value!r}")
        if self.slow_seconds < 0:
            raise HubSettingsError("slow_seconds: must be >= 0 seconds")
        try:
            clock = datetime.fromisoformat(self.now)
        except ValueError:
            raise HubSettingsError(f"now: {self.now!r} is not ISO 8601; write e.g. 2025-01-15T09:30:00+00:00")
        if clock.tzinfo is None:
            raise HubSettingsError("now: give a UTC offset, e.g. 2025-01-15T09:30:00+00:00")
        self.public_url = self.public_url.rstrip("/")

    @property
    def clock(self) -> datetime:
        return datetime.fromisoformat(self.now)

    @staticmethod
    def help() -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(HubSettings)}


def parse_fault(spec: str) -> tuple[str, float]:
    """``"rate_limit:0.2"`` -> ("rate_limit", 0.2); a bare mode means every request (rate 1)."""
    mode, _, rate = spec.partition(":")
    mode = mode.strip().replace("-", "_")
    if mode not in FAULT_MODES:
        raise HubSettingsError(f"--fault {spec!r}: unknown mode {mode!r}; use MODE[:RATE] with MODE one of "
                               f"{', '.join(FAULT_MODES)}")
    try:
        value = float(rate) if rate else 1.0
    except ValueError:
        raise HubSettingsError(f"--fault {spec!r}: rate {rate!r} is not a number; use e.g. {mode}:0.1")
    return mode, value
