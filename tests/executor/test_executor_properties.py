"""Property tests: bad arguments are caught by validation and by the executor, never sent, never raised."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.functions import FunctionSet
from toolbench.executor import Executor, ExecutorConfig, error_kind
from toolbench.hub.catalog import hub_tools
from toolbench.hub.settings import PUBLIC_URL
from toolbench.hub.world import CITIES, CURRENCIES

TOOLS = hub_tools()
APIS = [a for t in TOOLS for a in t.apis]
# Pointed at a closed port: a request that got through would come back as not_working, not invalid_arguments.
OFFLINE = Executor(TOOLS, ExecutorConfig(credentials={"*": "k"}, base_url_overrides={PUBLIC_URL: "http://127.0.0.1:9"},
                                         max_retries=0), env={})
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


def valid_value(param):
    """A value the parameter accepts: its example/default when it has one, else a simple one by type."""
    if param.default not in ("", None):
        return param.default
    schema = param.schema or {}
    if "enum" in schema:
        return schema["enum"][0]
    return {"NUMBER": 1, "BOOLEAN": True}.get(param.type, "x")


def wrong_value(param):
    """A value of the wrong JSON type for the parameter."""
    schema = param.schema or {}
    is_object = schema.get("type") == "object" or "properties" in schema
    return [["not", "an", "object"]] if is_object else {"not": "a scalar"}


@st.composite
def bad_call(draw):
    api = draw(st.sampled_from(APIS))
    args = {p.name: valid_value(p) for p in api.required_params}
    choices = ["unknown"] + (["missing"] if api.required_params else []) + (["wrong_type"] if api.params else [])
    how = draw(st.sampled_from(choices))
    if how == "missing":
        culprit = draw(st.sampled_from(api.required_params)).name
        del args[culprit]
    elif how == "unknown":
        culprit = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12)
                       .filter(lambda n: n not in {p.name for p in api.params}))
        args[culprit] = draw(JSON)
    else:
        param = draw(st.sampled_from(api.params))
        culprit = param.name
        args[culprit] = wrong_value(param)
    return api, args, how, culprit


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_call())
def test_bad_arguments_are_reported_and_never_sent(case):
    api, args, how, culprit = case
    problems = validate_arguments(api, args)
    assert problems, (api.name, args)
    assert any(culprit in (p.field + " " + p.message) for p in problems), (how, culprit, problems)
    obs = OFFLINE.call(api.tool, api.name, args)
    assert error_kind(obs) == "invalid_arguments" and culprit in obs.error and obs.status is None


FS = FunctionSet.from_apis(APIS)


@settings(max_examples=150, deadline=None)
@given(name=st.one_of(st.sampled_from(sorted(FS.functions)), st.text(max_size=30)),
       arguments=st.one_of(JSON, JSON.map(json.dumps), st.text(max_size=20)))
def test_any_model_output_becomes_an_observation(name, arguments):
    obs = OFFLINE.call_function(FS, name, arguments)
    assert obs.error, "nothing here can succeed offline"
    kind = error_kind(obs)
    if name not in FS.functions:
        assert kind == "hallucinated_function"
    else:
        assert kind in ("invalid_arguments", "not_working")  # valid ones got as far as the closed port


def test_valid_arguments_succeed_on_the_hub(make_executor):
    ex = make_executor()

    @settings(max_examples=30, deadline=None)
    @given(city=st.sampled_from([c.name for c in CITIES]), units=st.sampled_from(["metric", "imperial"]),
           pair=st.tuples(st.sampled_from(sorted(CURRENCIES)), st.sampled_from(sorted(CURRENCIES))),
           amount=st.floats(min_value=0.01, max_value=1e6))
    def check(city, units, pair, amount):
        valid_call(ex, city, units, pair, amount)

    check()


def valid_call(ex, city, units, pair, amount):
    weather = ex.call("SkyCast Weather", "get_current_weather", {"city": city, "units": units})
    assert weather.ok and json.loads(weather.response)["units"] == units
    fx = ex.call("FXRates", "convert_currency", {"from": pair[0], "to": pair[1], "amount": amount})
    assert fx.ok and json.loads(fx.response)["to_currency"] == pair[1]
