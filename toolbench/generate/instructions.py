"""ToolBench-style instructions: user queries for sampled API sets, and the filters that keep the good ones.

Two ways to write them (``InstructionConfig.mode``):

- ``compose`` (the default; works with any model, even none): the query's skeleton (which APIs of the set, which
  argument values) is drawn by program and phrased by rule, and the model rewrites it; the rewrite is kept only if
  it passes the filters (every value present, each API still asked for, no API name), else the rule's text is
  (:mod:`toolbench.generate.composer`). The stats count who phrased each kept query (``phrased_by``).
- ``llm`` (ToolBench's own prompt, for a capable model): the model is shown the APIs' documentation and asked for
  a JSON list of queries, each naming the APIs it needs (``relevant APIs``).

Every query that does not pass is kept with its reason (:class:`Rejected`):

- ``malformed_reply``: the reply holds no JSON list (or the request failed);
- ``malformed_entry``: an entry is not ``{"query": text, "relevant APIs": [[tool, api], ...]}``, or its text is
  too short;
- ``not_in_sample``: a relevant API is not one of the sampled APIs (the model made it up or looked elsewhere);
- ``too_few_apis`` / ``too_many_apis``: fewer than ``min_relevant`` or more than ``max_relevant`` relevant APIs;
- ``single_tool``: a G2/G3 query whose relevant APIs all belong to one tool;
- ``api_name``: the query writes an API's name verbatim (``get_quote``);
- ``unsampleable`` / ``unphrasable``: (compose) an API's arguments could not be sampled from its schema, or
  the rule's text of them failed the filters three times;
- ``duplicate`` / ``near_duplicate``: the same text as, or too similar to, a query kept before
  (:mod:`toolbench.generate.dedup`).

A run is journaled (one JSON line per API set, written once the set is done), so an interrupted run resumes where
it stopped: sets already in the journal are skipped and their queries count towards ``n``.

:func:`run` is the whole command as a function (the CLI, the demo or a notebook call it) with an
:class:`~toolbench.generate.instructions_config.InstructionsRunConfig`: the catalog read, the model made (none in
compose mode without ``model``), the queries written, filtered and journaled.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.catalog.naming import standardize
from toolbench.catalog.store import group_from_filename, write_json_atomic
from toolbench.catalog.values import ValueSampler, ValueSamplingError, catalog_today
from toolbench.generate import composer
from toolbench.generate.api_sets import ApiSet, ApiSetSampler, SamplingConfig, derive_rng
from toolbench.generate.dedup import DedupIndex
from toolbench.generate.errors import GenerateError
from toolbench.generate.instructions_config import (  # noqa: F401 (MODES: the import path kept)
    MODES,
    InstructionConfig,
    InstructionsRunConfig,
)
from toolbench.generate.replies import ReplyFormatError, extract_json
from toolbench.llm.base import ChatModel, LLMError, Message
from toolbench.records import Api, Query, Tool

REJECT_REASONS = ("malformed_reply", "malformed_entry", "not_in_sample", "too_few_apis", "too_many_apis",
                  "single_tool", "api_name", "unsampleable", "unphrasable", "duplicate", "near_duplicate")
_RELEVANT_KEYS = ("relevant APIs", "relevant_apis", "relevant apis", "related apis", "related_apis", "apis")


@dataclass
class Rejected:
    """A query (or a whole reply) that did not pass, with the filter that stopped it and why."""

    set_index: int
    reason: str
    detail: str
    text: str = ""
    relevant: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"set_index": self.set_index, "reason": self.reason, "detail": self.detail, "text": self.text,
                "relevant APIs": self.relevant}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rejected:
        return cls(data["set_index"], data["reason"], data["detail"], data.get("text", ""),
                   data.get("relevant APIs", []))


@dataclass
class SetResult:
    """What one API set gave: kept queries and rejections."""

    api_set: ApiSet
    accepted: list[Query] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    phrased_by: list[str] = field(default_factory=list)  # per accepted query: "model" or "rule"
    refused: list[str] = field(default_factory=list)  # (compose) why the model's texts were not kept


# -- prompt -----------------------------------------------------------------------------------------------------

def api_doc(api: Api) -> dict[str, Any]:
    """What the writer model is shown of one API."""

    def params(items):
        return [{"name": p.name, "type": p.type, "description": p.description,
                 **({"example": p.default} if p.default not in ("", None) else {}),
                 **({"enum": p.schema["enum"]} if p.schema and "enum" in p.schema else {})} for p in items]

    return {"category": api.category, "tool": api.tool, "api": api.name, "description": api.description.strip(),
            "required_parameters": params(api.required_params),
            "optional_parameters": params(api.optional_params)}


def reply_schema(api_set: ApiSet, n: int, config: InstructionConfig) -> dict[str, Any]:
    """The JSON schema of a writer reply: ``{"queries": [{"query", "relevant APIs": [[tool, api], ...]}]}``, the
    pairs limited to the set's APIs (what :func:`parse_entries` and :func:`match_relevant` accept)."""
    pairs = [[api.tool, api.name] for api in api_set.apis]
    most = max(1, min(config.max_relevant, len(pairs)))
    entry = {"type": "object", "properties": {
        "query": {"type": "string", "minLength": config.min_chars},
        "relevant APIs": {"type": "array", "items": {"enum": pairs}, "minItems": min(config.min_relevant, most),
                          "maxItems": most}},
        "required": ["query", "relevant APIs"]}
    return {"type": "object", "properties": {"queries": {"type": "array", "items": entry, "minItems": 1,
                                                         "maxItems": n}},
            "required": ["queries"]}


