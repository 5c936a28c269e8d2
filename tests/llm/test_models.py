import json
from pathlib import Path

import pytest

from toolbench.llm import models
from toolbench.llm.models import ModelLoadError, is_complete, load_model, resolve_model, write_atomically


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "models" / "m"

    def crash(tmp: Path) -> None:
        (tmp / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt  # like a Ctrl-C in the middle of saving

    with pytest.raises(KeyboardInterrupt):
        write_atomically(out, crash)
    assert not out.exists() and list(out.parent.iterdir()) == []

    def ok(tmp: Path) -> None:
        (tmp / "config.json").write_text("{}")
        (tmp / models.MARKER).write_text("{}")

    assert write_atomically(out, ok) == out and is_complete(out)
    assert [p.name for p in out.parent.iterdir()] == ["m"]


def test_ensure_default_model_reuses_a_finished_conversion_and_clears_leftovers(tmp_path, monkeypatch):
    folder = tmp_path / "smollm2"
    stale = tmp_path / ".smollm2.tmp-abc"
    stale.mkdir()
    calls = []

    def fake_convert(gguf, out_dir, dtype):
        calls.append(dtype)
        return write_atomically(out_dir, lambda tmp: [(tmp / "config.json").write_text("{}"),
                                                      (tmp / models.MARKER).write_text("{}")])

    monkeypatch.setattr(models, "convert_gguf", fake_convert)
    monkeypatch.setattr(models, "find_default_gguf", lambda: Path("x.gguf"))
    assert models.ensure_default_model(folder) == folder
    assert models.ensure_default_model(folder) == folder
    assert calls == ["float32"] and not stale.exists()


def test_default_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("TOOLBENCH_HOME", str(tmp_path))
    assert models.default_model_dir() == tmp_path / "models" / "smollm2-135m-instruct"
    assert models.find_default_gguf().name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_bad_specs(tmp_path):
    with pytest.raises(ModelLoadError, match="hub names are not downloaded"):
        resolve_model("HuggingFaceTB/SmolLM2-1.7B")
    with pytest.raises(ModelLoadError, match="neither config.json"):
        resolve_model(str(tmp_path))
    (tmp_path / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "meta/llama-3"}))
    with pytest.raises(ModelLoadError, match="not a local checkpoint folder"):
        resolve_model(str(tmp_path))


@pytest.fixture()
def tiny_checkpoint(tmp_path, tiny_model, tiny_tokenizer):
    path = tmp_path / "tiny"
    tiny_model.save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


def test_load_checkpoint_and_lora_adapter(tmp_path, tiny_checkpoint, monkeypatch):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    loaded = load_model(str(tiny_checkpoint), dtype="float32", device="cpu")
    assert (loaded.name, loaded.source.kind, loaded.dtype) == ("tiny", "checkpoint", "float32")

    base = AutoModelForCausalLM.from_pretrained(tiny_checkpoint)
    peft_model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "default"  # as our trainer writes it for the packaged model
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    monkeypatch.setattr(models, "ensure_default_model", lambda: tiny_checkpoint)

    merged = load_model(str(adapter), dtype="float32", device="cpu")
    assert (merged.source.kind, merged.source.base, merged.name) == ("adapter", tiny_checkpoint, "adapter")
    ids = torch.tensor([[5, 6, 7]])
    with torch.no_grad():
        expected = peft_model(ids).logits
        assert torch.allclose(merged.model(ids).logits, expected, atol=1e-4)
        assert not torch.allclose(loaded.model(ids).logits, expected, atol=1e-4)
