"""SFTConfig: YAML + overrides, errors naming the field, every recipe and DeepSpeed JSON validated (no GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from train.config import CONFIGS_DIR, SFTConfig, load_config, validate_deepspeed
from train.errors import ConfigError

RECIPES = sorted(CONFIGS_DIR.glob("*.yaml"))
DS_JSONS = sorted(CONFIGS_DIR.glob("*.json"))
# hidden size of the model each recipe is for (the GPU recipes name a 7B LLaMA; SmolLM2-135M has 576)
HIDDEN = {"llama7b": 4096, "smollm2": 576}


def test_every_field_is_documented():
    assert all(SFTConfig.help().values())


def test_yaml_and_overrides(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("train_data: [a.jsonl]\nlearning_rate: 2e-4\nmethod: lora\n")
    cfg = load_config(recipe, ["method=full", "max_steps=5", "lora_target_modules=[q_proj, v_proj]",
                               "packing=true", "context_length=null"])
    assert cfg.learning_rate == 2e-4  # YAML reads "2e-4" as a string: coerced
    assert (cfg.method, cfg.max_steps, cfg.packing) == ("full", 5, True)
    assert cfg.lora_target_modules == ["q_proj", "v_proj"]
    assert cfg.train_data == ["a.jsonl"]


@pytest.mark.parametrize("override, field", [
    (["method=qlora"], "method"),
    (["batch_size=0"], "batch_size"),
    (["learning_rate=fast"], "learning_rate"),
    (["max_steps=2.5"], "max_steps"),
    (["eval_fraction=1.5"], "eval_fraction"),
    (["max_length=4096", "context_length=2048"], "max_length"),
    (["precision=fp16", "device=cpu"], "precision"),
    (["rope_scaling=ntk"], "rope_scaling"),
    (["deepspeed=zero9"], "deepspeed"),
    (["lora_target_modules=[]"], "lora_target_modules"),
    (["no_such_field=1"], "no_such_field"),
    (["train_data=[]"], "train_data"),
    (["packing=maybe"], "packing"),
    (["base_dtype=float16"], "base_dtype"),
    (["method=full", "base_dtype=bfloat16"], "base_dtype"),
    (["attn_implementation=flash"], "attn_implementation"),
])
def test_errors_name_the_field(override, field):
    with pytest.raises(ConfigError) as info:
        load_config(None, ["train_data=[a.jsonl]", *override])
    assert info.value.field == field
    assert f"'{field}'" in str(info.value)


def test_zero3_must_gather_weights(tmp_path):
    ds = json.loads((CONFIGS_DIR / "zero3.json").read_text())
    ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] = False
    path = tmp_path / "z3.json"
    path.write_text(json.dumps(ds))
    with pytest.raises(ConfigError, match="stage3_gather_16bit_weights_on_model_save"):
        SFTConfig(train_data=["a"], deepspeed=str(path))


def test_deepspeed_values_must_be_auto_or_match(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text(json.dumps({"train_micro_batch_size_per_gpu": 8, "zero_optimization": {"stage": 2}}))
    with pytest.raises(ConfigError, match="train_micro_batch_size_per_gpu is 8"):
        SFTConfig(train_data=["a"], deepspeed=str(path), batch_size=4)


def test_check_paths(tmp_path):
    cfg = SFTConfig(train_data=[str(tmp_path / "missing.jsonl")])
    with pytest.raises(ConfigError, match="train_data"):
        cfg.check_paths()


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_recipe_validates(recipe: Path):
    cfg = load_config(recipe)
    if cfg.deepspeed:
        hidden = next(h for prefix, h in HIDDEN.items() if recipe.stem.startswith(prefix))
        filled = validate_deepspeed(cfg, hidden_size=hidden, world_size=8)
        assert filled["train_micro_batch_size_per_gpu"] == cfg.batch_size
        assert filled["train_batch_size"] == 8 * cfg.batch_size * cfg.gradient_accumulation_steps


def test_gpu_recipes_extend_the_context():
    for name in ("llama7b_lora_zero2", "llama7b_full_zero3"):
        cfg = load_config(CONFIGS_DIR / f"{name}.yaml")
        assert (cfg.context_length, cfg.max_length, cfg.precision) == (8192, 8192, "bf16")


@pytest.mark.parametrize("ds", DS_JSONS, ids=[p.stem for p in DS_JSONS])
def test_deepspeed_json_validates(ds: Path):
    gpu = "cpu" not in ds.stem
    cfg = SFTConfig(train_data=["a"], deepspeed=ds.stem, precision="bf16" if gpu else "fp32",
                    device="auto" if gpu else "cpu")
    filled = validate_deepspeed(cfg, hidden_size=4096, world_size=16)
    stage = filled["zero_optimization"]["stage"]
    assert stage == int(ds.stem[4])
    if stage == 3:
        assert filled["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


def test_deepspeed_rejects_a_bad_value(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"zero_optimization": {"stage": 2, "offload_optimizer": {"device": "tape"}}}))
    cfg = SFTConfig(train_data=["a"], deepspeed=str(path))
    with pytest.raises(ConfigError, match="does not validate"):
        validate_deepspeed(cfg, hidden_size=64)


def test_offload_refused_on_cpu():
    with pytest.raises(ConfigError, match="zero\\*_cpu"):
        SFTConfig(train_data=["a"], deepspeed="zero2_offload", device="cpu")
