"""HF LLaMA checkpoint (or LoRA adapter) -> a GGUF file that llama.cpp serves (``toolbench train export-gguf``).

Written with the ``gguf`` package (llama.cpp's gguf-py) and llama.cpp's own quantizer (through llama-cpp-python);
no code of llama.cpp's converter is used. What the file holds:

- **architecture metadata** (``llama.*``) from ``config.json``: context length, embedding and feed-forward
  lengths, block count, head counts (query and KV), RoPE dimension count, base frequency and linear scaling,
  RMS-norm epsilon, vocabulary size; ``general.file_type``.
- **tokenizer metadata** (``tokenizer.*``): when the model's vocabulary is exactly the one of a base GGUF (the
  packaged SmolLM2 file by default, ``base_gguf="auto"``), every ``tokenizer.*`` field is copied from that file
  and only the chat template is taken from the model's tokenizer; otherwise they are built from ``tokenizer.json``
  (a GPT-2-style byte-level BPE: tokens, token types, merges, special ids, ``add_bos``, chat template, and the
  pre-tokenizer, recognised from its description: ``gpt-2``, ``smollm`` or ``llama-bpe``). SentencePiece /
  byte-fallback tokenizers (LLaMA 1-2, Mistral) are refused with a message saying so.
- **tensors**, named through gguf's ``TensorNameMap``. ``q_proj``/``k_proj`` rows are permuted from the HF rotary
  layout (per head: first half of the dimensions, then second half) to GGML's (the pairs interleaved), the
  inverse of what transformers' GGUF loader undoes. With tied embeddings there is no ``output.weight``
  (llama.cpp then uses ``token_embd``). Norms are F32; matrices F32, F16 or BF16.

Quantised types (``q8_0``, ``q4_1``, ``q4_k_m``, ``q5_k_m``) are made by writing the matrices first in the
source's own precision (F32 for an fp32 checkpoint, so nothing is rounded twice) and running
``llama_model_quantize`` on that file. Every write goes to a temporary file beside the target, renamed at the end.

:func:`verify_gguf` runs the same token ids through llama.cpp and transformers and compares the logits.

The code is the :mod:`train.gguf` package, one module per part: ``common`` (quant types, constants, the error),
``source`` (the checkpoint or adapter, the tensors in GGML's layout), ``vocab`` (tokenizer metadata), ``write``
(the file, :func:`export_gguf`), ``check`` (llama.cpp against transformers). This module keeps the public names.
"""

from __future__ import annotations

from train.gguf.check import greedy, iter_tensor_bytes, llama_logits, open_llama, verify_gguf
from train.gguf.common import DEFAULT_PROMPT, QUANTS, TOLERANCE, GGUFExportError
from train.gguf.source import permute_rotary
from train.gguf.write import export_gguf

__all__ = ["DEFAULT_PROMPT", "QUANTS", "TOLERANCE", "GGUFExportError", "export_gguf", "greedy", "iter_tensor_bytes",
           "llama_logits", "open_llama", "permute_rotary", "verify_gguf"]
