import threading

import pytest

from toolbench.errors import ToolbenchError
from toolbench.llm.base import ChatReply, Usage
from toolbench.llm.scripted import ScriptedChatModel
from toolbench.llm.usage import BudgetExceededError, Price, PriceTable, TrackedChatModel, UsageTracker


def test_price_lookup_exact_then_longest_prefix():
    table = PriceTable({"gpt-4o": {"prompt": 2.5, "completion": 10}, "gpt-4o-mini": Price(0.15, 0.6)})
    assert table.lookup("gpt-4o-mini-2024-07-18") == Price(0.15, 0.6)
    assert table.lookup("gpt-4o") == Price(2.5, 10)
    assert table.lookup("llama") is None
    with pytest.raises(ToolbenchError, match="'prompt'"):
        Price(-1, 0)
    with pytest.raises(ToolbenchError, match="price of model 'x'"):
        PriceTable({"x": {"prompt": 1}})


def test_price_table_from_file(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("m:\n  prompt: 1\n  completion: 2\n")
    assert PriceTable.from_file(path).lookup("m") == Price(1.0, 2.0)


def test_costs_and_totals():
    tracker = UsageTracker({"m": {"prompt": 1.0, "completion": 2.0}})
    # 1000 prompt tokens at $1/M + 500 completion tokens at $2/M = $0.001 + $0.001
    assert tracker.record("m", Usage(1000, 500)) == pytest.approx(0.002)
    tracker.record("m", Usage(1000, 500), cached=True)
    tracker.record("other", Usage(10, 5))
    by_model = tracker.by_model()
    assert by_model["m"].to_dict() == {"requests": 2, "cached_requests": 1, "prompt_tokens": 2000,
                                       "completion_tokens": 1000, "cost_usd": pytest.approx(0.004),
                                       "spent_usd": pytest.approx(0.002), "total_tokens": 3000}
    total = tracker.totals()
    assert (total.requests, total.total_tokens, total.cost_usd) == (3, 3015, None)  # 'other' is unpriced
    assert tracker.summary()["total"]["spent_usd"] == pytest.approx(0.002)


def test_thread_safe_totals():
    tracker = UsageTracker()

    def work():
        for _ in range(1000):
            tracker.record("m", Usage(1, 2))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tracker.totals().to_dict()["total_tokens"] == 8 * 1000 * 3


def test_tracked_model_stops_at_budget():
    inner = ScriptedChatModel([ChatReply("a", usage=Usage(600, 0))], repeat_last=True, model="m")
    tracker = UsageTracker({"m": {"prompt": 1.0, "completion": 1.0}}, budget_tokens=1000)
    model = TrackedChatModel(inner, tracker)
    model.chat([{"role": "user", "content": "x"}])
    model.chat([{"role": "user", "content": "x"}])
    with pytest.raises(BudgetExceededError, match="1000 tokens is spent"):
        model.chat([{"role": "user", "content": "x"}])
    assert len(inner.requests) == 2
    assert tracker.totals().prompt_tokens == 1200
