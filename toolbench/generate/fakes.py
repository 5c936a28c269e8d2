"""Made-up entities for hallucination traps: a name that sounds real (a company, a movie, a restaurant...) and
the kind of thing an identifier parameter names (``movie_id`` -> "movie", ``ticker`` -> "company")."""

from __future__ import annotations

import random

from toolbench.catalog.pools import snake
from toolbench.generate import render
from toolbench.records import Api


def fake_name(rng: random.Random, language: str, kind: str) -> str:
    if language == "zh":
        sylls = "瑞恩泰宏鑫博奥拓澜峰璟翊"
        suffix = {"company": rng.choice(["科技", "集团", "控股"])}.get(kind, "")
        return "".join(rng.sample(sylls, 3)) + suffix
    sylls = ["quor", "vex", "blen", "thor", "zyl", "mara", "kest", "drin", "vol", "sarn", "pex", "ulo", "trin", "garv"]
    word = (rng.choice(sylls) + rng.choice(sylls)).capitalize()
    suffix = {"company": rng.choice(["Dynamics", "Labs", "Holdings", "Systems", "Industries"]),
              "movie": rng.choice(["Rising", "of the Deep", "Protocol"]),
              "restaurant": rng.choice(["Bistro", "Kitchen", "Grill"])}.get(kind, "")
    return f"{word} {suffix}".strip()


def entity_kind(param: str, api: Api) -> str:
    key = snake(param)
    if key in ("ticker", "symbol", "stock_symbol"):
        return "company"
    if key.endswith("_id") and key != "is_id":
        return key[:-3].replace("_", " ")
    nouns = [w for w in render.words(api.name) if w.isalpha() and len(w) > 2 and w not in _NOT_A_KIND]
    return _singular(nouns[-1]) if nouns else "item"


# words of an API name that name no kind of thing ("Search trips from-to", "Get User By ID", "player details")
_NOT_A_KIND = frozenset({"the", "from", "for", "with", "all", "get", "set", "put", "post", "delete", "list", "search",
                         "find", "fetch", "show", "new", "latest", "name", "names", "ids", "detail", "details", "info",
                         "information", "data", "stats", "statistics", "api", "endpoint", "by", "and"})


def _singular(word: str) -> str:
    """"trips" -> "trip", "coaches" -> "coach", "categories" -> "category"; "news", "address" stay."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "news")):
        return word[:-1]
    return word
