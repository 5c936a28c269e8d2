"""CineScope: movie search and discovery with nested filters, details, cast, showtimes and trending titles."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from toolbench.hub.base import ERROR_RESPONSES, ErrorBody, HubTool, hub_clock, not_found, rng, tool_state
from toolbench.hub.tools.geo import find_city

SLUG = "movies"
router = APIRouter(prefix=f"/{SLUG}", tags=["CineScope"], responses=ERROR_RESPONSES)
NOT_FOUND = {404: {"model": ErrorBody, "description": "No such movie or city"}}
N_MOVIES = 60


class Genre(str, Enum):
    action = "action"
    comedy = "comedy"
    drama = "drama"
    horror = "horror"
    sci_fi = "sci_fi"
    romance = "romance"
    animation = "animation"
    documentary = "documentary"
    thriller = "thriller"


class Language(str, Enum):
    en = "en"
    fr = "fr"
    es = "es"
    ja = "ja"
    hi = "hi"
    de = "de"


class MovieSort(str, Enum):
    popularity = "popularity"
    rating = "rating"
    release_date = "release_date"


class Window(str, Enum):
    day = "day"
    week = "week"


class YearRange(BaseModel):
    start: int = Field(1950, ge=1900, le=2100, description="First release year included")
    end: int = Field(2100, ge=1900, le=2100, description="Last release year included")


class Discover(BaseModel):
    genres: list[Genre] = Field(default_factory=list, description="Any of these genres; all when empty")
    year_range: YearRange = Field(default_factory=YearRange, description="Release years")
    min_rating: float = Field(0.0, ge=0, le=10, description="Minimum average rating (0-10)")
    languages: list[Language] = Field(default_factory=list, description="Original languages; all when empty")
    max_runtime: int | None = Field(None, ge=30, le=300, description="Longest runtime in minutes")
    sort_by: MovieSort = MovieSort.popularity
    limit: int = Field(10, ge=1, le=50)

    model_config = {"json_schema_extra": {"examples": [{
        "genres": ["sci_fi", "thriller"], "year_range": {"start": 2015, "end": 2024}, "min_rating": 7.0,
        "languages": ["en"], "sort_by": "rating", "limit": 5}]}}


class Movie(BaseModel):
    id: str
    title: str
    year: int
    release_date: str
    genres: list[Genre]
    language: Language
    runtime: int = Field(description="Minutes")
    rating: float = Field(description="Average rating, 0-10")
    votes: int
    popularity: float
    director: str
    overview: str


class MovieList(BaseModel):
    count: int
    results: list[Movie]


class CastMember(BaseModel):
    name: str
    character: str
    order: int


class Cast(BaseModel):
    movie_id: str
    cast: list[CastMember]


class Showing(BaseModel):
    cinema: str
    times: list[str]
    format: str


class Showtimes(BaseModel):
    movie_id: str
    city: str
    date: str
    showings: list[Showing]


_WORDS_A = ["Silent", "Last", "Broken", "Hidden", "Electric", "Crimson", "Distant", "Golden", "Midnight", "Lost",
            "Frozen", "Burning"]
_WORDS_B = ["Horizon", "Empire", "River", "Signal", "Garden", "Protocol", "Voyage", "Kingdom", "Echo", "Harbor",
            "Frontier", "Orchard"]
_PEOPLE = ["Ava Laurent", "Noah Becker", "Mia Tanaka", "Liam Ortega", "Zoe Kapoor", "Ethan Moreau",
           "Isla Novak", "Lucas Silva", "Chloe Dubois", "Omar Haddad", "Emma Schulz", "Kai Nakamura"]


class Library:
    def __init__(self, seed: int):
        self.seed = seed
        self.movies: dict[str, Movie] = {}
        for i in range(N_MOVIES):
            r = rng(seed, SLUG, i)
            year = r.randint(1985, 2025)
            released = date(year, r.randint(1, 12), r.randint(1, 28))
            genres = sorted(r.sample(list(Genre), r.randint(1, 3)), key=lambda g: g.value)
            title = f"The {r.choice(_WORDS_A)} {r.choice(_WORDS_B)}" + (f" {r.randint(2, 3)}" if r.random() < 0.1
                                                                        else "")
            mid = f"mv{i + 1:04d}"
            self.movies[mid] = Movie(
                id=mid, title=title, year=year, release_date=released.isoformat(), genres=genres,
                language=r.choices(list(Language), weights=[6, 1, 1, 1, 1, 1])[0], runtime=r.randint(78, 175),
                rating=round(r.uniform(4.5, 9.2), 1), votes=r.randint(200, 900_000),
                popularity=round(r.uniform(1, 100), 1), director=r.choice(_PEOPLE),
                overview=f"A {genres[0].value.replace('_', '-')} story about {title.lower()[4:]}.")

    def get(self, mid: str) -> Movie:
        if mid not in self.movies:
            raise not_found("movie", mid, "movie ids come from /movies/search or /movies/discover")
        return self.movies[mid]


State = Annotated[Library, Depends(tool_state(SLUG))]
Clock = Annotated[datetime, Depends(hub_clock)]
IdP = Annotated[str, Path(description="Movie id", examples=["mv0001"])]


@router.get("/search", operation_id="search_movies", summary="Search movies",
            description="Movies whose title contains the query, optionally of one release year.")
async def search(state: State, query: Annotated[str, Query(min_length=1, description="Title fragment",
                                                           examples=["horizon"])],
                 year: Annotated[int | None, Query(ge=1900, le=2100, description="Release year")] = None,
                 limit: Annotated[int, Query(ge=1, le=50)] = 10) -> MovieList:
    q = query.strip().lower()
    found = [m for m in state.movies.values() if q in m.title.lower() and (year is None or m.year == year)]
    found.sort(key=lambda m: (-m.popularity, m.id))
    return MovieList(count=len(found[:limit]), results=found[:limit])


@router.post("/discover", operation_id="discover_movies", summary="Discover movies",
             description="Movies matching genre, release-year range, minimum rating, language and runtime "
                         "filters, sorted by popularity, rating or release date.")
async def discover(state: State, body: Discover) -> MovieList:
    found = [m for m in state.movies.values()
             if (not body.genres or set(body.genres) & set(m.genres))
             and body.year_range.start <= m.year <= body.year_range.end and m.rating >= body.min_rating
             and (not body.languages or m.language in body.languages)
             and (body.max_runtime is None or m.runtime <= body.max_runtime)]
    key = {MovieSort.popularity: lambda m: -m.popularity, MovieSort.rating: lambda m: -m.rating,
           MovieSort.release_date: lambda m: -date.fromisoformat(m.release_date).toordinal()}[body.sort_by]
    found.sort(key=lambda m: (key(m), m.id))
    return MovieList(count=len(found[:body.limit]), results=found[:body.limit])


@router.get("/trending", operation_id="get_trending_movies", summary="Trending movies",
            description="The most watched movies of the day or the week.")
async def trending(state: State, clock: Clock,
                   window: Annotated[Window, Query(description="day or week")] = Window.week,
                   limit: Annotated[int, Query(ge=1, le=20)] = 10) -> MovieList:
    r = rng(state.seed, SLUG, "trending", window.value, clock.date().isoformat())
    ranked = sorted(state.movies.values(), key=lambda m: -(m.popularity * r.uniform(0.5, 1.5)))
    return MovieList(count=min(limit, len(ranked)), results=ranked[:limit])


@router.get("/{movie_id}", operation_id="get_movie", summary="Movie details",
            description="Title, year, genres, runtime, rating, director and overview of a movie.",
            responses=NOT_FOUND)
async def details(state: State, movie_id: IdP) -> Movie:
    return state.get(movie_id)


@router.get("/{movie_id}/cast", operation_id="get_movie_cast", summary="Movie cast",
            description="The billed cast of a movie with their characters.", responses=NOT_FOUND)
async def cast(state: State, movie_id: IdP) -> Cast:
    movie = state.get(movie_id)
    r = rng(state.seed, SLUG, "cast", movie.id)
    people = r.sample([p for p in _PEOPLE if p != movie.director], 5)
    roles = ["Captain", "Detective", "Doctor", "Pilot", "Stranger", "Engineer", "Mayor"]
    return Cast(movie_id=movie.id, cast=[CastMember(name=p, character=f"{r.choice(roles)} {p.split()[1]}", order=i)
                                         for i, p in enumerate(people)])


@router.get("/{movie_id}/showtimes", operation_id="get_showtimes", summary="Movie showtimes",
            description="Cinemas and times showing a movie in a city on a date (today when omitted).",
            responses=NOT_FOUND)
async def showtimes(state: State, clock: Clock, movie_id: IdP,
                    city: Annotated[str, Query(description="City name or id", examples=["London"])],
                    date_: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD")] = None,
                    ) -> Showtimes:
    movie = state.get(movie_id)
    c = find_city(city)
    day = date_ or clock.date()
    r = rng(state.seed, SLUG, "shows", movie.id, c.id, day.isoformat())
    recent = date.fromisoformat(movie.release_date) >= clock.date() - timedelta(days=400)
    showings = []
    if recent or r.random() < 0.2:
        for name in r.sample(["Odeon", "Cineworld", "Grand Rex", "Roxy", "Lumiere", "Starlight"], r.randint(1, 3)):
            times = sorted(r.sample(["13:15", "15:40", "18:00", "19:30", "20:45", "22:10"], r.randint(1, 4)))
            showings.append(Showing(cinema=f"{name} {c.name}", times=times, format=r.choice(["2D", "3D", "IMAX"])))
    return Showtimes(movie_id=movie.id, city=c.name, date=day.isoformat(), showings=showings)


TOOL = HubTool(slug=SLUG, name="CineScope", category="Movies",
               description="Movie database: title search, discovery with genre/year/rating/language filters, "
                           "details, cast, local showtimes and trending movies.",
               router=router, make_state=Library)
