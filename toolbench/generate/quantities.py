"""Which parameters of an API take a quantity: a number that measures or counts something (an amount, price,
distance, coordinate, rating, year ...) rather than an identifier, a page of a listing or a phone number. What
``generate calls --number-rate`` samples give (:mod:`toolbench.generate.calls`)."""

from __future__ import annotations

import re

from toolbench.catalog.pools import is_identifier, pool_for, snake
from toolbench.catalog.values import param_schema_for_sampling
from toolbench.records import Api, Param

# numbers that page or index a listing, or are dialled, rather than measure or count something
_NOT_QUANTITY = re.compile(r"(^|_)(page|per_page|page_size|limit|offset|skip|start|index|phone|mobile|zip|"
                           r"postal_code|normalize\w*)$")


# quantities nobody writes as an amount ("2,021" for a year, "1,690,000,000" for a timestamp)
_NOT_AMOUNT = re.compile(r"(^|_)(years?|yr|seasons?|date|time|timestamp|epoch|ts|since|until|version|code)(_|$)")


def is_quantity(param: Param) -> bool:
    """Whether ``param`` takes a number measuring or counting something (module docstring)."""
    return (param_schema_for_sampling(param).get("type") in ("integer", "number") and not is_identifier(param.name)
            and pool_for(param.name, param.description) is None and not _NOT_QUANTITY.search(snake(param.name)))


def is_amount(param: Param) -> bool:
    """Whether ``param``'s numbers may be written the way amounts are ("12,000", "1.5 million", "5%"): a quantity
    that is not a year, season, time stamp, version or code, and whose description calls it no id or code."""
    return (is_quantity(param) and not _NOT_AMOUNT.search(snake(param.name))
            and not re.search(r"\b(id|ids|identifier|code|year)\b", param.description.casefold()))


def is_fraction(param: Param) -> bool:
    """Whether ``param`` holds a rate, ratio or fraction, so that 0.05 may be asked for as "5%"."""
    text = f"{snake(param.name).replace('_', ' ')} {param.description}".casefold()
    return bool(re.search(r"\b(rate|ratio|fraction|decimal|percent|percentage)\b", text))


def quantities(api: Api) -> list[Param]:
    """The parameters of ``api`` that take a number measuring or counting something (an amount, price, distance,
    coordinate, rating, year ...), not an identifier nor a page of a listing: what ``number_rate`` samples give."""
    return [p for p in api.params if is_quantity(p)]
