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
