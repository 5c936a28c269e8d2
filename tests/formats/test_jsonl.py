"""The shared JSON / JSON-lines reader: every bad file is an error naming the file and the line."""

from pathlib import Path

import pytest

from toolbench.formats import jsonl

BINARY = b"\x1f\x8b\x08\x00\x00\x00binary\xff\xfe"  # a gzip header: NUL bytes on line 1
LATIN1 = '{"id": "caf\xe9"}\n'.encode("latin-1")  # a byte 0xe9 that is not UTF-8


def write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_reader_names_file_and_line(tmp_path):
    path = write(tmp_path / "rows.jsonl", b'{"a": 1}\n\n{"a": 2}\n{"a": \n')
    with pytest.raises(jsonl.DataFileError, match=r"rows.jsonl, line 4: invalid JSON"):
        jsonl.read_rows(path)
    path = write(tmp_path / "bin.jsonl", b'{"a": 1}\n' + BINARY)
    with pytest.raises(jsonl.DataFileError, match=r"bin.jsonl, line 2: binary data"):
        jsonl.read_rows(path)
    path = write(tmp_path / "latin.json", b'{"a": 1}\n' + LATIN1)
    with pytest.raises(jsonl.DataFileError, match=r"latin.json, line 2: not UTF-8 text \(byte 0xe9"):
        jsonl.read_rows(path)
    with pytest.raises(jsonl.DataFileError, match="is a folder"):
        jsonl.read_json(tmp_path)
    with pytest.raises(jsonl.DataFileError, match="no such file"):
        jsonl.read_json(tmp_path / "missing.json")
    with pytest.raises(jsonl.DataFileError, match="empty"):
        jsonl.read_json(write(tmp_path / "empty.json", "  \n"))
    with pytest.raises(jsonl.DataFileError, match=r"line 1, column \d+: invalid JSON.*truncated"):
        jsonl.read_json(write(tmp_path / "cut.json", '{"a": [1, 2'))
    with pytest.raises(jsonl.DataFileError, match=r"rows.json, line 2: expected a JSON object, got array"):
        jsonl.read_jsonl(write(tmp_path / "rows.json", '{"a": 1}\n[1]\n'))
    # JSON lines, one array, one object over several lines, and a byte-order mark all read
    assert jsonl.read_jsonl(write(tmp_path / "a.json", '[{"a": 1}, {"a": 2}]')) == [{"a": 1}, {"a": 2}]
    assert jsonl.read_jsonl(write(tmp_path / "o.json", '{\n  "a": 1\n}\n')) == [{"a": 1}]
    assert jsonl.read_jsonl(write(tmp_path / "bom.jsonl", b'\xef\xbb\xbf{"a": 1}\n')) == [{"a": 1}]
    assert [r.line for r in jsonl.read_rows(write(tmp_path / "l.jsonl", '{"a": 1}\n\n{"a": 2}\n'))] == [1, 3]


def test_resume_reads_a_journal_up_to_the_line_an_interruption_cut(tmp_path):
    path = write(tmp_path / "journal.jsonl", '{"a": 1}\n\n{"a": 2}\n{"a": 3, "b": [\n{"a": 4}\n')
    assert jsonl.read_jsonl(path, resume=True) == [{"a": 1}, {"a": 2}]
    assert [r.line for r in jsonl.read_rows(path, resume=True)] == [1, 3]
    with pytest.raises(jsonl.DataFileError, match="line 4: invalid JSON"):
        jsonl.read_jsonl(path)
