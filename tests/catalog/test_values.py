from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.pools import order_pairs
from toolbench.catalog.regex_sample import sample_regex
from toolbench.catalog.values import ValueSampler, ValueSamplingError, catalog_today, is_valid

NAMES = ["city", "email", "order_id", "start_date", "end_date", "price", "q", "message", "title", "latitude",
         "ticker", "currency", "page", "tags", "x"]
PATTERNS = [r"^[A-Z]{3}$", r"^\d{3}-\d{4}$", r"^(ORD|INV)-[0-9]{4,6}$", r"^[a-z][a-z0-9_]{2,10}$", r"ab+c?",
            r"^[^\s@]+@[a-z]+\.com$"]
FORMATS = ["date", "date-time", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname"]


@st.composite
def bounded(draw, kind: str):
    schema: dict = {"type": kind}
    lo = draw(st.one_of(st.none(), st.integers(-1000, 1000)))
    width = draw(st.integers(0, 500))
    if lo is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) and width > 2 else "minimum"] = lo
        if draw(st.booleans()):
            schema["maximum"] = lo + width
    elif draw(st.booleans()):
        schema["maximum"] = draw(st.integers(-1000, 1000))
    if kind == "integer" and draw(st.booleans()) and "minimum" in schema and "maximum" in schema and width >= 5:
        schema["multipleOf"] = draw(st.sampled_from([2, 5]))
    return schema


@st.composite
def string_schema(draw):
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return {"type": "string", "format": draw(st.sampled_from(FORMATS))}
    if choice == 1:
        return {"type": "string", "pattern": draw(st.sampled_from(PATTERNS))}
    if choice == 2:
        return {"type": "string", "enum": draw(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4))}
    lo = draw(st.integers(0, 12))
    schema = {"type": "string", "minLength": lo}
    if draw(st.booleans()):
        schema["maxLength"] = lo + draw(st.integers(0, 30))
    return schema


scalar = st.one_of(string_schema(), bounded("integer"), bounded("number"), st.just({"type": "boolean"}),
                   st.just({"type": "null"}))


def _containers(children):
    names = st.sampled_from(NAMES)
    obj = st.builds(
        lambda props, req_mask, extra: {
            "type": "object", "properties": props,
            "required": [k for k, r in zip(props, req_mask) if r],
            **({"additionalProperties": False} if extra else {})},
        st.dictionaries(names, children, min_size=0, max_size=4), st.lists(st.booleans(), min_size=4, max_size=4),
        st.booleans())
    arr = st.builds(lambda items, lo, span: {"type": "array", "items": items, "minItems": lo, "maxItems": lo + span},
                    children, st.integers(0, 2), st.integers(0, 3))
    union = st.builds(lambda a, b: {"anyOf": [a, b]}, children, children)
    nullable = st.builds(lambda a: {**a, "type": [a["type"], "null"]} if isinstance(a.get("type"), str) else a,
                         children)
    return st.one_of(obj, arr, union, nullable)


schemas = st.recursive(scalar, _containers, max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas, name=st.sampled_from(NAMES), seed=st.integers(0, 10_000), language=st.sampled_from(["en", "zh"]))
def test_sampled_values_always_satisfy_the_schema(schema, name, seed, language):
    sampler = ValueSampler(random.Random(seed), language=language)
    value = sampler.value(schema, name)
    assert is_valid(value, schema), (schema, value)


@settings(max_examples=60, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), seed=st.integers(0, 10_000))
def test_regex_sampler_matches(pattern, seed):
    assert re.search(pattern, sample_regex(pattern, random.Random(seed)))


def test_names_pick_realistic_values_and_chinese_free_text():
    en = ValueSampler(random.Random(0))
    zh = ValueSampler(random.Random(0), language="zh")
    assert en.value({"type": "string"}, "city") in {"Paris", "London", "Berlin", "Madrid", "Rome", "Tokyo",
                                                    "New York", "Chicago", "Los Angeles", "San Francisco",
                                                    "Toronto", "Sydney", "Singapore", "Dubai", "Mumbai",
                                                    "Barcelona", "Munich", "Lyon", "Osaka", "Cairo",
                                                    "Mexico City", "Sao Paulo"}
    assert re.fullmatch(r"[A-Z]{3}", en.value({"type": "string"}, "base", "Base currency (ISO 4217)"))
    assert "@" in en.value({"type": "string"}, "contact_email")
    assert re.search(r"[\u4e00-\u9fff]", zh.value({"type": "string"}, "message"))
    assert re.search(r"[\u4e00-\u9fff]", zh.value({"type": "string"}, "customer_name"))
    # identifiers use the schema's examples most of the time: they exist only in the service
    draws = [ValueSampler(random.Random(i)).value({"type": "string", "examples": ["ORD-1"]}, "order_id")
             for i in range(50)]
    assert draws.count("ORD-1") >= 40


