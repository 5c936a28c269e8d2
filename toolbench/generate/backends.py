"""Which tools a runner can call: those whose base URL is on this machine (the hub's tools, a local server).

A tool without a base URL (the StableToolBench reference catalogs) or on a remote host (no network at run time)
has no backend: its calls are never run, their results are synthesised from the response schema, and samples on
it are verified by format and meaning only (:func:`toolbench.generate.pipeline.verify_labelled`).
"""

from __future__ import annotations

from urllib.parse import urlparse

from toolbench.records import Tool

_LOOPBACK = ("localhost", "::1", "0.0.0.0")


def has_backend(tool: Tool) -> bool:
    """Whether a runner can call the tool: its base URL is on this machine."""
    host = urlparse(tool.base_url or "").hostname or ""
    return host in _LOOPBACK or host.startswith("127.")