def response_format(api_set: ApiSet, n: int, config: InstructionConfig) -> dict[str, Any] | None:
    """The ``response_format`` of a writer request (None when ``config.json_schema`` is off)."""
    if not config.json_schema:
        return None
    return {"type": "json_schema", "json_schema": {"name": "queries", "schema": reply_schema(api_set, n, config)}}


def build_messages(api_set: ApiSet, n: int, config: InstructionConfig) -> list[Message]:
    """The request to the writer model for one API set."""
    multi_tool = api_set.group in ("G2", "G3") and len(api_set.tools) > 1
    rules = [
        f"Write {n} different requests that a user could send to an assistant able to call these APIs.",
        f"Each request must need between {config.min_relevant} and {min(config.max_relevant, len(api_set.apis))} "
        "of the APIs above, and only those APIs."
        + (" Each request must use APIs of at least two different tools." if multi_tool else ""),
        "Give every detail the calls need (names, places, dates, amounts, identifiers) inside the request itself.",
        "Vary the topic, tone, length and the combination of APIs; never name an API or a tool in the request.",
        ('Answer with a JSON list only: [{"query": "<the request>", "relevant APIs": [["<tool>", "<api>"], ...]}, '
         "...], using the tool and api names exactly as above."),
    ]
    docs = json.dumps([api_doc(a) for a in api_set.apis], ensure_ascii=False, indent=1)
    return [
        {"role": "system", "content": "You write realistic, varied tasks for testing assistants that use APIs."},
        {"role": "user", "content": f"APIs:\n{docs}\n\n" + "\n".join(f"- {r}" for r in rules)},
    ]


# -- reply parsing and filters --------------------------------------------------------------------------------

def _key(text: str) -> str:
    return standardize(text)


def match_relevant(raw: Any, api_set: ApiSet) -> tuple[list[tuple[str, str]], str | None, str | None]:
    """The relevant APIs of an entry, matched to the sample -> (pairs, reason, detail); ``reason`` is None when
    they are usable. Names match exactly, else after standardisation (``"Get Quote"`` ~ ``get_quote``)."""
    if not isinstance(raw, list) or not raw:
        return [], "malformed_entry", "'relevant APIs' must be a non-empty list of [tool, api] pairs"
    exact = {api.key: api.key for api in api_set.apis}
    loose = {(_key(t), _key(a)): (t, a) for t, a in exact}
    pairs: list[tuple[str, str]] = []
    for item in raw:
        if isinstance(item, dict):
            item = [item.get("tool_name", item.get("tool")), item.get("api_name", item.get("api"))]
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            return [], "malformed_entry", f"relevant API {item!r} is not a [tool, api] pair of strings"
        found = exact.get((item[0], item[1])) or loose.get((_key(item[0]), _key(item[1])))
        if found is None:
            return [], "not_in_sample", f"relevant API {list(item)} is not among the sampled APIs"
        if found not in pairs:
            pairs.append(found)
    return pairs, None, None


