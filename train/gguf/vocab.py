"""The tokenizer metadata of a GGUF export: from tokenizer.json (byte-level BPE), or copied from a base GGUF that has
the same vocabulary."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from train.gguf.common import GPT2_REGEX, LLAMA3_REGEX, GGUFExportError
from train.gguf.source import _read_json


def _token_content(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


def _chat_template(tokenizer_dir: Path) -> str | None:
    jinja = tokenizer_dir / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    tcfg = tokenizer_dir / "tokenizer_config.json"
    if tcfg.is_file():
        template = _read_json(tcfg).get("chat_template")
        if isinstance(template, str):
            return template
        if isinstance(template, list):  # named templates: keep the default one
            for item in template:
                if item.get("name") == "default":
                    return item.get("template")
    return None


def _pre_tokenizer_name(pre: dict[str, Any] | None, where: Path) -> str:
    """llama.cpp's name for a byte-level BPE pre-tokenizer described in tokenizer.json."""
    steps = (pre or {}).get("pretokenizers", [pre] if pre else [])
    kinds = [s.get("type") for s in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True):
        return "gpt-2"
    if (kinds == ["Digits", "ByteLevel"] and steps[0].get("individual_digits")
            and steps[1].get("use_regex", True)):
        return "smollm"
    if kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        regex = (steps[0].get("pattern") or {}).get("Regex")
        if regex == LLAMA3_REGEX:
            return "llama-bpe"
        if regex == GPT2_REGEX:
            return "gpt-2"
    raise GGUFExportError(f"{where}: pre-tokenizer {json.dumps(pre)[:300]} is not one this exporter recognises "
                          "(byte-level with GPT-2's regex, SmolLM's digit split, or LLaMA 3's regex); pass "
                          "pre_tokenizer=<llama.cpp name> (--pre-tokenizer) if you know it")


@dataclass
class _Vocab:
    tokens: list[str]
    types: list[int]
    merges: list[str]
    pre: str
    special: dict[str, int]  # bos / eos / unk / pad -> id
    add_bos: bool
    chat_template: str | None


def _read_vocab(tokenizer_dir: Path, config: dict[str, Any], pre_override: str | None = None) -> _Vocab:
    """The vocabulary of a byte-level BPE ``tokenizer.json`` (GPT-2 style, as SmolLM2 and LLaMA 3 use)."""
    import gguf

    path = tokenizer_dir / "tokenizer.json"
    if not path.is_file():
        extra = " (a SentencePiece tokenizer.model is not supported)" if (tokenizer_dir / "tokenizer.model").is_file() \
            else ""
        raise GGUFExportError(f"{path} is missing: the tokenizer is read from a fast tokenizer's tokenizer.json"
                              + extra)
    data = _read_json(path)
    model = data.get("model") or {}
    decoder = data.get("decoder") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback") or decoder.get("type") != "ByteLevel":
        raise GGUFExportError(f"{path}: tokenizer model {model.get('type')!r} (byte_fallback="
                              f"{model.get('byte_fallback')}, decoder {decoder.get('type')!r}) is not supported: "
                              "only byte-level BPE (GPT-2 style: SmolLM2, LLaMA 3); SentencePiece-style tokenizers "
                              "(LLaMA 1/2, Mistral) are not")
    n_vocab = int(config["vocab_size"])
    by_id: dict[int, str] = {int(i): t for t, i in (model.get("vocab") or {}).items()}
    types = {i: int(gguf.TokenType.NORMAL) for i in by_id}
    for added in data.get("added_tokens") or []:
        i = int(added["id"])
        by_id[i] = added["content"]
        types[i] = int(gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED)
    if by_id and max(by_id) >= n_vocab:
        raise GGUFExportError(f"{path} has token id {max(by_id)} but config.json vocab_size is {n_vocab}")
    tokens, token_types = [], []
    for i in range(n_vocab):  # ids the tokenizer does not use (a padded embedding) become unused tokens
        tokens.append(by_id.get(i, f"[PAD{i}]"))
        token_types.append(types.get(i, int(gguf.TokenType.UNUSED)))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    if not merges:  # llama.cpp's BPE vocabulary will not load without the key, and gguf writes no empty array
        raise GGUFExportError(f"{path} has no BPE merges: llama.cpp cannot load a byte-level BPE vocabulary "
                              "without them")

    tcfg = _read_json(tokenizer_dir / "tokenizer_config.json") if (tokenizer_dir / "tokenizer_config.json").is_file() \
        else {}
    ids = {t: i for i, t in by_id.items()}
    special: dict[str, int] = {}
    for key in ("bos", "eos", "unk", "pad"):
        content = _token_content(tcfg.get(f"{key}_token"))
        if content is not None and content in ids:
            special[key] = ids[content]
        elif isinstance(config.get(f"{key}_token_id"), int):
            special[key] = int(config[f"{key}_token_id"])
    if isinstance(tcfg.get("add_bos_token"), bool):
        add_bos = tcfg["add_bos_token"]
    else:  # a post-processor that puts the BOS token first
        single = ((data.get("post_processor") or {}).get("single")) or []
        first = single[0].get("SpecialToken", {}).get("id") if single else None
        add_bos = first is not None and ids.get(first) == special.get("bos")
    pre = pre_override or _pre_tokenizer_name(data.get("pre_tokenizer"), path)
    return _Vocab(tokens, token_types, merges, pre, special, add_bos, _chat_template(tokenizer_dir))


def _model_tokens(tokenizer_dir: Path, n_vocab: int) -> list[str] | None:
    """The model's tokens by id (None when tokenizer.json is missing or unreadable)."""
    path = tokenizer_dir / "tokenizer.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    by_id = {int(i): t for t, i in ((data.get("model") or {}).get("vocab") or {}).items()}
    by_id.update({int(a["id"]): a["content"] for a in data.get("added_tokens") or []})
    return [by_id.get(i, f"[PAD{i}]") for i in range(n_vocab)]  # as _read_vocab names unused ids


def _base_fields(base: Path) -> tuple[dict[str, tuple[Any, Any, Any]], list[str]]:
    """A base GGUF's ``tokenizer.*`` and ``general.*`` fields (key -> (value, type, sub type)) and its tokens.
    Reading SmolLM2's takes ~2 s (98k strings), so it is kept for the process."""
    stat = base.stat()
    return _read_base_fields(str(base.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _read_base_fields(base: str, size: int, mtime_ns: int) -> tuple[dict[str, tuple[Any, Any, Any]], list[str]]:
    import gguf

    try:
        reader = gguf.GGUFReader(str(base))
    except (OSError, ValueError) as exc:
        raise GGUFExportError(f"cannot read the base GGUF {base}: {exc}") from exc
    out: dict[str, tuple[Any, Any, Any]] = {}
    for key, f in reader.fields.items():
        if not key.startswith(("tokenizer.", "general.")):
            continue
        vtype = f.types[0]
        sub = f.types[1] if vtype == gguf.GGUFValueType.ARRAY and len(f.types) > 1 else None
        out[key] = (f.contents(), vtype, sub)
    tokens = out.get("tokenizer.ggml.tokens", ([], None, None))[0]
    return out, list(tokens)


def _find_base_gguf(base_gguf: str | Path | None) -> Path | None:
    if base_gguf in (None, "", "none"):
        return None
    if base_gguf == "auto":
        from toolbench.llm.models import ModelLoadError, find_default_gguf

        try:
            return find_default_gguf()
        except ModelLoadError:
            return None
    path = Path(base_gguf).expanduser()
    if not path.is_file():
        raise GGUFExportError(f"base GGUF {path} does not exist")
    return path
