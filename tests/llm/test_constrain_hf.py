"""Grammar-constrained decoding in the transformers engine (toolbench.llm.constrain_hf, llguidance).

The model tests use a tiny random LLaMA whose logits get a fixed bias towards the characters that close JSON
(``"``, ``}``, ``]``, ``,``) and towards the end: constrained output must be valid whatever the weights, and the
bias only makes completions short enough to finish within a small ``max_tokens``.
"""

from __future__ import annotations

import json
import string

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolbench.llm.constrain_hf import GrammarLogitsProcessor, compiler_for, grammar_text
from toolbench.llm.constraints import (
    CALL_TAIL,
    TRIGGER,
    Constraint,
    ConstraintError,
    canonical,
    constraint_for,
)
from toolbench.llm.generation import GenerationRequest, HFGenerator
from toolbench.llm.template import prefill_for
from toolbench.llm.toolcalls import format_tool_call, parse_tool_calls

from .conftest import make_tiny_model

EOS = [0, 2]  # the tiny tokenizer's <|endoftext|> and <|im_end|>


def _chat(text: str) -> str:
    return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def biased_model(tiny_tokenizer):
    import torch
    from transformers import LlamaForCausalLM

    class BiasedLlama(LlamaForCausalLM):
        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            out.logits = out.logits + self.logit_bias.to(out.logits.dtype)
            return out

    base = make_tiny_model(len(tiny_tokenizer))
    model = BiasedLlama(base.config)
    model.load_state_dict(base.state_dict())
    bias = torch.zeros(len(tiny_tokenizer))
    for char, boost in (('"', 4.0), ("}", 4.0), ("]", 4.0), (",", 2.5), ("\n", 1.0)):
        bias[tiny_tokenizer(char, add_special_tokens=False).input_ids[0]] = boost
    bias[EOS] = 3.0
    model.register_buffer("logit_bias", bias, persistent=False)
    return model.eval()


@pytest.fixture(scope="module")
def generator(biased_model, tiny_tokenizer):
    return HFGenerator(biased_model, tiny_tokenizer, "tiny-biased")


# ---- schemas and values valid under them --------------------------------------------------------------------

_KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
# json.dumps writes DEL (0x7f) raw, which llguidance's JSON strings refuse (they accept it escaped only)
_TEXT = st.text(st.characters(blacklist_characters="\x7f", blacklist_categories=("Cs",)), max_size=6)
_LEAVES = st.one_of(
    st.just({"type": "string"}),
    st.just({"type": "boolean"}),
    st.just({"type": "number"}),
    st.just({"type": "integer"}),
    st.integers(-50, 50).flatmap(lambda lo: st.integers(lo, lo + 100).map(
        lambda hi: {"type": "integer", "minimum": lo, "maximum": hi})),
    st.lists(st.sampled_from(["red", "green", "blue", "x y", "é"]), min_size=1, max_size=4, unique=True)
    .map(lambda values: {"type": "string", "enum": values}),
    st.lists(st.integers(-3, 9), min_size=1, max_size=3, unique=True).map(lambda values: {"enum": values}),
)


def _schema_tree(depth: int):
    if depth == 0:
        return _LEAVES
    child = _schema_tree(depth - 1)
    arrays = st.tuples(child, st.integers(0, 2), st.integers(0, 3)).map(
        lambda t: {"type": "array", "items": t[0], "minItems": min(t[1], t[2]), "maxItems": max(t[1], t[2])})
    return st.one_of(_LEAVES, arrays, _object_schemas(child))


@st.composite
def _object_schemas(draw, child):
    props = draw(st.dictionaries(_KEYS, child, min_size=1, max_size=4))
    schema: dict = {"type": "object", "properties": props}
    required = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
    if required:
        schema["required"] = required
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


ARGUMENT_SCHEMAS = _object_schemas(_schema_tree(1))


