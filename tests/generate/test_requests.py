"""Requests written the way people write them (issue 19 items 1-2): phrased from descriptions, values stated in a
form the checker accepts, deterministic per seed; the stats that measure them; samples on backend-less tools
labelled as verified by format and meaning only."""

from __future__ import annotations

import random

from toolbench.generate import phrasing, render, surface
from toolbench.generate.call_samples import CallSample
from toolbench.generate.calls import CallGenerator, CallsConfig, value_mentions
from toolbench.generate.pipeline import CallsRun, has_backend
from toolbench.generate.request_stats import request_stats, skeletons, spells_name
from toolbench.generate.verify import Verifier
from toolbench.records import Api, Observation, Param, Tool


def batch(tools, seed: int, n: int, **config) -> list[CallSample]:
    gen = CallGenerator(tools, seed=seed, config=CallsConfig(**config))
    return [gen.generate(i) for i in range(n)]


def test_the_name_spelling_share_is_measured_and_under_ten_percent_on_the_hub_catalog(hub_catalog):
    # the measure itself: the examples spell names out, natural requests do not
    assert spells_name("Can you get users id memberships (user id: 12345)?", ["user_id"])
    assert spells_name("where the collaborationId is 1234", ["collaboration_id"])
    assert not spells_name("Can you list the memberships of user 12345?", ["user_id", "limit"])
    samples = batch(hub_catalog, seed=0, n=160)
    apis = {(t.name, a.name): a for t in hub_catalog for a in t.apis}
    stats = request_stats(samples, apis)
    assert stats["requests"] >= 160
    assert stats["name_spelled_share"] <= 0.10, stats
    assert stats["distinct_templates"] >= 0.6 * stats["requests"]


def test_the_old_template_style_would_fail_the_measure(hub_catalog):
    """The measure is not a constant: requests written from the parameter names score far above 10%."""
    samples = batch(hub_catalog, seed=0, n=80, zh_rate=0.0)
    for sample in samples:
        for step in sample.steps:
            if step.user and step.calls:
                args = {k: v for c in step.calls for k, v in c.arguments.items()}
                step.user = (
                    "Can you " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in args.items()) + "?"
                )
    assert request_stats(samples)["name_spelled_share"] > 0.2


def test_every_value_is_stated_in_a_form_the_checker_accepts(hub_catalog):
    samples = batch(hub_catalog, seed=3, n=150)
    verifier = Verifier(hub_catalog)
    for sample in samples:
        for step in sample.steps:
            for call in step.calls:
                for arg, value in call.arguments.items():
                    if arg in call.from_previous:
                        continue
                    for mention in value_mentions(value):
                        assert surface.stated(mention, step.user or ""), (sample.id, arg, mention, step.user)
        assert verifier.verify(sample).status == "passed", (sample.id, verifier.verify(sample).verdicts)


def test_dates_are_written_in_prose_only_where_the_schema_fixes_their_format():
    typed = Param(
        "start_date", "STRING", "First day (YYYY-MM-DD)", schema={"type": "string", "format": "date"}
    )
    loose = Param("note", "STRING", "Anything", schema={"type": "string"})
    rng = random.Random(0)
    prose = {phrasing.value_text("2024-05-01", typed, "en", rng) for _ in range(40)}
    assert {"May 1, 2024", "1 May 2024", "May 1st, 2024"} <= prose
    assert all(surface.stated("2024-05-01", text) for text in prose)
    assert {phrasing.value_text("2024-05-01", loose, "en", rng) for _ in range(20)} == {"2024-05-01"}
    assert surface.stated("2024-05-01", "从2024年5月1日开始")
    assert not surface.stated("2024-05-01", "from May 2, 2024")


