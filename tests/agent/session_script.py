"""The first half of a session, run in its own process by test_sessions.py: it leaves an order waiting for
approval in STATE_DIR and exits; the test then approves it from another process (a new graph, same SQLite).

Usage: python -m tests.agent.session_script STATE_DIR CATALOG_DIR HUB_URL  (the API key is in TOOLBENCH_API_KEY)
"""

from __future__ import annotations

import asyncio
import json
import sys

from tests.agent.helpers import order_model
from toolbench.agent.graph import AgentContext
from toolbench.agent.session import AgentRuntime
from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.store import load_catalog
from toolbench.executor import Executor, ExecutorConfig
from toolbench.hub.settings import PUBLIC_URL


async def main(state_dir: str, catalog_dir: str, hub_url: str) -> dict:
    catalog = load_catalog(catalog_dir)
    context = AgentContext(model=order_model(), functions=FunctionSet.from_apis(catalog.apis()),
                           executor=Executor(catalog.tools, ExecutorConfig(base_url_overrides={PUBLIC_URL: hub_url})))
    async with AgentRuntime.open(state_dir, context) as runtime:
        return (await runtime.send("alice", "Order two P1003 to Jane Doe")).to_dict()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:4]))))
