"""Which engine serves a model, and with what settings: :class:`ServerConfig` (``toolbench llm serve``'s options),
:func:`pick_engine` and :func:`load_generator`."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.llm.call_gate import check_threshold
from toolbench.llm.generation import TextGenerator


@dataclass
class ServerConfig:
    """Settings of ``toolbench llm serve``."""

    model: str = field(default="default", metadata={
        "help": "'default' (the packaged SmolLM2-135M-Instruct), a GGUF file, a HF checkpoint folder, or a LoRA "
                "adapter folder."})
    engine: str = field(default="auto", metadata={
        "help": "auto (llama.cpp for the packaged model and GGUF files on a CPU, transformers for checkpoints, "
                "adapters and GPUs), llamacpp or transformers. If llama.cpp is missing, auto says so and falls "
                "back to transformers."})
    constrained: bool = field(default=True, metadata={
        "help": "Grammar-constrained decoding: with tool_choice required or a named function the reply is always "
                "a valid call whose arguments match the function's schema; with auto the grammar applies once the "
                "model starts a call (it may still answer in text); response_format json_object/json_schema "
                "answers are valid JSON."})
    default_quant: str = field(default="q8_0", metadata={
        "help": "llama.cpp: the packaged model as q8_0 (requantised once from the shipped Q4_1 file into "
                "$TOOLBENCH_HOME/models; prefills ~1.8x faster), q4_1 (the shipped file) or f16."})
    ctx_size: int = field(default=4096, metadata={
        "help": "llama.cpp: context per sequence in tokens (capped at the model's training context); the KV "
                "cache holds max_batch of them."})
    flash_attn: str = field(default="off", metadata={
        "help": "llama.cpp: flash attention off (default: on a CPU its kernel slows decoding at a few hundred "
                "tokens of context more than it speeds prefill), on or auto."})
    host: str = field(default="127.0.0.1", metadata={"help": "Interface to listen on (loopback by default)."})
    port: int = field(default=8000, metadata={"help": "TCP port; 0 picks a free one (printed at start)."})
    served_model_name: str | None = field(default=None, metadata={
        "help": "Name clients send as 'model' (default: the model's own name, e.g. smollm2-135m-instruct)."})
    dtype: str = field(default="auto", metadata={"help": "auto (bfloat16), float32, bfloat16 or float16."})
    device: str = field(default="auto", metadata={"help": "auto (cuda when present, else cpu), cpu, cuda, cuda:N."})
    max_queue: int = field(default=64, metadata={"help": "Requests allowed to wait; more get 429."})
    max_batch: int = field(default=4, metadata={
        "help": "Waiting requests generated together (same sampling settings, one choice, not streamed); 1: "
                "one at a time. On a 2-core CPU 4 rows give SmolLM2-135M ~3x the tokens/s of 1."})
    batch_wait: float = field(default=0.05, metadata={
        "help": "Seconds a batch that is not full waits for more requests (clients that just got a reply send "
                "their next one within milliseconds); 0: never wait."})
    max_request_bytes: int = field(default=8 << 20, metadata={
        "help": "Largest request body accepted, in bytes (default 8 MiB: room for long chats with many tools); a "
                "larger one gets 413 before it is read (from Content-Length, or as soon as a chunked body passes "
                "the limit)."})
    default_max_tokens: int = field(default=512, metadata={"help": "max_tokens when a request gives none."})
    max_n: int = field(default=8, metadata={"help": "Largest n (choices per request) accepted."})
    log_level: str = field(default="info", metadata={"help": "uvicorn's log level."})
    threads: int | None = field(default=None, metadata={
        "help": "torch CPU threads for generation (None: torch's default, one per core)."})
    call_threshold: float | None = field(default=None, metadata={
        "help": "With tools and tool_choice auto, start a call when the model's probability of the call's first "
                "token is at least this, else answer in text (toolbench.llm.call_gate; `toolbench llm calibrate` "
                "chooses it for a model); None: greedy decoding's own choice."})

    def __post_init__(self) -> None:
        if not self.model:
            raise ToolbenchError("config field 'model' is empty: give 'default' or a model folder")
        if not self.host:
            raise ToolbenchError("config field 'host' is empty")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ToolbenchError(f"config field 'port' must be 0-65535; got {self.port!r}")
        for name in ("max_queue", "max_batch", "max_request_bytes", "default_max_tokens", "max_n", "ctx_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ToolbenchError(f"config field '{name}' must be an integer >= 1; got {value!r}")
        if self.default_quant not in ("q4_1", "q8_0", "f16"):
            raise ToolbenchError(f"config field 'default_quant' must be q4_1, q8_0 or f16; got {self.default_quant!r}")
        if self.flash_attn not in ("off", "on", "auto"):
            raise ToolbenchError(f"config field 'flash_attn' must be off, on or auto; got {self.flash_attn!r}")
        if self.engine not in ("auto", "llamacpp", "transformers"):
            raise ToolbenchError(f"config field 'engine' must be auto, llamacpp or transformers; got {self.engine!r}")
        if self.dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ToolbenchError(f"config field 'dtype' must be auto, float32, bfloat16 or float16; got {self.dtype!r}")
        if isinstance(self.batch_wait, bool) or not isinstance(self.batch_wait, (int, float)) or not \
                0 <= self.batch_wait <= 10:
            raise ToolbenchError(f"config field 'batch_wait' must be 0-10 seconds; got {self.batch_wait!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ToolbenchError(f"config field 'threads' must be an integer >= 1; got {self.threads!r}")
        check_threshold(self.call_threshold, "config field 'call_threshold'")
        if self.log_level not in ("critical", "error", "warning", "info", "debug", "trace"):
            raise ToolbenchError(f"config field 'log_level' must be a uvicorn log level; got {self.log_level!r}")


def pick_engine(config: ServerConfig) -> str:
    """The engine that serves ``config.model``: ``llamacpp`` or ``transformers`` (see ``ServerConfig.engine``).
    ``auto`` falls back to transformers, with a warning on stderr saying why, when llama.cpp cannot be loaded."""

    from toolbench.llm.llamacpp_lib import llama_cpp_available
    from toolbench.llm.models import DEFAULT_ALIASES

    spec = config.model
    gguf_file = spec.endswith(".gguf")
    llama_servable = gguf_file or spec in DEFAULT_ALIASES
    if config.engine == "transformers":
        if gguf_file:
            raise ToolbenchError(f"--engine transformers serves checkpoints and adapters, not GGUF files ({spec}); "
                                 "use --engine llamacpp")
        return "transformers"
    if config.engine == "llamacpp":
        if not llama_servable:
            raise ToolbenchError(f"the llama.cpp engine serves GGUF files and the packaged model; {spec} is not one: "
                                 "turn a checkpoint or adapter into GGUF with `toolbench train export-gguf`, or "
                                 "serve it with --engine transformers")
        return "llamacpp"
    if not llama_servable or config.device.startswith("cuda"):
        return "transformers"
    ok, why = llama_cpp_available()
    if ok:
        return "llamacpp"
    if gguf_file:
        raise ToolbenchError(f"{spec} is a GGUF file and {why}")
    print(f"WARNING: falling back to the transformers engine (about 10x slower on a CPU): {why}", file=sys.stderr,
          flush=True)
    return "transformers"


def load_generator(config: ServerConfig) -> tuple[TextGenerator, tuple[str, ...]]:
    """The engine for ``config`` with its model loaded, and the names it also answers to."""
    from toolbench.llm.models import DEFAULT_ALIASES, DEFAULT_MODEL_NAME, default_gguf

    engine = pick_engine(config)
    if engine == "llamacpp":
        from toolbench.llm.llamacpp import LlamaCppGenerator

        default = config.model in DEFAULT_ALIASES
        path = default_gguf(config.default_quant) if default else Path(config.model).expanduser()
        generator: Any = LlamaCppGenerator(path, DEFAULT_MODEL_NAME if default else path.stem,
                                           n_seq=config.max_batch, ctx_per_seq=config.ctx_size,
                                           threads=config.threads, flash_attn=config.flash_attn)
        return generator, (DEFAULT_ALIASES if default else ())
    from toolbench.llm.generation import HFGenerator
    from toolbench.llm.models import load_model

    loaded = load_model(config.model, dtype=config.dtype, device=config.device, threads=config.threads)
    aliases = DEFAULT_ALIASES if loaded.source.kind == "default" else ()
    return HFGenerator.from_loaded(loaded), tuple(aliases)