def test_numbers_are_written_as_people_write_them_and_the_checker_reads_them_back():
    count = Param("population", "NUMBER", "Number of people", schema={"type": "integer"})
    rate = Param("interest_rate", "NUMBER", "Yearly rate as a decimal", schema={"type": "number"})
    score = Param("score", "NUMBER", "A score", schema={"type": "number"})
    rng = random.Random(0)
    assert {phrasing.value_text(12000, count, "en", rng) for _ in range(30)} == {"12000", "12,000"}
    assert {phrasing.value_text(1500000, count, "en", rng) for _ in range(40)} == {"1500000", "1,500,000",
                                                                                    "1.5 million"}
    assert {phrasing.value_text(0.05, rate, "en", rng) for _ in range(30)} == {"0.05", "5%"}
    assert {phrasing.value_text(0.05, score, "en", rng) for _ in range(10)} == {"0.05"}  # not a rate: digits
    assert {phrasing.value_text(0.125, rate, "en", rng) for _ in range(30)} == {"0.125", "12.5%"}
    assert {phrasing.value_text(0.123456, rate, "en", rng) for _ in range(10)} == {"0.123456"}  # no exact percentage
    assert {phrasing.value_text(120, count, "en", rng) for _ in range(10)} == {"120"}
    for other in (Param("id", "NUMBER", "Media ID"), Param("media", "NUMBER", "The media's id"),
                  Param("year", "NUMBER", "Year"), Param("timestamp", "NUMBER", "Unix time")):
        assert {phrasing.value_text(2021, other, "en", rng) for _ in range(10)} == {"2021"}  # never "2,021"
    assert {phrasing.value_text(12000, count, "zh", rng) for _ in range(10)} == {"12000"}
    for mention, text in (("12000", "about 12,000 people"), ("1500000", "1.5 million of them"),
                          ("0.05", "at 5% a year"), ("-2500", "-2,500 m")):
        assert surface.stated(mention, text), (mention, text)
    assert not surface.stated("12000", "about 12,500 people")
    assert not surface.stated("0.05", "at 0.5% a year")


def test_requests_come_from_descriptions_and_leave_names_unsaid():
    api = Api(
        "Shop",
        "get_user_id_memberships",
        "Returns the group memberships of a user.",
        required_params=[Param("user_id", "STRING", "The user", required=True)],
        optional_params=[
            Param("max_items", "NUMBER", "Maximum number of results", schema={"type": "integer"})
        ],
    )
    texts = {
        render.request(api, {"user_id": "12345", "max_items": 16}, "en", random.Random(seed))
        for seed in range(30)
    }
    assert all("membership" in t and "12345" in t and "16" in t for t in texts)
    assert not any(spells_name(t, ["user_id", "max_items"]) for t in texts)
    assert len(texts) >= 25  # syntax, politeness and personas vary
    it = phrasing.intent(api, random.Random(0))
    assert it.vp == "get the group memberships"  # "of a user" is said by the argument ("user 12345")


def test_a_title_case_description_is_said_in_sentence_case():
    api = Api("Twitter", "Get User Replies", "Get User Replies By ID")
    texts = [render.request(api, {}, "en", random.Random(seed)) for seed in range(20)]
    assert any("user replies by ID" in t for t in texts), texts
    assert not any("Replies By" in t for t in texts), texts
    assert phrasing.intent(Api("NBA", "summary", "Get NBA Game Summary"), random.Random(0)).vp == "get NBA game summary"
    coin = phrasing.intent(Api("Crowdsense", "Get Coin Metrics", "Get coin´s social media metrics"), random.Random(0))
    assert coin.vp == "get coin's social media metrics"  # an acute accent is no apostrophe


def test_a_bare_id_is_said_as_the_id_of_the_apis_noun():
    api = Api("Coaches", "Get coaches By ID", "", required_params=[Param("id", "NUMBER", "", required=True)])
    args = phrasing.arguments(api, {"id": 145}, random.Random(0))
    assert args and "coach" in args[0] and "coache" not in args[0], args  # was the name's last word: "id 145"


def test_a_name_with_its_own_article_gets_no_second_one():
    for name in ("Get the places by latitude", "the places by latitude"):
        api = Api("Location", name, "")  # no description: the name says what the API does
        texts = [render.request(api, {}, "en", random.Random(seed)) for seed in range(20)]
        assert any("the places" in t for t in texts)
        assert not any("the the" in t.casefold() for t in texts), texts


def test_a_description_about_this_resource_says_what_it_returns():
    """"This resource returns the historic of sales" was asked for as "Find the this resource returns ..."."""
    api = Api("Shop", "Get sales history", "This resource returns the historic of sales of a product")
    assert phrasing.intent(api, random.Random(0)).vp == "get the historic of sales"
    feedback = Api("Shop", "feedbacks", "this ressource displays the feedbacks")
    assert phrasing.intent(feedback, random.Random(0)).vp == "show the feedbacks"
    texts = [render.request(Api("Shop", "x", "This list of products"), {}, "en", random.Random(s)) for s in range(20)]
    assert not any("the this" in t.casefold() for t in texts), texts


def test_the_two_ends_of_a_move_are_said_as_one_phrase():
    """A currency, city, time zone or language pair reads "from X to Y" (was "datetime ..., Asia/Singapore as the
    timezone and IANA zone wanted Europe/Berlin", "for New York and around Paris")."""
    zone = {"type": "string"}
    api = Api("Time", "convert_time", "Convert a time between zones", required_params=[
        Param("from_timezone", "STRING", "IANA zone", required=True, schema=zone),
        Param("to_timezone", "STRING", "IANA zone wanted", required=True, schema=zone)])
    trip = Api("Geo", "get_distance", "Distance between cities", required_params=[
        Param("from_city", "STRING", "", required=True), Param("to_city", "STRING", "", required=True)])
    for seed in range(10):
        zones = phrasing.arguments(api, {"from_timezone": "Asia/Singapore", "to_timezone": "Europe/Berlin"},
                                   random.Random(seed))
        assert zones == ["from Asia/Singapore to Europe/Berlin"], zones
        cities = phrasing.arguments(trip, {"from_city": "New York", "to_city": "Paris"}, random.Random(seed))
        assert cities == ["from New York to Paris"], cities


