"""Reading JSON and JSON-lines files: the one reader behind every file input of the project.

Every problem becomes a :class:`DataFileError` (a :class:`~toolbench.errors.ToolbenchError`, so the CLI prints
it without a traceback and exits 2) whose message names the file and, for JSON lines, the line: a missing file,
a folder given for a file, binary or non-UTF-8 bytes, an empty file, invalid or truncated JSON, a row that is not
an object.

- :func:`read_text`: the file as UTF-8 text (a leading byte-order mark is dropped).
- :func:`read_json`: one JSON document.
- :func:`read_rows`: JSON lines, one JSON array, or one JSON object (one row), each row with its line number;
  ``resume=True`` reads a journal an interruption may have cut off (the first bad line ends it).
- :func:`read_jsonl`: the same rows as objects (``dict``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError


class DataFileError(ToolbenchError, ValueError):
    """A data file cannot be read; ``path`` and ``line`` (1-based, None for the whole file) say where."""

    def __init__(self, path: str | Path, message: str, line: int | None = None, column: int | None = None):
        self.path = str(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"{self.path}{location(line, column)}: {message}")


def location(line: int | None, column: int | None = None) -> str:
    """``", line 3"`` / ``", line 3, column 7"`` / ``""``: how messages name a place in a file."""
    if line is None:
        return ""
    return f", line {line}" + (f", column {column}" if column is not None else "")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_text(path: str | Path) -> str:
    """The file's text, decoded as UTF-8. A folder, a missing file, binary data (NUL bytes) or bytes that are
    not UTF-8 raise :class:`DataFileError` naming the file and the line of the first bad byte."""
    path = Path(path)
    if path.is_dir():
        raise DataFileError(path, "is a folder; expected a file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(path, "no such file") from None
    except OSError as exc:
        raise DataFileError(path, f"cannot read the file: {exc.strerror or exc}") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataFileError(path, "binary data (a NUL byte), not UTF-8 JSON text; was the wrong file given?",
                            _line_of(data, nul))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex()
        raise DataFileError(path, f"not UTF-8 text (byte 0x{bad}: {exc.reason}); save the file as UTF-8",
                            _line_of(data, exc.start)) from None


def _loads(text: str, path: Path, line: int | None = None) -> Any:
    """``json.loads`` with every failure as a DataFileError (line/column relative to the file)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at_end = exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
        hint = " (the file looks truncated: was it cut off while being written?)" if at_end else ""
        if line is None:
            raise DataFileError(path, f"invalid JSON: {exc.msg}{hint}", exc.lineno, exc.colno) from None
        raise DataFileError(path, f"invalid JSON: {exc.msg} (column {exc.colno}){hint}", line) from None
    except RecursionError:
        raise DataFileError(path, "invalid JSON: nested too deeply", line) from None
    except ValueError as exc:  # e.g. an integer too long to convert
        raise DataFileError(path, f"invalid JSON: {exc}", line) from None


def read_json(path: str | Path) -> Any:
    """One JSON document. An empty file is an error."""
    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise DataFileError(path, "the file is empty; expected JSON")
    return _loads(text, path)


@dataclass(frozen=True)
class Row:
    """One row of a JSON-lines file (``line``: its line number) or of a JSON array (``index``: its position)."""

    data: Any
    path: Path
    line: int | None = None
    index: int | None = None

    @property
    def where(self) -> str:
        """``"file, line 3"``, ``"file [2]"`` or ``"file"``: the row's place, for messages."""
        if self.line is not None:
            return f"{self.path}, line {self.line}"
        if self.index is not None:
            return f"{self.path} [{self.index}]"
        return str(self.path)

    def error(self, message: str) -> DataFileError:
        """A DataFileError about this row."""
        if self.line is None and self.index is not None:
            message = f"[{self.index}]: {message}"
        return DataFileError(self.path, message, self.line)


def read_rows(path: str | Path, *, resume: bool = False) -> list[Row]:
    """The rows of a JSON-lines file (blank lines skipped), of a file holding one JSON array, or the one object
    of a JSON file. An empty file gives ``[]``; callers decide whether that is an error.

    ``resume`` reads a journal that an interrupted run may have cut off: JSON lines only, and the first line that
    is not valid JSON ends the rows instead of being an error."""
    path = Path(path)
    text = read_text(path)
    if resume:
        return _rows_until_bad_line(text, path)
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith("["):
        data = _loads(text, path)
        if not isinstance(data, list):  # pragma: no cover - a document starting with "[" is a list
            raise DataFileError(path, "expected a JSON array")
        return [Row(item, path, index=i) for i, item in enumerate(data)]
    lines = text.splitlines()
    if len([line for line in lines if line.strip()]) > 1 and stripped.startswith("{"):
        try:  # one object written over several lines
            return [Row(json.loads(text), path)]
        except (ValueError, RecursionError):
            pass  # JSON lines, or a bad file: read line by line to name the line
    return [Row(_loads(line, path, number), path, line=number)
            for number, line in enumerate(lines, 1) if line.strip()]


def _rows_until_bad_line(text: str, path: Path) -> list[Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(Row(json.loads(line), path, line=number))
        except (ValueError, RecursionError):
            break  # a line cut off by an interruption ends the file
    return rows


def read_jsonl(path: str | Path, *, resume: bool = False) -> list[dict[str, Any]]:
    """The rows of :func:`read_rows`, each of which must be a JSON object (``resume``: see there)."""
    rows = read_rows(path, resume=resume)
    for row in rows:
        if not isinstance(row.data, dict):
            raise row.error(f"expected a JSON object, got {json_type(row.data)}")
    return [row.data for row in rows]


def json_type(value: Any) -> str:
    """A value's JSON type name, for messages: object, array, string, number, boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
