"""How requests read, measured on the samples themselves: the share that spells a parameter name out, and the
number of distinct templates.

- **Name spelled**: a request (a user turn) that contains a multi-word parameter name of a function the sample
  offers (or of the API an irrelevance request asks for), in any spelling: ``user_id``, ``user id``, ``userId``,
  ``user-id``. People say "my order" or "for user 12345", not "with user id 12345".
- **Template**: a request's skeleton, its words with the argument values masked as ``<v>`` and the words that
  come from the functions themselves (their names, descriptions, parameter names and descriptions, enum values)
  masked as ``<w>``; what is left is the phrasing the generator chose. Two requests with the same skeleton came
  from the same template, whatever API they were about.

Pure functions of the samples (no generator state), so a journal written by any version can be measured.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from toolbench.catalog.pools import snake
from toolbench.generate.call_samples import CallSample

_WORD = re.compile(r"[A-Za-z][A-Za-z']*|\d+(?:[.,]\d+)*|[\u4e00-\u9fff]|[^\sA-Za-z\d\u4e00-\u9fff]")


def name_pattern(name: str) -> re.Pattern[str] | None:
    """A pattern for a multi-word parameter name in any spelling; None for a one-word name."""
    words = [w for w in snake(name).split("_") if w]
    if len(words) < 2:
        return None
    return re.compile(
        r"(?<![A-Za-z0-9])" + r"[\s_\-]?".join(map(re.escape, words)) + r"(?![A-Za-z0-9])", re.IGNORECASE
    )


def param_names(sample: CallSample, apis: dict[tuple[str, str], Any] | None = None) -> set[str]:
    """Parameter names of the functions a sample offers (as offered, and as the API names them when ``apis``,
    a (tool, api) -> Api map, is given), plus those of the API an irrelevance request is about."""
    names: set[str] = set()
    for fn in sample.functions:
        names |= set((fn.get("parameters") or {}).get("properties") or {})
    keys = [tuple(v) for v in sample.function_map.values()]
    if sample.meta.get("target"):
        keys.append(tuple(sample.meta["target"]))
    for key in keys:
        api = (apis or {}).get(key)
        if api is not None:
            names |= {p.name for p in api.params}
    return names


def spells_name(text: str, names: Iterable[str]) -> bool:
    return any(p is not None and p.search(text) for p in map(name_pattern, names))


def _vocabulary(sample: CallSample) -> set[str]:
    words: set[str] = set()

    def add(text: Any) -> None:
        if isinstance(text, str):
            words.update(w.casefold() for w in re.findall(r"[A-Za-z]+", snake(text).replace("_", " ")))
            words.update(w.casefold() for w in re.findall(r"[A-Za-z]+", text))

    for fn in sample.functions:
        add(fn.get("name"))
        add(fn.get("description"))
        for pname, prop in ((fn.get("parameters") or {}).get("properties") or {}).items():
            add(pname)
            if isinstance(prop, dict):
                add(prop.get("description"))
                for value in prop.get("enum") or []:
                    add(value)
    for key in [*sample.function_map.values(), sample.meta.get("target") or []]:
        for part in key:
            add(part)
    return words


def _values(sample: CallSample) -> list[str]:
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and value.strip():
            out.append(value)

    for call in sample.calls:
        walk(call.arguments)
    if sample.meta.get("entity"):
        out.append(sample.meta["entity"])
    return sorted(set(out), key=len, reverse=True)


def skeletons(sample: CallSample) -> list[str]:
    """The skeleton of each user turn of a sample (see the module doc)."""
    vocab = _vocabulary(sample)
    values = _values(sample)
    from toolbench.generate.render import _GLOSSARY  # the Chinese words an API's name is rendered with

    zh_words = sorted(set(_GLOSSARY.values()), key=len, reverse=True)
    out = []
    for step in sample.steps:
        if not step.user:
            continue
        text = step.user
        for value in values:
            text = re.sub(re.escape(value), " \x00 ", text, flags=re.IGNORECASE)
        for word in zh_words:
            text = text.replace(word, " \x01 ")
        tokens = []
        for token in _WORD.findall(text):
            if token == "\x00" or token[0].isdigit():
                token = "<v>"
            elif token == "\x01" or token.casefold() in vocab:
                token = "<w>"
            else:
                token = token.casefold()
            if not tokens or tokens[-1] != token or token not in ("<v>", "<w>"):
                tokens.append(token)
        out.append(" ".join(tokens))
    return out


def request_stats(
    samples: Iterable[CallSample], apis: dict[tuple[str, str], Any] | None = None
) -> dict[str, Any]:
    """``requests`` (user turns), ``name_spelled`` and its ``name_spelled_share``, ``distinct_templates``, and the
    same per language."""
    total: Counter = Counter()
    spelled: Counter = Counter()
    templates: dict[str, set[str]] = {}
    for sample in samples:
        names = param_names(sample, apis)
        for step, skeleton in zip([s for s in sample.steps if s.user], skeletons(sample)):
            for key in ("all", sample.language):
                total[key] += 1
                spelled[key] += spells_name(step.user or "", names)
                templates.setdefault(key, set()).add(skeleton)
    out: dict[str, Any] = {}
    for key in total:
        row = {
            "requests": total[key],
            "name_spelled": spelled[key],
            "name_spelled_share": round(spelled[key] / total[key], 4) if total[key] else None,
            "distinct_templates": len(templates.get(key, ())),
        }
        if key == "all":
            out.update(row)
        else:
            out.setdefault("by_language", {})[key] = row
    return out
