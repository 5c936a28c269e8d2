"""`toolbench train ...` through the real entry point; DeepSpeed ZeRO on CPU in a child process (it sets up
torch.distributed, which must not leak into the test process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from train_tiny import save_tiny_checkpoint, write_short_data

from tests.capture import run_cli as run

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = ROOT / "data" / "reference" / "toolbench" / "answer"


def test_sft_check_prints_the_config(capsys, tmp_path):
    data = write_short_data(tmp_path / "d.jsonl", 2)
    code, out, _ = run(["train", "sft", "--config", str(ROOT / "train/configs/smollm2_lora_cpu.yaml"), "--check",
                        "--set", f"train_data=[{data}]", "--set", "max_steps=3"], capsys)
    assert code == 0
    cfg = json.loads(out)
    assert cfg["max_steps"] == 3 and cfg["method"] == "lora" and cfg["train_data"] == [str(data)]


def test_sft_bad_field_is_named_without_traceback(capsys):
    code, _, err = run(["train", "sft", "--set", "train_data=[x.jsonl]", "--set", "method=qlora"], capsys)
    assert code == 2
    assert "config field 'method'" in err and "Traceback" not in err


def test_convert_reference_answers(capsys, tmp_path):
    target = tmp_path / "sharegpt.json"
    code, out, _ = run(["train", "convert", str(ANSWERS), str(target), "--to", "sharegpt"], capsys)
    assert code == 0 and "13 examples" in out
    rows = json.loads(target.read_text())
    assert rows[0]["conversations"][0]["from"] == "human" and "tools" in rows[0]


# DeepSpeed JIT-compiles its shared-memory all-reduce op on first use (~45-100 s here); one process does not need
# it, so the default test swaps it out (gloo does the collectives) and the slow ones build and use it.
NO_SHM = "import deepspeed.comm.torch as t; t.build_shm_op = lambda: None; "


def _deepspeed_run(tmp_path: Path, stage: int, method: str, patch: str) -> dict:
    base = save_tiny_checkpoint(tmp_path / "base")
    data = write_short_data(tmp_path / "train.jsonl", 8)
    out = tmp_path / f"run{stage}"
    argv = ["train", "sft", "--set", f"model={base}", "--set", f"train_data=[{data}]", "--set", f"output_dir={out}",
            "--set", f"method={method}", "--set", f"deepspeed=zero{stage}_cpu", "--set", "max_steps=2",
            "--set", "device=cpu", "--set", "max_length=256", "--set", "logging_steps=1", "--set", "save_steps=2",
            "--set", "learning_rate=0.02"]
    code = f"{patch}from toolbench.cli import main; main({argv!r})"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["train"]["global_step"] == 2
    assert summary["train"]["last_logged_loss"] < summary["train"]["first_logged_loss"]
    final = Path(summary["final_dir"])
    from safetensors.torch import load_file

    before, after = load_file(str(base / "model.safetensors")), load_file(str(final / "model.safetensors"))
    key = "model.layers.0.mlp.down_proj.weight"
    assert not before[key].equal(after[key])
    return summary


def test_deepspeed_zero2_cpu_two_steps(tmp_path):
    summary = _deepspeed_run(tmp_path, 2, "full", NO_SHM)
    assert summary["config"]["deepspeed"].endswith("zero2_cpu.json")


@pytest.mark.slow
@pytest.mark.parametrize("stage, method", [(0, "full"), (1, "lora"), (2, "lora"), (3, "full")])
def test_deepspeed_stages_cpu(tmp_path, stage, method):
    _deepspeed_run(tmp_path, stage, method, "")
