"""The forms a value may take in a request, shared by the writer (:mod:`toolbench.generate.phrasing`) and the
checker (the meaning stage of :mod:`toolbench.generate.verify`), so they always agree.

A value is stated when the request holds it verbatim (case-insensitive) or in one of its natural forms. Today
one kind has natural forms: a calendar date ``YYYY-MM-DD``, which may be written "May 1, 2024", "1 May 2024",
"May 1st, 2024" or "2024年5月1日". The writer uses them only for a parameter whose schema fixes the date format
(``format: date``, a ``YYYY-MM-DD`` pattern or description), so the argument the request implies is exactly the
expected value: the text states the date, the schema says how to write it.
"""

from __future__ import annotations

import datetime as dt
import random
import re

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def as_date(text: str) -> dt.date | None:
    if not isinstance(text, str) or not _ISO_DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def date_forms(day: dt.date) -> list[str]:
    """Prose forms of a date, English then Chinese."""
    month = _MONTHS[day.month - 1]
    return [
        f"{month} {day.day}, {day.year}",
        f"{day.day} {month} {day.year}",
        f"{month} {_ordinal(day.day)}, {day.year}",
        f"{day.year}年{day.month}月{day.day}日",
    ]


def forms(mention: str) -> list[str]:
    """Every form in which ``mention`` (a string a request must state) counts as stated."""
    day = as_date(mention)
    return [mention, *date_forms(day)] if day else [mention]


def stated(mention: str, text: str) -> bool:
    """Whether ``text`` states ``mention`` verbatim or in one of its natural forms."""
    folded = text.casefold()
    return any(form.casefold() in folded for form in forms(mention))


def found(mention: str, text: str) -> str:
    """The form in which ``text`` states ``mention`` (``mention`` itself when it does not)."""
    folded = text.casefold()
    return next((form for form in forms(mention) if form.casefold() in folded), mention)


def natural_date(value: str, language: str, rng: random.Random) -> str:
    """A date written as people write it (the ISO form kept now and then); other values unchanged."""
    day = as_date(value)
    if day is None:
        return value
    if language == "zh":
        return rng.choice([date_forms(day)[3]] * 3 + [value])
    return rng.choice([*date_forms(day)[:3], value])
