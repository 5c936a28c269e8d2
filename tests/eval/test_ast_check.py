"""Every rule branch of eval.ast_check on hand-made entries (no BFCL package needed)."""

from __future__ import annotations

import pytest

from eval.ast_check import (
    GREEDY_NOTE,
    AstCheckError,
    check_abstention,
    check_call,
    check_calls,
    check_output,
    check_relevance,
    normalize,
)

FUNC = {
    "name": "trip.plan",
    "parameters": {
        "type": "dict",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "budget": {"type": "float"},
            "pets": {"type": "boolean"},
            "stops": {"type": "array", "items": {"type": "string"}},
            "weights": {"type": "array", "items": {"type": "float"}},
            "point": {"type": "tuple", "items": {"type": "float"}},
            "prefs": {"type": "dict", "properties": {}},
            "legs": {"type": "array", "items": {"type": "dict"}},
            "note": {"type": "any"},
            "undocumented_in_answer": {"type": "string"},
        },
        "required": ["city"],
    },
}
OPTIONS = {
    "city": ["New York, NY", "NYC"],
    "days": [3, ""],
    "budget": [100.0, ""],
    "pets": [False, ""],
    "stops": [["Boston", "D.C."], ""],
    "weights": [[1.5, 2.0], ""],
    "point": [[1.0, 2.0], ""],
    "prefs": ["", {"seat": ["window"], "meal": ["veg", ""]}, {"seat": ["aisle"], "meal": ["fish"]}],
    "legs": ["", [{"mode": ["train"]}, {"mode": ["bus", "coach"]}]],
    "note": ["", "hello"],
}
ANSWER = {"trip.plan": OPTIONS}


def check(args, func=FUNC, answer=ANSWER, **kw):
    return check_call(func, {"trip.plan": args}, answer, **kw)


def assert_fails(verdict, error_type):
    assert (verdict.valid, verdict.error_type) == (False, error_type), verdict.errors


# ---- names, required, unexpected, optional -----------------------------------------------------------------


def test_minimal_call_is_valid():
    assert check({"city": "NYC"}).valid


def test_wrong_function_name():
    assert_fails(
        check_call(FUNC, {"trip.plans": {"city": "NYC"}}, ANSWER), "simple_function_checker:wrong_func_name"
    )


def test_underscore_to_dot_expects_underscores_for_dotted_names():
    call = {"trip_plan": {"city": "NYC"}}
    assert check_call(FUNC, call, ANSWER, underscore_to_dot=True).valid
    assert_fails(check_call(FUNC, call, ANSWER), "simple_function_checker:wrong_func_name")
    assert_fails(
        check_call(FUNC, {"trip.plan": {"city": "NYC"}}, ANSWER, underscore_to_dot=True),
        "simple_function_checker:wrong_func_name",
    )


def test_missing_required():
    assert_fails(check({"days": 3}), "simple_function_checker:missing_required")


@pytest.mark.parametrize("param", ["nope", "undocumented_in_answer"])
def test_unexpected_param_not_documented_or_not_in_answer(param):
    assert_fails(check({"city": "NYC", param: "x"}), "simple_function_checker:unexpected_param")


def test_left_out_param_must_be_marked_optional():
    answer = {"trip.plan": {**OPTIONS, "days": [3]}}
    assert_fails(check({"city": "NYC"}, answer=answer), "simple_function_checker:missing_optional")
    assert check({"city": "NYC", "days": 3}, answer=answer).valid


# ---- types ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "param, value",
    [
        ("days", "3"),
        ("days", True),
        ("days", 3.0),
        ("pets", 0),
        ("city", 7),
        ("stops", "Boston"),
        ("prefs", "x"),
    ],
)
def test_simple_type_errors(param, value):
    assert_fails(check({"city": "NYC", param: value}), "type_error:simple")


def test_int_accepted_for_float_and_compared_as_float():
    assert check({"city": "NYC", "budget": 100}).valid
    assert_fails(check({"city": "NYC", "budget": 101}), "value_error:others")


