"""`train.gguf_export`: a tiny LLaMA checkpoint -> GGUF, read back with gguf's reader, and (when llama-cpp-python
imports) run by llama.cpp with the same logits as transformers. The attention weights are scaled up so that a
wrong q/k row order changes the logits (with the usual 0.02 init the attention is nearly uniform and hides it).
The real SmolLM2 export is ``slow``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_tiny import SMOLLM2_TEMPLATE, SPECIALS, bytes_to_unicode

from train.gguf import source as gguf_source
from train.gguf import write as gguf_write
from train.gguf_export import GGUFExportError, export_gguf, permute_rotary, verify_gguf

gguf = pytest.importorskip("gguf")

MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("Ġ", "w"), ("a", "t"), ("Ġw", "e")]
N_TOKENS = 256 + len(MERGES) + len(SPECIALS)  # bytes, merged tokens, ChatML specials
VOCAB = N_TOKENS + 3  # a padded embedding: three ids no token uses
PROMPT = "<|im_start|>user\nWhat is the weather in Paris at 10:30? The winter is near.<|im_end|>\n"


def export(*args, **kwargs):
    """export_gguf without looking at the packaged base GGUF (reading it takes ~2 s; the slow test does)."""
    return export_gguf(*args, **{"base_gguf": None, **kwargs})


def make_bpe_tokenizer():
    """Byte-level BPE with a few merges (llama.cpp needs merges); byte b has id b, specials follow the merges."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    for i, (a, b) in enumerate(MERGES):
        vocab[a + b] = 256 + i
    backend = Tokenizer(models.BPE(vocab=vocab, merges=MERGES))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": list(SPECIALS)})
    tok.chat_template = SMOLLM2_TEMPLATE
    return tok


def save_checkpoint(folder: Path, tied: bool = True, dtype: str = "float32", seed: int = 0) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = make_bpe_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         rms_norm_eps=1e-5, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id, tie_word_embeddings=tied)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.model.embed_tokens.weight.normal_(0, 1.0)
        if not tied:
            model.lm_head.weight.normal_(0, 0.3)
        for layer in model.model.layers:
            layer.self_attn.q_proj.weight.normal_(0, 0.6)
            layer.self_attn.k_proj.weight.normal_(0, 0.6)
            layer.input_layernorm.weight.uniform_(0.5, 1.5)
    model.to(getattr(torch, dtype)).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("gguf") / "tiny")


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("out")
    return {q: Path(export(tiny, out / f"tiny-{q}.gguf", quant=q)["out"]) for q in ("f32", "f16")}


def fields(path: Path) -> dict:
    reader = gguf.GGUFReader(str(path))
    return {k: f.contents() for k, f in reader.fields.items()}, {t.name: t for t in reader.tensors}


