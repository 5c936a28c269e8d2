"""Response compression: shrink an API's answer before an agent reads it, keeping what its schema promises.

Schema-based pruning (:func:`prune`) keeps only the keys the API's response schema declares — a JSON Schema
(``properties``/``items``, ``anyOf``/``oneOf``/``allOf`` alternatives) or ToolBench's ``template_response``
(``{"name": "str", "items": [{"id": "int", "_list_length": 5}]}``). Then :func:`shrink` drops empty values,
cuts lists and long strings, and the whole text is capped like ToolBench's 2,048 characters (1,024 for a
tighter budget). :func:`compression_report` gives the ratio per API and overall over recorded responses.

An LLM pass (:func:`propose_schemas`) proposes a tighter schema per API from its documentation and recorded
responses: the keys an agent needs, as a ToolBench template. The proposal is checked against the responses
(keys no response has are dropped and listed), so a model cannot invent fields; prompt building and reply
checking are pure (:func:`schema_proposal_messages`, :func:`parse_schema_proposal`).

:func:`run` is ``toolbench compress`` as a function (the CLI, the demo or a notebook call it) with a
:class:`CompressRunConfig` (the command builds its options from it): the report over a response cache, with the
LLM's proposals made (``propose_schema``) or read back (``schemas``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.config import ConfigError, doc
from toolbench.errors import ToolbenchError

_SCHEMA_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
_SCHEMA_KEYS = {"properties", "items", "anyOf", "oneOf", "allOf", "$ref", "enum", "additionalProperties"}
_EMPTY = (None, "", [], {})


class CompressError(ToolbenchError):
    """A compression setting is invalid: the message names the field."""


@dataclass
class CompressConfig:
    """How far responses are cut. Zero disables a limit."""

    max_list_items: int = field(default=5, metadata=doc(
        "Items kept per list (0: all; ToolBench templates show 2-5)."))
    max_string_chars: int = field(default=300, metadata=doc("Characters kept per string value (0: all)."))
    max_total_chars: int = field(default=2048, metadata=doc(
        "Cap on the whole response text (0: none; ToolBench: 2048, then 1024 when a prompt gets too long)."))
    drop_empty: bool = field(default=True, metadata=doc("Drop null, empty strings, empty lists and objects."))
    prune_by_schema: bool = field(default=True, metadata=doc("Keep only the keys the response schema has."))

    def __post_init__(self) -> None:
        for name in ("max_list_items", "max_string_chars", "max_total_chars"):
            if getattr(self, name) < 0:
                raise CompressError(f"{name}: must be >= 0 (0 disables the limit)")


class CompressConfigError(CompressError, ConfigError):
    """A ``compress`` config file or ``--set`` item is wrong (the message names it and the field)."""


@dataclass
class CompressRunConfig:
    """One ``toolbench compress`` run: the response cache, the catalog whose schemas prune, how far responses are
    cut (``compress``, its fields flat on the command line), and the LLM's schema proposals."""

    cache: str = field(metadata=doc("SQLite response cache (from the executor or a crawl).", path=True))
    catalog: str = field(default="data/tools", metadata=doc("Catalog whose response schemas drive the pruning.",
                                                            path=True))
    compress: CompressConfig = field(default_factory=CompressConfig, metadata=doc("How far responses are cut."))
    out: str | None = field(default=None, metadata=doc("Write the report as JSON here.", path=True,
                                                       option=("--out", "-o")))
    schemas: str | None = field(default=None, metadata=doc(
        "Proposed schemas (a file written by --propose-schema) used instead of the catalog's for the APIs they "
        "cover.", path=True))
    propose_schema: bool = field(default=False, metadata=doc(
        "Ask an LLM for a compressed response schema per API (checked against the recorded responses).",
        option="--propose-schema"))
    base_url: str | None = field(default=None, metadata=doc(
        "OpenAI-compatible endpoint (.../v1) for --propose-schema, e.g. http://127.0.0.1:8000/v1 "
        "(toolbench llm serve)."))
    model: str = field(default="smollm2-135m-instruct", metadata=doc("Model name for --propose-schema."))
    api_key_env: str = field(default="OPENAI_API_KEY", metadata=doc("Variable holding the LLM's key."))
    llm_cache: str | None = field(default=None, metadata=doc("Record/replay cache of the LLM's replies.", path=True))
    schemas_out: str | None = field(default=None, metadata=doc(
        "Where --propose-schema writes its proposals (default: <cache>.schemas.json).", path=True))

    def __post_init__(self) -> None:
        if isinstance(self.compress, dict):
            self.compress = CompressConfig(**self.compress)

    @property
    def proposals_path(self) -> Path:
        """Where ``propose_schema`` writes the proposals."""
        cache = Path(self.cache)
        return Path(self.schemas_out) if self.schemas_out else cache.with_name(cache.name + ".schemas.json")


