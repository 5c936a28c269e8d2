"""ToolBench's name standardisation and the function names offered to a model.

Facts carried over from ToolBench (its ``standardize``/``change_name`` helpers and the
``<api>_for_<tool>`` convention): any character outside ``[a-zA-Z0-9_]`` and CJK becomes ``_``, runs of
``_`` collapse, the result is lower-cased and stripped of leading/trailing ``_``, a leading digit gets a
``get_`` prefix, a few reserved words get an ``is_`` prefix, and a function name longer than 64 characters
keeps its last 64.

Two deliberate differences, both for names ToolBench would get wrong:
- ToolBench's character class also lets ``^`` through (a regex slip); we replace it like any other symbol,
  since ``^`` is not allowed in an OpenAI function name.
- ToolBench does nothing when two APIs of a request end up with the same function name; :class:`FunctionMap`
  makes them unique with a numeric suffix and keeps the exact mapping back to (tool, api).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_FUNCTION_NAME = 64
# Words ToolBench prefixes with "is_" because they clash with Python keywords or common JSON keys.
RESERVED = ("from", "class", "return", "false", "true", "id", "and")

_NOT_NAME_CHAR = re.compile(r"[^\u4e00-\u9fa5a-zA-Z0-9_]")
_UNDERSCORES = re.compile(r"_+")


def standardize(name: str) -> str:
    """ToolBench's ``standardize``: ``"Get Weather (v2)!"`` -> ``"get_weather_v2"``; ``"3D Models"`` ->
    ``"get_3d_models"``."""
    out = _UNDERSCORES.sub("_", _NOT_NAME_CHAR.sub("_", name)).lower().strip("_")
    if out and out[0].isdigit():
        out = "get_" + out
    return out


def change_name(name: str) -> str:
    """ToolBench's ``change_name``: ``"id"`` -> ``"is_id"`` (reserved words only)."""
    return "is_" + name if name in RESERVED else name


def api_function_stem(api_name: str) -> str:
    """The API part of a function name: standardised, reserved words renamed."""
    return change_name(standardize(api_name))


def param_name(name: str) -> str:
    """A parameter's name as offered to a model (``id`` -> ``is_id``, ``Content-Type`` -> ``content_type``)."""
    return change_name(standardize(name))


def function_name(api_name: str, tool_standard_name: str) -> str:
    """``<api>_for_<tool>``, keeping the last 64 characters as ToolBench does."""
    return f"{api_function_stem(api_name)}_for_{tool_standard_name}"[-MAX_FUNCTION_NAME:]


@dataclass
class FunctionMap:
    """Function names for the APIs offered in one request, unique, with the exact mapping back.

    >>> fm = FunctionMap()
    >>> fm.add("TheClique", "theclique", "Songkick concert")
    'songkick_concert_for_theclique'
    >>> fm.resolve("songkick_concert_for_theclique")
    ('TheClique', 'Songkick concert')
    """

    _by_name: dict[str, tuple[str, str]] = field(default_factory=dict)
    _by_api: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, tool: str, tool_standard_name: str, api: str) -> str:
        key = (tool, api)
        if key in self._by_api:
            return self._by_api[key]
        name = function_name(api, tool_standard_name)
        if name in self._by_name or not name:
            n = 2
            while True:
                suffix = f"_{n}"
                candidate = (name or "api")[: MAX_FUNCTION_NAME - len(suffix)] + suffix
                if candidate not in self._by_name:
                    name = candidate
                    break
                n += 1
        self._by_name[name] = key
        self._by_api[key] = name
        return name

    def resolve(self, name: str) -> tuple[str, str] | None:
        """(tool, api) for a function name, or None for a name that was never offered (a hallucination)."""
        return self._by_name.get(name)

    def name_of(self, tool: str, api: str) -> str:
        return self._by_api[(tool, api)]

    def names(self) -> list[str]:
        return list(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)
