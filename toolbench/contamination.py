"""Never train on BFCL: training examples are checked against every function name and question text that the
installed ``bfcl-eval`` package ships, and an overlap stops training.

The index (:func:`load_index`, built once per process) reads every JSON file under the package's data folder
(:mod:`toolbench.bfcl_data`): all ``BFCL_v4_<category>.json`` test sets (non-live, live, multi-turn, memory,
web search, irrelevance...), the multi-turn function docs (``multi_turn_func_doc/``), the memory prerequisite
conversations and the unused older sets (``unused_datasets/question/``); possible answers only repeat the
documented names and are skipped. Every user message of a ``question`` is a question text; every function doc
(an entry's ``function`` list, or a row of a function-doc file) gives a function name.

Rules (:func:`check_training_examples`, on chat examples: ``messages`` + ``tools``, as :mod:`train.format` reads
every training format into):

- **Question text.** Texts are normalised (casefolded, whitespace runs collapsed to one space, trimmed). A user
  message overlaps when it equals or contains a BFCL question of at least :data:`MIN_QUESTION_CHARS` (40)
  normalised characters. Shorter BFCL questions ("hello", "What is 2*3?", "Where is my order #123") are
  everyday phrases that prove nothing; 5,381 of the 6,136 distinct question texts of bfcl-eval 2026.3.23 are
  long enough.
- **Function name.** A name offered in ``tools`` or called by an assistant turn overlaps when its key — the name
  split into words at ``.``, ``_``, ``-``, other non-word characters and camelCase humps, casefolded, joined by
  ``_`` — is the key of a BFCL function name that is *distinctive*: at least :data:`MIN_NAME_WORDS` (3) words
  (``calculate_triangle_area``, ``math_toolkit.sum_of_multiples``) and not one of :data:`GENERIC_NAMES`
  (everyday API names that turn up in any tool set: ``get_current_weather``, ``get_stock_price``...). Names of
  one or two words (``add``, ``ls``, ``get_weather``, ``math.factorial``, ``book_flight``) are never flagged:
  they name what many APIs do. ``math.factorial`` and ``math_factorial`` have the same key, so a BFCL function
  offered under a safe name is still found. 1,451 of the 2,027 name keys of bfcl-eval 2026.3.23 are
  distinctive.

An overlap is reported with the training file, the line (a JSON-lines file with one example a line) or the
example's number, the example's id, what matched, and the BFCL id and category; :func:`require_no_bfcl` raises
:class:`TrainingDataContaminated` listing them. When ``bfcl-eval`` is not installed the check cannot run: the
report says so (``checked`` false, ``warning``) and :func:`require_no_bfcl` warns (:class:`BfclCheckSkipped`)
instead of passing silently.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench import bfcl_data
from toolbench.errors import ToolbenchError
from toolbench.formats import jsonl

MIN_QUESTION_CHARS = 40
MIN_NAME_WORDS = 3
# Three-word BFCL names that are everyday API names, found in tool sets that have nothing to do with BFCL.
GENERIC_NAMES = frozenset({
    "get_air_quality", "get_city_name", "get_current_news", "get_current_time", "get_current_weather",
    "get_exchange_rate", "get_local_time", "get_movie_details", "get_order_details", "get_product_details",
    "get_stock_data", "get_stock_info", "get_stock_price", "get_transaction_history", "get_user_id",
    "get_user_info", "get_weather_data", "get_weather_forecast", "search_web_tool", "update_user_profile",
})
# Folders of the data whose files add nothing to the index (answers repeat the documented names).
_SKIPPED_DIRS = ("possible_answer", "executable_eval_sanity_check")
_WORDS = re.compile(r"[\W_]+|(?<=[a-z0-9])(?=[A-Z])")
_MAX_LISTED = 10


class TrainingDataContaminated(ToolbenchError):
    """Training data holds BFCL test data (a question text or a distinctive function name)."""


class BfclCheckSkipped(UserWarning):
    """The training data could not be checked against BFCL: ``bfcl-eval`` is not installed."""


def normalize_text(text: str) -> str:
    """Casefolded, whitespace runs collapsed to one space, trimmed."""
    return " ".join(text.casefold().split())


def name_key(name: str) -> str:
    """A function name's words, casefolded, joined by ``_``: ``math.Factorial`` and ``mathFactorial`` ->
    ``math_factorial``."""
    return "_".join(word for word in _WORDS.split(name) if word).casefold()


def is_distinctive(key: str) -> bool:
    """Whether a name key is specific enough that training on it is training on BFCL (see the module
    docstring)."""
    return key.count("_") + 1 >= MIN_NAME_WORDS and key not in GENERIC_NAMES


@dataclass(frozen=True)
class BfclRef:
    """Where in BFCL something comes from: an entry id (or ``<file>:<name>`` for function-doc files) and its
    category."""

    id: str
    category: str


@dataclass
class BfclIndex:
    """BFCL's distinctive function names and long question texts, for matching."""

    version: str
    names: dict[str, tuple[str, BfclRef]] = field(default_factory=dict)  # key -> (name as BFCL spells it, ref)
    questions: dict[str, BfclRef] = field(default_factory=dict)  # normalised text -> ref
    prefixes: dict[str, list[str]] = field(default_factory=dict)  # first MIN_QUESTION_CHARS chars -> texts
    files: int = 0
    name_keys_seen: int = 0
    question_texts_seen: int = 0
    unreadable: list[str] = field(default_factory=list)

    def add_name(self, name: Any, ref: BfclRef) -> None:
        if not isinstance(name, str) or not name:
            return
        key = name_key(name)
        self._name_keys.add(key)
        self.name_keys_seen = len(self._name_keys)
        if is_distinctive(key):
            self.names.setdefault(key, (name, ref))

    def add_question(self, text: Any, ref: BfclRef) -> None:
        if not isinstance(text, str):
            return
        normal = normalize_text(text)
        if not normal:
            return
        self._texts.add(normal)
        self.question_texts_seen = len(self._texts)
        if len(normal) >= MIN_QUESTION_CHARS and normal not in self.questions:
            self.questions[normal] = ref
            self.prefixes.setdefault(normal[:MIN_QUESTION_CHARS], []).append(normal)

    def __post_init__(self) -> None:
        self._name_keys: set[str] = set()
        self._texts: set[str] = set()

    def match_name(self, name: str) -> tuple[str, BfclRef] | None:
        """(BFCL's name, where) when ``name`` is a distinctive BFCL function name."""
        return self.names.get(name_key(name))

    def match_text(self, text: str) -> tuple[str, BfclRef] | None:
        """(BFCL's question, normalised, and where) when ``text`` equals or contains a long BFCL question."""
        normal = normalize_text(text)
        width = MIN_QUESTION_CHARS
        for start in range(len(normal) - width + 1):
            for question in self.prefixes.get(normal[start:start + width], ()):
                if normal.startswith(question, start):
                    return question, self.questions[question]
        return None


