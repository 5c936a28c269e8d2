"""The forms a value may take in a request, shared by the writer (:mod:`toolbench.generate.phrasing`) and the
checker (the meaning stage of :mod:`toolbench.generate.verify`), so they always agree.

A value is stated when the request holds it verbatim (case-insensitive) or in one of its natural forms. Two
kinds have natural forms:

- a calendar date ``YYYY-MM-DD``, which may be written "May 1, 2024", "1 May 2024", "May 1st, 2024" or
  "2024年5月1日". The writer uses them only for a parameter whose schema fixes the date format (``format: date``,
  a ``YYYY-MM-DD`` pattern or description), so the argument the request implies is exactly the expected value:
  the text states the date, the schema says how to write it;
- a number (:func:`number_forms`): a whole number from 1,000 up with its thousands separated ("12,000"), a
  round million in words ("1.5 million"), a decimal fraction as a percentage ("0.05" as "5%"). The writer uses
  them only for an amount (:func:`toolbench.generate.quantities.is_amount`: not an id, year or time stamp, which
  keep their digits), the percentage only for a parameter that says it holds a rate, ratio or decimal fraction,
  so "5%" asks for 0.05 there; English requests only.
"""

from __future__ import annotations

import datetime as dt
import json
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


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def number_forms(mention: str) -> list[str]:
    """Prose forms of a number written as digits: "12,000" for 12000, also "1.5 million" for 1500000 (a multiple
    of 100,000 from a million up), "5%" for 0.05 (a fraction between 0 and 1 with at most four decimals, so the
    percentage is exact)."""
    if not _NUMBER.match(mention):
        return []
    out = []
    if "." not in mention and abs(int(mention)) >= 1000:
        n = int(mention)
        out.append(f"{n:,}")
        if abs(n) >= 1_000_000 and n % 100_000 == 0:
            out.append(f"{n / 1_000_000:g} million")
    elif "." in mention and 0 < float(mention) < 1 and len(mention.partition(".")[2]) <= 4:  # "12.5%", exact
        out.append(f"{round(float(mention) * 100, 2):g}%")
    return out


def forms(mention: str) -> list[str]:
    """Every form in which ``mention`` (a string a request must state) counts as stated."""
    day = as_date(mention)
    return [mention, *date_forms(day)] if day else [mention, *number_forms(mention)]


def _appears(form: str, folded: str, mention: str) -> bool:
    """Whether ``form`` of ``mention`` is in ``folded``; a number's prose form must stand alone ("5%" is not in
    "0.5%", "12,000" not in "112,000")."""
    if form == mention or not number_forms(mention):
        return form.casefold() in folded
    return re.search(rf"(?<![\d.,]){re.escape(form.casefold())}(?![.,]?\d)", folded) is not None


def stated(mention: str, text: str) -> bool:
    """Whether ``text`` states ``mention`` verbatim or in one of its natural forms."""
    folded = text.casefold()
    return any(_appears(form, folded, mention) for form in forms(mention))


def found(mention: str, text: str) -> str:
    """The form in which ``text`` states ``mention`` (``mention`` itself when it does not)."""
    folded = text.casefold()
    return next((form for form in forms(mention) if _appears(form, folded, mention)), mention)


def natural_number(value: float, language: str, rng: random.Random, *, percent: bool = False) -> str:
    """A number as people write it in English (:func:`number_forms`; the percentage only with ``percent``), the
    digits kept now and then; in other languages, and for numbers without another form, its digits."""
    text = json.dumps(value)
    options = [f for f in number_forms(text) if percent or not f.endswith("%")] if language == "en" else []
    return rng.choice([text, *options]) if options else text


def natural_date(value: str, language: str, rng: random.Random) -> str:
    """A date written as people write it (the ISO form kept now and then); other values unchanged."""
    day = as_date(value)
    if day is None:
        return value
    if language == "zh":
        return rng.choice([date_forms(day)[3]] * 3 + [value])
    return rng.choice([*date_forms(day)[:3], value])
