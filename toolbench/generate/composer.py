"""The query composer: a multi-tool instruction built from its sampled APIs, phrased by a model or by rule.

A small model (the demo's SmolLM2-135M) cannot write a ToolBench query from API documentation: asked for a JSON
list of queries with their relevant APIs it writes one API name, or text that names no value. The composer does
the part that needs no language model and checks the part that does:

1. **skeleton** (:func:`skeleton`): which APIs of the sampled set the query needs (2 to ``max_relevant``; two
   tools or more for a multi-tool G2/G3 set) and the argument values of each call, drawn from the APIs' schemas by
   :class:`toolbench.catalog.values.ValueSampler`;
2. **draft** (:func:`draft`): the skeleton phrased by rule, one request per call joined in one message, by the
   request realiser that writes the call data's requests (:mod:`toolbench.generate.render`: what the API does from
   its description, values in natural forms);
3. **phrasing** (:func:`phrase_request`, :func:`phrasing_problem`): the model rewrites the draft as a user would
   write it (``response_format`` json_schema ``{"query": ...}`` when asked, so a constrained server answers JSON);
   its text is kept only if it passes ToolBench's filters: every argument value stated (verbatim or in a form
   :mod:`toolbench.generate.surface` accepts), each relevant API still asked for (the meaning check of the call
   data, :func:`toolbench.generate.render.mentions_action`), no API name written verbatim, a sane length. Otherwise
   the draft is the query.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from toolbench.catalog.values import ValueSampler, ValueSamplingError
from toolbench.generate import render, surface
from toolbench.generate.api_sets import ApiSet
from toolbench.generate.calls import mentions_action, value_mentions
from toolbench.generate.errors import GenerateError
from toolbench.llm.base import ChatModel, LLMError, Message
from toolbench.records import Api

_IDENTIFIER = re.compile(r"[_0-9]|[a-z][A-Z]")


class DraftError(GenerateError):
    """No draft of an API set passed the filters (the realiser could not state a value or an API)."""


@dataclass
class Step:
    """One call of a composed query: the API and its arguments."""

    api: Api
    arguments: dict[str, Any]

    def mentions(self) -> list[str]:
        """The strings a query must contain to state this call's values."""
        return [m for value in self.arguments.values() for m in value_mentions(value)]


# -- skeleton -----------------------------------------------------------------------------------------------------

def pick_apis(api_set: ApiSet, rng: random.Random, min_relevant: int, max_relevant: int,
              avoid: frozenset[tuple[tuple[str, str], ...]] = frozenset()) -> list[Api]:
    """The APIs one query needs: ``min_relevant``..``max_relevant`` of the set (at most 3, a short request), one of
    each of two tools first when the set spans several tools (G2/G3), in the set's order; a combination in
    ``avoid`` (the set's earlier queries) is drawn again, a few times."""
    for _ in range(8):
        picked = _pick(api_set, rng, min_relevant, max_relevant)
        if tuple(a.key for a in picked) not in avoid:
            break
    return picked


def _pick(api_set: ApiSet, rng: random.Random, min_relevant: int, max_relevant: int) -> list[Api]:
    apis = list(api_set.apis)
    most = max(1, min(max_relevant, len(apis), 3))
    k = rng.randint(min(min_relevant, most), most)
    picked: list[Api] = []
    if api_set.group in ("G2", "G3") and len(api_set.tools) > 1:
        for tool in rng.sample(api_set.tools, 2):
            picked.append(rng.choice([a for a in apis if a.tool == tool]))
    rest = [a for a in apis if a not in picked]
    picked.extend(rng.sample(rest, max(0, min(len(rest), k - len(picked)))))
    return [a for a in apis if a in picked]


