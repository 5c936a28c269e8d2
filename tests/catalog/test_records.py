"""Records: (de)serialisation keeps every field, and bad data gives errors that name the field."""

import copy
import json
from pathlib import Path

import pytest

from toolbench.records import Api, Observation, Param, Query, RecordError, Tool

FIXTURE = Path(__file__).parents[1] / "fixtures" / "toolbench_tools" / "Data" / "theclique.json"


def test_tool_file_round_trip_keeps_every_field():
    data = json.loads(FIXTURE.read_text())
    tool = Tool.from_dict(copy.deepcopy(data), category="Data")
    out = tool.to_dict()
    out.pop("category_name")  # added from the folder name; ToolBench keeps it in the path only
    assert out == data
    assert tool.category == "Data" and tool.host == "theclique.p.rapidapi.com"
    assert [p.name for p in tool.api("Transfermarkt search").optional_params] == ["limit", "id"]


def test_query_round_trip_keeps_every_field():
    entry = {
        "api_list": [{
            "category_name": "Data", "tool_name": "TheClique", "api_name": "Songkick concert",
            "api_description": "Concert info",
            "required_parameters": [{"name": "id_conc", "type": "string", "description": "", "default": "x"}],
            "optional_parameters": [], "method": "GET", "template_response": {"date": "str"},
        }],
        "query": "Find the concert x.",
        "relevant APIs": [["TheClique", "Songkick concert"]],
        "query_id": 88,
        "extra_key": [1, 2],
    }
    query = Query.from_dict(copy.deepcopy(entry), group="G1")
    assert query.id == "88" and query.group == "G1"
    assert query.relevant == [("TheClique", "Songkick concert")]
    out = query.to_dict()
    out.pop("group")
    assert out == entry


def test_param_with_schema_and_location_round_trips():
    data = {"name": "filters", "type": "OBJECT", "description": "nested", "default": "",
            "in": "body", "schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
    param = Param.from_dict(dict(data), required=True)
    assert param.location == "body" and param.schema["properties"]["city"] == {"type": "string"}
    assert param.to_dict() == data


@pytest.mark.parametrize(
    "mutate, field_path",
    [
        (lambda d: d.pop("api_list"), "api_list"),
        (lambda d: d.update(api_list="nope"), "api_list"),
        (lambda d: d["api_list"][0].pop("name"), "api_list[0].name"),
        (lambda d: d["api_list"][1]["required_parameters"][0].update(type=5), "api_list[1].required_parameters[0].type"),
        (lambda d: d["api_list"][1].update(optional_parameters={"a": 1}), "api_list[1].optional_parameters"),
        (lambda d: d["api_list"][1].update(name="Songkick concert"), "api_list[1].name"),
    ],
)
def test_bad_tool_data_names_the_field(mutate, field_path):
    data = json.loads(FIXTURE.read_text())
    mutate(data)
    with pytest.raises(RecordError) as info:
        Tool.from_dict(data)
    assert info.value.field_path.lstrip(".") == field_path
    assert field_path in str(info.value)


def test_duplicate_api_name_error_says_where_the_first_is():
    data = json.loads(FIXTURE.read_text())
    data["api_list"][1]["name"] = "Songkick concert"
    with pytest.raises(RecordError, match=r"also at api_list\[0\]"):
        Tool.from_dict(data)


def test_bad_query_entries():
    with pytest.raises(RecordError, match="query_id: missing"):
        Query.from_dict({"query": "x"})
    with pytest.raises(RecordError, match=r"relevant APIs\[0\]"):
        Query.from_dict({"query": "x", "query_id": 1, "relevant APIs": [["only-one"]]})
    with pytest.raises(RecordError, match=r"api_list\[0\].tool_name"):
        Query.from_dict({"query": "x", "query_id": 1, "api_list": [{"api_name": "a"}]})


def test_observation_toolbench_shape():
    obs = Observation(error="", response='{"ok": true}', status=200, latency=0.12, cached=True)
    assert obs.to_toolbench() == {"error": "", "response": '{"ok": true}'}
    assert Observation.from_dict(obs.to_dict()) == obs
    assert obs.ok and not Observation(error="Rate limit").ok


def test_api_query_dict_and_tool_file_dict_are_both_supported():
    api = Api(tool="T", name="Get x", description="d", method="POST", url="https://h/x",
              required_params=[Param("a", required=True)], category="Data")
    assert Api.from_query_dict(api.to_query_dict()).to_query_dict() == api.to_query_dict()
    assert Api.from_dict(api.to_dict(), tool="T", category="Data") == api
