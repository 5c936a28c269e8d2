import json
import os

from toolbench.catalog.functions import FINISH_FUNCTION, api_to_function, plain_description
from toolbench.llm.base import ToolCall
from toolbench.llm.template import (
    chatml,
    listed_schema,
    prefill_for,
    render_prompt,
    to_plain_messages,
    tools_section,
)
from toolbench.records import Api, Param

WEATHER = {"name": "get_weather", "description": "Weather of a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string", "example_value": "Paris"},
                                                           "days": {"type": "integer"}},
                          "required": ["city", "days"]}}
TOOLS = [{"type": "function", "function": WEATHER}, {"type": "function", "function": FINISH_FUNCTION}]


def test_the_tool_list_shows_a_compact_view_of_each_function():
    api = Api(tool="Weather Hub", name="get weather", description="Weather of a city.",
              required_params=[Param(name="city", type="STRING", description="City name", required=True,
                                     default="Paris")],
              optional_params=[Param(name="days", type="NUMBER", description="Days ahead")])
    schema = api_to_function(api).schema
    assert schema["description"].startswith("This is the subfunction for tool")  # ToolBench's convention
    shown = listed_schema(schema)
    assert shown == {"name": schema["name"], "description": "Weather of a city.", "parameters": {
        "type": "object", "required": ["city"],
        "properties": {"city": {"type": "string", "description": "City name"},
                       "days": {"type": "integer", "description": "Days ahead"}}}}
    assert schema["parameters"]["properties"]["city"]["example_value"] == "Paris"  # the schema is not changed
    bare = api_to_function(Api(tool="T", name="ping")).schema
    assert listed_schema(bare)["description"] == "" and plain_description("Any text.") == "Any text."
    # a parameter that happens to be called "optional" or "example_value" stays
    odd = {"name": "f", "parameters": {"type": "object", "properties": {"optional": {"type": "string"}}}}
    assert listed_schema(odd)["parameters"]["properties"] == {"optional": {"type": "string"}}


def test_tools_section_lists_tools_and_no_example():
    section = tools_section(TOOLS)
    lines = section.splitlines()
    start = lines.index("<tools>")
    assert [json.loads(line)["name"] for line in lines[start + 1:lines.index("</tools>")]] == ["get_weather", "Finish"]
    assert lines[-1] == "</tools>" and "For example" not in section and "Paris" not in section
    assert "must call" not in section
    assert tools_section(TOOLS, "required").endswith("</tools>\nYou must call at least one function now.")
    named = {"type": "function", "function": {"name": "Finish"}}
    assert tools_section(TOOLS, named).endswith("You must call the function Finish now.")


def test_the_text_every_request_shares_comes_before_the_tool_list():
    other = [{"type": "function", "function": {"name": "lookup", "description": "Look a word up.",
                                               "parameters": {"type": "object", "properties": {}}}}]
    first, second = tools_section(TOOLS), tools_section(other)
    shared = len(os.path.commonprefix([first, second]))
    assert "When no function is needed" in first[:shared]
    assert first.index("<tools>\n") + len("<tools>\n") <= shared


def test_transcript_with_calls_and_results():
    call = ToolCall("call_1", "get_weather", {"city": "Oslo"}, '{"city": "Oslo"}')
    messages = [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [call.to_openai(),
                                                               {"id": "call_2", "type": "function", "function": {
                                                                   "name": "get_weather", "arguments": "{bad"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "snow"},
        {"role": "tool", "tool_call_id": "call_2", "content": "sun"},
        {"role": "function", "name": "legacy", "content": "x"},
    ]
    plain = to_plain_messages(messages, TOOLS, "none")
    assert plain == [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {"role": "assistant", "content": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n'
                                         '</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {bad}\n'
                                         "</tool_call>"},
        {"role": "user", "content": '<tool_response name="get_weather">\nsnow\n</tool_response>\n'
                                    '<tool_response name="get_weather">\nsun\n</tool_response>\n'
                                    '<tool_response name="legacy">\nx\n</tool_response>'},
    ]


def test_tools_go_into_the_system_prompt():
    plain = to_plain_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], TOOLS)
    assert plain[0]["content"] == "Be brief.\n\n" + tools_section(TOOLS)
    plain = to_plain_messages([{"role": "user", "content": "Hi"}], TOOLS)
    assert plain[0] == {"role": "system", "content": "You are a helpful assistant.\n\n" + tools_section(TOOLS)}


def test_render_with_the_chat_template_and_prefill(tiny_tokenizer):
    messages = [{"role": "user", "content": "Hi"}]
    rendered = render_prompt(tiny_tokenizer, messages)
    assert rendered.text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" and rendered.prefill == ""
    named = {"type": "function", "function": {"name": "get_weather"}}
    rendered = render_prompt(tiny_tokenizer, messages, TOOLS, named)
    assert rendered.prefill == '<tool_call>\n{"name": "get_weather", "arguments": '
    assert rendered.text.endswith("<|im_start|>assistant\n" + rendered.prefill)
    assert rendered.text.startswith("<|im_start|>system\nYou are a helpful assistant.\n\n# Tools")
    assert prefill_for("required") == '<tool_call>\n{"name": "'
    assert render_prompt(tiny_tokenizer, messages, TOOLS, "none").text == render_prompt(tiny_tokenizer, messages).text


class NoTemplate:
    chat_template = None


class ToolTemplate:
    chat_template = "{% if tools %}...{% endif %}"

    def apply_chat_template(self, messages, tools=None, add_generation_prompt=False, tokenize=True):
        return json.dumps({"messages": messages, "tools": tools})


def test_render_without_template_and_native_tools():
    assert render_prompt(NoTemplate(), [{"role": "user", "content": "Hi"}]).text == chatml([{"role": "user",
                                                                                             "content": "Hi"}])
    messages = [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}]
    native = json.loads(render_prompt(ToolTemplate(), messages, TOOLS).text)
    assert native["tools"] == TOOLS
    assert native["messages"][0]["tool_calls"][0]["function"]["arguments"] == {"a": 1}
    assert native["messages"][0]["content"] == ""
