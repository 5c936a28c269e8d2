"""Training on a tiny in-process LLaMA: a few steps change the weights and lower the loss (LoRA and full), resume
continues the step count, LoRA merges into a checkpoint that loads and serves. The real SmolLM2 run is ``slow``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_tiny import save_tiny_checkpoint, short_example, write_call_data, write_short_data

from train.config import SFTConfig
from train.sft import apply_context_length, main

FAST = {"batch_size": 4, "learning_rate": 2e-2, "logging_steps": 1, "max_length": 256, "device": "cpu", "seed": 0,
        "lr_scheduler": "constant"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sft")
    save_tiny_checkpoint(tmp / "base")
    write_short_data(tmp / "train.jsonl", 8)
    write_short_data(tmp / "eval.jsonl", 4, start=8)
    return tmp


def _cfg(workdir: Path, out: str, **kw) -> SFTConfig:
    fields = dict(model=str(workdir / "base"), train_data=[str(workdir / "train.jsonl")],
                  eval_data=[str(workdir / "eval.jsonl")], output_dir=str(workdir / out), **FAST)
    return SFTConfig(**{**fields, **kw})


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(next(folder.glob("*.safetensors"))))


@pytest.fixture(scope="module")
def lora_run(workdir):
    return main(_cfg(workdir, "lora", method="lora", max_steps=6, save_steps=3, lora_r=4, lora_alpha=8,
                     lora_dropout=0.0))


def test_lora_changes_the_adapter_and_lowers_the_loss(lora_run, workdir):
    train = lora_run.summary["train"]
    assert train["global_step"] == 6
    assert train["last_logged_loss"] < train["first_logged_loss"]
    adapter = _weights(lora_run.adapter_dir)
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # B starts at zero: any change is training
    base, merged = _weights(workdir / "base"), _weights(lora_run.final_dir)
    key = "model.layers.0.self_attn.q_proj.weight"
    assert not base[key].equal(merged[key])
    assert base["model.embed_tokens.weight"].equal(merged["model.embed_tokens.weight"])  # not a LoRA target
    assert lora_run.summary["eval"]["eval_loss"] > 0
    assert json.loads((lora_run.output_dir / "summary.json").read_text())["train"]["global_step"] == 6


def test_merged_checkpoint_equals_base_plus_adapter(lora_run):
    """final/ (merged), and adapter/ through the server's loader, compute the same logits."""
    import torch

    from toolbench.llm.models import load_model

    merged = load_model(str(lora_run.final_dir), dtype="float32", device="cpu")
    served_adapter = load_model(str(lora_run.adapter_dir), dtype="float32", device="cpu")
    ids = torch.tensor([[256, 117, 115, 101, 114, 10, 104, 105, 257]])
    with torch.no_grad():
        a = merged.model(ids).logits
        b = served_adapter.model(ids).logits
    assert torch.allclose(a, b, atol=1e-5)
    assert merged.model.config.use_cache is True
    assert merged.tokenizer.chat_template == served_adapter.tokenizer.chat_template


