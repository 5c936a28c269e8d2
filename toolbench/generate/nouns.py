"""The words of an API's or parameter's name, and what an API is about said as a noun: the kind of thing a bare
id names ("coach 145") and a hallucination trap's entity is ("It's a trip.")."""

from __future__ import annotations

import re

from toolbench.catalog.pools import snake

_NOT_A_WORD = frozenset({"v1", "v2", "v3", "v4", "api"})  # version tags and "api" say nothing of what a name does

# words of an API name that name no kind of thing ("Search trips from-to", "Get User By ID", "player details")
_NOT_A_KIND = frozenset({"the", "from", "for", "with", "all", "get", "set", "put", "post", "delete", "list", "search",
                         "find", "fetch", "show", "new", "latest", "name", "names", "ids", "detail", "details", "info",
                         "information", "data", "stats", "statistics", "api", "endpoint", "by", "and"})


def name_words(name: str) -> list[str]:
    """The words of a name, lower case, path parameters and version tags left out: ``"getUserRepliesV2"`` ->
    ``["get", "user", "replies"]``, ``"/teams/{teamId}/coaches"`` -> ``["teams", "coaches"]``."""
    return [w for w in snake(re.sub(r"\{[^}]*\}", " ", name)).split("_") if w and w not in _NOT_A_WORD]


def api_noun(words: list[str]) -> str:
    """The kind of thing an API is about, from the words of its name (:func:`name_words`):
    the last noun, singular ("Search trips from-to" -> "trip", "Get User By ID" -> "user",
    "teams-coaches/{teamIds}" -> "coach"), else "item"."""
    nouns = [w for w in words if w.isalpha() and len(w) > 2 and w not in _NOT_A_KIND]
    return _singular(nouns[-1]) if nouns else "item"


def _singular(word: str) -> str:
    """"trips" -> "trip", "coaches" -> "coach", "categories" -> "category"; "news", "address" stay."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "news")):
        return word[:-1]
    return word
