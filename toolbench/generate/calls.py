"""Function-call samples made by program from a catalog, in BFCL's categories plus traps and multi-turn chains.

Categories (:data:`toolbench.generate.call_samples.CATEGORIES`):

- ``simple``: one function offered, one call;
- ``multiple``: several functions offered, one call to the right one;
- ``parallel``: one function offered, several calls with different arguments in one turn;
- ``parallel_multiple``: several functions offered, calls to at least two of them in one turn;
- ``irrelevance``: no offered function fits the request (a request for an API of another category, or an
  off-topic request); the right answer is no call;
- ``hallucination``: the request names an entity that does not exist (a made-up company, movie, order...) where
  the function needs its identifier; the right answer is no call, or a clarifying question. The sample keeps a
  ``probe`` call with a made-up identifier, which the execution stage sends to check the entity really is
  unknown;
- ``multi_turn``: a first request and call, its tool result, then a follow-up whose call takes a value from that
  result (``search_companies`` -> ``ticker`` -> ``get_quote``).

Argument values come from :mod:`toolbench.catalog.values`, requests from :mod:`toolbench.generate.render`
(English, and Chinese at ``zh_rate``), optionally rewritten by an LLM (:class:`Paraphraser`) that must keep every
value verbatim. Sample ``i`` depends only on ``(seed, i)`` (and, for multi-turn samples made with a live hub,
on the hub's seeded answers).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.pools import is_identifier, pool_for, snake
from toolbench.catalog.values import (
    ValueSampler,
    ValueSamplingError,
    catalog_today,
    is_valid,
    param_schema_for_sampling,
)
from toolbench.generate import render
from toolbench.generate.api_sets import derive_rng
from toolbench.generate.call_samples import CATEGORIES, CallSample, ExpectedCall, Step
from toolbench.generate.errors import GenerateError
from toolbench.llm.base import ChatModel, LLMError
from toolbench.records import Api, Observation, Tool

DEFAULT_WEIGHTS: dict[str, float] = {"simple": 0.2, "multiple": 0.2, "parallel": 0.12, "parallel_multiple": 0.13,
                                     "irrelevance": 0.1, "hallucination": 0.1, "multi_turn": 0.15}
_ATTEMPTS = 12
_ENTITY_POOLS = ("city", "country_code", "currency", "timezone")


class CallRunner(Protocol):
    """What generation and verification need to run a call: :class:`toolbench.executor.Executor` fits."""

    def call(self, tool_name: str, api_name: str, args: dict[str, Any] | None = None) -> Observation: ...


@dataclass(frozen=True)
class CallsConfig:
    """How call samples are made."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS), metadata={
        "help": "Category -> relative weight; categories the catalog cannot give are dropped."})
    zh_rate: float = field(default=0.3, metadata={"help": "Share of requests written in Chinese."})
    max_offered: int = field(default=4, metadata={"help": "Most functions offered in one sample."})
    max_parallel: int = field(default=3, metadata={"help": "Most calls in a parallel sample."})
    optional_rate: float = field(default=0.4, metadata={"help": "How often an optional parameter is given."})
    paraphrase_rate: float = field(default=0.0, metadata={
        "help": "Share of requests rewritten by the paraphrasing LLM (needs one)."})
    today: dt.date | None = field(default=None, metadata={
        "help": "The date that sampled dates centre on; None: the median date among the catalog's examples."})

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(CATEGORIES))
        if unknown:
            raise GenerateError(f"calls.weights: unknown categories {unknown}; use {', '.join(CATEGORIES)}")
        if any(w < 0 for w in self.weights.values()) or not any(w > 0 for w in self.weights.values()):
            raise GenerateError("calls.weights: weights must be >= 0 and at least one > 0")
        for name in ("zh_rate", "optional_rate", "paraphrase_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise GenerateError(f"calls.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.max_offered < 2 or self.max_parallel < 2:
            raise GenerateError("calls.max_offered and calls.max_parallel must be at least 2")


# -- paraphrasing ---------------------------------------------------------------------------------------------

class Paraphraser:
    """Rewrites a request with an LLM, keeping given values verbatim; a rewrite that loses one is refused."""

    def __init__(self, model: ChatModel, temperature: float = 0.8) -> None:
        self.model = model
        self.temperature = temperature

    def rewrite(self, text: str, language: str, keep: list[str], seed: int) -> tuple[str, str]:
        """(text, note): the rewrite and ``"paraphrased"``, or the original and why the rewrite was refused."""
        lang = "Chinese" if language == "zh" else "English"
        values = ", ".join(json.dumps(k, ensure_ascii=False) for k in keep) or "(none)"
        messages = [
            {"role": "system", "content": "You rewrite user requests so they sound natural and varied."},
            {"role": "user", "content": f"Rewrite this request in {lang}, as a real user would write it. Keep its "
                                        f"meaning and keep these values exactly as written: {values}. Reply with "
                                        f"the rewritten request only.\n\nRequest: {text}"},
        ]
        try:
            reply = self.model.chat(messages, temperature=self.temperature, seed=seed)
        except LLMError as exc:
            return text, f"paraphrase failed: {exc}"
        new = (reply.content or "").strip().strip('"').strip()
        if not new:
            return text, "paraphrase refused: empty reply"
        missing = [k for k in keep if k.casefold() not in new.casefold()]
        if missing:
            return text, f"paraphrase refused: it lost {missing[0]!r}"
        return new, "paraphrased"


# -- helpers --------------------------------------------------------------------------------------------------

def value_mentions(value: Any) -> list[str]:
    """The strings a request must contain for it to state ``value`` (leaves of nested values; booleans and
    None are not required)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (int, float)):
        return [render.show(value)]
    if isinstance(value, list):
        return [m for item in value for m in value_mentions(item)]
    if isinstance(value, dict):
        return [m for item in value.values() for m in value_mentions(item)]
    return [str(value)]


def find_key(data: Any, key: str) -> Any:
    """The first scalar under ``key`` (compared in snake case) in a decoded JSON value, depth first."""
    want = snake(key)
    if isinstance(data, dict):
        for k, v in data.items():
            if snake(str(k)) == want and isinstance(v, (str, int, float)) and not isinstance(v, bool):
                return v
        for v in data.values():
            found = find_key(v, key)
            if found is not None:
                return found
    elif isinstance(data, list):
        for item in data:
            found = find_key(item, key)
            if found is not None:
                return found
    return None


def response_keys(schema: Any, depth: int = 0) -> set[str]:
    """Snake-case names of the scalar fields of a response schema (nested objects and array items too)."""
    out: set[str] = set()
    if not isinstance(schema, dict) or depth > 6:
        return out
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        out |= response_keys(branch, depth + 1)
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict) and (sub.get("type") in ("string", "integer", "number") or "enum" in sub):
            out.add(snake(name))
        out |= response_keys(sub, depth + 1)
    if isinstance(schema.get("items"), dict):
        out |= response_keys(schema["items"], depth + 1)
    return out


@dataclass(frozen=True)
class Chain:
    """``first``'s result gives the value of ``second``'s parameter ``param`` (under ``key``)."""

    first: Api
    second: Api
    param: str
    key: str
    trivial: bool  # the value is also an argument of ``first`` (the chain only copies it along)


def find_chains(apis: list[Api]) -> list[Chain]:
    chains = []
    for first in apis:
        keys = response_keys(first.response_schema if isinstance(first.response_schema, dict) else None)
        if not keys:
            continue
        first_words = set(snake(first.name).split("_"))
        own = {snake(p.name) for p in first.params}
        for second in apis:
            if second.key == first.key:
                continue
            for param in second.required_params:
                name = snake(param.name)
                if not (is_identifier(param.name) or pool_for(param.name) in _ENTITY_POOLS):
                    continue  # only entities are worth carrying over (ids, tickers, cities), not free text
                if name in keys:
                    key = name
                elif name.endswith("_id") and "id" in keys and any(
                        w.startswith(name[:-3]) for w in first_words if len(name) > 3):
                    key = "id"
                else:
                    continue
                chains.append(Chain(first, second, param.name, key, trivial=name in own))
    return chains


def _fake_name(rng: random.Random, language: str, kind: str) -> str:
    if language == "zh":
        sylls = "瑞恩泰宏鑫博奥拓澜峰璟翊"
        suffix = {"company": rng.choice(["科技", "集团", "控股"])}.get(kind, "")
        return "".join(rng.sample(sylls, 3)) + suffix
    sylls = ["quor", "vex", "blen", "thor", "zyl", "mara", "kest", "drin", "vol", "sarn", "pex", "ulo", "trin", "garv"]
    word = (rng.choice(sylls) + rng.choice(sylls)).capitalize()
    suffix = {"company": rng.choice(["Dynamics", "Labs", "Holdings", "Systems", "Industries"]),
              "movie": rng.choice(["Rising", "of the Deep", "Protocol"]),
              "restaurant": rng.choice(["Bistro", "Kitchen", "Grill"])}.get(kind, "")
    return f"{word} {suffix}".strip()


def _entity_kind(param: str, api: Api) -> str:
    key = snake(param)
    if key in ("ticker", "symbol", "stock_symbol"):
        return "company"
    if key.endswith("_id") and key != "is_id":
        return key[:-3].replace("_", " ")
    words = render.words(api.name)
    return words[-1].rstrip("s") if words else "item"


# -- the generator ----------------------------------------------------------------------------------------------

class CallGenerator:
    """Makes sample ``i`` of a run. ``runner`` (an executor on the hub) gives real tool results to multi-turn
    samples; without it they are synthesised from the response schema. ``paraphraser`` rewrites a share
    (``config.paraphrase_rate``) of the requests."""

    def __init__(self, tools: list[Tool], seed: int = 0, config: CallsConfig | None = None,
                 runner: CallRunner | None = None, paraphraser: Paraphraser | None = None) -> None:
        self.tools = sorted((t for t in tools if t.apis), key=lambda t: (t.category, t.name))
        if not self.tools:
            raise GenerateError("the catalog has no API to make calls for")
        self.seed = seed
        self.config = config or CallsConfig()
        self.runner = runner
        self.paraphraser = paraphraser
        self.std_names = {t.name: t.standardized_name for t in self.tools}
        self.category_of = {t.name: t.category for t in self.tools}
        self.apis = [api for t in self.tools for api in t.apis]
        self.today = self.config.today or catalog_today(self.apis)
        self.traps = [(api, p) for api in self.apis for p in api.required_params
                      if is_identifier(p.name) and pool_for(p.name) not in _ENTITY_POOLS]
        self.chains = find_chains(self.apis)
        feasible = {"simple": True, "multiple": len(self.apis) >= 2, "parallel": True,
                    "parallel_multiple": len(self.apis) >= 2, "irrelevance": True, "hallucination": bool(self.traps),
                    "multi_turn": bool(self.chains)}
        self.weights = {c: w for c, w in self.config.weights.items() if w > 0 and feasible[c]}
        if not self.weights:
            raise GenerateError("none of the weighted categories can be made from this catalog")

    def category_for(self, index: int) -> str:
        rng = derive_rng(self.seed, "category", index)
        names = [c for c in CATEGORIES if c in self.weights]
        return rng.choices(names, weights=[self.weights[c] for c in names])[0]

    def generate(self, index: int) -> CallSample:
        """Sample ``index``; raises :class:`GenerateError` when no valid sample could be made for it."""
        category = self.category_for(index)
        rng = derive_rng(self.seed, "sample", index)
        language = "zh" if rng.random() < self.config.zh_rate else "en"
        sampler = ValueSampler(rng, language=language, optional_rate=self.config.optional_rate, today=self.today)
        make = getattr(self, f"_{category}")
        last: Exception | None = None
        for _ in range(_ATTEMPTS):
            try:
                sample = make(rng, sampler, language)
            except (ValueSamplingError, _Retry) as exc:
                last = exc
                continue
            sample.id = f"{category}_{index}"
            sample.meta["seed"] = self.seed
            self._paraphrase(sample, rng)
            return sample
        raise GenerateError(f"sample {index} ({category}): no valid sample after {_ATTEMPTS} attempts ({last})")

    # building blocks ----------------------------------------------------------------------------------------

    def _sample(self, category: str, language: str, offered: list[Api], steps: list[Step],
                rng: random.Random, **meta: Any) -> CallSample:
        functions = FunctionSet.from_apis(offered, self.std_names)
        by_key = {f.api.key: f for f in functions.functions.values()}
        for step in steps:
            for call in step.calls:
                fn = by_key[(call.tool, call.api)]
                reverse = {api_name: offered_name for offered_name, api_name in fn.param_names.items()}
                call.name = fn.name
                call.arguments = {reverse.get(k, k): v for k, v in call.arguments.items()}
                call.from_previous = {reverse.get(k, k): v for k, v in call.from_previous.items()}
        order = list(functions.functions.values())
        rng.shuffle(order)
        return CallSample(id="", category=category, language=language, functions=[f.schema for f in order],
                          function_map={f.name: [f.api.tool, f.api.name] for f in order}, steps=steps,
                          meta=dict(meta))

    def _call(self, api: Api, sampler: ValueSampler, fixed: dict[str, Any] | None = None) -> ExpectedCall:
        args = sampler.arguments(api)
        args.update(fixed or {})
        return ExpectedCall(name="", arguments=args, tool=api.tool, api=api.name)

    def _others(self, rng: random.Random, api: Api, k: int, exclude_tool: bool = False) -> list[Api]:
        pool = [a for a in self.apis if a.key != api.key and a.name != api.name
                and not (exclude_tool and a.tool == api.tool)]
        rng.shuffle(pool)
        return pool[:k]

    def _paraphrase(self, sample: CallSample, rng: random.Random) -> None:
        if self.paraphraser is None or self.config.paraphrase_rate <= 0:
            return
        notes = []
        for s_index, step in enumerate(sample.steps):
            if step.user is None or rng.random() >= self.config.paraphrase_rate:
                continue
            keep = [m for c in step.calls for k, v in c.arguments.items() if k not in c.from_previous
                    for m in value_mentions(v)]
            keep += [sample.meta["entity"]] if sample.category == "hallucination" else []
            step.user, note = self.paraphraser.rewrite(step.user, sample.language, keep,
                                                       seed=self.seed * 1_000_003 + s_index)
            notes.append(note)
        if notes:
            sample.meta["paraphrase"] = notes

    # categories ---------------------------------------------------------------------------------------------

    def _simple(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        api = rng.choice(self.apis)
        call = self._call(api, sampler)
        step = Step(render.request(api.name, call.arguments, language, rng), [call])
        return self._sample("simple", language, [api], [step], rng)

    def _multiple(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        api = rng.choice(self.apis)
        call = self._call(api, sampler)
        offered = [api, *self._others(rng, api, rng.randint(1, self.config.max_offered - 1))]
        step = Step(render.request(api.name, call.arguments, language, rng), [call])
        return self._sample("multiple", language, offered, [step], rng)

    def _parallel(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        api = rng.choice([a for a in self.apis if a.params] or self.apis)
        base = sampler.arguments(api)
        varying = [p for p in api.params if p.name in base] or api.params
        if not varying:
            raise _Retry(f"{api.name}: no parameter to vary")
        param = rng.choice([p for p in varying if p.required] or varying)
        wanted = rng.randint(2, self.config.max_parallel)
        calls = [ExpectedCall("", base, api.tool, api.name)]
        seen = {json.dumps(base.get(param.name), sort_keys=True, default=str)}
        for _ in range(wanted * 4):
            if len(calls) >= wanted:
                break
            value = sampler.param_value(param)
            key = json.dumps(value, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                calls.append(ExpectedCall("", {**base, param.name: value}, api.tool, api.name))
        if len(calls) < 2:
            raise _Retry(f"{api.name}: could not draw two different values of {param.name}")
        text = render.parallel_request(api.name, [c.arguments for c in calls], language, rng)
        return self._sample("parallel", language, [api], [Step(text, calls)], rng)

    def _parallel_multiple(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        first = rng.choice(self.apis)
        targets = [first, *self._others(rng, first, rng.randint(1, 2))]
        if len(targets) < 2:
            raise _Retry("not enough APIs")
        calls = [self._call(api, sampler) for api in targets]
        if rng.random() < 0.4 and len(calls) < self.config.max_parallel + 1:
            extra = self._call(targets[0], sampler)
            if extra.arguments != calls[0].arguments:
                calls.insert(1, extra)
        sentences = [render.request(c.api, c.arguments, language, rng) for c in calls]
        offered = targets + self._others(rng, first, max(0, self.config.max_offered - len(targets)))[:1]
        offered = list({a.key: a for a in offered}.values())
        return self._sample("parallel_multiple", language, offered,
                            [Step(render.joined(sentences, language, rng), calls)], rng)

    def _irrelevance(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        target = rng.choice(self.apis)
        elsewhere = [a for a in self.apis if self.category_of.get(a.tool) != self.category_of.get(target.tool)]
        refusal = render.REFUSAL_ZH if language == "zh" else render.REFUSAL_EN
        if elsewhere and rng.random() < 0.7:
            call = self._call(target, sampler)
            text = render.request(target.name, call.arguments, language, rng)
            rng.shuffle(elsewhere)
            offered = elsewhere[: rng.randint(1, self.config.max_offered)]
            return self._sample("irrelevance", language, offered, [Step(text, [], reply=refusal)], rng,
                                target=[target.tool, target.name], source="other_category")
        text = rng.choice(render.IRRELEVANT_ZH if language == "zh" else render.IRRELEVANT_EN)
        offered = self._others(rng, target, rng.randint(0, self.config.max_offered - 1)) + [target]
        return self._sample("irrelevance", language, offered, [Step(text, [], reply=refusal)], rng,
                            target=None, source="off_topic")

    def _hallucination(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        api, param = rng.choice(self.traps)
        kind = _entity_kind(param.name, api)
        entity = _fake_name(rng, language, kind)
        others = {p.name: sampler.param_value(p) for p in api.required_params if p.name != param.name}
        schema = param_schema_for_sampling(param)
        examples = set(map(str, [param.default, *schema.get("examples", [])]))
        probe_sampler = ValueSampler(rng, language="en", example_rate=0.0, identifier_example_rate=0.0)
        fake_id = next((v for v in (probe_sampler.value(schema, param.name) for _ in range(8))
                        if str(v) not in examples and str(v) not in entity), None)
        if fake_id is None:
            raise _Retry(f"{api.name}: no made-up identifier for {param.name}")
        text = render.entity_request(api.name, entity, render.label(kind, language) if language == "zh" else kind,
                                     others, language, rng)
        lab = render.label(param.name, language)
        reply = (render.CLARIFY_ZH if language == "zh" else render.CLARIFY_EN).format(entity=entity, label=lab)
        offered = [api, *self._others(rng, api, rng.randint(0, 1), exclude_tool=True)]
        sample = self._sample("hallucination", language, offered, [Step(text, [], reply=reply)], rng,
                              entity=entity, target=[api.tool, api.name],
                              probe={"tool": api.tool, "api": api.name,
                                     "arguments": {**others, param.name: fake_id}, "param": param.name})
        return sample

    def _multi_turn(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        good = [c for c in self.chains if not c.trivial]
        chain = rng.choice(good if good and rng.random() < 0.85 else self.chains)
        first = self._call(chain.first, sampler)
        observation, source = self._observe(chain.first, first.arguments, sampler)
        try:
            value = find_key(json.loads(observation), chain.key)
        except json.JSONDecodeError:
            value = None
        if value is None:
            raise _Retry(f"{chain.first.name}: its result has no {chain.key!r}")
        param = next(p for p in chain.second.required_params if p.name == chain.param)
        if not is_valid(value, param_schema_for_sampling(param)):
            raise _Retry(f"{chain.second.name}: {chain.key}={value!r} from the result does not fit {param.name}")
        second = self._call(chain.second, sampler, {chain.param: value})
        second.from_previous = {chain.param: chain.key}
        rest = {k: v for k, v in second.arguments.items() if k != chain.param}
        steps = [Step(render.request(chain.first.name, first.arguments, language, rng), [first], [observation]),
                 Step(render.followup_request(chain.second.name, chain.key, rest, language, rng), [second])]
        offered = [chain.first, chain.second, *self._others(rng, chain.first, rng.randint(0, 1))]
        offered = list({a.key: a for a in offered}.values())
        return self._sample("multi_turn", language, offered, steps, rng, observations=source,
                            chain={"key": chain.key, "trivial": chain.trivial})

    def _observe(self, api: Api, args: dict[str, Any], sampler: ValueSampler) -> tuple[str, str]:
        if self.runner is not None:
            obs = self.runner.call(api.tool, api.name, args)
            if not obs.ok:
                raise _Retry(f"{api.name} failed on the hub: {obs.error[:120]}")
            return obs.response, "executed"
        if not isinstance(api.response_schema, dict):
            raise _Retry(f"{api.name}: no response schema to synthesise a result from")
        return json.dumps(sampler.value(api.response_schema, "response"), ensure_ascii=False), "synthetic"


class _Retry(Exception):
    """This attempt at a sample failed; draw again."""


def mentions_action(api_name: str, text: str, language: str) -> bool:
    """Whether a request names what the API does: one of its content words (or their Chinese glossary words)."""
    stop = {"get", "list", "find", "search", "create", "add", "update", "delete", "by", "for", "of", "the", "a"}
    content = [w for w in render.words(api_name) if w not in stop] or render.words(api_name)
    low = text.casefold()
    for word in content:
        stem = re.sub(r"(ies|es|s)$", "", word)
        if stem and stem in low:
            return True
        if render._GLOSSARY.get(word, "\0") in text:
            return True
    return False