def skeleton(api_set: ApiSet, rng: random.Random, sampler: ValueSampler, min_relevant: int,
             max_relevant: int, avoid: frozenset[tuple[tuple[str, str], ...]] = frozenset()) -> list[Step]:
    """The calls of one query; raises :class:`ValueSamplingError` when an API's arguments cannot be sampled.
    Optional booleans are left out (a user rarely states them, and no check could find them in the text)."""
    steps = []
    for api in pick_apis(api_set, rng, min_relevant, max_relevant, avoid):
        args = sampler.arguments(api)
        optional = {p.name for p in api.optional_params}
        steps.append(Step(api, {k: v for k, v in args.items() if not (k in optional and isinstance(v, bool))}))
    return steps


# -- phrasing by rule ---------------------------------------------------------------------------------------------

def draft(steps: list[Step], rng: random.Random) -> str:
    """The query phrased by rule: each call as a request (:func:`toolbench.generate.render.request`), joined as
    one message (:func:`toolbench.generate.render.joined`)."""
    return render.joined([render.request(s.api, s.arguments, "en", rng) for s in steps], "en", rng)


# -- the filters ------------------------------------------------------------------------------------------------

def api_name_used(text: str, apis: list[Api]) -> str | None:
    """The first API name of ``apis`` written verbatim in ``text`` (identifier-like names only: ``get_quote``,
    ``getQuote``; a plain word such as ``weather`` is ordinary English)."""
    for api in apis:
        if _IDENTIFIER.search(api.name) and re.search(rf"(?<![\w]){re.escape(api.name)}(?![\w])", text, re.IGNORECASE):
            return api.name
    return None


def added_value(text: str, source: str, steps: list[Step]) -> str | None:
    """A number (or the worked example's city) in ``text`` that neither ``source`` nor a value of the calls
    holds: a rewrite that made a value up ("... for France in 2025 ...") or copied the example."""
    allowed = (source + " " + " ".join(m for s in steps for m in s.mentions())).casefold()
    for token in [*re.findall(r"\d+(?:[.,:/-]\d+)*", text), *re.findall(r"\bLyon\b", text)]:
        if token.casefold() not in allowed:
            return token
    return None


def phrasing_problem(text: str, steps: list[Step], api_set: ApiSet, min_chars: int, longest: int,
                     source: str = "") -> str | None:
    """Why ``text`` cannot stand for the composed query, as ``"<code>: <detail>"`` (None when it can):
    ToolBench's filters on a query. With ``source`` (the draft a model rewrote), a value the draft does not hold
    is refused too."""
    if len(text) < min_chars:
        return f"too_short: shorter than {min_chars} characters"
    if len(text) > longest:
        return f"too_long: longer than {longest} characters"
    if "{" in text or "<" in text:
        return "markup: contains markup or JSON"
    for step in steps:
        missing = [m for m in step.mentions() if not surface.stated(m, text)]
        if missing:
            return f"lost_value: lost the value {missing[0]!r} of {step.api.name}"
        if not mentions_action(step.api.name, text, "en"):
            return f"lost_api: no longer asks for what {step.api.name} does"
    name = api_name_used(text, list(api_set.apis))
    if name:
        return f"api_name: names the API {name!r}"
    extra = added_value(text, source, steps) if source else None
    if extra:
        return f"added_value: {extra!r} is in no value of the query"
    return None


# -- phrasing by the model ----------------------------------------------------------------------------------------

_EXAMPLE_TASK = ("Please look up current weather conditions in a city for city Lyon. Then convert an amount between "
                 "two currencies at today's rate with from USD, to EUR and amount 250.")
_EXAMPLE_QUERY = "What's the weather like in Lyon right now? Also, how much is 250 USD in EUR today?"


