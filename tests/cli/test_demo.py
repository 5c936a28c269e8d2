"""`toolbench demo`'s machinery without models: the profiles, the stage runner (resume, Ctrl-C, profile binding,
--until) with stub stages and fake servers through the same interfaces, the model-server process handling, and
the pure data steps (tasks with expectations, the seeded pick, the headline)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

from toolbench.cli import main
from toolbench.cli.demo import data
from toolbench.cli.demo.profile import FULL, PROFILES, QUICK, TINY, DemoProfile, ProfileError, get_profile
from toolbench.cli.demo.services import LLMServer, ServiceError, Services
from toolbench.cli.demo.stage_runner import Demo, DemoError, Stage, StageOutput

# -- profiles ----------------------------------------------------------------------------------------------------


def test_profiles_are_valid_and_ordered_by_size():
    assert set(PROFILES) == {"tiny", "quick", "full"}
    assert TINY.calls < QUICK.calls < FULL.calls
    assert TINY.train_steps < QUICK.train_steps < FULL.train_steps
    assert get_profile("quick") is QUICK
    with pytest.raises(ProfileError, match="use one of tiny, quick, full"):
        get_profile("huge")


def test_profile_errors_name_the_field():
    with pytest.raises(ProfileError, match="'calls'"):
        DemoProfile(calls=0)
    with pytest.raises(ProfileError, match="'heldout'"):
        DemoProfile(heldout=1.5)
    with pytest.raises(ProfileError, match="'max_offered'"):
        DemoProfile(max_offered=1)
    with pytest.raises(ProfileError, match="fine-tuning needs data"):
        DemoProfile(train_call_examples=0, train_agent_examples=0)


def test_overrides_are_yaml_and_change_the_fingerprint():
    changed = QUICK.with_overrides(["calls=200", "eval_entries=null", "learning_rate=1e-4"])
    assert (changed.calls, changed.eval_entries, changed.learning_rate) == (200, None, 1e-4)
    assert changed.name == "quick+custom" and changed.fingerprint() != QUICK.fingerprint()
    assert QUICK.with_overrides([]).fingerprint() == QUICK.fingerprint()
    with pytest.raises(ProfileError, match="no profile field 'cals'"):
        QUICK.with_overrides(["cals=3"])
    with pytest.raises(ProfileError, match="field=value"):
        QUICK.with_overrides(["calls"])
    with pytest.raises(ProfileError, match="'train_steps'"):
        QUICK.with_overrides(["train_steps=-1"])


# -- the stage runner ----------------------------------------------------------------------------------------------


class FakeServices:
    """Records what the runner asks of the servers."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[str, ...]]] = []

    def release(self, keep: tuple[str, ...]) -> None:
        self.events.append(("release", keep))

    def stop_all(self) -> None:
        self.events.append(("stop_all", ()))


def stub_stages(calls: list[str], interrupt_at: str | None = None) -> list[Stage]:
    def make(name: str, needs: tuple[str, ...] = ()) -> Stage:
        def run(ctx):
            calls.append(name)
            if name == interrupt_at:
                (ctx.out / f"{name}.partial-output").write_text("half")
                raise KeyboardInterrupt
            earlier = sorted(ctx.done)
            return StageOutput({"n": len(calls), "earlier": earlier}, {name: str(ctx.out / name)}, f"{name} ok")

        return Stage(name, f"the {name} stage", run, needs)

    return [make("a", ("hub",)), make("b", ("llm:base",)), make("c")]


def demo_of(tmp_path: Path, stages: list[Stage], profile: DemoProfile = TINY, services: FakeServices | None = None):
    console = Console(file=io.StringIO(), width=120)
    runner = Demo(tmp_path / "run", profile, stages, services or FakeServices(), console)
    runner.bind_profile()
    return runner


def test_stages_run_in_order_and_a_rerun_resumes(tmp_path):
    calls: list[str] = []
    services = FakeServices()
    done = demo_of(tmp_path, stub_stages(calls), services=services).run()
    assert calls == ["a", "b", "c"]
    assert done["c"]["figures"] == {"n": 3, "earlier": ["a", "b"]}  # later stages see earlier markers
    assert services.events == [("release", ("hub",)), ("release", ("llm:base",)), ("release", ()), ("stop_all", ())]
    marker = json.loads((tmp_path / "run" / "state" / "b.json").read_text())
    assert marker["note"] == "b ok" and marker["artefacts"] == {"b": str(tmp_path / "run" / "b")}

    again: list[str] = []
    done = demo_of(tmp_path, stub_stages(again)).run()
    assert again == [] and set(done) == {"a", "b", "c"}
    runs = (tmp_path / "run" / "state" / "runs.jsonl").read_text().splitlines()
    assert [json.loads(line)["stages_run"] for line in runs] == [["a", "b", "c"], []]


