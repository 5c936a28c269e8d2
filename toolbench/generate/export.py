"""Writing call samples out: BFCL (questions + possible answers), OpenAI fine-tuning JSONL, ShareGPT /
LLaMA-Factory, ToolBench query JSON; and a held-out split that shares no API-argument combination with training.

**BFCL.** One entry per sample (per step with calls for multi-turn samples):
``{"id", "category", "question": [[messages]], "function": [BFCL docs]}`` and
``{"id", "ground_truth": [{"fname": {"arg": [accepted values]}}]}``. Function docs use BFCL's types (``dict``,
``float``, ``any``...), composed schemas flattened (a union documented by its first alternative; ``any`` only
where the schema says nothing). Accepted values take the form BFCL's checker compares for the documented type: a
dict for a ``dict`` parameter and each dict of a list for an ``array`` of ``dict`` hold option lists, any other
value is plain. An optional argument the call leaves out is accepted absent, or with its schema default
(``["", default]``); an optional argument given with its default value may also be left out. Categories:
``simple``, ``multiple``, ``parallel``, ``parallel_multiple``, ``irrelevance``, ``irrelevance_hallucination``
(a trap: no call expected, so ``toolbench eval ast`` scores it like irrelevance) and ``multi_turn_multiple``
(one step of a multi-turn sample, the history in the question; scored like ``multiple``).

**OpenAI** fine-tuning lines: ``{"messages": [...], "tools": [...]}``. **ShareGPT** (LLaMA-Factory's
``sharegpt`` format with tools): ``{"conversations": [{"from": "human"|"function_call"|"observation"|"gpt",
"value"}], "tools": "<JSON list>"}``; parallel calls are one ``function_call`` turn holding a JSON list.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from toolbench.catalog.openapi.compose import flatten
from toolbench.generate.call_samples import CallSample
from toolbench.records import Api, Query

_BFCL_TYPES = {"string": "string", "integer": "integer", "number": "float", "boolean": "boolean",
               "array": "array", "object": "dict", "null": "any"}
_VALUE_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}
_IMPLIED_TYPES = ((("properties", "additionalProperties", "patternProperties", "minProperties", "maxProperties"),
                   "object"),
                  (("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"), "array"),
                  (("pattern", "format", "minLength", "maxLength"), "string"),
                  (("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), "number"))
BFCL_CATEGORY = {"simple": "simple", "multiple": "multiple", "parallel": "parallel",
                 "parallel_multiple": "parallel_multiple", "irrelevance": "irrelevance",
                 "hallucination": "irrelevance_hallucination", "multi_turn": "multi_turn_multiple"}


# -- BFCL -----------------------------------------------------------------------------------------------------

def bfcl_property(schema: Any) -> dict[str, Any]:
    """A JSON-schema property as a BFCL parameter doc: types renamed, composed schemas flattened (``allOf``
    merged, nullable unions unwrapped), a union of several alternatives documented by its first non-null one,
    a missing ``type`` inferred from ``enum``/``const`` and the keywords; ``any`` only for a schema that says
    nothing. An array always documents its ``items`` (BFCL's checker reads their type)."""
    if not isinstance(schema, dict):
        return {"type": "any"}
    schema = flatten(schema)
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key) or [] if isinstance(b, dict) and b.get("type") != "null"]
        if branches:
            base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            out = bfcl_property(flatten({**base, "allOf": [branches[0]]}))
            others = [_sketch(bfcl_property(flatten({**base, "allOf": [b]}))) for b in branches[1:]]
            if others:
                note = f"Or: {'; '.join(dict.fromkeys(others))}."
                out["description"] = f"{out['description']} {note}" if out.get("description") else note
            return out
    kind = _json_type(schema)
    out: dict[str, Any] = {"type": _BFCL_TYPES.get(kind, "any") if kind else "any"}
    if "description" in schema:
        out["description"] = schema["description"]
    if "enum" in schema or "const" in schema:
        out["enum"] = [v for v in schema.get("enum", [schema.get("const")]) if v is not None]
    if "default" in schema:
        out["default"] = schema["default"]
    if kind == "array":
        out["items"] = bfcl_property(schema.get("items", True))
    if kind == "object" and isinstance(schema.get("properties"), dict):
        out["properties"] = {k: bfcl_property(v) for k, v in schema["properties"].items()}
        if schema.get("required"):
            out["required"] = list(schema["required"])
    return out


