"""Reading and writing training-data files in any of the formats, told apart row by row."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from train.errors import FormatError
from train.format.example import FORMATS, ChatExample
from train.format.openai_jsonl import from_openai, to_openai
from train.format.sharegpt import from_sharegpt, to_sharegpt
from train.format.toolbench_answers import from_toolbench_answer
from train.format.toolllama import from_toolllama, last_turn_only, to_toolllama

_WRITERS = {"chat": ChatExample.to_dict, "openai": to_openai, "sharegpt": to_sharegpt, "toolllama": to_toolllama}


def detect_format(row: Any) -> str:
    """The format of one row: ``toolbench``, ``openai`` (also ``chat``), ``sharegpt`` or ``toolllama``."""
    if isinstance(row, dict):
        if "answer_generation" in row:
            return "toolbench"
        if "messages" in row:
            return "openai"
        turns = row.get("conversations")
        if isinstance(turns, list):
            tags = {tag for t in turns if isinstance(t, dict) for tag in [t.get("from", t.get("role"))]
                    if isinstance(tag, str)}
            if tags & {"human", "gpt", "function_call", "observation"}:
                return "sharegpt"
            if tags & {"function", "assistant"} and "system" in tags:
                return "toolllama"
            return "sharegpt"
    raise FormatError("", "cannot tell the format of this row; name it (openai, sharegpt, toolllama, toolbench)")


def _rows(path: Path) -> list[tuple[Any, str]]:
    """(row, where) for each row of a file: the lines of a ``.jsonl`` file (``file:line``), the items of a JSON
    list (``file[i]``), or the one JSON object of a ``.json`` file. Read with :mod:`toolbench.formats.jsonl`, so a
    binary, non-UTF-8, empty or invalid file is a FormatError naming the file (and line)."""
    from toolbench.formats.jsonl import DataFileError, read_json, read_rows

    try:
        if path.suffix == ".jsonl":
            rows = read_rows(path)
            if not rows:
                raise FormatError(str(path), "the file is empty; expected JSON lines of examples")
            return [(row.data, f"{path}:{row.line}" if row.line is not None
                     else f"{path}[{row.index}]" if row.index is not None else str(path)) for row in rows]
        data = read_json(path)
    except DataFileError as exc:
        raise FormatError(exc.path if exc.line is None else f"{exc.path}:{exc.line}", exc.message) from None
    if isinstance(data, list):
        if not data:
            raise FormatError(str(path), "an empty list; expected examples")
        return [(row, f"{path}[{i}]") for i, row in enumerate(data)]
    return [(data, str(path))]


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file())
        if not files:
            raise FormatError(str(path), "the folder holds no .json or .jsonl files")
        return files
    if not path.exists():
        raise FormatError(str(path), "no such file or folder")
    return [path]


def read_examples(path: str | Path, fmt: str = "auto", *, steps: bool = False,
                  only_give_answer: bool = False) -> list[ChatExample]:
    """All examples in a file or folder (``.json`` lists or objects, ``.jsonl`` lines), in file order.

    ``fmt="auto"`` tells each row's format by its keys. ``steps``/``only_give_answer`` apply to ToolBench answer
    files (see :func:`from_toolbench_answer`); ToolLLaMA rows keep ToolBench's loss on the last turn only.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise FormatError(str(path), f"unknown format {fmt!r}; use auto or one of {FORMATS}")
    out: list[ChatExample] = []
    for file in _files(Path(path)):
        for row, where in _rows(file):
            kind = detect_format(row) if fmt == "auto" else fmt
            if kind == "toolbench":
                out.extend(from_toolbench_answer(row, id=file.stem, steps=steps, only_give_answer=only_give_answer,
                                                 where=where))
            elif kind in ("openai", "chat"):
                out.append(from_openai(row, where))
            elif kind == "sharegpt":
                out.append(from_sharegpt(row, where))
            else:
                out.append(last_turn_only(from_toolllama(row, where)))
    if not out:
        raise FormatError(str(path), "no training examples found (ToolBench answers without a valid tree give "
                                     "none)")
    return out


def write_examples(path: str | Path, examples: Iterable[ChatExample], fmt: str = "openai") -> Path:
    """Write examples: ``openai`` and ``chat`` as JSONL, ``sharegpt`` and ``toolllama`` as a JSON list."""
    if fmt not in _WRITERS:
        raise FormatError(str(path), f"cannot write format {fmt!r}; use one of {sorted(_WRITERS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [_WRITERS[fmt](ex) for ex in examples]
    if fmt in ("openai", "chat"):
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
