"""The retrieval corpus: one document per API, in the shape ToolBench's retriever was trained on.

A document reads ``category, tool, api, description, required_params: [...], optional_params: [...],
return_schema: {...}``, with the parameters and response schema as JSON, so the most telling parts come first
and a 256-token limit cuts the response schema before anything else. A document's id is ``tool<TAB>api``: it
depends on the names only, so ids stay the same whatever order or file the APIs come from.

A dense model may read documents in another style (:data:`DOC_STYLES`): ``compact`` reads ``category, tool,
api: description. parameters: name (description); ... returns: field, field, ...``, the parameter and response
field names as words, without JSON's keys, types and examples, so a 128-token limit keeps what a request talks
about (the fields it wants back) where the ToolBench style cuts half of the documents before their response
schema. BM25 always reads the ToolBench style. A trained model records its style (``retriever.encoder``).

A corpus is saved as JSON lines, one document a line, keeping each API's query-file entry so that a search hit
can hand back a full :class:`~toolbench.records.Api`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retriever.errors import RetrieverError
from toolbench.formats import jsonl
from toolbench.records import Api, Query, RecordError

SEP = "\t"
DOC_STYLES = ("toolbench", "compact")
COMPACT_FIELDS = 24  # response fields named in a compact document


def doc_id(tool: str, api: str) -> str:
    """The stable id of an API's document: ``tool<TAB>api``."""
    if SEP in tool or SEP in api:
        raise RetrieverError(f"tool {tool!r} / API {api!r}: a name contains a tab, which document ids use as "
                             "separator; rename it in the catalog")
    return f"{tool}{SEP}{api}"


def split_doc_id(did: str) -> tuple[str, str]:
    """``(tool, api)`` back from a document id."""
    tool, sep, api = did.partition(SEP)
    if not sep:
        raise RetrieverError(f"{did!r} is not a document id (expected 'tool<TAB>api')")
    return tool, api


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def document_text(api: Api) -> str:
    """An API rendered as ToolBench's retriever renders it (category, tool, api, description, parameters,
    response schema), parameters as their query-file JSON."""
    schema = api.response_schema
    if schema is None:
        schema = {}
    return (
        f"{api.category}, {api.tool}, {api.name}, {api.description}"
        f", required_params: {_json([p.to_dict() for p in api.required_params])}"
        f", optional_params: {_json([p.to_dict() for p in api.optional_params])}"
        f", return_schema: {schema if isinstance(schema, str) else _json(schema)}"
    )


def _words(name: str) -> str:
    """``venueName`` / ``venue_name`` / ``venue-name`` -> ``venue name``."""
    return re.sub(r"[_\-\s]+", " ", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)).strip().lower()


def _field_names(schema: Any, out: list[str], depth: int = 0) -> None:
    """The keys of a ToolBench response schema, breadth first down to three levels (``_list_length`` and
    ``$oid``-style keys left out); a JSON string is parsed, anything else is ignored."""
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError:
            return
    if isinstance(schema, list) and schema:
        _field_names(schema[0], out, depth)
    elif isinstance(schema, dict):
        for key in schema:
            if isinstance(key, str) and key and key[0] not in "_$" and _words(key) not in out:
                out.append(_words(key))
        if depth < 2:
            for value in schema.values():
                _field_names(value, out, depth + 1)


def compact_text(api: Api) -> str:
    """An API as the ``compact`` style renders it: names and descriptions as words, the response's field
    names, no JSON."""
    parts = [f"{api.category}, {api.tool}, {api.name}: {api.description.strip()}"]
    params = [_words(p.name) + (f" ({p.description.strip()})" if p.description.strip() else "") for p in api.params]
    if params:
        parts.append("parameters: " + "; ".join(params))
    fields: list[str] = []
    _field_names(api.response_schema, fields)
    if fields:
        parts.append("returns: " + ", ".join(fields[:COMPACT_FIELDS]))
    return ". ".join(parts)


def check_doc_style(style: str) -> str:
    if style not in DOC_STYLES:
        raise RetrieverError(f"unknown document style {style!r}; use one of {', '.join(DOC_STYLES)}")
    return style


@dataclass(frozen=True)
class Document:
    """One API's document: its id, its text, and the API it was made from."""

    id: str
    text: str
    api: Api

    @property
    def tool(self) -> str:
        return self.api.tool

    @property
    def name(self) -> str:
        return self.api.name

    def text_as(self, style: str) -> str:
        """The document in a style of :data:`DOC_STYLES` (``toolbench``: its text as built or saved)."""
        return self.text if check_doc_style(style) == "toolbench" else compact_text(self.api)

    @classmethod
    def from_api(cls, api: Api) -> Document:
        return cls(id=doc_id(api.tool, api.name), text=document_text(api), api=api)


