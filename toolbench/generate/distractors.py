"""Near-miss distractors and the rules that keep a hard sample's answer unique (pure functions).

A **near miss** is an API that looks like the one a request is for: same tool, similar name (``get_restaurant``
vs ``get_restaurant_reviews`` vs ``get_restaurant_menu``), similar description, the same arguments.
:func:`similarity` scores that, :func:`pick_distractors` draws distractors mostly among the nearest ones.

Two rules decide whether an offered function could be confused with the answer, worked out from the sample
alone (the offered schemas and ``function_map``), so the generator and the verifier apply the same ones:

- :func:`distinguished`: a function offered beside a call's function is told apart by the request when it
  cannot take the call's arguments (an argument it lacks, a required one not given), or by the words of the
  names: the request says a name word of the called API that the other's name lacks, or (the called API's name
  being the plainer one) says none of the other's extra words. Otherwise the sample is ambiguous.
- :func:`could_serve`: an offered function could serve a request meant for another API when its name holds all
  of that API's words (verbs read alike: get/list/find/search/fetch...; a name without a verb reads), or the
  words it lacks are fields of its response; an irrelevance sample offering one is not irrelevant.

:func:`telling_words` lists the words of a request that tell its calls from the near misses, which a paraphrase
must keep.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from toolbench.catalog.pools import snake
from toolbench.generate.nouns import name_words
from toolbench.records import Api

_SKIP = {"by", "for", "of", "the", "a", "an", "to", "and", "in", "on", "with", "is"}
_DESC_STOP = _SKIP | {"v1", "v2", "v3", "v4", "api", "this", "that", "it", "its", "or", "from", "at", "as", "be",
                      "are", "returns", "return", "given", "all", "any", "one", "each"}
# verbs that ask for the same thing (read) or do the same thing: for could_serve only
VERB_CLASS = {"get": "read", "list": "read", "find": "read", "search": "read", "fetch": "read",
              "retrieve": "read", "lookup": "read", "show": "read", "query": "read", "discover": "read",
              "create": "create", "add": "create", "new": "create", "post": "create", "make": "create",
              "update": "update", "edit": "update", "modify": "update", "set": "update", "patch": "update",
              "delete": "delete", "remove": "delete"}
# other verbs an API name may start with (a name starting with none of these names a thing: it reads)
ACTION_VERBS = frozenset({"cancel", "track", "convert", "schedule", "count", "reverse", "check", "calculate", "send",
                          "book", "upload", "download", "translate", "generate", "compare", "login", "logout",
                          "upvote", "verify", "validate", "register", "subscribe", "reset", "submit", "start", "stop",
                          "move", "copy", "share", "pay", "refund", "rate", "vote", "like", "follow", "invite"})


def stem(word: str) -> str:
    """A crude English stem: ``reviews`` -> ``review``, ``cities`` -> ``city``."""
    word = word.casefold()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def name_stems(api_name: str) -> list[str]:
    """The stemmed words of an API name (:func:`toolbench.generate.nouns.name_words`), filler words left out."""
    return list(_name_stems(api_name))


@functools.lru_cache(maxsize=8192)
def _name_stems(api_name: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in name_words(api_name) if w not in _SKIP)


@functools.lru_cache(maxsize=8192)
def _text_words(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in re.findall(r"[A-Za-z]+", snake(text)) if len(w) > 1 and w not in _DESC_STOP)


def _jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def similarity(target: Api, other: Api) -> float:
    """How near a miss ``other`` is for ``target``, in [0, 1]: name words (0.4), description words (0.2), the
    same tool (0.2) or category (0.05), shared required parameters (0.15)."""
    names = _jaccard(set(_name_stems(target.name)), set(_name_stems(other.name)))
    desc = _jaccard(_text_words(target.description or ""), _text_words(other.description or ""))
    same_tool = target.tool == other.tool
    same_cat = bool(target.category) and target.category == other.category
    req_t = {snake(p.name) for p in target.required_params}
    req_o = {snake(p.name) for p in other.required_params}
    params = _jaccard(req_t, req_o) if req_t or req_o else 0.5
    return round(0.4 * names + 0.2 * desc + 0.2 * same_tool + 0.05 * same_cat + 0.15 * params, 4)


def pick_distractors(rng: random.Random, target: Api, pool: Iterable[Api], k: int, near_rate: float,
                     exclude: Iterable[tuple[str, str]] = ()) -> list[Api]:
    """``k`` distractors for ``target`` from ``pool`` (never ``target`` or an ``exclude`` key): each one, with
    probability ``near_rate``, drawn among the nearest remaining candidates (weighted by similarity),
    otherwise uniformly."""
    banned = {target.key, *exclude}
    score = {a.key: similarity(target, a) for a in pool if a.key not in banned}
    scored = sorted((a for a in pool if a.key in score), key=lambda a: (-score[a.key], a.tool, a.name))
    out: list[Api] = []
    while scored and len(out) < k:
        if rng.random() < near_rate:
            top = scored[:max(3, k)]
            choice = rng.choices(top, weights=[score[a.key] + 0.01 for a in top])[0]
        else:
            choice = rng.choice(scored)
        scored.remove(choice)
        out.append(choice)
    return out


# -- rules on a sample ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Offer:
    """An offered function as the rules see it: its API name (from ``function_map``), its parameters."""

    name: str
    api: str
    tool: str
    params: frozenset[str]
    required: frozenset[str]


def offers(functions: list[dict[str, Any]], function_map: dict[str, list[str]]) -> dict[str, Offer]:
    out = {}
    for fn in functions:
        params = fn.get("parameters") or {}
        tool, api = (function_map.get(fn["name"]) or ["", fn["name"]])[:2]
        out[fn["name"]] = Offer(fn["name"], api, tool, frozenset(params.get("properties") or {}),
                                frozenset(params.get("required") or []))
    return out


def offer_of(api: Api) -> Offer:
    """An API as the rules see it, under its own parameter names (before a sample renames them)."""
    return Offer(api.name, api.name, api.tool, frozenset(p.name for p in api.params),
                 frozenset(p.name for p in api.required_params))


def mentioned(word: str, text: str, glossary: dict[str, str] | None = None) -> bool:
    """Whether ``text`` says ``word`` (a stem, at a word start; or its glossary translation)."""
    if re.search(r"(?<![a-z])" + re.escape(word), text.casefold()):
        return True
    if glossary:
        for key in (word, word + "s", word[:-1] + "ies" if word.endswith("y") else ""):
            if key and glossary.get(key, "\0") in text:
                return True
    return False


def distinguished(call_args: dict[str, Any], called: Offer, other: Offer, text: str,
                  glossary: dict[str, str] | None = None) -> str | None:
    """How the request tells ``other`` apart from the function it calls (``"arguments"``, ``"words"``), or
    None when it does not."""
    if set(call_args) - other.params or other.required - set(call_args):
        return "arguments"
    mine, theirs = set(name_stems(called.api)), set(name_stems(other.api))
    extra_mine, extra_theirs = mine - theirs, theirs - mine
    if extra_mine and any(mentioned(w, text, glossary) for w in extra_mine):
        return "words"
    if not extra_mine and extra_theirs and not any(mentioned(w, text, glossary) for w in extra_theirs):
        return "words"
    return None


def ambiguous(functions: list[dict[str, Any]], function_map: dict[str, list[str]], steps: list[Any],
              glossary: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(called, other) pairs of a sample whose request does not tell an offered, uncalled function from a
    called one (``steps``: :class:`~toolbench.generate.call_samples.Step` s)."""
    table = offers(functions, function_map)
    out = []
    for step in steps:
        called = {c.name for c in step.calls}
        for call in step.calls:
            if call.name not in table:
                continue
            for other in table.values():
                if other.name in called or (other.tool, other.api) == (table[call.name].tool, table[call.name].api):
                    continue
                if distinguished(call.arguments or {}, table[call.name], other, step.user or "", glossary) is None:
                    out.append((call.name, other.name))
    return out


