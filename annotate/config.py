"""An annotation campaign's settings (:class:`CampaignConfig`), apart from the campaign so that the command line
can build its options from them without importing LangGraph."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from annotate.strategies import SearchConfig
from toolbench.config import doc
from toolbench.errors import ToolbenchError

TOOL_CHOICES = ("auto", "required", "none")
HUB_KEY = "toolbench-annotate"  # a sandbox key: any key opens the hub (its state, orders and tickets, is per key)


class CampaignError(ToolbenchError):
    """A campaign is misconfigured or its run folder is unusable; the message names the field or file."""


@dataclass
class CampaignConfig:
    """A campaign's settings; ``toolbench annotate`` has one option per field (:func:`toolbench.config.options`)."""

    queries: str = field(metadata=doc("ToolBench query file (G1_query.json, ...) or a JSON list of queries.",
                                      path=True))
    out: str = field(metadata=doc("Run folder (created, or resumed when it exists).", path=True))
    search: SearchConfig = field(default_factory=SearchConfig, metadata=doc("Strategy and per-query limits."))
    model: str = field(default="smollm2-135m-instruct", metadata=doc("Model name sent to the endpoint."))
    base_url: str | None = field(default=None, metadata=doc(
        "OpenAI-compatible endpoint including /v1, e.g. http://127.0.0.1:8000/v1 (`toolbench llm serve`, vLLM...); "
        "unset: the SDK's."))
    api_key_env: str = field(default="OPENAI_API_KEY", metadata=doc(
        "Environment variable holding the endpoint's key."))
    temperature: float | None = field(default=None, metadata=doc("Sampling temperature (unset: the server's)."))
    max_reply_tokens: int | None = field(default=None, metadata=doc(
        "max_tokens of each model request (the longest reply; unset: the server's default)."))
    tool_choice: str | None = field(default=None, metadata=doc(
        "tool_choice sent with each request: auto | required (every reply calls a function, Finish included, as "
        "ToolBench's protocol expects; helps small local models) | none (unset: not sent)."))
    llm_timeout: float = field(default=120.0, metadata=doc("Seconds to wait for one model reply."))
    concurrency: int = field(default=16, metadata=doc("Queries searched at once (per worker process)."))
    workers: int = field(default=1, metadata=doc(
        "Worker processes on this machine, each searching its share of the queries (--concurrency at once) into "
        "the same run folder; one merged result. Campaign token and dollar budgets are split evenly."))
    catalog: str | None = field(default=None, metadata=doc(
        "Catalog folder with the APIs' URLs and tool descriptions (needed to call real APIs or the hub).", path=True))
    response_cache: str | None = field(default=None, metadata=doc("SQLite response cache for API calls.", path=True))
    hub_url: str | None = field(default=None, metadata=doc(
        "Call the sandbox hub at this URL instead of the catalog's http://127.0.0.1:8750 "
        "(`toolbench hub serve --port N`)."))
    api_overrides: dict[str, str] = field(default_factory=dict, metadata=doc(
        "CATALOG_PREFIX=URL: call APIs under a catalog URL prefix at another address (any API, e.g. a staging "
        "server; repeatable).", option="--api-override", form="CATALOG_PREFIX=URL",
        example="http://127.0.0.1:8750=http://127.0.0.1:9000"))
    tool_key_env: str = field(default="TOOLBENCH_API_KEY", metadata=doc(
        "Environment variable holding the APIs' key (unset: the hub's tools get a sandbox key)."))
    rapidapi_key_env: str = field(default="RAPIDAPI_KEY", metadata=doc(
        "Environment variable holding the RapidAPI key, for tools whose auth scheme is rapidapi."))
    llm_cache: bool = field(default=True, metadata=doc("Record model replies in RUN/llm_cache.sqlite."))
    shard: str | None = field(default=None, metadata=doc("i/n: this machine's share of the queries (0 <= i < n)."))
    limit: int | None = field(default=None, metadata=doc("Only the first N queries (after sharding)."))
    prices: str | None = field(default=None, metadata=doc(
        "Price table, JSON/YAML: model -> {prompt, completion} $/M tokens.", path=True))
    budget_tokens: int | None = field(default=None, metadata=doc("Campaign: model tokens spent, at most."))
    budget_usd: float | None = field(default=None, metadata=doc("Campaign: dollars spent, at most (needs prices)."))
    budget_api_calls: int | None = field(default=None, metadata=doc("Campaign: API calls, at most."))
    budget_seconds: float | None = field(default=None, metadata=doc("Campaign: wall time of this run."))
    query_seconds: float | None = field(default=None, metadata=doc("Per query: wall time of one attempt."))
    query_usd: float | None = field(default=None, metadata=doc("Per query: dollars (needs prices)."))

    def __post_init__(self) -> None:
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise CampaignError(f"concurrency: must be an integer >= 1; got {self.concurrency!r}")
        if not isinstance(self.workers, int) or self.workers < 1:
            raise CampaignError(f"workers: must be an integer >= 1; got {self.workers!r}")
        if self.shard is not None:
            shard_of(self.shard)
        urls = [("hub_url", self.hub_url)] + [("api_overrides", url) for pair in self.api_overrides.items()
                                              for url in pair]
        for name, url in urls:
            if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                raise CampaignError(f"{name}: {url!r} is not an http(s) URL (e.g. http://127.0.0.1:9000)")
        for name in ("limit", "budget_tokens", "budget_api_calls", "max_reply_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise CampaignError(f"{name}: must be >= 1 or unset; got {value!r}")
        for name in ("budget_usd", "budget_seconds", "query_seconds", "query_usd", "llm_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise CampaignError(f"{name}: must be > 0 or unset; got {value!r}")
        if self.tool_choice is not None and self.tool_choice not in TOOL_CHOICES:
            raise CampaignError(f"tool_choice: must be one of {', '.join(TOOL_CHOICES)} or unset; "
                                f"got {self.tool_choice!r}")
        if self.query_usd is not None and self.prices is None:
            raise CampaignError("query_usd: a dollar budget needs a price table (prices)")

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["search"] = self.search.to_dict()
        out["api_overrides"] = dict(self.api_overrides)
        return out

    def executor_config(self) -> Any:
        """The :class:`toolbench.executor.ExecutorConfig` for this campaign's API calls."""
        from toolbench.executor import ExecutorConfig
        from toolbench.hub.settings import PUBLIC_URL

        overrides = {k.rstrip("/"): v.rstrip("/") for k, v in self.api_overrides.items()}
        if self.hub_url:
            overrides[PUBLIC_URL] = self.hub_url.rstrip("/")
        return ExecutorConfig(base_url_overrides=overrides, api_key_env=self.tool_key_env,
                              rapidapi_key_env=self.rapidapi_key_env)


def shard_of(spec: str) -> tuple[int, int]:
    """``"1/4"`` -> (1, 4); shards are numbered 0..n-1."""
    try:
        index, count = (int(x) for x in spec.split("/"))
    except ValueError:
        raise CampaignError(f"shard: expected i/n (e.g. 0/4), got {spec!r}") from None
    if count < 1 or not 0 <= index < count:
        raise CampaignError(f"shard: i must be in 0..n-1 and n >= 1; got {spec!r}")
    return index, count
