"""A faiss index over the corpus's embeddings, and the Python API that annotation and evaluation use.

```python
from retriever.index import ApiRetriever
retriever = ApiRetriever.load("runs/retriever/index")
for hit in retriever.search("find concerts of the Arctic Monkeys", k=5):
    print(hit.score, hit.tool, hit.name)      # hit.api is the full toolbench.records.Api
```

Embeddings are unit vectors, so inner product is cosine similarity. The default index is exact (``flat``:
``IndexFlatIP``); past ~100k APIs, ``ivf`` (``IndexIVFFlat``, trained on the corpus) or ``hnsw``
(``IndexHNSWFlat``) trade a little recall for speed. A saved index is a folder:

- ``index.faiss``: the faiss index; row i is document i of ``corpus.jsonl``;
- ``corpus.jsonl``: the id map, one document per line with its API (see :mod:`retriever.corpus`);
- ``meta.json``: the model that made the embeddings, the index kind and its parameters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retriever.corpus import Corpus
from retriever.encoder import Encoder
from retriever.errors import RetrieverError
from toolbench.records import Api

if TYPE_CHECKING:
    import numpy as np

INDEX_KINDS = ("flat", "ivf", "hnsw")
FORMAT_VERSION = 1
LARGE_CORPUS = 100_000  # past this, suggest an approximate index
INDEX_FILE, CORPUS_FILE, META_FILE = "index.faiss", "corpus.jsonl", "meta.json"


@dataclass(frozen=True)
class Hit:
    """One search result: rank (1 = best), cosine score, and the API."""

    rank: int
    score: float
    doc_id: str
    api: Api

    @property
    def tool(self) -> str:
        return self.api.tool

    @property
    def name(self) -> str:
        return self.api.name

    def to_dict(self) -> dict:
        return {"rank": self.rank, "score": self.score, "tool": self.tool, "api": self.name,
                "category": self.api.category, "description": self.api.description}


@dataclass
class IndexMeta:
    """What ``meta.json`` records: enough to rebuild the query encoder and check the files agree."""

    model: str
    kind: str = "flat"
    dim: int = 0
    count: int = 0
    nlist: int = 0  # ivf: number of clusters
    nprobe: int = 0  # ivf: clusters visited per query
    hnsw_m: int = 0  # hnsw: links per node
    ef_search: int = 0  # hnsw: candidate list size at query time
    max_seq_length: int | None = None
    format: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> IndexMeta:
        if not isinstance(data, dict) or not isinstance(data.get("model"), str):
            raise RetrieverError(f"{where}: not an index description (needs at least 'model')")
        if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
            raise RetrieverError(f"{where}: index format {data.get('format')} is not {FORMAT_VERSION}; rebuild "
                                 "it with `toolbench retriever index`")
        if data.get("kind", "flat") not in INDEX_KINDS:
            raise RetrieverError(f"{where}: unknown index kind {data.get('kind')!r}; one of {INDEX_KINDS}")
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(**{k: v for k, v in data.items() if k in known},
                   extra={k: v for k, v in data.items() if k not in known})


def _build_faiss(vectors: np.ndarray, kind: str, *, nlist: int, nprobe: int, hnsw_m: int,
                 ef_search: int) -> Any:
    import faiss

    _n, dim = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "ivf":
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = nprobe
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = ef_search
    else:
        raise RetrieverError(f"unknown index kind {kind!r}; use one of {', '.join(INDEX_KINDS)}")
    index.add(vectors)
    return index


class ApiRetriever:
    """Dense API search: an :class:`Encoder` for queries, a faiss index of the corpus's documents."""

    def __init__(self, corpus: Corpus, index: Any, encoder: Encoder, meta: IndexMeta):
        if index.ntotal != len(corpus):
            raise RetrieverError(f"the index holds {index.ntotal} vectors but the corpus {len(corpus)} documents; "
                                 "rebuild the index")
        self.corpus = corpus
        self.index = index
        self.encoder = encoder
        self.meta = meta

    # -- building --------------------------------------------------------------------------------------
    @classmethod
    def build(cls, corpus: Corpus, encoder: Encoder, *, kind: str = "flat", nlist: int | None = None,
              nprobe: int = 16, hnsw_m: int = 32, ef_search: int = 128, batch_size: int = 64,
              max_seq_length: int | None = None) -> ApiRetriever:
        """Embed every document and index it. ``nlist`` (ivf) defaults to ~4*sqrt(n), at most n/39 so each
        cluster has enough training points, and at least 1."""
        import numpy as np

        if kind not in INDEX_KINDS:
            raise RetrieverError(f"unknown index kind {kind!r}; use one of {', '.join(INDEX_KINDS)}")
        if len(corpus) == 0:
            raise RetrieverError("the corpus is empty: nothing to index")
        style = getattr(encoder, "doc_style", "toolbench")  # the style the model was trained on
        vectors = np.ascontiguousarray(encoder.encode(corpus.texts_as(style), batch_size=batch_size),
                                       dtype=np.float32)
        n, dim = vectors.shape
        if n != len(corpus):
            raise RetrieverError(f"the encoder returned {n} vectors for {len(corpus)} documents")
        if kind == "ivf":
            nlist = nlist or max(1, min(int(4 * n ** 0.5), n // 39))
            if nlist > n:
                raise RetrieverError(f"ivf: nlist {nlist} is more than the {n} documents; lower --nlist")
        index = _build_faiss(vectors, kind, nlist=nlist or 0, nprobe=nprobe, hnsw_m=hnsw_m, ef_search=ef_search)
        meta = IndexMeta(model=encoder.name, kind=kind, dim=dim, count=n,
                         nlist=(nlist or 0) if kind == "ivf" else 0, nprobe=nprobe if kind == "ivf" else 0,
                         hnsw_m=hnsw_m if kind == "hnsw" else 0, ef_search=ef_search if kind == "hnsw" else 0,
                         max_seq_length=max_seq_length)
        meta.extra["backend"] = getattr(encoder, "backend", "torch")
        meta.extra["doc_style"] = style
        return cls(corpus, index, encoder, meta)

    # -- files -----------------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        import faiss

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / INDEX_FILE))
        self.corpus.save(folder / CORPUS_FILE)
        meta = asdict(self.meta)
        meta.update(meta.pop("extra"))
        (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, *, encoder: Encoder | None = None, model: str | None = None,
             device: str = "cpu") -> ApiRetriever:
        """Open a saved index. The query encoder is the model named in ``meta.json`` unless ``model`` (a path)
        or a ready ``encoder`` is given."""
        import faiss

        folder = Path(folder)
        for name in (INDEX_FILE, CORPUS_FILE, META_FILE):
            if not (folder / name).is_file():
                raise RetrieverError(f"{folder}: no {name}; is this a folder made by `toolbench retriever index`?")
        try:
            meta = IndexMeta.from_dict(json.loads((folder / META_FILE).read_text(encoding="utf-8")),
                                       str(folder / META_FILE))
        except json.JSONDecodeError as exc:
            raise RetrieverError(f"{folder / META_FILE}: not valid JSON ({exc})") from exc
        corpus = Corpus.load(folder / CORPUS_FILE)
        index = faiss.read_index(str(folder / INDEX_FILE))
        if index.d != meta.dim:
            raise RetrieverError(f"{folder}: index vectors have {index.d} dimensions but meta.json says {meta.dim}")
        if meta.kind == "ivf" and meta.nprobe:
            faiss.extract_index_ivf(index).nprobe = meta.nprobe
        if meta.kind == "hnsw" and meta.ef_search:
            index.hnsw.efSearch = meta.ef_search
        if encoder is None:  # queries are encoded on the backend the documents were (see meta.json 'backend')
            from retriever.encoder import load_encoder

            encoder = load_encoder(model or meta.model, backend=meta.extra.get("backend", "torch"), device=device,
                                   max_seq_length=meta.max_seq_length)
        return cls(corpus, index, encoder, meta)

    # -- search ----------------------------------------------------------------------------------------
    def _search_vectors(self, texts: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        if k < 1:
            raise RetrieverError(f"k must be at least 1, got {k}")
        q = np.ascontiguousarray(self.encoder.encode(list(texts)), dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.meta.dim:
            raise RetrieverError(f"the query encoder {self.encoder.name!r} gives {q.shape[-1]}-dimensional "
                                 f"vectors but the index holds {self.meta.dim}-dimensional ones (made by "
                                 f"{self.meta.model!r}); use the model the index was built with")
        return self.index.search(q, min(k, len(self.corpus)))

    def rank(self, texts: Sequence[str], k: int | None = None) -> list[list[tuple[str, float]]]:
        """For each text, the top ``k`` (all when None) documents as ``(doc id, score)``, best first."""
        if not texts:
            return []
        scores, rows = self._search_vectors(texts, k or len(self.corpus))
        ids = self.corpus.ids
        return [[(ids[r], float(s)) for s, r in zip(srow, rrow) if r >= 0] for srow, rrow in zip(scores, rows)]

    def search_many(self, texts: Sequence[str], k: int = 5, *, sentences: bool = False) -> list[list[Hit]]:
        """:meth:`search` for many texts at once."""
        from retriever.sentences import SentenceViews

        out = []
        for ranked in (SentenceViews(self) if sentences else self).rank(texts, k):
            out.append([Hit(rank=i, score=s, doc_id=d, api=self.corpus[d].api)
                        for i, (d, s) in enumerate(ranked, start=1)])
        return out

    def search(self, text: str, k: int = 5, *, sentences: bool = False) -> list[Hit]:
        """The ``k`` APIs whose documents are closest to ``text``, best first; with ``sentences``, scored by the
        whole text's cosine plus its best sentence's (:mod:`retriever.sentences`; scores then run to 2)."""
        return self.search_many([text], k, sentences=sentences)[0]
