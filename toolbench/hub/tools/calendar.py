"""ChronoKit Calendar: time zones, public holidays, business days and a per-key calendar of events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field, model_validator

from toolbench.hub.base import (
    ERROR_RESPONSES,
    ErrorBody,
    HubTool,
    bad_request,
    conflict,
    hub_clock,
    not_found,
    tool_state,
)
from toolbench.hub.world import COUNTRIES

SLUG = "calendar"
router = APIRouter(prefix=f"/{SLUG}", tags=["ChronoKit Calendar"], responses=ERROR_RESPONSES)
BAD = {400: {"model": ErrorBody, "description": "Unknown time zone or bad date"}}

# Fixed-date public holidays (month, day, name) by country; Easter-based ones are added by rule.
_FIXED = {
    "FR": [(1, 1, "New Year's Day"), (5, 1, "Labour Day"), (5, 8, "Victory in Europe Day"), (7, 14, "Bastille Day"),
           (8, 15, "Assumption"), (11, 1, "All Saints' Day"), (11, 11, "Armistice Day"), (12, 25, "Christmas Day")],
    "DE": [(1, 1, "New Year's Day"), (5, 1, "Labour Day"), (10, 3, "German Unity Day"), (12, 25, "Christmas Day"),
           (12, 26, "Second Day of Christmas")],
    "GB": [(1, 1, "New Year's Day"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day")],
    "US": [(1, 1, "New Year's Day"), (6, 19, "Juneteenth"), (7, 4, "Independence Day"), (11, 11, "Veterans Day"),
           (12, 25, "Christmas Day")],
    "ES": [(1, 1, "New Year's Day"), (1, 6, "Epiphany"), (5, 1, "Labour Day"), (8, 15, "Assumption"),
           (10, 12, "National Day"), (12, 25, "Christmas Day")],
    "IT": [(1, 1, "New Year's Day"), (4, 25, "Liberation Day"), (6, 2, "Republic Day"), (12, 25, "Christmas Day")],
    "JP": [(1, 1, "New Year's Day"), (2, 11, "National Foundation Day"), (5, 3, "Constitution Day"),
           (11, 3, "Culture Day")],
    "CA": [(1, 1, "New Year's Day"), (7, 1, "Canada Day"), (12, 25, "Christmas Day")],
    "IN": [(1, 26, "Republic Day"), (8, 15, "Independence Day"), (10, 2, "Gandhi Jayanti")],
    "AU": [(1, 1, "New Year's Day"), (1, 26, "Australia Day"), (4, 25, "Anzac Day"), (12, 25, "Christmas Day")],
}
_EASTER = {"FR": [(1, "Easter Monday")], "DE": [(-2, "Good Friday"), (1, "Easter Monday")],
           "GB": [(-2, "Good Friday"), (1, "Easter Monday")], "ES": [(-2, "Good Friday")], "IT": [(1, "Easter Monday")],
           "CA": [(-2, "Good Friday")], "AU": [(-2, "Good Friday"), (1, "Easter Monday")]}


def easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    n = h + l_ - 7 * m + 114
    return date(year, n // 31, n % 31 + 1)


def holidays(country: str, year: int) -> list[tuple[date, str]]:
    out = [(date(year, m, d), name) for m, d, name in _FIXED.get(country, [])]
    out += [(easter(year) + timedelta(days=off), name) for off, name in _EASTER.get(country, [])]
    return sorted(out)


class Now(BaseModel):
    timezone: str
    datetime: str = Field(description="ISO 8601 with offset")
    date: str
    time: str
    weekday: str
    utc_offset: str
    iso_week: int


class Converted(BaseModel):
    source: str
    source_timezone: str
    target: str
    target_timezone: str
    offset_difference_hours: float


class Holiday(BaseModel):
    date: str
    name: str
    weekday: str


class Holidays(BaseModel):
    country_code: str
    year: int
    count: int
    holidays: list[Holiday]


class BusinessDays(BaseModel):
    start_date: str
    end_date: str
    country_code: str
    business_days: int
    weekend_days: int
    holidays_on_weekdays: list[Holiday]


class Attendee(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["kim@example.com"])
    optional: bool = False


class EventCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200, examples=["Quarterly review"])
    start: datetime = Field(description="Local start, YYYY-MM-DDTHH:MM; with a UTC offset it is converted to "
                                        "`timezone`", examples=["2025-01-20T10:00"])
    end: datetime = Field(description="Local end, after start (same rules as start)", examples=["2025-01-20T11:00"])
    timezone: str = Field("UTC", description="IANA time zone of start and end", examples=["Europe/Paris"])
    attendees: list[Attendee] = Field(default_factory=list)
    location: str | None = None
    reminders_minutes: list[int] = Field(default_factory=lambda: [15], description="Minutes before start")
    allow_overlap: bool = Field(False, description="Book even if another event overlaps")

    @model_validator(mode="after")
    def ordered(self) -> EventCreate:
        # Mixed forms ("10:00" and "09:00Z") used to reach a naive/aware comparison: TypeError, HTTP 500.
        # Both become local times of the event's zone; an unknown zone is left to the handler's 400.
        try:
            tz = zone(self.timezone)
        except HTTPException:
            tz = ZoneInfo("UTC")
        try:
            self.start, self.end = local_time(self.start, tz), local_time(self.end, tz)
        except OverflowError:
            raise ValueError("date out of range; use a date between years 2 and 9998") from None
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Event(BaseModel):
    id: str
    title: str
    start: str
    end: str
    timezone: str
    start_utc: str
    end_utc: str
    attendees: list[Attendee]
    location: str | None
    reminders_minutes: list[int]


class EventList(BaseModel):
    count: int
    events: list[Event]


class Deleted(BaseModel):
    id: str
    deleted: bool


class Calendar:
    def __init__(self, seed: int):
        self.seed = seed
        # One booked event, the one the documentation's example (EVT-0001) names.
        self.events: dict[str, Event] = {"EVT-0001": Event(
            id="EVT-0001", title="Weekly team sync", start="2025-01-16T09:00:00", end="2025-01-16T09:30:00",
            timezone="UTC", start_utc="2025-01-16T09:00:00+00:00", end_utc="2025-01-16T09:30:00+00:00",
            attendees=[Attendee(email="kim@example.com")], location="Room 2", reminders_minutes=[15])}
        self.counter = 1


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder, a name too long...
        raise bad_request(f"unknown time zone {name!r}; use an IANA name such as Europe/Paris or America/New_York")


def local_time(value: datetime, tz: ZoneInfo) -> datetime:
    """A naive local time of ``tz``: a value with a UTC offset is converted, a naive one is kept."""
    return value if value.tzinfo is None else value.astimezone(tz).replace(tzinfo=None)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    try:
        return local.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise bad_request(f"{local.isoformat()} in {tz.key} is out of range; use a date between years 2 and 9998")


def country_of(code: str) -> str:
    c = code.strip().upper()
    if c not in COUNTRIES:
        raise not_found("country", code, "use an ISO 3166-1 alpha-2 code such as FR")
    return c


State = Annotated[Calendar, Depends(tool_state(SLUG))]
Clock = Annotated[datetime, Depends(hub_clock)]
CountryQ = Annotated[str, Query(description="ISO 3166-1 alpha-2 country code", examples=["FR"])]


@router.get("/now", operation_id="get_current_time", summary="Current time",
            description="The current date and time in a time zone.", responses=BAD)
async def now(clock: Clock, timezone: Annotated[str, Query(description="IANA time zone",
                                                             examples=["Asia/Tokyo"])] = "UTC") -> Now:
    local = clock.astimezone(zone(timezone))
    offset = local.strftime("%z")
    return Now(timezone=timezone, datetime=local.isoformat(), date=local.date().isoformat(),
               time=local.strftime("%H:%M:%S"), weekday=local.strftime("%A"), utc_offset=f"{offset[:3]}:{offset[3:]}",
               iso_week=local.isocalendar()[1])


@router.get("/convert", operation_id="convert_time", summary="Convert time zone",
            description="Convert a local date-time from one time zone to another.", responses=BAD)
async def convert(datetime_: Annotated[datetime, Query(alias="datetime", description="Local date-time",
                                                       examples=["2025-03-01T09:00"])],
                  from_timezone: Annotated[str, Query(description="IANA zone of the input",
                                                      examples=["America/New_York"])],
                  to_timezone: Annotated[str, Query(description="IANA zone wanted", examples=["Europe/Berlin"])],
                  ) -> Converted:
    src = datetime_.replace(tzinfo=zone(from_timezone))
    target = zone(to_timezone)
    try:
        dst = src.astimezone(target)
    except OverflowError:
        raise bad_request(f"{datetime_.isoformat()} is out of range in {to_timezone}; use years 2 to 9998")
    diff = (dst.utcoffset() - src.utcoffset()).total_seconds() / 3600
    return Converted(source=src.isoformat(), source_timezone=from_timezone, target=dst.isoformat(),
                     target_timezone=to_timezone, offset_difference_hours=diff)


@router.get("/holidays", operation_id="list_holidays", summary="Public holidays",
            description="National public holidays of a country in a year.",
            responses={404: {"model": ErrorBody, "description": "Unknown country"}})
async def list_holidays(country_code: CountryQ,
                        year: Annotated[int, Query(ge=1900, le=2100, examples=[2025])]) -> Holidays:
    c = country_of(country_code)
    out = [Holiday(date=d.isoformat(), name=n, weekday=d.strftime("%A")) for d, n in holidays(c, year)]
    return Holidays(country_code=c, year=year, count=len(out), holidays=out)


@router.get("/business-days", operation_id="count_business_days", summary="Count business days",
            description="Working days between two dates (both included), excluding weekends and public holidays.",
            responses={**BAD, 404: {"model": ErrorBody, "description": "Unknown country"}})
async def business_days(start_date: Annotated[date, Query(examples=["2025-05-01"])],
                        end_date: Annotated[date, Query(examples=["2025-05-31"])], country_code: CountryQ,
                        ) -> BusinessDays:
    c = country_of(country_code)
    if end_date < start_date:
        raise bad_request("end_date is before start_date; swap them")
    if (end_date - start_date).days > 3660:
        raise bad_request("the range spans more than 10 years; shorten it")
    hol = {d: n for y in range(start_date.year, end_date.year + 1) for d, n in holidays(c, y)}
    n_business = n_weekend = 0
    on_weekdays = []
    for offset in range((end_date - start_date).days + 1):  # no `day += 1` past date.max
        day = start_date + timedelta(days=offset)
        if day.weekday() >= 5:
            n_weekend += 1
        elif day in hol:
            on_weekdays.append(Holiday(date=day.isoformat(), name=hol[day], weekday=day.strftime("%A")))
        else:
            n_business += 1
    return BusinessDays(start_date=start_date.isoformat(), end_date=end_date.isoformat(), country_code=c,
                        business_days=n_business, weekend_days=n_weekend, holidays_on_weekdays=on_weekdays)


@router.post("/events", operation_id="create_event", summary="Create event", status_code=201,
             description="Add an event to your calendar; refused (409) if it overlaps another unless "
                         "allow_overlap is true.",
             responses={**BAD, 409: {"model": ErrorBody, "description": "Overlaps an existing event"}})
async def create_event(state: State, body: EventCreate) -> Event:
    tz = zone(body.timezone)
    start_utc, end_utc = to_utc(body.start, tz), to_utc(body.end, tz)
    if not body.allow_overlap:
        for ev in state.events.values():
            if datetime.fromisoformat(ev.start_utc) < end_utc and start_utc < datetime.fromisoformat(ev.end_utc):
                raise conflict(f"overlaps event {ev.id} ({ev.title!r}, {ev.start}-{ev.end} {ev.timezone}); "
                               "pick another time or set allow_overlap")
    state.counter += 1
    eid = f"EVT-{state.counter:04d}"
    event = Event(id=eid, title=body.title, start=body.start.isoformat(), end=body.end.isoformat(),
                  timezone=body.timezone, start_utc=start_utc.isoformat(), end_utc=end_utc.isoformat(),
                  attendees=body.attendees, location=body.location, reminders_minutes=body.reminders_minutes)
    state.events[eid] = event
    return event


@router.get("/events", operation_id="list_events", summary="List events",
            description="Your events that start between two dates (UTC), earliest first.")
async def list_events(state: State, start_date: Annotated[date | None, Query(description="From this day")] = None,
                      end_date: Annotated[date | None, Query(description="Up to this day")] = None) -> EventList:
    found = [e for e in state.events.values()
             if (start_date is None or datetime.fromisoformat(e.start_utc).date() >= start_date)
             and (end_date is None or datetime.fromisoformat(e.start_utc).date() <= end_date)]
    found.sort(key=lambda e: e.start_utc)
    return EventList(count=len(found), events=found)


@router.delete("/events/{event_id}", operation_id="delete_event", summary="Delete event",
               description="Remove an event from your calendar.",
               responses={404: {"model": ErrorBody, "description": "No such event"}})
async def delete_event(state: State, event_id: Annotated[str, Path(examples=["EVT-0001"])]) -> Deleted:
    if event_id not in state.events:
        raise not_found("event", event_id, "list events with /calendar/events")
    del state.events[event_id]
    return Deleted(id=event_id, deleted=True)


TOOL = HubTool(slug=SLUG, name="ChronoKit Calendar", category="Tools",
               description="Time and calendar utilities: current time in any time zone, time zone conversion, "
                           "public holidays, business-day counts, and a personal calendar of events.",
               router=router, make_state=Calendar, stateful=True)
