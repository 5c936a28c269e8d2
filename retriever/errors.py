"""Errors of the retriever stage: each one a :class:`~toolbench.errors.ToolbenchError` whose message says
what is wrong and what to do, so the CLI prints it without a traceback."""

from __future__ import annotations

from toolbench import config
from toolbench.errors import ToolbenchError


class RetrieverError(ToolbenchError):
    """A retriever input (query file, corpus, index folder, model path) cannot be used."""


class ConfigError(RetrieverError, config.ConfigError):
    """A field of a retriever config (or its file) has a bad value; the message names the field (and the file)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(field_name, f"{field_name}: {message}")

    @property
    def field_name(self) -> str | None:
        return self.field
