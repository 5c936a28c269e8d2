"""TableFinder: restaurant search with nested filters, details, menus, reviews and table availability."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field, model_validator

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
from toolbench.hub.tools.geo import find_city, haversine_km
from toolbench.hub.world import CITIES

SLUG = "restaurants"
router = APIRouter(prefix=f"/{SLUG}", tags=["TableFinder"], responses=ERROR_RESPONSES)
NOT_FOUND = {404: {"model": ErrorBody, "description": "No such restaurant or city"}}
PER_CITY = 15


class Cuisine(str, Enum):
    italian = "italian"
    french = "french"
    japanese = "japanese"
    chinese = "chinese"
    indian = "indian"
    mexican = "mexican"
    thai = "thai"
    american = "american"
    mediterranean = "mediterranean"
    vegan = "vegan"


class Dietary(str, Enum):
    vegetarian = "vegetarian"
    vegan = "vegan"
    gluten_free = "gluten_free"
    halal = "halal"


class SortBy(str, Enum):
    rating = "rating"
    price = "price"
    distance = "distance"


class Location(BaseModel):
    city: str = Field(description="City name or sandbox city id", examples=["Paris"])
    latitude: float | None = Field(None, ge=-90, le=90, description="Centre of the search; city centre if omitted")
    longitude: float | None = Field(None, ge=-180, le=180)
    radius_km: float = Field(10.0, gt=0, le=50, description="Search radius around the centre")


class PriceRange(BaseModel):
    min: int = Field(1, ge=1, le=4, description="Cheapest price level (1 = $, 4 = $$$$)")
    max: int = Field(4, ge=1, le=4, description="Most expensive price level")

    @model_validator(mode="after")
    def ordered(self) -> PriceRange:
        if self.min > self.max:
            raise ValueError("price_range.min is greater than price_range.max")
        return self


class RestaurantSearch(BaseModel):
    location: Location = Field(description="Where to search")
    cuisines: list[Cuisine] = Field(default_factory=list, description="Any of these cuisines; all when empty")
    min_rating: float = Field(0.0, ge=0, le=5, description="Only restaurants rated at least this (0-5)")
    price_range: PriceRange = Field(default_factory=PriceRange, description="Price levels to include")
    dietary: list[Dietary] = Field(default_factory=list, description="Options every result must offer")
    sort_by: SortBy = SortBy.rating
    limit: int = Field(10, ge=1, le=50)

    model_config = {"json_schema_extra": {"examples": [{
        "location": {"city": "Paris", "radius_km": 5}, "cuisines": ["french", "italian"], "min_rating": 4.0,
        "price_range": {"min": 2, "max": 3}, "sort_by": "rating", "limit": 5}]}}


class Restaurant(BaseModel):
    id: str
    name: str
    city: str
    address: str
    latitude: float
    longitude: float
    cuisine: Cuisine
    rating: float
    review_count: int
    price_level: int = Field(description="1 ($) to 4 ($$$$)")
    dietary_options: list[Dietary]
    phone: str
    opening_hours: str


class SearchHit(Restaurant):
    distance_km: float


class RestaurantResults(BaseModel):
    count: int
    results: list[SearchHit]


class Review(BaseModel):
    author: str
    stars: int
    date: str
    text: str


class Reviews(BaseModel):
    restaurant_id: str
    count: int
    reviews: list[Review]


class MenuItem(BaseModel):
    name: str
    section: str
    price: float
    currency: str
    dietary: list[Dietary]


class Menu(BaseModel):
    restaurant_id: str
    items: list[MenuItem]


class Availability(BaseModel):
    restaurant_id: str
    date: str
    party_size: int
    slots: list[str] = Field(description="Free table times, HH:MM")


_FIRST = ["Le", "La", "Casa", "Golden", "Little", "Blue", "Old", "Green", "Royal", "Silver", "Red", "Happy"]
_SECOND = ["Olive", "Lantern", "Garden", "Spoon", "Bistro", "Kitchen", "Table", "Harbor", "Tiger", "Fig", "Maple",
           "Lotus"]
_STREETS = ["Main Street", "Market Square", "River Road", "Station Avenue", "Park Lane", "Church Street"]
_DISHES = {"starter": ["Soup of the day", "Bruschetta", "Spring rolls", "Hummus plate", "Green salad"],
           "main": ["Grilled salmon", "Mushroom risotto", "Chicken curry", "Beef tacos", "Pad thai", "Tofu bowl"],
           "dessert": ["Tiramisu", "Mango sorbet", "Chocolate cake", "Creme brulee"]}
_NAMES = ["Alex", "Sam", "Maria", "Kenji", "Priya", "Omar", "Lea", "Tom", "Ana", "Chen"]
_CURRENCY = {"FR": "EUR", "DE": "EUR", "ES": "EUR", "IT": "EUR", "GB": "GBP", "US": "USD", "CA": "CAD",
             "MX": "MXN", "BR": "BRL", "JP": "JPY", "SG": "SGD", "IN": "INR", "AE": "AED", "AU": "AUD", "EG": "EGP"}


class Directory:
    def __init__(self, seed: int):
        self.seed = seed
        self.restaurants: dict[str, Restaurant] = {}
        for city in CITIES:
            for i in range(PER_CITY):
                r = rng(seed, SLUG, city.id, i)
                rid = f"{city.id}-{i + 1:02d}"
                self.restaurants[rid] = Restaurant(
                    id=rid, name=f"{r.choice(_FIRST)} {r.choice(_SECOND)}", city=city.name,
                    address=f"{r.randint(1, 200)} {r.choice(_STREETS)}, {city.name}",
                    latitude=round(city.latitude + r.uniform(-0.06, 0.06), 5),
                    longitude=round(city.longitude + r.uniform(-0.06, 0.06), 5),
                    cuisine=r.choice(list(Cuisine)), rating=round(r.uniform(2.8, 5.0), 1),
                    review_count=r.randint(5, 2500), price_level=r.randint(1, 4),
                    dietary_options=sorted(r.sample(list(Dietary), r.randint(0, 3)), key=lambda d: d.value),
                    phone=f"+{r.randint(10, 99)} {r.randint(100, 999)} {r.randint(1000, 9999)}",
                    opening_hours=r.choice(["11:30-22:00", "12:00-14:30, 19:00-23:00", "17:00-23:30"]))

    def get(self, rid: str) -> Restaurant:
        if rid not in self.restaurants:
            raise not_found("restaurant", rid, "restaurant ids come from /restaurants/search")
        return self.restaurants[rid]


State = Annotated[Directory, Depends(tool_state(SLUG))]
Clock = Annotated[datetime, Depends(hub_clock)]
IdP = Annotated[str, Path(description="Restaurant id from a search", examples=["paris-01"])]


@router.post("/search", operation_id="search_restaurants", summary="Search restaurants",
             description="Restaurants near a location, filtered by cuisine, minimum rating, price range and "
                         "dietary options.", responses=NOT_FOUND)
async def search(state: State, body: RestaurantSearch) -> RestaurantResults:
    city = find_city(body.location.city)
    lat = body.location.latitude if body.location.latitude is not None else city.latitude
    lon = body.location.longitude if body.location.longitude is not None else city.longitude
    hits = []
    for rest in state.restaurants.values():
        d = haversine_km((lat, lon), (rest.latitude, rest.longitude))
        if (d > body.location.radius_km or (body.cuisines and rest.cuisine not in body.cuisines)
                or rest.rating < body.min_rating
                or not body.price_range.min <= rest.price_level <= body.price_range.max
                or not set(body.dietary) <= set(rest.dietary_options)):
            continue
        hits.append(SearchHit(**rest.model_dump(), distance_km=round(d, 2)))
    key = {SortBy.rating: lambda h: (-h.rating, h.id), SortBy.price: lambda h: (h.price_level, h.id),
           SortBy.distance: lambda h: (h.distance_km, h.id)}[body.sort_by]
    hits.sort(key=key)
    return RestaurantResults(count=len(hits[:body.limit]), results=hits[:body.limit])


@router.get("/{restaurant_id}", operation_id="get_restaurant", summary="Restaurant details",
            description="Address, cuisine, rating, price level, dietary options and opening hours.",
            responses=NOT_FOUND)
async def details(state: State, restaurant_id: IdP) -> Restaurant:
    return state.get(restaurant_id)


@router.get("/{restaurant_id}/reviews", operation_id="get_restaurant_reviews", summary="Restaurant reviews",
            description="Recent customer reviews, newest first, optionally only those with enough stars.",
            responses=NOT_FOUND)
async def reviews(state: State, clock: Clock, restaurant_id: IdP,
                  min_stars: Annotated[int, Query(ge=1, le=5, description="Minimum stars")] = 1,
                  limit: Annotated[int, Query(ge=1, le=20)] = 5) -> Reviews:
    rest = state.get(restaurant_id)
    r = rng(state.seed, SLUG, "reviews", rest.id)
    out = []
    for i in range(12):
        stars = max(1, min(5, round(r.gauss(rest.rating, 0.9))))
        text = {5: "Outstanding, will come back.", 4: "Very good food, friendly staff.", 3: "Decent but slow.",
                2: "Disappointing for the price.", 1: "Cold food and rude service."}[stars]
        out.append(Review(author=r.choice(_NAMES), stars=stars, text=text,
                          date=date.fromordinal(clock.date().toordinal() - 9 * i - r.randint(0, 8)).isoformat()))
    out = [x for x in out if x.stars >= min_stars][:limit]
    return Reviews(restaurant_id=rest.id, count=len(out), reviews=out)


@router.get("/{restaurant_id}/menu", operation_id="get_restaurant_menu", summary="Restaurant menu",
            description="Dishes with prices in the local currency.", responses=NOT_FOUND)
async def menu(state: State, restaurant_id: IdP) -> Menu:
    rest = state.get(restaurant_id)
    r = rng(state.seed, SLUG, "menu", rest.id)
    country = find_city(rest.city).country
    scale = {"JPY": 150, "INR": 80, "MXN": 17, "BRL": 5, "EGP": 45, "AED": 3.7}.get(_CURRENCY[country], 1)
    items = []
    for section, dishes in _DISHES.items():
        for dish in r.sample(dishes, 2):
            price = r.uniform(5, 12) * (1 + rest.price_level * 0.6) * (1.6 if section == "main" else 1)
            items.append(MenuItem(name=dish, section=section, price=round(price * scale, 2),
                                  currency=_CURRENCY[country],
                                  dietary=[d for d in rest.dietary_options if r.random() < 0.5]))
    return Menu(restaurant_id=rest.id, items=items)


@router.get("/{restaurant_id}/availability", operation_id="get_table_availability", summary="Table availability",
            description="Free table times on a date for a party size.",
            responses={**NOT_FOUND, 400: {"model": ErrorBody, "description": "Date in the past"}})
async def availability(state: State, clock: Clock, restaurant_id: IdP,
                       date_: Annotated[date, Query(alias="date", description="YYYY-MM-DD",
                                                    examples=["2025-01-20"])],
                       party_size: Annotated[int, Query(ge=1, le=20, description="Number of guests")] = 2,
                       ) -> Availability:
    rest = state.get(restaurant_id)
    if date_ < clock.date():
        raise bad_request(f"date {date_.isoformat()} is in the past")
    r = rng(state.seed, SLUG, "slots", rest.id, date_.isoformat(), party_size)
    times = [f"{h:02d}:{m:02d}" for h in (12, 13, 19, 20, 21) for m in (0, 30)]
    free = [t for t in times if r.random() < max(0.1, 0.7 - party_size * 0.06)]
    return Availability(restaurant_id=rest.id, date=date_.isoformat(), party_size=party_size, slots=free)


TOOL = HubTool(slug=SLUG, name="TableFinder", category="Food",
               description="Restaurant discovery: search by location with cuisine, rating, price range and "
                           "dietary filters; details, menus, reviews and table availability.",
               router=router, make_state=Directory)
