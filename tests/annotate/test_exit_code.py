"""`toolbench annotate` exits non-zero, and says how many, when queries failed; 0 when every query ended."""

import json

from typer.testing import CliRunner

from annotate.runner import ScriptedRunner
from tests.annotate import doubles
from toolbench.cli import app


class _BrokenRunner(ScriptedRunner):
    """Raises on query 1's first call (as a runner that lets an exception out would): that query fails."""

    async def run(self, fname, arguments):
        if arguments.get("city") == "1-a":
            raise RuntimeError("the API client blew up")
        return await super().run(fname, arguments)


def failing_build(cfg=None):
    runner = _BrokenRunner()
    return doubles.model(), (lambda functions: runner)


def run_cli(tmp_path, monkeypatch, doubles_spec: str, count: int):
    monkeypatch.setenv("TOOLBENCH_ANNOTATE_TEST_DOUBLES", doubles_spec)
    queries = doubles.write_queries(tmp_path / "q.json", count)
    return CliRunner().invoke(app, ["annotate", "--queries", str(queries), "--out", str(tmp_path / "run"),
                                    "--concurrency", "2", "--no-progress"])


def test_annotate_exits_non_zero_when_a_query_failed(tmp_path, monkeypatch):
    result = run_cli(tmp_path, monkeypatch, "tests.annotate.test_exit_code:failing_build", 3)
    assert result.exit_code == 1, result.output
    summary = json.loads([line for line in result.output.splitlines() if line.startswith("{")][-1])
    assert (summary["failed"], summary["solved"]) == (1, 2)
    assert "1 of 3 queries failed" in result.output


def test_annotate_exits_zero_when_every_query_ended(tmp_path, monkeypatch):
    result = run_cli(tmp_path, monkeypatch, "tests.annotate.doubles:build", 2)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["failed"] == 0
