"""The one atomic writer: a file or a folder takes its name only when complete; a failure leaves nothing."""

import json
import stat

import pytest

from toolbench.formats.atomic import (
    atomic_dir,
    atomic_file,
    leftovers,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as folder:
        (folder / "x").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(target) as folder:
        (folder / "x").write_text("2")
        raise RuntimeError("interrupted")
    assert (target / "x").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert stat.S_IMODE(target.stat().st_mode) & 0o755 == 0o755  # not left private as mkdtemp made it


def test_atomic_dir_clears_what_a_killed_run_left_when_asked(tmp_path):
    target = tmp_path / "out"
    stale = tmp_path / ".out.tmp-killed"
    stale.mkdir()
    assert leftovers(target) == [stale]
    with atomic_dir(target) as folder:
        (folder / "x").write_text("1")
    assert stale.exists()
    with atomic_dir(target, clear_leftovers=True) as folder:
        (folder / "x").write_text("2")
    assert not stale.exists() and (target / "x").read_text() == "2"


def test_atomic_file_leaves_nothing_on_failure(tmp_path):
    path = tmp_path / "sub" / "a.json"
    write_json_atomic(path, {"é": [1]})
    assert path.read_text(encoding="utf-8") == '{\n  "é": [\n    1\n  ]\n}\n'
    with pytest.raises(KeyboardInterrupt), atomic_file(path) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert json.loads(path.read_text(encoding="utf-8")) == {"é": [1]}
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]
    assert stat.S_IMODE(path.stat().st_mode) & 0o644 == 0o644  # readable like a plainly written file


def test_text_and_json_lines(tmp_path):
    assert write_text_atomic(tmp_path / "t.md", "# x\n").read_text() == "# x\n"
    rows = write_jsonl_atomic(tmp_path / "r.jsonl", [{"a": 1}, {"b": object}], default=repr)
    assert [json.loads(line) for line in rows.read_text().splitlines()] == [{"a": 1}, {"b": repr(object)}]
