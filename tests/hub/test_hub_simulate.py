"""POST /virtual's LLM fallback: simulated answers for unknown APIs and failed calls, marked as such; the
prompt building and reply parsing are pure and tested with plain equality."""

import json
from pathlib import Path

import httpx
import pytest

from toolbench.cache import ResponseCache
from toolbench.hub import HubSettings, HubThread
from toolbench.hub.simulate import SYSTEM_PROMPT, SimulationRequest, parse_simulation, simulation_messages
from toolbench.llm.base import LLMRequestError
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.records import Api, Param

FIXTURE_TOOLS = Path(__file__).resolve().parents[1] / "fixtures" / "toolbench_tools"


def test_prompt_holds_the_doc_the_examples_and_the_call():
    api = Api(tool="StockQuotes", name="get_quote", description="Latest quote of a ticker.",
              required_params=[Param("ticker", description="Symbol", default="CNTS", required=True)],
              response_schema={"type": "object", "properties": {"price": {"type": "number"}}})
    req = SimulationRequest(category="Finance", tool="StockQuotes", api="get_quote", args={"ticker": "ZZZ"},
                            doc=api, examples=(({"ticker": "CNTS"}, '{"price": 312.7}'),))
    system, user = simulation_messages(req)
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    doc = {"tool": "StockQuotes", "api": "get_quote", "category": "Finance", "description": "Latest quote of a ticker.",
           "method": "GET", "required_parameters": [{"name": "ticker", "type": "STRING", "description": "Symbol",
                                                     "example": "CNTS"}],
           "optional_parameters": [], "response_schema": {"type": "object", "properties": {"price": {"type": "number"}}}}
    assert user["content"] == "\n\n".join([
        "API documentation:", json.dumps(doc, indent=1),
        "Recorded calls of this API:", 'arguments: {"ticker": "CNTS"}\nresponse: {"price": 312.7}',
        'New call, arguments: {"ticker": "ZZZ"}'])
    bare = simulation_messages(SimulationRequest("", "T", "a", {}))[1]["content"]
    assert "No documentation is available" in bare and "Recorded calls" not in bare


@pytest.mark.parametrize("reply,expected", [
    ('{"error": "", "response": {"price": 1.5}}', {"error": "", "response": '{"price": 1.5}'}),
    ('```json\n{"error": "", "response": "plain"}\n```', {"error": "", "response": "plain"}),
    ('Sure! {"error": "ticker not found", "response": ""}', {"error": "request_error: ticker not found",
                                                              "response": ""}),
    ('{"price": 2}', {"error": "", "response": '{"price": 2}'}),  # the body alone: taken as the response
    ("[1, 2]", {"error": "", "response": "[1, 2]"}),
    ("The price is 3 dollars.", {"error": "", "response": "The price is 3 dollars."}),
    (None, {"error": "", "response": ""}),
])
def test_parse_simulation(reply, expected):
    assert parse_simulation(reply) == expected


@pytest.fixture(scope="module")
def sim_hub(tmp_path_factory):
    cache_path = tmp_path_factory.mktemp("sim") / "cache.sqlite"
    model = ScriptedChatModel(model="scripted-sim")
    settings = HubSettings(cache_path=str(cache_path), virtual_catalog=str(FIXTURE_TOOLS), retry_after=0)
    with HubThread(settings, chat_model=model) as running:
        yield running, model, cache_path


def ask(url, **kw):
    payload = {"category": "Finance", "tool_name": "StockQuotes", "api_name": "get_quote",
               "tool_input": {"ticker": "CNTS"}, "strip": "", "toolbench_key": "k"}
    payload.update(kw)
    r = httpx.post(url + "/virtual", json=payload, timeout=10)
    assert r.status_code == 200
    return r.json()


def test_real_answers_are_not_simulated(sim_hub):
    hub, model, _ = sim_hub
    asked = len(model.requests)
    assert set(ask(hub.url, tool_input={"ticker": "LTGR"})) == {"error", "response"}
    out = ask(hub.url, tool_input={"ticker": "NOPE"})  # the API's own 404 is a real answer
    assert out["error"].startswith("request_error: HTTP 404") and "simulated" not in out
    assert len(model.requests) == asked


def test_failed_real_call_is_simulated_from_doc_and_recorded_examples(sim_hub):
    hub, model, cache_path = sim_hub
    real = ask(hub.url, tool_input={"ticker": "CNTS"})  # recorded in the cache: an example for the prompt
    cached = len(ResponseCache(cache_path))
    model.add('{"error": "", "response": {"ticker": "WGTB", "price": 66.1}}')
    httpx.post(hub.url + "/admin/faults", json={"mode": "server_error", "count": 1, "path_prefix": "/stocks/"})
    out = ask(hub.url, tool_input={"ticker": "WGTB"})
    assert out == {"error": "", "response": '{"ticker": "WGTB", "price": 66.1}', "simulated": True}
    prompt = model.requests[-1]["messages"][1]["content"]
    assert '"api": "get_quote"' in prompt and "Latest" in prompt  # the hub's own documentation
    assert real["response"] in prompt and 'New call, arguments: {"ticker": "WGTB"}' in prompt
    assert model.requests[-1]["params"] == {"temperature": 0.0}
    assert len(ResponseCache(cache_path)) == cached  # simulations never enter the cache of real answers


def test_unknown_api_is_simulated_with_the_tool_folder_doc(sim_hub):
    hub, model, _ = sim_hub
    model.add('{"error": "", "response": "{\\"date\\": \\"2023-06-01\\", \\"name\\": \\"Lumineers\\"}"}')
    out = ask(hub.url, category="Data", tool_name="theclique", api_name="songkick_concert",
              tool_input={"id_conc": "123-lumineers"})
    assert out["simulated"] is True and json.loads(out["response"])["name"] == "Lumineers"
    prompt = model.requests[-1]["messages"][1]["content"]
    assert "Concert info" in prompt and "id_conc" in prompt


def test_failing_llm_falls_back_to_the_error(sim_hub):
    hub, model, _ = sim_hub
    model.add(LLMRequestError("endpoint down", status=503))
    out = ask(hub.url, tool_name="NoSuchTool", api_name="nothing")
    assert out["error"].startswith("hallucinated_function") and "simulation failed: LLMRequestError" in out["error"]
    assert "simulated" not in out and "no LLM" not in out["error"]
