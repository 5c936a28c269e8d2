import threading

from toolbench.llm.generation import GenerationRequest, HFGenerator, StopHoldback, cut_at_stop


def test_cut_at_stop_takes_the_earliest():
    assert cut_at_stop("abc END def STOP", ["STOP", "END"]) == ("abc ", True)
    assert cut_at_stop("abc", ["x", ""]) == ("abc", False)


def test_streamed_text_never_shows_a_stop_string():
    sent: list[str] = []
    holdback = StopHoldback(["</end>"], sent.append)
    for piece in ["Hel", "lo </e", "nd> never"]:
        holdback.feed(piece)
    holdback.finish()
    assert "".join(sent) == "Hello " and holdback.stopped
    sent.clear()
    holdback = StopHoldback([], sent.append)
    for piece in ["a", "b", "c"]:
        holdback.feed(piece)
    holdback.finish()
    assert sent == ["a", "b", "c"]


def test_tiny_llama_counts_and_stops(tiny_model, tiny_tokenizer):
    generator = HFGenerator(tiny_model, tiny_tokenizer, "tiny")
    assert generator.eos_ids == [0, 2]
    prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    greedy = generator.generate(GenerationRequest(prompt, max_tokens=5, temperature=0, n=2))
    assert greedy.texts[0] == greedy.texts[1] and greedy.completion_tokens == [5, 5]
    assert greedy.prompt_tokens == generator.count_tokens(prompt) and greedy.finish_reasons == ["length"] * 2
    # a stop string made of the first generated character cuts the text to nothing
    first = greedy.texts[0][:1]
    stopped = generator.generate(GenerationRequest(prompt, max_tokens=5, temperature=0, stop=[first]))
    assert stopped.texts == [""] and stopped.finish_reasons == ["stop"]
    cancel = threading.Event()
    cancel.set()
    cut = generator.generate(GenerationRequest(prompt, max_tokens=50, temperature=0), cancel=cancel)
    assert cut.completion_tokens[0] < 50


def _chat(text):
    return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"


def test_batched_greedy_rows_match_the_same_prompts_alone(tiny_model, tiny_tokenizer):
    generator = HFGenerator(tiny_model, tiny_tokenizer, "tiny")
    alone = generator.generate(GenerationRequest(_chat("x"), max_tokens=6, temperature=0))
    requests = [GenerationRequest(_chat("hi"), max_tokens=7, temperature=0),
                GenerationRequest(_chat("a much longer prompt than the others, left-padded"), max_tokens=3,
                                  temperature=0),
                GenerationRequest(_chat("x"), max_tokens=6, temperature=0, stop=[alone.texts[0][2:4]])]
    batched = generator.generate_batch(requests)
    for request, got in zip(requests, batched):
        want = generator.generate(request)
        assert got.texts == want.texts and got.finish_reasons == want.finish_reasons
        assert got.completion_tokens == want.completion_tokens and got.prompt_tokens == want.prompt_tokens
    assert batched[0].completion_tokens == [7] and batched[1].completion_tokens == [3]  # each row its own max
    assert batched[2].finish_reasons == ["stop"]
    assert batched[2].texts[0] == cut_at_stop(alone.texts[0], requests[2].stop)[0]


def test_a_stop_string_is_matched_in_the_completion_only(tiny_model, tiny_tokenizer):
    # the prompt ends with a newline: a stop of two newlines must not match its last one plus the first
    # generated one (transformers' own stop_strings would; OpenAI and vLLM look at the completion only)
    generator = HFGenerator(tiny_model, tiny_tokenizer, "tiny")
    alone = generator.generate(GenerationRequest(_chat("x"), max_tokens=6, temperature=0))
    assert alone.texts[0].startswith("\n\n")  # what this random model says
    got = generator.generate(GenerationRequest(_chat("x"), max_tokens=6, temperature=0, stop=["\n\n"]))
    assert got.texts == [""] and got.completion_tokens == [2] and got.finish_reasons == ["stop"]


