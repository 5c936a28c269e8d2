"""The executor's settings (:class:`ExecutorConfig`), its limits and error kinds."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from toolbench.cache import CacheMode
from toolbench.error_kinds import EXECUTOR_KINDS, ErrorKind
from toolbench.errors import ToolbenchError
from toolbench.executor.urls import HTTP_SCHEMES, host_matches, redact_url, request_hostname
from toolbench.records import Observation

# The kinds are ErrorKind's (toolbench/error_kinds.py, the one list); these names are kept for importers.
HALLUCINATED = ErrorKind.HALLUCINATED
INVALID_ARGUMENTS = ErrorKind.INVALID_ARGUMENTS
UNAUTHORIZED = ErrorKind.UNAUTHORIZED
RATE_LIMITED = ErrorKind.RATE_LIMITED
TIMEOUT = ErrorKind.TIMEOUT
NOT_WORKING = ErrorKind.NOT_WORKING
MALFORMED = ErrorKind.MALFORMED
REQUEST_ERROR = ErrorKind.REQUEST_ERROR
CACHE_MISS = ErrorKind.CACHE_MISS
NOT_IN_CATALOG = ErrorKind.NOT_IN_CATALOG
INVALID_URL = ErrorKind.INVALID_URL
TLS_ERROR = ErrorKind.TLS_ERROR
ERROR_KINDS = EXECUTOR_KINDS
MAX_ERROR_BODY = 1000
MAX_HEADER_CHARS = 8_192  # nor a header value longer than this
MAX_BODY_BYTES = 2_000_000  # nor a JSON body larger than this
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
RAPIDAPI_HOSTS = ("*.rapidapi.com",)

class ExecutorError(ToolbenchError):
    """The executor is misconfigured: the message names the field and what to do."""


@dataclass
class ExecutorConfig:
    """How the executor calls APIs. Secrets are never printed (``credentials`` is left out of repr)."""

    timeout: float = field(default=10.0, metadata={"help": "Seconds to wait for a response (read timeout)."})
    connect_timeout: float = field(default=5.0, metadata={"help": "Seconds to wait for a connection."})
    max_retries: int = field(default=2, metadata={"help": "Retries after a 429, a 5xx or a connection error."})
    backoff_base: float = field(default=0.5, metadata={"help": "First retry delay; doubles on each retry."})
    backoff_max: float = field(default=8.0, metadata={"help": "Longest delay between two attempts."})
    retry_after_max: float = field(default=10.0, metadata={
        "help": "Longest Retry-After honoured; a longer one is cut to this."})
    retry_on_timeout: bool = field(default=False, metadata={
        "help": "Also retry a request that timed out (doubles the worst-case wait)."})
    max_concurrency_per_host: int = field(default=8, metadata={"help": "Requests in flight per host at most."})
    cache_mode: str = field(default="read-write", metadata={
        "help": "read-write | replay (a miss is an error, never a network call) | off. Needs a cache to matter."})
    base_url_overrides: dict[str, str] = field(default_factory=dict, metadata={
        "help": "Catalog URL prefix -> URL prefix to call instead (e.g. the committed hub catalog's "
                "http://127.0.0.1:8750 -> a hub on another port)."})
    credentials: dict[str, str] = field(default_factory=dict, repr=False, metadata={
        "help": "Secrets from a config file: '<tool>.<scheme>', '<tool>' (standardised names; sent to that tool's "
                "URLs), '<scheme>' or '*' (generic: sent only where the generic key may go) -> secret. Looked up "
                "before the environment."})
    api_key_env: str = field(default="TOOLBENCH_API_KEY", metadata={
        "help": "Environment variable holding the generic key, for a tool without a more specific one; sent only "
                "to api_key_hosts and where base_url_overrides move them."})
    rapidapi_key_env: str = field(default="RAPIDAPI_KEY", metadata={
        "help": "Environment variable holding the RapidAPI key (X-RapidAPI-Key); sent only to rapidapi_key_hosts."})
    api_key_hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_HOSTS), metadata={
        "help": "Hosts that may receive the generic key (and credentials '*' / '<scheme>'): names, or '*.domain' "
                "patterns. Default: loopback, i.e. the local hub."})
    rapidapi_key_hosts: list[str] = field(default_factory=lambda: list(RAPIDAPI_HOSTS), metadata={
        "help": "Hosts that may receive the RapidAPI key: names, or '*.domain' patterns."})
    service_url: str = field(default="", metadata={
        "help": "A StableToolBench-style service: calls go to POST {service_url}/virtual instead of the APIs."})
    service_key_env: str = field(default="TOOLBENCH_KEY", metadata={
        "help": "Environment variable holding the toolbench_key sent to the service."})
    user_agent: str = "toolbench-executor/0.1"

    def __post_init__(self) -> None:
        for name in ("timeout", "connect_timeout", "backoff_max", "retry_after_max"):
            if getattr(self, name) <= 0:
                raise ExecutorError(f"{name}: must be > 0 seconds, got {getattr(self, name)!r}")
        if self.backoff_base < 0:
            raise ExecutorError("backoff_base: must be >= 0 seconds")
        if self.max_retries < 0:
            raise ExecutorError("max_retries: must be >= 0")
        if self.max_concurrency_per_host < 1:
            raise ExecutorError("max_concurrency_per_host: must be >= 1")
        CacheMode.parse(self.cache_mode)
        self.service_url = self.service_url.rstrip("/")
        for prefix in list(self.base_url_overrides) + list(self.base_url_overrides.values()):
            if urlsplit(prefix).scheme not in HTTP_SCHEMES:
                raise ExecutorError(f"base_url_overrides: {redact_url(prefix)!r} is not an http(s) URL prefix")
        for name in ("api_key_hosts", "rapidapi_key_hosts"):
            if isinstance(getattr(self, name), str):
                raise ExecutorError(f"{name}: must be a list of host names or '*.domain' patterns")

    def generic_key_hosts(self) -> list[str]:
        """Hosts the generic key may go to: ``api_key_hosts`` and the targets of overrides of their URLs."""
        hosts = list(self.api_key_hosts)
        for prefix, target in self.base_url_overrides.items():
            if host_matches(request_hostname(prefix), self.api_key_hosts):
                hosts.append(request_hostname(target))
        return [h for h in hosts if h]


def error_kind(obs: Observation) -> str:
    """The kind of an observation as text (its :class:`ErrorKind`), or '' for a success."""
    return "" if obs.kind is None else str(obs.kind)


_obs = Observation.failure
