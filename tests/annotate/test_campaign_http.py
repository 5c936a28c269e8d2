"""The campaign's HTTP clients: the lean HTTP/1.1 client under the executor's httpx client unless a proxy is set."""

import asyncio
from pathlib import Path

from annotate.campaign import CampaignConfig, _Catalog, _default_runner_factory
from toolbench.llm.http11_transport import Http11Transport

ROOT = Path(__file__).resolve().parents[2]
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def executor_transport(monkeypatch, proxy):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
    cfg = CampaignConfig(queries="q.json", out="run", catalog=str(ROOT / "data" / "tools"))
    _, executor = _default_runner_factory(cfg, _Catalog(cfg.catalog))

    async def transport():
        if executor.async_transport is None:
            return type(executor._async_client()._transport)
        return type(executor.async_transport(None))

    return asyncio.run(transport())


def test_the_campaigns_executor_sends_through_the_lean_client_unless_a_proxy_is_set(monkeypatch):
    assert executor_transport(monkeypatch, None) is Http11Transport
    assert executor_transport(monkeypatch, "http://proxy.internal:3128") is not Http11Transport
