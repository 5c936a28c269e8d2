"""Helpers of the retriever tests: a toy corpus and deterministic fake encoders (no model)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

import numpy as np

from retriever.corpus import Corpus
from toolbench.records import Api, Param, Query


class TableEncoder:
    """Encodes a text as the (normalised) vector of the first table key it contains: texts are told apart by
    a marker word, so expected rankings can be worked out by hand."""

    name = "fake-table"

    def __init__(self, table: Mapping[str, Sequence[float]]):
        self.table = {k: np.asarray(v, dtype=np.float32) for k, v in table.items()}
        self.dim = len(next(iter(self.table.values())))

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        rows = []
        for text in texts:
            keys = [k for k in self.table if re.search(rf"\b{re.escape(k)}\b", text)]
            if len(keys) != 1:
                raise AssertionError(f"text {text[:60]!r} matches {keys} of the fake table")
            v = self.table[keys[0]]
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.dim), np.float32)


class HashingEncoder:
    """A bag of words hashed (sha256, so the same in every process) into ``dim`` buckets, normalised."""

    name = "fake-hashing"

    def __init__(self, dim: int = 64):
        self.dim = dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", text.lower()):
                out[i, int(hashlib.sha256(w.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = np.linalg.norm(out[i])
            if norm:
                out[i] /= norm
        return out


def make_api(tool: str, name: str, description: str, category: str = "Data") -> Api:
    return Api(tool=tool, name=name, description=description, category=category,
               required_params=[Param(name="q", type="STRING", description="what to look for", required=True)],
               response_schema={"result": "str"})


TOY_APIS = [
    ("Weatherly", "current weather", "current temperature, wind and rain for a city"),
    ("Weatherly", "forecast", "seven day weather forecast for a city"),
    ("Moneybox", "convert currency", "convert an amount between two currencies at today's exchange rate"),
    ("Moneybox", "exchange history", "historical exchange rates of a currency pair"),
    ("Filmography", "search movies", "search movies by title and return cast and year"),
    ("Filmography", "actor details", "biography and filmography of an actor"),
    ("Recipes", "find recipe", "recipes with a given ingredient, with cooking time"),
    ("Recipes", "nutrition facts", "calories and nutrients of a food"),
]


def toy_corpus() -> Corpus:
    return Corpus.from_apis(make_api(t, n, d) for t, n, d in TOY_APIS)


def make_query(qid: str, text: str, relevant: list[tuple[str, str]], group: str = "G1") -> Query:
    apis = [make_api(t, n, d) for t, n, d in TOY_APIS if (t, n) in relevant]
    return Query(id=qid, text=text, group=group, apis=apis, relevant=relevant)


def build_tiny_model(folder, *, hidden: int = 32, layers: int = 2, seed: int = 0):
    """A tiny randomly initialised BERT sentence-transformers model (the packaged MiniLM's tokenizer and
    module layout, 32-wide, 2 layers), built in-process: it trains in milliseconds a step on CPU."""
    import json
    import shutil
    from pathlib import Path

    import torch
    from transformers import BertConfig, BertModel

    from retriever.encoder import packaged_model_path

    src, folder = packaged_model_path(), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "vocab.txt",
                 "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(src / name, folder / name)
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pooling = json.loads((src / "1_Pooling" / "config.json").read_text())
    pooling["word_embedding_dimension"] = hidden
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    return folder
