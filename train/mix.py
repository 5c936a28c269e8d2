"""The fine-tuning mix (``toolbench train mix``): generated call examples plus generated samples written as
DFSDT-style runs, the shortest first, categories interleaved.

Reads what ``toolbench generate calls`` wrote (``<calls>/train/openai.jsonl`` and ``<calls>/train/queries.json``,
the train split's samples in the same order, and ``<calls>/samples.jsonl``) and the catalog whose tools the runs
offer; writes ``<out>/train.jsonl`` (OpenAI fine-tuning rows with an ``id``, what ``toolbench train sft`` takes)
and ``<out>/mix.json`` (how many of each, tokens, the longest, categories).

- **Call examples**: the exported OpenAI rows without the tool results after the last assistant turn
  (:func:`trim_trailing_results`: only assistant turns are learned, those results cost time and teach nothing).
- **DFSDT-style runs** (:func:`agent_example`): a sample whose every call has a known result, as a search would
  show it: the annotation's opening messages, the expected calls under the names the search offers, the results
  (as the model is shown them, cut to ``observation_chars``), and ``Finish(give_answer)`` with a short answer
  (:func:`final_answer`).

CPU time goes by tokens while the learning signal is the few tokens of each call, so within each category the
shortest examples (as the trainer renders them, at most ``max_length`` / ``agent_max_length`` tokens) are taken
first, categories interleaved (:func:`round_robin`).

The annotation's prompt (``opening``) is passed in by the caller (the CLI, the demo): a stage does not import
another stage.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.config import doc
from toolbench.errors import ToolbenchError
from toolbench.formats.finish import FINISH, GIVE_ANSWER
from toolbench.selection import TASK_CATEGORIES, round_robin

Opening = Callable[[str, Any, Mapping[str, str]], list[dict[str, Any]]]


ORDERS = ("shortest", "random")


class MixError(ToolbenchError):
    """The inputs cannot make a training mix; the message names the file and what to do."""


@dataclass
class MixConfig:
    """What ``toolbench train mix`` reads, writes and keeps."""

    calls: str | None = field(default=None, metadata=doc("The folder `toolbench generate calls` wrote (train/openai.jsonl, "
                                                "train/queries.json, samples.jsonl).", path=True))
    catalog: str | None = field(default=None, metadata=doc("Catalog folder whose tools the DFSDT-style runs offer (the one "
                                                  "the calls were generated from).", path=True))
    out: str | None = field(default=None, metadata=doc("Folder to write train.jsonl and mix.json into.", path=True))
    call_examples: int = field(default=64, metadata=doc("Generated call examples (OpenAI format) in the mix."))
    agent_examples: int = field(default=12, metadata=doc("Generated samples also written as DFSDT-style runs "
                                                         "(0: none)."))
    max_length: int = field(default=640, metadata=doc("Longest call example in tokens (the shortest are taken "
                                                      "first)."))
    agent_max_length: int = field(default=1280, metadata=doc("Longest DFSDT-style example in tokens."))
    observation_chars: int = field(default=384, metadata=doc("API responses shown in the runs cut to this many "
                                                             "characters (as the search shows them)."))
    model: str = field(default="default", metadata=doc("Tokenizer that measures the examples: 'default' (the "
                                                       "packaged SmolLM2) or a model folder."))
    reference_calls: str | None = field(default=None, metadata=doc(
        "A second folder `toolbench generate calls` wrote, from another catalog (e.g. the StableToolBench G1 "
        "reference catalog: hundreds of real API signatures, verified by format and meaning): its call examples "
        "join the mix as `ref-<id>`.", path=True))
    reference_call_examples: int = field(default=0, metadata=doc("Call examples taken from --reference-calls "
                                                                 "(in --order, categories interleaved)."))
    order: str = field(default="shortest", metadata=doc(
        "Which call examples of a category are taken first: 'shortest' (fewest tokens: the cheapest to train, "
        "but mostly calls with zero or one argument, two calls, few offered functions) or 'random' (a seeded "
        "draw among those within max_length: the generated samples' own spread of arguments, calls and offered "
        "functions). DFSDT-style runs are always taken shortest first."))
    seed: int = field(default=0, metadata=doc("Seed of --order random."))
    category_weights: dict[str, float] = field(default_factory=dict, metadata=doc(
        "How often a category comes up as the call examples are interleaved: category -> examples per turn "
        "(1 when not named, 0 leaves it out), e.g. irrelevance=2 doubles the share of no-call examples while "
        "there are enough of them.", option="--category-weight", form="CATEGORY=WEIGHT", example="irrelevance=2"))
    kind_weights: dict[str, float] = field(default_factory=dict, metadata=doc(
        "How often a kind of sample comes up within its category (the `kind` the generator records, e.g. the "
        "irrelevance kinds missing_capability, same_arguments, other_category, off_topic): kind -> examples per "
        "turn, 0 leaves it out. A category's examples come shortest first; a named kind takes turns with the "
        "category's other examples (which keep that order, 1 a turn).", option="--kind-weight", form="KIND=WEIGHT",
        example="missing_capability=0"))

    def check(self) -> None:
        for name in ("calls", "catalog", "out"):
            if not getattr(self, name):
                raise MixError(f"{name}: required (see `toolbench train mix --help`)")
        for name in ("call_examples", "agent_examples", "max_length", "agent_max_length", "observation_chars",
                     "reference_call_examples"):
            if getattr(self, name) < 0:
                raise MixError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if self.order not in ORDERS:
            raise MixError(f"order: use one of {', '.join(ORDERS)}, got {self.order!r}")
        for name in ("category_weights", "kind_weights"):
            for key, weight in getattr(self, name).items():
                if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                    raise MixError(f"{name}.{key}: must be a number >= 0, got {weight!r}")


@dataclass
class MixResult:
    examples: list[dict[str, Any]]
    stats: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


def trim_trailing_results(example: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI fine-tuning example without the tool results after its last assistant turn: only assistant turns
    are learned, so those results cost training time and teach nothing."""
    messages = list(example.get("messages", []))
    while messages and messages[-1].get("role") == "tool":
        messages.pop()
    return {**example, "messages": messages}


