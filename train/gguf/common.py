"""The GGUF export's constants (quant types, the check's prompt and tolerances, pre-tokenizer regexes) and its error."""

from __future__ import annotations

from typing import Any

from train.errors import TrainError

# quant name -> (llama_ftype / gguf.LlamaFileType value, written directly by us without llama.cpp)
QUANTS: dict[str, tuple[int, bool]] = {
    "f32": (0, True),
    "f16": (1, True),
    "bf16": (32, True),
    "q8_0": (7, False),
    "q4_1": (3, False),
    "q4_k_m": (15, False),
    "q5_k_m": (17, False),
}
DEFAULT_PROMPT = ("<|im_start|>user\nWhat is the weather in Paris tomorrow? Answer with a tool call."
                  "<|im_end|>\n<|im_start|>assistant\n")
# Tolerances of the check after an exact (f32) or half-precision (f16/bf16) export: the largest logit difference
# allowed, relative to the spread (max - min) of the reference logits at that position.
TOLERANCE = {"f32": 1e-3, "f16": 2e-2, "bf16": 5e-2}

# general.* fields copied from a base GGUF (with its name as general.base_model.0.name)
COPIED_GENERAL = ("general.basename", "general.organization", "general.license", "general.size_label",
                  "general.languages")
# tokenizer.json pre-tokenizer regexes of the families llama.cpp knows (its "pre" names)
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")



class GGUFExportError(TrainError):
    """The model cannot be exported (or checked); the message names the file or field at fault."""


def _llama_cpp() -> Any:
    """``llama_cpp`` through the engine's one import path (it also sets OpenMP's waiting), or a
    :class:`GGUFExportError` saying which types still export without it."""
    from toolbench.llm.llamacpp_lib import EngineUnavailable, import_llama_cpp

    try:
        return import_llama_cpp()
    except EngineUnavailable as exc:
        raise GGUFExportError(f"the llama.cpp engine (the llama-cpp-python package) is not installed or does not "
                              f"load ({exc.__cause__ or exc}): only f32, f16 and bf16 can be exported without it"
                              ) from exc