@st.composite
def _value(draw, schema):
    """A value valid under one of our generated schemas, objects with their keys in sorted order (the order
    the grammar writes them in)."""
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    kind = schema["type"]
    if kind == "string":
        return draw(_TEXT)
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "integer":
        return draw(st.integers(schema.get("minimum", -10**6), schema.get("maximum", 10**6)))
    if kind == "number":
        return draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
    if kind == "array":
        return draw(st.lists(_value(schema["items"]), min_size=schema["minItems"], max_size=schema["maxItems"]))
    props = schema["properties"]
    required = set(schema.get("required", []))
    chosen = [k for k in props if k in required or draw(st.booleans())]
    return {k: draw(_value(props[k])) for k in chosen}


@st.composite
def _tools(draw, max_functions=3):
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True), min_size=1,
                          max_size=max_functions, unique=True))
    return [{"type": "function", "function": {"name": n, "parameters": draw(ARGUMENT_SCHEMAS)}} for n in names]


def _feed(compiler, constraint: Constraint, text: str):
    """The constraint's matcher after ``text`` (the part after the prefill), and whether it took all of it."""
    matcher = compiler.matcher(constraint)
    ok = matcher.consume_tokens(compiler.ll_tokenizer.tokenize_str(text))
    return matcher, ok


# ---- the grammar, without a model ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tools=_tools(), data=st.data())
def test_every_formatted_call_is_accepted(tiny_tokenizer, tools, data):
    """Completeness: format_tool_call's text for any valid arguments (keys in schema order) is exactly what
    the grammar accepts, with each tool_choice's prefill, and one or more calls."""
    compiler = compiler_for(tiny_tokenizer, EOS)
    calls = []
    for _ in range(data.draw(st.integers(1, 3))):
        fn = data.draw(st.sampled_from(tools))["function"]
        calls.append(format_tool_call(fn["name"], data.draw(_value(fn["parameters"]))))
    text = "\n".join(calls)
    for choice, lazy_preamble in (("required", ""), ("auto", ""), ("auto", "Let me look. ")):
        prefill = prefill_for(choice)
        constraint = constraint_for(tools, choice, prefill=prefill)
        full = lazy_preamble + text
        assert full.startswith(prefill)
        matcher, ok = _feed(compiler, constraint, full[len(prefill):])
        assert ok and matcher.is_accepting(), (choice, full, matcher.get_error())
    first = tools[0]["function"]
    named = {"type": "function", "function": {"name": first["name"]}}
    prefill = prefill_for(named)
    one = format_tool_call(first["name"], data.draw(_value(first["parameters"])))
    matcher, ok = _feed(compiler, constraint_for(tools, named, prefill=prefill), one[len(prefill):])
    assert ok and matcher.is_accepting(), (one, matcher.get_error())


def test_the_grammar_refuses_what_is_not_calls(tiny_tokenizer):
    compiler = compiler_for(tiny_tokenizer, EOS)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"]}}}]
    required = constraint_for(tools, "required")
    good = format_tool_call("get_weather", {"city": "Oslo", "days": 2})
    for bad in ["Sure! " + good,  # text before a call
                good + " done",  # text after
                good + "\n\n\n",  # more than two newlines after the last call
                good + "\n\nThat is all.",  # prose after the calls
                format_tool_call("get_wether", {"city": "Oslo"}),  # not an offered function
                format_tool_call("get_weather", {"days": 2}),  # a required argument missing
                format_tool_call("get_weather", {"city": "Oslo", "days": "2"}),  # a wrong type
                good.replace('": ', '":')]:  # not format_tool_call's layout
        matcher, ok = _feed(compiler, required, bad)
        assert not (ok and matcher.is_accepting()), bad
    lazy = constraint_for(tools, "auto")
    for fine in ["", "It is sunny.", "a <tool_cal> b </tool_call>", "Let me check.\n" + good + "\n" + good,
                 good + "\n\n"]:
        matcher, ok = _feed(compiler, lazy, fine)
        assert ok and matcher.is_accepting(), fine
    for bad in ["x <tool_call> y", "Let me check." + good + " And text."]:
        assert not _feed(compiler, lazy, bad)[1], bad
    # after the last call and two newlines only the end may come: the mask allows exactly the end tokens
    matcher, ok = _feed(compiler, required, good + "\n\n")
    assert ok and matcher.is_accepting()
    bits = int.from_bytes(matcher.compute_bitmask(), "little")
    assert [t for t in range(compiler.vocab_size) if bits >> t & 1] == EOS


