"""Why a tool call gave no answer: the one list of error kinds.

An :class:`toolbench.records.Observation` carries its kind as a field (``Observation.kind``); its ``error`` text
still starts with ``"<kind>: "`` because that is what the model is shown and what the files (response cache,
journals, answer trees) record. The text is read back into a kind in one place only, :func:`kind_from_text`,
when an observation is built from a stored or remote text without its kind.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """The executor's kinds, the two the tool-call step makes (:mod:`toolbench.toolstep`), and ``other`` for an
    error text without a known kind."""

    # the executor's (toolbench/executor)
    HALLUCINATED = "hallucinated_function"
    INVALID_ARGUMENTS = "invalid_arguments"
    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    NOT_WORKING = "not_working"
    MALFORMED = "malformed_response"
    REQUEST_ERROR = "request_error"
    CACHE_MISS = "cache_miss"
    NOT_IN_CATALOG = "not_in_catalog"
    INVALID_URL = "invalid_url"  # the catalog's URL cannot be called: scheme, port, host or characters
    TLS_ERROR = "tls_error"  # the TLS handshake failed (certificate, protocol)
    # the tool-call step's (toolbench/toolstep.py)
    REJECTED_BY_USER = "rejected_by_user"  # a person did not allow the call
    OUTCOME_UNKNOWN = "outcome_unknown"  # sent, but the process stopped before the answer came back
    # an error text that names none of the above
    OTHER = "other"


STEP_KINDS = (ErrorKind.REJECTED_BY_USER, ErrorKind.OUTCOME_UNKNOWN, ErrorKind.OTHER)
EXECUTOR_KINDS = tuple(k for k in ErrorKind if k not in STEP_KINDS)
_BY_VALUE = {k.value: k for k in ErrorKind}


def kind_from_text(error: str) -> ErrorKind | None:
    """The kind an error text names before its first ``":"`` (``OTHER`` when it names none); None for ``""``."""
    if not error:
        return None
    return _BY_VALUE.get(error.split(":", 1)[0], ErrorKind.OTHER)
