"""Errors of the retriever stage: each one a :class:`~toolbench.errors.ToolbenchError` whose message says
what is wrong and what to do, so the CLI prints it without a traceback."""

from __future__ import annotations

from toolbench.errors import ToolbenchError


class RetrieverError(ToolbenchError):
    """A retriever input (query file, corpus, index folder, model path) cannot be used."""


class ConfigError(RetrieverError, ValueError):
    """A field of a retriever config has a bad value; the message names the field."""

    def __init__(self, field_name: str, message: str):
        self.field_name = field_name
        super().__init__(f"{field_name}: {message}")