def _sketch(doc: dict[str, Any]) -> str:
    """A union's other alternative in a few words, for the description: ``integer``, ``dict with kind,
    group_id``, ``string, one of user, group``."""
    text = doc["type"]
    if doc.get("properties"):
        text += " with " + ", ".join(doc["properties"])
    if doc.get("enum"):
        text += ", one of " + ", ".join(map(str, doc["enum"]))
    return text


def _json_type(schema: dict[str, Any]) -> str | None:
    """The schema's first non-null JSON type, else the type of its enum/const values, else the one its
    keywords imply, else None."""
    kind = schema.get("type")
    kinds = [k for k in (kind if isinstance(kind, list) else [kind]) if k not in (None, "null")]
    if kinds:
        return kinds[0]
    values = [v for v in schema.get("enum", [schema["const"]] if "const" in schema else []) if v is not None]
    if values:
        return _VALUE_TYPES.get(type(values[0]), "any")
    for keywords, implied in _IMPLIED_TYPES:
        if any(k in schema for k in keywords):
            return implied
    return None


def bfcl_function(function: dict[str, Any]) -> dict[str, Any]:
    params = function.get("parameters") or {}
    return {"name": function["name"], "description": function.get("description", ""),
            "parameters": {"type": "dict",
                           "properties": {k: bfcl_property(v) for k, v in (params.get("properties") or {}).items()},
                           "required": list(params.get("required", []))}}


def _options(value: Any, optional: bool, prop: dict[str, Any], doc: dict[str, Any]) -> list[Any]:
    options = [_answer_value(value, doc)]
    if optional and "default" in prop and prop["default"] == value:
        options.append("")
    return options


