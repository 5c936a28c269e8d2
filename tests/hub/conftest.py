import httpx
import pytest

from toolbench.hub import HubSettings, HubThread


@pytest.fixture(scope="module")
def hub():
    """A hub on a free loopback port for this test module."""
    with HubThread(HubSettings(seed=0, retry_after=0, slow_seconds=0.5)) as running:
        yield running


@pytest.fixture
def client(hub):
    with httpx.Client(base_url=hub.url, headers={"X-RapidAPI-Key": "test-key"}, timeout=10) as c:
        yield c
