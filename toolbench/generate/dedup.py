"""Duplicate and near-duplicate detection for generated texts (English, Chinese, or mixed).

Texts are normalised (case folded, punctuation dropped, whitespace collapsed); two texts are duplicates when
their normal forms are equal, and near-duplicates when the Jaccard similarity of their character 3-gram sets
reaches a threshold (bigrams for mostly-Chinese text). Character n-grams need no word segmentation, so Chinese works as well as English. An
inverted index from n-gram to texts gives each candidate's overlap directly, so a check costs about the number
of texts sharing an n-gram with the new one, not the size of the whole index.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def normalize_text(text: str) -> str:
    """``"What's the  weather, Paris?"`` -> ``"what s the weather paris"``."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _PUNCT.sub(" ", text).strip()


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def shingles(text: str, n: int = 3) -> frozenset[str]:
    """The set of character n-grams of the normalised text (the whole text when it is shorter than n). Mostly
    Chinese text uses bigrams: one character there carries about as much as a short English word."""
    norm = normalize_text(text)
    if norm and len(_CJK.findall(norm)) >= 0.3 * len(norm):
        n = min(n, 2)
    if len(norm) <= n:
        return frozenset([norm]) if norm else frozenset()
    return frozenset(norm[i:i + n] for i in range(len(norm) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass
class Match:
    """Why a text was refused: ``kind`` is ``duplicate`` or ``near_duplicate``; ``other`` the key of the text it
    matches and ``similarity`` their Jaccard similarity."""

    kind: str
    other: str
    similarity: float


@dataclass
class DedupIndex:
    """Texts kept so far; :meth:`check` says whether a new one repeats one of them."""

    threshold: float = 0.8
    n: int = 3
    _exact: dict[str, str] = field(default_factory=dict)
    _sizes: dict[str, int] = field(default_factory=dict)
    _postings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def __len__(self) -> int:
        return len(self._sizes)

    def check(self, text: str) -> Match | None:
        norm = normalize_text(text)
        if norm in self._exact:
            return Match("duplicate", self._exact[norm], 1.0)
        grams = shingles(text, self.n)
        overlap: Counter[str] = Counter()
        for gram in grams:
            for key in self._postings.get(gram, ()):
                overlap[key] += 1
        best: Match | None = None
        for key, inter in overlap.items():
            sim = inter / (len(grams) + self._sizes[key] - inter)
            if sim >= self.threshold and (best is None or sim > best.similarity):
                best = Match("near_duplicate", key, round(sim, 4))
        return best

    def add(self, key: str, text: str) -> None:
        norm = normalize_text(text)
        self._exact.setdefault(norm, key)
        grams = shingles(text, self.n)
        self._sizes[key] = len(grams)
        for gram in grams:
            self._postings[gram].append(key)
