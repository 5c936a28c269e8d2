from typer.testing import CliRunner

from toolbench.cli import app


def test_llm_commands_are_listed():
    result = CliRunner().invoke(app, ["llm", "--help"])
    assert result.exit_code == 0
    for command in ("serve", "pull-default", "chat"):
        assert command in result.output


def test_pull_default_prints_the_checkpoint(monkeypatch, tmp_path):
    from toolbench.llm import models

    monkeypatch.setenv("TOOLBENCH_HOME", str(tmp_path))
    monkeypatch.setattr(models, "ensure_default_model", lambda folder, dtype: folder)
    result = CliRunner().invoke(app, ["llm", "pull-default"])
    assert result.exit_code == 0
    assert result.output.strip() == str(tmp_path / "models" / "smollm2-135m-instruct")


def test_chat_reports_a_bad_tools_file(tmp_path):
    bad = tmp_path / "tools.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(app, ["llm", "chat", "hi", "--tools", str(bad)])
    assert result.exit_code != 0
    assert "cannot read a JSON list of tools" in str(result.exception)