def test_tuple_read_as_list_only_where_a_tuple_is_expected():
    assert check({"city": "NYC", "point": (1.0, 2.0)}).valid
    assert_fails(check({"city": "NYC", "stops": ("Boston", "D.C.")}), "type_error:simple")


def test_item_types_checked_one_level_deep():
    answer = {"trip.plan": {**OPTIONS, "stops": [["Boston", "D.C."]], "weights": [[1.5, 2.0]]}}
    assert_fails(check({"city": "NYC", "stops": ["Boston", 3]}, answer=answer), "type_error:nested")
    # BFCL converts int to float only at the top level: an int item in a float array is a type error.
    assert_fails(check({"city": "NYC", "weights": [1.5, 2]}, answer=answer), "type_error:nested")
    assert check({"city": "NYC", "stops": ["boston", "dc"], "weights": [1.5, 2.0]}, answer=answer).valid


def test_an_omitted_option_waives_the_item_type_check_like_bfcl():
    # With "" among the options, BFCL finds a non-list option and skips the item types; the values decide.
    assert_fails(check({"city": "NYC", "stops": ["Boston", 3]}), "value_error:list/tuple")
    assert check({"city": "NYC", "weights": [1.5, 2]}).valid  # [1.5, 2] == [1.5, 2.0]


def test_empty_list_has_no_items_to_mistype_and_matches_an_omitted_option():
    # "" (omitted) iterates as no items in BFCL's list comparison, so [] matches it.
    assert check({"city": "NYC", "stops": []}).valid


def test_a_value_typed_like_the_answer_is_a_variable_compared_exactly():
    answer = {"trip.plan": {**OPTIONS, "days": ["num_days"]}}
    assert check({"city": "NYC", "days": "num_days"}, answer=answer).valid
    # As a variable it is compared exactly, not with string normalisation.
    assert_fails(check({"city": "NYC", "days": "Num_Days"}, answer=answer), "value_error:others")
    assert_fails(check({"city": "NYC", "days": 3.5}, answer=answer), "type_error:simple")


def test_any_is_read_as_string():
    assert check({"city": "NYC", "note": "HELLO"}).valid
    assert_fails(check({"city": "NYC", "note": 5}), "type_error:simple")


def test_json_schema_aliases_and_unknown_types():
    func = {"name": "f", "parameters": {"properties": {"x": {"type": "number"}, "o": {"type": "object"}}}}
    answer = {"f": {"x": [2.5], "o": [{"k": ["v"]}]}}
    assert check_call(func, {"f": {"x": 2.5, "o": {"k": "V"}}}, answer).valid
    bad = {"name": "f", "parameters": {"properties": {"x": {"type": "Decimal"}}}}
    with pytest.raises(AstCheckError, match="Decimal"):
        check_call(bad, {"f": {"x": 1}}, {"f": {"x": [1]}})


# ---- values ---------------------------------------------------------------------------------------------


def test_strings_are_normalised():
    assert normalize("New York, NY") == normalize("new-york_ny.") == "newyorkny"
    assert normalize("it's") == 'it"s'
    assert check({"city": " new york ny"}).valid
    assert check({"city": "N.Y.C."}).valid
    assert_fails(check({"city": "Boston"}), "value_error:string")


def test_lists_compare_in_order_with_normalised_string_items():
    assert check({"city": "NYC", "stops": ["boston", "DC"]}).valid
    assert_fails(check({"city": "NYC", "stops": ["DC", "boston"]}), "value_error:list/tuple")
    assert_fails(check({"city": "NYC", "stops": ["boston"]}), "value_error:list/tuple")


def test_other_values_must_equal_an_option():
    assert check({"city": "NYC", "pets": False}).valid
    assert_fails(check({"city": "NYC", "pets": True}), "value_error:others")
    assert_fails(check({"city": "NYC", "days": 4}), "value_error:others")


def test_dict_matches_any_dict_option_with_normalised_strings_and_optional_keys():
    assert check({"city": "NYC", "prefs": {"seat": "Window"}}).valid  # meal may be left out
    assert check({"city": "NYC", "prefs": {"seat": "aisle", "meal": "fish"}}).valid  # the second option