def final_answer(sample: Mapping[str, Any], max_fields: int = 3) -> str:
    """A short final answer for a DFSDT-style training run: up to ``max_fields`` top-level scalar fields of the
    last result (``count: 5, city: Paris``). Short on purpose: the Finish call must fit in the reply budget, and
    copying raw JSON into it would teach the model to run out of tokens inside an unterminated string."""
    steps = sample.get("steps", [])
    last = next((s["observations"][-1] for s in reversed(steps) if s.get("observations")), "")
    try:
        value = json.loads(last) if isinstance(last, str) else last
    except json.JSONDecodeError:
        value = None
    fields = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, (str, int, float)) and not isinstance(item, bool) and len(str(item)) <= 40:
                fields.append(f"{key}: {item}")
            if len(fields) == max_fields:
                break
    summary = ", ".join(fields)
    if sample.get("language") == "zh":
        return f"已完成。{summary}" if summary else "已完成。"
    return f"Done. {summary}." if summary else "Done."


def agent_example(sample: Mapping[str, Any], functions: Any, descriptions: Mapping[str, str],
                  observation: Callable[[str], str], opening: Opening) -> dict[str, Any] | None:
    """A generated sample as a DFSDT-style run in OpenAI fine-tuning form: ``opening`` (the annotation's opening
    messages: ``annotate.prompts.opening_messages``), the expected calls (offered under the names ``functions``
    gives their APIs), the hub's results as the search shows them (``observation`` formats one), and a
    ``Finish(give_answer)`` call. None for a sample without calls or with a call whose result is unknown.

    ``functions`` is the :class:`~toolbench.catalog.functions.FunctionSet` the search would offer for the
    sample's APIs; ``descriptions`` maps tool names to descriptions (the system prompt lists them)."""
    steps = sample.get("steps", [])
    if not steps or any(not s.get("calls") or len(s.get("observations", [])) != len(s["calls"]) for s in steps):
        return None
    by_api = {(f.api.tool, f.api.name): name for name, f in functions.functions.items()}
    text = " ".join(s["user"] for s in steps if s.get("user"))
    messages: list[dict[str, Any]] = list(opening(text, functions, descriptions))
    for s_index, step in enumerate(steps):
        ids = [f"call_{s_index}_{c_index}" for c_index in range(len(step["calls"]))]
        calls = []
        for call_id, call in zip(ids, step["calls"]):
            name = by_api.get((call.get("tool"), call.get("api")))
            if name is None:
                return None
            calls.append({"id": call_id, "type": "function",
                          "function": {"name": name, "arguments": json.dumps(call.get("arguments") or {},
                                                                              ensure_ascii=False)}})
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        messages += [{"role": "tool", "tool_call_id": call_id, "content": observation(obs)}
                     for call_id, obs in zip(ids, step["observations"])]
    finish = {"return_type": GIVE_ANSWER, "final_answer": final_answer(sample)}
    messages.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_finish", "type": "function",
         "function": {"name": FINISH, "arguments": json.dumps(finish, ensure_ascii=False)}}]})
    return {"messages": messages, "tools": functions.openai_tools(finish=True)}


