"""Values shaped like a parameter's documented example (:func:`shaped_like`), the ranges a parameter's name
suggests for a number (:data:`NUMBER_HINTS`), the strings its name alone says the kind of (:func:`named_text`),
and the values its description lists or gives (:func:`listed_options`, :func:`described_example`);
:class:`toolbench.catalog.values.ValueSampler` draws with them."""

from __future__ import annotations

import base64
import math
import random
import re
import string
import uuid

from toolbench.catalog.pools import DOMAINS, FILE_PATHS, FIRST_NAMES, LAST_NAMES, PASSWORD_WORDS, snake

# Default ranges for unbounded numbers, by parameter name.
NUMBER_HINTS: tuple[tuple[str, tuple[float, float]], ...] = (
    (r"(^|_)(lat|latitude)\d?$", (-90, 90)),  # lat1, lat2: two points
    (r"(^|_)(lon|lng|long|longitude)\d?$", (-180, 180)),
    (r"(^|_)year$", (1990, 2025)),
    (r"(^|_)month$", (1, 12)),
    (r"(^|_)(day|weekday)$", (1, 28)),
    (r"(^|_)age$", (18, 90)),
    (r"(^|_)(page|offset|skip)$", (1, 10)),
    (r"(^|_)(limit|size|count|per_page|page_size|top|n|max_results|results)$", (1, 50)),
    (r"(^|_)(days|nights|hours|duration)$", (1, 14)),
    (r"(^|_)(quantity|qty|guests|party_size|people|adults|seats|rooms)$", (1, 8)),
    (r"(^|_)(price|amount|total|budget|cost|salary|min_price|max_price)$", (5, 500)),
    (r"(^|_)(rating|stars|score)$", (1, 5)),
    (r"(^|_)(percent|percentage|discount)$", (0, 100)),
    (r"(^|_)(radius|distance)$", (1, 50)),
)


def formatted_text(fmt: str, key: str, rng: random.Random) -> str | None:
    """A string in the JSON-schema ``format`` ``fmt`` (email, URI, UUID, IPv4/6, host name), or the email or URL a
    (snake-case) name asks for when ``key`` is given; None for anything else."""
    if fmt in ("email", "idn-email") or (key and re.search(r"(^|_)e?mail$", key)):
        return f"{rng.choice(FIRST_NAMES).lower()}.{rng.choice(LAST_NAMES).lower()}@{rng.choice(DOMAINS)}"
    if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference") or (
            key and re.search(r"(^|_)(url|uri|link|website)$", key)):
        domain = rng.choice(DOMAINS)
        return f"https://www.{domain}/{rng.choice(['news', 'shop', 'docs', 'blog'])}/{rng.randrange(1, 999)}"
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if fmt == "ipv4":
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    if fmt == "ipv6":
        return ":".join(f"{rng.randrange(65536):x}" for _ in range(8))
    if fmt in ("hostname", "idn-hostname"):
        return f"api.{rng.choice(DOMAINS)}"
    return None


def named_text(key: str, rng: random.Random) -> str | None:
    """A string of the kind a parameter's (snake-case) name alone says: a checksum, a password, a file path, an
    opaque pagination cursor or token; None for any other name."""
    if re.search(r"(^|_)(checksum|hash|md5|sha1|sha256)$", key):
        return f"{rng.getrandbits(128):032x}"
    if re.search(r"(^|_)(password|passwd|pwd|passphrase)$", key):
        return f"{rng.choice(PASSWORD_WORDS)}-{rng.choice(PASSWORD_WORDS)}{rng.randrange(10, 99)}!"
    if re.search(r"(^|_)(path|file_path|filepath|folder|directory)$", key):
        return rng.choice(FILE_PATHS)
    if re.search(r"(^|_)(cursor|max_cursor|next_cursor|page_token|next_token|search_token|continuation"
                 r"|continuation_token)$", key):  # a token the service gave out
        return base64.urlsafe_b64encode(rng.randbytes(rng.randrange(12, 19))).decode().rstrip("=")
    return None


def number_hint(name: str) -> tuple[float, float] | None:
    """The range a parameter's name suggests for a number (``latitude``: -90..90), or None."""
    key = snake(name)
    return next((r for p, r in NUMBER_HINTS if re.search(p, key)), None)


# Documented "examples" that only say a string goes here (ToolBench's default "string").
PLACEHOLDERS = frozenset({"string", "str", "text", "value", "example", "none", "null", "undefined", "test", "xxx"})


def is_placeholder(value: object) -> bool:
    """Whether a documented example only says "a string goes here" (``"string"``, ``"text"``)."""
    return isinstance(value, str) and value.strip().lower() in PLACEHOLDERS


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK = re.compile(r"\d{4}-\d{2}-\d{2}[T ].*|\d{1,2}:\d{2}(:\d{2})?")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+\.\d+")
_DOMAIN = re.compile(r"(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,6}", re.IGNORECASE)
_FILE = re.compile(r"\.(json|xml|csv|txt|pdf|html?|png|jpe?g|gif|svg|mp3|mp4|wav|zip)$", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z0-9_:.+-]*\d[A-Za-z0-9_:.+-]*")


