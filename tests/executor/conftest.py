import httpx
import pytest

from toolbench.executor import Executor, ExecutorConfig
from toolbench.hub import HubSettings, HubThread
from toolbench.hub.catalog import hub_tools
from toolbench.hub.settings import PUBLIC_URL


@pytest.fixture(scope="session")
def tools():
    """The hub's catalog, as the OpenAPI importer makes it (URLs on the fixed public port)."""
    return hub_tools()


@pytest.fixture(scope="module")
def hub():
    with HubThread(HubSettings(retry_after=0, slow_seconds=0.5)) as running:
        yield running


@pytest.fixture
def make_executor(hub, tools):
    made = []

    def make(cache=None, **config):
        config.setdefault("credentials", {"*": "test-key"})
        config.setdefault("base_url_overrides", {PUBLIC_URL: hub.url})
        config.setdefault("backoff_base", 0.01)
        config.setdefault("timeout", 5.0)
        ex = Executor(tools, ExecutorConfig(**config), cache=cache, env={})
        made.append(ex)
        return ex

    yield make
    for ex in made:
        ex.close()


@pytest.fixture
def admin(hub):
    """Queue faults on the hub and read its counters."""

    class Admin:
        def fault(self, mode, count=1, path_prefix="/"):
            httpx.post(hub.url + "/admin/faults", json={"mode": mode, "count": count, "path_prefix": path_prefix})

        def requests(self, path=None):
            stats = httpx.get(hub.url + "/admin/stats").json()
            return stats.get(f"path:{path}", 0) if path else stats.get("requests", 0)

    return Admin()
