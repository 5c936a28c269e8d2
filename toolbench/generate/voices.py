"""Who is asking and how: personas by API category, greetings, sign-offs, and the sentence frames a request is
composed from (question, imperative, "I need...", a noun phrase, a split request, a terse note).

Plain data plus two small choosers; the composer is :mod:`toolbench.generate.render`. Every frame is written
to hold any verb phrase (``{vp}``), noun phrase (``{np}``) and argument list (``{args}``, maybe empty).
"""

from __future__ import annotations

import random

# (substrings of a lower-cased category, personas); the first match wins, else GENERIC
PERSONAS_EN: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("weather",),
        (
            "I'm planning a weekend bike ride.",
            "We're thinking about a picnic.",
            "I'm packing for a trip.",
            "My flight lands soon and I'm deciding what to wear.",
        ),
    ),
    (
        ("financ", "stock", "crypto", "currenc", "bank", "payment"),
        (
            "I'm going over my portfolio.",
            "I'm budgeting for a trip abroad.",
            "I'm doing my monthly finances.",
            "A client asked me about this.",
        ),
    ),
    (
        ("food", "restaurant", "recipe", "nutrition"),
        (
            "We're deciding where to eat tonight.",
            "I'm organising a team dinner.",
            "It's my partner's birthday.",
            "I'm hungry and short on ideas.",
        ),
    ),
    (
        ("movie", "entertain", "music", "video", "media", "game"),
        (
            "It's movie night with friends.",
            "I'm putting together a watch list.",
            "I'm bored this evening.",
            "I'm writing a short review.",
        ),
    ),
    (
        ("commerce", "shop", "retail", "product"),
        (
            "I'm sorting out an online order.",
            "I run a small web shop.",
            "A customer just emailed us.",
            "I'm restocking before the weekend.",
        ),
    ),
    (
        ("map", "travel", "location", "transport", "geo"),
        (
            "I'm planning a road trip.",
            "I'm showing a friend around town.",
            "We're moving soon.",
            "I'm sketching out a travel itinerary.",
        ),
    ),
    (
        ("business", "crm", "software", "productivity", "email", "communication"),
        (
            "I'm working through our support queue.",
            "I'm tidying up our CRM before the quarterly review.",
            "My manager asked me to follow up on this.",
            "I'm catching up after a day off.",
        ),
    ),
    (("sport",), ("I'm following the league this season.", "My fantasy team needs help.")),
)
GENERIC_EN = (
    "Quick one for a project I'm working on.",
    "I'm building a small app and need this.",
    "My colleague asked me to check something.",
    "For a report I'm writing:",
    "I'm testing an idea.",
    "Something came up at work.",
)
GREETINGS_EN = ("Hi!", "Hey,", "Hello there.", "Hi there,", "Morning!", "Good afternoon.")
CLOSERS_EN = ("Thanks!", "Thank you.", "Cheers!", "Appreciate it.", "Thanks a lot.", "Much appreciated!")

ASK = (
    "Can you",
    "Could you",
    "Would you",
    "Can you please",
    "Could you please",
    "Would you please",
    "Is it possible to",
    "Mind if I ask you to",
)
WANT = ("I need to", "I want to", "I'd like to", "I'm trying to", "I have to", "I'd love to", "Help me")
NOUN_LEAD = (
    "Show me {np}",
    "I'm looking for {np}",
    "I'm after {np}",
    "I need {np}",
    "Any chance of {np}",
    "What about {np}",
    "Send me {np}",
)
SPLIT_ARGS = (
    "Details: {args}",
    "Specifically: {args}",
    "To be precise: {args}",
    "What I have: {args}",
    "Some details: {args}",
)  # an argument phrase may start with a preposition ("in Paris")

PERSONAS_ZH = (
    "我在准备一份报告。",
    "同事让我查一下。",
    "我在做一个小项目。",
    "周末要出门。",
    "客户刚来问这个。",
)
GREETINGS_ZH = ("你好，", "您好！", "嗨，")
CLOSERS_ZH = ("谢谢！", "多谢。", "辛苦了。", "")

FOLLOW_EN = (
    "{ok} Now {vp} for that {noun}{args}.",
    "{ok} Next, {vp} for that {noun}{args}.",
    "Using the {noun} from that result, {vp}{args}.",
    "{ok} Take that {noun} and {vp}{args}.",
    "{ok} Can you also {vp} for it{args}?",
    "With that {noun}, could you {vp}{args}?",
)
OK_EN = ("Great.", "Thanks.", "Perfect.", "Nice.", "OK.", "Got it.", "Cool,")
FOLLOW_ZH = (
    "好的，接下来用刚才结果里的{noun}{vp}{args}。",
    "谢谢。再用这个{noun}{vp}{args}。",
    "好，拿刚才那个{noun}去{vp}{args}。",
)


def persona(category: str, rng: random.Random, language: str = "en") -> str:
    if language == "zh":
        return rng.choice(PERSONAS_ZH)
    low = (category or "").casefold()
    for keys, pool in PERSONAS_EN:
        if any(k in low for k in keys):
            return rng.choice(pool + GENERIC_EN[:2])
    return rng.choice(GENERIC_EN)


def prefixes(language: str) -> tuple[str, ...]:
    """Everything a request may open with before the request proper (for dropping them mid-message)."""
    if language == "zh":
        return PERSONAS_ZH + GREETINGS_ZH
    return GREETINGS_EN + GENERIC_EN + tuple(p for _, pool in PERSONAS_EN for p in pool)
