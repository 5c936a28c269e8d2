"""eval.public_bfcl and `toolbench eval bfcl-public`: the fixed stratified sample of BFCL's public categories, the
run through eval.predict with a scripted model, the summary (ours / BFCL would report, intervals, mode,
constrained decoding), re-scoring with BFCL's own checker, and the Markdown block."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from eval import bfcl_reference, predict, public_bfcl, public_sample
from toolbench.cli import main
from toolbench.llm.cache import CachedChatModel
from toolbench.llm.base import Usage
from toolbench.llm.scripted import ScriptedChatModel

pytestmark = pytest.mark.skipif(importlib.util.find_spec("bfcl_eval") is None, reason="bfcl-eval is not installed")

DEFAULT_SIZES = {"simple_python": 107, "multiple": 60, "parallel": 60, "parallel_multiple": 60, "irrelevance": 64}
ALL_SIZES = {"simple_python": 134, "multiple": 67, "parallel": 67, "parallel_multiple": 67, "irrelevance": 80}


# -- the sample ---------------------------------------------------------------------------------------------------

def test_default_sample_sizes_are_the_documented_ones():
    sample = public_bfcl.public_sample()  # the test slice: four fifths of each category
    assert sample.split == "test"
    assert {c: len(ids) for c, ids in sample.ids.items()} == DEFAULT_SIZES
    assert sample.size == 351
    assert sample.totals == {"simple_python": 320, "multiple": 160, "parallel": 160, "parallel_multiple": 160,
                             "irrelevance": 192}
    assert sample.bfcl_eval == "2026.3.23"
    whole = public_bfcl.public_sample(split="all")
    assert {c: len(ids) for c, ids in whole.ids.items()} == ALL_SIZES and whole.size == 415
    live = public_bfcl.public_sample(["live_simple", "live_multiple"], split="all")
    assert {c: len(ids) for c, ids in live.ids.items()} == {"live_simple": 86, "live_multiple": 150}
    assert [public_bfcl.default_size(n) for n in (10, 100, 240, 400, 1053)] == [10, 60, 80, 134, 150]


def test_dev_and_test_slices_partition_each_category_and_never_move():
    for category in public_bfcl.PUBLIC_CATEGORIES:
        entries, _ = bfcl_reference.load_category(category)
        ids = [e["id"] for e in entries]
        dev = public_sample.split_ids(ids, "dev")
        test = public_sample.split_ids(ids, "test")
        assert len(dev) == -(-len(ids) // 5) and set(dev) | set(test) == set(ids) and not set(dev) & set(test)
        assert dev == public_sample.split_ids(list(reversed(ids)), "dev")[::-1]  # order-free, seed-free
        drawn = public_bfcl.public_sample([category], "all", split="dev", seed=3)
        assert drawn.ids[category] == dev and drawn.split == "dev"
        assert set(public_bfcl.public_sample([category], 20, seed=5).ids[category]) <= set(test)
    with pytest.raises(public_bfcl.PublicBfclError, match="split"):
        public_sample.split_ids(["a"], "train")


def test_summary_says_which_slice_was_sampled():
    sample = public_bfcl.public_sample(["multiple"], 2, split="dev")
    rows = {"multiple": [{"id": i, "valid": True} for i in sample.ids["multiple"]]}
    summary = public_bfcl.summarize_public(rows, model="m", sample=sample)
    assert summary["sample"]["split"] == "dev"
    assert "(the dev slice)" in public_bfcl.render_columns({"m": summary})
    restored = public_bfcl.PublicSample.from_dict(sample.to_dict())
    assert restored.split == "dev" and public_bfcl.PublicSample.from_dict({"ids": {}}).split == "all"


def test_sample_ids_exist_in_file_order_and_nest():
    sample = public_bfcl.public_sample()
    for category, ids in sample.ids.items():
        entries, _ = bfcl_reference.load_category(category)
        order = [e["id"] for e in entries]
        assert len(set(ids)) == len(ids)
        assert ids == [i for i in order if i in set(ids)]  # known ids, in file order
    small = public_bfcl.public_sample(per_category=10)
    assert all(len(ids) == 10 and set(ids) <= set(sample.ids[c]) for c, ids in small.ids.items())
    every = public_bfcl.public_sample(["multiple"], "all", split="all")
    assert len(every.ids["multiple"]) == 200
    mixed = public_bfcl.public_sample(["multiple", "irrelevance"], {"multiple": 5})
    assert len(mixed.ids["multiple"]) == 5 and len(mixed.ids["irrelevance"]) == 64
    assert public_bfcl.public_sample(["multiple"], 10, seed=1).ids != small.ids["multiple"]
    with pytest.raises(public_bfcl.PublicBfclError, match="not sampled"):
        public_bfcl.public_sample(["multiple"], {"parallel": 3})
    with pytest.raises(public_bfcl.PublicBfclError, match="number or 'all'"):
        public_bfcl.parse_per_category("many")


def test_sample_is_the_same_across_calls_orders_and_processes(tmp_path):
    first = public_bfcl.public_sample()
    assert public_bfcl.public_sample().ids == first.ids
    reordered = public_bfcl.public_sample(list(reversed(public_bfcl.PUBLIC_CATEGORIES)))
    assert {c: reordered.ids[c] for c in first.ids} == first.ids
    code = ("import json; from eval import public_bfcl; "
            "print(json.dumps(public_bfcl.public_sample().ids))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": ""}, cwd=os.getcwd())
    assert json.loads(other.stdout) == first.ids
    path = first.write(tmp_path / "sample.json")
    again = public_bfcl.PublicSample.read(path)
    assert again.ids == first.ids and again.totals == first.totals and again.bfcl_eval == first.bfcl_eval
    written = json.loads(path.read_text())
    assert written["bfcl_eval"] == "2026.3.23" and written["ids"]["multiple"] == first.ids["multiple"]


def test_a_sample_from_another_version_is_refused():
    sample = public_bfcl.PublicSample(ids={"multiple": ["multiple_0", "multiple_9999"]}, totals={"multiple": 2},
                                      bfcl_eval="1999.1.1")
    with pytest.raises(public_bfcl.PublicBfclError, match="multiple_9999"):
        sample.load()


# -- running ------------------------------------------------------------------------------------------------------

def oracle_model(sample: public_bfcl.PublicSample) -> ScriptedChatModel:
    """Answers every call entry with its ground truth, except parallel ones whose id is odd (prose instead) and
    one simple_python entry written as text; irrelevance: a refusal for odd ids, garbled text for even ones."""
    by_question = {}
    for category, (entries, answers) in sample.load().items():
        for entry in entries:
            by_question[entry["question"][0][-1]["content"]] = (category, entry, answers.get(entry["id"]))
    first_simple = sample.ids["simple_python"][0]

    def respond(messages, tools, params):
        category, entry, answer = by_question[messages[-1]["content"]]
        number = int(entry["id"].rsplit("_", 1)[-1])
        if category == "irrelevance":
            return "Sorry, none of these functions can do that." if number % 2 else "calc((3"
        if category == "parallel" and number % 2:
            return "I would call some functions."
        to_safe = {original: safe for safe, original in predict.build_request(entry)[2].items()}
        calls = [(to_safe[name], args) for call in bfcl_reference.answer_calls(answer) for name, args in call.items()]
        if entry["id"] == first_simple:  # a right call, but written as text: ours reads it, BFCL's FC mode not
            name, args = calls[0]
            return json.dumps({"name": name, "arguments": args})
        reply = ScriptedChatModel.calls(calls)
        if category == "parallel":  # even ids: a reply cut at max_tokens, said by its finish reason
            reply.finish_reason = "length"
        elif category == "multiple" and number % 2:  # odd ids: cut, but the server says "tool_calls"
            reply.usage = Usage(prompt_tokens=10, completion_tokens=params["max_tokens"])
        return reply

    return ScriptedChatModel([respond], model="oracle", repeat_last=True)


@pytest.fixture(scope="module")
def small_sample():
    return public_bfcl.public_sample(per_category=6)


def test_run_writes_every_file_and_scores_ours_and_bfcls(tmp_path, small_sample):
    chat = oracle_model(small_sample)
    seen = []
    summary = public_bfcl.run_public_bfcl(chat, sample=small_sample, out_dir=tmp_path, on_done=seen.append)
    assert len(seen) == 30 and all(r["params"]["tool_choice"] == "auto" for r in chat.requests)
    assert summary["mode"] == "auto" and "decides whether to call" in summary["mode_label"]
    assert summary["constrained_decoding"] == "unknown" and summary["model"] == "oracle"

    cats = summary["categories"]
    odd_parallel = sum(int(i.rsplit("_", 1)[-1]) % 2 for i in small_sample.ids["parallel"])
    odd_irrelevance = sum(int(i.rsplit("_", 1)[-1]) % 2 for i in small_sample.ids["irrelevance"])
    assert cats["simple_python"]["correct"] == 6 and cats["simple_python"]["bfcl"]["correct"] == 5
    assert cats["multiple"]["correct"] == 6 and not cats["multiple"]["differs"]
    assert cats["parallel"]["correct"] == cats["parallel"]["bfcl"]["correct"] == 6 - odd_parallel
    # irrelevance: the refusals are right for both; garbled text is wrong for us, an abstention for BFCL
    assert cats["irrelevance"]["correct"] == odd_irrelevance and cats["irrelevance"]["bfcl"]["correct"] == 6
    assert cats["irrelevance"]["differs"] and cats["simple_python"]["differs"]
    assert cats["multiple"]["interval"] == [0.6097, 1.0]  # Wilson 6/6
    micro = summary["overall"]["micro"]
    assert micro["n"] == 30 and micro["correct"] == sum(c["correct"] for c in cats.values())
    macro = summary["overall"]["macro"]
    assert macro["categories"] == 5
    assert macro["accuracy"] == pytest.approx(sum(c["accuracy"] for c in cats.values()) / 5, abs=1e-4)
    assert macro["interval"][0] <= macro["accuracy"] <= macro["interval"][1]
    assert summary["sample"]["size"] == 30 and summary["sample"]["bfcl_eval"] == "2026.3.23"
    odd_multiple = sum(int(i.rsplit("_", 1)[-1]) % 2 for i in small_sample.ids["multiple"])
    assert cats["parallel"].get("cut_at_max_tokens", 0) == 6 - odd_parallel
    assert cats["multiple"].get("cut_at_max_tokens", 0) == odd_multiple
    assert "cut_at_max_tokens" not in cats["simple_python"] and "cut_at_max_tokens" not in cats["irrelevance"]
    assert odd_multiple and odd_parallel < 6  # the sample has cut replies of both kinds
    assert "replies cut at 256 tokens**: " in public_bfcl.summary_markdown(summary)
    # why entries failed: the parallel prose is "text", the garbled irrelevance replies "unclear"; cut replies
    # that are right are not failures
    assert cats["parallel"].get("failures", {}) == ({"text": odd_parallel} if odd_parallel else {})
    assert cats["irrelevance"]["failures"] == {"unclear": 6 - odd_irrelevance}
    assert "failures" not in cats["multiple"] and "failures" not in cats["simple_python"]
    assert "| neither a call nor a refusal (irrelevance) |" in public_bfcl.summary_markdown(summary)

    # the run folder: sample, BFCL result files, verdicts with replies, the summary
    assert public_bfcl.PublicSample.read(tmp_path / "sample.json").ids == small_sample.ids
    for category in small_sample.ids:
        rows = bfcl_reference.read_jsonl(tmp_path / "result" / f"BFCL_v4_{category}_result.json")
        assert [r["id"] for r in rows] == small_sample.ids[category]
        verdicts = bfcl_reference.read_jsonl(tmp_path / "verdicts" / f"{category}.jsonl")
        assert [v["id"] for v in verdicts] == small_sample.ids[category] and all("bfcl_valid" in v for v in verdicts)
        assert (tmp_path / "verdicts" / f"{category}.predictions.jsonl").is_file()
    parallel = bfcl_reference.read_jsonl(tmp_path / "result" / "BFCL_v4_parallel_result.json")
    call_rows = [r for r in parallel if isinstance(r["result"], list)]
    assert call_rows and all(isinstance(v, str) for r in call_rows for call in r["result"] for v in call.values())
    assert public_bfcl.load_summary(tmp_path) == json.loads(json.dumps(summary))
    assert "| simple_python | 6 |" in (tmp_path / "public_bfcl.summary.md").read_text()

    # BFCL's own checker on the result files gives the "BFCL would report" figures
    rescored = public_bfcl.rescore_with_official_checker(tmp_path)
    assert rescored == {c: {"correct": f["bfcl"]["correct"], "n": f["n"]} for c, f in cats.items()}


def test_required_mode_forces_calls_and_leaves_out_irrelevance(tmp_path, small_sample):
    chat = oracle_model(small_sample)
    summary = public_bfcl.run_public_bfcl(chat, sample=small_sample, out_dir=tmp_path, tool_choice="required",
                                          constrained_decoding="xgrammar",
                                          config=predict.RunnerConfig(frequency_penalty=0.3))
    assert {r["params"]["tool_choice"] for r in chat.requests} == {"required"} and len(chat.requests) == 24
    assert {r["params"]["frequency_penalty"] for r in chat.requests} == {0.3}
    assert summary["runner"]["frequency_penalty"] == 0.3 and summary["runner"]["presence_penalty"] == 0.0
    assert "irrelevance" not in summary["categories"] and "irrelevance" in summary["skipped"]
    assert summary["mode"] == "required" and summary["constrained_decoding"] == "xgrammar"
    assert "forced" in public_bfcl.summary_markdown(summary)
    with pytest.raises(public_bfcl.PublicBfclError, match="tool_choice"):
        public_bfcl.run_public_bfcl(chat, sample=small_sample, out_dir=tmp_path, tool_choice="any")


class _Health(BaseHTTPRequestHandler):
    body: ClassVar[dict] = {}

    def do_GET(self):
        if self.path != "/health":
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(self.body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_constrained_decoding_is_read_from_the_servers_health(health_server):
    url = f"http://127.0.0.1:{health_server.server_address[1]}/v1"
    assert public_bfcl.health_url(url) == url.removesuffix("/v1") + "/health"
    _Health.body = {"status": "ok", "constrained_decoding": "xgrammar (lazy, tool calls)"}
    assert public_bfcl.server_constrained_decoding(url) == "xgrammar (lazy, tool calls)"
    _Health.body = {"status": "ok", "constrained_decoding": False}
    assert public_bfcl.server_constrained_decoding(url) is False
    _Health.body = {"status": "ok"}
    assert public_bfcl.server_constrained_decoding(url) == "unknown"
    assert public_bfcl.server_constrained_decoding(None) == "unknown"
    assert public_bfcl.server_constrained_decoding("http://127.0.0.1:9/v1", timeout=1) == "unknown"
    _Health.body = {"status": "ok", "call_threshold": 0.05}
    assert public_bfcl.server_reports(url, "call_threshold") == 0.05
    assert public_bfcl.server_reports(url, "constrained_decoding") == "unknown"


# -- rendering ----------------------------------------------------------------------------------------------------

def _rows(category, valid, bfcl=None):
    bfcl = valid if bfcl is None else bfcl
    return [{"id": f"{category}_{i}", "valid": v, "error_type": None if v else "x", "bfcl_valid": b}
            for i, (v, b) in enumerate(zip(valid, bfcl))]


def test_render_public_block_is_a_table_of_both_models():
    base = public_bfcl.summarize_public({"simple_python": _rows("simple_python", [False] * 10),
                                         "irrelevance": _rows("irrelevance", [False] * 10)}, model="base")
    tuned = public_bfcl.summarize_public(
        {"simple_python": _rows("simple_python", [True] * 5 + [False] * 5),
         "irrelevance": _rows("irrelevance", [False] * 10, [True] * 3 + [False] * 7)},
        model="tuned", constrained_decoding=True)
    text = public_bfcl.render_public_block(base, tuned)
    lines = text.splitlines()
    assert lines[0] == "| category | n | base (auto) | tuned (auto) |"
    assert "| simple_python | 10 | 0.0% [0.0–27.8] | 50.0% [23.7–76.3] |" in lines
    assert "| irrelevance | 10 | 0.0% [0.0–27.8] | 0.0% [0.0–27.8] |" in lines
    assert "| irrelevance: BFCL would report | | 0.0% [0.0–27.8] | 30.0% [10.8–60.3] |" in lines
    assert not any(line.startswith("| simple_python: BFCL") for line in lines)
    assert "| **overall, micro** | 20 | 0.0% [0.0–16.1] | 25.0% [11.2–46.9] |" in lines
    assert any(line.startswith("| **overall, macro** (2 categories) | 20 | 0.0% [0.0–0.0] | 25.0% [") for line in lines)
    assert "Constrained decoding (as the server reports it): base: unknown; tuned: on." in text
    assert 'Mode auto: function calling, tool_choice "auto"' in text
    assert public_bfcl.render_public_block(base, tuned) == text  # pure


# -- the command --------------------------------------------------------------------------------------------------

def test_cli_help_and_a_replayed_run(tmp_path, capsys, small_sample):
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "bfcl-public", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "--per-category" in help_text and "--tool-choice" in help_text and "Examples" in help_text

    # record the replies in the cache the command uses, then run the command with no model at all
    out = tmp_path / "run"
    recorder = CachedChatModel(oracle_model(small_sample), out / "llm_cache.sqlite", "read-write", model="smol")
    public_bfcl.run_public_bfcl(recorder, sample=small_sample, out_dir=tmp_path / "recording")
    recorder.close()
    argv = ["eval", "bfcl-public", "--base-url", "http://127.0.0.1:9/v1", "--model", "smol", "--out", str(out),
            "--per-category", "6", "--cache-mode", "replay"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "| simple_python | 6 |" in printed and "smol (auto)" in printed
    summary = public_bfcl.load_summary(out)
    assert summary["sample"]["size"] == 30 and summary["constrained_decoding"] == "unknown"
    assert summary["categories"]["multiple"]["correct"] == 6

    # the same run from a config file (PublicBfclConfig's fields) and --set; the options given win over both
    cfg = tmp_path / "public.yaml"
    cfg.write_text(f"model: smol\nbase_url: http://127.0.0.1:9/v1\nout: {tmp_path / 'other'}\nper_category: '1'\n"
                   "cache_mode: replay\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "bfcl-public", "--config", str(cfg), "--set", "per_category='6'", "--out", str(out)])
    assert exit_info.value.code == 0
    assert public_bfcl.load_summary(out)["sample"]["size"] == 30
    capsys.readouterr()
    for bad, message in ((["--split", "train"], "--split must be one of"), ([], "needs --model"),
                         (["--frequency-penalty", "3"], "--frequency-penalty must be a number between -2 and 2")):
        with pytest.raises(SystemExit) as exit_info:
            main(["eval", "bfcl-public", "--out", str(tmp_path / "bad"), *bad] + (["--model", "m"] if bad else []))
        assert exit_info.value.code != 0
        assert message in " ".join(capsys.readouterr().err.split())

    # `eval ast --dataset bfcl:<category>` still works
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"id": "multiple_0", "result": []}\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "ast", "--dataset", "bfcl:multiple", "--predictions", str(preds), "--limit", "2",
              "--out", str(tmp_path / "ast.jsonl")])
    assert exit_info.value.code == 0


def test_kept_sample_is_drawn_once_and_read_back(tmp_path):
    path = tmp_path / "bfcl" / "sample.json"
    first = public_bfcl.kept_sample(path, ["multiple", "irrelevance"], 3)
    assert path.exists() and {c: len(ids) for c, ids in first.ids.items()} == {"multiple": 3, "irrelevance": 3}
    assert first.ids == public_bfcl.public_sample(["multiple", "irrelevance"], 3).ids
    # a later call reads the kept ids back instead of drawing others (the tuned model answers the base model's)
    again = public_bfcl.kept_sample(path, ["simple_python"], 5, seed=7)
    assert again.ids == first.ids and again.totals == first.totals
    with pytest.raises(public_bfcl.PublicBfclError, match="drawn from the 'test' split, not 'dev'"):
        public_bfcl.kept_sample(path, ["multiple"], 3, split="dev")


def test_failure_kinds_name_the_closest_miss_and_put_cut_replies_first():
    kind = public_bfcl.failure_kind
    assert kind({"valid": True, "error_type": None}) is None
    assert kind({"valid": False, "error_type": "ast_decoder:decoder_failed"}) == "text"
    assert kind({"valid": False, "error_type": "ast_decoder:decoder_failed"}, cut=True) == "cut"
    assert kind({"valid": False, "error_type": "simple_function_checker:missing_optional"}) == "missing_argument"
    assert kind({"valid": False, "error_type": "value_error:string"}) == "value"
    assert kind({"valid": False, "error_type": "parallel_function_checker_no_order:wrong_count"}) == "call_count"
    assert kind({"valid": False, "error_type": "irrelevance_error:decoder_success"}) == "called"
    unmatched = "parallel_function_checker_no_order:cannot_find_match"
    assert kind({"valid": False, "error_type": unmatched, "errors": [
        "No model call matches expected call 0 (f).",
        {"model_call": 0, "error_type": "simple_function_checker:wrong_func_name"},
        {"model_call": 1, "error_type": "value_error:others"}]}) == "value"
    assert kind({"valid": False, "error_type": unmatched, "errors": [
        {"model_call": 0, "error_type": "simple_function_checker:wrong_func_name"}]}) == "wrong_function"
    assert kind({"valid": False, "error_type": "something_new:odd"}) == "something_new:odd"