def test_compiled_constraints_are_cached_and_bad_schemas_refused(tiny_tokenizer):
    compiler = compiler_for(tiny_tokenizer, EOS)
    assert compiler_for(tiny_tokenizer, EOS) is compiler
    constraint = Constraint("json", schema_json=canonical({"type": "object", "properties": {"a": {"type": "integer"}}}))
    assert compiler.compile(constraint) is compiler.compile(Constraint("json", schema_json=constraint.schema_json))
    assert compiler.matcher(constraint) is not compiler.matcher(constraint)  # one matcher per row
    with pytest.raises(ConstraintError, match="cannot compile"):
        compiler.compile(Constraint("json", schema_json=canonical({"type": "string", "pattern": "(?<=a)b"})))
    with pytest.raises(ConstraintError, match="prefill"):
        compiler.compile(Constraint("json", prefill="[1, 2"))
    with pytest.raises(ConstraintError):
        grammar_text(Constraint("calls"))


# ---- decoding with a model ----------------------------------------------------------------------------------

def _check_calls(completion: str, constraint: Constraint, names: set[str]) -> None:
    content, calls = parse_tool_calls(completion, names)
    schemas = dict(constraint.function_schemas())
    assert content is None and calls, completion
    # nothing but calls, then at most two newlines (what the grammar lets a model that wants to go on write)
    assert completion.startswith(TRIGGER) and completion.rstrip("\n").endswith(CALL_TAIL), completion
    assert not completion.endswith("\n\n\n"), completion
    for call in calls:
        assert call.name in names and call.parse_error is None, completion
        jsonschema.validate(call.arguments, schemas[call.name])


def test_forced_calls_always_parse_and_validate(generator):
    """Soundness: whatever a (random) model samples under a required or named tool_choice, every completed
    row is one or more calls to offered functions whose arguments are valid under their schemas."""
    rows = []

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])
    @given(tools=_tools(), named=st.booleans(), seed=st.integers(0, 2**16))
    def run(tools, named, seed):
        choice = {"type": "function", "function": {"name": tools[-1]["function"]["name"]}} if named else "required"
        prefill = prefill_for(choice)
        constraint = constraint_for(tools, choice, prefill=prefill)
        names = {name for name, _ in constraint.functions}
        got = generator.generate(GenerationRequest(_chat("call a tool") + prefill, max_tokens=200, temperature=1.0,
                                                   n=2, seed=seed, constraint=constraint))
        for text, reason in zip(got.texts, got.finish_reasons):
            rows.append(reason)
            if reason == "stop":
                _check_calls(prefill + text, constraint, names)

    run()
    assert rows.count("stop") >= 0.75 * len(rows), rows


def test_lazy_calls_leave_text_free_until_the_trigger(generator):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}},
        "required": ["q"]}}}]
    free = constraint_for(tools, "auto")
    got = generator.generate(GenerationRequest(_chat("hi"), max_tokens=60, temperature=1.0, n=6, seed=3,
                                               constraint=free))
    for text in got.texts:  # a random model rarely writes the trigger; whenever it does, calls follow
        if TRIGGER in text:
            _check_calls(text[text.index(TRIGGER):], free, {"lookup"})
    # a prompt that already ends with the trigger (the prefill): the rest must be calls
    prefill = "Let me look that up.\n" + TRIGGER
    started = constraint_for(tools, "auto", prefill=prefill)
    got = generator.generate(GenerationRequest(_chat("hi") + prefill, max_tokens=200, temperature=1.0, n=4,
                                               seed=5, constraint=started))
    assert got.finish_reasons.count("stop") >= 3
    for text, reason in zip(got.texts, got.finish_reasons):
        if reason == "stop":
            _check_calls(TRIGGER + text, started, {"lookup"})


