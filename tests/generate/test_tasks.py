"""Agent tasks from call data (toolbench/generate/tasks.py, `toolbench generate tasks`), moved out of the demo,
and the seeded picks they use (toolbench/selection.py)."""

import json

import pytest

from tests.generated_samples import SAMPLES
from toolbench.cli import main
from toolbench.generate.errors import GenerateError
from toolbench.generate.tasks import checkable_tasks, split_tasks
from toolbench.selection import pick, round_robin

QUERIES = [{"query_id": str(i), "query": s["steps"][0]["user"] or "", "sample_id": sid, "api_list": []}
           for i, (sid, s) in enumerate(SAMPLES.items(), 1)]


def test_tasks_need_calls_with_known_results():
    tasks = checkable_tasks(QUERIES, SAMPLES, k=5)
    # the trap has no call and the multi-turn sample lacks a result: neither is checkable by rules
    assert [t["sample_id"] for t in tasks] == ["simple_1", "simple_2"]
    assert tasks[0]["expectation"] == {"calls": [{"name": "get_weather_for_skycast", "arguments": {"city": "Lyon"}}]}
    assert checkable_tasks(QUERIES, SAMPLES, k=1) == tasks[:1]


def test_round_robin_and_seeded_pick_are_stable():
    items = ["a1", "a2", "b1", "c1", "c2"]
    picked = pick(items, 3, category=lambda s: s[0], ident=str, seed=1)
    assert picked == pick(list(reversed(items)), 3, category=lambda s: s[0], ident=str, seed=1)
    assert {s[0] for s in picked} == {"a", "b", "c"}
    assert round_robin(items, key=lambda s: s[0], order=["c"]) == ["c1", "a1", "b1", "c2", "a2"]


def test_round_robin_weights_change_how_often_a_group_comes_up():
    items = [f"{g}{i}" for g in "abc" for i in range(6)]
    assert round_robin(items, key=lambda s: s[0], weights={"a": 2}) == [
        "a0", "a1", "b0", "c0", "a2", "a3", "b1", "c1", "a4", "a5", "b2", "c2", "b3", "c3", "b4", "c4", "b5", "c5"]
    assert round_robin(items, key=lambda s: s[0], weights={"a": 0.5, "c": 0})[:6] == ["b0", "a0", "b1", "b2",
                                                                                     "a1", "b3"]
    assert round_robin(items, key=lambda s: s[0], weights={"a": 1, "b": 1.0}) == round_robin(items, lambda s: s[0])


@pytest.fixture
def calls_dir(tmp_path):
    folder = tmp_path / "calls"
    (folder / "heldout").mkdir(parents=True)
    (folder / "heldout" / "queries.json").write_text(json.dumps(QUERIES), encoding="utf-8")
    lines = [json.dumps(s) for s in SAMPLES.values()]
    (folder / "samples.jsonl").write_text("\n".join(lines) + '\n{"id": "cut', encoding="utf-8")  # interrupted
    return folder


def test_generate_tasks_command(calls_dir, tmp_path, capsys):
    out = tmp_path / "tasks" / "dfsdt_tasks.json"
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "tasks", str(calls_dir), "--k", "4", "--out", str(out)])
    assert exit_.value.code == 0, capsys.readouterr().err
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert [t["sample_id"] for t in tasks] == ["simple_1", "simple_2"] == [t["sample_id"] for t in
                                                                          split_tasks(calls_dir, 4)]
    assert all(t["expectation"]["calls"] for t in tasks)


def test_a_folder_without_queries_is_named(tmp_path, capsys):
    with pytest.raises(GenerateError, match="heldout/queries.json: no such file"):
        split_tasks(tmp_path, 3)
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "tasks", str(tmp_path), "--split", "test", "--out", str(tmp_path / "t.json")])
    assert exit_.value.code != 0 and "--split 'test'" in capsys.readouterr().err
