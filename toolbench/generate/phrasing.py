"""What an API does and what each argument says, phrased from the catalog's *descriptions*, not its names.

- :func:`intent`: an API as a verb phrase and, when its description is a noun phrase, a noun phrase ("Current
  weather conditions in a city: ..." -> "check the current weather conditions" / "the current weather
  conditions"; "Returns the profile of a company" -> "get the profile of a company"). An API without a usable
  description (empty, a copy of its name, too long, or one that says nothing of what the name says) is phrased
  from its name.
- :func:`argument`: one argument as people give it, by what kind of value it is: an identifier as "order
  12345", a place as "in Paris", a date in prose when the schema fixes its format ("from May 1, 2024"), a
  number with the unit its description names ("within 5 km"), a limit as "just 10 results", a list as "red,
  green and blue", a flag from its description ("include the hourly forecast"), anything else with a short
  noun taken from its description. A multi-word parameter name is never written out.

Everything here is a pure function of its inputs and an rng, so a sample depends only on its seed.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from toolbench.catalog.pools import is_identifier, pool_for, snake
from toolbench.generate import surface
from toolbench.generate.nouns import api_noun, name_words
from toolbench.generate.quantities import is_amount, is_fraction
from toolbench.records import Api, Param

_BASE = {
    "gets": "get",
    "returns": "get",
    "return": "get",
    "retrieves": "get",
    "retrieve": "get",
    "fetches": "get",
    "fetch": "get",
    "provides": "get",
    "shows": "show",
    "lists": "list",
    "searches": "search",
    "finds": "find",
    "creates": "create",
    "adds": "add",
    "updates": "update",
    "deletes": "delete",
    "removes": "remove",
    "cancels": "cancel",
    "converts": "convert",
    "generates": "generate",
    "checks": "check",
    "calculates": "calculate",
    "computes": "calculate",
    "tracks": "track",
    "schedules": "schedule",
    "counts": "count",
    "sends": "send",
    "books": "book",
    "translates": "translate",
    "detects": "detect",
    "validates": "validate",
    "looks": "look",
    "discovers": "discover",
    "reverses": "reverse",
    "registers": "register",
    "uploads": "upload",
    "downloads": "download",
    "verifies": "verify",
    "predicts": "predict",
    "analyzes": "analyze",
    "analyses": "analyse",
    "estimates": "estimate",
    "resolves": "resolve",
    "submits": "submit",
    "displays": "show",
    "display": "show",
}
_VERBS = set(_BASE.values()) | {
    "get",
    "list",
    "search",
    "find",
    "create",
    "add",
    "update",
    "delete",
    "cancel",
    "convert",
    "generate",
    "check",
    "calculate",
    "track",
    "schedule",
    "count",
    "send",
    "book",
    "translate",
    "detect",
    "validate",
    "set",
    "post",
    "put",
    "remove",
    "fetch",
    "lookup",
    "compare",
    "reserve",
    "estimate",
}
_LOOK = ("get", "check", "look up", "pull up", "find", "fetch")
_FILLER = re.compile(
    r"^(this|the)\s+(endpoint|api|tool|service|method|function|route|resource|ressource|operation|call)\s+"
    r"(will\s+)?"
    r"(allows?\s+(you\s+)?to\s+|lets\s+you\s+|is\s+used\s+to\s+|(can|should)\s+be\s+used\s+to\s+)?",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"\s+(?:in|for|of|by|from|on|at|with|near|around|about)\s+(?:a|an|one|some|given|a given|the "
    r"given|the specified|specified|any)\s+[\w\- ]+$",
    re.IGNORECASE,
)
_UNITS = (
    "km/h",
    "mph",
    "km",
    "kilometers",
    "kilometres",
    "miles",
    "meters",
    "metres",
    "minutes",
    "hours",
    "days",
    "seconds",
    "percent",
    "%",
    "kg",
    "grams",
    "calories",
    "people",
    "guests",
    "nights",
    "years",
)
_ENDS = ("currency", "city", "country", "timezone", "language")  # pools whose from/to keys are said "from X to Y"
_GENERIC_NOUNS = {"name", "value", "parameter", "string", "number", "integer", "the", "a", "an"}


@dataclass(frozen=True)
class Intent:
    vp: str  # "check the current weather conditions"
    np: str | None  # "the current weather conditions", or None when the API is an action ("create a ticket")


_TITLED = re.compile(r"[A-Z][a-z]+\W*")


def _untitled(text: str) -> str:
    """``text`` in sentence case when it is written in Title Case ("Get User Replies By ID" -> "Get user replies by
    ID"): capitalised words after the first are lowered, acronyms and mixed-case names (ID, NBA, iPhone) kept."""
    first, *rest = text.split(" ")
    titled = [bool(_TITLED.fullmatch(w)) for w in rest]
    if sum(titled) < 2 or any(re.fullmatch(r"[a-z]{4,}\W*", w) for w in rest):  # a real lower-case word: not Title Case
        return text
    return " ".join([first, *(w.lower() if t else w for w, t in zip(rest, titled, strict=True))])


def _clause(description: str) -> str:
    text = _untitled(re.sub(r"\([^)]*\)", "", description or "").strip().replace("´", "'").replace("’", "'"))
    text = re.split(r"(?<=[a-z0-9])\.\s|[:;\n]|\s[-–—]\s", text)[0].strip().rstrip(".")
    text = _FILLER.sub("", re.sub(r"\s+", " ", text)).strip()
    text = re.sub(  # "Will return the standings" -> "return the standings"
        r"^(?:this|it|which)\s+(?=[a-z]+s\b)|^(?:is\s+)?used\s+to\s+|^(?:will|can|should|may)\s+(?=[a-z]+\b)", "",
        text, flags=re.IGNORECASE
    )
    return _TAIL.sub("", text).strip()


def _documentation(text: str) -> bool:
    """Whether a description reads as documentation about the call rather than what it does ("enter your ID
    in the required parameters", "with "Get scheduled games" you'll receive ...", "**Trending videos**")."""
    return bool(
        re.search(
            r"[{}<>`\"*\[\]|#@=]|https?:|\b(you|your|you'll|parameters?|endpoints?|api|json|"
            r"request|response|param|query string|required|optional|e\.g|i\.e)\b",
            text,
            re.IGNORECASE,
        )
    )


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    return text if first.isupper() and len(first) > 1 else text[:1].lower() + text[1:]


_DETERMINER = re.compile(r"(the|a|an|all|my|your|this|these|that|those|its|our|their|each|every|\d)\b",
                         re.IGNORECASE)


def _the(noun: str) -> str:
    """``noun`` with "the" before it, unless it starts with a determiner already ("the places", "all users")."""
    return noun if _DETERMINER.match(noun) else f"the {noun}"


def intent(api: Api, rng: random.Random, mentions: Any = None) -> Intent:
    """The API as a verb phrase (and a noun phrase when it fetches something). ``mentions(api_name, text)``
    says whether a text names what the API does; a phrase from the description that fails it is not used."""
    clause = _clause(api.description)
    words = clause.split()
    from_name = " ".join(name_words(api.name)) or "call the service"
    usable = (
        2 <= len(words) <= 14 and clause.casefold() != from_name.casefold() and not _documentation(clause)
    )
    if usable and mentions is not None and not mentions(api.name, clause):
        usable = False
    if not usable:
        first, _, rest = from_name.partition(" ")
        if first in _VERBS and rest:
            return Intent(from_name, _the(rest) if first in ("get", "list", "fetch", "search") else None)
        if first in _VERBS:
            return Intent(from_name, None)
        return Intent(f"{rng.choice(_LOOK)} {_the(from_name)}", _the(from_name))
    first, _, rest = clause.partition(" ")
    verb = _BASE.get(first.casefold(), first.casefold())
    if verb in _VERBS and rest:
        rest = _lower_first(rest)
        if verb == "look" and rest.startswith("up "):
            verb, rest = "look up", rest[3:]
        return Intent(f"{verb} {rest}", rest if verb in ("get", "list", "show", "fetch", "find") else None)
    noun = _lower_first(clause)
    if not _DETERMINER.match(noun):
        noun = ("the " if rng.random() < 0.7 else "") + noun
    return Intent(f"{rng.choice(_LOOK)} {noun}", noun)


# -- arguments ------------------------------------------------------------------------------------------------


def _short_noun(param: Param) -> str:
    """A short noun for what a parameter holds: from its description when that is a short noun phrase, else the
    last word of its name (never the whole multi-word name)."""
    desc = _clause(param.description)
    desc = re.sub(r"^(the|a|an)\s+", "", desc, flags=re.IGNORECASE)
    words = desc.split()
    whole = " ".join(name_words(param.name))
    plain = all(w.isalpha() and w.casefold() not in ("or", "and") for w in words)
    if (
        1 <= len(words) <= 3
        and plain
        and desc.casefold() != whole.casefold()
        and words[0].casefold() not in _BASE
        and words[0].casefold() not in _VERBS
        and not (len(name_words(param.name)) > 1 and whole.casefold() in desc.casefold())
        and not _documentation(desc)
    ):
        return _lower_first(desc)
    parts = name_words(param.name) or [param.name]
    parts = [p for p in parts if p not in ("is", "id")] or parts
    return parts[-1]


def _listed(items: list[str], conj: str = "and") -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {conj} " + items[-1]


def value_text(value: Any, param: Param | None, language: str, rng: random.Random) -> str:
    """A value in the form a request states it (see :mod:`toolbench.generate.surface`)."""
    if isinstance(value, str):
        return (
            surface.natural_date(value, language, rng) if param is not None and date_typed(param) else value
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value)
    ):
        items = [value_text(v, param, language, rng) for v in value]
        return "、".join(items) if language == "zh" else _listed(items)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = [value_text(v, param, language, rng) for v in value]
        return "；".join(items) if language == "zh" else _listed(items)
    if isinstance(value, dict):
        inner = [
            f"{' '.join(name_words(k)) or k} {value_text(v, None, language, rng)}"
            for k, v in value.items()
            if v is not None
        ]
        return ("（" + "，".join(inner) + "）") if language == "zh" else "(" + ", ".join(inner) + ")"
    if isinstance(value, (int, float)):
        if param is None or not is_amount(param):  # an id, a year, a page: its digits ("ID 3633", "2021")
            return str(value)
        return surface.natural_number(value, language, rng, percent=is_fraction(param))
    import json

    return json.dumps(value, ensure_ascii=False)


