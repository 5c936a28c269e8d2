"""Fixtures of the retriever tests (helpers live in retriever_fakes.py)."""

import pytest
from retriever_fakes import toy_corpus as _toy_corpus

from retriever.corpus import Corpus


@pytest.fixture
def toy_corpus() -> Corpus:
    return _toy_corpus()
