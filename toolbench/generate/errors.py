"""Errors of the generation stage."""

from __future__ import annotations

from toolbench.errors import ToolbenchError


class GenerateError(ToolbenchError):
    """Generation cannot go on (a catalog too small for the group asked, a bad option); the message says why."""