def parse_entries(text: str | None) -> list[Any]:
    """The entries of a reply (a JSON list, or an object with a ``queries`` list); raises ReplyFormatError."""
    value = extract_json(text, (list, dict))
    if isinstance(value, dict):
        for key in ("queries", "requests", "tasks"):
            if isinstance(value.get(key), list):
                return value[key]
        if "query" in value:
            return [value]
        raise ReplyFormatError("the reply is a JSON object without a 'queries' list")
    return value


class QueryFilter:
    """Applies the filters to the entries of replies; keeps the dedup state of a run."""

    def __init__(self, config: InstructionConfig) -> None:
        self.config = config
        self.index = DedupIndex(threshold=config.near_duplicate)
        self.texts: dict[str, str] = {}

    def remember(self, query: Query) -> None:
        self.index.add(query.id, query.text)
        self.texts[query.id] = query.text

    def check(self, entry: Any, api_set: ApiSet) -> tuple[str, list[tuple[str, str]], Rejected | None]:
        """(text, relevant pairs, rejection or None) for one entry of a reply."""
        idx = api_set.index
        if not isinstance(entry, dict):
            return "", [], Rejected(idx, "malformed_entry", f"an entry must be an object, got {type(entry).__name__}",
                                    json.dumps(entry, ensure_ascii=False)[:500])
        text = entry.get("query")
        raw_rel = next((entry[k] for k in _RELEVANT_KEYS if k in entry), None)
        rel_out = [list(p) for p in raw_rel if isinstance(p, (list, tuple))] if isinstance(raw_rel, list) else []
        if not isinstance(text, str) or len(text.strip()) < self.config.min_chars:
            return "", [], Rejected(idx, "malformed_entry",
                                    f"'query' must be a text of at least {self.config.min_chars} characters",
                                    str(text)[:500], rel_out)
        text = text.strip()
        pairs, reason, detail = match_relevant(raw_rel, api_set)
        if reason:
            return text, [], Rejected(idx, reason, detail or "", text, rel_out)
        if len(pairs) < self.config.min_relevant:
            return text, pairs, Rejected(idx, "too_few_apis", f"{len(pairs)} relevant API(s); at least "
                                                              f"{self.config.min_relevant} wanted", text, rel_out)
        if len(pairs) > self.config.max_relevant:
            return text, pairs, Rejected(idx, "too_many_apis", f"{len(pairs)} relevant APIs; at most "
                                                               f"{self.config.max_relevant} wanted", text, rel_out)
        if api_set.group in ("G2", "G3") and len(api_set.tools) > 1 and len({t for t, _ in pairs}) < 2:
            return text, pairs, Rejected(idx, "single_tool", f"all relevant APIs belong to {pairs[0][0]!r}; a "
                                                             f"{api_set.group} query needs two tools or more",
                                         text, rel_out)
        name = composer.api_name_used(text, list(api_set.apis))
        if name:
            return text, pairs, Rejected(idx, "api_name", f"the query names the API {name!r}", text, rel_out)
        match = self.index.check(text)
        if match is not None:
            detail = (f"same text as query {match.other}" if match.kind == "duplicate" else
                      f"similarity {match.similarity:.2f} with query {match.other}")
            return text, pairs, Rejected(idx, match.kind, detail, text, rel_out)
        return text, pairs, None


def queries_for_set(model: ChatModel | None, api_set: ApiSet, qfilter: QueryFilter, config: InstructionConfig,
                    next_id: Callable[[], str], seed: int, today: Any = None, limit: int | None = None) -> SetResult:
    """Ask the model for queries about one API set and filter them. Request failures become a
    ``malformed_reply`` rejection (the run goes on). In ``compose`` mode: :func:`composed_for_set`."""
    if config.mode == "compose":
        return composed_for_set(model, api_set, qfilter, config, next_id, seed, today, limit)
    if model is None:
        raise GenerateError("instructions.mode llm needs a model")
    result = SetResult(api_set)
    messages = build_messages(api_set, config.queries_per_set, config)
    try:
        extra = {}
        if (fmt := response_format(api_set, config.queries_per_set, config)) is not None:
            extra["response_format"] = fmt
        reply = model.chat(messages, temperature=config.temperature, max_tokens=config.max_tokens,
                           seed=seed + api_set.index, **extra)
    except LLMError as exc:
        result.rejected.append(Rejected(api_set.index, "malformed_reply", f"the request failed: {exc}"))
        return result
    try:
        entries = parse_entries(reply.content)
    except ReplyFormatError as exc:
        result.rejected.append(Rejected(api_set.index, "malformed_reply", str(exc), (reply.content or "")[:2000]))
        return result
    for entry in entries:
        text, pairs, rejected = qfilter.check(entry, api_set)
        if rejected is not None:
            result.rejected.append(rejected)
            continue
        query = Query(id=next_id(), text=text, group=api_set.group, apis=list(api_set.apis), relevant=pairs)
        qfilter.remember(query)
        result.accepted.append(query)
        result.phrased_by.append("model")
    return result