def telling_words(functions: list[dict[str, Any]], function_map: dict[str, list[str]], step: Any,
                  glossary: dict[str, str] | None = None) -> list[str]:
    """The words of a step's request that tell its calls from the offered near misses (a called API's name words
    that another offered name lacks and the request says): what a rewrite of the request must keep."""
    table = offers(functions, function_map)
    out: list[str] = []
    for call in step.calls:
        if call.name not in table:
            continue
        mine = set(name_stems(table[call.name].api))
        others = [set(name_stems(o.api)) for o in table.values() if o.name != call.name]
        for word in sorted(mine):
            if any(word not in theirs for theirs in others) and mentioned(word, step.user or "", None):
                out.append(word)
    return list(dict.fromkeys(out))


def _verbs(words: Iterable[str]) -> set[str]:
    """Words with verbs read alike; a name without a verb (``dad_jokes_random``, ``Heizgradtage``) reads."""
    out = {VERB_CLASS.get(w, w) for w in words}
    if out and not out & set(VERB_CLASS.values()) and not out & ACTION_VERBS:
        out.add("read")
    return out


def could_serve(offer_api: str, target_api: str, offer_fields: Iterable[str] = ()) -> bool:
    """Whether an API named ``offer_api`` could do what ``target_api`` does: its name's words (verbs read
    alike) include all of the target's, or the target's words it lacks are fields of its response
    (``offer_fields``: ``get_movie``, whose result has a ``cast``, serves "get movie cast")."""
    target = _verbs(name_stems(target_api))
    mine = _verbs(name_stems(offer_api))
    if not target:
        return False
    missing = target - mine
    if not missing:
        return True
    fields = {stem(w) for f in offer_fields for w in snake(f).split("_") if w}
    return bool(mine & target) and missing <= fields