def test_only_a_persons_name_gets_a_persons_name():
    """"security_name" (a coin), "tag_name", "channel_name" are not people: they used to get "Priya Sharma"."""
    from toolbench.catalog.pools import FIRST_NAMES, pool_for
    from toolbench.records import Param

    assert [pool_for(n) for n in ("customerName", "user_name", "author", "player_name")] == ["name"] * 4
    assert [pool_for(n) for n in ("securityName", "tag_name", "channel_name", "latin_name")] == [None] * 4
    assert (pool_for("city_name"), pool_for("country_name")) == ("city", "country")
    assert (pool_for("state_name"), pool_for("stateAbbreviation"), pool_for("state")) == ("state", "state_code", None)
    coin = Param("securityName", "STRING", "", "bitcoin", required=True)
    draws = {ValueSampler(random.Random(i)).param_value(coin) for i in range(20)}
    assert not any(d.split()[0] in FIRST_NAMES for d in draws), draws


def test_a_bare_name_names_what_its_api_is_about():
    """In the G1 reference catalog a bare "name" is a city, a country, a company, a hashtag or a file far more
    often than a person: every one of them used to get "Diego Silva"."""
    from toolbench.catalog.pools import FIRST_NAMES, pool_for
    from toolbench.records import Api, Param

    assert pool_for("name", "", "Get the cities") == "city"
    assert pool_for("name", "Name of the country", "lookup") == "country"
    assert pool_for("name", "", "Get Available Companies") == "company"
    assert pool_for("name", "", "Search Contacts") == "name"
    assert pool_for("name", "", "Get quotes by character name") == "name"
    assert pool_for("name", "Hashtag name.", "Hashtag by Name") is None
    assert pool_for("name", "Name of the file to recognize.", "GetRecognizeDocument") == "file"
    assert pool_for("name") is None  # nothing says what it names

    def draws(api: Api) -> set[str]:
        return {ValueSampler(random.Random(i)).arguments(api)["name"] for i in range(20)}

    name = Param("name", "STRING", "", required=True)
    hashtag = draws(Api("Instagram", "Hashtag by Name", "", required_params=[name]))
    assert not any(d.split()[0] in FIRST_NAMES for d in hashtag), hashtag
    contacts = draws(Api("ChurchApp", "Search Contacts", "", required_params=[name]))
    assert all(d.split()[0] in FIRST_NAMES for d in contacts), contacts
    cities = draws(Api("Location", "Get the cities", "", required_params=[name]))
    assert not any(d.split()[0] in FIRST_NAMES for d in cities), cities
    # inside an object, the object says it: the hub's create_lead gave its company "Alice Martin"
    named = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    lead = Api("CRM", "create_lead", "", required_params=[
        Param("company", "OBJECT", "", required=True, schema=named),
        Param("contact", "OBJECT", "", required=True, schema=named)])
    for i in range(10):
        args = ValueSampler(random.Random(i)).arguments(lead)
        assert args["company"]["name"].split()[0] not in FIRST_NAMES, args
        assert args["contact"]["name"].split()[0] in FIRST_NAMES, args


def test_names_and_descriptions_that_say_what_a_string_holds_get_such_a_value():
    """Parameters that used to get a search topic ("password board games", "region electric bikes")."""
    from toolbench.catalog.pools import COUNTRY_CODES, COUNTRY_CODES3, KEYWORDS, SORT_KEYS
    from toolbench.catalog.value_shapes import listed_options
    from toolbench.records import Param

    sampler = ValueSampler(random.Random(0))

    def draws(name: str, description: str = "") -> set[str]:
        return {sampler.param_value(Param(name, "STRING", description, "", required=True)) for _ in range(20)}

    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", v) for v in draws("creds_datetime", "UTC iso801"))
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in draws("creds_checksum"))
    assert all(re.fullmatch(r"[A-Z][a-z]+-[A-Z][a-z]+\d\d!", v) for v in draws("password", "The password"))
    assert all(v.startswith("/") and "." in v for v in draws("file_path"))
    assert draws("region", "e.g. Paris, France") == {"Paris, France"}  # the example a description gives in prose
    assert all(re.fullmatch(r"[\w-]{16,}", v) for v in draws("max_cursor", "Pagination cursor."))
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", v) for v in draws("from", "Date") | draws("edate", "// End Date"))
    assert draws("sort") <= set(SORT_KEYS) and draws("alpha3") <= set(COUNTRY_CODES3)
    assert draws("alpha2") <= set(COUNTRY_CODES)
    assert draws("quality", "Quality of the Picture: High or Low.") == {"High", "Low"}
    assert draws("output", "json or xml or php") == {"json", "xml", "php"}
    assert draws("network", "Specify the network! (mainnet/testnet)") == {"mainnet", "testnet"}
    assert draws("sort", "Method to sort by: newest, oldest, or most_liked.") == {"newest", "oldest", "most_liked"}
    assert draws("group", "acceptable group names: 'league', 'conference'. Default: 'league'") == {"league",
                                                                                                   "conference"}
    assert not (draws("quality", "Quality of the picture") - set(KEYWORDS))  # says no value: a topic, as before
    for text in ("Whether to include it or not", "Use one or more", "Date in YYYY/MM/DD", "input/output file",
                 "Get the EUR/USD rate", "e.g. Paris, France", "Time: 10:30", "Comma separated ids: 1,2,3",
                 "State full name (e.g., Washington) or abbreviation (e.g., WA) "):  # drew the state "e.g."
        assert listed_options(text) == [], text