def _count(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[str(value)] = out.get(str(value), 0) + 1
    return dict(sorted(out.items()))


def sample_kinds(samples: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Sample id -> the kind the generator recorded in its ``meta`` (irrelevance and hallucination samples have
    one; the others map to "")."""
    return {str(s["id"]): str((s.get("meta") or {}).get("kind") or "") for s in samples if "id" in s}


def call_items(rows: list[dict[str, Any]], queries: list[dict[str, Any]], length: Callable[[dict[str, Any]], int],
               where: str, prefix: str = "", kinds: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One candidate per exported call example: its id (``prefix`` + sample id), category, kind (from ``kinds``,
    :func:`sample_kinds`), example (trailing results trimmed) and tokens."""
    if len(rows) != len(queries):
        raise MixError(f"{where}: openai.jsonl ({len(rows)} rows) and queries.json ({len(queries)} queries) "
                       "disagree; generate the calls again")
    return [{"id": f"{prefix}{q['sample_id']}", "category": q.get("category", ""),
             "kind": (kinds or {}).get(str(q["sample_id"]), ""), "example": row, "tokens": length(row)}
            for q, row in zip(queries, map(trim_trailing_results, rows))]


def build_mix(rows: list[dict[str, Any]], queries: list[dict[str, Any]], samples: Mapping[str, Mapping[str, Any]],
              tools: list[Any], cfg: MixConfig, length: Callable[[dict[str, Any]], int], opening: Opening,
              where: str = "train", reference: list[dict[str, Any]] | None = None
              ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The mix from the loaded inputs: ``rows`` (train/openai.jsonl) and ``queries`` (train/queries.json) in the
    same order, ``samples`` by id, the catalog's ``tools``; ``length`` counts an example's tokens as the trainer
    renders it; ``reference``: candidates from ``reference_calls`` (:func:`call_items`). Returns (the examples
    with their ``id``, the stats of mix.json)."""
    from toolbench.catalog.functions import FunctionSet
    from toolbench.records import Observation
    from toolbench.toolstep import observation_text

    def take(items: list[dict[str, Any]], k: int, limit: int,
                 weights: Mapping[str, float] | None = None, order: str = "shortest") -> list[dict[str, Any]]:
        def rank(item: dict[str, Any]) -> tuple[Any, ...]:
            if order == "random":  # seeded by id: the same draw whatever order the inputs come in
                return (hashlib.sha256(f"{cfg.seed}:{item['id']}".encode()).hexdigest(),)
            return (item["tokens"], item["id"])

        fitting = sorted((i for i in items if i["tokens"] <= limit), key=rank)
        if cfg.kind_weights:  # within a category, each named kind takes turns with the unnamed rest, by weight
            by_category: dict[str, list[dict[str, Any]]] = {}
            for item in fitting:
                by_category.setdefault(item["category"], []).append(item)
            fitting = [i for group in by_category.values() for i in round_robin(
                group, key=lambda i: i["kind"] if i.get("kind") in cfg.kind_weights else "", weights=cfg.kind_weights)]
        return round_robin(fitting, key=lambda i: i["category"], order=TASK_CATEGORIES, weights=weights)[:k]

    weights = cfg.category_weights
    chosen_calls = take(call_items(rows, queries, length, where, kinds=sample_kinds(samples.values())),
                            cfg.call_examples, cfg.max_length, weights, cfg.order)
    chosen_calls += take(reference or [], cfg.reference_call_examples, cfg.max_length, weights, cfg.order)

    apis = {(t.name, a.name): a for t in tools for a in t.apis}
    standard = {t.name: t.standardized_name for t in tools}
    descriptions = {t.name: t.description for t in tools}

    def observation(text: str) -> str:
        return observation_text(Observation(response=text, status=200), cfg.observation_chars)

    runs = []
    for query in queries:
        sample = samples.get(query.get("sample_id", ""))
        if cfg.agent_examples == 0 or sample is None or sample["category"] not in TASK_CATEGORIES:
            continue
        offered = [apis[tuple(pair)] for pair in sample["function_map"].values() if tuple(pair) in apis]
        example = agent_example(sample, FunctionSet.from_apis(offered, standard), descriptions, observation,
                                opening)
        if example is not None:
            runs.append({"id": f"dfsdt-{sample['id']}", "category": sample["category"], "example": example,
                         "tokens": length(example)})
    chosen_runs = take(runs, cfg.agent_examples, cfg.agent_max_length)
    mix = round_robin([("call", c) for c in chosen_calls] + [("dfsdt", a) for a in chosen_runs],
                      key=lambda pair: pair[0])
    examples = [{**item["example"], "id": item["id"]} for _, item in mix]
    stats = {"call_examples": len(chosen_calls), "dfsdt_examples": len(chosen_runs),
             "reference_call_examples": sum(1 for c in chosen_calls if str(c["id"]).startswith("ref-")),
             "tokens": sum(item["tokens"] for _, item in mix),
             "longest": max((item["tokens"] for _, item in mix), default=0),
             "categories": _count(item["category"] for _, item in mix),
             "kinds": _count(item["kind"] for _, item in mix if item.get("kind"))}
    return examples, stats


def left_out(rows: list[dict[str, Any]], queries: list[dict[str, Any]], reference: list[dict[str, Any]],
             examples: list[dict[str, Any]], cfg: MixConfig, kinds: Mapping[str, str] | None = None
             ) -> list[dict[str, Any]]:
    """The call examples the mix did not take (nor trained on as a DFSDT run of the same request), with their
    ids: labelled requests the model never saw, for ``toolbench llm calibrate`` (``<out>/calibration.jsonl``).
    Categories and kinds weighted 0 are left out here too: the model is not meant to learn them, so they must not
    decide its threshold. ``kinds``: the hub samples' kinds by sample id (:func:`sample_kinds`)."""
    used = {str(e["id"]) for e in examples}
    used |= {u.removeprefix("dfsdt-") for u in used if u.startswith("dfsdt-")}

    def wanted(item_id: str, category: str, kind: str) -> bool:
        return (item_id not in used and cfg.category_weights.get(category, 1.0) > 0
                and cfg.kind_weights.get(kind, 1.0) > 0)

    out = [{**trim_trailing_results(row), "id": str(q["sample_id"])} for q, row in zip(queries, rows)
           if wanted(str(q["sample_id"]), str(q.get("category", "")), (kinds or {}).get(str(q["sample_id"]), ""))]
    return out + [{**item["example"], "id": item["id"]} for item in reference
                  if wanted(item["id"], item["category"], item.get("kind", ""))]


def load_tokenizer(model: str) -> Any:
    """The tokenizer of ``model`` ('default': the packaged SmolLM2), from local files only."""
    from transformers import AutoTokenizer

    from toolbench.llm.models import ensure_default_model

    path = str(ensure_default_model()) if model == "default" else model
    return AutoTokenizer.from_pretrained(path, local_files_only=True)


def run(cfg: MixConfig, opening: Opening, tokenizer: Any = None) -> MixResult:
    """Read the inputs, build the mix and write ``<out>/mix.json``, ``<out>/train.jsonl`` and the examples left
    out, ``<out>/calibration.jsonl`` (:func:`left_out`), each atomically."""
    from toolbench.catalog.store import load_catalog
    from toolbench.formats.atomic import write_json_atomic, write_jsonl_atomic
    from toolbench.formats.jsonl import read_json, read_jsonl
    from train.encode import encode_example
    from train.format import from_openai

    cfg.check()
    calls = Path(cfg.calls)
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(cfg.model)

    def length(example: dict[str, Any]) -> int:
        return len(encode_example(from_openai(example), tokenizer).input_ids)

    rows = read_jsonl(calls / "train" / "openai.jsonl")
    queries = read_json(calls / "train" / "queries.json")
    if not isinstance(queries, list):
        raise MixError(f"{calls / 'train' / 'queries.json'}: must be a list of queries")
    samples = {row["id"]: row for row in read_jsonl(calls / "samples.jsonl", resume=True) if "id" in row}
    tools = load_catalog(cfg.catalog).tools
    reference: list[dict[str, Any]] = []
    if cfg.reference_calls and cfg.reference_call_examples:
        folder = Path(cfg.reference_calls) / "train"
        listed = read_json(folder / "queries.json")
        if not isinstance(listed, list):
            raise MixError(f"{folder / 'queries.json'}: must be a list of queries")
        listed_samples = Path(cfg.reference_calls) / "samples.jsonl"
        kinds = sample_kinds(read_jsonl(listed_samples, resume=True)) if listed_samples.exists() else {}
        reference = call_items(read_jsonl(folder / "openai.jsonl"), listed, length, str(folder), prefix="ref-",
                               kinds=kinds)
    examples, stats = build_mix(rows, queries, samples, tools, cfg, length, opening, where=str(calls / "train"),
                                reference=reference)
    if not examples:
        raise MixError("no training example fits max_length / agent_max_length: raise them or generate more calls")
    out = Path(cfg.out)
    calibration = left_out(rows, queries, reference, examples, cfg, sample_kinds(samples.values()))
    stats["calibration_examples"] = len(calibration)
    paths = {"mix": write_json_atomic(out / "mix.json", stats), "train": write_jsonl_atomic(out / "train.jsonl",
                                                                                           examples),
             "calibration": write_jsonl_atomic(out / "calibration.jsonl", calibration)}
    return MixResult(examples, stats, paths)