def _category(path: Path, data_dir: Path) -> str:
    relative = path.relative_to(data_dir)
    stem = path.stem.removeprefix("BFCL_v4_")
    if len(relative.parts) == 1:
        return stem
    if relative.parts[0] == "unused_datasets":
        return f"unused:{stem}"
    return f"{relative.parts[0]}:{stem}"


def _rows(path: Path) -> list[Any]:
    """A JSON document's rows (a list's items, or the one value) or a JSON-lines file's rows."""
    return [row.data for row in jsonl.read_rows(path)]


def _user_texts(question: Any) -> Iterable[str]:
    if isinstance(question, str):
        yield question
        return
    if not isinstance(question, list):
        return
    for turn in question:
        for message in turn if isinstance(turn, list) else [turn]:
            if isinstance(message, Mapping) and message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, str):
                    yield content


def build_index(data_dir: str | Path, version: str = "unknown") -> BfclIndex:
    """The index of every JSON file under ``data_dir`` (BFCL's data folder layout)."""
    data_dir = Path(data_dir)
    index = BfclIndex(version=version)
    for path in sorted(data_dir.rglob("*.json")):
        if any(part in _SKIPPED_DIRS for part in path.relative_to(data_dir).parts):
            continue
        try:
            rows = _rows(path)
        except jsonl.DataFileError:
            index.unreadable.append(str(path))
            continue
        index.files += 1
        category = _category(path, data_dir)
        for number, row in enumerate(rows):
            if not isinstance(row, Mapping):
                continue
            ref = BfclRef(str(row.get("id", f"{path.stem}[{number}]")), category)
            if "name" in row and ("parameters" in row or "description" in row):  # a function-doc file's row
                index.add_name(row["name"], BfclRef(f"{path.stem}:{row['name']}", category))
            functions = row.get("function")
            for function in functions if isinstance(functions, list) else [functions]:
                if isinstance(function, Mapping):
                    index.add_name(function.get("name"), ref)
            for text in _user_texts(row.get("question")):
                index.add_question(text, ref)
    return index


@functools.lru_cache(maxsize=1)
def load_index() -> BfclIndex:
    """The index of the installed ``bfcl-eval`` (built once per process); :class:`~toolbench.bfcl_data.
    BfclNotInstalled` when it is not installed."""
    return build_index(bfcl_data.data_dir(), bfcl_data.version())


# -- checking -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Overlap:
    """One example's overlap with BFCL."""

    source: str
    index: int  # 0-based position of the example in its source
    location: str  # "line 3" or "example 4"
    example_id: str
    kind: str  # "question" or "function_name"
    matched: str  # the BFCL question (normalised) or function name
    bfcl_id: str
    bfcl_category: str

    def describe(self) -> str:
        where = f"{self.source} {self.location}" if self.source else self.location
        if self.example_id:
            where += f" (id {self.example_id!r})"
        if self.kind == "question":
            text = self.matched if len(self.matched) <= 80 else self.matched[:77] + "..."
            what = f"a user message holds BFCL's question {text!r}"
        else:
            what = f"function {self.matched!r} is BFCL's"
        return f"{where}: {what} ({self.bfcl_id}, category {self.bfcl_category})"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "index": self.index, "location": self.location,
                "example_id": self.example_id, "kind": self.kind, "matched": self.matched,
                "bfcl_id": self.bfcl_id, "bfcl_category": self.bfcl_category}


