"""Reading an answer (pure): HTTP status, headers and body -> an Observation with its error kind; retry
delays; what the response cache keeps; secrets an API echoes, TLS failures."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from toolbench.executor.config import (
    MALFORMED,
    MAX_ERROR_BODY,
    NOT_WORKING,
    RATE_LIMITED,
    REQUEST_ERROR,
    TIMEOUT,
    UNAUTHORIZED,
    ExecutorConfig,
    _obs,
    error_kind,
)
from toolbench.executor.urls import redact_url
from toolbench.records import Observation

log = logging.getLogger("toolbench.executor")


def _json_ok(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def _message(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "msg"):
            if isinstance(data.get(key), str):
                return data[key][:300]
    return text[:200]


def observation_from_http(status: int, headers: Mapping[str, str], text: str, latency: float) -> Observation:
    """What the agent sees for an HTTP answer, with ToolBench's error kinds."""
    ctype = (headers.get("content-type") or "").lower()
    if 200 <= status < 300:
        looks_json = "json" in ctype or text.lstrip()[:1] in ("{", "[")
        if looks_json and text.strip() and not _json_ok(text):
            return _obs(MALFORMED, f"HTTP {status} with a body that is not valid JSON; the API is broken, try "
                        "another one", text[:MAX_ERROR_BODY], status, latency)
        return Observation(response=text, status=status, latency=latency)
    body = text[:MAX_ERROR_BODY]
    if status in (401, 403):
        return _obs(UNAUTHORIZED, f"HTTP {status}: {_message(text)} (check the API key)", body, status, latency)
    if status == 429:
        return _obs(RATE_LIMITED, f"HTTP 429: {_message(text)}", body, status, latency)
    if status >= 500:
        return _obs(NOT_WORKING, f"HTTP {status}: the API is not working ({_message(text)})", body, status, latency)
    if 300 <= status < 400:
        return _obs(NOT_WORKING, f"HTTP {status}: redirect to {redact_url(headers.get('location', '?'))} not followed",
                    body, status, latency)
    return _obs(REQUEST_ERROR, f"HTTP {status}: {_message(text)}", body, status, latency)


def observation_from_service(status: int, headers: Mapping[str, str], text: str, latency: float) -> Observation:
    """What a StableToolBench-style service's ``{"error", "response"}`` means, as an Observation."""
    if status != 200:
        return observation_from_http(status, headers, text, latency)
    try:
        data = json.loads(text)
    except ValueError:
        return _obs(MALFORMED, "the virtual service answered with invalid JSON", text[:MAX_ERROR_BODY], status, latency)
    if not isinstance(data, dict):
        return _obs(MALFORMED, "the virtual service answer is not an object", text[:MAX_ERROR_BODY], status, latency)
    response = data.get("response", "")
    if not isinstance(response, str):
        response = json.dumps(response, ensure_ascii=False)
    return Observation(error=str(data.get("error") or ""), response=response, status=status, latency=latency)


def retry_delay(attempt: int, obs: Observation, headers: Mapping[str, str], config: ExecutorConfig) -> float:
    """Seconds to wait before attempt ``attempt + 1``: Retry-After (capped) for a 429, else exponential."""
    if obs.status == 429:
        raw = headers.get("retry-after", "")
        try:
            return min(max(float(raw), 0.0), config.retry_after_max)
        except ValueError:
            pass
    return min(config.backoff_base * (2 ** attempt), config.backoff_max)


def _retryable(obs: Observation, config: ExecutorConfig) -> bool:
    if obs.status is not None:
        return obs.status == 429 or obs.status >= 500
    kind = error_kind(obs)
    return kind == NOT_WORKING or (kind == TIMEOUT and config.retry_on_timeout)


def cacheable(obs: Observation) -> bool:
    """Answers worth replaying: successes and the API's own 4xx answers; not transient failures (a 2xx with a
    broken JSON body included: replaying it would make one bad answer permanent)."""
    if obs.status is None or error_kind(obs) == MALFORMED:
        return False
    return 200 <= obs.status < 300 or (400 <= obs.status < 500 and obs.status not in (401, 403, 408, 429))


def _redacted(obs: Observation, secrets: Iterable[str]) -> Observation:
    """``obs`` with every secret it echoes (``secrets`` of at least 4 characters) replaced by ``***``."""
    from toolbench.cache import redact_secrets

    response, error = redact_secrets(obs.response, secrets), redact_secrets(obs.error, secrets)
    if response is obs.response and error is obs.error:
        return obs
    return replace(obs, response=response, error=error)


def _is_tls(exc: BaseException) -> bool:
    import ssl

    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return "SSL" in text or "CERTIFICATE" in text.upper() or "TLS" in text


def _tls_reason(exc: BaseException) -> str:
    m = re.search(r"\[SSL: ([A-Z_]+)\]|(certificate verify failed[^(]*)", str(exc))
    return (m.group(1) or m.group(2)).strip().lower().replace("_", " ") if m else type(exc).__name__


def _unexpected(exc: Exception, doing: str) -> Observation:
    log.warning("the executor failed %s: %s", doing, type(exc).__name__)
    return _obs(REQUEST_ERROR, f"the call failed while {doing} ({type(exc).__name__}); try another API")