def test_ctrl_c_keeps_finished_stages_and_stops_the_servers(tmp_path):
    calls: list[str] = []
    services = FakeServices()
    runner = demo_of(tmp_path, stub_stages(calls, interrupt_at="b"), services=services)
    with pytest.raises(KeyboardInterrupt):
        runner.run()
    state = tmp_path / "run" / "state"
    assert (state / "a.json").exists() and not (state / "b.json").exists()
    assert services.events[-1] == ("stop_all", ())
    assert not list(state.glob(".*tmp"))  # no half-written marker
    assert "rerun the same command to resume" in " ".join(runner.console.file.getvalue().split())

    resumed: list[str] = []
    demo_of(tmp_path, stub_stages(resumed)).run()
    assert resumed == ["b", "c"]  # the interrupted stage is redone, the finished one is not


def test_until_stops_after_the_named_stage(tmp_path):
    calls: list[str] = []
    demo_of(tmp_path, stub_stages(calls)).run(until="a")
    assert calls == ["a"]
    with pytest.raises(DemoError, match="no such stage"):
        demo_of(tmp_path, stub_stages(calls)).run(until="zzz")


def test_until_help_names_every_stage():
    import typing

    from toolbench.cli.demo import demo
    from toolbench.cli.demo.stages import default_stages

    help_text = typing.get_type_hints(demo, include_extras=True)["until"].__metadata__[0].help
    listed = help_text[help_text.index("(") + 1:help_text.index(")")].split(", ")
    assert listed == [s.name for s in default_stages()]


def test_a_run_folder_keeps_its_profile(tmp_path):
    demo_of(tmp_path, stub_stages([])).run()
    with pytest.raises(DemoError, match="calls"):
        demo_of(tmp_path, stub_stages([]), profile=TINY.with_overrides(["calls=41"]))
    fresh = Demo(tmp_path / "run", TINY.with_overrides(["calls=41"]), stub_stages([]), FakeServices(),
                 Console(file=io.StringIO()))
    fresh.bind_profile(fresh=True)  # starts over
    assert not (tmp_path / "run" / "state" / "a.json").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("x")
    with pytest.raises(DemoError, match="not a demo run folder"):
        Demo(tmp_path / "other", TINY, [], FakeServices(), Console()).bind_profile(fresh=True)
    assert (tmp_path / "other" / "precious.txt").exists()


# -- servers -------------------------------------------------------------------------------------------------------


class ScriptServer(LLMServer):
    """The real process handling, with a stand-in program for `toolbench llm serve`."""

    script = "print('serving fake at http://127.0.0.1:9/v1', flush=True); import time; time.sleep(600)"

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.script]


class BrokenServer(ScriptServer):
    script = "import sys; print('boom: no model here', flush=True); sys.exit(3)"


def test_model_server_process_starts_and_stops(tmp_path):
    server = ScriptServer("default", "fake", tmp_path / "llm.log", start_timeout=30).start()
    assert server.url == "http://127.0.0.1:9/v1" and server.running
    process = server._process
    server.stop()
    assert not server.running and process.poll() is not None
    with pytest.raises(ServiceError, match="exited with status 3") as info:
        BrokenServer("default", "fake", tmp_path / "broken.log", start_timeout=30).start()
    assert str(tmp_path / "broken.log") in str(info.value)
    assert "boom" in (tmp_path / "broken.log").read_text()


def test_services_run_one_model_server_at_a_time(tmp_path):
    started: list[str] = []
    stopped: list[str] = []

    thresholds: list = []

    class Fake:
        def __init__(self, model, served, log, **kwargs):
            self.served, self.url, self.running = served, None, False
            thresholds.append((served, kwargs.get("call_threshold")))

        def start(self):
            started.append(self.served)
            self.url, self.running = f"http://127.0.0.1:1/{self.served}", True
            return self

        def stop(self):
            stopped.append(self.served)
            self.running = False

    services = Services(tmp_path, TINY, {"base": ("default", "b"), "tuned": ("x/final", "t")}, make_llm=Fake)
    assert services.llm("base") == services.llm("base") == "http://127.0.0.1:1/b"
    services.release(("llm:base", "hub"))
    assert stopped == []
    services.release(())  # a stage without the model (training) frees it
    assert stopped == ["b"]
    services.llm("tuned")
    services.llm("base")
    assert started == ["b", "t", "b"] and stopped == ["b", "t"]
    services.stop_all()
    assert stopped == ["b", "t", "b"]
    # once the tuned model is calibrated, its server (only) decides call or text by the threshold
    assert thresholds == [("b", None), ("t", None), ("b", None)]
    (tmp_path / "sft").mkdir()
    (tmp_path / "sft" / "calibration.json").write_text('{"threshold": 0.1}')
    services.llm("tuned")
    services.llm("base")
    assert thresholds[-2:] == [("t", str(tmp_path / "sft" / "calibration.json")), ("b", None)]
    services.stop_all()
    command = LLMServer("m.gguf", "t", tmp_path / "l.log", call_threshold="cal.json").command()
    assert command[command.index("--call-threshold") + 1] == "cal.json"
    assert "--call-threshold" not in LLMServer("m.gguf", "t", tmp_path / "l.log").command()


