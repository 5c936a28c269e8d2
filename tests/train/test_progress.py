"""train.progress: a train sft run followed from its output (the step counter and the logged loss, read from chunks
cut anywhere), the child run with its log, its exit status and its termination on an interruption, and `toolbench
train sft --log` (the demo's way of training) on a tiny model."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from toolbench.cli import main
from train.progress import ProgressReader, TrainProgress, run_sft_child, sft_command

OUTPUT = ("Map: 100%|##########| 8/8 [00:00<00:00]\n"  # another bar: not the training's steps
          "  0%|          | 0/6 [00:00<?, ?it/s]\r 17%|#6        | 1/6 [00:01<00:05,  1.02s/it]"
          "{'loss': '2.3456', 'grad_norm': '1.5', 'learning_rate': '0.02', 'epoch': '0.5'}\n"
          "\r 33%|###3      | 2/6 [00:02<00:04,  1.01s/it]{'loss': '1.9876', 'grad_norm': '1.2'}\n"
          "\r100%|##########| 1/1 [00:00<00:00]\n"  # the held-out evaluation's bar
          "\r 50%|#####     | 3/6 [00:03<00:03,  1.00s/it]")


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_the_step_and_the_loss_are_read_from_chunks_cut_anywhere(size):
    reader = ProgressReader(total=6)
    raw = OUTPUT.encode()
    changes = sum(reader.feed(raw[i:i + size]) for i in range(0, len(raw), size))
    assert reader.progress == TrainProgress(step=3, total=6, loss="1.9876")
    assert changes >= (1 if size == 4096 else 4)
    assert not reader.feed(b"")  # nothing new


def test_without_a_total_any_counter_counts():
    reader = ProgressReader()
    assert reader.feed(b"\r 5/40 [00:05<") and reader.progress == TrainProgress(step=5, total=40)


def _child(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(body)
    return [sys.executable, str(script)]


def test_the_child_output_goes_to_the_log_and_its_status_is_returned(tmp_path):
    command = _child(tmp_path, "import sys\n"
                               "for i in range(1, 4):\n"
                               "    print(f'\\r{i}/3 [00:0{i}<', end='', flush=True)\n"
                               "    print(\"{'loss': '\" + str(2.0 - i / 10) + \"'}\", flush=True)\n"
                               "print('done'); sys.exit(3)\n")
    log = tmp_path / "logs" / "train.log"
    log.parent.mkdir()
    log.write_text("earlier run\n")
    seen: list[TrainProgress] = []
    code = run_sft_child(command, log, total=3, on_progress=lambda p: seen.append(TrainProgress(**vars(p))))
    assert code == 3
    text = log.read_text()
    assert text.startswith("earlier run\n\n$ ") and "3/3 [" in text and text.endswith("done\n")  # appended
    assert seen and seen[-1] == TrainProgress(step=3, total=3, loss="1.7")
    assert [p.step for p in seen] == sorted(p.step for p in seen)


def test_an_interruption_terminates_the_child(tmp_path):
    pid_file = tmp_path / "pid"
    command = _child(tmp_path, f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                               "time.sleep(600)\n")
    main_thread = threading.get_ident()

    def interrupt() -> None:
        for _ in range(200):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.05)
        signal.pthread_kill(main_thread, signal.SIGINT)

    # a process started in the background by a non-interactive shell inherits SIGINT ignored (POSIX), and Python
    # then keeps ignoring it: the test installs Python's own handler, as an interactive run has it
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            run_sft_child(command, tmp_path / "train.log")
    finally:
        signal.signal(signal.SIGINT, previous)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # terminated and reaped


def test_sft_command():
    assert sft_command("r.yaml", ["max_steps=3"])[1:] == ["-m", "toolbench", "train", "sft", "--config", "r.yaml",
                                                          "--set", "max_steps=3"]
    assert sft_command(None)[-2:] == ["train", "sft"]


def test_train_sft_log_runs_the_child_and_reports_its_summary(tmp_path, monkeypatch, capsys):
    """--log: the recipe's run in a child (here a stand-in writing the trainer's output and summary.json)."""
    import train.progress

    out = tmp_path / "run"
    summary = {"train": {"global_step": 2, "train_loss": 1.5, "steps_per_s": 0.5, "tokens_per_s": 100.0},
               "eval": {}, "peak_rss_mb": 321.0, "final_dir": str(out / "final")}
    child = _child(tmp_path, f"import json, pathlib\nprint('\\r1/2 [00:01<', flush=True)\n"
                             f"pathlib.Path({str(out)!r}).mkdir()\n"
                             f"pathlib.Path({str(out / 'summary.json')!r}).write_text({json.dumps(summary)!r})\n")
    asked = []
    monkeypatch.setattr(train.progress, "sft_command", lambda recipe, overrides: asked.append(overrides) or child)
    log = tmp_path / "train.log"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "sft", "--set", "train_data=[x.jsonl]", "--set", f"output_dir={out}", "--set", "max_steps=2",
              "--log", str(log)])
    assert exit_info.value.code in (0, None)
    assert asked == [["train_data=[x.jsonl]", f"output_dir={out}", "max_steps=2"]]
    printed = capsys.readouterr().out
    assert "2 steps, train loss 1.5000" in printed and f"serve it: toolbench llm serve --model {out / 'final'}" in printed
    assert "1/2 [" in log.read_text()


@pytest.mark.slow
def test_train_sft_log_on_a_tiny_model(tmp_path, capsys):
    from train_tiny import save_tiny_checkpoint, write_short_data

    base = save_tiny_checkpoint(tmp_path / "base")
    data = write_short_data(tmp_path / "train.jsonl", 8)
    log = tmp_path / "train.log"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "sft", "--set", f"model={base}", "--set", f"train_data=[{data}]", "--set",
              f"output_dir={tmp_path / 'run'}", "--set", "max_steps=3", "--set", "logging_steps=1", "--set",
              "batch_size=4", "--set", "max_length=256", "--set", "method=lora", "--set", "device=cpu",
              "--log", str(log)])
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    assert "3 steps" in capsys.readouterr().out
    reader = ProgressReader(total=3)
    reader.feed(log.read_bytes()[-4096:])
    assert reader.progress.step == 3 and reader.progress.loss is not None