def bfcl_ground_truth(function: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """``{"fname": {"arg": [options]}}`` for one expected call, each option in the form BFCL's checker
    expects for the argument's documented type (see :func:`_answer_value`)."""
    params = function.get("parameters") or {}
    props = params.get("properties") or {}
    docs = bfcl_function(function)["parameters"]["properties"]
    required = set(params.get("required", []))
    answer: dict[str, list[Any]] = {}
    for name, value in arguments.items():
        prop = props.get(name) if isinstance(props.get(name), dict) else {}
        answer[name] = _options(value, name not in required, prop, docs.get(name, {"type": "any"}))
    for name, prop in props.items():
        if name in answer or name in required or not isinstance(prop, dict):
            continue
        if "default" in prop and prop["default"] is not None:
            answer[name] = ["", _answer_value(prop["default"], docs[name])]
    return {function["name"]: answer}


def _answer_value(value: Any, doc: dict[str, Any]) -> Any:
    """A value in BFCL's possible-answer form for a parameter documented as ``doc``: a dict given for a
    ``dict`` parameter has option lists as values (one level deep: a dict inside is compared as a plain value);
    so has each dict of a list given for an ``array`` of ``dict``; any other value is compared as it is (BFCL
    compares a value whose type differs from the documented one with the answer's values directly)."""
    kind = doc.get("type")
    if kind == "dict" and isinstance(value, dict):
        return {k: [v] for k, v in value.items()}
    items = doc.get("items") if isinstance(doc.get("items"), dict) else {}
    if kind == "array" and items.get("type") == "dict" and isinstance(value, list) \
            and all(isinstance(v, dict) for v in value):
        return [{k: [v] for k, v in item.items()} for item in value]
    return value


def bfcl_entries(sample: CallSample) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(question entry, possible answer or None) pairs for one sample."""
    category = BFCL_CATEGORY[sample.category]
    docs = [bfcl_function(f) for f in sample.functions]
    by_name = {f["name"]: f for f in sample.functions}
    if sample.category in ("irrelevance", "hallucination"):
        question = [[{"role": "user", "content": sample.first_user}]]
        return [({"id": sample.id, "category": category, "question": question, "function": docs}, None)]
    out = []
    messages = sample.messages(final_reply=False)
    position = 0
    history: list[dict[str, Any]] = []
    for s_index, step in enumerate(sample.steps):
        # the messages of this step: the user turn, then (after the answer) the calls and their results
        if step.user is not None:
            history.append(messages[position])
            position += 1
        entry_id = sample.id if len(sample.steps) == 1 else f"{sample.id}-{s_index}"
        entry = {"id": entry_id, "category": category, "question": [list(history)], "function": docs}
        truth = [bfcl_ground_truth(by_name[c.name], c.arguments) for c in step.calls]
        out.append((entry, {"id": entry_id, "ground_truth": truth}))
        n_after = (1 if step.calls else 0) + len(step.observations)
        history.extend(messages[position:position + n_after])
        position += n_after
    return out


def write_bfcl(samples: Iterable[CallSample], questions: Path, answers: Path) -> int:
    """Write the questions and possible-answer JSONL files; returns the number of entries."""
    questions.parent.mkdir(parents=True, exist_ok=True)
    answers.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with questions.open("w", encoding="utf-8") as q_file, answers.open("w", encoding="utf-8") as a_file:
        for sample in samples:
            for entry, answer in bfcl_entries(sample):
                q_file.write(json.dumps(entry, ensure_ascii=False) + "\n")
                if answer is not None:
                    a_file.write(json.dumps(answer, ensure_ascii=False) + "\n")
                n += 1
    return n


# -- chat formats -------------------------------------------------------------------------------------------------

def openai_example(sample: CallSample) -> dict[str, Any]:
    """An OpenAI fine-tuning line: the transcript and the tools offered."""
    return {"messages": sample.messages(), "tools": [{"type": "function", "function": f} for f in sample.functions]}


def sharegpt_example(sample: CallSample) -> dict[str, Any]:
    """A LLaMA-Factory ShareGPT example with tools (``tools`` is a JSON string, as LLaMA-Factory reads it)."""
    turns: list[dict[str, str]] = []
    for step in sample.steps:
        if step.user is not None:
            turns.append({"from": "human", "value": step.user})
        if step.calls:
            calls = [{"name": c.name, "arguments": c.arguments} for c in step.calls]
            turns.append({"from": "function_call",
                          "value": json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)})
            if step.observations:
                obs = step.observations
                turns.append({"from": "observation", "value": obs[0] if len(obs) == 1 else json.dumps(obs, ensure_ascii=False)})
        elif step.reply is not None:
            turns.append({"from": "gpt", "value": step.reply})
    return {"conversations": turns, "tools": json.dumps(sample.functions, ensure_ascii=False)}


def toolbench_query(sample: CallSample, query_id: int, apis: dict[tuple[str, str], Api]) -> Query:
    """A sample as a ToolBench query: the request, the offered APIs, the APIs called (relevant APIs)."""
    offered = [apis[(t, a)] for t, a in sample.function_map.values() if (t, a) in apis]
    relevant = list(dict.fromkeys((c.tool, c.api) for c in sample.calls))
    text = " ".join(s.user for s in sample.steps if s.user)
    return Query(id=str(query_id), text=text, group="generated", apis=offered, relevant=relevant,
                 extra={"sample_id": sample.id, "category": sample.category})


# -- split ------------------------------------------------------------------------------------------------------

def combinations(sample: CallSample) -> set[str]:
    """The API-argument combinations a sample uses: canonical JSON of (tool, api, arguments) per call, or of
    (tool, api) offered for samples without calls."""
    combos = {json.dumps([c.tool, c.api, c.arguments], sort_keys=True, ensure_ascii=False) for c in sample.calls}
    if not combos:
        combos = {json.dumps(["no-call", sample.category, sample.first_user], ensure_ascii=False)}
    return combos


def split_heldout(samples: list[CallSample], fraction: float, seed: int) -> tuple[list[CallSample], list[CallSample]]:
    """(train, held-out): samples sharing a combination are kept together (connected components), and each
    component goes to the held-out split when a hash of (seed, its smallest combination) falls under
    ``fraction``. No API-argument combination is in both splits."""
    parent = list(range(len(samples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    combos = [combinations(s) for s in samples]
    for index, items in enumerate(combos):
        for combo in items:
            if combo in owner:
                parent[find(index)] = find(owner[combo])
            else:
                owner[combo] = index
    groups: dict[int, list[int]] = {}
    for index in range(len(samples)):
        groups.setdefault(find(index), []).append(index)
    heldout: set[int] = set()
    for members in groups.values():
        key = min(c for m in members for c in combos[m])
        digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 < fraction:
            heldout.update(members)
    return ([s for i, s in enumerate(samples) if i not in heldout],
            [s for i, s in enumerate(samples) if i in heldout])


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n
