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
_SKIP_WORDS = {"v1", "v2", "v3", "v4", "api"}


def words(name: str) -> list[str]:
    return [w for w in snake(re.sub(r"\{[^}]*\}", " ", name)).split("_") if w and w not in _SKIP_WORDS]


def action(api_name: str, language: str) -> str:
    parts = words(api_name) or ["call", "the", "service"]
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


def request(api_name: str, args: dict[str, Any], language: str, rng: random.Random) -> str:
    """One call as one request."""
    opener = rng.choice(_ZH_OPENERS if language == "zh" else _EN_OPENERS)
    return opener.format(a=action(api_name, language), args=args_phrase(args, language, rng))


def parallel_request(api_name: str, arg_sets: list[dict[str, Any]], language: str, rng: random.Random) -> str:
    """Several calls of one function in one request: a shared part once, then what varies."""
    shared = {k: v for k, v in arg_sets[0].items() if all(k in s and s[k] == v for s in arg_sets)}
    varying = [{k: v for k, v in s.items() if k not in shared} for s in arg_sets]
    keys = {tuple(v) for v in varying}
    act = action(api_name, language)
    base = args_phrase(shared, language, rng) if shared else ""
    if len(keys) == 1 and len(next(iter(keys))) == 1:
        (key,) = next(iter(keys))
        values = [show(v[key], language) for v in varying]
        if language == "zh":
            return f"请帮我{act}{base}，{label(key, language)}分别为{'、'.join(values)}。"
        listed = ", ".join(values[:-1]) + f" and {values[-1]}"
        return f"Can you {act}{base} for each of these {label(key, language)} values: {listed}?"
    pieces = [args_phrase(v, language, rng).lstrip("，, ") for v in varying]
    if language == "zh":
        return f"请帮我{act}{base}，分别查询：" + "；".join(pieces) + "。"
    return f"Please {act}{base} several times: " + "; ".join(pieces) + "."


def joined(sentences: list[str], language: str, rng: random.Random) -> str:
    """Several requests as one message, with linking words."""
    links = _ZH_LINK if language == "zh" else _EN_LINK
    out = [sentences[0]]
    for sentence in sentences[1:]:
        link = rng.choice(links)
        out.append(link + (sentence if language == "zh" else sentence[0].lower() + sentence[1:]))
    return ("" if language == "zh" else " ").join(out)


def followup_request(api_name: str, from_key: str, args: dict[str, Any], language: str, rng: random.Random) -> str:
    """The next turn of a multi-turn sample: a value to take from the last tool result, the rest given."""
    act = action(api_name, language)
    rest = args_phrase(args, language, rng) if args else ""
    if language == "zh":
        return f"好的，接下来用刚才结果里的{label(from_key, language)}{act}{rest}。"
    return rng.choice((f"Great, now {act} using the {label(from_key, language)} from that result{rest}.",
                       f"Thanks. Next, take the {label(from_key, language)} you just got and {act}{rest}."))


def entity_request(api_name: str, entity: str, kind: str, args: dict[str, Any], language: str,
                   rng: random.Random) -> str:
    """A request about an entity known only by its name (a hallucination trap)."""
    act = action(api_name, language)
    rest = args_phrase(args, language, rng) if args else ""
    if language == "zh":
        return f"请帮我{act}，对象是{kind}“{entity}”{rest}。"
    return rng.choice((f"Can you {act} for the {kind} {entity}{rest}?",
                       f"I need to {act} for {entity} (a {kind}){rest}.",
                       f"Please {act} for the {kind} called {entity}{rest}."))


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