def _as_schema(schema: Any) -> Any:
    if isinstance(schema, str):
        try:
            return json.loads(schema)
        except ValueError:
            return None
    return schema


def _is_json_schema(node: dict) -> bool:
    return bool(_SCHEMA_KEYS & node.keys()) or node.get("type") in _SCHEMA_TYPES


def _properties(schema: Any) -> dict | None:
    """The keys an object may have under ``schema``; None when the schema does not say."""
    if not isinstance(schema, dict):
        return None
    if _is_json_schema(schema):
        if isinstance(schema.get("properties"), dict):
            return schema["properties"]
        for key in ("allOf", "anyOf", "oneOf"):
            merged: dict = {}
            for alt in schema.get(key) or []:
                merged.update(_properties(alt) or {})
            if merged:
                return merged
        return None
    return {k: v for k, v in schema.items() if k != "_list_length"}  # a ToolBench template


def _items(schema: Any) -> Any:
    if isinstance(schema, list):  # ToolBench template: [item template]
        return schema[0] if schema else None
    if isinstance(schema, dict) and _is_json_schema(schema):
        if "items" in schema:
            return schema["items"]
        for key in ("anyOf", "oneOf", "allOf"):
            for alt in schema.get(key) or []:
                if isinstance(alt, dict) and "items" in alt:
                    return alt["items"]
    return None


def prune(value: Any, schema: Any) -> Any:
    """Keep the parts of ``value`` that ``schema`` declares; parts it says nothing about are kept whole."""
    schema = _as_schema(schema)
    if schema is None:
        return value
    if isinstance(value, dict):
        props = _properties(schema)
        if props is None:
            return value
        return {k: prune(v, props[k]) for k, v in value.items() if k in props}
    if isinstance(value, list):
        item = _items(schema)
        return [prune(v, item) for v in value] if item is not None else value
    return value


def shrink(value: Any, config: CompressConfig) -> Any:
    """Drop empty values, cut lists and strings (recursively)."""
    if isinstance(value, dict):
        out = {k: shrink(v, config) for k, v in value.items()}
        return {k: v for k, v in out.items() if not (config.drop_empty and _is_empty(v))}
    if isinstance(value, list):
        kept = value[: config.max_list_items] if config.max_list_items else value
        out = [shrink(v, config) for v in kept]
        return [v for v in out if not (config.drop_empty and _is_empty(v))]
    if isinstance(value, str) and config.max_string_chars and len(value) > config.max_string_chars:
        return value[: config.max_string_chars] + "..."
    return value


def _is_empty(value: Any) -> bool:
    return any(value is e or (type(value) is type(e) and value == e) for e in _EMPTY)


def compress_response(text: str, schema: Any = None, config: CompressConfig | None = None) -> str:
    """The compressed response text. Text that is not JSON is only capped."""
    config = config or CompressConfig()
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        out = text
    else:
        if config.prune_by_schema:
            value = prune(value, schema)
        out = json.dumps(shrink(value, config), ensure_ascii=False, separators=(",", ":"))
    if config.max_total_chars and len(out) > config.max_total_chars:
        out = out[: config.max_total_chars]
    return out


@dataclass
class ApiRatio:
    tool: str
    api: str
    responses: int = 0
    original_chars: int = 0
    compressed_chars: int = 0

    @property
    def ratio(self) -> float:
        """Compressed size / original size (lower is smaller)."""
        return self.compressed_chars / self.original_chars if self.original_chars else 1.0

    def to_dict(self) -> dict:
        return {"tool": self.tool, "api": self.api, "responses": self.responses,
                "original_chars": self.original_chars, "compressed_chars": self.compressed_chars,
                "ratio": round(self.ratio, 4)}