def composed_for_set(model: ChatModel | None, api_set: ApiSet, qfilter: QueryFilter, config: InstructionConfig,
                     next_id: Callable[[], str], seed: int, today: Any = None,
                     limit: int | None = None) -> SetResult:
    """``queries_per_set`` composed queries for one API set (:func:`toolbench.generate.composer.compose_one`),
    through the same filters as the model's; ``model`` None phrases by rule only; stops once ``limit`` are kept.
    Query ``j`` of set ``i`` depends only on (seed, group, i, j)."""
    result = SetResult(api_set)
    today = today or catalog_today(api_set.apis)
    for j in range(config.queries_per_set):
        if limit is not None and len(result.accepted) >= limit:
            break
        rng = derive_rng(seed, "compose", api_set.group, api_set.index, j)
        sampler = ValueSampler(rng, today=today, optional_rate=config.optional_rate)
        try:
            text, steps, by, why = composer.compose_one(
                model, api_set, rng, sampler, min_relevant=config.min_relevant, max_relevant=config.max_relevant,
                min_chars=config.min_chars, json_schema=config.json_schema, temperature=config.temperature,
                max_tokens=config.max_tokens, seed=seed + 1000 * api_set.index + j,
                avoid=frozenset(tuple(q.relevant) for q in result.accepted))
        except ValueSamplingError as exc:
            result.rejected.append(Rejected(api_set.index, "unsampleable", str(exc)))
            continue
        except composer.DraftError as exc:
            result.rejected.append(Rejected(api_set.index, "unphrasable", str(exc)))
            continue
        if why:
            result.refused.append(why)
        entry = {"query": text, "relevant APIs": [list(s.api.key) for s in steps]}
        text, pairs, rejected = qfilter.check(entry, api_set)
        if rejected is not None:
            result.rejected.append(rejected)
            continue
        query = Query(id=next_id(), text=text, group=api_set.group, apis=list(api_set.apis), relevant=pairs)
        qfilter.remember(query)
        result.accepted.append(query)
        result.phrased_by.append(by)
    return result


# -- a run --------------------------------------------------------------------------------------------------------

