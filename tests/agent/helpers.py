"""Shared pieces of the agent tests: a scripted order conversation and a runner for async sessions."""

from __future__ import annotations

import asyncio
from typing import Any

from toolbench.agent.session import AgentRuntime
from toolbench.llm.scripted import ScriptedChatModel

CREATE = "create_order_for_shopease_orders"
LIST_PRODUCTS = "list_products_for_shopease_orders"
ADDRESS = {"name": "Jane Doe", "street": "12 Market Square", "city": "Lyon", "postal_code": "69002",
           "country_code": "FR"}
ORDER = {"items": [{"product_id": "P1003", "quantity": 2}], "shipping_address": ADDRESS}


def order_model(arguments: dict[str, Any] | None = None) -> ScriptedChatModel:
    """Proposes one create_order call, then answers whatever came back."""
    return ScriptedChatModel([ScriptedChatModel.call(CREATE, arguments or ORDER), "Done: see the result above."])


def run(coro_factory, state_dir, context):
    """Open a runtime on ``state_dir`` and await ``coro_factory(runtime)`` in a fresh event loop."""

    async def main():
        async with AgentRuntime.open(state_dir, context) as runtime:
            return await coro_factory(runtime)

    return asyncio.run(main())


def two_orders_model() -> ScriptedChatModel:
    """Two turns, each proposing the same order: the terminal test approves the first and edits the second."""
    return ScriptedChatModel([ScriptedChatModel.call(CREATE, ORDER), "Ordered two.",
                              ScriptedChatModel.call(CREATE, ORDER), "Ordered as you edited it."])
