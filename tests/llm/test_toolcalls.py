from toolbench.llm.base import ToolCall
from toolbench.llm.toolcalls import format_tool_call, make_call_id, parse_tool_calls


def call(index, name, raw, arguments, error=None):
    return ToolCall(make_call_id(index, name, raw), name, arguments, raw, error)


def test_plain_text_has_no_calls():
    assert parse_tool_calls("  The answer is 42.\n") == ("The answer is 42.", [])
    assert parse_tool_calls("") == (None, [])
    assert parse_tool_calls(None) == (None, [])


def test_one_tool_call_block():
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    raw = '{"city": "Paris"}'
    assert parse_tool_calls(text) == (None, [call(0, "get_weather", raw, {"city": "Paris"})])


def test_several_blocks_and_surrounding_text():
    text = ('Let me look.\n<tool_call>{"name": "a", "arguments": {"x": 1}}</tool_call>\n'
            '<tool_call>{"name": "b", "arguments": "{\\"y\\": [1, 2]}"}</tool_call>')
    content, calls = parse_tool_calls(text)
    assert content == "Let me look."
    assert calls == [call(0, "a", '{"x": 1}', {"x": 1}), call(1, "b", '{"y": [1, 2]}', {"y": [1, 2]})]


def test_block_without_arguments_and_list_in_block():
    assert parse_tool_calls('<tool_call>{"name": "now"}</tool_call>')[1] == [call(0, "now", "{}", {})]
    text = '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "parameters": {"k": "v"}}]</tool_call>'
    assert parse_tool_calls(text)[1] == [call(0, "a", "{}", {}), call(1, "b", '{"k": "v"}', {"k": "v"})]


def test_unterminated_block_cut_by_max_tokens():
    text = '<tool_call>\n{"name": "search", "arguments": {"q": "cats"'
    assert parse_tool_calls(text) == (None, [call(0, "search", '{"q": "cats"}', {"q": "cats"})])


def test_broken_json_with_a_name_is_a_call_with_a_parse_error():
    text = '<tool_call>{"name": "search" "arguments": {"q": }}</tool_call>'
    content, calls = parse_tool_calls(text)
    assert content is None
    assert len(calls) == 1 and calls[0].name == "search" and calls[0].arguments == {}
    assert calls[0].parse_error.startswith("arguments are not valid JSON")


def test_string_arguments_that_are_not_an_object():
    (c,) = parse_tool_calls('<tool_call>{"name": "f", "arguments": "[1]"}</tool_call>')[1]
    assert (c.arguments, c.raw_arguments, c.parse_error) == ({}, "[1]", "arguments must be a JSON object, got list")


def test_json_fence():
    text = 'Calling:\n```json\n{"name": "lookup", "arguments": {"id": 7}}\n```\nDone.'
    assert parse_tool_calls(text) == ("Calling:\n\nDone.", [call(0, "lookup", '{"id": 7}', {"id": 7})])


def test_bare_json_objects_and_openai_form():
    text = 'First {"name": "a", "arguments": {"q": 1}} then {"function": {"name": "b", "arguments": "{}"}}'
    content, calls = parse_tool_calls(text)
    assert content == "First  then"
    assert calls == [call(0, "a", '{"q": 1}', {"q": 1}), call(1, "b", "{}", {})]


def test_bare_json_needs_arguments_and_an_offered_name():
    answer = 'Here is the record: {"name": "Alice", "age": 3}'
    assert parse_tool_calls(answer) == (answer, [])
    text = '{"name": "unknown", "arguments": {}}'
    assert parse_tool_calls(text, allowed_names={"known"}) == (text, [])
    assert parse_tool_calls(text, allowed_names={"unknown"})[1] == [call(0, "unknown", "{}", {})]


def test_block_wins_over_bare_json():
    text = '{"name": "x", "arguments": {}}\n<tool_call>{"name": "y", "arguments": {}}</tool_call>'
    content, calls = parse_tool_calls(text)
    assert [c.name for c in calls] == ["y"]
    assert content == '{"name": "x", "arguments": {}}'


def test_ids_are_deterministic_and_distinct():
    text = '<tool_call>{"name": "f", "arguments": {}}</tool_call><tool_call>{"name": "f", "arguments": {}}</tool_call>'
    first, second = parse_tool_calls(text)[1]
    assert first.id != second.id
    assert first.id.startswith("call_") and len(first.id) == 29
    assert parse_tool_calls(text)[1][0].id == first.id


def test_format_round_trips():
    text = format_tool_call("f", {"a": "é", "b": [1]})
    assert text == '<tool_call>\n{"name": "f", "arguments": {"a": "é", "b": [1]}}\n</tool_call>'
    assert parse_tool_calls(text)[1][0].arguments == {"a": "é", "b": [1]}
    assert format_tool_call("f", '{"a": 1}') == '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>'
