"""StockQuotes: company search, quotes, profiles, price history and market movers (fictional companies)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
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
from toolbench.hub.world import COMPANIES

SLUG = "stocks"
router = APIRouter(prefix=f"/{SLUG}", tags=["StockQuotes"], responses=ERROR_RESPONSES)
NOT_FOUND = {404: {"model": ErrorBody, "description": "No such ticker or company"}}


class Direction(str, Enum):
    gainers = "gainers"
    losers = "losers"


class Interval(str, Enum):
    daily = "daily"
    weekly = "weekly"


class Match(BaseModel):
    ticker: str
    name: str
    exchange: str


class CompanyMatches(BaseModel):
    count: int
    results: list[Match]


class Quote(BaseModel):
    ticker: str
    name: str
    price: float = Field(description="Last price, USD")
    change: float
    change_percent: float
    open: float
    high: float
    low: float
    previous_close: float
    volume: int
    date: str


class Profile(BaseModel):
    ticker: str
    name: str
    sector: str
    exchange: str
    employees: int
    market_cap: float = Field(description="USD")
    pe_ratio: float
    dividend_yield: float = Field(description="Percent")
    description: str


class Bar(BaseModel):
    date: str
    open: float
    high: float
    low: float
    close: float
    volume: int


class History(BaseModel):
    ticker: str
    interval: Interval
    bars: list[Bar]


class Movers(BaseModel):
    direction: Direction
    date: str
    quotes: list[Quote]


class Market:
    def __init__(self, seed: int):
        self.seed = seed

    def close(self, ticker: str, day: date) -> float:
        _, _, _, base = COMPANIES[ticker]
        r = rng(self.seed, SLUG, ticker)
        trend, phase = r.uniform(-0.0004, 0.0008), r.uniform(0, 2 * math.pi)
        n = day.toordinal() - date(2024, 1, 1).toordinal()
        noise = rng(self.seed, SLUG, ticker, day.isoformat()).gauss(0, 0.012)
        return round(base * math.exp(trend * n + 0.08 * math.sin(n / 30 + phase) + noise), 2)

    def bar(self, ticker: str, day: date) -> Bar:
        close, prev = self.close(ticker, day), self.close(ticker, day - timedelta(days=1))
        r = rng(self.seed, SLUG, "bar", ticker, day.isoformat())
        high = max(close, prev) * (1 + r.uniform(0, 0.015))
        low = min(close, prev) * (1 - r.uniform(0, 0.015))
        return Bar(date=day.isoformat(), open=prev, high=round(high, 2), low=round(low, 2), close=close,
                   volume=int(r.uniform(0.3, 3.0) * 1_000_000))

    def quote(self, ticker: str, day: date) -> Quote:
        b = self.bar(ticker, day)
        return Quote(ticker=ticker, name=COMPANIES[ticker][0], price=b.close, change=round(b.close - b.open, 2),
                     change_percent=round((b.close - b.open) / b.open * 100, 2), open=b.open, high=b.high, low=b.low,
                     previous_close=b.open, volume=b.volume, date=day.isoformat())


def ticker_of(value: str) -> str:
    t = value.strip().upper()
    if t not in COMPANIES:
        raise not_found("ticker", value, "find tickers with /stocks/search")
    return t


State = Annotated[Market, Depends(tool_state(SLUG))]
Clock = Annotated[datetime, Depends(hub_clock)]
TickerP = Annotated[str, Path(description="Ticker symbol", examples=["CNTS"])]


@router.get("/search", operation_id="search_companies", summary="Search companies",
            description="Find listed companies by part of their name or ticker. No match is a 404.",
            responses=NOT_FOUND)
async def search(query: Annotated[str, Query(min_length=1, description="Name or ticker fragment",
                                             examples=["contoso"])]) -> CompanyMatches:
    q = query.strip().lower()
    found = [Match(ticker=t, name=n, exchange=ex) for t, (n, _, ex, _) in COMPANIES.items()
             if q in t.lower() or q in n.lower()]
    if not found:
        raise not_found("company", query, "no listed company matches; try a shorter part of the name")
    return CompanyMatches(count=len(found), results=found)


@router.get("/quote/{ticker}", operation_id="get_quote", summary="Stock quote",
            description="Latest price, change and volume of a stock.", responses=NOT_FOUND)
async def quote(state: State, clock: Clock, ticker: TickerP) -> Quote:
    return state.quote(ticker_of(ticker), clock.date())


@router.get("/profile/{ticker}", operation_id="get_company_profile", summary="Company profile",
            description="Sector, exchange, size and valuation figures of a listed company.", responses=NOT_FOUND)
async def profile(state: State, clock: Clock, ticker: TickerP) -> Profile:
    t = ticker_of(ticker)
    name, sector, exchange, _ = COMPANIES[t]
    r = rng(state.seed, SLUG, "profile", t)
    price = state.close(t, clock.date())
    shares = r.uniform(0.05, 3.0) * 1e9
    return Profile(ticker=t, name=name, sector=sector, exchange=exchange, employees=int(r.uniform(800, 120_000)),
                   market_cap=round(price * shares, -6), pe_ratio=round(r.uniform(8, 45), 1),
                   dividend_yield=round(r.choice([0.0, r.uniform(0.5, 4.5)]), 2),
                   description=f"{name} is a {sector.lower()} company listed on the {exchange}.")


@router.get("/history/{ticker}", operation_id="get_price_history", summary="Price history",
            description="Daily or weekly OHLCV bars between two dates (at most 366 days).", responses=NOT_FOUND)
async def history(state: State, clock: Clock, ticker: TickerP,
                  start_date: Annotated[date, Query(description="First day", examples=["2024-12-02"])],
                  end_date: Annotated[date | None, Query(description="Last day; today when omitted")] = None,
                  interval: Annotated[Interval, Query(description="Bar size")] = Interval.daily) -> History:
    t = ticker_of(ticker)
    today = clock.date()
    end = end_date or today
    if end > today:
        raise bad_request(f"end_date {end.isoformat()} is in the future")
    if start_date > end:
        raise bad_request("start_date is after end_date")
    if (end - start_date).days > 366:
        raise bad_request("the range spans more than 366 days; shorten it")
    days = [start_date + timedelta(days=i) for i in range((end - start_date).days + 1)]
    days = [d for d in days if d.weekday() < 5 and (interval == Interval.daily or d.weekday() == 4)]
    return History(ticker=t, interval=interval, bars=[state.bar(t, d) for d in days])


@router.get("/movers", operation_id="get_market_movers", summary="Market movers",
            description="Today's biggest gainers or losers among listed companies.")
async def movers(state: State, clock: Clock,
                 direction: Annotated[Direction, Query(description="gainers or losers")] = Direction.gainers,
                 limit: Annotated[int, Query(ge=1, le=12, description="How many")] = 5) -> Movers:
    quotes = sorted((state.quote(t, clock.date()) for t in COMPANIES), key=lambda q: q.change_percent,
                    reverse=direction == Direction.gainers)
    return Movers(direction=direction, date=clock.date().isoformat(), quotes=quotes[:limit])


TOOL = HubTool(slug=SLUG, name="StockQuotes", category="Finance",
               description="Stock market data for listed companies: search by name, quotes, company profiles, "
                           "price history and daily movers. Unknown tickers and companies get 404.",
               router=router, make_state=Market)
