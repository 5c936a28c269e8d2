"""Filling a stage's config dataclass from a YAML/TOML file plus overrides (the command's options).

Keys of the file must be fields of the dataclass; the dataclass's ``__post_init__`` then checks the values, so
a bad file fails before any model loads, with an error that names the field.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, TypeVar

from retriever.errors import ConfigError, RetrieverError

T = TypeVar("T")


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """A mapping from a ``.yaml``/``.yml``, ``.toml`` or ``.json`` file."""
    path = Path(path)
    if not path.is_file():
        raise RetrieverError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise RetrieverError(f"{path}: unknown config format; use .yaml, .toml or .json")
    except RetrieverError:
        raise
    except Exception as exc:
        raise RetrieverError(f"{path}: cannot parse ({exc})") from exc
    if not isinstance(data, dict):
        raise RetrieverError(f"{path}: expected a mapping of config fields, got {type(data).__name__}")
    return data


def build_config(cls: type[T], path: str | os.PathLike | None = None, **overrides: Any) -> T:
    """``cls`` from the file at ``path`` (if any) with ``overrides`` on top; ``None`` overrides are ignored,
    so unset CLI options keep the file's or the default value."""
    data = read_config_file(path) if path is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(unknown[0], f"unknown field{' (from ' + str(path) + ')' if path else ''}; "
                                      f"known fields: {', '.join(sorted(names))}")
    return cls(**data)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
