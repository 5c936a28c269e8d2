"""The text replies of samples whose right answer is no call: they say that the offered tools cannot do it, and why.

- :func:`cannot_reply`: an irrelevance sample. The request asks for something none of the offered functions
  does; the reply names what was asked and what the offered functions can do instead (``missing_capability``,
  ``other_category``), or that the request has nothing to do with them (``off_topic``);
- :func:`clarify_reply`: a hallucination trap. The request names an entity (a made-up company, movie, order)
  where the function needs its identifier; the reply says the name is not enough and asks for the identifier.

Actions are worded by :func:`toolbench.generate.render.action` (English, or Chinese through its glossary).
"""

from __future__ import annotations

import random

from toolbench.generate import render
from toolbench.generate.distractors import ACTION_VERBS, VERB_CLASS, name_stems


def _listed(items: list[str], language: str) -> str:
    if language == "zh":
        return "、".join(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _verb_phrase(api_name: str) -> bool:
    """Whether the API's action phrase starts with a verb ("get movie cast"), not a thing ("heizgradtage")."""
    words = name_stems(api_name)
    return bool(words) and (words[0] in VERB_CLASS or words[0] in ACTION_VERBS)


def cannot_reply(kind: str, asked: str | None, offered: list[str], language: str, rng: random.Random) -> str:
    """The refusal of an irrelevance sample: ``asked`` is the API the request is for (None: off topic),
    ``offered`` the API names of the functions offered."""
    acts = list(dict.fromkeys(render.action(name, language) for name in offered))[:4]
    if language == "zh":
        can = f"现有的函数只能{_listed(acts, language)}" if acts else "现在没有可用的函数"
        if asked is None:
            return f"这个请求和现有的工具无关：{can}，没有一个能回答它，所以我没法用这些工具帮你。"
        return f"我没法用这些工具{render.action(asked, language)}：{can}，没有一个能做到这一点。"
    quoted = [f'"{a}"' for a in acts]
    can = f"the available functions only cover {_listed(quoted, language)}" if acts else "no function is available"
    if asked is None:
        return rng.choice(_OFF_TOPIC).format(can=can, Can=can[:1].upper() + can[1:])
    act = render.action(asked, language)
    doing = act if _verb_phrase(asked) else f'give you "{act}"'
    return rng.choice(_MISSING).format(doing=doing, can=can, Can=can[:1].upper() + can[1:])


# Several wordings of each refusal, so that a model trained on them learns when to refuse rather than one
# sentence to repeat (session 9 saw a tuned model answer call requests with a memorised refusal). Every wording
# must read as a refusal to eval's rule (eval.parse.is_refusal; tests/generate/test_hard_cases.py checks).
_OFF_TOPIC = (
    "I can't help with that using these tools: {can}, and none of them answers this request.",
    "That request is outside what these tools do ({can}), so I can't do it with them.",
    "Sorry, none of the tools I have here can answer that. {Can}.",
    "I don't have a function for this. {Can}, which has nothing to do with your request.",
    "I'm unable to look that up with the functions provided: {can}.",
)
_MISSING = (
    "I can't {doing} with these tools: {can}, and none of them does that.",
    "None of the available functions can {doing}; {can}. I can't do this with these tools.",
    "Sorry, there is no tool here to {doing}. {Can}.",
    "To {doing} I would need a tool for it, and there is no suitable function here: {can}.",
    "I'm not able to {doing} with what I have: {can}, so calling one of them would not answer you.",
    "None of the tools offered here can {doing}. {Can}.",
)


def clarify_reply(entity: str, label: str, language: str, rng: random.Random) -> str:
    """The reply to a trap: the name alone does not identify the entity; ask for its identifier."""
    if language == "zh":
        return f"我无法仅凭名称确定“{entity}”，这些函数需要它的{label}。能告诉我它的准确{label}吗？"
    return rng.choice(_CLARIFY).format(entity=entity, label=label)


_CLARIFY = (
    ("I can't find {entity} with the information given: these functions need its {label}. "
     "Could you tell me its exact {label}?"),
    "I don't have a way to look up {entity} by name, and I won't guess its {label}. What is its exact {label}?",
    "I'm unable to do that with just the name {entity}: I need its {label}. Can you give me the {label}?",
    "I can't use these functions without the {label} of {entity}, and I won't guess it. Which {label} should I use?",
)
