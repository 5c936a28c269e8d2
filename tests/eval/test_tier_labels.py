"""eval.tiers.label_entries (the one writer of the `tier`/`entity` fields `eval report` reads) and
`toolbench eval tiers`, moved out of the demo."""

from __future__ import annotations

import json

from eval import tiers
from tests.generated_samples import SAMPLES
from toolbench.cli import main

ENTRIES = [{"id": "simple_1", "category": "simple"}, {"id": "simple_2", "category": "simple"},
           {"id": "hallucination_3", "category": "irrelevance_hallucination"},
           {"id": "multi_turn_4-1", "category": "multi_turn_multiple"}, {"id": "irrelevance_9",
                                                                          "category": "irrelevance"}]
LABELS = [
    ("simple", "real"),  # the API a trap targets, asked about a real city
    ("enterprise", "real"),  # an enum argument
    (None, "fake"),
    ("enterprise", None),  # the second step passes a list
    (None, None),
]


def test_label_entries_gives_tiers_and_entities():
    labelled = tiers.label_entries(ENTRIES, SAMPLES)
    assert [(e.get("tier"), e.get("entity")) for e in labelled] == LABELS
    assert "tier" not in ENTRIES[0]  # copies
    assert tiers.sample_of_entry("multi_turn_4-1") == "multi_turn_4" and tiers.sample_of_entry("a-b") == "a-b"


def _run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    return code, capsys.readouterr()


def test_eval_tiers_command_labels_a_file_and_report_reads_it(tmp_path, capsys):
    questions, samples, out = tmp_path / "q.jsonl", tmp_path / "samples.jsonl", tmp_path / "labelled.jsonl"
    questions.write_text("".join(json.dumps(e) + "\n" for e in ENTRIES), encoding="utf-8")
    samples.write_text("".join(json.dumps(s) + "\n" for s in SAMPLES.values()), encoding="utf-8")
    code, printed = _run(["eval", "tiers", str(questions), "--samples", str(samples), "--out", str(out)], capsys)
    assert code == 0, printed.err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r.get("tier"), r.get("entity")) for r in rows] == LABELS
    assert "5 entries" in printed.out and "enterprise 2" in printed.out and "fake 1" in printed.out
    # the labels are what `eval report` groups by
    verdicts = [{"id": e["id"], "valid": e["id"] == "simple_1", "category": e["category"]} for e in ENTRIES]
    groups = tiers.tier_accuracy([r for r in rows if "tier" in r], verdicts)
    assert groups["simple"] == {"accuracy": 1.0, "correct": 1, "n": 1}
    assert groups["enterprise"]["n"] == 2


def test_eval_tiers_names_the_bad_file(tmp_path, capsys):
    questions, samples = tmp_path / "q.jsonl", tmp_path / "samples.jsonl"
    questions.write_text('{"category": "simple"}\n', encoding="utf-8")
    samples.write_text("", encoding="utf-8")
    code, printed = _run(["eval", "tiers", str(questions), "--samples", str(samples), "--out",
                          str(tmp_path / "o.jsonl")], capsys)
    assert code != 0 and "q.jsonl" in printed.err + printed.out
    assert not (tmp_path / "o.jsonl").exists()


def test_eval_tiers_picks_entries_with_their_answers(tmp_path, capsys):
    """The demo's seeded pick of the held-out entries, moved here: categories interleaved, the same pick whatever
    the file's order, and the kept entries' answers beside them."""
    questions, samples = tmp_path / "q.jsonl", tmp_path / "samples.jsonl"
    answers = tmp_path / "a.jsonl"
    many = [{"id": f"{cat}_{i}", "category": cat} for cat in ("simple", "multiple", "irrelevance") for i in range(4)]
    samples.write_text("", encoding="utf-8")
    answers.write_text("".join(json.dumps({"id": e["id"], "ground_truth": []}) + "\n" for e in many),
                       encoding="utf-8")
    picks = []
    for order in (many, list(reversed(many))):
        questions.write_text("".join(json.dumps(e) + "\n" for e in order), encoding="utf-8")
        out = tmp_path / "eval" / "questions.jsonl"
        code, printed = _run(["eval", "tiers", str(questions), "--samples", str(samples), "--out", str(out),
                              "--pick", "5", "--seed", "3", "--answers", str(answers)], capsys)
        assert code == 0, printed.err
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        kept = [json.loads(line)["id"] for line in (out.parent / "possible_answer.jsonl").read_text().splitlines()]
        assert sorted(kept) == sorted(r["id"] for r in rows)
        picks.append([r["id"] for r in rows])
    assert picks[0] == picks[1] and len(picks[0]) == 5
    assert [i.split("_")[0] for i in picks[0][:3]] != [picks[0][0].split("_")[0]] * 3  # interleaved
    assert {i.rsplit("_", 1)[0] for i in picks[0]} == {"simple", "multiple", "irrelevance"}
    code, printed = _run(["eval", "tiers", str(questions), "--samples", str(samples), "--out",
                          str(tmp_path / "o.jsonl"), "--pick", "0"], capsys)
    assert code != 0 and "--pick must be >= 1" in printed.err
