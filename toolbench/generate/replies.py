"""Reading JSON out of a model's free-text reply (pure functions)."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```[a-zA-Z_]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_DECODER = json.JSONDecoder()


class ReplyFormatError(ValueError):
    """The reply holds no JSON value of the expected kind; the message says what was found instead."""


def extract_json(text: str | None, kind: type | tuple[type, ...] = (list, dict)) -> Any:
    """The first JSON value of type ``kind`` in ``text``: the whole text, a fenced block, or the first ``[``/``{``
    from which a value decodes. Raises :class:`ReplyFormatError`."""
    if text is None or not text.strip():
        raise ReplyFormatError("the reply is empty")
    candidates = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, kind):
            return value
    for start, char in enumerate(text):
        if char not in "[{":
            continue
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, kind):
            return value
    names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
    raise ReplyFormatError(f"no JSON {names} in the reply (starts {text.strip()[:80]!r})")
