"""Function-call samples made by program from a catalog, in BFCL's categories plus traps and multi-turn chains.

Categories (:data:`toolbench.generate.call_samples.CATEGORIES`), each with its share in ``CallsConfig.weights``:

- ``simple``: one function offered, one call;
- ``multiple``: ``min_offered``-``max_offered`` functions offered (3-6 by default), one call to the right one;
  the others are mostly **near misses** (:mod:`toolbench.generate.distractors`: same tool, similar names and
  descriptions, the same arguments: ``get_restaurant`` vs ``get_restaurant_reviews`` vs ``get_restaurant_menu``),
  and the request tells the answer apart from every one of them;
- ``parallel``: one function offered, 2-``max_parallel`` calls with different arguments in one turn; at
  ``grid_rate`` (kind ``grid``) four calls, every combination of two values of two arguments ("the prime
  factors of 4567 and 7890, formatted and as a list, every combination");
- ``parallel_multiple``: 2-``max_parallel`` calls over 2-3 related functions in one turn, near misses offered too;
- ``irrelevance``: no offered function can serve the request; the answer is a text reply saying so and why
  (:mod:`toolbench.generate.abstain`). Kinds (``irrelevance_kinds``): ``missing_capability`` (the request is for
  an API of the same tool or category that is not offered, the offered ones are its neighbours),
  ``same_arguments`` (the offered functions take a parameter the request gives a value for, under the same name,
  but do something else: the values fit, the purpose does not), ``other_category`` (functions of another
  category offered) and ``off_topic`` (a request no API serves);
- ``hallucination``: the request names an entity that does not exist (a made-up company, movie, order...) where
  the function needs its identifier; the answer is a text reply asking for it. Neighbours that need the same
  identifier may be offered beside it. The sample keeps a ``probe`` call with a made-up identifier, which the
  execution stage sends to check the entity really is unknown;
- ``multi_turn``: a first request and call, its tool result, then a follow-up whose call takes a value from that
  result (``search_companies`` -> ``ticker`` -> ``get_quote``), near misses offered.

Argument values come from :mod:`toolbench.catalog.values`, requests from :mod:`toolbench.generate.render`
(English, and Chinese at ``zh_rate``), optionally rewritten by an LLM (:class:`Paraphraser`) that must keep every
value verbatim. Sample ``i`` depends only on ``(seed, i)`` (and, for multi-turn samples made with a live hub,
on the hub's seeded answers).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from typing import Any, Protocol

from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.functions import FunctionSet
from toolbench.catalog.pools import is_identifier, pool_for
from toolbench.catalog.values import (
    ValueSampler,
    ValueSamplingError,
    catalog_today,
    is_valid,
    param_schema_for_sampling,
)
from toolbench.generate import abstain, render
from toolbench.generate.api_sets import derive_rng
from toolbench.generate.backends import has_backend
from toolbench.generate.call_samples import CATEGORIES, CallSample, ExpectedCall, Step
from toolbench.generate.calls_config import (
    DEFAULT_IRRELEVANCE,
    DEFAULT_WEIGHTS,
    IRRELEVANCE_KINDS,
    CallsConfig,
)
from toolbench.generate.chains import (
    ENTITY_POOLS,
    Chain,
    find_chains,
    find_key,
    response_keys,
    value_mentions,
)
from toolbench.generate.distractors import (
    ambiguous,
    could_serve,
    distinguished,
    offer_of,
    pick_distractors,
    similarity,
    telling_words,
)
from toolbench.generate.errors import GenerateError
from toolbench.generate.fakes import entity_kind, fake_name
from toolbench.generate.off_topic import off_topic_request, servable_by
from toolbench.generate.paraphrase import Paraphraser
from toolbench.generate.quantities import quantities
from toolbench.generate.render import mentions_action
from toolbench.records import Api, Observation, Param, Tool

__all__ = ["DEFAULT_IRRELEVANCE", "DEFAULT_WEIGHTS", "CallGenerator", "CallRunner", "CallsConfig", "Chain",
           "Paraphraser", "find_chains", "find_key", "mentions_action", "response_keys", "value_mentions"]

_ATTEMPTS = 12
_SCAN = 400  # a catalog with more APIs than this is sampled when looking for distractors


class CallRunner(Protocol):
    """What generation and verification need to run a call: :class:`toolbench.executor.Executor` fits."""

    def call(self, tool_name: str, api_name: str, args: dict[str, Any] | None = None) -> Observation: ...


# -- helpers --------------------------------------------------------------------------------------------------

def _fields(api: Api) -> set[str]:
    return response_keys(api.response_schema if isinstance(api.response_schema, dict) else None)


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
        self.by_tool: dict[str, list[Api]] = {}
        self.by_category: dict[str, list[Api]] = {}
        for api in self.apis:
            self.by_tool.setdefault(api.tool, []).append(api)
            self.by_category.setdefault(api.category, []).append(api)
        self.today = self.config.today or catalog_today(self.apis)
        self.traps = [(api, p) for api in self.apis for p in api.required_params
                      if is_identifier(p.name) and pool_for(p.name) not in ENTITY_POOLS]
        self.chains = find_chains(self.apis)
        self.backed = {t.name for t in self.tools if has_backend(t)}  # the runner reaches only these
        self.numeric = [api for api in self.apis if quantities(api)]
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

    def _offer(self, category: str, language: str, targets: list[Api], steps: list[Step], rng: random.Random,
               k: int, anchor: Api, **meta: Any) -> CallSample:
        """A sample offering ``targets`` and up to ``k`` distractors for ``anchor`` (near misses at
        ``near_miss_rate``), leaving out every distractor the request does not tell apart from a call."""
        spare = pick_distractors(rng, anchor, self._candidates(rng, anchor), k + 3, self.config.near_miss_rate,
                                 exclude=[a.key for a in targets]) if k > 0 else []
        trial = self._sample(category, language, targets + spare, copy.deepcopy(steps), rng)
        unclear = {tuple(trial.function_map[other])
                   for _, other in ambiguous(trial.functions, trial.function_map, trial.steps, render._GLOSSARY)}
        if any(a.key in unclear for a in targets):
            raise _Retry("the request does not tell two of its functions apart")
        chosen = [a for a in spare if a.key not in unclear][:k]
        sample = self._sample(category, language, targets + chosen, steps, rng, **meta)
        sample.meta["distractors"] = [{"tool": a.tool, "api": a.name, "similarity": similarity(anchor, a),
                                       "same_tool": a.tool == anchor.tool} for a in chosen]
        return sample

    def _some(self, rng: random.Random) -> list[Api]:
        """All APIs of a catalog up to ``_SCAN`` APIs; of a larger one, ``_SCAN`` drawn at random (a sample's cost
        then does not grow with the catalog)."""
        return self.apis if len(self.apis) <= _SCAN else rng.sample(self.apis, _SCAN)

    def _candidates(self, rng: random.Random, anchor: Api) -> list[Api]:
        """Where distractors for ``anchor`` are looked for: its tool's and its category's APIs and some others."""
        if len(self.apis) <= _SCAN:
            return self.apis
        near = self.by_category[anchor.category]
        near = near if len(near) <= _SCAN else rng.sample(near, _SCAN)
        return list({a.key: a for a in self.by_tool[anchor.tool] + near + self._some(rng)}.values())

    def _n_offered(self, rng: random.Random, floor: int) -> int:
        low = max(floor, min(self.config.min_offered, self.config.max_offered))
        return rng.randint(min(low, self.config.max_offered), self.config.max_offered)

    def _numeric(self, rng: random.Random) -> Api | None:
        """At ``number_rate``, an API that takes a non-identifier number (drawn among those); else None. Draws
        nothing at rate 0, so a run without it is unchanged."""
        if self.config.number_rate > 0 and self.numeric and rng.random() < self.config.number_rate:
            return rng.choice(self.numeric)
        return None

    def _call(self, api: Api, sampler: ValueSampler, fixed: dict[str, Any] | None = None,
              number: bool = False) -> ExpectedCall:
        """A call of ``api`` with sampled arguments (``fixed`` ones set); with ``number``, one of its
        :func:`quantities` is among them."""
        args = sampler.arguments(api)
        args.update(fixed or {})
        if number and not any(p.name in args for p in quantities(api)):
            param = sampler.rng.choice(quantities(api))
            args[param.name] = sampler.param_value(param, api)
            if validate_arguments(api, args):
                raise _Retry(f"{api.name}: {param.name} does not fit the other arguments")
        return ExpectedCall(name="", arguments=args, tool=api.tool, api=api.name)

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
            if sample.meta.get("distractors"):
                keep += telling_words(sample.functions, sample.function_map, step)
            step.user, note = self.paraphraser.rewrite(step.user, sample.language, keep,
                                                       seed=self.seed * 1_000_003 + s_index)
            notes.append(note)
        if notes:
            sample.meta["paraphrase"] = notes

    # categories ---------------------------------------------------------------------------------------------

    def _simple(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        numeric = self._numeric(rng)
        api = numeric or rng.choice(self.apis)
        call = self._call(api, sampler, number=numeric is not None)
        step = Step(render.request(api, call.arguments, language, rng), [call])
        return self._sample("simple", language, [api], [step], rng)

    def _multiple(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        numeric = self._numeric(rng)
        api = numeric or rng.choice(self.apis)
        call = self._call(api, sampler, number=numeric is not None)
        step = Step(render.request(api, call.arguments, language, rng), [call])
        sample = self._offer("multiple", language, [api], [step], rng, self._n_offered(rng, 2) - 1, api)
        if len(sample.functions) < 2:
            raise _Retry(f"{api.name}: no distractor the request tells apart")
        return sample

    def _parallel(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        def scalars(params: list[Param]) -> list[Param]:  # a list or an object per call is hard to tell apart
            return [p for p in params if param_schema_for_sampling(p).get("type") not in ("array", "object")]

        if (self.config.grid_rate and language == "en" and self.config.max_parallel >= 4
                and rng.random() < self.config.grid_rate):
            apis = [a for a in self.apis if len({p.name for p in scalars(a.params)}) >= 2]
            if apis:
                return self._grid(rng, sampler, rng.choice(apis), scalars)
        numeric = self._numeric(rng)
        more = rng.random() < self.config.parallel_values_rate  # more than one value varies per call
        apis = [a for a in self.apis if len(scalars(a.params)) >= 2] if more and numeric is None else []
        api = numeric or rng.choice(apis or [a for a in self.apis if a.params] or self.apis)
        base = sampler.arguments(api)
        varying = [p for p in api.params if p.name in base] or api.params
        if not varying:
            raise _Retry(f"{api.name}: no parameter to vary")
        varying = scalars(varying) or varying
        if numeric is not None:  # the number is what varies ("for 2 and 5 guests")
            varying = [p for p in quantities(api) if p.name in base] or quantities(api)
        first = rng.choice([p for p in varying if p.required] or varying)
        params = [first]
        others = [p for p in scalars(api.params) if p.name != first.name]
        pool = ([p for p in others if p.required] or [p for p in others if p.name in base]  # given ones first
                or others)
        while more and pool and len(params) < 3:  # "Paris for 3 days, Rome for 5"
            params.append(extra := rng.choice(pool))
            pool.remove(extra)
            more = rng.random() < self.config.parallel_values_rate
        for p in params:  # the first call states the varying values too
            if p.name not in base:
                base[p.name] = sampler.param_value(p, api)
        wanted = rng.randint(2, self.config.max_parallel)
        calls = [ExpectedCall("", base, api.tool, api.name)]
        seen = {json.dumps([base.get(p.name) for p in params], sort_keys=True, default=str)}
        for _ in range(wanted * 4):
            if len(calls) >= wanted:
                break
            values = {p.name: sampler.param_value(p, api) for p in params}
            key = json.dumps([values[p.name] for p in params], sort_keys=True, default=str)
            fixed = [v for k, v in base.items() if k not in values]  # "from MXN to MXN" converts nothing
            if (key not in seen and all(values[p.name] != c.arguments.get(p.name) for c in calls for p in params)
                    and not any(v in fixed for v in values.values())):
                seen.add(key)
                calls.append(ExpectedCall("", {**base, **values}, api.tool, api.name))
        if len(calls) < 2:
            raise _Retry(f"{api.name}: could not draw two different values of {first.name}")
        text = render.parallel_request(api, [c.arguments for c in calls], language, rng)
        return self._sample("parallel", language, [api], [Step(text, calls)], rng)

    def _grid(self, rng: random.Random, sampler: ValueSampler, api: Api,
              scalars: Callable[[list[Param]], list[Param]]) -> CallSample:
        """Every combination of two values of one argument and two of another: four calls, each value said once."""
        base = sampler.arguments(api)
        params = scalars(api.params)
        first = rng.choice([p for p in params if p.required] or params)
        rest = [p for p in params if p.name != first.name]
        second = rng.choice([p for p in rest if p.required] or [p for p in rest if p.name in base] or rest)
        values = []
        for param in (first, second):
            if param_schema_for_sampling(param).get("type") == "boolean":
                values.append([True, False])
                continue
            drawn: list[Any] = []
            for _ in range(8):
                value = sampler.param_value(param)
                if value not in drawn and str(value).strip():
                    drawn.append(value)
                if len(drawn) == 2:
                    break
            if len(drawn) < 2:
                raise _Retry(f"{api.name}: could not draw two different values of {param.name}")
            values.append(drawn)
        calls = [ExpectedCall("", {**base, first.name: a, second.name: b}, api.tool, api.name)
                 for a in values[0] for b in values[1]]
        shared = {k: v for k, v in base.items() if k not in (first.name, second.name)}
        text = render.grid_request(api, shared, (first, values[0]), (second, values[1]), rng)
        return self._sample("parallel", "en", [api], [Step(text, calls)], rng, kind="grid")

    def _parallel_multiple(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        numeric = self._numeric(rng)
        first = numeric or rng.choice(self.apis)
        n_calls = rng.randint(2, self.config.max_parallel)
        n_functions = rng.randint(2, min(3, n_calls))
        targets = [first, *pick_distractors(rng, first, self._candidates(rng, first), n_functions - 1, 0.5)]
        if len(targets) < 2:
            raise _Retry("not enough APIs")
        calls = [self._call(api, sampler, number=numeric is not None and api is first) for api in targets]
        for _ in range(4 * n_calls):
            if len(calls) >= n_calls:
                break
            api = rng.choice(targets)
            extra = self._call(api, sampler, number=numeric is not None and api is first)
            same = [i for i, c in enumerate(calls) if (c.tool, c.api) == api.key]
            if all(calls[i].arguments != extra.arguments for i in same):
                calls.insert(same[-1] + 1, extra)  # beside the other calls of its function
        by_key = {a.key: a for a in targets}
        sentences = [render.request(by_key[(c.tool, c.api)], c.arguments, language, rng) for c in calls]
        for call, sentence in zip(calls, sentences):  # each sentence tells its function from the other ones called
            own = offer_of(by_key[(call.tool, call.api)])
            if any(distinguished(call.arguments, own, offer_of(t), sentence, render._GLOSSARY) is None
                   for t in targets if t.key != (call.tool, call.api)):
                raise _Retry(f"a request for {call.api} does not tell it from another function it calls")
        step = Step(render.joined(sentences, language, rng), calls)
        k = max(0, self._n_offered(rng, len(targets)) - len(targets))
        return self._offer("parallel_multiple", language, targets, [step], rng, k, first)

    def _irrelevance_kind(self, rng: random.Random) -> str:
        kinds = [k for k in IRRELEVANCE_KINDS if self.config.irrelevance_kinds.get(k, 0) > 0]
        return rng.choices(kinds, weights=[self.config.irrelevance_kinds[k] for k in kinds])[0]

    def _irrelevance(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        kind = self._irrelevance_kind(rng)
        target = rng.choice(self.apis)
        if kind == "off_topic":
            request = off_topic_request(rng, language)
            pool = [a for a in self._some(rng) if not servable_by(request.topic, a.name, a.tool, a.description)]
            if not pool:
                raise _Retry("every API touches the off-topic request's topic")
            first = rng.choice(pool)
            offered = [first, *pick_distractors(rng, first, pool, rng.randint(0, self.config.max_offered - 1), 0.5)]
            reply = abstain.cannot_reply(kind, None, [a.name for a in offered], language, rng)
            return self._sample("irrelevance", language, offered, [Step(request.text, [], reply=reply)], rng,
                                target=None, kind=kind, topic=sorted(request.topic))
        call = self._call(target, sampler) if kind == "same_arguments" else None
        if kind == "missing_capability":
            pool = list({a.key: a for a in self.by_category[target.category] + self.by_tool[target.tool]}.values())
        elif call is not None:  # same_arguments: functions that would take the request's values, for another use
            given = set(call.arguments)
            pool = [a for a in self._candidates(rng, target) if {p.name for p in a.required_params} & given]
        else:
            pool = [a for a in self._some(rng) if self.category_of.get(a.tool) != self.category_of.get(target.tool)]
        pool = [a for a in pool if a.key != target.key and not could_serve(a.name, target.name, _fields(a))]
        if not pool:
            raise _Retry(f"{target.name}: no {kind.replace('_', ' ')} functions to offer")
        near = 0.0 if kind == "other_category" else 1.0
        offered = pick_distractors(rng, target, pool, rng.randint(1, self.config.max_offered), near)
        call = call or self._call(target, sampler)
        text = render.request(target, call.arguments, language, rng)
        reply = abstain.cannot_reply(kind, target.name, [a.name for a in offered], language, rng)
        return self._sample("irrelevance", language, offered, [Step(text, [], reply=reply)], rng,
                            target=[target.tool, target.name], kind=kind, arguments=call.arguments,
                            distractors=[{"tool": a.tool, "api": a.name, "similarity": similarity(target, a),
                                          "same_tool": a.tool == target.tool} for a in offered])

    def _hallucination(self, rng: random.Random, sampler: ValueSampler, language: str) -> CallSample:
        api, param = rng.choice(self.traps)
        kind = entity_kind(param.name, api)
        entity = fake_name(rng, language, kind)
        others = {p.name: sampler.param_value(p) for p in api.required_params if p.name != param.name}
        schema = param_schema_for_sampling(param)
        examples = set(map(str, [param.default, *schema.get("examples", [])]))
        probe_sampler = ValueSampler(rng, language="en", example_rate=0.0, identifier_example_rate=0.0)
        fake_id = next((v for v in (probe_sampler.value(schema, param.name) for _ in range(8))
                        if str(v) not in examples and str(v) not in entity), None)
        if fake_id is None:
            raise _Retry(f"{api.name}: no made-up identifier for {param.name}")
        text = render.entity_request(api, entity, render.label(kind, language) if language == "zh" else kind,
                                     others, language, rng)
        reply = abstain.clarify_reply(entity, render.label(param.name, language), language, rng)
        # close-but-wrong neighbours: the same tool's APIs that need the same identifier (none can look the
        # name up), or another tool's
        same_id = [a for a in self.by_tool[api.tool] if a.key != api.key
                   and param.name in {p.name for p in a.required_params}]
        elsewhere = [a for a in self._some(rng) if a.tool != api.tool]
        k = self._n_offered(rng, 1) - 1
        offered = [api, *pick_distractors(rng, api, same_id, rng.randint(0, k), 1.0)]
        offered += pick_distractors(rng, api, elsewhere, max(0, min(1, k + 1 - len(offered))), 0.0)
        return self._sample("hallucination", language, offered, [Step(text, [], reply=reply)], rng,
                            entity=entity, target=[api.tool, api.name], kind="fake_entity",
                            distractors=[{"tool": a.tool, "api": a.name, "similarity": similarity(api, a),
                                          "same_tool": a.tool == api.tool} for a in offered[1:]],
                            probe={"tool": api.tool, "api": api.name,
                                   "arguments": {**others, param.name: fake_id}, "param": param.name})

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
        steps = [Step(render.request(chain.first, first.arguments, language, rng), [first], [observation]),
                 Step(render.followup_request(chain.second, chain.key, rest, language, rng), [second])]
        targets = [chain.first] if chain.first.key == chain.second.key else [chain.first, chain.second]
        k = rng.randint(0, max(0, self.config.max_offered - len(targets)))
        return self._offer("multi_turn", language, targets, steps, rng, k, chain.second, observations=source,
                           chain={"key": chain.key, "trivial": chain.trivial})

    def _observe(self, api: Api, args: dict[str, Any], sampler: ValueSampler) -> tuple[str, str]:
        if self.runner is not None and api.tool in self.backed:
            obs = self.runner.call(api.tool, api.name, args)
            if not obs.ok:
                raise _Retry(f"{api.name} failed on the hub: {obs.error[:120]}")
            return obs.response, "executed"
        if not isinstance(api.response_schema, dict):
            raise _Retry(f"{api.name}: no response schema to synthesise a result from")
        return json.dumps(sampler.value(api.response_schema, "response"), ensure_ascii=False), "synthetic"


class _Retry(Exception):
    """This attempt at a sample failed; draw again."""

