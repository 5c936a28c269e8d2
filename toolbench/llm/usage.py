"""Token and cost accounting.

A :class:`UsageTracker` adds up the tokens of every reply, per model, and prices them with a configurable
:class:`PriceTable` (US dollars per million tokens). It is thread-safe, so one tracker can serve a whole
concurrent campaign. :class:`TrackedChatModel` wraps any chat model to record into a tracker and to stop a run
once a budget is spent.

There are no built-in prices (they change); give them in code or in a JSON/YAML file::

    {"gpt-4o-mini": {"prompt": 0.15, "completion": 0.60}, "smollm2-135m-instruct": {"prompt": 0, "completion": 0}}

A model is priced by its exact name, else by the longest table key it starts with (``gpt-4o-mini`` prices
``gpt-4o-mini-2024-07-18``). An unpriced model's tokens are counted and its cost is reported as unknown.

Replies from the record/replay cache count their tokens and cost like the original run did (a replay reports
the same numbers), but they spend nothing: budgets look at ``spent_usd`` only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.llm.base import ChatReply, LLMError, Message, Tool, Usage


class BudgetExceededError(LLMError):
    """The run has spent its token or dollar budget."""


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    prompt: float
    completion: float

    def __post_init__(self) -> None:
        for name in ("prompt", "completion"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ToolbenchError(f"price field '{name}' must be a number >= 0 (dollars per million tokens); "
                                     f"got {value!r}")

    def cost(self, usage: Usage) -> float:
        return (usage.prompt_tokens * self.prompt + usage.completion_tokens * self.completion) / 1_000_000


class PriceTable:
    """Model name -> :class:`Price`; exact name first, then the longest key that is a prefix of the name."""

    def __init__(self, prices: Mapping[str, Price | Mapping[str, float]] | None = None) -> None:
        self.prices: dict[str, Price] = {}
        for model, price in (prices or {}).items():
            if isinstance(price, Price):
                self.prices[model] = price
            elif isinstance(price, Mapping) and set(price) == {"prompt", "completion"}:
                self.prices[model] = Price(float(price["prompt"]), float(price["completion"]))
            else:
                raise ToolbenchError(f"price of model {model!r} must be {{'prompt': $, 'completion': $}} "
                                     f"(dollars per million tokens); got {price!r}")

    @classmethod
    def from_file(cls, path: str | Path) -> PriceTable:
        """Read a JSON or YAML file mapping model -> {prompt, completion}."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ToolbenchError(f"cannot read price table {path}: {exc}") from exc
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
        if not isinstance(data, dict):
            raise ToolbenchError(f"price table {path} must map model names to prices")
        return cls(data)

    def lookup(self, model: str) -> Price | None:
        if model in self.prices:
            return self.prices[model]
        best = max((k for k in self.prices if model.startswith(k)), key=len, default=None)
        return self.prices[best] if best is not None else None


@dataclass
class ModelUsage:
    """Totals for one model (or all models). ``cost_usd`` is None when some tokens were unpriced."""

    requests: int = 0
    cached_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    spent_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, usage: Usage, cost: float | None, cached: bool) -> None:
        self.requests += 1
        self.cached_requests += int(cached)
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        if cost is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += cost
        if not cached and cost is not None:
            self.spent_usd += cost

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_tokens": self.total_tokens}


class UsageTracker:
    """Thread-safe totals per model; optional budgets in dollars and in tokens (non-cached requests)."""

    def __init__(self, prices: PriceTable | Mapping[str, Any] | None = None, budget_usd: float | None = None,
                 budget_tokens: int | None = None) -> None:
        if budget_usd is not None and budget_usd < 0:
            raise ToolbenchError(f"budget_usd must be >= 0; got {budget_usd}")
        if budget_tokens is not None and budget_tokens < 0:
            raise ToolbenchError(f"budget_tokens must be >= 0; got {budget_tokens}")
        self.prices = prices if isinstance(prices, PriceTable) else PriceTable(prices)
        self.budget_usd = budget_usd
        self.budget_tokens = budget_tokens
        self._by_model: dict[str, ModelUsage] = {}
        self._spent_tokens = 0
        self._lock = threading.Lock()

    def record(self, model: str, usage: Usage, cached: bool = False) -> float | None:
        """Add one request's usage; returns its cost (None if the model is unpriced)."""
        price = self.prices.lookup(model)
        cost = price.cost(usage) if price is not None else None
        with self._lock:
            self._by_model.setdefault(model, ModelUsage()).add(usage, cost, cached)
            if not cached:
                self._spent_tokens += usage.total_tokens
        return cost

    def check_budget(self) -> None:
        """Raise :class:`BudgetExceededError` once a budget is spent."""
        with self._lock:
            spent = sum(m.spent_usd for m in self._by_model.values())
            tokens = self._spent_tokens
        if self.budget_usd is not None and spent >= self.budget_usd:
            raise BudgetExceededError(f"the LLM budget of ${self.budget_usd:.4f} is spent (${spent:.4f}); "
                                      "raise budget_usd or resume later from the cache")
        if self.budget_tokens is not None and tokens >= self.budget_tokens:
            raise BudgetExceededError(f"the LLM budget of {self.budget_tokens} tokens is spent ({tokens}); "
                                      "raise budget_tokens or resume later from the cache")

    def by_model(self) -> dict[str, ModelUsage]:
        with self._lock:
            return {k: ModelUsage(**asdict(v)) for k, v in self._by_model.items()}

    def totals(self) -> ModelUsage:
        total = ModelUsage()
        for usage in self.by_model().values():
            total.requests += usage.requests
            total.cached_requests += usage.cached_requests
            total.prompt_tokens += usage.prompt_tokens
            total.completion_tokens += usage.completion_tokens
            total.cost_usd = None if usage.cost_usd is None or total.cost_usd is None else total.cost_usd + usage.cost_usd
            total.spent_usd += usage.spent_usd
        return total

    def summary(self) -> dict[str, Any]:
        """JSON-ready: totals and per-model figures."""
        return {"total": self.totals().to_dict(), "models": {k: v.to_dict() for k, v in sorted(self.by_model().items())}}


class TrackedChatModel:
    """Wraps a chat model: checks the budget before each request and records each reply's usage."""

    def __init__(self, inner: Any, tracker: UsageTracker) -> None:
        self.inner = inner
        self.tracker = tracker
        self.model = inner.model

    def _record(self, reply: ChatReply) -> ChatReply:
        self.tracker.record(reply.model or self.model, reply.usage, cached=reply.cached)
        return reply

    def chat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        self.tracker.check_budget()
        return self._record(self.inner.chat(messages, tools, **params))

    async def achat(self, messages: list[Message], tools: list[Tool] | None = None, **params: Any) -> ChatReply:
        self.tracker.check_budget()
        return self._record(await self.inner.achat(messages, tools, **params))
