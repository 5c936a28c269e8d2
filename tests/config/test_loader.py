"""toolbench.config.load_config: a YAML/TOML/JSON file, --set overrides and typed values, errors naming the file or
override and the field, in the stage's own error class."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from toolbench.config import ConfigError, doc, load_config


class StageError(ConfigError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, f"stage field '{field}': {message}")


@dataclass(frozen=True)
class Settings:
    name: str = field(default="x", metadata=doc("A name."))
    steps: int = field(default=3, metadata=doc("Steps."))
    rate: float = field(default=0.5, metadata=doc("A rate."))
    files: list[str] = field(default_factory=list, metadata=doc("Files."))
    limit: int | None = field(default=None, metadata=doc("A limit."))

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise StageError("steps", "must be >= 1")


@pytest.mark.parametrize("suffix, text", [
    (".yaml", "steps: 5\nrate: 1e-4\nfiles: [a, b]\n"),
    (".toml", "steps = 5\nrate = 1e-4\nfiles = ['a', 'b']\n"),
    (".json", '{"steps": 5, "rate": 0.0001, "files": ["a", "b"]}'),
])
def test_file_formats(tmp_path, suffix, text):
    path = tmp_path / f"s{suffix}"
    path.write_text(text)
    assert load_config(Settings, path) == Settings(steps=5, rate=1e-4, files=["a", "b"])


def test_layers_base_file_sets_values(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("steps: 5\nname: file\n")
    cfg = load_config(Settings, path, ["steps=7", "limit=null", "files=[c]"], values={"name": "opt", "rate": None},
                      base=Settings(rate=0.25))
    assert cfg == Settings(name="opt", steps=7, rate=0.25, files=["c"], limit=None)
    assert load_config(Settings, None, ["rate=2", "limit="]) == Settings(rate=2.0)


def test_errors_name_the_file_or_override_and_the_field(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("stepz: 5\n")
    with pytest.raises(StageError, match=f"{path}: no Settings field 'stepz'; known fields: files, limit") as info:
        load_config(Settings, path, error=StageError)
    assert info.value.field == "stepz"
    with pytest.raises(StageError, match=r"--set 'stepz=1': no stage field 'stepz'"):
        load_config(Settings, None, ["stepz=1"], error=StageError, noun="stage")
    with pytest.raises(StageError, match=r"--set 'steps': write field=value, e\.g\. --set steps=2$"):
        load_config(Settings, None, ["steps"], error=StageError, example="steps=2")
    with pytest.raises(StageError, match=r"--set 'rate=fast': field 'rate' takes a number"):
        load_config(Settings, None, ["rate=fast"], error=StageError)
    with pytest.raises(StageError, match=r"--set 'files=\[a': the value is not YAML"):
        load_config(Settings, None, ["files=[a"], error=StageError)
    with pytest.raises(StageError, match="stage field 'steps': must be >= 1"):
        load_config(Settings, None, ["steps=0"], error=StageError)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml: config file not found"):
        load_config(Settings, tmp_path / "missing.yaml")
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = = 1")
    with pytest.raises(ConfigError, match=r"bad.toml: cannot parse \("):
        load_config(Settings, bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="list.yaml: expected a mapping of field: value, got list") as info:
        load_config(Settings, listed)
    assert info.value.field is None
