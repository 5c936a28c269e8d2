"""train.mix (`toolbench train mix`): the fine-tuning mix moved out of the demo: call examples without trailing
tool results, generated samples as DFSDT-style runs, the shortest first, categories interleaved."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.generated_samples import SAMPLES
from toolbench.cli import main
from train import mix

ROOT = Path(__file__).resolve().parents[2]


def test_agent_example_is_a_dfsdt_run_ending_with_finish():
    from annotate.prompts import opening_messages
    from toolbench.catalog.functions import FunctionSet
    from toolbench.catalog.store import load_catalog

    tools = load_catalog("data/tools").tools
    apis = {(t.name, a.name): a for t in tools for a in t.apis}
    functions = FunctionSet.from_apis([apis[("SkyCast Weather", "get_current_weather")]],
                                      {t.name: t.standardized_name for t in tools})
    (name,) = functions.functions
    example = mix.agent_example(SAMPLES["simple_1"], functions, {}, observation=lambda text: f"<{text}>",
                                opening=opening_messages)
    messages = example["messages"]
    assert messages[:2] == opening_messages("Weather in Lyon?", functions, {})
    assert messages[2]["tool_calls"][0]["function"] == {"name": name, "arguments": '{"city": "Lyon"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "call_0_0", "content": '<{"temp": 18}>'}
    finish = json.loads(messages[4]["tool_calls"][0]["function"]["arguments"])
    assert messages[4]["tool_calls"][0]["function"]["name"] == "Finish"
    assert finish == {"return_type": "give_answer", "final_answer": "Done. temp: 18."}
    assert example["tools"][-1]["function"]["name"] == "Finish"
    assert mix.agent_example(SAMPLES["hallucination_3"], functions, {}, str, opening_messages) is None
    assert mix.agent_example(SAMPLES["multi_turn_4"], functions, {}, str, opening_messages) is None


def test_final_answers_are_short_summaries():
    sample = {"steps": [{"observations": ['{"count": 5, "cities": [{"id": "x"}], "unit": "km", "note": "%s"}'
                                          % ("y" * 80)]}]}
    assert mix.final_answer(sample) == "Done. count: 5, unit: km."
    assert mix.final_answer({"steps": [{"observations": ["not json"]}]}) == "Done."
    assert mix.final_answer({"language": "zh", "steps": []}) == "已完成。"


def test_trailing_tool_results_are_trimmed_from_training_examples():
    example = {"messages": [{"role": "user", "content": "q"},
                            {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
                            {"role": "tool", "tool_call_id": "1", "content": "r"}], "tools": []}
    assert mix.trim_trailing_results(example)["messages"] == example["messages"][:2]
    assert len(example["messages"]) == 3  # a copy


def test_round_robin_interleaves_groups_in_order():
    items = ["a1", "a2", "b1", "c1", "c2"]
    assert mix.round_robin(items, key=lambda s: s[0], order=["c"]) == ["c1", "a1", "b1", "c2", "a2"]
    assert mix.round_robin([], key=str) == []


def _calls_folder(tmp_path: Path) -> Path:
    """A `generate calls` output: two train samples (one with a known result per call), their OpenAI rows."""
    calls = tmp_path / "calls"
    (calls / "train").mkdir(parents=True)
    samples = copy.deepcopy(SAMPLES)
    samples["simple_2"]["function_map"] = samples["simple_1"]["function_map"]
    (calls / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples.values()), encoding="utf-8")
    rows, queries = [], []
    for sid in ("simple_1", "simple_2"):
        step = samples[sid]["steps"][0]
        call = step["calls"][0]
        rows.append({"messages": [
            {"role": "user", "content": step["user"]},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c0", "type": "function", "function": {
                "name": call["name"], "arguments": json.dumps(call["arguments"])}}]},
            {"role": "tool", "tool_call_id": "c0", "content": step["observations"][0]}],
            "tools": [{"type": "function", "function": samples[sid]["functions"][0]}]})
        queries.append({"query_id": sid, "query": step["user"], "sample_id": sid, "category": "simple"})
    (calls / "train" / "openai.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (calls / "train" / "queries.json").write_text(json.dumps(queries), encoding="utf-8")
    return calls


def _opening(text, functions, descriptions):
    return [{"role": "system", "content": "tools: " + ", ".join(functions.functions)}, {"role": "user",
                                                                                        "content": text}]


def test_build_mix_takes_the_shortest_and_interleaves(tmp_path):
    from toolbench.catalog.store import load_catalog
    from toolbench.formats.jsonl import read_json, read_jsonl

    calls = _calls_folder(tmp_path)
    rows, queries = read_jsonl(calls / "train" / "openai.jsonl"), read_json(calls / "train" / "queries.json")
    samples = {r["id"]: r for r in read_jsonl(calls / "samples.jsonl")}
    tools = load_catalog(ROOT / "data" / "tools").tools

    def length(example):
        return len(json.dumps(example))

    cfg = mix.MixConfig(calls=str(calls), catalog="x", out="y", call_examples=1, agent_examples=2,
                        max_length=10_000, agent_max_length=100_000, observation_chars=5)
    examples, stats = mix.build_mix(rows, queries, samples, tools, cfg, length, _opening)
    assert [e["id"] for e in examples] == ["simple_1", "dfsdt-simple_1", "dfsdt-simple_2"]  # shortest first
    assert examples[0]["messages"][-1]["role"] == "assistant"  # the trailing tool result is trimmed
    assert stats["call_examples"] == 1 and stats["dfsdt_examples"] == 2 and stats["categories"] == {"simple": 3}
    run = examples[1]["messages"]
    assert run[3] == {"role": "tool", "tool_call_id": "call_0_0", "content": '{"error": "", "response": "{\\"tem..."}'}
    assert stats["longest"] == max(length({k: v for k, v in e.items() if k != "id"}) for e in examples)
    with pytest.raises(mix.MixError, match="disagree"):
        mix.build_mix(rows[:1], queries, samples, tools, cfg, length, _opening)
    cfg.max_length, cfg.agent_examples = 1, 0
    assert mix.build_mix(rows, queries, samples, tools, cfg, length, _opening)[0] == []


def test_train_mix_command_writes_train_and_mix(tmp_path, capsys):
    calls = _calls_folder(tmp_path)
    out = tmp_path / "mix"
    try:
        main(["train", "mix", "--calls", str(calls), "--catalog", str(ROOT / "data" / "tools"), "--out", str(out),
              "--call-examples", "2", "--agent-examples", "1"])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    printed = capsys.readouterr()
    assert code == 0, printed.err
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    stats = json.loads((out / "mix.json").read_text(encoding="utf-8"))
    assert (stats["call_examples"], stats["dfsdt_examples"], len(rows)) == (2, 1, 3)
    assert rows[1]["id"].startswith("dfsdt-") and rows[1]["messages"][0]["role"] == "system"
    # both call examples and one DFSDT run of the same requests were taken: nothing is left to calibrate on
    assert (out / "calibration.jsonl").read_text(encoding="utf-8") == "" and stats["calibration_examples"] == 0
    assert stats["tokens"] > 0 and "3 " not in printed.err and "DFSDT-style examples" in printed.out


def test_category_weights_change_the_mix_and_are_checked(tmp_path, capsys):
    calls = _calls_folder(tmp_path)
    args = ["train", "mix", "--calls", str(calls), "--catalog", str(ROOT / "data" / "tools"), "--out",
            str(tmp_path / "mix"), "--call-examples", "2", "--agent-examples", "1"]
    with pytest.raises(SystemExit) as done:
        main(args + ["--category-weight", "simple=0"])  # the call examples are all simple: none is left
    assert not done.value.code
    stats = json.loads((tmp_path / "mix" / "mix.json").read_text(encoding="utf-8"))
    assert (stats["call_examples"], stats["dfsdt_examples"]) == (0, 1)
    # a category weighted 0 is not learned, so it does not calibrate either: nothing is left for calibration.jsonl
    assert stats["calibration_examples"] == 0
    with pytest.raises(SystemExit) as done:
        main(args + ["--category-weight", "simple=1", "--call-examples", "1", "--agent-examples", "0"])
    assert json.loads((tmp_path / "mix" / "mix.json").read_text(encoding="utf-8"))["calibration_examples"] == 1
    for bad, says in (("simple=lots", "the value must be a number"), ("simple=-1", "must be a number >= 0")):
        with pytest.raises(SystemExit) as exc:
            main(args + ["--category-weight", bad])
        assert exc.value.code != 0
        assert says in " ".join(capsys.readouterr().err.split())


def test_train_mix_requires_its_folders(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "mix", "--out", "somewhere"])
    assert exc.value.code != 0
    assert "calls: required" in " ".join(capsys.readouterr().err.split())


def test_reference_calls_join_the_mix_with_their_own_ids(tmp_path):
    calls = _calls_folder(tmp_path)
    reference = _calls_folder(tmp_path / "ref")  # a second generate-calls folder (another catalog)
    out = tmp_path / "mix"
    main_args = ["train", "mix", "--calls", str(calls), "--catalog", str(ROOT / "data" / "tools"), "--out", str(out),
                 "--call-examples", "1", "--agent-examples", "0", "--reference-calls", str(reference),
                 "--reference-call-examples", "2"]
    try:
        main(main_args)
    except SystemExit as exc:
        assert not exc.code
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    stats = json.loads((out / "mix.json").read_text(encoding="utf-8"))
    assert sorted(r["id"] for r in rows) == ["ref-simple_1", "ref-simple_2", "simple_1"]
    assert stats["call_examples"] == 3 and stats["reference_call_examples"] == 2
    # what the mix left out is the calibration set: the one hub call example not taken, without its tool result
    left = [json.loads(line) for line in (out / "calibration.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in left] == ["simple_2"] and stats["calibration_examples"] == 1
    assert left[0]["messages"][-1]["role"] == "assistant" and left[0]["tools"]
    (reference / "train" / "queries.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(main_args)
    assert exc.value.code != 0


def test_kind_weights_choose_kinds_within_a_category(tmp_path):
    """--kind-weight: within a category, the shortest first; a named kind takes turns with the others by weight, 0
    leaves it out. mix.json counts the kinds."""
    kinds = {"irrelevance_1": "missing_capability", "irrelevance_2": "missing_capability",
             "irrelevance_3": "same_arguments", "irrelevance_4": "off_topic"}
    samples = {sid: {"id": sid, "category": "irrelevance", "meta": {"kind": kind}} for sid, kind in kinds.items()}
    rows = [{"messages": [{"role": "user", "content": "x" * n}, {"role": "assistant", "content": "no"}], "tools": []}
            for n in range(1, 5)]  # irrelevance_1 is the shortest
    queries = [{"sample_id": sid, "category": "irrelevance"} for sid in kinds]

    def ids(**weights):
        cfg = mix.MixConfig(calls="c", catalog="x", out="y", call_examples=2, agent_examples=0,
                            max_length=10_000, kind_weights=weights)
        examples, stats = mix.build_mix(rows, queries, samples, [], cfg, lambda e: len(json.dumps(e)), _opening)
        return [e["id"] for e in examples], stats["kinds"]

    assert ids() == (["irrelevance_1", "irrelevance_2"], {"missing_capability": 2})
    assert ids(missing_capability=0) == (["irrelevance_3", "irrelevance_4"], {"off_topic": 1, "same_arguments": 1})
    assert ids(off_topic=1)[0] == ["irrelevance_1", "irrelevance_4"]  # a named kind takes turns with the rest
    assert ids(off_topic=2, missing_capability=0)[0] == ["irrelevance_3", "irrelevance_4"]
    assert mix.sample_kinds([{"id": "a", "meta": {"kind": "off_topic"}}, {"id": "b", "meta": None}, {}]) == {
        "a": "off_topic", "b": ""}
    with pytest.raises(mix.MixError, match="kind_weights.off_topic"):
        mix.MixConfig(calls="c", catalog="x", out="y", kind_weights={"off_topic": -1}).check()


def test_order_random_draws_call_examples_by_a_seeded_hash_not_length(tmp_path):
    """--order random: a seeded draw among the examples within max_length, the same whatever order they come in;
    the runs stay shortest first; a bad order is refused."""
    from toolbench.catalog.store import load_catalog

    tools = load_catalog(ROOT / "data" / "tools").tools
    items = [{"messages": [{"role": "user", "content": "x" * n}, {"role": "assistant", "content": "ok"}]}
             for n in range(1, 41)]
    queries = [{"query_id": f"simple_{n}", "sample_id": f"simple_{n}", "category": "simple"} for n in range(1, 41)]

    def length(example):
        return len(json.dumps(example))

    def chosen(order, seed=0, reverse=False):
        cfg = mix.MixConfig(calls="c", catalog="x", out="y", call_examples=10, agent_examples=0, max_length=10_000,
                            order=order, seed=seed)
        rows, qs = (items[::-1], queries[::-1]) if reverse else (items, queries)
        return [e["id"] for e in mix.build_mix(rows, qs, {}, tools, cfg, length, _opening)[0]]

    assert chosen("shortest") == [f"simple_{n}" for n in range(1, 11)]
    drawn = chosen("random")
    assert len(drawn) == 10 and drawn != chosen("shortest") and max(int(i.split("_")[1]) for i in drawn) > 10
    assert chosen("random", reverse=True) == drawn  # by id, not by input order
    assert chosen("random", seed=1) != drawn
    with pytest.raises(mix.MixError, match="order"):
        mix.MixConfig(calls="c", catalog="x", out="y", order="longest").check()