# -- the command -------------------------------------------------------------------------------------------------


def test_command_shows_profiles_and_refuses_contradictions(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--profile", "tiny", "--show-profile", "--set", "calls=12"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "tiny+custom" in out and "train_steps" in out
    with pytest.raises(SystemExit) as info:
        main(["demo", "--quick", "--profile", "full"])
    assert info.value.code == 2 and "disagree" in capsys.readouterr().err


# -- data steps ------------------------------------------------------------------------------------------------------

def test_headline_from_markers():
    done = {"eval_base": {"figures": {"ast": {"accuracy": 0.1, "correct": 4, "n": 40}}},
            "eval_tuned": {"figures": {"ast": {"accuracy": 0.55, "correct": 22, "n": 40}}},
            "pass_rate": {"figures": {"base": {"value": 0.0, "passed": 0, "n": 8},
                                      "tuned": {"value": 0.25, "passed": 2, "n": 8}}}}
    figures = data.headline(done)
    ((title, rows, notes),) = data.headline_tables(figures)  # no public block yet: the in-distribution table only
    assert title == data.OWN_TITLE and "in-distribution" in notes[0]
    assert rows[1:] == [["AST accuracy, generated held-out split", "10.0% (4/40)", "55.0% (22/40)"],
                        ["DFSDT pass rate, rule checks", "0.0% (0/8)", "25.0% (2/8)"]]
    assert data.headline({}) == {}

    from eval.public_bfcl import summarize_public

    def summary(correct):  # 10 simple_python entries, `correct` of them right; 10 irrelevance, 5 right
        return summarize_public({"simple_python": [{"valid": i < correct} for i in range(10)],
                                 "irrelevance": [{"valid": i < 5, "bfcl_would_accept": True} for i in range(10)]},
                                model="m", constrained_decoding=True)

    done["bfcl_base"] = {"figures": {"public": summary(0)}}
    done["bfcl_tuned"] = {"figures": {"public": summary(5)}}
    tables = data.headline_tables(data.headline(done))
    assert [t[0] for t in tables] == [data.PUBLIC_TITLE, data.OWN_TITLE]  # the public block comes first
    public = {row[0]: row for row in tables[0][1]}
    assert public["simple_python"][1] == "10" and public["simple_python"][2].startswith("0.0% [")
    assert public["simple_python"][3].startswith("50.0% [23.7")  # Wilson 95% of 5/10: 23.7-76.3
    assert "irrelevance: BFCL would report" in public
    markdown = data.headline_markdown(data.headline(done))
    assert markdown.index(data.PUBLIC_TITLE) < markdown.index(data.OWN_TITLE)


def test_page_intro_shows_the_headline_and_every_stage(tmp_path):
    from toolbench.cli.demo.stage_leaderboard import page_intro
    from toolbench.cli.demo.stage_runner import DemoContext

    done = {"calls": {"title": "Generate call data", "seconds": 2.4, "note": "kept 9/10"},
            "eval_base": {"title": "AST base", "seconds": 30, "note": "",
                          "figures": {"ast": {"accuracy": 0.1, "correct": 4, "n": 40}}},
            "eval_tuned": {"title": "AST tuned", "seconds": 31, "note": "",
                           "figures": {"ast": {"accuracy": 0.55, "correct": 22, "n": 40}}}}
    ctx = DemoContext(tmp_path, TINY, services=None, console=None, done=done)
    headline, stages = page_intro(ctx)
    assert headline.heading == f"Headline: {data.OWN_TITLE}" and "tiny" in headline.text
    assert headline.rows[0] == ("SmolLM2-135M-Instruct", "before fine-tuning", "after LoRA on generated data")
    assert headline.rows[1] == ("AST accuracy, generated held-out split", "10.0% (4/40)", "55.0% (22/40)")
    assert stages.rows == (("stage", "seconds", "result"), ("Generate call data", "2", "kept 9/10"),
                           ("AST base", "30", ""), ("AST tuned", "31", ""))
    assert page_intro(DemoContext(tmp_path, TINY, services=None, console=None)) == []
