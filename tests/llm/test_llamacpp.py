"""The llama.cpp engine with the packaged SmolLM2-135M GGUF (85 MB, loads in about a second): generation, batching,
the prefix cache, constrained tool calls and JSON (a property test over generated schemas), the OpenAI surface
through the app, and the engine choice of ``llm serve``."""

from __future__ import annotations

import json
import threading
import time

import jsonschema
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolbench.errors import ToolbenchError
from toolbench.llm.constraints import constraint_for
from toolbench.llm.engines import ServerConfig, pick_engine
from toolbench.llm.generation import GenerationRequest
from toolbench.llm.llamacpp_lib import gbnf_for, llama_cpp_available
from toolbench.llm.server_app import create_app
from toolbench.llm.toolcalls import parse_tool_calls

AVAILABLE, WHY = llama_cpp_available()
needs_engine = pytest.mark.skipif(not AVAILABLE, reason=f"llama-cpp-python is not installed: {WHY}")

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
ADD = {"type": "function", "function": {
    "name": "add", "description": "Add two numbers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "number"}},
                   "required": ["a", "b"]}}}
USER = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def engine():
    if not AVAILABLE:
        pytest.skip(f"llama-cpp-python is not installed: {WHY}")
    from toolbench.llm.llamacpp import LlamaCppGenerator
    from toolbench.llm.models import find_default_gguf

    generator = LlamaCppGenerator(find_default_gguf(), "smollm2-135m-instruct", n_seq=4, ctx_per_seq=2048)
    yield generator
    generator.close()


def request_for(engine, messages=USER, tools=None, tool_choice=None, response_format=None, **params):
    rendered = engine.render(messages, tools, tool_choice)
    constraint = constraint_for(tools, tool_choice, response_format, rendered.prefill)
    params.setdefault("max_tokens", 40)
    params.setdefault("temperature", 0.0)
    return GenerationRequest(prompt=rendered.text, constraint=constraint, **params), rendered.prefill


def test_greedy_is_deterministic_and_batched_rows_match_single_ones(engine):
    prompts = [engine.render([{"role": "user", "content": f"Say something about {x}."}], None, None).text
               for x in ("cats", "the sea", "Paris")]
    alone = [engine.generate(GenerationRequest(prompt=p, max_tokens=12, temperature=0)) for p in prompts]
    again = engine.generate(GenerationRequest(prompt=prompts[0], max_tokens=12, temperature=0))
    assert again.texts == alone[0].texts and alone[0].completion_tokens[0] <= 12
    batched = engine.generate_batch([GenerationRequest(prompt=p, max_tokens=12, temperature=0) for p in prompts])
    assert len(batched) == 3
    for one, row in zip(alone, batched):
        assert row.prompt_tokens == one.prompt_tokens
        assert row.texts == one.texts  # the same tokens, whether decoded alone or beside others


def test_sampling_with_a_seed_repeats_and_n_gives_n_choices(engine):
    request = GenerationRequest(prompt=engine.render(USER, None, None).text, max_tokens=8, temperature=1.0,
                                seed=7, n=3)
    first, second = engine.generate(request), engine.generate(request)
    assert first.texts == second.texts and len(first.texts) == 3
    assert len(set(first.texts)) > 1  # three different samples (seed, seed+1, seed+2)


def test_max_tokens_min_tokens_stop_strings_and_cancel(engine):
    prompt = engine.render([{"role": "user", "content": "Count from 1 to 50, one number per line."}], None,
                           None).text
    fixed = engine.generate(GenerationRequest(prompt=prompt, max_tokens=30, temperature=0, min_tokens=30))
    assert fixed.completion_tokens == [30] and fixed.finish_reasons == ["length"]
    whole = fixed.texts[0]
    stop = whole.strip().splitlines()[2]
    cut = engine.generate(GenerationRequest(prompt=prompt, max_tokens=30, temperature=0, stop=[stop]))
    assert stop not in cut.texts[0] and whole.startswith(cut.texts[0]) and cut.finish_reasons == ["stop"]
    cancel = threading.Event()
    cancel.set()
    stopped = engine.generate(GenerationRequest(prompt=prompt, max_tokens=30, temperature=0), cancel=cancel)
    assert stopped.completion_tokens == [0] and stopped.finish_reasons == ["stop"]


