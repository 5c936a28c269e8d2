"""What a crawl calls and how: its settings (:class:`CrawlConfig`, :class:`CrawlTarget`) and the catalog it
reads (:func:`load_tools`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from toolbench.config import ConfigError, doc
from toolbench.errors import ToolbenchError
from toolbench.records import Tool

SCHEMA_STYLES = ("json", "template")


HUB_KEY = "toolbench-crawl"  # any key opens the sandbox hub; its state (orders, tickets) is kept per key


class CrawlError(ToolbenchError):
    """A crawl setting or run folder is unusable: the message names the field or file and what to do."""


class CrawlConfigError(CrawlError, ConfigError):
    """A crawl config file or ``--set`` item is wrong (the message names the file or item and the field)."""


@dataclass
class CrawlConfig:
    """How the crawler calls APIs and which ones it keeps."""

    samples: int = field(default=3, metadata={"help": "Sampled valid calls per API, besides the example call."})
    concurrency: int = field(default=8, metadata={"help": "APIs crawled at once (the calls of one API in order)."})
    rate: float = field(default=0.0, metadata={"help": "Requests per second per host at most; 0: no limit."})
    timeout: float = field(default=10.0, metadata={"help": "Seconds to wait for one answer."})
    retries: int = field(default=0, metadata={
        "help": "Retries on 429/5xx/connection errors. 0 by default: a crawl measures, retries would hide faults."})
    seed: int = field(default=0, metadata={"help": "Seed of the sampled arguments."})
    min_success: float = field(default=0.25, metadata={
        "help": "Keep an API only if at least this share of its calls answered 2xx with a valid body."})
    max_p95_latency: float = field(default=5.0, metadata=doc(
        "Keep an API only if its p95 latency (seconds) is at most this; 0 disables the check.", option="--max-p95"))
    min_quality: float = field(default=0.5, metadata={
        "help": "Keep an API only if at least this share of its 2xx answers is informative (non-empty, not an "
                "error message)."})
    schema_style: str = field(default="json", metadata={
        "help": "Form of inferred response schemas: json (JSON Schema) or template (ToolBench template_response)."})

    def __post_init__(self) -> None:
        if not isinstance(self.samples, int) or self.samples < 0:
            raise CrawlError(f"samples: must be an integer >= 0, got {self.samples!r}")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise CrawlError(f"concurrency: must be an integer >= 1, got {self.concurrency!r}")
        if self.rate < 0:
            raise CrawlError(f"rate: must be >= 0 requests per second (0: no limit), got {self.rate!r}")
        if self.timeout <= 0:
            raise CrawlError(f"timeout: must be > 0 seconds, got {self.timeout!r}")
        if not isinstance(self.retries, int) or self.retries < 0:
            raise CrawlError(f"retries: must be an integer >= 0, got {self.retries!r}")
        for name in ("min_success", "min_quality"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise CrawlError(f"{name}: must be a share between 0 and 1, got {getattr(self, name)!r}")
        if self.max_p95_latency < 0:
            raise CrawlError(f"max_p95_latency: must be >= 0 seconds (0 disables it), got {self.max_p95_latency!r}")
        if self.schema_style not in SCHEMA_STYLES:
            raise CrawlError(f"schema_style: {self.schema_style!r} unknown; use one of {', '.join(SCHEMA_STYLES)}")


@dataclass
class CrawlTarget:
    """Where and how to call the catalog's APIs (the executor's side of a crawl)."""

    base_url_overrides: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    env: dict[str, str] | None = None  # None: the process environment
    # Tools whose APIs each get their own key, "<key>.<api>": on a sandbox that keeps state per key (the hub),
    # every API then starts from the same seeded state, so results do not depend on which API ran first.
    isolated_tools: frozenset[str] = frozenset()


@dataclass
class CrawlRunConfig:
    """One crawl: the catalog, the run folder, where the APIs are, and how to crawl them (:class:`CrawlConfig`).
    ``toolbench crawl`` has one option per field; :func:`toolbench.crawl.run` takes it."""

    catalog: str = field(metadata=doc("Catalog folder (ToolBench tool files), e.g. data/tools.", path=True))
    out: str = field(metadata=doc("Run folder: state, cache, report, kept catalog.", path=True, option=("--out", "-o")))
    crawl: CrawlConfig = field(default_factory=CrawlConfig, metadata=doc("How APIs are called and kept."))
    hub_url: str | None = field(default=None, metadata=doc(
        "Call the sandbox hub at this URL instead of the catalog's http://127.0.0.1:8750. The hub's tools get a "
        "sandbox key unless $TOOLBENCH_API_KEY is set, and a key per API so each starts from the seed."))
    cache: str | None = field(default=None, metadata=doc(
        "Response cache to record into (default: OUT/cache.sqlite).", path=True))
    tools: list[str] = field(default_factory=list, metadata=doc("Crawl only this tool (repeatable).",
                                                                option="--tool"))
    progress: bool = field(default=True, metadata=doc("Show a progress bar."))

    def __post_init__(self) -> None:
        for name in ("catalog", "out"):
            if not getattr(self, name):
                raise CrawlError(f"{name}: a crawl needs a catalog folder and an --out run folder")
        if isinstance(self.crawl, dict):
            self.crawl = CrawlConfig(**self.crawl)
        self.tools = list(self.tools or [])


def load_tools(catalog: str | Path, only: Iterable[str] = ()) -> list[Tool]:
    """The tools of a catalog folder (optionally only the named ones); a catalog with errors is refused."""
    from toolbench.catalog.store import load_catalog

    cat = load_catalog(catalog)
    if cat.errors:
        raise CrawlError(f"{catalog}: the catalog has errors; fix them first (`toolbench catalog validate`):\n"
                         + "\n".join(str(p) for p in cat.errors[:10]))
    wanted = set(only)
    tools = [t for t in cat.tools if not wanted or t.name in wanted or t.standardized_name in wanted]
    if wanted and not tools:
        raise CrawlError(f"--tool: none of {sorted(wanted)} is in {catalog}")
    return tools
