"""ToolBench's name standardisation and function naming."""

import pytest

from toolbench.catalog.naming import FunctionMap, function_name, param_name, standardize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Get Weather (v2)!", "get_weather_v2"),
        ("TheClique", "theclique"),
        ("3D Models", "get_3d_models"),
        ("  __Leading and trailing__  ", "leading_and_trailing"),
        ("a--b...c", "a_b_c"),
        ("Riddlie ", "riddlie"),
        ("👋 Demo Project", "demo_project"),
        ("天气 API", "天气_api"),
        ("caret^name", "caret_name"),  # ToolBench keeps '^' (a regex slip); we do not
        ("!!!", ""),
        ("", ""),
    ],
)
def test_standardize(raw, expected):
    assert standardize(raw) == expected


@pytest.mark.parametrize("raw, expected", [("id", "is_id"), ("from", "is_from"), ("Content-Type", "content_type"),
                                           ("class", "is_class"), ("identity", "identity")])
def test_param_name(raw, expected):
    assert param_name(raw) == expected


def test_function_name_keeps_the_last_64_characters():
    assert function_name("Songkick concert", "theclique") == "songkick_concert_for_theclique"
    assert function_name("id", "tool") == "is_id_for_tool"
    long = function_name("Get the very long API name that goes on and on", "a_tool_with_a_long_standard_name")
    assert len(long) == 64
    assert long.endswith("_for_a_tool_with_a_long_standard_name")


def test_function_map_unique_names_and_exact_mapping_back():
    fm = FunctionMap()
    tool = "x" * 60
    a = fm.add("T", tool, "Over 1.5 goals")
    b = fm.add("T", tool, "Over 2.5 goals")  # same last 64 characters as a
    assert a != b and len(a) <= 64 and len(b) <= 64
    assert fm.resolve(a) == ("T", "Over 1.5 goals")
    assert fm.resolve(b) == ("T", "Over 2.5 goals")
    assert fm.add("T", tool, "Over 1.5 goals") == a  # idempotent
    assert fm.resolve("never_offered") is None
    assert len(fm) == 2 and fm.name_of("T", "Over 2.5 goals") == b
