"""Tiny in-process tokenizer and LLaMA for the training tests; nothing is downloaded.

The tokenizer is byte-level with no merges, and byte ``b`` has id ``b``; the ChatML special tokens follow
(``<|im_start|>`` = 256, ``<|im_end|>`` = 257, ``<|endoftext|>`` = 258). So the ids a text must give are written
down in a test with :func:`ids` without asking the tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

IM_START, IM_END, EOT = 256, 257, 258
SPECIALS = {"<|im_start|>": IM_START, "<|im_end|>": IM_END, "<|endoftext|>": EOT}

# SmolLM2-135M-Instruct's chat template (plain ChatML: it ignores tools).
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# A ChatML template that knows tools (lists them in the system turn, renders calls as JSON lines).
TOOLS_TEMPLATE = (
    "{% if tools %}{{ '<|im_start|>system\nTOOLS ' + (tools | tojson) + '<|im_end|>\n' }}{% endif %}"
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] }}"
    "{% for c in m.get('tool_calls', []) %}{{ 'CALL ' + c['function']['name'] + ' ' + "
    "(c['function']['arguments'] | tojson) }}{% endfor %}{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (what the ByteLevel pre-tokenizer emits)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def make_tokenizer(template: str = SMOLLM2_TEMPLATE) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    vocab.update(SPECIALS)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": list(SPECIALS)})
    tok.chat_template = template
    return tok


def ids(*parts: str | int) -> list[int]:
    """Expected ids: strings give their UTF-8 bytes, ints are special-token ids."""
    out: list[int] = []
    for p in parts:
        out += [p] if isinstance(p, int) else list(p.encode("utf-8"))
    return out


def make_model(vocab_size: int = 259, context: int = 1024, seed: int = 0) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=context,
                         bos_token_id=IM_START, eos_token_id=IM_END, pad_token_id=EOT, tie_word_embeddings=True)
    return LlamaForCausalLM(config)


def save_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    """A tiny LLaMA checkpoint with its tokenizer, as a real base model folder."""
    folder.mkdir(parents=True, exist_ok=True)
    make_model(seed=seed).save_pretrained(str(folder))
    make_tokenizer().save_pretrained(str(folder))
    return folder


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}

CITIES = ["Paris", "Lyon", "Oslo", "Rome", "Bern", "Riga", "Lima", "Kyiv", "Doha", "Baku", "Suva", "Apia"]


def call_example(i: int) -> dict[str, Any]:
    """An OpenAI fine-tuning line: a question, a call, its result, an answer."""
    city = CITIES[i % len(CITIES)]
    args = json.dumps({"city": city})
    return {"messages": [
        {"role": "user", "content": f"Weather in {city}?"},
        {"role": "assistant", "tool_calls": [{"id": f"c{i}", "type": "function",
                                              "function": {"name": "get_weather", "arguments": args}}]},
        {"role": "tool", "tool_call_id": f"c{i}", "content": f"{10 + i} C"},
        {"role": "assistant", "content": f"It is {10 + i} C in {city}."},
    ], "tools": [WEATHER_TOOL]}


def write_call_data(path: Path, n: int, start: int = 0) -> Path:
    path.write_text("".join(json.dumps(call_example(start + i)) + "\n" for i in range(n)))
    return path


def short_example(i: int) -> dict[str, Any]:
    """A short OpenAI line (no tools offered, so no tool list in the prompt): ~150 tokens of the tiny tokenizer."""
    city = CITIES[i % len(CITIES)]
    return {"messages": [
        {"role": "system", "content": "Call tools."},
        {"role": "user", "content": f"Weather in {city}?"},
        {"role": "assistant", "tool_calls": [{"id": f"c{i}", "type": "function", "function": {
            "name": "get_weather", "arguments": json.dumps({"city": city})}}]},
    ]}


def write_short_data(path: Path, n: int, start: int = 0) -> Path:
    path.write_text("".join(json.dumps(short_example(start + i)) + "\n" for i in range(n)))
    return path