@dataclass
class InstructionRun:
    """A resumable run writing ``out`` (a ToolBench query file) from ``<out>.journal.jsonl``.

    Files next to ``out``: ``<stem>.journal.jsonl`` (one line per finished API set: its kept queries and
    rejections), ``<stem>.rejected.json`` (every rejection with its reason) and ``<stem>.stats.json`` (counts).
    """

    out: Path
    group: str
    n: int
    seed: int = 0
    config: InstructionConfig = field(default_factory=InstructionConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.group = self.group.upper()
        if self.n < 1:
            raise GenerateError(f"--n must be at least 1, got {self.n}")

    @property
    def journal(self) -> Path:
        return self.out.with_name(self.out.stem + ".journal.jsonl")

    def _read_journal(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        rows = []
        for number, line in enumerate(self.journal.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                # a line cut off by a crash: everything after it is redone
                break
        return rows

    def run(self, model: ChatModel | None, tools: list[Tool],
            on_set: Callable[[SetResult, int], None] | None = None) -> dict[str, Any]:
        """Generate until ``n`` queries are kept (or the set budget is spent); returns the stats. ``model`` may be
        None in ``compose`` mode (queries phrased by rule)."""
        sampler = ApiSetSampler(tools, self.group, self.seed, self.sampling)
        today = catalog_today([api for tool in tools for api in tool.apis])
        qfilter = QueryFilter(self.config)
        accepted: list[Query] = []
        rejected: list[Rejected] = []
        phrased_by: list[str] = []
        refused: list[str] = []
        done: set[int] = set()
        for row in self._read_journal():
            done.add(row["set"])
            for item in row["accepted"]:
                query = Query.from_dict(item, group=self.group)
                accepted.append(query)
                qfilter.remember(query)
            rejected.extend(Rejected.from_dict(r) for r in row["rejected"])
            phrased_by.extend(row.get("phrased_by", ["model"] * len(row["accepted"])))
            refused.extend(row.get("refused", []))
        counter = [max((int(q.id) for q in accepted if q.id.isdigit()), default=0)]

        def next_id() -> str:
            counter[0] += 1
            return str(counter[0])

        budget = self.n * self.config.max_sets_factor // self.config.queries_per_set + 10
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.journal.open("a", encoding="utf-8") as journal:
                for index in self._pending(done, budget, lambda: len(accepted)):
                    result = queries_for_set(model, sampler.sample(index), qfilter, self.config, next_id, self.seed,
                                             today, limit=self.n - len(accepted))
                    journal.write(json.dumps({"set": index, "accepted": [q.to_dict() for q in result.accepted],
                                              "rejected": [r.to_dict() for r in result.rejected],
                                              "phrased_by": result.phrased_by, "refused": result.refused},
                                             ensure_ascii=False) + "\n")
                    journal.flush()
                    accepted.extend(result.accepted)
                    rejected.extend(result.rejected)
                    phrased_by.extend(result.phrased_by)
                    refused.extend(result.refused)
                    if on_set is not None:
                        on_set(result, min(len(accepted), self.n))
        finally:
            stats = self._write(accepted, rejected, len(done), phrased_by, refused)
        return stats

    def _pending(self, done: set[int], budget: int, kept: Callable[[], int]) -> Iterator[int]:
        index = 0
        while kept() < self.n and index < budget:
            if index not in done:
                yield index
            index += 1

    def _write(self, accepted: list[Query], rejected: list[Rejected], resumed_sets: int, phrased_by: list[str],
               refused: list[str]) -> dict[str, Any]:
        kept = accepted[: self.n]
        rows = [q.to_dict() for q in kept]
        if group_from_filename(self.out) == self.group:
            for row in rows:  # ToolBench's files carry no group: G1_query.json says it
                row.pop("group", None)
        write_json_atomic(self.out, rows)
        write_json_atomic(self.out.with_name(self.out.stem + ".rejected.json"), [r.to_dict() for r in rejected])
        stats = {
            "group": self.group, "seed": self.seed, "wanted": self.n, "kept": len(kept),
            "generated": len(accepted) + len(rejected), "rejected": len(rejected),
            "rejected_by_reason": dict(Counter(r.reason for r in rejected)), "resumed_sets": resumed_sets,
            "mode": self.config.mode, "yield": round(len(kept) / self.n, 4),
            "phrased_by": dict(Counter(phrased_by[: len(kept)])),
            "model_text_refused": dict(Counter(why.split(":", 1)[0] for why in refused)),
        }
        write_json_atomic(self.out.with_name(self.out.stem + ".stats.json"), stats)
        return stats


def run(config: InstructionsRunConfig, on_set: Callable[[SetResult, int], None] | None = None, *,
        chat: ChatModel | None = None) -> dict[str, Any]:
    """``toolbench generate instructions``: ``config.n`` queries of ``config.group`` for the catalog's API sets,
    written to ``config.out`` (resuming from its journal); returns the stats (``<stem>.stats.json``).
    ``on_set(result, kept so far)`` after each API set. ``chat``: the model to ask instead of the one
    ``config.model`` names (the demo's one client shared by its three groups; the caller closes it); without
    either, compose mode phrases every query by rule."""
    from toolbench.generate.pipeline import catalog_tools, chat_model

    tools = catalog_tools(config.catalog)
    own = None
    if chat is None and not config.phrased_by_rule:
        chat = own = chat_model(config.base_url, config.model, config.cache, "generate instructions --mode llm")
    try:
        return InstructionRun(out=Path(config.out), group=config.group, n=config.n, seed=config.seed,
                              config=config.instructions).run(chat, tools, on_set)
    finally:
        if own is not None and hasattr(own, "close"):
            own.close()
