"""Verification of every call sample in APIGen's three stages; each sample keeps its verdicts and reasons.

1. **format**: every expected call's arguments are a JSON object, its function is one of those offered, its
   arguments are valid against the offered schema (no unknown argument) and against the catalog's own
   parameter schemas; the sample has the shape of its category (one call for ``simple``, several calls of one
   function for ``parallel``, no call but a reply for ``irrelevance``/``hallucination``, a value carried from
   a tool result for ``multi_turn``...).
2. **execution** (needs a runner, e.g. :class:`toolbench.executor.Executor` on the hub): every call runs
   without error, in order; a value a multi-turn call takes from the previous result must be in the real
   result; a hallucination trap's probe (a made-up identifier) must be refused with "not found" (HTTP 404),
   which proves the entity is unknown. Tool results are stored in the sample.
3. **meaning**: the calls answer the request. Rule check: every argument value is stated in the request (or,
   when carried over, in the previous tool result) and the request says what each called function does; an
   irrelevance sample offers nothing from the tool it asks about; a trap names its entity and not the made-up
   identifier. With a judge (any ChatModel), the judge must also answer yes.

Stages run in order and stop at the first failure (a sample that does not parse is not run). Without a runner
the execution stage is not run and the sample carries no execution verdict.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.functions import api_to_function
from toolbench.generate import render, surface
from toolbench.generate.call_samples import CATEGORIES, NO_CALL_CATEGORIES, STAGES, CallSample, Verdict
from toolbench.generate.calls import CallRunner, mentions_action
from toolbench.generate.chains import find_key, response_keys, value_mentions
from toolbench.generate.distractors import ambiguous, could_serve
from toolbench.generate.off_topic import servable_by
from toolbench.generate.replies import ReplyFormatError, extract_json
from toolbench.llm.base import ChatModel, LLMError
from toolbench.records import Api, Tool

NOT_FOUND = 404


class Verifier:
    """Runs the stages on samples. ``tools`` is the catalog the samples were made from (for strict argument
    checks and to run calls); ``runner`` runs calls; ``judge`` is the optional LLM for the meaning stage."""

    def __init__(self, tools: list[Tool] | None = None, runner: CallRunner | None = None,
                 judge: ChatModel | None = None) -> None:
        self.runner = runner
        self.judge = judge
        self.tools = {t.name: t for t in tools or []}
        self.apis: dict[tuple[str, str], Api] = {(t.name, a.name): a for t in tools or [] for a in t.apis}

    def verify(self, sample: CallSample) -> CallSample:
        """A copy of ``sample`` with its verdicts (and, after execution, the real tool results)."""
        out = sample.copy()
        out.verdicts = []
        for stage in STAGES:
            if stage == "execution" and self.runner is None:
                continue
            verdict = getattr(self, stage)(out)
            out.verdicts.append(verdict)
            if not verdict.passed:
                break
        return out

    # -- format --------------------------------------------------------------------------------------------

    def format(self, sample: CallSample) -> Verdict:
        problem = self._format_problem(sample)
        return Verdict("format", problem is None, problem or "calls parse, functions exist, arguments are valid")

    def _format_problem(self, sample: CallSample) -> str | None:
        if sample.category not in CATEGORIES:
            return f"unknown category {sample.category!r}"
        offered: dict[str, dict[str, Any]] = {}
        for fn in sample.functions:
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                return "an offered function has no name"
            if fn["name"] in offered:
                return f"function {fn['name']!r} is offered twice"
            offered[fn["name"]] = fn
        for s_index, step in enumerate(sample.steps):
            for call in step.calls:
                if isinstance(call.arguments, str):
                    try:
                        call.arguments = json.loads(call.arguments)
                    except json.JSONDecodeError as exc:
                        return f"arguments of {call.name} do not parse as JSON ({exc.msg})"
                if not isinstance(call.arguments, dict):
                    return f"arguments of {call.name} must be a JSON object, got {type(call.arguments).__name__}"
                if call.name not in offered:
                    return f"function {call.name!r} is not among the offered functions"
                problem = _schema_problem(offered[call.name], call.arguments)
                if problem:
                    return f"{call.name}: {problem}"
                api = self._api(sample, call.name)
                if api is not None:
                    fn = api_to_function(api)
                    errors = validate_arguments(api, fn.api_arguments(call.arguments))
                    if errors:
                        return f"{call.name}: {errors[0]}"
                if call.from_previous and s_index == 0:
                    return f"{call.name} takes a value from a previous result, but it is in the first step"
        return _shape_problem(sample, offered)

    def _api(self, sample: CallSample, name: str) -> Api | None:
        key = sample.api_key(name)
        return self.apis.get(key) if key else None

    # -- execution ---------------------------------------------------------------------------------------------

    def execution(self, sample: CallSample) -> Verdict:
        assert self.runner is not None
        if sample.category == "hallucination":
            return self._probe(sample)
        if sample.category == "irrelevance":
            return Verdict("execution", True, "no call to run")
        previous: list[str] = []
        for step in sample.steps:
            results: list[str] = []
            for call in step.calls:
                api = self._api(sample, call.name)
                if api is None:
                    return Verdict("execution", False, f"{call.name}: its API is not in the catalog")
                for arg, key in call.from_previous.items():
                    actual = next((v for v in (find_key(_loads(o), key) for o in previous) if v is not None), None)
                    if actual is None:
                        return Verdict("execution", False, f"{call.name}: {arg} should come from the previous "
                                                           f"result, which has no {key!r}")
                    if actual != call.arguments.get(arg):
                        # the request only says "from that result": ground the call in the real one
                        sample.meta.setdefault("regrounded", []).append(
                            {"call": call.name, "argument": arg, "was": call.arguments.get(arg), "now": actual})
                        call.arguments[arg] = actual
                obs = self.runner.call(api.tool, api.name, api_to_function(api).api_arguments(call.arguments))
                if not obs.ok:
                    return Verdict("execution", False, f"{call.name} failed: {obs.error[:300]}")
                results.append(obs.response)
            step.observations = results
            previous = results or previous
        if sample.category == "multi_turn":
            sample.meta["observations"] = "executed"
        return Verdict("execution", True, f"{len(sample.calls)} call(s) ran without error")

    def _probe(self, sample: CallSample) -> Verdict:
        probe = sample.meta.get("probe") or {}
        api = self.apis.get((probe.get("tool", ""), probe.get("api", "")))
        if api is None:
            return Verdict("execution", False, "the trap has no probe call on a catalog API")
        assert self.runner is not None
        obs = self.runner.call(api.tool, api.name, probe.get("arguments", {}))
        value = probe.get("arguments", {}).get(probe.get("param", ""))
        if obs.ok:
            return Verdict("execution", False, f"the made-up {probe.get('param')} {value!r} exists: the API "
                                               "answered it, so this is no trap")
        if obs.status != NOT_FOUND:
            return Verdict("execution", False, f"the probe with {probe.get('param')}={value!r} failed without "
                                               f"'not found' (status {obs.status}): {obs.error[:200]}")
        return Verdict("execution", True, f"the API does not know {probe.get('param')} {value!r} (404)")

    # -- meaning ----------------------------------------------------------------------------------------------

    def meaning(self, sample: CallSample) -> Verdict:
        problem = _rule_problem(sample) or self._irrelevance_problem(sample)
        if problem:
            return Verdict("meaning", False, problem)
        if self.judge is None:
            return Verdict("meaning", True, "rule check: values stated, actions named")
        return self._judge(sample)

    def _irrelevance_problem(self, sample: CallSample) -> str | None:
        """An irrelevance sample: the API the request is for is in the catalog (when known) and no offered
        function could serve it (:func:`~toolbench.generate.distractors.could_serve`, with the offered APIs'
        response fields when the catalog is known)."""
        target = sample.meta.get("target")
        if sample.category != "irrelevance":
            return None
        topic = sample.meta.get("topic")
        if topic:  # an off-topic request: no offered function may touch its topic
            for fn in sample.functions:
                if servable_by(topic, fn.get("name", ""), (sample.function_map.get(fn.get("name", "")) or [""])[-1],
                               fn.get("description", "")):
                    return f"the offered {fn.get('name')} touches the off-topic request's topic: it is not irrelevant"
        if not target:
            return None
        if self.apis and tuple(target) not in self.apis:
            return f"the API the request is for, {target[1]!r} of {target[0]!r}, is not in the catalog"
        for name, (tool, api_name) in sample.function_map.items():
            api = self.apis.get((tool, api_name))
            fields = response_keys(api.response_schema if api and isinstance(api.response_schema, dict) else None)
            if could_serve(api_name, target[1], fields):
                return f"the offered {name} could serve the request for {target[1]!r}: it is not irrelevant"
        return None

    def _judge(self, sample: CallSample) -> Verdict:
        assert self.judge is not None
        expected = [[{"name": c.name, "arguments": c.arguments} for c in s.calls] or {"reply": s.reply}
                    for s in sample.steps]
        prompt = (
            "Functions offered:\n" + json.dumps(sample.functions, ensure_ascii=False) + "\n\nConversation:\n"
            + json.dumps(sample.messages(final_reply=False), ensure_ascii=False)
            + "\n\nExpected assistant actions per step (calls, or a text reply when no function fits):\n"
            + json.dumps(expected, ensure_ascii=False)
            + "\n\nDo the expected actions correctly and completely answer the user's requests, with no invented "
              "values? Reply with JSON only: {\"verdict\": \"yes\" or \"no\", \"reason\": \"...\"}")
        messages = [{"role": "system", "content": "You check function-calling training data strictly."},
                    {"role": "user", "content": prompt}]
        try:
            reply = self.judge.chat(messages, temperature=0.0)
            data = extract_json(reply.content, dict)
        except (LLMError, ReplyFormatError) as exc:
            return Verdict("meaning", False, f"judge: no usable verdict ({exc})")
        verdict = str(data.get("verdict", "")).strip().lower()
        reason = str(data.get("reason", "")).strip()[:300]
        if verdict not in ("yes", "no"):
            return Verdict("meaning", False, f"judge: verdict must be yes or no, got {verdict!r}")
        return Verdict("meaning", verdict == "yes", f"judge: {reason or verdict}")


# -- pure checks ------------------------------------------------------------------------------------------------

def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def _schema_problem(function: dict[str, Any], arguments: dict[str, Any]) -> str | None:
    params = function.get("parameters") or {"type": "object", "properties": {}}
    unknown = sorted(set(arguments) - set(params.get("properties", {})))
    if unknown:
        return f"unknown argument(s) {unknown}"
    schema = {k: v for k, v in params.items() if k != "optional"}
    errors = sorted(Draft202012Validator(schema).iter_errors(arguments), key=lambda e: list(map(str, e.path)))
    if errors:
        where = ".".join(map(str, errors[0].absolute_path))
        return f"argument {where or '(all)'}: {errors[0].message}"
    return None


def _shape_problem(sample: CallSample, offered: dict[str, Any]) -> str | None:
    cat = sample.category
    steps = sample.steps
    calls = sample.calls
    names = {c.name for c in calls}
    if not steps or steps[0].user is None:
        return "the sample has no user request"
    if cat in NO_CALL_CATEGORIES:
        if calls:
            return f"a {cat} sample must expect no call"
        if not steps[-1].reply:
            return f"a {cat} sample needs the reply expected instead of a call"
        if cat == "hallucination" and not sample.meta.get("probe"):
            return "a hallucination trap needs its probe call"
        return None
    if cat == "multi_turn":
        if len([s for s in steps if s.calls]) < 2:
            return "a multi_turn sample needs calls in at least two steps"
        if not any(c.from_previous for s in steps[1:] for c in s.calls):
            return "no call of a multi_turn sample takes a value from a tool result"
        return None
    if len(steps) != 1:
        return f"a {cat} sample has one step, not {len(steps)}"
    expected = {"simple": (1, 1), "multiple": (1, 1), "parallel": (2, None), "parallel_multiple": (2, None)}[cat]
    if len(calls) < expected[0] or (expected[1] is not None and len(calls) > expected[1]):
        return f"a {cat} sample expects {'exactly' if expected[1] else 'at least'} {expected[0]} call(s), has {len(calls)}"
    if cat == "simple" and len(offered) != 1:
        return f"a simple sample offers one function, not {len(offered)}"
    if cat == "multiple" and len(offered) < 2:
        return "a multiple sample offers at least two functions"
    if cat == "parallel" and len(names) != 1:
        return "the calls of a parallel sample are to one function"
    if cat == "parallel_multiple" and len(names) < 2:
        return "a parallel_multiple sample calls at least two functions"
    return None


def _rule_problem(sample: CallSample) -> str | None:
    previous: list[str] = []
    for step in sample.steps:
        text = step.user or ""
        for call in step.calls:
            tool_api = sample.api_key(call.name)
            for arg, value in call.arguments.items():
                if arg in call.from_previous:
                    source = " ".join(previous).casefold()
                    missing = [m for m in value_mentions(value) if m.casefold() not in source]
                    if missing:
                        return f"{call.name}: {arg}={value!r} should come from the previous result, which lacks it"
                    continue
                missing = [m for m in value_mentions(value) if not surface.stated(m, text)]
                if missing:
                    return f"{call.name}: {arg}={missing[0]!r} is not stated in the request"
            if tool_api and not mentions_action(tool_api[1], text, sample.language):
                return f"the request does not say what {call.name} does"
        previous = step.observations or previous
    unclear = ambiguous(sample.functions, sample.function_map, sample.steps, render._GLOSSARY)
    if unclear:
        called, other = unclear[0]
        return f"the request does not tell the offered {other} from {called}, which it calls"
    if sample.category == "hallucination":
        entity = sample.meta.get("entity", "")
        probe = sample.meta.get("probe") or {}
        made_up = probe.get("arguments", {}).get(probe.get("param", ""))
        if not entity or entity.casefold() not in sample.first_user.casefold():
            return "the trap's request does not name its entity"
        if made_up is not None and str(made_up).casefold() in sample.first_user.casefold():
            return "the trap's request gives the identifier away"
    if sample.category == "irrelevance":
        target = sample.meta.get("target")
        if target and list(target) in [list(v) for v in sample.function_map.values()]:
            return "the API the request asks for is offered"
    return None


# -- reports -----------------------------------------------------------------------------------------------------

@dataclass
class StageCounts:
    """Per-stage counts over a run: checked, passed, and failures by reason (its text up to the first ':');
    per category, samples by status (``by_category``), by kind (``by_kind``: ``irrelevance/missing_capability``,
    ``hallucination/fake_entity``...) and the shapes of the kept ones (``shapes``: how many functions offered,
    how many calls, how many distractors and how many of those from the called API's own tool)."""

    checked: Counter = field(default_factory=Counter)
    passed: Counter = field(default_factory=Counter)
    reasons: dict[str, Counter] = field(default_factory=dict)
    by_category: dict[str, Counter] = field(default_factory=dict)
    by_kind: dict[str, Counter] = field(default_factory=dict)
    shapes: dict[str, dict[str, Counter]] = field(default_factory=dict)

    def add(self, sample: CallSample) -> None:
        cat = self.by_category.setdefault(sample.category, Counter())
        cat["total"] += 1
        cat[sample.status] += 1
        if sample.meta.get("kind"):
            kind = self.by_kind.setdefault(f"{sample.category}/{sample.meta['kind']}", Counter())
            kind["total"] += 1
            kind[sample.status] += 1
        if not sample.rejected:
            shape = self.shapes.setdefault(sample.category, {})
            shape.setdefault("offered", Counter())[len(sample.functions)] += 1
            shape.setdefault("calls", Counter())[len(sample.calls)] += 1
            distractors = sample.meta.get("distractors") or []
            shape.setdefault("distractors", Counter())["total"] += len(distractors)
            shape["distractors"]["same_tool"] += sum(bool(d.get("same_tool")) for d in distractors)
        for verdict in sample.verdicts:
            self.checked[verdict.stage] += 1
            if verdict.passed:
                self.passed[verdict.stage] += 1
            else:
                self.reasons.setdefault(verdict.stage, Counter())[_reason_key(verdict.reason)] += 1

    def to_dict(self) -> dict[str, Any]:
        stages = {}
        for stage in STAGES:
            n = self.checked[stage]
            stages[stage] = {"checked": n, "passed": self.passed[stage], "failed": n - self.passed[stage],
                             "pass_rate": round(self.passed[stage] / n, 4) if n else None,
                             "failures": dict(self.reasons.get(stage, Counter()).most_common(20))}
        shapes = {cat: {part: {str(k): v for k, v in sorted(counts.items(), key=lambda kv: (str(type(kv[0])), kv[0]))}
                        for part, counts in shape.items()} for cat, shape in sorted(self.shapes.items())}
        return {"stages": stages, "by_category": {k: dict(v) for k, v in sorted(self.by_category.items())},
                "by_kind": {k: dict(v) for k, v in sorted(self.by_kind.items())}, "shapes": shapes}


def _reason_key(reason: str) -> str:
    """A failure reason without its values, for counting: ``get_quote_for_x failed: request_error: HTTP 404:
    ticker 'ZZZ' not found`` -> ``failed: request_error: HTTP 404``."""
    text = re.sub(r"^\w+_for_\w+:? ", "", reason)
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"=\S+", "=…", text)
    return ": ".join(text.split(": ")[:3])[:90]
