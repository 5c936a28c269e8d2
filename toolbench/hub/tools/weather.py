"""SkyCast Weather: current conditions, forecasts, history, air quality and alerts for the sandbox cities."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from enum import Enum
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
from toolbench.hub.world import CITIES, City

SLUG = "weather"
router = APIRouter(prefix=f"/{SLUG}", tags=["SkyCast Weather"], responses=ERROR_RESPONSES)

# Mean temperature (deg C) in January and July for each climate, northern hemisphere.
_CLIMATE = {"temperate": (4, 20), "mediterranean": (10, 26), "continental": (-1, 23), "tropical": (26, 28),
            "arid": (15, 33)}


class Units(str, Enum):
    metric = "metric"
    imperial = "imperial"


class Condition(str, Enum):
    clear = "clear"
    partly_cloudy = "partly_cloudy"
    cloudy = "cloudy"
    rain = "rain"
    thunderstorm = "thunderstorm"
    snow = "snow"
    fog = "fog"


class Severity(str, Enum):
    minor = "minor"
    moderate = "moderate"
    severe = "severe"


class Conditions(BaseModel):
    city: str = Field(description="City name")
    country: str = Field(description="ISO 3166-1 alpha-2 country code")
    date: str = Field(description="Date of the observation or forecast (YYYY-MM-DD)")
    temperature: float = Field(description="Temperature in the requested units (C or F)")
    feels_like: float
    temp_min: float
    temp_max: float
    humidity: int = Field(description="Relative humidity, percent")
    wind_speed: float = Field(description="km/h (metric) or mph (imperial)")
    precipitation_mm: float
    condition: Condition
    units: Units


class Forecast(BaseModel):
    city: str
    country: str
    units: Units
    days: list[Conditions]


class AirQuality(BaseModel):
    city: str
    aqi: int = Field(description="Air quality index, 0 (good) to 300 (hazardous)")
    category: str = Field(description="good | moderate | unhealthy_for_sensitive | unhealthy | very_unhealthy")
    pm2_5: float
    pm10: float
    ozone: float
    dominant_pollutant: str


class Alert(BaseModel):
    id: str
    city: str
    event: str
    severity: Severity
    starts: str
    ends: str
    description: str


class Alerts(BaseModel):
    city: str
    count: int
    alerts: list[Alert]


class WeatherModel:
    """Weather as a pure function of (seed, city, day): repeatable, seasonal, plausible."""

    def __init__(self, seed: int):
        self.seed = seed

    @staticmethod
    def find_city(name: str) -> City:
        key = name.strip().lower()
        for city in CITIES:
            if key in (city.id, city.name.lower()) or key == f"{city.name.lower()},{city.country.lower()}":
                return city
        raise not_found("city", name, "search cities with the GeoPlaces tool; sandbox cities include "
                        + ", ".join(c.name for c in CITIES[:6]))

    def day(self, city: City, day: date, units: Units) -> Conditions:
        r = rng(self.seed, SLUG, city.id, day.isoformat())
        jan, jul = _CLIMATE[city.climate]
        phase = math.cos(2 * math.pi * (day.timetuple().tm_yday - 196) / 365.25)  # 1 in mid July
        if city.latitude < 0:
            phase = -phase
        mean = (jan + jul) / 2 + (jul - jan) / 2 * phase + r.gauss(0, 2.5)
        spread = r.uniform(3, 8)
        humidity = int(r.uniform(35, 95) if city.climate != "arid" else r.uniform(10, 45))
        wet = r.random() < (0.15 if city.climate == "arid" else 0.4)
        if wet:
            condition = Condition.snow if mean < 1 else (Condition.thunderstorm if r.random() < 0.2 else Condition.rain)
            precip = round(r.uniform(0.5, 25), 1)
        else:
            condition = r.choice([Condition.clear, Condition.partly_cloudy, Condition.cloudy, Condition.fog])
            precip = 0.0
        wind = r.uniform(2, 35)
        temp = mean + r.uniform(-1, 1)

        def t(c: float) -> float:
            return round(c * 9 / 5 + 32 if units == Units.imperial else c, 1)

        return Conditions(
            city=city.name, country=city.country, date=day.isoformat(), temperature=t(temp),
            feels_like=t(temp - wind / 12), temp_min=t(mean - spread / 2), temp_max=t(mean + spread / 2),
            humidity=humidity, wind_speed=round(wind / 1.609 if units == Units.imperial else wind, 1),
            precipitation_mm=precip, condition=condition, units=units)


State = Annotated[WeatherModel, Depends(tool_state(SLUG))]
Clock = Annotated[datetime, Depends(hub_clock)]
CityQ = Annotated[str, Query(description="City name (e.g. Paris) or sandbox city id (e.g. new-york)",
                             min_length=1, examples=["Paris"])]
UnitsQ = Annotated[Units, Query(description="metric (C, km/h) or imperial (F, mph)")]


@router.get("/current", operation_id="get_current_weather", summary="Current weather",
            description="Current weather conditions in a city: temperature, humidity, wind, precipitation.",
            responses={404: {"model": ErrorBody, "description": "Unknown city"}})
async def current(state: State, clock: Clock, city: CityQ, units: UnitsQ = Units.metric) -> Conditions:
    return state.day(state.find_city(city), clock.date(), units)


@router.get("/forecast", operation_id="get_weather_forecast", summary="Daily forecast",
            description="Daily weather forecast for the next 1 to 7 days, starting today.",
            responses={404: {"model": ErrorBody, "description": "Unknown city"}})
async def forecast(state: State, clock: Clock, city: CityQ,
                   days: Annotated[int, Query(ge=1, le=7, description="Number of days (1-7)", examples=[3])] = 3,
                   units: UnitsQ = Units.metric) -> Forecast:
    c = state.find_city(city)
    today = clock.date()
    return Forecast(city=c.name, country=c.country, units=units,
                    days=[state.day(c, today + timedelta(days=i), units) for i in range(days)])


@router.get("/history", operation_id="get_historical_weather", summary="Historical weather",
            description="Observed weather in a city on a past date (up to 365 days back).",
            responses={404: {"model": ErrorBody, "description": "Unknown city"},
                       400: {"model": ErrorBody, "description": "Date in the future or too old"}})
async def history(state: State, clock: Clock, city: CityQ,
                  date_: Annotated[date, Query(alias="date", description="Past date, YYYY-MM-DD",
                                               examples=["2024-12-25"])],
                  units: UnitsQ = Units.metric) -> Conditions:
    today = clock.date()
    if date_ >= today:
        raise bad_request(f"date {date_.isoformat()} is not in the past; use /weather/forecast for future days")
    if (today - date_).days > 365:
        raise bad_request("history goes back 365 days only; pick a more recent date")
    return state.day(state.find_city(city), date_, units)


@router.get("/air-quality", operation_id="get_air_quality", summary="Air quality",
            description="Current air quality index and main pollutants in a city.",
            responses={404: {"model": ErrorBody, "description": "Unknown city"}})
async def air_quality(state: State, clock: Clock, city: CityQ) -> AirQuality:
    c = state.find_city(city)
    r = rng(state.seed, SLUG, "aqi", c.id, clock.date().isoformat())
    base = 20 + math.log10(c.population) * 8 + (25 if c.climate == "arid" else 0)
    aqi = int(max(5, min(300, r.gauss(base, 25))))
    category = ("good" if aqi <= 50 else "moderate" if aqi <= 100 else "unhealthy_for_sensitive" if aqi <= 150
                else "unhealthy" if aqi <= 200 else "very_unhealthy")
    return AirQuality(city=c.name, aqi=aqi, category=category, pm2_5=round(aqi * r.uniform(0.25, 0.4), 1),
                      pm10=round(aqi * r.uniform(0.4, 0.7), 1), ozone=round(r.uniform(10, 90), 1),
                      dominant_pollutant=r.choice(["pm2_5", "pm10", "ozone", "no2"]))


@router.get("/alerts", operation_id="get_weather_alerts", summary="Weather alerts",
            description="Active weather warnings for a city, optionally only those of a given severity.",
            responses={404: {"model": ErrorBody, "description": "Unknown city"}})
async def alerts(state: State, clock: Clock, city: CityQ,
                 severity: Annotated[Severity | None, Query(description="Only alerts of this severity")] = None,
                 ) -> Alerts:
    c = state.find_city(city)
    today = clock.date()
    found = []
    for i in range(3):
        d = today + timedelta(days=i)
        w = state.day(c, d, Units.metric)
        event = {"thunderstorm": ("Thunderstorm warning", Severity.moderate),
                 "snow": ("Snow and ice warning", Severity.moderate)}.get(w.condition.value)
        if w.precipitation_mm > 20:
            event = ("Heavy rain warning", Severity.severe)
        elif w.temp_max >= 35:
            event = ("Heat advisory", Severity.severe if w.temp_max >= 40 else Severity.minor)
        if event:
            found.append(Alert(id=f"{c.id}-{d.isoformat()}", city=c.name, event=event[0], severity=event[1],
                               starts=f"{d.isoformat()}T06:00:00", ends=f"{d.isoformat()}T22:00:00",
                               description=f"{event[0]} for {c.name} on {d.isoformat()}."))
    if severity is not None:
        found = [a for a in found if a.severity == severity]
    return Alerts(city=c.name, count=len(found), alerts=found)


TOOL = HubTool(slug=SLUG, name="SkyCast Weather", category="Weather",
               description="Weather for cities worldwide: current conditions, 7-day forecasts, past observations, "
                           "air quality and active weather alerts.",
               router=router, make_state=WeatherModel)
