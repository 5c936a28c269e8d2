"""eval.parse: every accepted output shape, and what is refused."""

from __future__ import annotations

import json

import pytest

from eval.parse import UnparseableOutput, is_refusal, parse_calls

CALLS = [
    {"math.hypot": {"x": 4, "y": -5.5}},
    {"geo.find": {"city": "Paris", "tags": ["a"], "opts": {"k": None}}},
]


@pytest.mark.parametrize(
    "result",
    [
        CALLS,
        [{"math.hypot": json.dumps({"x": 4, "y": -5.5})}, {"geo.find": json.dumps(CALLS[1]["geo.find"])}],
        [
            {"type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for c in CALLS
            for n, a in c.items()
        ],
        [{"function": {"name": n, "arguments": a}} for c in CALLS for n, a in c.items()],
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                for c in CALLS
                for n, a in c.items()
            ],
        },
        [{"name": n, "arguments": a} for c in CALLS for n, a in c.items()],
        [{"name": n, "parameters": a} for c in CALLS for n, a in c.items()],
        json.dumps(CALLS),
        json.dumps([{"name": n, "arguments": a} for c in CALLS for n, a in c.items()]),
        "[math.hypot(x=4, y=-5.5), geo.find(city='Paris', tags=['a'], opts={'k': None})]",
        'math.hypot(x=4, y=-5.5), geo.find(city="Paris", tags=["a"], opts={"k": None})',
        "```python\n[math.hypot(x=4, y=-5.5), geo.find(city='Paris', tags=['a'], opts={'k': None})]\n```",
        "```json\n" + json.dumps(CALLS) + "\n```",
        "<tool_call>"
        + json.dumps({"name": "math.hypot", "arguments": {"x": 4, "y": -5.5}})
        + "</tool_call>\n"
        "<tool_call>" + json.dumps({"name": "geo.find", "arguments": CALLS[1]["geo.find"]}) + "</tool_call>",
    ],
)
def test_every_shape_gives_the_same_calls(result):
    assert parse_calls(result) == CALLS


def test_single_call_shapes():
    one = [{"f": {"a": 1}}]
    assert parse_calls("f(a=1)") == one
    assert parse_calls({"name": "f", "arguments": '{"a": 1}'}) == one
    assert parse_calls({"f": {"a": 1}}) == one
    assert parse_calls('{"name": "f", "arguments": {"a": 1}}') == one


def test_python_literals():
    calls = parse_calls(
        "[f(t=(1, 2.5), n=-3, p=+2, b=True, z=None, e=..., unit=meters, d={'a': [1, {'b': 'c'}]})]"
    )
    assert calls == [
        {
            "f": {
                "t": (1, 2.5),
                "n": -3,
                "p": 2,
                "b": True,
                "z": None,
                "e": "...",
                "unit": "meters",
                "d": {"a": [1, {"b": "c"}]},
            }
        }
    ]


@pytest.mark.parametrize(
    "result",
    [
        None,
        "",
        "   ",
        [],
        [{}],
        "[]",
        "```\n```",
        {"role": "assistant", "content": "[f(a=1)]"},
        {"role": "assistant", "content": "hi", "tool_calls": []},
    ],
)
def test_no_call(result):
    assert parse_calls(result) == []


@pytest.mark.parametrize(
    "result, why",
    [
        ("f(1, 2)", "positional"),
        ("f(a=1+2)", "not a literal"),
        ("f(a=g(b=1))", "not a literal"),
        ("f(a=lambda: 1)", "not a literal"),
        ("f(**kw)", "kwargs"),
        ("f(a={**d})", "unpacking"),
        ("[f(a=1), 3]", "expected a function call"),
        ("f()(a=1)", "function name"),
        ("The weather is nice.", "not JSON and not Python"),
        ("[f(a=", "not JSON and not Python"),
        ([{"f": "not json"}], "not valid JSON"),
        ([{"f": [1]}], "must be an object"),
        ([{"a": {}, "b": {}}], "keys"),
        (["f(a=1)"], "expected a call object"),
        (42, "expected text"),
    ],
)
def test_unparseable(result, why):
    with pytest.raises(UnparseableOutput, match=why):
        parse_calls(result)


def test_never_evaluates_code(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(UnparseableOutput):
        parse_calls(f"f(a=open({str(marker)!r}, 'w'))")
    assert not marker.exists()


@pytest.mark.parametrize(
    "text, refusal",
    [
        ("Sorry, I can't do that.", True),
        ("None of the provided functions can answer this question.", True),
        ("There is no suitable function for this request.", True),
        ("The given functions do not cover weather lookups.", True),
        ("I am unable to help with that.", True),
        ("The request is missing the required parameters.", True),
        ("The answer is 42.", False),
        ("[get_weather(city='Paris')]", False),
    ],
)
def test_is_refusal(text, refusal):
    assert is_refusal(text) is refusal