def date_typed(param: Param) -> bool:
    schema = param.schema or {}
    text = f"{param.description} {schema.get('pattern', '')}"
    return schema.get("format") == "date" or "YYYY-MM-DD" in text.upper() or r"\d{4}-\d{2}-\d{2}$" in text


def _unit(param: Param) -> str | None:
    desc = f" {param.description} "
    for unit in _UNITS:
        if re.search(rf"(?<![A-Za-z]){re.escape(unit)}(?![A-Za-z])", desc):
            return unit
    return None


def argument(
    param: Param,
    value: Any,
    rng: random.Random,
    api: Api | None = None,
    several: list[Any] | None = None,
    said: str = "",
) -> str:
    """One argument as an English phrase that states its value (see the module doc); ``several``: the phrase
    for several values of it at once ("in Paris, London and Tokyo"), one call each; ``said``: the rest of the
    request, so an identifier's entity is not said twice ("get the order ORD-1", not "get the order order
    ORD-1")."""
    if several:
        value = several[0]
        v = _listed([value_text(x, param, "en", rng) for x in several])
    else:
        v = value_text(value, param, "en", rng)
    key = snake(param.name)
    words = name_words(param.name)
    noun = _short_noun(param)
    plural = bool(several) or (isinstance(value, list) and len(value) > 1)
    if isinstance(value, bool):
        return _flag(param, value, rng)
    pool = pool_for(param.name, param.description)
    if is_identifier(param.name) and pool is None and not isinstance(value, (list, dict)):
        entity = " ".join(w for w in words if w not in ("id", "ids", "is", "uuid", "key")) or (
            api_noun(name_words(api.name)) if api is not None else "item"
        )
        if several:
            return rng.choice((f"{entity}s {v}", f"each of the {entity}s {v}"))
        if said and re.search(rf"\b{re.escape(entity)}", said, re.IGNORECASE):
            return rng.choice(
                (v, f"number {v}", f"with ID {v}", f"#{v}" if isinstance(value, int) else f"'{v}'")
            )
        return rng.choice(
            (
                f"{entity} {v}",
                f"{entity} {v}",
                f"the {entity} with ID {v}",
                f"{entity} #{v}" if isinstance(value, int) else f"{entity} '{v}'",
                f"my {entity} {v}",
            )
        )
    if date_typed(param) and isinstance(value, str):
        if re.search(r"(^|_)(start|from|since|begin|after|check_in|checkin)", key):
            return rng.choice((f"from {v}", f"starting {v}"))
        if re.search(r"(^|_)(end|to|until|till|before|check_out|checkout)", key):
            return rng.choice((f"until {v}", f"through {v}", f"to {v}"))
        return rng.choice((f"on {v}", f"for {v}", f"dated {v}"))
    if pool in _ENDS and not isinstance(value, (list, dict)):  # one end of a trip, a conversion, a translation
        if re.search(r"(^|_)(from|source|base|have|origin|departure)", key):
            return rng.choice((f"from {v}", f"from {v}", f"out of {v}" if pool == "currency" else f"from {v}"))
        if re.search(r"(^|_)(to|target|want|destination|arrival)", key):
            return rng.choice((f"to {v}", f"into {v}" if pool in ("currency", "language") else f"to {v}"))
    if pool == "country_code" and isinstance(value, str):
        return rng.choice((f"in {v}", f"for {v}", f"for country {v}"))
    if pool in ("city", "country", "address"):
        return rng.choice((f"in {v}", f"for {v}", f"around {v}")) if pool != "address" else f"at {v}"
    counted = isinstance(value, int) or (isinstance(value, str) and value.isdigit())  # "7" for a string per_page
    if re.search(r"(^|_)(limit|max_results|count|size|per_page|top|n)$", key) and counted:
        results = "result" if str(value) == "1" else "results"
        return rng.choice((f"just {v} {results}", f"at most {v} of them", f"the top {v}", f"no more than {v}"))
    if re.search(r"(^|_)(page|page_number)$", key) and counted:
        return rng.choice((f"page {v}", f"on page {v}"))
    if re.search(r"(^|_)(offset|skip|start)$", key) and counted:
        return rng.choice((f"skipping the first {v}", f"starting after the first {v}"))
    if re.search(r"(^|_)(q|query|keyword|keywords|search|term|text|prompt)$", key) and isinstance(value, str):
        if several:  # quotes around each value, not around the list ("AAPL" and "Tesla", not "AAPL and Tesla")
            quoted = _listed([f'"{value_text(x, param, "en", rng)}"' for x in several])
            return rng.choice((f"about {v}", f"matching {quoted}", f"for {quoted}", f"on {v}"))
        return rng.choice((f"about {v}", f'matching "{v}"', f'for "{v}"', f"on {v}"))
    if re.search(r"(^|_)(sort|sort_by|order_by|sortby|orderby)$", key):
        return rng.choice((f"sorted by {v}", f"ordered by {v}"))
    unit = _unit(param)
    if isinstance(value, (int, float)) and unit:
        sep = "" if unit == "%" else " "
        if re.search(r"(^|_)(radius|distance|within|max)", key):
            return f"within {v}{sep}{unit}"
        return rng.choice((f"{v}{sep}{unit}", f"{noun} of {v}{sep}{unit}"))
    if (param.schema or {}).get("enum") and isinstance(value, str):
        return rng.choice(
            (
                f"{v} {noun}",
                f"{noun} {v}",
                f"with {noun} set to {v}",
                f"only {v} ones" if noun in ("status", "state", "type", "kind") else f"{v} as the {noun}",
            )
        )
    if plural:
        return rng.choice((f"{noun} {v}", f"{noun} {v}", f"for {v}"))
    return rng.choice(
        (f"{noun} {v}", f"with {noun} {v}", f"{noun} {v}", f"{noun}: {v}", f"{v} as the {noun}")
    )


