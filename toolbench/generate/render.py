"""Natural-language requests rendered from calls, in English and Chinese (pure functions of an rng).

An API's action phrase comes from its name (``get_current_weather`` -> "get current weather", in Chinese
"获取当前天气" through a small glossary; words it lacks stay in English), a parameter's label from its name.
Argument values are written verbatim (a nested value as compact JSON), so a rule check can find every value of
a call in its request (:mod:`toolbench.generate.verify`).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from toolbench.catalog.pools import snake
from toolbench.generate import phrasing, voices
from toolbench.generate.nouns import name_words
from toolbench.records import Api, Param

_GLOSSARY = {
    "get": "获取", "list": "列出", "search": "搜索", "find": "查找", "create": "创建", "add": "添加",
    "update": "更新", "delete": "删除", "cancel": "取消", "convert": "换算", "track": "跟踪", "schedule": "安排",
    "count": "统计", "discover": "发现", "reverse": "反向", "current": "当前", "latest": "最新",
    "historical": "历史", "history": "历史", "weather": "天气", "forecast": "预报", "air": "空气",
    "quality": "质量", "alerts": "预警", "alert": "预警", "city": "城市", "cities": "城市", "nearby": "附近",
    "distance": "距离", "geocode": "地理编码", "country": "国家", "currency": "货币", "currencies": "货币",
    "rates": "汇率", "rate": "汇率", "time": "时间", "series": "序列", "companies": "公司", "company": "公司",
    "quote": "报价", "profile": "资料", "price": "价格", "market": "市场", "movers": "涨跌榜",
    "restaurants": "餐厅", "restaurant": "餐厅", "reviews": "评价", "menu": "菜单", "table": "餐桌",
    "availability": "空位", "movies": "电影", "movie": "电影", "trending": "热门", "cast": "演员表",
    "showtimes": "场次", "products": "商品", "product": "商品", "orders": "订单", "order": "订单",
    "tickets": "工单", "ticket": "工单", "comment": "评论", "visits": "上门服务", "visit": "上门服务",
    "leads": "销售线索", "lead": "销售线索", "stage": "阶段", "holidays": "假期", "business": "工作",
    "days": "天数", "day": "日", "events": "日程", "event": "日程", "zone": "时区", "date": "日期",
    "units": "单位", "severity": "严重程度", "query": "关键词", "name": "名称", "radius": "半径",
    "amount": "金额", "base": "基准货币", "from": "源", "to": "目标", "start": "开始", "end": "结束",
    "limit": "数量上限", "status": "状态", "priority": "优先级", "email": "邮箱", "year": "年份",
    "genre": "类型", "cuisine": "菜系", "rating": "评分", "min": "最低", "max": "最高", "id": "编号",
    "ticker": "股票代码", "symbol": "代码", "language": "语言", "page": "页码", "address": "地址",
    "party": "人数", "size": "规模", "interval": "间隔", "category": "类别", "tags": "标签", "tag": "标签",
    "title": "标题", "description": "描述", "customer": "客户", "value": "价值", "source": "来源",
    "owner": "负责人", "timezone": "时区", "country_code": "国家代码", "latitude": "纬度",
    "longitude": "经度", "lat": "纬度", "lon": "经度", "quantity": "数量", "items": "商品",
}
_EN_OPENERS = ("Can you {a}{args}?", "Please {a}{args}.", "I need to {a}{args}.", "Could you help me {a}{args}?",
               "I'd like to {a}{args}.", "Hey, {a}{args}, please.", "Would you {a}{args}?")
_ZH_OPENERS = ("请帮我{a}{args}。", "能不能帮我{a}{args}？", "我想{a}{args}。", "麻烦{a}一下{args}。",
               "帮忙{a}{args}，谢谢。")
_EN_ARG = (" for {l} {v}", " with {l} {v}", " where the {l} is {v}", " ({l}: {v})", " using {l} {v}")
_ZH_ARG = ("，{l}为{v}", "，{l}是{v}", "（{l}：{v}）", "，{l}用{v}")
_EN_LINK = ("Also, ", "Then ", "And ", "After that, ")
_ZH_LINK = ("另外，", "同时，", "然后，", "还有，")
def action(api_name: str, language: str) -> str:
    parts = name_words(api_name) or ["call", "the", "service"]
    if language == "zh":
        return "".join(_GLOSSARY.get(w, f" {w} ") for w in parts).replace("  ", " ").strip()
    return " ".join(parts)


def label(param_name: str, language: str) -> str:
    key = snake(param_name)
    parts = [w for w in key.split("_") if w and w != "is"] or [param_name]
    if language == "zh":
        if key in _GLOSSARY:
            return _GLOSSARY[key]
        if all(w in _GLOSSARY for w in parts):
            return "".join(_GLOSSARY[w] for w in parts)
        known = [_GLOSSARY[w] for w in parts if w in _GLOSSARY]
        return "".join(known) if known else parts[-1]  # never a multi-word English name
    return " ".join(parts)


def show(value: Any, language: str = "en") -> str:
    """A value as written in a request: strings verbatim, booleans as true/false, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def args_phrase(args: dict[str, Any], language: str, rng: random.Random) -> str:
    """The arguments of one call, each with its label, in a randomly chosen pattern."""
    pattern = rng.choice(_ZH_ARG if language == "zh" else _EN_ARG)
    parts = [pattern.format(l=label(k, language), v=show(v, language)) for k, v in args.items()]
    if language == "en" and len(parts) > 1:
        return parts[0] + "".join("," + p for p in parts[1:-1]) + " and" + parts[-1]
    return "".join(parts)


