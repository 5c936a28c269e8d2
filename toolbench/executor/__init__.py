"""The executor: calls the APIs of a catalog over HTTP and returns what the agent sees, an Observation.

Pure parts, tested with plain equality: :func:`prepare_request` (arguments keyed by the API's own parameter
names -> method, URL, query, headers, JSON body) and :func:`observation_from_http` (status, headers, body ->
Observation with an error kind). The thin network part, :class:`Executor`, adds validation, the response
cache, timeouts, retries with backoff on 429 and 5xx (honouring Retry-After, capped), and a concurrency limit
per host, in a sync (``call``) and an async (``acall``) flavour.

Errors are observations, never exceptions: ``Observation.kind`` is an :class:`ErrorKind`
(``toolbench/error_kinds.py``), and ``error`` is that kind followed by ``": "`` and a message for the agent
(``rate_limited: HTTP 429 ...``).

Every failure is an observation: a catalog URL the executor cannot call (not http(s), a bad port, a host that
does not parse: :func:`url_problem`, ``invalid_url``), a request it will not send (an argument that makes the URL
longer than :data:`MAX_URL_CHARS`, a header value with a line break, a body over :data:`MAX_BODY_BYTES`:
``invalid_arguments``), a TLS failure (``tls_error``), a timeout, a refused connection (``not_working``); nothing
raised by httpx leaves :meth:`Executor.call` / :meth:`Executor.acall`.

Safety: only (tool, api) pairs of the catalog are called, at the URL the catalog records (path values are
percent-encoded, so arguments cannot leave that path; redirects are not followed). Secrets come from the
environment or ``ExecutorConfig.credentials``; they are put in headers (or the query, when the auth scheme
says so) and never appear in logs, cache keys or observations (a key the API echoes back is replaced by
``***``, in the observation and in the cache). Which key goes where depends on the host the request really
goes to (after ``base_url_overrides``), never on the catalog's ``host`` field:

- a key configured for one tool (``credentials['<tool>']``, ``'<tool>.<scheme>'``, ``TOOLBENCH_KEY_<TOOL>``)
  goes to that tool's URLs;
- the RapidAPI key (``RAPIDAPI_KEY``) only to hosts matching ``rapidapi_key_hosts`` (``*.rapidapi.com``);
- the generic key (``TOOLBENCH_API_KEY``, ``credentials['*']`` or ``credentials['<scheme>']``) only to hosts
  matching ``api_key_hosts`` (loopback: the local hub) and to the targets of ``base_url_overrides`` whose catalog
  prefix is on such a host (the hub moved to another address).

URL userinfo (``user:pass@``) is shown as ``***@`` in logs and messages (:func:`redact_url`).

The package, one module a part: :mod:`.config` (settings, limits, error kinds), :mod:`.urls` (URLs and hosts),
:mod:`.request` (building and checking a request, auth headers), :mod:`.response` (an answer as an Observation,
retries, caching rules), :mod:`.client` (:class:`Executor`). Every name is importable from ``toolbench.executor``.
"""

from toolbench.error_kinds import ErrorKind
from toolbench.executor.client import Executor
from toolbench.executor.config import (
    CACHE_MISS,
    ERROR_KINDS,
    HALLUCINATED,
    INVALID_ARGUMENTS,
    INVALID_URL,
    LOOPBACK_HOSTS,
    MALFORMED,
    MAX_BODY_BYTES,
    MAX_ERROR_BODY,
    MAX_HEADER_CHARS,
    NOT_IN_CATALOG,
    NOT_WORKING,
    RAPIDAPI_HOSTS,
    RATE_LIMITED,
    REQUEST_ERROR,
    TIMEOUT,
    TLS_ERROR,
    UNAUTHORIZED,
    ExecutorConfig,
    ExecutorError,
    error_kind,
)
from toolbench.executor.request import (
    PreparationError,
    PreparedRequest,
    add_secrets,
    apply_overrides,
    auth_headers,
    check_request,
    param_location,
    prepare_request,
)
from toolbench.executor.response import (
    cacheable,
    observation_from_http,
    observation_from_service,
    retry_delay,
)
from toolbench.executor.urls import (
    HTTP_SCHEMES,
    MAX_URL_CHARS,
    host_matches,
    redact_url,
    request_hostname,
    url_host,
    url_problem,
)

__all__ = [
    "CACHE_MISS", "ERROR_KINDS", "HALLUCINATED", "HTTP_SCHEMES", "INVALID_ARGUMENTS", "INVALID_URL", "LOOPBACK_HOSTS",
    "MALFORMED", "MAX_BODY_BYTES", "MAX_ERROR_BODY", "MAX_HEADER_CHARS", "MAX_URL_CHARS", "NOT_IN_CATALOG",
    "NOT_WORKING", "RAPIDAPI_HOSTS", "RATE_LIMITED", "REQUEST_ERROR", "TIMEOUT", "TLS_ERROR", "UNAUTHORIZED",
    "ErrorKind", "Executor", "ExecutorConfig", "ExecutorError", "PreparationError", "PreparedRequest", "add_secrets",
    "apply_overrides", "auth_headers", "cacheable", "check_request", "error_kind", "host_matches",
    "observation_from_http", "observation_from_service", "param_location", "prepare_request", "redact_url",
    "request_hostname", "retry_delay", "url_host", "url_problem",
]
