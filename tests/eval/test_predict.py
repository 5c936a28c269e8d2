"""eval.predict and `toolbench eval ast --base-url/--model`: requests built from BFCL entries, replies turned into
predictions, concurrency, per-API accuracy, identical reruns from the reply cache; and (slow) the real SmolLM2
server on a few entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from eval import predict
from toolbench.cli import main
from toolbench.llm.base import ChatReply, LLMRequestError
from toolbench.llm.cache import CachedChatModel
from toolbench.llm.scripted import ScriptedChatModel

FACTORIAL = {"name": "math.factorial", "description": "Factorial of n.",
             "parameters": {"type": "dict", "properties": {"n": {"type": "integer", "description": "The number."}},
                            "required": ["n"]}}
AREA = {"name": "area", "description": "Area of a shape.",
        "parameters": {"type": "dict", "properties": {
            "shape": {"type": "string", "enum": ["circle", "square"]},
            "size": {"type": "float", "default": 1.0},
            "dims": {"type": "tuple", "items": {"type": "integer"}},
            "meta": {"type": "dict", "properties": {"unit": {"type": "string"}}, "required": ["unit"]},
            "anything": {"type": "any"}},
            "required": ["shape"]}}
ENTRIES = [
    {"id": "simple_0", "question": [[{"role": "user", "content": "Factorial of 5?"}]], "function": [FACTORIAL]},
    {"id": "simple_1", "question": [[{"role": "user", "content": "Factorial of 7?"}]], "function": [FACTORIAL]},
    {"id": "multiple_0", "question": [[{"role": "user", "content": "Area of a circle"}]],
     "function": [FACTORIAL, AREA]},
    {"id": "irrelevance_0", "question": [[{"role": "user", "content": "Tell me a joke"}]], "function": [AREA]},
]
ANSWERS = {"simple_0": [{"math.factorial": {"n": [5]}}], "simple_1": [{"math.factorial": {"n": [7]}}],
           "multiple_0": [{"area": {"shape": ["circle"], "size": ["", 1.0]}}]}


def test_json_schema_from_bfcl_docs():
    schema = predict.json_schema(AREA["parameters"])
    assert schema == {
        "type": "object",
        "properties": {
            "shape": {"type": "string", "enum": ["circle", "square"]},
            "size": {"type": "number", "default": 1.0},
            "dims": {"type": "array", "items": {"type": "integer"}},
            "meta": {"type": "object", "properties": {"unit": {"type": "string"}}, "required": ["unit"]},
            "anything": {},
        },
        "required": ["shape"],
    }


def test_safe_names_map_back_exactly():
    assert predict.safe_names(["math.factorial", "math_factorial", "ok-name"]) == {
        "math_factorial": "math.factorial", "math_factorial_2": "math_factorial", "ok-name": "ok-name"}
    long = "a." * 40
    (safe,) = predict.safe_names([long])
    assert len(safe) == 64 and "." not in safe


def test_build_request_offers_safe_names_and_keeps_history():
    entry = {"id": "multi_turn_multiple_3-1", "function": [FACTORIAL],
             "question": [[{"role": "user", "content": "Factorial of 3, then of that"},
                           {"role": "assistant", "content": None, "tool_calls": [
                               {"id": "call_0_0", "type": "function",
                                "function": {"name": "math.factorial", "arguments": "{\"n\": 3}"}}]},
                           {"role": "tool", "tool_call_id": "call_0_0", "content": "6"}]]}
    messages, tools, names = predict.build_request(entry, system_prompt="Be brief.")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[2]["tool_calls"][0]["function"]["name"] == "math_factorial"
    assert entry["question"][0][1]["tool_calls"][0]["function"]["name"] == "math.factorial"  # not mutated
    assert tools == [{"type": "function", "function": {
        "name": "math_factorial", "description": "Factorial of n.",
        "parameters": {"type": "object", "properties": {"n": {"type": "integer", "description": "The number."}},
                       "required": ["n"]}}}]
    assert names == {"math_factorial": "math.factorial"}


def test_reply_to_result():
    names = {"math_factorial": "math.factorial"}
    call = ScriptedChatModel.call("math_factorial", {"n": 5})
    assert predict.reply_to_result(call, names) == [{"math.factorial": {"n": 5}}]
    broken = ScriptedChatModel.call("math_factorial", "{n: 5")
    assert predict.reply_to_result(broken, names) == [{"math.factorial": "{n: 5"}]  # scored as unparseable
    text_call = ChatReply(content='[math_factorial(n=5)]')
    assert predict.reply_to_result(text_call, names) == [{"math.factorial": {"n": 5}}]
    prose = ChatReply(content="Sorry, I cannot help with that.")
    assert predict.reply_to_result(prose, names) == "Sorry, I cannot help with that."
    assert predict.reply_to_result(ChatReply(content=None), names) == ""


def answering_model(model: str = "scripted") -> ScriptedChatModel:
    """Calls factorial with the number in the request; the area question gets a circle; anything else prose."""

    def respond(messages, tools, params):
        text = messages[-1]["content"]
        if "Factorial" in text:
            return ScriptedChatModel.call("math_factorial", {"n": int(text.split()[-1].rstrip("?"))})
        if "Area" in text:
            return ScriptedChatModel.call("area", {"shape": "square"})  # wrong value
        return "I'm sorry, none of the functions can tell jokes."

    return ScriptedChatModel([respond], model=model, repeat_last=True)


def test_evaluate_scores_and_counts_per_api():
    chat = answering_model()
    seen: list[str] = []
    outcome = predict.evaluate(chat, ENTRIES, ANSWERS, predict.RunnerConfig(concurrency=3),
                              function_map={"math.factorial": "Math/factorial"}, model="m",
                              on_done=lambda p: seen.append(p.id))
    assert sorted(seen) == sorted(e["id"] for e in ENTRIES)
    assert [r["valid"] for r in outcome.rows] == [True, True, False, True]
    assert outcome.summary["model"] == "m"
    assert outcome.summary["overall"] == {"accuracy": 0.75, "correct": 3, "n": 4}
    # factorial: simple_0 and simple_1 right (2/2); area: multiple_0 wrong (0/1); irrelevance counts for no API
    assert outcome.per_api == {"Math/factorial": {"accuracy": 1.0, "n": 2}, "area": {"accuracy": 0.0, "n": 1}}
    assert all(r["params"] == {"max_tokens": 256, "temperature": 0.0, "seed": 0} for r in chat.requests)


def test_an_entry_refused_alone_is_missing_but_an_unreachable_endpoint_stops_the_run():
    too_long = LLMRequestError("prompt longer than the context", status=400)
    chat = ScriptedChatModel([too_long], repeat_last=False)
    outcome = predict.evaluate(chat, ENTRIES[:1], ANSWERS)
    assert outcome.rows[0]["error_type"] == "missing_prediction"
    assert outcome.predictions[0].error and outcome.summary["request_errors"] == 1

    down = ScriptedChatModel([LLMRequestError("cannot reach http://127.0.0.1:1/v1", status=None)] * 4)
    with pytest.raises(LLMRequestError, match="cannot reach"):
        predict.run_entries(down, ENTRIES, predict.RunnerConfig(concurrency=2))


def test_duplicate_ids_are_refused():
    with pytest.raises(predict.RunnerError, match="duplicate ids"):
        predict.run_entries(answering_model(), [ENTRIES[0], ENTRIES[0]])


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_cli_reruns_from_the_cache_identically(tmp_path, capsys):
    """Record replies with a scripted model in the cache the CLI uses, then run the CLI in replay mode (no model
    at all) twice: same verdicts and summary, byte for byte."""
    dataset = write_jsonl(tmp_path / "set.jsonl", ENTRIES)
    answers = write_jsonl(tmp_path / "answers.jsonl", [{"id": k, "ground_truth": v} for k, v in ANSWERS.items()])
    out = tmp_path / "run" / "ast.jsonl"
    cache = tmp_path / "run" / "ast.llm_cache.sqlite"
    recorder = CachedChatModel(answering_model("smol"), cache, "read-write")
    predict.run_entries(recorder, ENTRIES, predict.RunnerConfig(max_tokens=64))
    recorder.close()

    argv = ["eval", "ast", "--dataset", str(dataset), "--answers", str(answers), "--model", "smol", "--base-url",
            "http://127.0.0.1:9/v1", "--cache-mode", "replay", "--max-tokens", "64", "--out", str(out)]
    outputs = []
    for _ in range(2):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        outputs.append([p.read_text() for p in (out, tmp_path / "run" / "ast.summary.json",
                                                  tmp_path / "run" / "ast.per_api.json",
                                                  tmp_path / "run" / "ast.predictions.jsonl")])
    assert outputs[0] == outputs[1]
    summary = json.loads(outputs[0][1])
    assert summary["model"] == "smol" and summary["overall"]["correct"] == 3
    assert "75.00%" in capsys.readouterr().out
    assert not list((tmp_path / "run").glob(".*tmp*"))  # no temporary file left behind

    # a different setting is a different request: replay refuses it rather than inventing an answer
    with pytest.raises(SystemExit) as exit_info:
        main([*argv[:-4], "--max-tokens", "65", "--out", str(out)])
    assert exit_info.value.code == 2
    assert "replay cache" in capsys.readouterr().err


def test_catalog_function_map_names_tool_and_api():
    mapping = predict.catalog_function_map("data/tools")
    assert mapping["get_quote_for_stockquotes"] == "StockQuotes/get_quote"


# -- the real local server --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smollm2_url():
    from toolbench.llm.models import ensure_default_model

    ensure_default_model()
    process = subprocess.Popen([sys.executable, "-m", "toolbench", "llm", "serve", "--port", "0", "--log-level",
                                "warning", "--default-max-tokens", "96"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    found: list[str] = []

    def read() -> None:
        for line in process.stdout:
            if line.startswith("serving ") and not found:
                found.append(line.split(" at ")[-1].strip())

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + 180
    while not found and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    if not found:
        process.kill()
        pytest.fail("the SmolLM2 server did not start")
    yield found[0]
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.slow
def test_real_server_on_a_few_entries(tmp_path, smollm2_url, capsys):
    """SmolLM2-135M through `toolbench llm serve` on three entries (one per kind of answer): every entry gets a
    prediction and a verdict, and a rerun asks the server nothing (same files)."""
    dataset = write_jsonl(tmp_path / "set.jsonl", [ENTRIES[0], ENTRIES[2], ENTRIES[3]])
    answers = write_jsonl(tmp_path / "answers.jsonl", [{"id": k, "ground_truth": v} for k, v in ANSWERS.items()])
    out = tmp_path / "ast.jsonl"
    argv = ["eval", "ast", "--dataset", str(dataset), "--answers", str(answers), "--base-url", smollm2_url,
            "--model", "smollm2-135m-instruct", "--max-tokens", "48", "--concurrency", "2", "--out", str(out)]
    texts = []
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        texts.append((out.read_text(), (tmp_path / "ast.predictions.jsonl").read_text()))
    assert time.monotonic() - started < 5  # the rerun came from the cache
    assert texts[0] == texts[1]
    predictions = [json.loads(line) for line in texts[0][1].splitlines()]
    assert [p["id"] for p in predictions] == ["simple_0", "multiple_0", "irrelevance_0"]
    assert all("error" not in p and p["reply"]["usage"]["completion_tokens"] > 0 for p in predictions)
    summary = json.loads((tmp_path / "ast.summary.json").read_text())
    assert summary["overall"]["n"] == 3 and summary["model"] == "smollm2-135m-instruct"


def test_requests_go_longest_first_and_predictions_keep_entry_order():
    asked = []

    def respond(messages, tools, params):
        asked.append(messages[-1]["content"])
        return "no call"

    chat = ScriptedChatModel([respond], repeat_last=True)
    predictions = predict.run_entries(chat, ENTRIES, predict.RunnerConfig(concurrency=1))
    assert [p.id for p in predictions] == [e["id"] for e in ENTRIES]
    assert asked[0] == "Area of a circle"  # the entry offering two functions has the longest prompt
    sizes = [predict.request_size(next(e for e in ENTRIES if e["question"][0][0]["content"] == text))
             for text in asked]
    assert sizes == sorted(sizes, reverse=True)


def test_penalties_are_sent_only_when_set_and_bounded():
    """Penalties reach the request (and so the cache key) when set; unset, the request is what it always was."""
    chat = answering_model()
    predict.run_entries(chat, ENTRIES[:1], predict.RunnerConfig(concurrency=1))
    predict.run_entries(chat, ENTRIES[:1], predict.RunnerConfig(concurrency=1, frequency_penalty=0.5,
                                                                presence_penalty=-1))
    plain, penalised = (r["params"] for r in chat.requests)
    assert "frequency_penalty" not in plain and "presence_penalty" not in plain
    assert penalised["frequency_penalty"] == 0.5 and penalised["presence_penalty"] == -1.0
    for bad in ({"frequency_penalty": 2.5}, {"presence_penalty": "high"}, {"frequency_penalty": True}):
        with pytest.raises(predict.RunnerError, match=next(iter(bad))):
            predict.RunnerConfig(**bad)