def phrasing_messages(text: str, steps: list[Step], json_reply: bool = True) -> list[Message]:
    """The phrasing request: one worked example, then the draft; the values to keep are listed."""
    values = ", ".join(json.dumps(surface.found(m, text), ensure_ascii=False) for s in steps for m in s.mentions())
    values = values or "(none)"

    def answer(query: str) -> str:
        return json.dumps({"query": query}) if json_reply else query

    def ask(task: str, keep: str) -> str:
        return f"Task: {task}\nKeep these values exactly: {keep}."

    return [
        {"role": "system", "content": "You rewrite a task as the message a real user would type to an assistant: "
                                      "natural and short, every request and every value kept, no API names."},
        {"role": "user", "content": ask(_EXAMPLE_TASK, '"Lyon", "USD", "EUR", "250"')},
        {"role": "assistant", "content": answer(_EXAMPLE_QUERY)},
        {"role": "user", "content": ask(text, values)},
    ]


def phrasing_format(longest: int) -> dict[str, Any]:
    """``response_format`` of a phrasing request: ``{"query": text}`` (json_schema, OpenAI's shape)."""
    schema = {"type": "object", "properties": {"query": {"type": "string", "minLength": 1}},
              "required": ["query"], "additionalProperties": False}
    return {"type": "json_schema", "json_schema": {"name": "query", "strict": True, "schema": schema}}


def reply_text(content: str | None) -> str:
    """The query in a phrasing reply: the ``query`` of a JSON object, else the text itself."""
    text = (content or "").strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return ""
        return value.get("query", "").strip() if isinstance(value, dict) and isinstance(value.get("query"), str) \
            else ""
    return text.strip('"').strip()


def phrase_request(model: ChatModel, text: str, steps: list[Step], *, json_schema: bool, temperature: float,
                   max_tokens: int, seed: int) -> tuple[str, str]:
    """(model's text, "") or ("", ``"<code>: <detail>"``: why the model gave no text)."""
    longest = max(3 * len(text), 200)
    params: dict[str, Any] = {"temperature": temperature, "seed": seed,
                              "max_tokens": max(16, min(max_tokens, len(text) // 3 + 48))}
    if json_schema:
        params["response_format"] = phrasing_format(longest)
    try:
        reply = model.chat(phrasing_messages(text, steps, json_schema), **params)
    except LLMError as exc:
        return "", f"request_failed: {exc}"
    new = reply_text(reply.content)
    if not new:
        return "", "no_text: no query in the reply (cut off, or not the asked JSON)"
    return new, ""


def compose_one(model: ChatModel | None, api_set: ApiSet, rng: random.Random, sampler: ValueSampler, *,
                min_relevant: int, max_relevant: int, min_chars: int, json_schema: bool, temperature: float,
                max_tokens: int, seed: int, avoid: frozenset[tuple[tuple[str, str], ...]] = frozenset(),
                ) -> tuple[str, list[Step], str, str]:
    """One composed query -> (text, steps, phrased_by, why the model's text was refused or "").
    ``phrased_by`` is ``model`` when the model's rewrite passed the filters, else ``rule``. Raises
    :class:`ValueSamplingError` or :class:`DraftError` when no query can be composed."""
    problem = ""
    for _ in range(3):  # the realiser's text is checked as the model's is; a draft failing it is drawn again
        steps = skeleton(api_set, rng, sampler, min_relevant, max_relevant, avoid)
        text = draft(steps, rng)
        problem = phrasing_problem(text, steps, api_set, min_chars, 1 << 20) or ""
        if not problem:
            break
    if problem:
        raise DraftError(f"the rule's text fails the filters ({problem}): {text}")
    if model is None:
        return text, steps, "rule", ""
    new, why = phrase_request(model, text, steps, json_schema=json_schema, temperature=temperature,
                              max_tokens=max_tokens, seed=seed)
    if new:
        why = phrasing_problem(new, steps, api_set, min_chars, max(3 * len(text), 200), source=text) or ""
        if not why and " ".join(new.split()).casefold() == " ".join(text.split()).casefold():
            why = "unchanged: the draft copied as it was"
    if why:
        return text, steps, "rule", why
    return new, steps, "model", ""


__all__ = ["DraftError", "Step", "ValueSamplingError", "api_name_used", "compose_one", "draft", "phrase_request",
           "phrasing_problem", "pick_apis", "skeleton"]