@pytest.mark.parametrize("schema", [None, {"type": "object", "properties": {
    "answer": {"type": "string"}, "score": {"type": "number", "minimum": 0, "maximum": 1},
    "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3}}, "required": ["answer", "score"],
    "additionalProperties": False}])
def test_json_answers_parse_and_validate(generator, schema):
    response_format = ({"type": "json_object"} if schema is None
                       else {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}})
    constraint = constraint_for(None, None, response_format)
    got = generator.generate(GenerationRequest(_chat("answer in JSON"), max_tokens=150, temperature=1.0, n=4,
                                               seed=11, constraint=constraint))
    assert got.finish_reasons.count("stop") >= 3, got
    for text, reason in zip(got.texts, got.finish_reasons):
        if reason == "stop":
            value = json.loads(text)
            assert isinstance(value, dict)
            jsonschema.validate(value, schema or {"type": "object"})


def test_batched_rows_each_follow_their_own_constraint(generator):
    tools = [{"type": "function", "function": {"name": "add", "parameters": {
        "type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"], "additionalProperties": False}}}]
    calls = constraint_for(tools, "required", prefill=prefill_for("required"))
    answer = constraint_for(None, None, {"type": "json_object"})
    free = GenerationRequest(_chat("say something"), max_tokens=12, temperature=0)
    requests = [GenerationRequest(_chat("add 2 and 3") + calls.prefill, max_tokens=120, temperature=0,
                                  constraint=calls),
                free,
                GenerationRequest(_chat("json"), max_tokens=120, temperature=0, constraint=answer),
                GenerationRequest(_chat("cut short"), max_tokens=3, temperature=0, constraint=answer)]
    got = generator.generate_batch(requests)
    _check_calls(calls.prefill + got[0].texts[0], calls, {"add"})
    assert got[1].texts == generator.generate(free).texts  # an unconstrained row is left alone
    assert isinstance(json.loads(got[2].texts[0]), dict)
    assert got[3].finish_reasons == ["length"] and got[3].texts[0].startswith("{")  # cut at its own max_tokens


def test_min_tokens_cannot_push_a_row_past_the_end_of_its_grammar(generator):
    constraint = Constraint("json", schema_json=canonical({"type": "object", "properties": {"a": {"type": "boolean"}},
                                                           "required": ["a"], "additionalProperties": False}))
    got = generator.generate(GenerationRequest(_chat("json"), max_tokens=30, temperature=1.0, seed=1,
                                               min_tokens=25, constraint=constraint))
    assert json.loads(got.texts[0]).keys() == {"a"}


def test_processor_leaves_unconstrained_and_finished_rows_alone(tiny_tokenizer):
    import torch

    compiler = compiler_for(tiny_tokenizer, EOS)
    constraint = Constraint("json")
    processor = GrammarLogitsProcessor([None, compiler.matcher(constraint), compiler.matcher(constraint)],
                                       compiler.vocab_size, prompt_width=4, finished=lambda i: i == 2)
    scores = torch.randn(3, len(tiny_tokenizer))
    out = processor(torch.zeros((3, 4), dtype=torch.long), scores)
    assert torch.equal(out[0], scores[0]) and torch.equal(out[2], scores[2])
    allowed = torch.isfinite(out[1]).nonzero().flatten().tolist()
    assert allowed == tiny_tokenizer("{", add_special_tokens=False).input_ids  # a JSON object starts with {
    assert set(string.printable) >= set(tiny_tokenizer.decode(allowed))


# ---- the packaged model --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_smollm2_forced_calls_parse_and_validate():
    from toolbench.llm.models import load_model

    generator = HFGenerator.from_loaded(load_model("default"))
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                               "parameters": {"type": "object", "properties": {
                                                   "city": {"type": "string"},
                                                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                                                   "required": ["city"]}}},
             {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {
                 "a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}}}]
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    for choice in ("required", {"type": "function", "function": {"name": "add"}}):
        rendered = generator.render(messages, tools, choice)
        constraint = constraint_for(tools, choice, prefill=rendered.prefill)
        got = generator.generate(GenerationRequest(rendered.text, max_tokens=80, temperature=0,
                                                   constraint=constraint))
        assert got.finish_reasons == ["stop"], got
        names = {name for name, _ in constraint.functions}
        _check_calls(rendered.prefill + got.texts[0], constraint, names)
