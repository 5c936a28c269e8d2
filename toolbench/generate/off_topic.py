"""Off-topic requests for ``irrelevance`` samples of kind ``off_topic``: arithmetic, writing, explanations,
translations and small advice, composed from parts (numbers drawn, topics chosen), so the samples do not repeat
a handful of fixed sentences. Each request carries its **topic words**: an offered function whose name or
description holds one of them (a translation API for a translation request, a joke API for a joke) could serve
it, so such a function is never offered (:func:`servable_by`), and the verifier checks the same.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_TOPICS_EN = ("autumn leaves", "a lighthouse at night", "morning coffee", "my old bicycle", "the first snow",
              "a quiet library", "a lost umbrella", "the night sky", "a garden after rain", "moving to a new city")
_FORMS_EN = (("haiku", {"haiku", "poem", "poetry"}), ("limerick", {"limerick", "poem", "poetry"}),
             ("four-line poem", {"poem", "poetry"}), ("short story opening", {"story", "stories"}),
             ("toast for a wedding", {"toast", "speech"}), ("slogan for a bakery", {"slogan"}))
_CONCEPTS_EN = ("photosynthesis", "compound interest", "how a rainbow forms", "why the sky is blue",
                "how tides work", "what a black hole is", "the water cycle", "how vaccines train the immune system",
                "the difference between weather and climate", "how a bill becomes a law")
_PHRASES = ("good morning", "thank you very much", "where is the train station", "see you tomorrow",
            "happy birthday", "I would like a coffee")
_LANGUAGES_EN = ("German", "Spanish", "Japanese", "Italian", "Portuguese", "Korean")
_LANGUAGES_ZH = ("德语", "西班牙语", "日语", "意大利语", "葡萄牙语", "韩语")
_PETS_EN = ("goldfish", "kitten", "puppy", "parrot", "hamster", "tortoise")
_ACTIVITIES_EN = ("sleeping better", "learning to juggle", "keeping houseplants alive", "running a first 5k",
                  "studying for exams", "packing a small suitcase")
_TOPICS_ZH = ("秋天的落叶", "夜晚的灯塔", "清晨的咖啡", "第一场雪", "雨后的花园", "星空")
_CONCEPTS_ZH = ("光合作用", "复利", "彩虹是怎么形成的", "为什么天空是蓝色的", "潮汐的原理", "水循环")
_PETS_ZH = ("金鱼", "小猫", "小狗", "鹦鹉", "仓鼠")


@dataclass(frozen=True)
class OffTopic:
    text: str
    topic: set[str]  # words an API serving it would have in its name or description


def _arithmetic(rng: random.Random, language: str) -> OffTopic:
    a, b = rng.randint(12, 99), rng.randint(12, 99)
    kind = rng.choice(("times", "percent", "prime", "equation"))
    topic = {"math", "calculator", "calculate", "arithmetic"}
    if kind == "times":
        text = f"{a}乘以{b}等于多少？" if language == "zh" else rng.choice(
            (f"What's {a} times {b}?", f"Quick one: how much is {a} multiplied by {b}?"))
        return OffTopic(text, topic | {"multiply"})
    if kind == "percent":
        text = f"{b * 10}的{a}%是多少？" if language == "zh" else f"What is {a}% of {b * 10}?"
        return OffTopic(text, topic | {"percent", "percentage"})
    if kind == "prime":
        n = rng.randint(100, 999)
        text = f"{n}是质数吗？" if language == "zh" else rng.choice(
            (f"Is {n} a prime number?", f"Can you tell me whether {n} is prime?"))
        return OffTopic(text, topic | {"prime", "number"})
    c = a * rng.randint(2, 9) + b
    text = f"解方程 {a}x + {b} = {c}。" if language == "zh" else f"Solve {a}x + {b} = {c} for x."
    return OffTopic(text, topic | {"equation", "solve", "solver", "algebra"})


def _writing(rng: random.Random, language: str) -> OffTopic:
    if language == "zh":
        return OffTopic(f"帮我写一首关于{rng.choice(_TOPICS_ZH)}的短诗。", {"poem", "poetry", "write", "writing"})
    form, topic = rng.choice(_FORMS_EN)
    text = rng.choice((f"Write a {form} about {rng.choice(_TOPICS_EN)}.",
                       f"Could you come up with a {form} about {rng.choice(_TOPICS_EN)}?"))
    return OffTopic(text, topic | {"write", "writing", "generate", "text"})


def _explain(rng: random.Random, language: str) -> OffTopic:
    if language == "zh":
        return OffTopic(f"用简单的话解释一下{rng.choice(_CONCEPTS_ZH)}。", {"explain", "wiki", "encyclopedia"})
    concept = rng.choice(_CONCEPTS_EN)
    text = rng.choice((f"Explain {concept} in simple terms.", f"Can you explain {concept} to a ten-year-old?",
                       f"In two sentences, tell me about {concept}."))
    return OffTopic(text, {"explain", "wiki", "wikipedia", "encyclopedia", "answer", "question", "chat"}
                    | set(re.findall(r"[a-z]{5,}", concept)))


def _translate(rng: random.Random, language: str) -> OffTopic:
    phrase, target = rng.choice(_PHRASES), rng.choice(_LANGUAGES_EN)
    text = f"把“{phrase}”翻译成{rng.choice(_LANGUAGES_ZH)}。" if language == "zh" else rng.choice(
        (f"Translate '{phrase}' into {target}.", f"How do you say '{phrase}' in {target}?"))
    return OffTopic(text, {"translate", "translation", "translator", "language", "languages"})


def _advice(rng: random.Random, language: str) -> OffTopic:
    if language == "zh":
        return OffTopic(f"给我的新{rng.choice(_PETS_ZH)}起个名字吧。", {"name", "names", "pet", "pets"})
    if rng.random() < 0.5:
        pet = rng.choice(_PETS_EN)
        return OffTopic(f"Suggest a name for my new {pet}.", {"name", "names", "pet", "pets", pet})
    activity = rng.choice(_ACTIVITIES_EN)
    return OffTopic(f"Give me three tips for {activity}.", {"tip", "tips", "advice"}
                    | set(re.findall(r"[a-z]{5,}", activity)))


_MAKERS = (_arithmetic, _writing, _explain, _translate, _advice)


def off_topic_request(rng: random.Random, language: str) -> OffTopic:
    """An off-topic request and its topic words."""
    return rng.choice(_MAKERS)(rng, language)


def _stems(text: str) -> set[str]:
    return {w[:-1] if len(w) > 4 and w.endswith("s") else w for w in re.findall(r"[a-z]+", text.casefold())}


def servable_by(topic: set[str] | list[str], *texts: str) -> bool:
    """Whether a function, known by ``texts`` (its name, its API's name, its description), touches the request's
    topic words."""
    words = _stems(" ".join(re.sub(r"[_\W]+", " ", t or "") for t in texts))
    return bool(words & _stems(" ".join(topic)))