def _flag(param: Param, value: bool, rng: random.Random) -> str:
    desc = _clause(param.description)
    match = re.match(r"(?:whether|if)\s+(?:to\s+)?(.+)", desc, re.IGNORECASE) or re.match(
        r"((?:include|show|return|add|use|enable|only|exclude|hide|return)\b.*)", desc, re.IGNORECASE
    )
    if match and len(match.group(1).split()) <= 8:
        what = _lower_first(match.group(1))
        if what.startswith("only "):
            return what if value else f"not limited to {what[5:]}"
        return what if value else rng.choice((f"don't {what}", f"no need to {what}"))
    noun = _short_noun(param)
    return (
        rng.choice((f"with {noun} on", f"{noun} enabled"))
        if value
        else rng.choice((f"with {noun} off", f"{noun} disabled"))
    )


def arguments(api: Api | None, args: dict[str, Any], rng: random.Random, said: str = "") -> list[str]:
    """The phrases of a call's arguments, in the order given; a None value (an optional argument left empty) is
    left unsaid."""
    params = {p.name: p for p in api.params} if api is not None else {}
    money = _money(args, params)
    out = []
    for k, v in args.items():
        if v is None or (money and k in money and k != _first(args, money)):
            continue
        if money and k in money:
            amount, currency = str(args[money[0]]), str(args[money[1]])
            out.append(rng.choice((f"{amount} {currency}", f"{amount} {currency}", f"{currency} {amount}")))
            continue
        phrase = argument(params.get(k) or Param(name=k), v, rng, api, said=said)
        if out and re.match(r"(from|out of|starting) ", out[-1]) and re.match(r"(to|into|until|through) ", phrase):
            out[-1] = f"{out[-1]} {phrase}"  # one range or move: "from AUD into EUR", not "from AUD and into EUR"
        else:
            out.append(phrase)
    return out


def _first(args: dict[str, Any], keys: tuple[str, str]) -> str:
    return next(k for k in args if k in keys)


def _money(args: dict[str, Any], params: dict[str, Param]) -> tuple[str, str] | None:
    """(amount argument, currency argument) when a call gives an amount and the currency it is in, so they are
    said together ("250 USD")."""
    amount = next(
        (
            k
            for k, v in args.items()
            if isinstance(v, (int, float))
            and not isinstance(v, bool)
            and re.search(r"(^|_)(amount|price|total|sum|value)$", snake(k))
        ),
        None,
    )
    currency = next(
        (
            k
            for k, v in args.items()
            if isinstance(v, str)
            and pool_for(k, params[k].description if k in params else "") == "currency"
            and re.search(r"(^|_)(from|source|base|have|currency)$", snake(k))
        ),
        None,
    )
    return (amount, currency) if amount and currency else None


def joined_phrases(phrases: list[str]) -> str:
    return _listed(phrases) if phrases else ""