@dataclass
class ContaminationReport:
    """The outcome of checking one source's examples: ``count`` overlaps (0 is clean) or ``checked`` false."""

    source: str
    examples: int
    overlaps: list[Overlap] = field(default_factory=list)
    checked: bool = True
    bfcl_eval: str | None = None
    warning: str | None = None

    @property
    def count(self) -> int:
        """Examples with at least one overlap."""
        return len({o.index for o in self.overlaps})

    @property
    def clean(self) -> bool:
        return self.checked and not self.overlaps

    def message(self) -> str:
        """What an error says: every overlap (the first ten), and what to do."""
        head = (f"{self.source or 'training data'}: {self.count} of {self.examples} training examples overlap "
                f"BFCL's test data (bfcl-eval {self.bfcl_eval}); never train on BFCL. Remove or rewrite them:")
        lines = [head]
        lines += [f"  - {o.describe()}" for o in self.overlaps[:_MAX_LISTED]]
        if len(self.overlaps) > _MAX_LISTED:
            lines.append(f"  ... and {len(self.overlaps) - _MAX_LISTED} more")
        return "\n".join(lines)

    def raise_if_any(self) -> ContaminationReport:
        if self.overlaps:
            raise TrainingDataContaminated(self.message())
        return self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "examples": self.examples, "checked": self.checked,
                               "overlapping_examples": self.count, "bfcl_eval": self.bfcl_eval,
                               "overlaps": [o.to_dict() for o in self.overlaps]}
        if self.warning:
            out["warning"] = self.warning
        return out


def _field(example: Any, name: str) -> Any:
    return example.get(name) if isinstance(example, Mapping) else getattr(example, name, None)


def _function_names(example: Any) -> list[str]:
    names = []
    for tool in _field(example, "tools") or []:
        if isinstance(tool, Mapping):
            function = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool
            names.append(function.get("name"))
    for message in _field(example, "messages") or []:
        if isinstance(message, Mapping) and message.get("role") == "assistant":
            for call in message.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, Mapping) else None
                if isinstance(function, Mapping):
                    names.append(function.get("name"))
    return [n for n in dict.fromkeys(names) if isinstance(n, str) and n]


def _user_contents(example: Any) -> list[str]:
    texts = []
    for message in _field(example, "messages") or []:
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # OpenAI content parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
            if isinstance(content, str):
                texts.append(content)
    return texts


def _locations(source: str, count: int) -> list[str]:
    """``line k`` when ``source`` is a JSON-lines file with one example per non-blank line, else ``example k``."""
    path = Path(source) if source else None
    if path is not None and path.suffix == ".jsonl" and path.is_file():
        try:
            numbers = [row.line for row in jsonl.read_rows(path) if row.line is not None]
        except jsonl.DataFileError:
            numbers = []
        if len(numbers) == count:
            return [f"line {n}" for n in numbers]
    return [f"example {k}" for k in range(1, count + 1)]


def not_installed_warning() -> str:
    return (f"{bfcl_data.PACKAGE} is not installed: the training data was NOT checked against BFCL's test sets "
            f"({bfcl_data.INSTALL_HINT})")


def check_training_examples(examples: Iterable[Any], source: str = "", *, index: BfclIndex | None = None
                            ) -> ContaminationReport:
    """Check chat examples (:class:`train.format.ChatExample` objects or ``{"messages", "tools"}`` dicts) from
    ``source`` (a file name, for messages) against BFCL; the report lists every overlap. Without an ``index``
    the installed bfcl-eval's is used; when it is not installed the report has ``checked`` false and a
    ``warning``."""
    examples = list(examples)
    if index is None:
        if not bfcl_data.installed():
            return ContaminationReport(str(source), len(examples), checked=False, warning=not_installed_warning())
        index = load_index()
    source = str(source)
    locations = _locations(source, len(examples))
    report = ContaminationReport(source, len(examples), bfcl_eval=index.version)
    for number, example in enumerate(examples):
        example_id = str(_field(example, "id") or "")

        def add(kind: str, matched: str, ref: BfclRef, number: int = number, example_id: str = example_id) -> None:
            report.overlaps.append(Overlap(source, number, locations[number], example_id, kind, matched, ref.id,
                                           ref.category))

        for text in _user_contents(example):
            found = index.match_text(text)
            if found:
                add("question", *found)
        for name in _function_names(example):
            hit = index.match_name(name)
            if hit:
                add("function_name", name, hit[1])
    return report


def require_no_bfcl(examples: Iterable[Any], source: str = "", *, index: BfclIndex | None = None
                    ) -> ContaminationReport:
    """:func:`check_training_examples`, then raise :class:`TrainingDataContaminated` on any overlap, or warn
    (:class:`BfclCheckSkipped`) when bfcl-eval is not installed. Returns the report."""
    report = check_training_examples(examples, source, index=index)
    if not report.checked:
        warnings.warn(f"{source or 'training data'}: {report.warning}", BfclCheckSkipped, stacklevel=2)
    return report.raise_if_any()