def compression_report(entries: Iterable[dict], schemas: dict[tuple[str, str], Any],
                       config: CompressConfig | None = None) -> dict:
    """Ratios per API and overall for recorded responses (``ResponseCache.entries()`` rows: tool, api,
    response, error). ``schemas`` maps (tool, api) to its response schema (missing: no pruning)."""
    config = config or CompressConfig()
    per: dict[tuple[str, str], ApiRatio] = {}
    for e in entries:
        if e.get("error") or not e.get("response"):
            continue
        key = (e["tool"], e["api"])
        row = per.setdefault(key, ApiRatio(*key))
        row.responses += 1
        row.original_chars += len(e["response"])
        row.compressed_chars += len(compress_response(e["response"], schemas.get(key), config))
    total_in = sum(r.original_chars for r in per.values())
    total_out = sum(r.compressed_chars for r in per.values())
    return {"apis": [r.to_dict() for r in sorted(per.values(), key=lambda r: (r.tool, r.api))],
            "overall": {"responses": sum(r.responses for r in per.values()), "original_chars": total_in,
                        "compressed_chars": total_out, "ratio": round(total_out / total_in, 4) if total_in else 1.0}}


# -- an LLM proposes a compressed schema per API ---------------------------------------------------------

SCHEMA_SYSTEM_PROMPT = (
    "You shrink API responses for an agent whose context is short. Given one API's documentation, its current "
    "response schema and a few real responses, list the keys the agent needs to answer users with this API "
    "(identifiers, names, amounts, dates, statuses, the values asked for) and leave out the rest (links, "
    "internal or tracking ids, metadata, pagination, repeated or derived fields).\n"
    "Reply with one JSON object and nothing else: the response template, ToolBench style. Map each kept key to "
    "its type name (str, int, float, bool) or to its nested template; write a list as a one-item list of its "
    "item template. Keep the nesting of the responses and use only keys that appear in them."
)


@dataclass
class SchemaProposal:
    """What the LLM proposed for one API, after checking it against the recorded responses."""

    tool: str
    api: str
    schema: Any = None  # the checked proposal (ToolBench template); None when unusable
    dropped_keys: list[str] = field(default_factory=list)  # proposed keys no recorded response has
    error: str = ""  # why there is no usable proposal

    def to_dict(self) -> dict:
        return {"tool": self.tool, "api": self.api, "schema": self.schema, "dropped_keys": self.dropped_keys,
                "error": self.error}


def schema_proposal_messages(tool: str, api: str, description: str, schema: Any, examples: list[str],
                             max_example_chars: int = 1500) -> list[dict[str, str]]:
    """The chat messages asking for a compressed response schema (pure)."""
    parts = [f"API: {api} (tool {tool})", f"Description: {description or '(none)'}",
             "Current response schema: " + (json.dumps(_as_schema(schema), ensure_ascii=False) if schema else
                                            "(none)"), "Recorded responses:"]
    for text in examples:
        parts.append(text if len(text) <= max_example_chars else text[:max_example_chars] + " ...(cut)")
    return [{"role": "system", "content": SCHEMA_SYSTEM_PROMPT}, {"role": "user", "content": "\n\n".join(parts)}]


def _json_in(text: str) -> Any:
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        return json.loads(text)
    except ValueError:
        start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
        if start < 0:
            return None
        try:
            return json.JSONDecoder().raw_decode(text[start:])[0]
        except ValueError:
            return None


def _check_template(proposal: Any, observed: Any, path: str, dropped: list[str]) -> Any:
    """``proposal`` (a ToolBench template or a JSON Schema) restricted to what ``observed`` (a JSON Schema
    inferred from the responses) has; unknown keys go to ``dropped``."""
    if isinstance(proposal, dict) and _is_json_schema(proposal):
        from toolbench.response_schema import to_template

        proposal = to_template(proposal)
    observed = observed or {}
    if isinstance(proposal, dict):
        props = observed.get("properties")
        if props is None:
            return None
        out = {}
        for key, sub in proposal.items():
            if key == "_list_length":
                continue
            if key not in props:
                dropped.append(f"{path}{key}")
                continue
            if not isinstance(sub, (dict, list)):
                out[key] = sub  # a type name
                continue
            checked = _check_template(sub, props[key], f"{path}{key}.", dropped)
            out[key] = "any" if checked is None else checked  # nothing known inside: keep the value whole
        return out or None
    if isinstance(proposal, list):
        items = observed.get("items")
        if not proposal or items is None:
            return proposal or None
        inner = _check_template(proposal[0], items, path + "[].", dropped)
        return [inner] if inner is not None else None
    return None  # a type name: kept by the caller as it is


def parse_schema_proposal(text: str | None, responses: list[str]) -> tuple[Any, list[str], str]:
    """The model's reply as (template, keys dropped because no response has them, error)."""
    from toolbench.response_schema import infer_from_texts

    data = _json_in(text or "")
    if not isinstance(data, (dict, list)):
        return None, [], "the reply holds no JSON object"
    observed = infer_from_texts(responses)
    if observed is None:
        return None, [], "no recorded JSON response to check the proposal against"
    dropped: list[str] = []
    checked = _check_template(data, observed, "", dropped)
    if checked is None:
        return None, dropped, "no proposed key appears in the recorded responses"
    return checked, dropped, ""


