"""Fixtures of the catalog tests: the OpenAPI fixture specs imported once per module."""

from __future__ import annotations

import pytest

from tests.catalog.openapi_helpers import COMPOSED, NOTES, SHOP
from toolbench.catalog.openapi import import_openapi
from toolbench.records import Tool


@pytest.fixture(scope="module")
def shop() -> Tool:
    return import_openapi(SHOP)


@pytest.fixture(scope="module")
def notes() -> Tool:
    return import_openapi(NOTES)


@pytest.fixture(scope="module")
def composed() -> Tool:
    return import_openapi(COMPOSED)
