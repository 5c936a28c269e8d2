"""Where the installed ``bfcl-eval`` package keeps BFCL's data: the one place that locates it.

The Berkeley Function Calling Leaderboard's test sets ship inside the PyPI package ``bfcl-eval`` (Apache-2.0),
under ``bfcl_eval/data``: ``BFCL_v4_<category>.json`` (JSON lines), ``possible_answer/``, the multi-turn function
docs (``multi_turn_func_doc/``), the memory prerequisites and unused older sets. It is installed without its
dependency tree (``pip install --no-deps bfcl-eval==2026.3.23``, as ``make install-dev`` does); only its data
files and, for tests, its checker are used.

Both the evaluator (:mod:`eval.bfcl_reference`, its test sets) and the training guard
(:mod:`toolbench.contamination`, "never train on BFCL") read the data through this module, so they always see
the same files.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError

PACKAGE = "bfcl-eval"
MODULE = "bfcl_eval"
PINNED_VERSION = "2026.3.23"
INSTALL_HINT = f"pip install --no-deps {PACKAGE}=={PINNED_VERSION} (or `make install-dev`)"


class BfclNotInstalled(ToolbenchError):
    """The ``bfcl-eval`` package is not installed (``make install-dev`` installs it)."""


def installed() -> bool:
    """Whether ``bfcl_eval`` can be imported from this environment."""
    return importlib.util.find_spec(MODULE) is not None


def data_dir() -> Path:
    """The folder of BFCL's ``BFCL_v4_*.json`` files inside the installed package."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or spec.origin is None:
        raise BfclNotInstalled(
            f"bfcl:<category> needs the {PACKAGE} package: {INSTALL_HINT}, or pass --dataset FILE --answers FILE"
        )
    return Path(spec.origin).parent / "data"


def version() -> str:
    """The installed ``bfcl-eval`` version (``"unknown"`` when its metadata is missing)."""
    from importlib import metadata

    if not installed():
        raise BfclNotInstalled(f"the {PACKAGE} package is not installed: {INSTALL_HINT}")
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file (BFCL's ``.json`` files are JSON lines) or a file holding one JSON array of objects
    (:func:`toolbench.formats.jsonl.read_jsonl`: errors name the file and line)."""
    from toolbench.formats.jsonl import read_jsonl as read

    return read(path)