def test_streamed_text_equals_the_whole_reply(engine):
    prompt = engine.render([{"role": "user", "content": "Describe Paris in one sentence."}], None, None).text
    pieces: list[str] = []
    streamed = engine.generate(GenerationRequest(prompt=prompt, max_tokens=20, temperature=0), on_text=pieces.append)
    assert "".join(pieces) == streamed.texts[0] and len(pieces) > 1


def test_the_prefix_cache_decodes_only_the_new_turn(engine):
    messages = [{"role": "system", "content": "You answer briefly. " * 40}, *USER]
    engine.generate(GenerationRequest(prompt=engine.render(messages, None, None).text, max_tokens=4,
                                      temperature=0))
    before = engine.stats.cached_prompt_tokens
    longer = [*messages, {"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "And Rome?"}]
    result = engine.generate(GenerationRequest(prompt=engine.render(longer, None, None).text, max_tokens=4,
                                               temperature=0))
    reused = engine.stats.cached_prompt_tokens - before
    assert reused > 150 and reused < result.prompt_tokens


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "add"}}])
def test_forced_calls_are_valid_calls(engine, choice):
    request, prefill = request_for(engine, tools=[WEATHER, ADD], tool_choice=choice, max_tokens=60)
    result = engine.generate(request)
    _content, calls = parse_tool_calls(prefill + result.texts[0], allowed_names={"get_weather", "add"})
    assert calls and result.finish_reasons == ["stop"]
    schemas = {"get_weather": WEATHER, "add": ADD}
    for call in calls:
        assert call.parse_error is None
        jsonschema.validate(call.arguments, schemas[call.name]["function"]["parameters"])
    if isinstance(choice, dict):
        assert {c.name for c in calls} == {"add"}


def test_auto_lets_the_model_answer_in_text(engine):
    request, _ = request_for(engine, messages=[{"role": "user", "content": "Tell me a joke about cats."}],
                             tools=[WEATHER], tool_choice="auto", max_tokens=30)
    assert request.constraint is not None and request.constraint.lazy
    result = engine.generate(request)
    assert "<tool_call>" not in result.texts[0] and result.texts[0].strip()  # text: no call was forced


def test_json_answers_follow_the_schema(engine):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    request, _ = request_for(engine, messages=[{"role": "user", "content": "Invent a person."}],
                             response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
                             max_tokens=60)
    result = engine.generate(request)
    jsonschema.validate(json.loads(result.texts[0]), schema)
    request, _ = request_for(engine, messages=[{"role": "user", "content": "Invent a person."}],
                             response_format={"type": "json_object"}, max_tokens=60)
    assert isinstance(json.loads(engine.generate(request).texts[0]), dict)


# ---- the property: forced replies always parse and validate, whatever the schema ----

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


def _leaf():
    return st.one_of(
        st.just({"type": "string"}), st.just({"type": "integer"}), st.just({"type": "number"}),
        st.just({"type": "boolean"}),
        st.lists(st.from_regex(r"[A-Za-z][A-Za-z ]{0,8}", fullmatch=True), min_size=1, max_size=4,
                 unique=True).map(lambda values: {"type": "string", "enum": values}),
    )


def _objects(children):
    return st.dictionaries(NAMES, children, min_size=1, max_size=3).flatmap(
        lambda props: st.lists(st.sampled_from(sorted(props)), unique=True, max_size=len(props)).map(
            lambda required: {"type": "object", "properties": props, "required": required}))


SCHEMAS = st.recursive(_leaf(), lambda children: st.one_of(
    st.builds(lambda items: {"type": "array", "items": items}, children), _objects(children)), max_leaves=6)
PARAMETERS = st.dictionaries(NAMES, SCHEMAS, min_size=1, max_size=4).flatmap(
    lambda props: st.lists(st.sampled_from(sorted(props)), unique=True, max_size=len(props)).map(
        lambda required: {"type": "object", "properties": props, "required": required}))


