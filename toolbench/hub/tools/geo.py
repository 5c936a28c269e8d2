"""GeoPlaces: city search and details, distances, reverse geocoding and country facts."""

from __future__ import annotations

import math
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from toolbench.hub.base import ERROR_RESPONSES, ErrorBody, HubTool, not_found
from toolbench.hub.world import CITIES, COUNTRIES, City

SLUG = "geo"
router = APIRouter(prefix=f"/{SLUG}", tags=["GeoPlaces"], responses=ERROR_RESPONSES)
NOT_FOUND = {404: {"model": ErrorBody, "description": "Unknown city or country"}}


class DistanceUnit(str, Enum):
    km = "km"
    mi = "mi"


class CityOut(BaseModel):
    id: str = Field(description="Sandbox city id, usable wherever a city is asked for")
    name: str
    country_code: str
    country: str
    latitude: float
    longitude: float
    timezone: str = Field(description="IANA time zone")
    population: int


class CityList(BaseModel):
    count: int
    cities: list[CityOut]


class Distance(BaseModel):
    from_city: str
    to_city: str
    distance: float
    unit: DistanceUnit
    bearing_degrees: float = Field(description="Initial compass bearing from the first city to the second")


class ReverseResult(BaseModel):
    nearest_city: CityOut
    distance_km: float


class Country(BaseModel):
    code: str
    name: str
    capital: str
    currency: str
    calling_code: str
    sandbox_cities: list[str]


def city_out(c: City) -> CityOut:
    return CityOut(id=c.id, name=c.name, country_code=c.country, country=COUNTRIES[c.country]["name"],
                   latitude=c.latitude, longitude=c.longitude, timezone=c.timezone, population=c.population)


def find_city(value: str) -> City:
    key = value.strip().lower()
    for c in CITIES:
        if key in (c.id, c.name.lower()):
            return c
    raise not_found("city", value, "use /geo/cities/search to find a city id")


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return round((math.degrees(math.atan2(y, x)) + 360) % 360, 1)


@router.get("/cities/search", operation_id="search_cities", summary="Search cities",
            description="Find cities whose name contains the query, optionally in one country, largest first.")
async def search_cities(
    query: Annotated[str, Query(description="Part of the city name", examples=["san"])] = "",
    country_code: Annotated[str | None, Query(description="ISO 3166-1 alpha-2 code, e.g. US", min_length=2,
                                              max_length=2, examples=["US"])] = None,
    limit: Annotated[int, Query(ge=1, le=50, description="Maximum number of cities")] = 10,
) -> CityList:
    q = query.strip().lower()
    found = [c for c in CITIES if q in c.name.lower() and (not country_code or c.country == country_code.upper())]
    found.sort(key=lambda c: -c.population)
    return CityList(count=len(found[:limit]), cities=[city_out(c) for c in found[:limit]])


@router.get("/cities/{city_id}", operation_id="get_city", summary="City details",
            description="Coordinates, country, time zone and population of a city.", responses=NOT_FOUND)
async def get_city(city_id: Annotated[str, Path(description="City id or name", examples=["tokyo"])]) -> CityOut:
    return city_out(find_city(city_id))


@router.get("/cities/{city_id}/nearby", operation_id="get_nearby_cities", summary="Nearby cities",
            description="Sandbox cities within a radius of a city, nearest first.", responses=NOT_FOUND)
async def nearby(city_id: Annotated[str, Path(description="City id or name", examples=["paris"])],
                 radius_km: Annotated[float, Query(gt=0, le=20000, description="Search radius in km")] = 1000,
                 ) -> CityList:
    center = find_city(city_id)
    pairs = [(haversine_km((center.latitude, center.longitude), (c.latitude, c.longitude)), c)
             for c in CITIES if c.id != center.id]
    inside = sorted((p for p in pairs if p[0] <= radius_km), key=lambda p: p[0])
    return CityList(count=len(inside), cities=[city_out(c) for _, c in inside])


@router.get("/distance", operation_id="get_distance", summary="Distance between cities",
            description="Great-circle distance and initial bearing between two cities.", responses=NOT_FOUND)
async def distance(from_city: Annotated[str, Query(description="First city", examples=["London"])],
                   to_city: Annotated[str, Query(description="Second city", examples=["Paris"])],
                   unit: Annotated[DistanceUnit, Query(description="km or mi")] = DistanceUnit.km) -> Distance:
    a, b = find_city(from_city), find_city(to_city)
    km = haversine_km((a.latitude, a.longitude), (b.latitude, b.longitude))
    return Distance(from_city=a.name, to_city=b.name, unit=unit,
                    distance=round(km / 1.609344 if unit == DistanceUnit.mi else km, 1),
                    bearing_degrees=bearing((a.latitude, a.longitude), (b.latitude, b.longitude)))


@router.get("/reverse", operation_id="reverse_geocode", summary="Reverse geocode",
            description="The sandbox city nearest to a point.")
async def reverse(latitude: Annotated[float, Query(ge=-90, le=90, examples=[48.85])],
                  longitude: Annotated[float, Query(ge=-180, le=180, examples=[2.35])]) -> ReverseResult:
    km, c = min(((haversine_km((latitude, longitude), (c.latitude, c.longitude)), c) for c in CITIES),
                key=lambda p: p[0])
    return ReverseResult(nearest_city=city_out(c), distance_km=round(km, 1))


@router.get("/countries/{country_code}", operation_id="get_country", summary="Country details",
            description="Name, capital, currency and calling code of a country.", responses=NOT_FOUND)
async def country(country_code: Annotated[str, Path(description="ISO 3166-1 alpha-2 code", examples=["JP"])],
                  ) -> Country:
    code = country_code.strip().upper()
    if code not in COUNTRIES:
        raise not_found("country", country_code, "give an ISO 3166-1 alpha-2 code such as FR or US")
    info = COUNTRIES[code]
    return Country(code=code, name=info["name"], capital=info["capital"], currency=info["currency"],
                   calling_code=info["calling_code"],
                   sandbox_cities=[c.name for c in CITIES if c.country == code])


TOOL = HubTool(slug=SLUG, name="GeoPlaces", category="Mapping",
               description="Geographic data: search cities, city details and time zones, nearby cities, "
                           "distances, reverse geocoding and country facts.",
               router=router, make_state=lambda seed: None)
