"""The sandbox tools, one module each. ``all_tools()`` lists them in a fixed order."""

from __future__ import annotations

import importlib

from toolbench.hub.base import HubTool

TOOL_MODULES = ("weather", "geo", "currency", "stocks", "restaurants", "movies", "orders", "crm", "calendar")


def all_tools() -> list[HubTool]:
    return [importlib.import_module(f"toolbench.hub.tools.{name}").TOOL for name in TOOL_MODULES]
