"""Seeded sampling of the API sets that instructions are written for, in ToolBench's three groups.

- **G1** (single tool): several APIs of one tool.
- **G2** (intra-category): a few tools of one category, up to ``max_apis_per_tool`` APIs of each.
- **G3** (intra-collection): a few tools of one collection (a tool file's ``collection`` key, as RapidAPI groups
  tools); a catalog without collections gets tools drawn across at least two categories instead.

Set ``i`` of a run depends only on ``(seed, group, i)``, never on the sets before it, so a resumed run or a run
asked for more sets reproduces the sets it shares with an earlier one.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from toolbench.generate.errors import GenerateError
from toolbench.records import Api, Tool

GROUPS = ("G1", "G2", "G3")
CROSS_CATEGORY = "<across categories>"


def derive_rng(seed: int, *parts: Any) -> random.Random:
    """A generator for one item of a run: the same seed and parts give the same numbers on every platform."""
    text = ":".join([str(seed), *map(str, parts)])
    return random.Random(int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big"))


@dataclass(frozen=True)
class SamplingConfig:
    """How large the sampled API sets are (ToolBench's own choices are the defaults)."""

    min_apis: int = field(default=2, metadata={"help": "G1: fewest APIs in a set (tools with fewer are skipped)."})
    max_apis: int = field(default=5, metadata={"help": "G1: most APIs in a set."})
    min_tools: int = field(default=2, metadata={"help": "G2/G3: fewest tools in a set."})
    max_tools: int = field(default=5, metadata={"help": "G2/G3: most tools in a set."})
    max_apis_per_tool: int = field(default=3, metadata={"help": "G2/G3: most APIs taken from one tool."})

    def __post_init__(self) -> None:
        for name in ("min_apis", "max_apis", "min_tools", "max_tools", "max_apis_per_tool"):
            if getattr(self, name) < 1:
                raise GenerateError(f"sampling.{name} must be at least 1, got {getattr(self, name)}")
        if self.min_apis > self.max_apis:
            raise GenerateError(f"sampling.min_apis ({self.min_apis}) is larger than max_apis ({self.max_apis})")
        if self.min_tools > self.max_tools:
            raise GenerateError(f"sampling.min_tools ({self.min_tools}) is larger than max_tools ({self.max_tools})")


@dataclass
class ApiSet:
    """One sampled set: ``index`` in its run, the ``group``, the APIs in catalog order, and what they share
    (the tool for G1, the category for G2, the collection for G3, or :data:`CROSS_CATEGORY`)."""

    index: int
    group: str
    apis: list[Api]
    shared: str = ""

    @property
    def tools(self) -> list[str]:
        return list(dict.fromkeys(api.tool for api in self.apis))

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(api.category for api in self.apis))

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [api.key for api in self.apis]


def collection_of(tool: Tool) -> str:
    """The RapidAPI collection a tool file names (``collection`` or ``collection_name``), else ``""``."""
    value = tool.extra.get("collection") or tool.extra.get("collection_name") or ""
    return value if isinstance(value, str) else ""


class ApiSetSampler:
    """Draws API sets of one group from a list of tools. Raises :class:`GenerateError` when the catalog cannot
    give a single set of that group (too few APIs, tools or categories), saying what is missing."""

    def __init__(self, tools: list[Tool], group: str, seed: int, config: SamplingConfig | None = None) -> None:
        group = group.upper()
        if group not in GROUPS:
            raise GenerateError(f"group {group!r} is unknown; use one of {', '.join(GROUPS)}")
        self.group = group
        self.seed = seed
        self.config = config or SamplingConfig()
        self.tools = sorted((t for t in tools if t.apis), key=lambda t: (t.category, t.name))
        self._pools = self._eligible()

    def _eligible(self) -> list[tuple[str, list[Tool]]]:
        cfg = self.config
        if self.group == "G1":
            pools = [(t.name, [t]) for t in self.tools if len(t.apis) >= cfg.min_apis]
            if not pools:
                raise GenerateError(f"G1 needs a tool with at least {cfg.min_apis} APIs; the catalog has none "
                                    "(lower sampling.min_apis or add tools)")
            return pools
        by_key: dict[str, list[Tool]] = defaultdict(list)
        if self.group == "G2":
            for tool in self.tools:
                by_key[tool.category or "Uncategorized"].append(tool)
        else:
            for tool in self.tools:
                if collection_of(tool):
                    by_key[collection_of(tool)].append(tool)
        pools = [(key, members) for key, members in sorted(by_key.items()) if len(members) >= cfg.min_tools]
        if pools:
            return pools
        if self.group == "G2":
            raise GenerateError(f"G2 needs a category with at least {cfg.min_tools} tools; the catalog has none "
                                "(lower sampling.min_tools or add tools)")
        categories = {t.category for t in self.tools}
        if len(categories) < 2 or len(self.tools) < max(cfg.min_tools, 2):
            raise GenerateError("G3 needs tools of one collection (a tool file's 'collection' key) or tools of at "
                                f"least two categories; the catalog has {len(categories)} category(ies) and no "
                                "collection")
        return [(CROSS_CATEGORY, self.tools)]

    def sample(self, index: int) -> ApiSet:
        """Set number ``index`` of this run."""
        rng = derive_rng(self.seed, "apiset", self.group, index)
        shared, members = self._pools[rng.randrange(len(self._pools))]
        cfg = self.config
        if self.group == "G1":
            tool = members[0]
            k = rng.randint(cfg.min_apis, min(cfg.max_apis, len(tool.apis)))
            picked = sorted(rng.sample(range(len(tool.apis)), k))
            return ApiSet(index, self.group, [tool.apis[i] for i in picked], shared)
        n_tools = rng.randint(cfg.min_tools, min(cfg.max_tools, len(members)))
        if shared == CROSS_CATEGORY:
            chosen = self._across_categories(rng, members, n_tools)
        else:
            chosen = rng.sample(members, n_tools)
        chosen.sort(key=lambda t: (t.category, t.name))
        apis: list[Api] = []
        for tool in chosen:
            k = rng.randint(1, min(cfg.max_apis_per_tool, len(tool.apis)))
            apis.extend(tool.apis[i] for i in sorted(rng.sample(range(len(tool.apis)), k)))
        return ApiSet(index, self.group, apis, shared)

    @staticmethod
    def _across_categories(rng: random.Random, tools: list[Tool], n_tools: int) -> list[Tool]:
        by_category: dict[str, list[Tool]] = defaultdict(list)
        for tool in tools:
            by_category[tool.category].append(tool)
        first, second = rng.sample(sorted(by_category), 2)
        chosen = [rng.choice(by_category[first]), rng.choice(by_category[second])]
        rest = [t for t in tools if t not in chosen]
        chosen.extend(rng.sample(rest, min(len(rest), max(0, n_tools - 2))))
        return chosen

    def sample_many(self, n: int, start: int = 0) -> list[ApiSet]:
        return [self.sample(i) for i in range(start, start + n)]
