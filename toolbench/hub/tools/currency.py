"""FXRates: currency list, latest and historical exchange rates, conversion and time series."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from toolbench.hub.base import (
    ERROR_RESPONSES,
    ErrorBody,
    HubTool,
    bad_request,
    hub_clock,
    not_found,
    rng,
    tool_state,
)
from toolbench.hub.world import CURRENCIES

SLUG = "fx"
router = APIRouter(prefix=f"/{SLUG}", tags=["FXRates"], responses=ERROR_RESPONSES)
NOT_FOUND = {404: {"model": ErrorBody, "description": "Unknown currency code"},
             400: {"model": ErrorBody, "description": "Bad date or range"}}


class Currency(BaseModel):
    code: str = Field(description="ISO 4217 code")
    name: str


class CurrencyList(BaseModel):
    count: int
    currencies: list[Currency]


class Rates(BaseModel):
    base: str
    date: str
    rates: dict[str, float] = Field(description="Units of each currency per 1 unit of the base")


class Conversion(BaseModel):
    from_currency: str
    to_currency: str
    amount: float
    rate: float
    result: float
    date: str


class TimeSeries(BaseModel):
    base: str
    symbol: str
    start_date: str
    end_date: str
    rates: dict[str, float] = Field(description="Date (YYYY-MM-DD) -> rate")


class FxModel:
    def __init__(self, seed: int):
        self.seed = seed

    def per_usd(self, code: str, day: date) -> float:
        _, center = CURRENCIES[code]
        if code == "USD":
            return 1.0
        phase = rng(self.seed, SLUG, code).uniform(0, 2 * math.pi)
        noise = rng(self.seed, SLUG, code, day.isoformat()).gauss(0, 0.004)
        return center * (1 + 0.03 * math.sin(day.toordinal() / 40 + phase) + noise)

    def rate(self, base: str, symbol: str, day: date) -> float:
        return round(self.per_usd(symbol, day) / self.per_usd(base, day), 6)


def code_of(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise not_found("currency", value, "list supported codes with /fx/currencies")
    return code


def symbols_of(value: str | None, base: str) -> list[str]:
    if not value:
        return [c for c in CURRENCIES if c != base]
    return [code_of(s) for s in value.split(",") if s.strip()]


State = Annotated[FxModel, Depends(tool_state(SLUG))]
Clock = Annotated[datetime, Depends(hub_clock)]
BaseQ = Annotated[str, Query(description="Base currency (ISO 4217)", examples=["USD"])]
SymbolsQ = Annotated[str | None, Query(description="Comma-separated target currencies; all when omitted",
                                       examples=["EUR,GBP"])]


@router.get("/currencies", operation_id="list_currencies", summary="List currencies",
            description="All currencies with exchange rates.")
async def currencies() -> CurrencyList:
    return CurrencyList(count=len(CURRENCIES), currencies=[Currency(code=c, name=n) for c, (n, _) in CURRENCIES.items()])


@router.get("/latest", operation_id="get_latest_rates", summary="Latest rates",
            description="Today's exchange rates from a base currency.", responses=NOT_FOUND)
async def latest(state: State, clock: Clock, base: BaseQ = "USD", symbols: SymbolsQ = None) -> Rates:
    b = code_of(base)
    day = clock.date()
    return Rates(base=b, date=day.isoformat(), rates={s: state.rate(b, s, day) for s in symbols_of(symbols, b)})


@router.get("/convert", operation_id="convert_currency", summary="Convert currency",
            description="Convert an amount between two currencies at today's (or a past day's) rate.",
            responses=NOT_FOUND)
async def convert(state: State, clock: Clock,
                  from_: Annotated[str, Query(alias="from", description="Source currency", examples=["USD"])],
                  to: Annotated[str, Query(description="Target currency", examples=["EUR"])],
                  amount: Annotated[float, Query(gt=0, description="Amount in the source currency",
                                                 examples=[100])] = 1.0,
                  date_: Annotated[date | None, Query(alias="date", description="Past date (YYYY-MM-DD); "
                                                      "today when omitted")] = None) -> Conversion:
    a, b = code_of(from_), code_of(to)
    day = _past(date_, clock.date()) if date_ else clock.date()
    rate = state.rate(a, b, day)
    return Conversion(from_currency=a, to_currency=b, amount=amount, rate=rate, result=round(amount * rate, 4),
                      date=day.isoformat())


def _past(day: date, today: date) -> date:
    if day > today:
        raise bad_request(f"date {day.isoformat()} is in the future; rates exist up to {today.isoformat()}")
    if day < date(1999, 1, 4):
        raise bad_request("rates start on 1999-01-04")
    return day


@router.get("/historical", operation_id="get_historical_rates", summary="Historical rates",
            description="Exchange rates from a base currency on a past date.", responses=NOT_FOUND)
async def historical(state: State, clock: Clock,
                     date_: Annotated[date, Query(alias="date", description="YYYY-MM-DD",
                                                  examples=["2024-06-28"])],
                     base: BaseQ = "USD", symbols: SymbolsQ = None) -> Rates:
    b = code_of(base)
    day = _past(date_, clock.date())
    return Rates(base=b, date=day.isoformat(), rates={s: state.rate(b, s, day) for s in symbols_of(symbols, b)})


@router.get("/timeseries", operation_id="get_rate_time_series", summary="Rate time series",
            description="Daily rates of one currency pair between two dates (at most 92 days).",
            responses=NOT_FOUND)
async def timeseries(state: State, clock: Clock,
                     symbol: Annotated[str, Query(description="Target currency", examples=["JPY"])],
                     start_date: Annotated[date, Query(description="First day", examples=["2024-12-01"])],
                     end_date: Annotated[date, Query(description="Last day", examples=["2024-12-31"])],
                     base: BaseQ = "USD") -> TimeSeries:
    b, s = code_of(base), code_of(symbol)
    start, end = _past(start_date, clock.date()), _past(end_date, clock.date())
    if end < start:
        raise bad_request("end_date is before start_date; swap them")
    if (end - start).days > 92:
        raise bad_request("the range spans more than 92 days; split it into shorter ranges")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return TimeSeries(base=b, symbol=s, start_date=start.isoformat(), end_date=end.isoformat(),
                      rates={d.isoformat(): state.rate(b, s, d) for d in days})


TOOL = HubTool(slug=SLUG, name="FXRates", category="Finance",
               description="Foreign exchange rates for 15 currencies: latest and historical rates, conversion "
                           "and daily time series.",
               router=router, make_state=FxModel)