def test_dates_follow_today_and_the_description():
    today = dt.date(2025, 1, 15)
    sampler = ValueSampler(random.Random(1), today=today)
    past = [dt.date.fromisoformat(sampler.value({"type": "string", "format": "date"}, "date", "Past date"))
            for _ in range(30)]
    future = [dt.date.fromisoformat(sampler.value({"type": "string", "format": "date"}, "date", "upcoming day"))
              for _ in range(30)]
    assert all(d < today for d in past) and all(d > today for d in future)


def test_an_id_glued_to_its_noun_is_an_identifier():
    """"Subaccountid", "umid", "sec_uid" drew search topics ("home gardening as the subaccountid")."""
    from toolbench.catalog.pools import is_identifier

    assert all(is_identifier(n) for n in ("AccountID", "Subaccountid", "umid", "jobid", "pid", "sec_uid", "puuid"))
    assert not any(is_identifier(n) for n in ("paid", "valid", "android", "grid", "covid", "period", "bid"))


def test_a_pair_whose_ends_are_one_string_is_found():
    from toolbench.catalog.pools import same_ends

    assert same_ends({"from": "MXN", "to": "MXN", "amount": 5}) == [("from", "to")]
    assert same_ends({"origin_city": "Paris", "destination_city": "Paris"}) == [("origin_city", "destination_city")]
    assert same_ends({"source_lang": "en", "target_lang": "en"}) == [("source_lang", "target_lang")]
    assert same_ends({"start_date": "2025-01-01", "end_date": "2025-01-01"}) == []  # a range of one day
    assert same_ends({"from": "USD", "to": "MXN"}) == []


def test_pairs_are_put_in_order():
    assert order_pairs({"start_date": "2025-02-01", "end_date": "2025-01-01", "x": 1}) == {
        "start_date": "2025-01-01", "end_date": "2025-02-01", "x": 1}
    assert order_pairs({"min_price": 9, "max_price": 3}) == {"min_price": 3, "max_price": 9}
    same = {"from": "EUR", "to": "USD"}  # already in order: the very same object comes back
    assert order_pairs([{"start_time": "10:00", "end_time": "09:00"}]) == [{"start_time": "09:00", "end_time": "10:00"}]
    assert order_pairs(same) is same
    # a range inside an object named for it; from/to strings that are no range keep their direction
    assert order_pairs({"release_years": {"start": 2091, "end": 1918}}) == {"release_years": {"start": 1918,
                                                                                              "end": 2091}}
    for trip in ({"from_currency": "USD", "to_currency": "EUR"}, {"from": "Paris", "to": "Berlin"}):
        assert order_pairs(trip) is trip
    assert order_pairs({"from": "2024-05-01", "to": "2024-01-01"}) == {"from": "2024-01-01", "to": "2024-05-01"}


def test_unsatisfiable_schema_raises():
    with pytest.raises(ValueSamplingError, match="no valid value"):
        ValueSampler(random.Random(0)).value({"type": "integer", "minimum": 5, "maximum": 3}, "n")
    with pytest.raises(ValueSamplingError, match="false"):
        ValueSampler(random.Random(0)).value(False, "n")


@pytest.fixture(scope="module")
def hub_catalog():
    from toolbench.hub.catalog import hub_tools

    return hub_tools()


def test_arguments_validate_for_every_hub_api(hub_catalog):
    for seed in range(5):
        sampler = ValueSampler(random.Random(seed), optional_rate=0.7)
        for tool in hub_catalog:
            for api in tool.apis:
                args = sampler.arguments(api)
                assert validate_arguments(api, args) == []
                assert {p.name for p in api.required_params} <= set(args)


def test_catalog_today_is_the_median_example_date(hub_catalog):
    assert dt.date(2024, 10, 1) <= catalog_today([a for t in hub_catalog for a in t.apis]) <= dt.date(2025, 3, 1)
    assert catalog_today([]) == dt.date(2025, 1, 15)


