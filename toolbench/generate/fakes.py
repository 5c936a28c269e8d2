"""Made-up entities for hallucination traps: a name that sounds real (a company, a movie, a restaurant...) and
the kind of thing an identifier parameter names (``movie_id`` -> "movie", ``ticker`` -> "company")."""

from __future__ import annotations

import random

from toolbench.catalog.pools import snake
from toolbench.generate.nouns import api_noun, name_words
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
    return api_noun(name_words(api.name))
