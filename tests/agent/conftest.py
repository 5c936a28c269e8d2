"""Fixtures of the agent tests: the sandbox hub on a free loopback port, its catalog, and agent contexts over it
with a scripted model. Each test gets its own API key, so its orders and tickets are its own hub state."""

from __future__ import annotations

import uuid

import httpx
import pytest

from toolbench.agent.graph import AgentContext
from toolbench.agent.policy import TrustPolicy
from toolbench.catalog.functions import FunctionSet
from toolbench.executor import Executor, ExecutorConfig
from toolbench.hub import HubSettings, HubThread
from toolbench.hub.catalog import hub_tools
from toolbench.hub.settings import PUBLIC_URL


@pytest.fixture(scope="session")
def tools():
    return hub_tools()


@pytest.fixture(scope="session")
def functions(tools):
    return FunctionSet.from_apis([api for tool in tools for api in tool.apis],
                                 {t.name: t.standardized_name for t in tools})


@pytest.fixture(scope="module")
def hub():
    with HubThread(HubSettings(seed=0, retry_after=0, slow_seconds=0.2)) as running:
        yield running


@pytest.fixture
def api_key():
    """A fresh key per test: the hub keeps orders per key, and the tests check no key reaches the disk."""
    return f"sk-agent-test-{uuid.uuid4().hex}"


@pytest.fixture
def hub_get(hub, api_key):
    def get(path: str, **params):
        return httpx.get(hub.url + path, params=params, headers={"X-RapidAPI-Key": api_key}, timeout=10).json()

    return get


@pytest.fixture
def make_context(hub, tools, functions, api_key):
    made = []

    def make(model, policy: TrustPolicy | None = None, **options) -> AgentContext:
        executor = Executor(tools, ExecutorConfig(base_url_overrides={PUBLIC_URL: hub.url}, backoff_base=0.01,
                                                  timeout=5.0), env={"TOOLBENCH_API_KEY": api_key})
        made.append(executor)
        options.setdefault("max_tools", 100)
        return AgentContext(model=model, executor=executor, functions=functions, policy=policy or TrustPolicy(),
                            **options)

    yield make
    for executor in made:
        executor.close()
