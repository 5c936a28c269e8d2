"""GGUF export of a HF LLaMA checkpoint or LoRA adapter; the public names are in :mod:`train.gguf_export`."""
