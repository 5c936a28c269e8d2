"""Catalogs for the generation tests: a small hand-made one (three categories, a collection, nested schemas) and
the hub's own (built in-process); a live hub on an ephemeral port with an executor, shared by the session."""

from __future__ import annotations

import pytest

from toolbench.generate.calls_config import CallsConfig
from toolbench.records import Api, Param, Tool


def _tool(name: str, category: str, apis: list[Api], **extra) -> Tool:
    for api in apis:
        api.tool = name
        api.category = category
    return Tool(name=name, category=category, description=f"{name} tool", base_url="http://127.0.0.1:8750",
                apis=apis, extra=extra)


def small_tools() -> list[Tool]:
    """Weather (3 APIs), Stocks (3), Movies (2), Food (1) in three categories; Stocks and Movies share the
    collection "Leisure & Money"."""
    city = Param("city", "STRING", "City name", "Paris", required=True)
    weather = _tool("SkyCast", "Weather", [
        Api("", "get_current_weather", "Current weather in a city", required_params=[city],
            optional_params=[Param("units", "ENUM", "Units", "metric",
                                   schema={"type": "string", "enum": ["metric", "imperial"], "default": "metric"})],
            response_schema={"type": "object", "properties": {"city": {"type": "string"},
                                                              "temperature": {"type": "number"}}}),
        Api("", "get_forecast", "Daily forecast", required_params=[city], optional_params=[
            Param("days", "NUMBER", "Days ahead", 3, schema={"type": "integer", "minimum": 1, "maximum": 7})]),
        Api("", "get_history", "Past weather", required_params=[city, Param(
            "date", "STRING", "Past date, YYYY-MM-DD", "2024-12-25",
            required=True, schema={"type": "string", "format": "date"})]),
    ])
    stocks = _tool("StockQuotes", "Finance", [
        Api("", "search_companies", "Find companies by name",
            required_params=[Param("query", "STRING", "Part of a name", "Contoso", required=True)],
            response_schema={"type": "object", "properties": {"results": {"type": "array", "items": {
                "type": "object", "properties": {"ticker": {"type": "string", "pattern": "^[A-Z]{4}$"},
                                                 "name": {"type": "string"}}, "required": ["ticker", "name"]}}},
                             "required": ["results"]}),
        Api("", "get_quote", "Stock quote", required_params=[Param(
            "ticker", "STRING", "Ticker", "CNTS", required=True,
            schema={"type": "string", "pattern": "^[A-Z]{1,5}$", "examples": ["CNTS"]})]),
        Api("", "get_price_history", "Price history", required_params=[
            Param("ticker", "STRING", "Ticker", "CNTS", required=True),
            Param("start_date", "STRING", "First day", "2024-12-01", required=True,
                  schema={"type": "string", "format": "date"})],
            optional_params=[Param("end_date", "STRING", "Last day", "", schema={"type": "string", "format": "date"})]),
    ], collection="Leisure & Money")
    movies = _tool("CineScope", "Entertainment", [
        Api("", "discover_movies", "Movies by filters", optional_params=[
            Param("filters", "OBJECT", "Filters", "", schema={
                "type": "object", "properties": {
                    "genres": {"type": "array", "items": {"type": "string", "enum": ["comedy", "drama"]},
                               "minItems": 1, "uniqueItems": True},
                    "year": {"type": "integer", "minimum": 1950, "maximum": 2025}},
                "required": ["genres"]})]),
        Api("", "get_movie", "Movie details", required_params=[Param("movie_id", "STRING", "Movie id", "mv0001",
                                                                     required=True)]),
    ], collection="Leisure & Money")
    food = _tool("Recipes", "Food", [
        Api("", "search_recipes", "Recipes by keyword",
            required_params=[Param("q", "STRING", "Keyword", "pasta", required=True)]),
    ])
    return [weather, stocks, movies, food]


@pytest.fixture
def tools() -> list[Tool]:
    return small_tools()


@pytest.fixture(scope="session")
def hub_catalog() -> list[Tool]:
    from toolbench.hub.catalog import hub_tools

    return hub_tools()


@pytest.fixture(scope="session")
def hub_executor(hub_catalog):
    """An executor on a live hub (ephemeral port) for the whole session."""
    from toolbench.executor import Executor, ExecutorConfig
    from toolbench.hub import HubSettings, HubThread

    with HubThread(HubSettings(seed=0)) as hub:
        bases = {t.base_url.rstrip("/") for t in hub_catalog}
        executor = Executor(hub_catalog, ExecutorConfig(base_url_overrides={b: hub.url for b in bases},
                                                        credentials={"*": "test-key"}, max_retries=1))
        yield executor
        executor.close()


def only(category: str, **kw) -> CallsConfig:
    """A generator config that makes samples of ``category`` only."""
    return CallsConfig(weights={category: 1.0}, **kw)