def test_descriptions_that_start_with_a_modal_or_a_usage_note_say_what_the_api_does():
    """"Will return the current F1 season driver standings" was asked for as "The will return ...", "This API should
    be used to retrieve ..." as "The should be used to retrieve ...", and "Retrieve  coin's" kept its two spaces."""
    cases = {"Will return the current F1 season driver standings.": "get the current F1 season driver standings",
             "This API should be used to retrieve the current delivery status of a message sent using Wavecell.":
                 "get the current delivery status",
             "Retrieve  coin's real time social media metrics": "get coin's real time social media metrics"}
    for description, vp in cases.items():
        assert phrasing.intent(Api("T", "Driver Standings metrics", description), random.Random(0)).vp == vp


def test_a_count_given_as_a_string_is_said_as_a_count():
    """A string-typed ``per_page`` "7" was said as "page 7", the same as the page beside it."""
    api = Api("Chat", "List channels", "", optional_params=[
        Param("per_page", "STRING", ""), Param("page", "NUMBER", "")])
    for seed in range(10):
        phrases = phrasing.arguments(api, {"per_page": "7", "page": 1}, random.Random(seed))
        assert not any("page 7" in p for p in phrases), phrases
        assert "just 1 results" not in phrasing.arguments(api, {"per_page": 1}, random.Random(seed))


def test_lists_flags_and_parallel_values_read_as_prose():
    api = Api(
        "Paint",
        "list_paints",
        "Paints by colour",
        optional_params=[
            Param("colors", "ARRAY", "Colours", schema={"type": "array", "items": {"type": "string"}}),
            Param(
                "include_samples", "BOOLEAN", "Whether to include free samples", schema={"type": "boolean"}
            ),
        ],
    )
    text = render.request(
        api, {"colors": ["red", "green", "blue"], "include_samples": True}, "en", random.Random(1)
    )
    assert "red, green and blue" in text and "include free samples" in text
    weather = Api(
        "W",
        "get_current_weather",
        "Current weather conditions in a city",
        required_params=[Param("city", "STRING", "City name", required=True)],
    )
    text = render.parallel_request(
        weather, [{"city": c} for c in ("Paris", "London", "Tokyo")], "en", random.Random(2)
    )
    assert "Paris, London and Tokyo" in text and "weather" in text
    news = Api("N", "search_news", "Search news articles",
               required_params=[Param("q", "STRING", "Search query", required=True)])
    for seed in range(12):  # quotes go around each value, never around the list
        text = render.parallel_request(news, [{"q": "AAPL"}, {"q": "board games"}], "en", random.Random(seed))
        assert '"AAPL and board games"' not in text and "AAPL" in text and "board games" in text


def test_a_grid_request_says_each_value_once_and_asks_for_every_combination():
    api = Api("W", "get_forecast", "Daily weather forecast for a city",
              required_params=[Param("city", "STRING", "City name", required=True)],
              optional_params=[Param("hourly", "BOOLEAN", "Whether to include the hourly forecast",
                                     schema={"type": "boolean"}),
                               Param("units", "STRING", "Units", schema={"type": "string",
                                                                        "enum": ["metric", "imperial"]})])
    texts = set()
    for seed in range(8):
        rng = random.Random(seed)
        text = render.grid_request(api, {"units": "metric"}, (api.params[0], ["Paris", "Rome"]),
                                   (api.params[1], [True, False]), rng)
        texts.add(text)
        assert text.count("Paris") == 1 and text.count("Rome") == 1 and "metric" in text
        assert "include the hourly forecast" in text and "combination" in text
    assert len(texts) >= 4


def test_requests_are_deterministic_per_seed(hub_catalog):
    first = [s.to_dict() for s in batch(hub_catalog, seed=7, n=40)]
    again = [s.to_dict() for s in batch(hub_catalog, seed=7, n=40)]
    other = [s.to_dict() for s in batch(hub_catalog, seed=8, n=40)]
    assert first == again
    assert [s["steps"][0]["user"] for s in first] != [s["steps"][0]["user"] for s in other]