def _api(api: Api | str) -> Api:
    return api if isinstance(api, Api) else Api(tool="", name=api)


def mentions_action(api_name: str, text: str, language: str) -> bool:
    """Whether a request names what the API does: one of its content words (or their Chinese glossary words)."""
    stop = {"get", "list", "find", "search", "create", "add", "update", "delete", "by", "for", "of", "the", "a"}
    content = [w for w in name_words(api_name) if w not in stop] or name_words(api_name)
    low = text.casefold()
    for word in content:
        stem = re.sub(r"(ies|es|s)$", "", word)
        if stem and stem in low:
            return True
        if _GLOSSARY.get(word, "\0") in text:
            return True
    return False


def _mentions(api_name: str, text: str) -> bool:
    return mentions_action(api_name, text, "en")


def _zh_args(api: Api, args: dict[str, Any], rng: random.Random) -> str:
    params = {p.name: p for p in api.params}
    pattern = rng.choice(_ZH_ARG)
    return "".join(pattern.format(l=label(k, "zh"), v=phrasing.value_text(v, params.get(k), "zh", rng))
                   for k, v in args.items() if v is not None)


def _frame(it: phrasing.Intent, args: str, rng: random.Random) -> str:
    """One English request from an intent and its argument text, in a randomly chosen frame."""
    tail = f" {args}" if args else ""
    kinds = ["ask", "ask", "imperative", "want", "want", "split", "terse"] + (["noun", "noun"] if it.np else [])
    kind = rng.choice(kinds if args else [k for k in kinds if k != "split"])
    if kind == "ask":
        return _end(f"{rng.choice(voices.ASK)} {it.vp}{tail}", "?")
    if kind == "imperative":
        return _cap(_end(f"{rng.choice(('please ', '', ''))}{it.vp}{tail}", rng.choice(('.', '.', '!'))))
    if kind == "want":
        return _end(f"{rng.choice(voices.WANT)} {it.vp}{tail}", ".")
    if kind == "noun":
        return _cap(_end(rng.choice(voices.NOUN_LEAD).format(np=it.np) + tail, rng.choice((".", "?", ", please."))))
    if kind == "split":
        head = rng.choice((f"{rng.choice(voices.ASK)} {it.vp}?", f"{rng.choice(voices.WANT)} {it.vp}."))
        return f"{head} {_end(rng.choice(voices.SPLIT_ARGS).format(args=args), '.')}"
    return _cap(_end(f"{it.np or it.vp}{tail}", rng.choice((" pls", " asap", ", thx", "?", ""))))


def _end(text: str, mark: str) -> str:
    """``text`` closed with ``mark``, unless it already ends a sentence (a value that ends with a full stop
    is kept whole: "... near the window." takes no "?" after it)."""
    return text if re.search(r"[.?!。？！]$", text) else text + mark