@pytest.mark.parametrize("kind", ["ARRAY", "OBJECT", "ENUM", "STRING", "NUMBER", "BOOLEAN", "DATE (YYYY-MM-DD)"])
def test_a_schema_less_parameter_is_drawn_as_the_function_offers_it(kind):
    """A ToolBench parameter without a JSON schema is offered by its type (an ARRAY or OBJECT as a string, as
    ToolBench does): its sampled values have that type and pass the API's argument check."""
    from toolbench.catalog.functions import param_schema
    from toolbench.catalog.values import param_schema_for_sampling
    from toolbench.records import Api, Param

    param = Param("things", kind, "Some things.", "", required=True)
    api = Api(tool="T", name="list_things", url="https://example.com/things", required_params=[param])
    offered = param_schema(param)
    sampler = ValueSampler(random.Random(0))
    for _ in range(20):
        value = sampler.param_value(param)
        assert is_valid(value, {"type": offered["type"]}), (kind, value, offered)
        assert not validate_arguments(api, {"things": value}), (kind, value)
    assert param_schema_for_sampling(param).get("type") == offered["type"]


@pytest.mark.parametrize(("example", "name", "shape"), [
    ("56c467cb7b0d464811a42017", "guid", r"[0-9a-f]{24}"),  # a hex id stays hex, same length
    ("G1822", "symbol", r"G\d{4}"),  # a code keeps its letter prefix
    ("tt0111161", "tconst", r"tt\d{7}"),
    ("X7k9P2", "key", r"[A-Z]\d[a-z]\d[A-Z]\d"),  # letters between digits are random: redrawn, case kept
    ("ab-12", "key", r"ab-\d\d"),  # other letters are the code's fixed part
    ("40.7128", "latitude", r"-?\d{1,2}\.\d{4}"),  # the name's range, the example's decimals
    ("02134", "zip", r"\d{5}"),  # zero-padded: the width stays
    ("apify.com", "domain", r"[a-z.]+\.[a-z]{2,6}"),
])
def test_a_free_string_is_shaped_like_its_example(example, name, shape):
    """A string whose name picks no pool gets a new value of its example's kind (not a search keyword)."""
    from toolbench.catalog.value_shapes import shaped_like

    rng = random.Random(3)
    draws = [shaped_like(example, name, rng) for _ in range(30)]
    assert all(re.fullmatch(shape, d) for d in draws), draws
    assert len(set(draws)) > 1  # a new value, not the example every time
    if name == "latitude":
        assert all(-90 <= float(d) <= 90 for d in draws)


@pytest.mark.parametrize("example", ["json", "NATO Air Policing", "2023-01-05", "10:30"])
def test_a_word_phrase_date_or_time_example_is_kept(example):
    from toolbench.catalog.value_shapes import shaped_like

    assert shaped_like(example, "format", random.Random(0)) == example


def test_a_toolbench_default_shapes_the_value_of_a_parameter_no_pool_knows():
    """A ToolBench STRING parameter with a documented default: every draw is like it, never a search keyword
    (which the sampler used to give: "guid": "home gardening")."""
    from toolbench.catalog.pools import KEYWORDS
    from toolbench.records import Param

    guid = Param("guid", "STRING", "The article's GUID.", ".xml.2023.06.09.114935064", required=True)
    fmt = Param("format", "STRING", "Response format.", "json", required=True)
    sampler = ValueSampler(random.Random(0))
    guids = [sampler.param_value(guid) for _ in range(40)]
    assert all(re.fullmatch(r"\.xml\.\d{4}\.\d\d\.\d\d\.\d{9}", g) for g in guids), guids
    assert {sampler.param_value(fmt) for _ in range(20)} == {"json"}
    blank = Param("label", "STRING", "A label.", "string", required=True)  # a placeholder is no example:
    assert sampler.param_value(blank) in KEYWORDS  # the keyword pool, as before
    per_page = Param("per_page", "STRING", "Results per page.", "", required=True)  # a count offered as a string
    assert all(1 <= int(sampler.param_value(per_page)) <= 50 for _ in range(20))


def test_a_pattern_keeps_the_value_the_name_picks_when_it_fits():
    """An email with a pattern reads like an email (the pattern accepts the pool's), and a pattern the named value
    does not fit is still honoured (the regex sampler)."""
    sampler = ValueSampler(random.Random(0))
    email = {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"}
    draws = [sampler.value(email, "email") for _ in range(20)]
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@[a-z.]+", d) for d in draws), draws
    code = {"type": "string", "pattern": r"^[A-Z]{2}\d{3}$"}
    assert all(re.fullmatch(r"[A-Z]{2}\d{3}", sampler.value(code, "city")) for _ in range(20))