def test_permute_rotary_interleaves_the_halves_of_each_head():
    import numpy as np

    w = np.arange(8).reshape(8, 1)  # 2 heads of 4 rows: [x0 x1 y0 y1] -> [x0 y0 x1 y1]
    assert permute_rotary(w, 2)[:, 0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    # transformers' GGUF loader undoes it (query: 4 heads; key: 2 KV heads of a 4-head model)
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    w = np.random.default_rng(0).normal(size=(64, 3))
    undo = LlamaTensorProcessor()._reverse_permute_weights
    assert (undo(permute_rotary(w, 4), 4, 4) == w).all()
    assert (undo(permute_rotary(w[:32], 2), 4, 2) == w[:32]).all()


def test_metadata_and_tensors_read_back(tiny, exported):
    meta, tensors = fields(exported["f16"])
    assert meta["general.architecture"] == "llama"
    assert meta["general.file_type"] == int(gguf.LlamaFileType.MOSTLY_F16)
    assert meta["llama.block_count"] == 2 and meta["llama.embedding_length"] == 64
    assert meta["llama.feed_forward_length"] == 96 and meta["llama.context_length"] == 512
    assert meta["llama.attention.head_count"] == 4 and meta["llama.attention.head_count_kv"] == 2
    assert meta["llama.rope.dimension_count"] == 16 and meta["llama.vocab_size"] == VOCAB
    assert meta["llama.rope.freq_base"] == pytest.approx(10000.0)
    assert meta["llama.attention.layer_norm_rms_epsilon"] == pytest.approx(1e-5)
    # tokenizer, built from tokenizer.json
    assert meta["tokenizer.ggml.model"] == "gpt2" and meta["tokenizer.ggml.pre"] == "gpt-2"
    tokens = meta["tokenizer.ggml.tokens"]
    assert len(tokens) == VOCAB and tokens[256] == "Ġt" and tokens[-1] == f"[PAD{VOCAB - 1}]"
    assert meta["tokenizer.ggml.merges"] == [f"{a} {b}" for a, b in MERGES]
    types = meta["tokenizer.ggml.token_type"]
    im_start = 256 + len(MERGES)
    assert types[0] == gguf.TokenType.NORMAL and types[im_start] == gguf.TokenType.CONTROL
    assert types[-1] == gguf.TokenType.UNUSED
    assert meta["tokenizer.ggml.bos_token_id"] == im_start and meta["tokenizer.ggml.eos_token_id"] == im_start + 1
    assert meta["tokenizer.ggml.add_bos_token"] is False
    assert meta["tokenizer.chat_template"] == SMOLLM2_TEMPLATE
    # tensors: GGUF names, GGML shapes (reversed), F32 norms and F16 matrices, no output tensor (tied)
    assert len(tensors) == 3 + 2 * 9 - 1
    assert "output.weight" not in tensors
    q = tensors["blk.0.attn_q.weight"]
    assert q.tensor_type == gguf.GGMLQuantizationType.F16 and list(q.shape) == [64, 64]
    assert list(tensors["blk.1.attn_k.weight"].shape) == [64, 32]
    assert list(tensors["token_embd.weight"].shape) == [64, VOCAB]
    assert tensors["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32
    # the F32 file holds the weights exactly, q/k permuted
    from safetensors.torch import load_file

    hf = load_file(str(tiny / "model.safetensors"))
    _, t32 = fields(exported["f32"])
    k = hf["model.layers.1.self_attn.k_proj.weight"].numpy()
    assert (t32["blk.1.attn_k.weight"].data == permute_rotary(k, 2)).all()
    assert (t32["blk.0.ffn_down.weight"].data == hf["model.layers.0.mlp.down_proj.weight"].numpy()).all()


def test_untied_model_has_an_output_tensor_and_bf16_export(tmp_path):
    folder = save_checkpoint(tmp_path / "untied", tied=False, dtype="bfloat16")
    summary = export(folder, tmp_path / "u.gguf", quant="bf16")
    _, tensors = fields(tmp_path / "u.gguf")
    assert tensors["output.weight"].tensor_type == gguf.GGMLQuantizationType.BF16
    assert summary["tensors"] == len(tensors) == 3 + 2 * 9 and summary["quant"] == "bf16"


def test_summary_and_atomic_write(tiny, tmp_path):
    summary = export(tiny, tmp_path / "sub" / "m.gguf", quant="f32")
    assert summary["bytes"] == (tmp_path / "sub" / "m.gguf").stat().st_size > 0
    assert summary["source"] == str(tiny) and summary["tensors"] == 20 and summary["seconds"] >= 0
    assert "tokenizer.json" in summary["tokenizer"]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["m.gguf"]  # no temporary file left


def test_tokenizer_fields_are_copied_from_a_base_gguf_of_the_same_vocabulary(tiny, exported, tmp_path):
    import shutil

    summary = export(tiny, tmp_path / "m.gguf", quant="f16", base_gguf=exported["f16"])
    assert summary["tokenizer"] == f"copied from {exported['f16']}"
    base, _ = fields(exported["f16"])
    meta, _ = fields(tmp_path / "m.gguf")
    assert {k: v for k, v in meta.items() if k.startswith("tokenizer.")} == \
        {k: v for k, v in base.items() if k.startswith("tokenizer.")}
    assert meta["general.base_model.0.name"] == base["general.name"]
    other = tmp_path / "other"  # one token renamed: not the base's vocabulary
    shutil.copytree(tiny, other)
    data = json.loads((other / "tokenizer.json").read_text())
    data["added_tokens"][-1]["content"] = "<|eot|>"
    (other / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(GGUFExportError, match="is not the one of the base GGUF"):
        export(other, tmp_path / "o.gguf", quant="f16", base_gguf=exported["f16"])


def test_a_failed_export_leaves_no_file(tiny, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gguf_write, "_tensor_data", boom)
    with pytest.raises(RuntimeError):
        export(tiny, tmp_path / "m.gguf", quant="f16")
    assert list(tmp_path.iterdir()) == []


def test_folder_without_config_is_refused(tmp_path):
    (tmp_path / "weights").mkdir()
    with pytest.raises(GGUFExportError, match="no config.json"):
        export(tmp_path / "weights", tmp_path / "m.gguf", quant="f16")
    with pytest.raises(GGUFExportError, match="not a folder"):
        export(tmp_path / "nowhere", tmp_path / "m.gguf", quant="f16")


def test_other_architectures_and_settings_are_refused(tiny, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(tiny, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "gpt2",
                                                    "architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(GGUFExportError, match=r"config.json: model_type 'gpt2'.*only LLaMA"):
        export(folder, tmp_path / "m.gguf", quant="f16")
    (folder / "config.json").write_text(json.dumps({**config, "rope_parameters": {
        "rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0}}))
    with pytest.raises(GGUFExportError, match="RoPE scaling 'yarn'"):
        export(folder, tmp_path / "m.gguf", quant="f16")
    with pytest.raises(GGUFExportError, match="quant 'q3' is not one of"):
        export(tiny, tmp_path / "m.gguf", quant="q3")
    assert not (tmp_path / "m.gguf").exists()


def test_unsupported_tokenizer_is_named(tiny, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(tiny, folder)
    data = json.loads((folder / "tokenizer.json").read_text())
    data["model"]["byte_fallback"] = True
    (folder / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(GGUFExportError, match="tokenizer.json: tokenizer model 'BPE' .*SentencePiece"):
        export(folder, tmp_path / "m.gguf", quant="f16")
    data["model"]["byte_fallback"] = False
    data["pre_tokenizer"] = {"type": "Whitespace"}
    (folder / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(GGUFExportError, match="pre-tokenizer .*Whitespace"):
        export(folder, tmp_path / "m.gguf", quant="f16")
    assert export(folder, tmp_path / "m.gguf", quant="f16", pre_tokenizer="gpt-2")["bytes"] > 0


def test_without_llama_cpp_only_float_types_export(tiny, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_llama(name, *args, **kwargs):
        if name == "llama_cpp":
            raise ImportError("No module named 'llama_cpp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_llama)
    with pytest.raises(GGUFExportError, match="llama.cpp engine .* not installed"):
        export(tiny, tmp_path / "m.gguf", quant="q8_0")
    assert export(tiny, tmp_path / "m.gguf", quant="f16")["bytes"] > 0


# ---------------------------------------------------------------------------------------------------------------
# llama.cpp runs the file


@pytest.fixture(scope="module")
def llama_cpp():
    try:
        import llama_cpp
    except (ImportError, OSError) as exc:
        pytest.skip(f"llama-cpp-python does not import ({exc}): the llama.cpp checks need it")
    return llama_cpp


def test_llama_cpp_reproduces_the_logits(llama_cpp, tiny, exported):
    f32 = verify_gguf(exported["f32"], tiny, PROMPT)
    assert f32["positions"] > 40 and f32["tokenizer_agrees"]
    assert f32["argmax_agreement"] == 1.0 and f32["max_rel_diff"] < 1e-3, f32
    f16 = verify_gguf(exported["f16"], tiny, PROMPT)
    assert f16["argmax_agreement"] >= 0.97 and f16["max_rel_diff"] < 2e-2, f16


def test_a_wrong_rotary_layout_is_caught(llama_cpp, tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(gguf_source, "permute_rotary", lambda w, n: w)  # HF's layout written as is
    export(tiny, tmp_path / "bad.gguf", quant="f32")
    bad = verify_gguf(tmp_path / "bad.gguf", tiny, PROMPT)
    assert bad["max_rel_diff"] > 1e-2, bad
    with pytest.raises(GGUFExportError, match="f32 export does not reproduce"):
        export(tiny, tmp_path / "checked.gguf", quant="f32", verify=True, prompt=PROMPT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.gguf"]  # the failed file was not kept


def test_quantised_export_and_verify_flag(llama_cpp, tiny, tmp_path):
    summary = export(tiny, tmp_path / "q.gguf", quant="q8_0", verify=True, prompt=PROMPT)
    meta, tensors = fields(tmp_path / "q.gguf")
    assert meta["general.file_type"] == int(gguf.LlamaFileType.MOSTLY_Q8_0)
    assert tensors["blk.0.ffn_up.weight"].tensor_type == gguf.GGMLQuantizationType.Q8_0
    assert summary["intermediate"] == "f32" and summary["verify"]["argmax_agreement"] >= 0.9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.gguf"]
    checked = export(tiny, tmp_path / "f.gguf", quant="f32", verify=True, prompt=PROMPT)
    assert checked["verify"]["max_rel_diff"] < 1e-3


def test_lora_adapter_is_merged_before_export(llama_cpp, tiny, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny))
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj"]))
    with torch.no_grad():  # B starts at zero: make the adapter change the model
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(tiny)
    (tmp_path / "adapter" / "adapter_config.json").write_text(json.dumps(config))
    summary = export(tmp_path / "adapter", tmp_path / "a.gguf", quant="f32")
    assert summary["kind"] == "adapter" and summary["base_model"] == str(tiny)
    check = verify_gguf(tmp_path / "a.gguf", tmp_path / "adapter", PROMPT)  # against base + merged adapter
    assert check["argmax_agreement"] == 1.0 and check["max_rel_diff"] < 1e-3, check
    against_base = verify_gguf(tmp_path / "a.gguf", tiny, PROMPT)
    assert against_base["max_rel_diff"] > 1e-2  # the adapter is in the file


def test_cli_exports_and_names_bad_input(tiny, tmp_path, capsys):
    from tests.capture import run_cli

    def run(argv):
        return run_cli(argv, capsys)

    code, out, _ = run(["train", "export-gguf", str(tiny), str(tmp_path / "m.gguf"), "--quant", "f16",
                        "--no-verify", "--base-gguf", "none"])
    assert code == 0 and "f16" in out and "20 tensors" in out and (tmp_path / "m.gguf").is_file()
    code, _, err = run(["train", "export-gguf", str(tmp_path), str(tmp_path / "x.gguf"), "--quant", "f16"])
    assert code == 2 and "no config.json" in err and "Traceback" not in err
    code, _, err = run(["train", "export-gguf", str(tiny), str(tmp_path / "x.gguf"), "--quant", "q2"])
    assert code == 2 and "quant 'q2'" in err


@pytest.mark.slow
def test_packaged_smollm2_round_trip(llama_cpp, tmp_path):
    """The packaged Q4_1 file -> HF checkpoint (transformers' loader) -> our q4_1: the same tensors, byte for byte
    (measured: 272/272), tokenizer fields copied from the packaged file; f16 reproduces the checkpoint's logits."""
    from toolbench.llm.models import ensure_default_model, find_default_gguf
    from train.gguf_export import iter_tensor_bytes

    base = ensure_default_model()
    summary = export_gguf(base, tmp_path / "q4_1.gguf", quant="q4_1")  # base_gguf="auto"
    assert summary["tokenizer"].startswith("copied from") and summary["tensors"] == 272
    assert {n: d for n, _, d in iter_tensor_bytes(tmp_path / "q4_1.gguf")} == \
        {n: d for n, _, d in iter_tensor_bytes(find_default_gguf())}
    checked = export_gguf(base, tmp_path / "f16.gguf", quant="f16", verify=True)
    assert checked["verify"]["argmax_agreement"] == 1.0 and checked["verify"]["tokenizer_agrees"]
