"""A command's ``run(config)`` replaced by one that keeps the config it was given: the tests of a command's
settings (defaults, --config, --set, the options given) look at that config without running anything."""

from __future__ import annotations

from typing import Any


def capture_run(monkeypatch: Any, owner: Any, result: Any, name: str = "run") -> list[Any]:
    """Replace ``owner.<name>`` by a function that records its first argument and returns ``result``; the list
    of configs it was called with."""
    seen: list[Any] = []

    def fake_run(config: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(config)
        return result

    monkeypatch.setattr(owner, name, fake_run)
    return seen