def shaped_like(example: str, name: str, rng: random.Random) -> str:
    """A new value of the same kind as a parameter's documented ``example`` where that kind is clear, else the
    example itself. Used for a free string whose name picks no pool, so that a ``guid`` gets a GUID and a
    ``domain`` a domain rather than a search keyword:

    - a number (``"40.71"``, ``"-3"``): another number of the same form, in the range the name suggests
      (latitude, page, year ...) or near the example;
    - a domain (``"apify.com"``, not a file name such as ``"logo.png"``): one of the pool's domains;
    - a code with digits (``"56c467cb7b0d"``, ``"G1822"``, ``".xml.2023.06.09.114935064"``): every digit
      redrawn; letters redrawn in their class when they are the code's random body (between digits, or a hex
      code of 8 or more), else kept as its fixed part (``G``, ``.xml.``); length, case and separators stay;
    - anything else (a word, an enum-like ``"json"``, a phrase): the example, which a generated request then
      quotes the way a person would.
    """
    text = example.strip()
    if _CLOCK.fullmatch(text) or ISO_DATE.fullmatch(text):  # dates and times: kept (the caller draws dates)
        return text
    if _DECIMAL.fullmatch(text) or _INTEGER.fullmatch(text):
        decimals = len(text.split(".")[1]) if "." in text else 0
        hint = number_hint(name)
        if hint is None:
            magnitude = abs(float(text)) or 10.0
            lo, hi = (-magnitude * 1.5, magnitude * 1.5) if text.startswith("-") else (magnitude * 0.5, magnitude * 1.5)
        else:
            lo, hi = hint
        if decimals:
            return f"{rng.uniform(lo, hi):.{decimals}f}"
        width = len(text.lstrip("-"))
        if text.lstrip("-").startswith("0") and width > 1:  # a zero-padded code (a ZIP code): keep the width
            return "".join(rng.choice(string.digits) for _ in range(width))
        return str(rng.randint(math.ceil(lo), max(math.ceil(lo), math.floor(hi))))
    if _DOMAIN.fullmatch(text) and not any(c.isdigit() for c in text) and not _FILE.search(text):
        return rng.choice(DOMAINS)
    if _CODE.fullmatch(text) and len(text) >= 3:
        # letters are part of the code's random body when they sit between digits or the code is hex; else
        # they are its fixed part (a prefix "tt", a ".xml." infix) and stay
        body = [c for c in text if c.isalnum()]
        hexish = len(body) >= 8 and all(c in string.hexdigits for c in body)
        random_letters = hexish or bool(re.search(r"\d[A-Za-z]+\d", text))
        out = []
        for c in text:
            if c.isdigit():
                out.append(rng.choice(string.digits))
            elif not c.isalpha() or not random_letters:
                out.append(c)
            elif hexish:
                out.append(rng.choice("abcdef" if c.islower() else "ABCDEF"))
            else:
                out.append(rng.choice(string.ascii_lowercase if c.islower() else string.ascii_uppercase))
        return "".join(out)
    return text


_NOT_OPTIONS = frozenset({"a", "an", "the", "one", "more", "not", "none", "and", "or", "both", "either", "yyyy", "mm",
                          "dd", "hh", "e.g.", "eg", "i.e.", "ie", "etc", "etc."})  # "(e.g., Washington)" lists none


_GIVEN_EXAMPLE = re.compile(r"\b(?:e\.g\.|eg\.|for example|example:)\s*[,:]?\s*([^()\n;]+)", re.IGNORECASE)


def described_example(description: str) -> str | None:
    """The example a description gives in prose: "e.g. Paris, France" -> "Paris, France", "City name, e.g.,
    Bellevue" -> "Bellevue", "(e.g. **bacon and 3 eggs**)" -> "bacon and 3 eggs"; None when it gives none."""
    match = _GIVEN_EXAMPLE.search(description or "")
    if not match:
        return None
    text = re.split(r"\.\s|\s+-\s|\s+or\s+", match.group(1))[0].strip().strip("*`'\" .")
    return text if 0 < len(text) <= 40 and not is_placeholder(text) else None


def listed_options(description: str) -> list[str]:
    """The values a description lists as alternatives and nothing else: "json or xml or php", "Quality of the
    picture: High or Low." and "Method to sort by: newest, oldest, or most_liked." (after a label), "acceptable
    names: 'league', 'conference'. Default: 'league'", "... (mainnet/testnet)" (in brackets); [] otherwise
    ("Whether to include it or not", "YYYY/MM/DD", "input/output file", "e.g. Paris, France" list no values)."""
    if not description or len(description) > 200:
        return []
    text = description.strip()
    candidates = [text, *(part.split(". ")[0] for part in text.split(":")[1:]), *re.findall(r"\(([^()]*)\)", text)]
    for candidate in candidates:
        parts = [p.strip("'\"` ") for p in re.split(r",\s*(?:or\s+)?|\s+or\s+|\s*[/|]\s*",
                                                     candidate.strip().rstrip(".!? "))]
        if (2 <= len(parts) <= 8 and all(re.fullmatch(r"[A-Za-z][\w.-]{0,24}", p) for p in parts)
                and not any(p.casefold() in _NOT_OPTIONS for p in parts)
                and len({p.casefold() for p in parts}) == len(parts)):
            return parts
    return []
