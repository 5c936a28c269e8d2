"""Judging answers (pure): whether the API replied, whether a 2xx body says something; percentiles."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from toolbench.executor import cacheable
from toolbench.records import Observation

_ERRORISH = re.compile(r"\b(error|errors|not found|invalid|exceeded|unauthori[sz]ed|forbidden|not subscribed|"
                       r"does not exist|failed|blocked|unavailable|no data)\b", re.IGNORECASE)
_ERROR_KEYS = {"message", "error", "errors", "detail", "msg", "status", "code", "success", "status_code"}


def _has_content(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return False
    if isinstance(value, dict):
        return any(_has_content(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_content(v) for v in value)
    return True


def informative(text: str) -> bool:
    """Whether a 2xx body says something: non-empty JSON (or text) that is not an error message."""
    text = (text or "").strip()
    if not text:
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return not _ERRORISH.search(text[:300])
    if not _has_content(value):
        return False
    if isinstance(value, dict) and set(value) <= _ERROR_KEYS:
        return not any(isinstance(v, str) and _ERRORISH.search(v) for v in value.values())
    return True


def answered(status: int | None, kind: str) -> bool:
    """The API itself replied: 2xx with a valid body, or its own 4xx (not 401/403/408/429)."""
    return cacheable(Observation(error=f"{kind}: x" if kind else "", status=status))


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)