def test_merged_checkpoint_serves(lora_run):
    from fastapi.testclient import TestClient

    from toolbench.llm.engines import ServerConfig
    from toolbench.llm.server_app import build_app

    app = build_app(ServerConfig(model=str(lora_run.final_dir), dtype="float32", device="cpu"))
    with TestClient(app) as client:
        reply = client.post("/v1/chat/completions", json={
            "model": app.state.server.model_name, "max_tokens": 8, "temperature": 0,
            "messages": short_example(0)["messages"][:2],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["role"] == "assistant"


def test_full_fine_tuning_then_resume(workdir):
    first = main(_cfg(workdir, "full", method="full", max_steps=2, save_steps=2))
    assert first.adapter_dir is None and first.summary["train"]["global_step"] == 2
    base, tuned = _weights(workdir / "base"), _weights(first.final_dir)
    assert all(not base[k].equal(tuned[k]) for k in ("model.embed_tokens.weight", "model.layers.1.mlp.up_proj.weight"))
    assert (first.output_dir / "checkpoint-2").is_dir()
    # a rerun with more steps resumes from checkpoint-2 and continues the count
    second = main(_cfg(workdir, "full", method="full", max_steps=3, save_steps=2))
    assert second.summary["resumed_from"].endswith("checkpoint-2")
    assert second.summary["train"]["global_step"] == 3
    state = json.loads((second.output_dir / "trainer_state.json").read_text())
    assert [h["step"] for h in state["log_history"] if "loss" in h][-1] == 3


def test_packing_and_held_out_fraction(workdir):
    run = main(_cfg(workdir, "packed", method="lora", max_steps=1, packing=True, max_length=512, eval_data=[], eval_fraction=0.25,
                    merge_lora=False))
    data = run.summary["data"]
    assert data["train"]["kept"] == 6 and data["eval"]["kept"] == 2
    assert data["train_sequences"] < 6  # several examples per packed sequence
    assert run.final_dir is None and "eval_loss" in run.summary["eval"]


def test_lora_on_a_bfloat16_base_with_eager_attention(workdir):
    """The CPU-fast setting: frozen base in bfloat16, fp32 adapters, eager attention; the loss still falls and the
    merged checkpoint is written in fp32."""
    import torch

    from train.sft import load_for_training

    cfg = _cfg(workdir, "lora-bf16", method="lora", max_steps=6, lora_r=4, lora_alpha=8, lora_dropout=0.0,
               base_dtype="bfloat16", attn_implementation="eager", eval_data=[])
    model, _ = load_for_training(cfg, workdir / "base")
    assert model.dtype == torch.bfloat16 and model.config._attn_implementation == "eager"
    run = main(cfg)
    train = run.summary["train"]
    assert train["global_step"] == 6 and train["last_logged_loss"] < train["first_logged_loss"]
    adapter = _weights(run.adapter_dir)
    assert all(v.dtype == torch.float32 for k, v in adapter.items() if "lora_" in k)
    assert _weights(run.final_dir)["model.layers.0.self_attn.q_proj.weight"].dtype == torch.float32


def test_context_length_by_rope_scaling():
    import torch
    from train_tiny import make_model

    model = make_model(context=64)
    scaling = apply_context_length(model.config, 256, "linear")
    assert scaling["factor"] == 4.0 and model.config.max_position_embeddings == 256
    assert apply_context_length(model.config, 128, "linear") is None  # already long enough
    from transformers import LlamaForCausalLM

    extended = LlamaForCausalLM(model.config)
    with torch.no_grad():
        assert extended(torch.randint(0, 256, (1, 200))).logits.shape == (1, 200, 259)


@pytest.mark.slow
def test_smollm2_lora_few_steps(tmp_path):
    """The CPU recipe on the real SmolLM2-135M: a few LoRA steps lower the loss (converts the GGUF once, ~30 s)."""
    from train.config import CONFIGS_DIR, load_config

    data = write_call_data(tmp_path / "calls.jsonl", 16)
    cfg = load_config(CONFIGS_DIR / "smollm2_lora_cpu.yaml",
                      [f"train_data=[{data}]", f"output_dir={tmp_path / 'run'}", "max_steps=6", "logging_steps=1",
                       "max_length=1024", "learning_rate=1e-3", "eval_fraction=0.25"])
    run = main(cfg)
    train = run.summary["train"]
    assert train["last_logged_loss"] < train["first_logged_loss"]
    print(json.dumps(run.summary["train"], indent=1), run.summary["eval"], run.summary["peak_rss_mb"])


def test_auto_resume_skips_and_deletes_a_checkpoint_cut_off_mid_write(tmp_path):
    from train.sft import resume_checkpoint

    out = tmp_path / "run"
    for step, complete in ((2, True), (4, True), (6, False)):  # checkpoint-6: interrupted while being written
        folder = out / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    cfg = SFTConfig(train_data=["a"], output_dir=str(out))
    assert resume_checkpoint(cfg) == str(out / "checkpoint-4")
    assert not (out / "checkpoint-6").exists() and (out / "checkpoint-2").is_dir()
    assert resume_checkpoint(SFTConfig(train_data=["a"], output_dir=str(tmp_path / "none"))) is None
    assert resume_checkpoint(SFTConfig(train_data=["a"], output_dir=str(out), resume="never")) is None
