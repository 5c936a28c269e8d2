"""The shortest reply BFCL would accept for an entry, and the demo's BFCL reply budget that must hold it."""

import pytest

from eval.public_sample import public_sample, reference_reply
from toolbench.cli.demo.profile import FULL
from toolbench.llm.llamacpp_lib import llama_cpp_available
from toolbench.llm.toolcalls import parse_tool_calls

ENTRY = {"id": "x_0", "question": [[{"role": "user", "content": "gcd of 12 and 18, then lcm"}]], "function": [
    {"name": "math.gcd", "description": "GCD.", "parameters": {"type": "dict", "properties": {
        "a": {"type": "integer"}, "b": {"type": "integer"}, "method": {"type": "string"}}, "required": ["a", "b"]}},
    {"name": "math.lcm", "description": "LCM.", "parameters": {"type": "dict", "properties": {
        "a": {"type": "integer"}, "b": {"type": "integer"}, "units": {"type": "dict"}}, "required": ["a", "b"]}}]}
ANSWER = [{"math.gcd": {"a": [12], "b": [18], "method": ["", "euclid"]}},
          {"math.lcm": {"a": [12, 12.0], "b": [18], "units": [{"name": ["metres long", "m"]}]}}]


def test_reference_reply_is_the_shortest_accepted_call_list():
    text = reference_reply(ENTRY, ANSWER)
    content, calls = parse_tool_calls(text)
    assert content is None
    # BFCL's dotted names as the request offers them (math_gcd), optional "method" left out, the shorter of 12 and
    # 12.0, and a nested option realised to its first choice
    assert [c.name for c in calls] == ["math_gcd", "math_lcm"]
    assert [c.arguments for c in calls] == [{"a": 12, "b": 18}, {"a": 12, "b": 18, "units": {"name": "metres long"}}]
    assert reference_reply(ENTRY, None) == ""


@pytest.mark.skipif(not llama_cpp_available()[0], reason="llama-cpp-python is not installed")
def test_the_demos_bfcl_budget_holds_every_dev_reference_answer():
    """With 160 tokens, 16 of the 40 parallel_multiple dev entries could not be answered right even by a perfect
    model (their shortest accepted reply is longer); the budget must hold every one, end of reply included."""
    from toolbench.llm.llamacpp import LlamaCppGenerator
    from toolbench.llm.models import find_default_gguf

    engine = LlamaCppGenerator(find_default_gguf(), "smollm2", n_seq=1, ctx_per_seq=1024)
    try:
        sample = public_sample(["simple_python", "multiple", "parallel", "parallel_multiple"], "all", split="dev")
        lengths = {}
        for entries, answers in sample.load().values():
            for entry in entries:
                lengths[entry["id"]] = len(engine.tokenize(reference_reply(entry, answers[entry["id"]]),
                                                           special=False)) + 1  # the end-of-reply token
    finally:
        engine.close()
    assert len(lengths) == sample.size
    longest = max(lengths, key=lengths.get)
    assert lengths[longest] <= FULL.bfcl_max_tokens, (longest, lengths[longest])
    assert sum(n > 160 for n in lengths.values()) > 10  # what the old budget cut
