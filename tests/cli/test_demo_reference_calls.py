"""The demo's reference call data (profile ``reference_catalog``): the G1 reference file imported as a second
catalog and call samples generated from it (format and meaning verified: no backend), resumable, refused with
the field's name when the file is missing, skipped when the profile has none."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from toolbench.cli.demo.profile import TINY, ProfileError
from toolbench.cli.demo.stage_calls import reference_calls
from toolbench.cli.demo.stage_runner import DemoContext, DemoError

ROOT = Path(__file__).resolve().parents[2]
G1 = ROOT / "data" / "reference" / "stabletoolbench" / "G1_instruction.json"


def _ctx(tmp_path: Path, **changes) -> DemoContext:
    profile = dataclasses.replace(TINY, **changes)
    return DemoContext(tmp_path / "demo", profile, services=None, console=Console(file=io.StringIO()))


def test_reference_calls_are_generated_from_the_g1_catalog_and_resume(tmp_path):
    ctx = _ctx(tmp_path, reference_catalog=str(G1), reference_calls=10)
    figures = reference_calls(ctx)
    assert figures["apis"] > 800 and figures["made"] == 10 and figures["kept"] == figures["train"] > 0
    samples = [json.loads(line) for line in ctx.path("reference", "calls", "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 10
    assert {s["status"] for s in samples} == {"passed"}
    assert all(s["meta"]["verification"] == {"stages": ["format", "meaning"], "execution": "no backend"}
               for s in samples)
    assert (ctx.path("reference", "calls", "train", "openai.jsonl")).exists()
    # a rerun asks for more: only the new samples are made, the first ten are kept as they were
    again = reference_calls(dataclasses.replace(ctx, profile=dataclasses.replace(ctx.profile, reference_calls=12)))
    rows = ctx.path("reference", "calls", "samples.jsonl").read_text().splitlines()
    assert again["made"] == 12 and len(rows) == 12 and [json.loads(r) for r in rows[:10]] == samples


def test_a_missing_reference_file_names_the_field_and_none_skips(tmp_path):
    with pytest.raises(DemoError, match="reference_catalog"):
        reference_calls(_ctx(tmp_path, reference_catalog=str(tmp_path / "nope.json")))
    assert reference_calls(_ctx(tmp_path, reference_catalog=None)) is None
    assert not (tmp_path / "demo" / "reference").exists()


def test_the_mix_reads_reference_calls_only_when_the_call_stage_made_them(tmp_path):
    from toolbench.cli.demo.stage_train import mix_config

    made = mix_config(_ctx(tmp_path, reference_catalog=str(G1), reference_calls=10, train_reference_examples=5),
                      tmp_path / "mix")
    assert made.reference_calls == str(tmp_path / "demo" / "reference" / "calls") and made.reference_call_examples == 5
    for changes in ({"reference_catalog": None}, {"reference_calls": 0}):
        none = mix_config(_ctx(tmp_path, train_reference_examples=5, **changes), tmp_path / "mix")
        assert none.reference_calls is None and none.reference_call_examples == 0


def test_profile_settings_reach_the_generator_and_the_mix(tmp_path):
    from toolbench.cli.demo.stage_train import mix_config

    ctx = _ctx(tmp_path, reference_catalog=str(G1), reference_calls=12, train_category_weights={"irrelevance": 2.0},
               train_kind_weights={"missing_capability": 0.0},
               reference_generation={"max_offered": 4, "max_parallel": 4, "weights": {"irrelevance": 0.5},
                                     "irrelevance_kinds": {"same_arguments": 1.0, "missing_capability": 0,
                                                           "other_category": 0, "off_topic": 0}})
    settings = ctx.profile.reference_calls_config()
    assert settings.weights["irrelevance"] == 0.5 and settings.weights["simple"] > 0  # merged over the defaults
    assert (settings.max_offered, settings.zh_rate) == (4, TINY.zh_rate)
    reference_calls(ctx)
    samples = [json.loads(line) for line in ctx.path("reference", "calls", "samples.jsonl").read_text().splitlines()]
    kinds = {s["meta"]["kind"] for s in samples if s["category"] == "irrelevance"}
    assert kinds == {"same_arguments"}
    assert max(len(s["functions"]) for s in samples) > 2  # reference max_offered, not the profile's (2)
    assert mix_config(ctx, tmp_path / "mix").category_weights == {"irrelevance": 2.0}
    assert mix_config(ctx, tmp_path / "mix").kind_weights == {"missing_capability": 0.0}
    for bad, says in (({"max_offerd": 4}, "unknown settings"), ({"irrelevance_kinds": {"nope": 1}}, "unknown"),
                      ({"max_parallel": 1}, "at least 2")):
        with pytest.raises(ProfileError, match="reference_generation.*" + says):
            dataclasses.replace(TINY, reference_generation=bad)
    with pytest.raises(ProfileError, match="train_category_weights"):
        dataclasses.replace(TINY, train_category_weights={"irrelevance": -1})
    with pytest.raises(ProfileError, match="train_kind_weights"):
        dataclasses.replace(TINY, train_kind_weights={"off_topic": "lots"})