def check_constrained_calls(engine, parameters, named, seed):
    tools = [{"type": "function", "function": {"name": f"tool_{i}", "description": "A tool.", "parameters": p}}
             for i, p in enumerate(parameters)]
    choice = {"type": "function", "function": {"name": "tool_0"}} if named else "required"
    request, prefill = request_for(engine, messages=[{"role": "user", "content": "Use a tool."}], tools=tools,
                                   tool_choice=choice, temperature=1.0, seed=seed, max_tokens=120)
    result = engine.generate(request)
    if result.finish_reasons == ["length"]:  # a random walk through a big schema may not close in time
        return
    _content, calls = parse_tool_calls(prefill + result.texts[0], allowed_names={t["function"]["name"] for t in tools})
    assert calls, result.texts[0]
    for call in calls:
        assert call.parse_error is None
        jsonschema.validate(call.arguments, parameters[int(call.name.split("_")[1])])
        if named:
            assert call.name == "tool_0"


CASES = {"parameters": st.lists(PARAMETERS, min_size=1, max_size=3), "named": st.booleans(),
         "seed": st.integers(0, 2**16)}
QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@needs_engine
@settings(max_examples=4, deadline=None, suppress_health_check=QUIET)
@given(**CASES)
def test_constrained_calls_always_parse_and_validate(engine, parameters, named, seed):
    check_constrained_calls(engine, parameters, named, seed)


@needs_engine
@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=QUIET)
@given(**CASES)
def test_constrained_calls_always_parse_and_validate_many(engine, parameters, named, seed):
    check_constrained_calls(engine, parameters, named, seed)


def test_the_grammar_of_calls_names_every_function_once():
    constraint = constraint_for([WEATHER, ADD], "required", None)
    if not AVAILABLE:
        pytest.skip(WHY)
    grammar = gbnf_for(constraint)
    assert grammar.startswith("root ::= call") and grammar.count('\\"get_weather\\"') == 1
    assert grammar.count('\\"add\\"') == 1