def test_dict_errors():
    # Against the last option tried: a missing key without "" is a key error.
    assert_fails(check({"city": "NYC", "prefs": {"seat": "aisle"}}), "value_error:dict_key")
    assert_fails(
        check({"city": "NYC", "prefs": {"seat": "aisle", "meal": "fish", "x": 1}}), "value_error:dict_key"
    )
    assert_fails(check({"city": "NYC", "prefs": {"seat": "aisle", "meal": "veg"}}), "value_error:dict_value")


def test_dict_bad_value_and_missing_key_reports_the_missing_key_like_bfcl():
    answer = {"trip.plan": {**OPTIONS, "prefs": [{"seat": ["window"], "meal": ["veg"]}]}}
    verdict = check({"city": "NYC", "prefs": {"seat": "aisle"}}, answer=answer)
    assert_fails(verdict, "value_error:dict_key")
    assert len(verdict.errors) == 2  # the bad value, then the missing key


def test_dict_with_no_dict_option_is_unclear():
    answer = {"trip.plan": {**OPTIONS, "prefs": [""]}}
    assert_fails(check({"city": "NYC", "prefs": {"seat": "aisle"}}, answer=answer), "dict_checker:unclear")


def test_list_of_dicts_in_order():
    assert check({"city": "NYC", "legs": [{"mode": "Train"}, {"mode": "coach"}]}).valid
    assert check({"city": "NYC", "legs": []}).valid  # "" stands for the empty list here too
    assert_fails(check({"city": "NYC", "legs": [{"mode": "train"}]}), "value_error:list_dict_count")
    assert_fails(
        check({"city": "NYC", "legs": [{"mode": "bus"}, {"mode": "train"}]}), "value_error:dict_value"
    )
    assert_fails(check({"city": "NYC", "legs": [{"mode": "train"}, "bus"]}), "type_error:nested")


# ---- categories -------------------------------------------------------------------------------------------

