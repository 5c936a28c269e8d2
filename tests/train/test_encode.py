"""Loss masks at token level, packing and the collator, on the byte-level tiny tokenizer (id == byte value)."""

from __future__ import annotations

import pytest
from train_tiny import EOT, IM_END, IM_START, TOOLS_TEMPLATE, WEATHER_TOOL, call_example, ids, make_tokenizer

from toolbench.llm.template import render_prompt, tools_section
from train.encode import (
    IGNORE_INDEX,
    ChatRenderer,
    Collator,
    Encoded,
    TemplateError,
    encode_example,
    encode_examples,
    pack,
)
from train.format import from_openai, make_example

M = IGNORE_INDEX


@pytest.fixture(scope="module")
def tok():
    return make_tokenizer()


def masked(n: int) -> list[int]:
    return [M] * n


def test_plain_chat_masks_everything_but_the_reply(tok):
    ex = make_example([{"role": "system", "content": "S"}, {"role": "user", "content": "hi"},
                       {"role": "assistant", "content": "yo"}])
    enc = encode_example(ex, tok)
    prompt = ids(IM_START, "system\nS", IM_END, "\n", IM_START, "user\nhi", IM_END, "\n", IM_START, "assistant\n")
    reply = ids("yo", IM_END)
    assert enc.input_ids == prompt + reply + ids("\n")
    assert enc.labels == masked(len(prompt)) + reply + masked(1)


def test_default_system_and_two_turns(tok):
    # SmolLM2's template adds its own system turn when there is none; both replies are in the loss
    ex = make_example([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                       {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}])
    enc = encode_example(ex, tok)
    system = ids(IM_START, "system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face", IM_END, "\n")
    turn1 = ids(IM_START, "user\na", IM_END, "\n", IM_START, "assistant\n")
    turn2 = ids("\n", IM_START, "user\nc", IM_END, "\n", IM_START, "assistant\n")
    assert enc.input_ids == system + turn1 + ids("b", IM_END) + turn2 + ids("d", IM_END, "\n")
    assert enc.labels == (masked(len(system) + len(turn1)) + ids("b", IM_END) + masked(len(turn2))
                          + ids("d", IM_END) + masked(1))


def test_weight_zero_turn_is_context_only(tok):
    ex = make_example([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0},
                       {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}])
    enc = encode_example(ex, tok)
    assert [t for t in enc.labels if t != M] == ids("d", IM_END)


def test_tool_turns_in_the_servers_format(tok):
    """Calls and results are rendered as the server renders them; only the assistant's calls and answer count."""
    ex = from_openai(call_example(0))
    enc = encode_example(ex, tok)
    system = f"You are a helpful assistant.\n\n{tools_section([WEATHER_TOOL])}"
    call = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    result = '<tool_response name="get_weather">\n10 C\n</tool_response>'
    prompt1 = ids(IM_START, "system\n" + system, IM_END, "\n", IM_START, "user\nWeather in Paris?", IM_END, "\n",
                  IM_START, "assistant\n")
    prompt2 = ids("\n", IM_START, "user\n" + result, IM_END, "\n", IM_START, "assistant\n")
    answer = ids("It is 10 C in Paris.", IM_END)
    assert enc.input_ids == prompt1 + ids(call, IM_END) + prompt2 + answer + ids("\n")
    assert enc.labels == masked(len(prompt1)) + ids(call, IM_END) + masked(len(prompt2)) + answer + masked(1)


def test_training_prompt_is_the_served_prompt(tok):
    """The text before each target is exactly what the server renders for that request."""
    ex = from_openai(call_example(2))
    rendering = ChatRenderer(tok)(ex)
    for (start, _), upto in zip(rendering.spans, (1, 3)):
        served = render_prompt(tok, ex.messages[:upto], ex.tools).text
        assert rendering.text[:start] == served


def test_native_tool_template(tok):
    native = make_tokenizer(TOOLS_TEMPLATE)
    enc = encode_example(from_openai(call_example(0)), native)
    assert native.decode([t for t in enc.labels if t != M]) == (
        'CALL get_weather {"city": "Paris"}<|im_end|>It is 10 C in Paris.<|im_end|>')
    assert native.decode(enc.input_ids).startswith('<|im_start|>system\nTOOLS [{"type": "function"')


def test_template_that_rewrites_history_is_refused():
    # drops earlier assistant turns when the conversation ends with an assistant turn
    rewriting = make_tokenizer("{% for m in messages %}{% if m['role'] != 'assistant' or loop.last %}"
                               "{{ m['role'] + ':' + m['content'] + '\n' }}{% endif %}{% endfor %}"
                               "{% if add_generation_prompt %}assistant:{% endif %}")
    ex = make_example([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                       {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}])
    with pytest.raises(TemplateError, match="prefix"):
        encode_example(ex, rewriting)


def test_truncate_and_drop(tok):
    examples = [from_openai(call_example(i)) for i in range(3)]
    full, stats = encode_examples(examples, tok, max_length=4096)
    assert stats.kept == 3 and stats.truncated == 0
    n = len(full[0].input_ids)
    cut, stats = encode_examples(examples, tok, max_length=n - 5)
    assert stats.truncated == 3 and len(cut[0].input_ids) == n - 5
    assert cut[0].labels == full[0].labels[:n - 5]
    dropped, stats = encode_examples(examples, tok, max_length=n - 5, overlong="drop")
    assert dropped == [] and stats.reasons == {"too long": 3}
    # cut before the first reply: nothing left to learn
    nothing, stats = encode_examples(examples, tok, max_length=50)
    assert nothing == [] and stats.reasons == {"no target left": 3}


def test_pack_keeps_examples_whole_and_apart():
    a = Encoded([1, 2, 3], [M, 2, 3])
    b = Encoded([4, 5], [4, 5])
    c = Encoded([6, 7, 8, 9], [M, M, 8, 9])
    packs = pack([a, b, c], max_length=6)
    assert [p.input_ids for p in packs] == [[1, 2, 3, 4, 5], [6, 7, 8, 9]]
    assert packs[0].labels == [M, 2, 3, M, 5]  # b's first token is predicted from a: masked
    assert packs[0].position_ids == [0, 1, 2, 0, 1]


def test_collator_pads():
    collate = Collator(pad_token_id=EOT)
    batch = collate([{"input_ids": [1, 2, 3], "labels": [M, 2, 3]}, {"input_ids": [4], "labels": [4]}])
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, EOT, EOT]]
    assert batch["labels"].tolist() == [[M, 2, 3], [4, M, M]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    packed = collate([{"input_ids": [1, 2, 3], "labels": [M, 2, 3], "position_ids": [0, 0, 1]},
                      {"input_ids": [4], "labels": [4], "position_ids": [0]}])
    assert "attention_mask" not in packed
    assert packed["position_ids"].tolist() == [[0, 0, 1], [0, 0, 1]]


def test_packed_examples_do_not_see_each_other():
    """Packed with restarted positions and no mask, an example's logits equal those it has alone (only without a
    KV cache: with one, transformers ignores the packing, so training sets ``use_cache`` off)."""
    import torch
    from train_tiny import make_model

    model = make_model().eval()
    a, b = [5, 6, 7, 8], [9, 10, 11]
    with torch.no_grad():
        alone = model(torch.tensor([b])).logits[0]
        packed = model(torch.tensor([a + b]), position_ids=torch.tensor([[0, 1, 2, 3, 0, 1, 2]]),
                       use_cache=False).logits[0, 4:]
    assert torch.allclose(alone, packed, atol=1e-5)
