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


def run_cli(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    """``toolbench ARGV`` in this process: (exit code, standard output, standard error)."""
    from toolbench.cli import main

    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err