ADD = {
    "name": "add",
    "parameters": {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a"]},
}
NEG = {"name": "neg", "parameters": {"properties": {"a": {"type": "integer"}}, "required": ["a"]}}


def test_simple_wants_exactly_one_call_and_uses_the_first_doc():
    answer = [{"add": {"a": [1], "b": [2]}}]
    assert check_calls([ADD], [{"add": {"a": 1, "b": 2}}], answer, "simple_python").valid
    assert_fails(check_calls([ADD], [], answer, "simple"), "simple_function_checker:wrong_count")
    two = [{"add": {"a": 1, "b": 2}}] * 2
    assert_fails(check_calls([ADD], two, answer, "live_simple"), "simple_function_checker:wrong_count")


def test_multiple_picks_the_doc_of_the_expected_function():
    answer = [{"neg": {"a": [5]}}]
    assert check_calls([ADD, NEG], [{"neg": {"a": 5}}], answer, "multiple").valid
    assert_fails(
        check_calls([ADD, NEG], [{"add": {"a": 5}}], answer, "multiple"),
        "simple_function_checker:wrong_func_name",
    )
    assert_fails(
        check_calls([ADD, NEG], [{"neg": {"a": 5}}, {"neg": {"a": 5}}], answer, "live_multiple"),
        "multiple_function_checker:wrong_count",
    )


def test_parallel_matches_in_any_order():
    answer = [{"add": {"a": [1], "b": [2]}}, {"neg": {"a": [3]}}, {"add": {"a": [4], "b": ["", 0]}}]
    calls = [{"add": {"a": 4}}, {"neg": {"a": 3}}, {"add": {"a": 1, "b": 2}}]
    for category in ("parallel", "parallel_multiple", "live_parallel", "live_parallel_multiple"):
        assert check_calls([ADD, NEG], calls, answer, category).valid
    assert_fails(
        check_calls([ADD, NEG], calls[:2], answer, "parallel"),
        "parallel_function_checker_no_order:wrong_count",
    )
    wrong = [{"add": {"a": 4}}, {"neg": {"a": 9}}, {"add": {"a": 1, "b": 2}}]
    verdict = check_calls([ADD, NEG], wrong, answer, "parallel")
    assert_fails(verdict, "parallel_function_checker_no_order:cannot_find_match")
    assert "expected call 1 (neg)" in verdict.errors[0]
    # Model call 2 was taken by expected call 0; calls 0 and 1 were tried for expected call 1.
    assert [tried["error_type"] for tried in verdict.errors[1:]] == [
        "simple_function_checker:wrong_func_name",
        "value_error:others",
    ]


def test_parallel_matching_is_greedy_like_bfcl():
    # Expected call 0 accepts b=2 or b omitted; expected call 1 only b omitted. A perfect matching exists
    # (0 <- model call 1, 1 <- model call 0), but the greedy pass gives model call 0 to expected call 0 first.
    answer = [{"add": {"a": [1], "b": [2, ""]}}, {"add": {"a": [1], "b": [""]}}]
    calls = [{"add": {"a": 1}}, {"add": {"a": 1, "b": 2}}]
    verdict = check_calls([ADD], calls, answer, "parallel")
    assert_fails(verdict, "parallel_function_checker_no_order:cannot_find_match")
    assert verdict.errors[1] == GREEDY_NOTE  # the verdict stays BFCL's, the note says a pairing exists
    assert check_calls([ADD], calls[::-1], answer, "parallel").valid
    wrong = [{"add": {"a": 1, "b": 2}}, {"add": {"a": 1, "b": 2}}]
    assert GREEDY_NOTE not in check_calls([ADD], wrong, answer, "parallel").errors


def test_answer_naming_an_unoffered_function_is_a_data_error():
    with pytest.raises(AstCheckError, match="'sub'"):
        check_calls([ADD], [{"sub": {"a": 1}}], [{"sub": {"a": [1]}}], "multiple")


def test_output_not_in_call_format():
    assert_fails(
        check_calls([ADD], [{"add": 1}], [{"add": {"a": [1]}}], "simple"),
        "ast_decoder:decoder_wrong_output_format",
    )
    assert_fails(
        check_calls([ADD], {"add": {}}, [{"add": {"a": [1]}}], "simple"),
        "ast_decoder:decoder_wrong_output_format",
    )


def test_check_output_parses_first():
    answer = [{"add": {"a": [1], "b": [2]}}]
    assert check_output([ADD], "[add(a=1, b=2)]", answer, "simple").valid
    assert_fails(check_output([ADD], "add(a=1, b=", answer, "simple"), "ast_decoder:decoder_failed")


# ---- irrelevance and relevance ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        None,
        "",
        "  ",
        [],
        [{}],
        {"role": "assistant", "content": "It is 4.", "tool_calls": None},
        "[]",
        "Sorry, none of the provided functions can compute that.",
        "I cannot help with that using these tools.",
    ],
)
def test_abstention_counts(result):
    verdict = check_abstention(result)
    assert verdict.valid and verdict.bfcl_would_accept is None


@pytest.mark.parametrize("result", ["[add(a=1, b=", "The answer is 4.", "add(a=1+2)"])
def test_unreadable_output_is_not_an_abstention_but_bfcl_would_accept_it(result):
    verdict = check_abstention(result)
    assert_fails(verdict, "irrelevance:unparseable")
    assert verdict.bfcl_would_accept is True
    assert verdict.to_dict()["bfcl_would_accept"] is True


def test_a_call_in_irrelevance_is_wrong():
    assert_fails(check_abstention("[add(a=1)]"), "irrelevance_error:decoder_success")
    tool_calls = [{"function": {"name": "add", "arguments": "{}"}}]
    assert_fails(check_abstention(tool_calls), "irrelevance_error:decoder_success")


def test_relevance_wants_any_readable_call():
    assert check_relevance("[add(a=1)]").valid
    assert_fails(check_relevance(""), "relevance_error:decoder_failed")
    assert_fails(check_relevance("add(a="), "relevance_error:decoder_failed")
