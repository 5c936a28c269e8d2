"""The hub's tools as a catalog: its OpenAPI documents (one per tool) imported with the catalog importer.

``data/tools/`` is this catalog written to disk (``toolbench hub export-catalog``); a test regenerates it and
compares, so the committed files always match the hub.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

from toolbench.hub.settings import HubSettings
from toolbench.records import Tool


def openapi_documents(settings: HubSettings | None = None) -> dict[str, dict]:
    """slug -> the OpenAPI document of that tool (built in-process; no server needed)."""
    if settings is None:
        return copy.deepcopy(_default_documents())
    return _documents(settings)


def _documents(settings: HubSettings) -> dict[str, dict]:
    from toolbench.hub.app import create_app, tool_openapi

    app = create_app(settings)
    doc = app.openapi()
    return {slug: tool_openapi(doc, tool) for slug, tool in app.state.hub.tools.items()}


@functools.lru_cache(maxsize=1)
def _default_documents() -> dict[str, dict]:
    return _documents(HubSettings())


def hub_tools(settings: HubSettings | None = None) -> list[Tool]:
    """The hub's tools as catalog records, exactly as the OpenAPI importer makes them."""
    from toolbench.catalog.openapi import import_openapi

    return [import_openapi(doc) for doc in openapi_documents(settings).values()]


def export_catalog(out_dir: str | Path, settings: HubSettings | None = None) -> list[Path]:
    """Write the hub's catalog as ToolBench tool files, ``<out_dir>/<Category>/<tool>.json``."""
    from toolbench.catalog.store import write_tool

    return [write_tool(tool, out_dir) for tool in hub_tools(settings)]