def test_batched_rows_can_be_cancelled_and_sampled(tiny_model, tiny_tokenizer):
    generator = HFGenerator(tiny_model, tiny_tokenizer, "tiny")
    cancel = threading.Event()
    cancel.set()
    rows = generator.generate_batch([GenerationRequest(_chat("a"), max_tokens=40, temperature=0),
                                     GenerationRequest(_chat("b"), max_tokens=40, temperature=0)], [cancel, None])
    assert rows[0].completion_tokens[0] < 40 and rows[0].finish_reasons == ["stop"]
    assert rows[1].completion_tokens == [40]
    forced = generator.generate_batch([GenerationRequest(_chat("a"), max_tokens=6, temperature=0, min_tokens=6),
                                       GenerationRequest(_chat("bb"), max_tokens=6, temperature=0, min_tokens=6)])
    assert [r.completion_tokens for r in forced] == [[6], [6]]
    sampled = generator.generate_batch([GenerationRequest(_chat("a"), max_tokens=5, temperature=0.9),
                                        GenerationRequest(_chat("b"), max_tokens=5, temperature=0.9)])
    assert [len(r.texts) for r in sampled] == [1, 1] and all(r.completion_tokens[0] <= 5 for r in sampled)


def test_batch_keys_group_only_compatible_requests(tiny_model, tiny_tokenizer):
    import pytest

    from toolbench.llm.generation import batch_key

    greedy = GenerationRequest("p", max_tokens=4, temperature=0, seed=7)
    assert batch_key(greedy) == batch_key(GenerationRequest("q", max_tokens=9, temperature=0, stop=["x"]))
    assert batch_key(GenerationRequest("p", 4, temperature=0.7)) == ("sample", 0.7, 1.0, 0)
    assert batch_key(GenerationRequest("p", 4, temperature=0, min_tokens=4)) != batch_key(greedy)
    assert batch_key(GenerationRequest("p", 4, temperature=0.7)) != batch_key(GenerationRequest("p", 4, temperature=1))
    for alone in (GenerationRequest("p", 4, temperature=0.7, seed=1), GenerationRequest("p", 4, temperature=0, n=2)):
        assert batch_key(alone) is None
    generator = HFGenerator(tiny_model, tiny_tokenizer, "tiny")
    with pytest.raises(ValueError, match="sampling settings"):
        generator.generate_batch([greedy, GenerationRequest("p", 4, temperature=0.7)])


def test_penalties_lower_each_logit_by_what_the_row_has_written():
    import torch

    from toolbench.llm.generation import _Penalties

    scores = torch.zeros(2, 5)
    ids = torch.tensor([[9, 9, 1, 1, 3], [9, 9, 2, 2, 2]])  # two prompt tokens (width 2), then three written
    out = _Penalties([(0.5, 1.0), (0.0, 0.0)], width=2)(ids, scores.clone())
    assert out[0].tolist() == [0.0, -2.0, 0.0, -1.5, 0.0]  # token 1 twice: 2 x 0.5 + 1; token 3 once; prompt: none
    assert out[1].tolist() == [0.0] * 5  # no penalty on this row
    assert _Penalties([(1.0, 1.0)], width=5)(ids[:1], scores[:1].clone()).tolist() == [[0.0] * 5]  # nothing written


def test_a_presence_penalty_stops_repeats_per_row(tiny_model, tiny_tokenizer):
    generator = HFGenerator(tiny_model, tiny_tokenizer, "tiny")
    prompt = generator.render([{"role": "user", "content": "Say it again and again."}], None, None).text
    base = {"prompt": prompt, "max_tokens": 16, "temperature": 0.0, "min_tokens": 16}
    free = generator.generate(GenerationRequest(**base))
    free_ids = tiny_tokenizer(free.texts[0], add_special_tokens=False).input_ids
    assert len(set(free_ids)) < len(free_ids)  # a random model repeats itself
    rows = generator.generate_batch([GenerationRequest(**base, presence_penalty=1000.0), GenerationRequest(**base)])
    assert rows[1].texts == free.texts  # the penalty is per row
    assert rows[0].texts != free.texts
