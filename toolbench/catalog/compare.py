"""Whether two catalog folders hold the same tool files (``toolbench catalog compare``): the files only in one
of them and those whose text differs, by their path inside the folder. The demo uses it to say whether the
catalog it imported from the hub is the committed ``data/tools``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from toolbench.errors import ToolbenchError


@dataclass
class CatalogDiff:
    """Tool files (paths inside the folders) only in the first folder, only in the second, and in both with
    different text."""

    only_first: list[str] = field(default_factory=list)
    only_second: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.only_first or self.only_second or self.differing)


def _files(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        raise ToolbenchError(f"{folder}: no such catalog folder")
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.json"))}


def compare_catalogs(first: str | Path, second: str | Path) -> CatalogDiff:
    """The tool files (``*.json`` below each folder) of ``first`` and ``second`` compared by path and text."""
    ours, theirs = _files(Path(first)), _files(Path(second))
    return CatalogDiff(only_first=sorted(set(ours) - set(theirs)), only_second=sorted(set(theirs) - set(ours)),
                       differing=sorted(k for k in set(ours) & set(theirs) if ours[k] != theirs[k]))