def test_template_skeletons_mask_values_and_function_words(tools):
    sample = batch(tools, seed=0, n=1, weights={"simple": 1.0}, zh_rate=0.0)[0]
    (skeleton,) = skeletons(sample)
    for value in (v for c in sample.calls for v in c.arguments.values() if isinstance(v, str)):
        assert value.casefold() not in skeleton
    assert "<w>" in skeleton


class CountingRunner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def call(self, tool_name, api_name, args=None) -> Observation:
        self.calls.append((tool_name, api_name))
        return Observation(response='{"ok": true}', status=200)


def test_samples_on_tools_without_a_backend_are_labelled_format_and_meaning_verified(tmp_path):
    city = Param("city", "STRING", "City name", required=True)
    remote = Tool(
        name="Remote Weather",
        category="Weather",
        apis=[  # no base URL: nothing can run it
            Api(
                "Remote Weather",
                "get_weather",
                "Current weather in a city",
                required_params=[city],
                category="Weather",
            ),
            Api(
                "Remote Weather",
                "get_air_quality",
                "Air quality in a city",
                required_params=[city],
                category="Weather",
            ),
        ],
    )
    local = Tool(
        name="Local Weather",
        category="Weather",
        base_url="http://127.0.0.1:8750",
        apis=[
            Api(
                "Local Weather",
                "get_forecast",
                "Daily forecast for a city",
                required_params=[city],
                category="Weather",
            )
        ],
    )
    assert not has_backend(remote) and has_backend(local)
    assert not has_backend(Tool(name="x", base_url="https://api.example.com"))
    tools = [remote, local]
    runner = CountingRunner()
    gen = CallGenerator(tools, seed=0, config=CallsConfig(weights={"simple": 1.0}, zh_rate=0.0))
    stats = CallsRun(out=tmp_path / "run", n=30, heldout=0.0).run(gen, Verifier(tools, runner=runner), tools)
    rows = [
        CallSample.from_dict(__import__("json").loads(line))
        for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    ]
    on_remote = [s for s in rows if s.calls[0].tool == "Remote Weather"]
    on_local = [s for s in rows if s.calls[0].tool == "Local Weather"]
    assert on_remote and on_local
    for sample in on_remote:
        assert sample.meta["verification"] == {"stages": ["format", "meaning"], "execution": "no backend"}
        assert sample.status == "passed"
    for sample in on_local:
        assert sample.meta["verification"] == {
            "stages": ["format", "execution", "meaning"],
            "execution": "backend",
        }
    assert {t for t, _ in runner.calls} == {"Local Weather"}
    assert stats["verification"] == {"no backend": len(on_remote), "backend": len(on_local)}
    assert stats["requests"]["requests"] == 30 and "name_spelled_share" in stats["requests"]


def test_an_amount_is_said_with_its_currency():
    api = Api(
        "FX",
        "convert_currency",
        "Convert an amount between currencies",
        required_params=[
            Param("from", "STRING", "Source currency", required=True),
            Param("to", "STRING", "Target currency", required=True),
        ],
        optional_params=[Param("amount", "NUMBER", "Amount in the source currency")],
    )
    for seed in range(10):
        text = render.request(api, {"from": "USD", "to": "EUR", "amount": 250.5}, "en", random.Random(seed))
        assert "250.5 USD" in text or "USD 250.5" in text, text
        assert "EUR" in text


def test_a_paraphrase_may_keep_a_date_in_any_form_the_checker_accepts():
    from toolbench.generate.calls import Paraphraser
    from toolbench.llm.scripted import ScriptedChatModel

    model = ScriptedChatModel(
        ["Any idea what the weather was in Paris on 1 May 2024?", "Weather in Paris, please."]
    )
    paraphraser = Paraphraser(model)
    text, note = paraphraser.rewrite(
        "Check the past weather in Paris on May 1, 2024.",
        "en",
        ["Paris", "2024-05-01"],
        seed=0,
    )
    assert note == "paraphrased" and "1 May 2024" in text
    assert '"May 1, 2024"' in model.requests[0]["messages"][-1]["content"]  # told the form the request uses
    text, note = paraphraser.rewrite(
        "Check the past weather in Paris on May 1, 2024.", "en", ["Paris", "May 1, 2024"], seed=1
    )
    assert note.startswith("paraphrase refused") and text.endswith("May 1, 2024.")


def test_multi_turn_results_on_tools_without_a_backend_are_synthesised_not_run(tools):
    for tool in tools:
        tool.base_url = ""  # as imported from a StableToolBench file: nothing to run it on
    runner = CountingRunner()
    gen = CallGenerator(tools, seed=0, config=CallsConfig(weights={"multi_turn": 1.0}), runner=runner)
    samples = [gen.generate(i) for i in range(5)]
    assert all(s.meta["observations"] == "synthetic" for s in samples)
    assert runner.calls == []