@dataclass
class Corpus:
    """Documents in a fixed order (the row order of an index); ids are unique."""

    docs: list[Document] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pos: dict[str, int] = {}
        for i, doc in enumerate(self.docs):
            if doc.id in self._pos:
                tool, api = split_doc_id(doc.id)
                raise RetrieverError(f"the corpus has API {api!r} of tool {tool!r} twice (rows "
                                     f"{self._pos[doc.id]} and {i}); keep one document per API")
            self._pos[doc.id] = i

    def __len__(self) -> int:
        return len(self.docs)

    def __iter__(self) -> Iterator[Document]:
        return iter(self.docs)

    def __contains__(self, did: object) -> bool:
        return did in self._pos

    def __getitem__(self, did: str) -> Document:
        try:
            return self.docs[self._pos[did]]
        except KeyError:
            tool, api = split_doc_id(did)
            raise RetrieverError(f"API {api!r} of tool {tool!r} is not in the corpus") from None

    def position(self, did: str) -> int:
        """The row of a document (its position in an index built from this corpus)."""
        return self._pos[did]

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.docs]

    @property
    def texts(self) -> list[str]:
        return [d.text for d in self.docs]

    def texts_as(self, style: str) -> list[str]:
        """Every document's text in a style of :data:`DOC_STYLES`, in index order."""
        check_doc_style(style)
        return [d.text_as(style) for d in self.docs]

    # -- building ------------------------------------------------------------------------------------
    @classmethod
    def from_apis(cls, apis: Iterable[Api]) -> Corpus:
        """One document per (tool, api); when an API comes more than once, its first occurrence is kept."""
        docs: dict[str, Document] = {}
        for api in apis:
            did = doc_id(api.tool, api.name)
            if did not in docs:
                docs[did] = Document(id=did, text=document_text(api), api=api)
        return cls(list(docs.values()))

    @classmethod
    def from_queries(cls, queries: Iterable[Query]) -> Corpus:
        """The union of the APIs offered by the queries (their ``api_list``s), in order of first appearance."""
        return cls.from_apis(api for q in queries for api in q.apis)

    @classmethod
    def from_tool_dir(cls, root: str | os.PathLike) -> Corpus:
        """Every API of a ToolBench tool folder (``<root>/<Category>/<tool>.json``, as in ToolBench's
        ``data/toolenv/tools`` or a catalog written by ``toolbench catalog``); raises the catalog's errors."""
        from toolbench.catalog.store import CatalogError, load_catalog

        catalog = load_catalog(root)
        if catalog.errors:
            raise CatalogError(catalog.errors)
        apis = []
        for tool in catalog.tools:
            for api in tool.apis:
                api.category = api.category or tool.category
                apis.append(api)
        if not apis:
            raise RetrieverError(f"{root}: no APIs found; give a ToolBench tools folder (<Category>/<tool>.json)")
        return cls.from_apis(apis)

    # -- files ---------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the corpus as JSON lines: ``{"id", "text", "api"}`` with ``api`` the query-file entry."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for d in self.docs:
                f.write(_json({"id": d.id, "text": d.text, "api": d.api.to_query_dict()}) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Corpus:
        """Read a corpus written by :meth:`save`. The text is taken as saved (it may come from elsewhere)."""
        path = Path(path)
        if not path.is_file():
            raise RetrieverError(f"{path}: corpus file not found")
        docs: list[Document] = []
        for row in read_rows(path):
            where, data = row_place(row), row.data
            if not isinstance(data, dict) or not isinstance(data.get("api"), dict):
                raise RetrieverError(f"{where}: expected an object with 'id', 'text' and 'api'")
            try:
                api = Api.from_query_dict(data["api"], where=f"{where}.api")
            except RecordError as exc:
                raise RetrieverError(str(exc)) from exc
            did = doc_id(api.tool, api.name)
            if data.get("id", did) != did:
                raise RetrieverError(f"{where}: id {data['id']!r} does not match the API's tool and name")
            text = data.get("text")
            if not isinstance(text, str):
                text = document_text(api)
            docs.append(Document(id=did, text=text, api=api))
        return cls(docs)


def read_rows(path: Path, what: str = "not valid JSON") -> list[jsonl.Row]:
    """The rows of a JSON-lines file (:func:`toolbench.formats.jsonl.read_rows`); a file that cannot be read is a
    RetrieverError ``file:line: <what> (<problem>)``."""
    try:
        return jsonl.read_rows(path)
    except jsonl.DataFileError as exc:
        where = exc.path if exc.line is None else f"{exc.path}:{exc.line}"
        raise RetrieverError(f"{where}: {what} ({exc.message})") from None


def row_place(row: jsonl.Row) -> str:
    """``file:line`` (``file [i]`` for an item of a JSON list): how the retriever's messages name a row."""
    return f"{row.path}:{row.line}" if row.line is not None else row.where


def load_corpus(path: str | os.PathLike | None, queries: Iterable[Query] = ()) -> Corpus:
    """The corpus at ``path`` (a ``corpus.jsonl`` or a ToolBench tools folder), or, when ``path`` is None,
    the union of the ``queries``' APIs."""
    if path is None:
        corpus = Corpus.from_queries(queries)
        if len(corpus) == 0:
            raise RetrieverError("the queries offer no APIs (empty api_lists): give a corpus file or tools folder")
        return corpus
    p = Path(path)
    return Corpus.from_tool_dir(p) if p.is_dir() else Corpus.load(p)