def _a(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _dress(text: str, category: str, language: str, rng: random.Random, persona_rate: float = 0.4) -> str:
    """A request with, now and then, a greeting, a persona's context and a sign-off."""
    if language == "zh":
        head = rng.choice(voices.PERSONAS_ZH) if rng.random() < persona_rate else ""
        return head + text + (rng.choice(voices.CLOSERS_ZH) if rng.random() < 0.25 else "")
    parts = []
    if rng.random() < 0.2:
        parts.append(rng.choice(voices.GREETINGS_EN))
    if rng.random() < persona_rate:
        parts.append(voices.persona(category, rng))
    parts.append(text)
    if len(parts) > 1 and parts[0].endswith(",") and not re.match(r"I\b", parts[1]):
        parts[1] = parts[1][:1].lower() + parts[1][1:]
    if rng.random() < 0.25:
        parts.append(rng.choice(voices.CLOSERS_EN))
    out = " ".join(parts)
    if rng.random() < 0.05 and not re.match(r"I\b", out):  # casual: no capital, no full stop (values untouched)
        out = out[:1].lower() + out[1:].rstrip(".!")
    return out


def request(api: Api | str, args: dict[str, Any], language: str, rng: random.Random) -> str:
    """One call as one request: what the API does (from its description) and its arguments (by kind of value)."""
    api = _api(api)
    if language == "zh":
        opener = rng.choice(_ZH_OPENERS)
        return _dress(opener.format(a=action(api.name, language), args=_zh_args(api, args, rng)), api.category,
                      language, rng)
    it = phrasing.intent(api, rng, _mentions)
    text = _frame(it, phrasing.joined_phrases(phrasing.arguments(api, args, rng, it.vp)), rng)
    return _dress(text, api.category, language, rng)


def parallel_request(api: Api | str, arg_sets: list[dict[str, Any]], language: str, rng: random.Random) -> str:
    """Several calls of one function in one request: a shared part once, then what varies."""
    api = _api(api)
    params = {p.name: p for p in api.params}
    shared = {k: v for k, v in arg_sets[0].items() if all(k in s and s[k] == v for s in arg_sets)}
    varying = [{k: v for k, v in s.items() if k not in shared} for s in arg_sets]
    keys = {tuple(v) for v in varying}
    if language == "zh":
        act = action(api.name, language)
        base = _zh_args(api, shared, rng) if shared else ""
        if len(keys) == 1 and len(next(iter(keys))) == 1:
            (key,) = next(iter(keys))
            values = [phrasing.value_text(v[key], params.get(key), "zh", rng) for v in varying]
            return _dress(f"请帮我{act}{base}，{label(key, language)}分别为{'、'.join(values)}。", api.category,
                          language, rng)
        pieces = [_zh_args(api, v, rng).lstrip("，, ") for v in varying]
        return _dress(f"请帮我{act}{base}，分别查询：" + "；".join(pieces) + "。", api.category, language, rng)
    it = phrasing.intent(api, rng, _mentions)
    base = phrasing.arguments(api, shared, rng, it.vp)
    if len(keys) == 1 and len(next(iter(keys))) == 1:
        (key,) = next(iter(keys))
        several = phrasing.argument(params.get(key) or Param(name=key), None, rng, api, [v[key] for v in varying],
                                     it.vp)
        each = rng.choice(("", "", " each", ", one by one", " for each of them"))
        text = _frame(it, phrasing.joined_phrases(base + [several]) + each, rng)
    else:
        groups = [phrasing.joined_phrases(phrasing.arguments(api, v, rng, it.vp)) for v in varying]
        count = {2: "twice", 3: "three times", 4: "four times"}.get(len(groups), f"{len(groups)} times")
        head = _frame(it, phrasing.joined_phrases(base), rng).rstrip(".?!")
        text = rng.choice((f"{head}, {count}: " + "; ".join(groups) + ".",
                           f"{head} for each of these: " + "; ".join(groups) + ".",
                           f"{head}. Once with " + ", once with ".join(groups) + "."))
    return _dress(text, api.category, language, rng)


def grid_request(api: Api | str, shared: dict[str, Any], first: tuple[Param, list[Any]],
                 second: tuple[Param, list[Any]], rng: random.Random) -> str:
    """One English request for every combination of two values of one argument and two of another (four calls):
    the shared arguments, each argument's values once ("for Paris and Rome, in metric and imperial units"), and
    words that say every combination is wanted."""
    api = _api(api)
    it = phrasing.intent(api, rng, _mentions)
    phrases = phrasing.arguments(api, shared, rng, it.vp)
    for param, values in (first, second):
        if all(isinstance(v, bool) for v in values):
            on, off = phrasing.argument(param, True, rng), phrasing.argument(param, False, rng)
            phrases.append(rng.choice((f"once {on} and once {off}", f"both: {on}, and {off}")))
        else:
            phrases.append(phrasing.argument(param, None, rng, api, list(values), it.vp))
    head = _end(_frame(it, phrasing.joined_phrases(phrases), rng), ".")  # a value may end the head: keep it whole
    tail = rng.choice(("Every combination, please.", "All four combinations.", "I need each combination of the two.",
                       "All combinations of those."))
    return _dress(f"{head} {tail}", api.category, "en", rng)


def joined(sentences: list[str], language: str, rng: random.Random) -> str:
    """Several requests as one message, with linking words (a later request's greeting or persona dropped)."""
    links = _ZH_LINK if language == "zh" else _EN_LINK
    out = [sentences[0]]
    openers = sorted(voices.prefixes(language), key=len, reverse=True)
    for sentence in sentences[1:]:
        stripped = True
        while stripped:
            stripped = False
            for opener in openers:
                if sentence.startswith(opener + " ") or (language == "zh" and sentence.startswith(opener)):
                    sentence, stripped = sentence[len(opener):].lstrip(), True
        link = rng.choice(links)
        keep_case = language == "zh" or re.match(r"I\b", sentence)
        out.append(link + (sentence if keep_case else sentence[0].lower() + sentence[1:]))
    closers = voices.CLOSERS_ZH if language == "zh" else voices.CLOSERS_EN
    for i in range(len(out) - 1):  # a sign-off only at the end, and every request ends its sentence
        for closer in (c for c in closers if c):
            out[i] = out[i].removesuffix(" " + closer).removesuffix(closer)
        out[i] = out[i] if language == "zh" else _end(out[i], ".")
    return ("" if language == "zh" else " ").join(out)


def _noun(key: str) -> str:
    parts = [w for w in name_words(key) if w not in ("id", "ids", "is", "uuid")]
    return parts[-1] if parts else ("ID" if name_words(key) else "one")


def followup_request(api: Api | str, from_key: str, args: dict[str, Any], language: str,
                     rng: random.Random) -> str:
    """The next turn of a multi-turn sample: a value to take from the last tool result, the rest given."""
    api = _api(api)
    if language == "zh":
        rest = _zh_args(api, args, rng) if args else ""
        return rng.choice(voices.FOLLOW_ZH).format(noun=label(from_key, language), vp=action(api.name, language),
                                                   args=rest)
    it = phrasing.intent(api, rng, _mentions)
    rest = phrasing.joined_phrases(phrasing.arguments(api, args, rng, it.vp))
    return rng.choice(voices.FOLLOW_EN).format(ok=rng.choice(voices.OK_EN), vp=it.vp, noun=_noun(from_key),
                                               args=f", {rest}" if rest else "")


def entity_request(api: Api | str, entity: str, kind: str, args: dict[str, Any], language: str,
                   rng: random.Random) -> str:
    """A request about an entity known only by its name (a hallucination trap)."""
    api = _api(api)
    if language == "zh":
        rest = _zh_args(api, args, rng) if args else ""
        return _dress(f"请帮我{action(api.name, language)}，对象是{kind}“{entity}”{rest}。", api.category, language,
                      rng)
    it = phrasing.intent(api, rng, _mentions)
    rest = phrasing.joined_phrases(phrasing.arguments(api, args, rng, it.vp))
    rest = f", {rest}" if rest else ""
    text = rng.choice((f"{rng.choice(voices.ASK)} {it.vp} for the {kind} {entity}{rest}?",
                       f"{rng.choice(voices.WANT)} {it.vp} for {entity} ({_a(kind)} {kind}){rest}.",
                       _cap(f"{it.vp} for the {kind} called {entity}{rest}, please."),
                       f"{rng.choice(voices.ASK)} {it.vp} for {entity}{rest}? It's {_a(kind)} {kind}."))
    return _dress(text, api.category, language, rng)


IRRELEVANT_EN = ("What's 17 times 23?", "Write a haiku about autumn leaves.", "Translate 'good morning' into German.",
                 "Tell me a joke about cats.", "How many sides does a dodecagon have?",
                 "Summarize the plot of Hamlet in two sentences.", "Suggest a name for my new goldfish.",
                 "What is the capital of Australia's Northern Territory?")
IRRELEVANT_ZH = ("帮我写一首关于秋天的短诗。", "十七乘以二十三等于多少？", "把“早上好”翻译成德语。", "讲一个关于猫的笑话。",
                 "用两句话概括《哈姆雷特》的情节。", "给我的新金鱼起个名字吧。")
REFUSAL_EN = "None of the available functions can do this, so I can't help with it using these tools."
REFUSAL_ZH = "现有的函数都无法完成这个请求，所以我没法用这些工具帮你。"
CLARIFY_EN = "I can't find {entity} with the information given. Could you tell me its exact {label}?"
CLARIFY_ZH = "我无法仅凭名称确定“{entity}”。能告诉我它的准确{label}吗？"
