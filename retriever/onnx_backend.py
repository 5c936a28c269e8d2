"""Fast CPU encoding: a sentence-transformers model exported to ONNX (float or int8), run by ONNX Runtime.

``export_onnx(model_folder)`` traces the model's transformer (from its local files, no network) into
``onnx/model.onnx`` next to the model, and with ``quantize=True`` also writes ``onnx/model_qint8.onnx``: ONNX
Runtime's dynamic int8 quantisation of the MatMul weights, per channel (per-tensor scales move MiniLM's
embeddings too far; embeddings and LayerNorm stay float). A stamp (``onnx/export.json``) records the size and
time of the weights it was made from, so a retrained model is re-exported and an unchanged one is not. When the
model folder is not writable (an installed package), the files go under ``~/.cache/toolbench/onnx/<hash>/``.

:class:`OnnxEncoder` is an :class:`retriever.encoder.Encoder`: it sorts texts by length, pads each batch only to
its longest text (dynamic padding), truncates at ``max_seq_length``, and pools as the model's ``Pooling``
module says (mean, CLS or max), then L2-normalises. Threads: ``intra_op_num_threads`` (default: all cores), with
spinning off, so a loaded machine is not made slower by busy-waiting threads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retriever.encoder import BACKENDS  # noqa: F401  (its old home; the list of every backend)
from retriever.errors import RetrieverError

if TYPE_CHECKING:
    import numpy as np

FLOAT_FILE, INT8_FILE, STAMP_FILE = "model.onnx", "model_qint8.onnx", "export.json"
EXPORT_VERSION = 1


def _weights_stamp(model_dir: Path) -> dict:
    files = sorted(p for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    if not files:
        raise RetrieverError(f"{model_dir}: no model weights (*.safetensors or *.bin) to export to ONNX")
    return {"version": EXPORT_VERSION,
            "weights": {p.name: [p.stat().st_size, int(p.stat().st_mtime)] for p in files}}


def onnx_dir(model_dir: str | os.PathLike) -> Path:
    """Where the ONNX files of a model folder live: ``<model>/onnx`` when writable, else a cache folder
    named by the model's absolute path."""
    model_dir = Path(model_dir).resolve()
    own = model_dir / "onnx"
    if os.access(own if own.exists() else model_dir, os.W_OK):
        return own
    digest = hashlib.sha256(str(model_dir).encode()).hexdigest()[:16]
    return Path(os.environ.get("TOOLBENCH_CACHE", Path.home() / ".cache" / "toolbench")) / "onnx" / digest


def _pooling(model_dir: Path) -> str:
    """'mean', 'cls' or 'max', from the Pooling module of ``modules.json`` (mean when there is none)."""
    modules = model_dir / "modules.json"
    if not modules.is_file():
        return "mean"
    for m in json.loads(modules.read_text()):
        if m.get("type", "").endswith("Pooling"):
            cfg = json.loads((model_dir / m.get("path", "") / "config.json").read_text())
            mode = cfg.get("pooling_mode")  # sentence-transformers >= 6 writes one name
            if mode in ("mean", "cls", "max"):
                return mode
            for name in ("mean", "cls", "max"):
                if cfg.get(f"pooling_mode_{name}_tokens" if name != "cls" else "pooling_mode_cls_token"):
                    return name
            raise RetrieverError(f"{model_dir}: pooling {cfg} is not supported by the ONNX backend "
                                 "(mean, cls or max); use --backend torch")
    return "mean"


def _configured_length(model_dir: Path) -> int:
    """The model's own ``max_seq_length`` (sentence_bert_config.json), else 512."""
    cfg = model_dir / "sentence_bert_config.json"
    if cfg.is_file():
        return int(json.loads(cfg.read_text()).get("max_seq_length") or 512)
    return 512


def _export_float(model_dir: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    sample = tokenizer(["an example request", "a longer example of an API document text"], padding=True,
                       return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    tmp = target.with_suffix(".tmp")
    # the tracer's warnings (python booleans of tensors in the masking code, opset notes) are about other models'
    # shapes; the exported graph is checked by the encoder's tests, so they would only be noise on a console
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Hidden(model), tuple(sample[n] for n in names), str(tmp), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    tmp.replace(target)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(".tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime's advice to pre-process first, logged on the root logger
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)
    tmp.replace(target)


def export_onnx(model_dir: str | os.PathLike, *, quantize: bool = False) -> Path:
    """The ONNX file of a sentence-transformers folder (int8 when ``quantize``), exported on first use and
    cached; returns its path."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise RetrieverError("the ONNX backend needs onnxruntime and onnx: pip install onnxruntime onnx") from exc
    model_dir = Path(model_dir).resolve()
    if not (model_dir / "config.json").is_file():
        raise RetrieverError(f"{model_dir}: not a transformers model folder (no config.json) to export to ONNX")
    folder = onnx_dir(model_dir)
    stamp = _weights_stamp(model_dir)
    stamp_path = folder / STAMP_FILE
    fresh = stamp_path.is_file() and json.loads(stamp_path.read_text()) == stamp
    float_path, int8_path = folder / FLOAT_FILE, folder / INT8_FILE
    if not fresh:
        folder.mkdir(parents=True, exist_ok=True)
        for p in (float_path, int8_path, stamp_path):
            p.unlink(missing_ok=True)
        _export_float(model_dir, float_path)
        stamp_path.write_text(json.dumps(stamp) + "\n")
    if quantize and not int8_path.is_file():
        _quantize(float_path, int8_path)
    return int8_path if quantize else float_path


class OnnxEncoder:
    """An :class:`~retriever.encoder.Encoder` running an exported model with ONNX Runtime."""

    doc_style = "toolbench"  # set by retriever.encoder.load_encoder from the model folder

    def __init__(self, model_dir: str | os.PathLike, *, name: str, quantize: bool = False,
                 max_seq_length: int | None = 256, threads: int | None = None):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        model_dir = Path(model_dir)
        path = export_onnx(model_dir, quantize=quantize)
        self.name = name
        self.backend = "onnx-int8" if quantize else "onnx"
        self.max_seq_length = max_seq_length or _configured_length(model_dir)
        self.pooling = _pooling(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def _batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_seq_length,
                             return_tensors="np")
        hidden = self.session.run(None, {n: enc[n].astype(np.int64) for n in self.inputs})[0]
        mask = enc["attention_mask"][..., None].astype(np.float32)
        if self.pooling == "cls":
            out = hidden[:, 0]
        elif self.pooling == "max":
            out = np.where(mask > 0, hidden, -1e9).max(axis=1)
        else:
            out = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths share a batch
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = self._batch([texts[i] for i in idx])
        return out