def propose_schema(model: Any, tool: str, api: str, description: str, schema: Any, responses: list[str],
                   max_examples: int = 3) -> SchemaProposal:
    """Ask ``model`` (a :class:`~toolbench.llm.base.ChatModel`) for a compressed schema of one API."""
    examples = responses[-max_examples:]
    reply = model.chat(schema_proposal_messages(tool, api, description, schema, examples), temperature=0.0)
    proposal, dropped, error = parse_schema_proposal(reply.content, responses)
    return SchemaProposal(tool, api, proposal, dropped, error)


def propose_schemas(model: Any, entries: Iterable[dict], apis: dict[tuple[str, str], Any],
                    max_examples: int = 3) -> list[SchemaProposal]:
    """One proposal per API with recorded successful responses (``ResponseCache.entries()`` rows); ``apis`` maps
    (tool, api) to its catalog :class:`~toolbench.records.Api` (for the description and current schema)."""
    responses: dict[tuple[str, str], list[str]] = {}
    for e in entries:
        if not e.get("error") and e.get("response"):
            responses.setdefault((e["tool"], e["api"]), []).append(e["response"])
    out = []
    for (tool, api), texts in sorted(responses.items()):
        record = apis.get((tool, api))
        out.append(propose_schema(model, tool, api, getattr(record, "description", ""),
                                  getattr(record, "response_schema", None), texts, max_examples))
    return out


# -- the command as a function ---------------------------------------------------------------------------

@dataclass
class CompressResult:
    """What :func:`run` gives: the report (``compression_report``'s, with ``proposed`` and each API's
    ``proposed_ratio`` when schemas were proposed or read), and the proposals made with where they went."""

    report: dict
    proposals: list[SchemaProposal] = field(default_factory=list)
    proposals_file: Path | None = None


def read_proposals(path: str | Path) -> dict[tuple[str, str], Any]:
    """(tool, api) -> proposed schema from a file written by ``--propose-schema`` (unusable proposals left out)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {(p["tool"], p["api"]): p["schema"] for p in data["proposals"] if p.get("schema") is not None}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CompressError(f"{path}: not a proposals file written by --propose-schema ({exc})") from None


def run(config: CompressRunConfig, chat: Any = None) -> CompressResult:
    """``toolbench compress``: the compression report of the responses in ``config.cache`` (written to
    ``config.out`` when given). With ``propose_schema``, ``chat`` (default: ``config.model`` at
    ``config.base_url``) proposes a schema per API, written to ``config.proposals_path``; with ``schemas``, the
    proposals of such a file are read back. Either way the report compares the catalog's schemas with them."""
    from toolbench.cache import ResponseCache
    from toolbench.catalog.store import load_catalog
    from toolbench.formats.atomic import write_json_atomic

    cache = Path(config.cache)
    if not cache.exists():
        raise CompressError(f"{cache}: no such cache file; record responses first (executor or crawl)")
    apis = {(t.name, a.name): a for t in load_catalog(config.catalog).tools for a in t.apis}
    catalog_schemas = {key: a.response_schema for key, a in apis.items()}
    store = ResponseCache(cache)
    try:
        entries = list(store.entries())
    finally:
        store.close()
    result = CompressResult({})
    proposed: dict[tuple[str, str], Any] = {}
    if config.propose_schema:
        if chat is None:
            from toolbench.llm.factory import make_chat_model

            chat = make_chat_model(config.model, base_url=config.base_url, api_key_env=config.api_key_env,
                                   cache_path=config.llm_cache)
        result.proposals = propose_schemas(chat, entries, apis)
        result.proposals_file = write_json_atomic(config.proposals_path, {
            "model": config.model, "proposals": [p.to_dict() for p in result.proposals]})
        proposed = {(p.tool, p.api): p.schema for p in result.proposals if p.schema is not None}
    elif config.schemas is not None:
        proposed = read_proposals(config.schemas)
    report = compression_report(entries, catalog_schemas, config.compress)
    if proposed:
        with_proposals = compression_report(entries, {**catalog_schemas, **proposed}, config.compress)
        report["proposed"] = with_proposals
        ratios = {(r["tool"], r["api"]): r for r in with_proposals["apis"]}
        for row in report["apis"]:
            row["proposed_ratio"] = ratios[(row["tool"], row["api"])]["ratio"]
    if config.out is not None:
        write_json_atomic(config.out, report)
    result.report = report
    return result