TICKET = {"type": "function", "function": {
    "name": "create_ticket", "description": "Open a support ticket.",
    "parameters": {"type": "object", "required": ["subject", "tags"], "properties": {
        "subject": {"type": "string", "minLength": 1, "maxLength": 200},
        "body": {"type": "string", "maxLength": 5000},
        "code": {"type": "string", "minLength": 2, "maxLength": 6},
        "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 100}}}}}


def test_patterns_and_long_length_bounds_are_left_out_of_the_grammar():
    from toolbench.llm.llamacpp_lib import GRAMMAR_MAX_BOUND, grammar_schema

    schema = TICKET["function"]["parameters"]
    kept = grammar_schema(schema)
    assert "maxLength" not in kept["properties"]["subject"] and kept["properties"]["subject"]["minLength"] == 1
    assert (kept["properties"]["code"]["maxLength"], GRAMMAR_MAX_BOUND) == (6, 32)
    assert "maxItems" not in kept["properties"]["tags"] and "maxLength" not in kept["properties"]["body"]
    assert kept["properties"]["email"] == {"type": "string"}
    named = {"type": "object", "properties": {"maxLength": {"type": "integer"}}}  # a parameter named like a bound
    assert grammar_schema(named) == named
    if not AVAILABLE:
        pytest.skip(WHY)
    assert len(gbnf_for(constraint_for([TICKET], "auto", None))) < 3000  # 200 nested rules made it 15x larger


@needs_engine
def test_a_tool_with_a_pattern_and_long_length_bounds_is_served(engine):
    """llama.cpp refused the grammar of a tool with an email pattern: every request offering it failed."""
    request, prefill = request_for(engine, messages=[{"role": "user", "content": "Open a ticket: printer is down."}],
                                   tools=[TICKET], tool_choice="required", max_tokens=60)
    result = engine.generate(request)
    _content, calls = parse_tool_calls(prefill + result.texts[0], allowed_names={"create_ticket"})
    assert result.finish_reasons == ["length"] or (calls and calls[0].parse_error is None), result.texts[0]


# ---- through the app: the same OpenAI surface as the transformers engine ----

def test_openai_surface_through_the_app(engine):
    import openai

    app = create_app(engine, ServerConfig(), aliases=("default",))
    with TestClient(app) as client:
        sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="x", http_client=client)
        reply = sdk.chat.completions.create(model="smollm2-135m-instruct", messages=USER, tools=[WEATHER],
                                            tool_choice="required", temperature=0, max_tokens=40)
        (call,) = reply.choices[0].message.tool_calls
        assert call.function.name == "get_weather" and reply.choices[0].finish_reason == "tool_calls"
        assert reply.usage.prompt_tokens > 50 and reply.usage.completion_tokens > 5
        text = sdk.chat.completions.create(model="default", messages=USER, temperature=0, max_tokens=5)
        assert text.choices[0].finish_reason == "length" and text.usage.completion_tokens == 5
        chunks = list(sdk.chat.completions.create(model="default", messages=USER, temperature=0, max_tokens=5,
                                                  stream=True))
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == text.choices[0].message.content
        health = client.get("/health").json()
        assert health["engine"] == "llamacpp" and health["constrained_decoding"] is True
        assert health["engine_stats"]["prompt_tokens"] > 0
        bad = client.post("/v1/chat/completions", json={"model": "default", "messages": USER,
                                                         "response_format": {"type": "yaml"}})
        assert bad.status_code == 422


def test_concurrent_clients_share_batches(engine):
    # a long batch_wait: the batch closes as soon as all four requests are in, however slowly a loaded machine
    # starts the client threads
    app = create_app(engine, ServerConfig(max_batch=4, batch_wait=10.0), aliases=("default",))
    statuses = []
    with TestClient(app) as client:
        def call(i):
            body = {"model": "default", "messages": [{"role": "user", "content": f"Name {i} colours."}],
                    "max_tokens": 8, "temperature": 0.5 if i % 2 else 0, "seed": i}
            statuses.append(client.post("/v1/chat/completions", json=body).status_code)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # the worker records a run's figures after it has answered every request of it: wait until all four are
        # counted
        for _ in range(600):
            health = client.get("/health").json()
            if health["batched_requests"] >= 4:
                break
            time.sleep(0.05)
    assert statuses == [200] * 4
    assert health["batched_requests"] == 4
    assert health["largest_batch"] >= 2  # mixed sampling settings and seeds still share a batch


# ---- which engine serves what ----

def test_pick_engine(monkeypatch, capsys, tmp_path):
    from toolbench.llm import llamacpp_lib as llamacpp

    monkeypatch.setattr(llamacpp, "llama_cpp_available", lambda: (True, ""))
    assert pick_engine(ServerConfig(model="default")) == "llamacpp"
    assert pick_engine(ServerConfig(model=str(tmp_path / "tuned.gguf"))) == "llamacpp"
    assert pick_engine(ServerConfig(model=str(tmp_path))) == "transformers"  # a checkpoint folder
    assert pick_engine(ServerConfig(model="default", device="cuda")) == "transformers"
    with pytest.raises(ToolbenchError, match="export-gguf"):
        pick_engine(ServerConfig(model=str(tmp_path), engine="llamacpp"))
    with pytest.raises(ToolbenchError, match="not GGUF"):
        pick_engine(ServerConfig(model="x.gguf", engine="transformers"))
    monkeypatch.setattr(llamacpp, "llama_cpp_available", lambda: (False, "no module named llama_cpp"))
    assert pick_engine(ServerConfig(model="default")) == "transformers"
    assert "falling back to the transformers engine" in capsys.readouterr().err
    with pytest.raises(ToolbenchError, match="GGUF file"):
        pick_engine(ServerConfig(model="x.gguf"))
    with pytest.raises(ToolbenchError, match="engine"):
        ServerConfig(engine="vllm")


@needs_engine
def test_the_packaged_model_is_requantised_once(monkeypatch, tmp_path):
    from toolbench.llm.llamacpp import LlamaCppGenerator
    from toolbench.llm.models import ModelLoadError, default_gguf, find_default_gguf

    monkeypatch.setenv("TOOLBENCH_HOME", str(tmp_path))
    assert default_gguf("q4_1") == find_default_gguf()
    path = default_gguf("q8_0")
    assert path.parent == tmp_path / "models" and path.stat().st_size > find_default_gguf().stat().st_size
    mtime = path.stat().st_mtime_ns
    assert default_gguf("q8_0") == path and path.stat().st_mtime_ns == mtime  # made once
    assert not list(path.parent.glob(".*.tmp-*"))
    generator = LlamaCppGenerator(path, "q8", n_seq=1, ctx_per_seq=512)
    try:
        prompt = generator.render(USER, None, None).text
        assert generator.generate(GenerationRequest(prompt=prompt, max_tokens=4, temperature=0)).completion_tokens[0]
    finally:
        generator.close()
    with pytest.raises(ModelLoadError, match="q2_k"):
        default_gguf("q2_k")


def test_continuous_batching_starts_rows_as_others_end(engine):
    prompts = [engine.render([{"role": "user", "content": f"Tell me about {x}."}], None, None).text
               for x in ("rivers", "mountains", "deserts", "forests", "oceans", "islands")]
    lengths = [40, 3, 3, 3, 3, 3]  # one long row; five short ones for the other three slots
    queue = [(i, GenerationRequest(prompt=p, max_tokens=n, temperature=0, min_tokens=n), None, None, None)
             for i, (p, n) in enumerate(zip(prompts, lengths))]
    events: list[tuple[str, int]] = []
    results = {}

    def take(n):
        taken, queue[:n] = queue[:n], []
        events.extend(("start", handle) for handle, *_ in taken)
        return taken

    def finish(handle, result):
        events.append(("end", handle))
        results[handle] = result

    peak = engine.generate_continuous(take, finish)
    assert peak == 4 and sorted(results) == list(range(6))
    assert [results[i].completion_tokens for i in range(6)] == [[n] for n in lengths]
    # the fifth and sixth requests started while the long first one was still running
    assert events.index(("start", 5)) < events.index(("end", 0))
    alone = engine.generate(GenerationRequest(prompt=prompts[5], max_tokens=3, temperature=0, min_tokens=3))
    assert results[5].texts == alone.texts
    # a prompt too long for the context fails its own row only
    queue[:] = [("long", GenerationRequest(prompt="word " * 3000, max_tokens=2), None, None, None),
                ("ok", GenerationRequest(prompt=prompts[0], max_tokens=2, temperature=0), None, None, None)]
    engine.generate_continuous(take, finish)
    assert isinstance(results["long"], ToolbenchError) and results["ok"].completion_tokens[0] >= 1


def test_flash_attention_is_a_setting_and_off_by_default(engine):
    from toolbench.llm.llamacpp import LlamaCppGenerator
    from toolbench.llm.models import find_default_gguf

    assert engine.flash_attn == "off"
    with pytest.raises(ToolbenchError, match="flash_attn"):
        LlamaCppGenerator(find_default_gguf(), flash_attn="yes")
    with_fa = LlamaCppGenerator(find_default_gguf(), n_seq=1, ctx_per_seq=512, flash_attn="on")
    try:
        request, _ = request_for(with_fa, max_tokens=8, min_tokens=8)
        assert with_fa.generate(request).completion_tokens == [8]
    finally:
        with_fa.close()


def test_a_token_running_past_the_trigger_is_cut_at_its_end(engine):
    """llama.cpp feeds a lazy grammar the rest of the token that completes its trigger and aborts the process when
    the grammar refuses it; the engine cuts such a token at the trigger's end instead."""
    from types import SimpleNamespace

    from toolbench.llm.constraints import TRIGGER

    (past,) = engine.tokenize("></", special=False)
    (close,) = engine.tokenize(">", special=False)
    before = engine.stats.trigger_cuts
    row = SimpleNamespace(raw=b"answer with a JSON object inside " + TRIGGER[:-1].encode(), awaiting_trigger=True)
    assert engine._at_trigger(row, past) == close and not row.awaiting_trigger
    assert engine.stats.trigger_cuts == before + 1
    row = SimpleNamespace(raw=TRIGGER[:-1].encode(), awaiting_trigger=True)  # ends exactly at the trigger: kept
    assert engine._at_trigger(row, close) == close and not row.awaiting_trigger
    row = SimpleNamespace(raw=b"plain text", awaiting_trigger=True)  # no trigger: kept, still waiting
    assert engine._at_trigger(row, past) == past and row.awaiting_trigger


def test_prose_quoting_the_call_format_does_not_kill_the_engine(engine):
    """A generated irrelevance entry on which SmolLM2 (greedy) quotes the prompt's '<tool_call></tool_call>' in
    its prose: before the cut above, llama.cpp threw from its grammar and the server process died."""
    menu = {"type": "function", "function": {
        "name": "get_restaurant_menu_for_tablefinder",
        "description": "This is the subfunction for tool \"tablefinder\", you can use this tool.The description of "
                       "this function is: \"Restaurant menu. Dishes with prices in the local currency.\"",
        "parameters": {"type": "object", "properties": {
            "restaurant_id": {"type": "string", "description": "Restaurant id from a search"}},
            "required": ["restaurant_id"]}}}
    history = {"type": "function", "function": {
        "name": "get_price_history_for_stockquotes",
        "description": "This is the subfunction for tool \"stockquotes\", you can use this tool.The description of "
                       "this function is: \"Price history. Daily or weekly OHLCV bars between two dates (at most "
                       "366 days).\"",
        "parameters": {"type": "object", "properties": {
            "ticker": {"type": "string", "description": "Ticker symbol"},
            "start_date": {"type": "string", "description": "First day"},
            "end_date": {"type": "string", "description": "Last day; today when omitted"},
            "interval": {"type": "string", "description": "Bar size", "enum": ["daily", "weekly"],
                         "default": "daily"}},
            "required": ["ticker", "start_date"]}}}
    messages = [{"role": "user", "content": "List leads sales owner home gardening!"}]
    app = create_app(engine, ServerConfig(), aliases=("default",))
    with TestClient(app) as client:
        reply = client.post("/v1/chat/completions", json={"model": "default", "messages": messages,
                                                          "tools": [menu, history], "max_tokens": 80,
                                                          "temperature": 0})
    assert reply.status_code == 200
    choice = reply.json()["choices"][0]
    assert choice["finish_reason"] in ("stop", "length", "tool_calls")


def test_the_call_threshold_decides_between_a_call_and_text(engine):
    request, _ = request_for(engine, messages=[{"role": "user", "content": "Tell me a joke about cats."}],
                             tools=[WEATHER], tool_choice="auto", max_tokens=40)
    p = engine.call_probability(request.prompt)
    assert 0 < p < 1
    free = engine.generate(request).texts[0]
    before = (engine.stats.gated_calls, engine.stats.gated_texts)
    request.call_threshold = p * 0.99
    called = engine.generate(request).texts[0]
    assert called.startswith("<tool_call>")  # started by the gate, finished under the lazy grammar
    calls = parse_tool_calls(called)[1]
    assert calls and calls[0].name == "get_weather" and calls[0].parse_error is None
    request.call_threshold = min(p * 1.01, 0.999)
    text = engine.generate(request).texts[0]
    assert not text.startswith("<") and text == free  # the argmax was already text
    assert (engine.stats.gated_calls, engine.stats.gated_texts) == (before[0] + 1, before[1] + 1)
    assert engine.call_probability(request.prompt) == pytest.approx(p, rel=1e-5)  # the cached prefix agrees


def test_frequency_and_presence_penalties_count_what_the_row_writes(engine):
    prompt = engine.render([{"role": "user", "content": "Count from 1 to 50, one number per line."}], None,
                           None).text
    base = {"prompt": prompt, "max_tokens": 24, "temperature": 0.0, "min_tokens": 24}
    free = engine.generate(GenerationRequest(**base)).texts[0]
    assert free.count("\n") >= 3
    rows = engine.generate_batch([GenerationRequest(**base, frequency_penalty=1000.0), GenerationRequest(**base)])
    assert rows[1].texts[0] == free  # the penalty is per row; the greedy row beside it is unchanged
    penalised = rows[0].texts[0]
    # the newline token, once written, is not chosen again (other tokens holding a newline still may be); the
    # prompt's newlines do not count: the penalised reply still writes its first one
    assert "\n" in penalised and penalised.count("\n") < free.count("\n")
    assert penalised != free
    present = engine.generate(GenerationRequest(**base, presence_penalty=1000.0)).texts[0]
    assert present.count("\n") < free.count("\n")
