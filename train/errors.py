"""Errors of the training stage: each names the file, field or setting at fault and what to do."""

from __future__ import annotations

from toolbench import config
from toolbench.errors import ToolbenchError


class TrainError(ToolbenchError):
    """Training could not run (bad data, a model that will not load, a launcher problem)."""


class FormatError(TrainError, ValueError):
    """A training example or data file is malformed; ``where`` says which one (file:line, index, field)."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(TrainError, config.ConfigError):
    """A training configuration value (or recipe file, or override) is wrong; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.message = message
        super().__init__(field, f"config field '{field}': {message}")
