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


def quantities(api: Api) -> list[Param]:
    """The parameters of ``api`` that take a number measuring or counting something (an amount, price, distance,
    coordinate, rating, year ...), not an identifier nor a page of a listing: what ``number_rate`` samples give."""
    return [p for p in api.params if param_schema_for_sampling(p).get("type") in ("integer", "number")
            and not is_identifier(p.name) and pool_for(p.name, p.description) is None
            and not _NOT_QUANTITY.search(snake(p.name))]
