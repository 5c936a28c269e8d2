"""Realistic value pools for argument sampling, English and Chinese, chosen by a parameter's name and description.

The pools are plain data. :func:`pool_for` maps a parameter name (and its description) to a pool key; a value
sampler draws from the pool and keeps the value only if it satisfies the schema. :func:`order_pairs` puts
pairs of arguments named like start/end or min/max in order.
"""

from __future__ import annotations

import re
from typing import Any

CITIES = ("Paris", "London", "Berlin", "Madrid", "Rome", "Tokyo", "New York", "Chicago", "Los Angeles",
          "San Francisco", "Toronto", "Sydney", "Singapore", "Dubai", "Mumbai", "Barcelona", "Munich", "Lyon",
          "Osaka", "Cairo", "Mexico City", "Sao Paulo")
COUNTRIES = ("France", "Germany", "Japan", "United States", "Canada", "Spain", "Italy", "Brazil", "India",
             "Australia", "Singapore", "Mexico", "Egypt", "United Kingdom")
COUNTRY_CODES = ("FR", "DE", "JP", "US", "CA", "ES", "IT", "BR", "IN", "AU", "SG", "MX", "EG", "GB")
COUNTRY_CODES3 = ("FRA", "DEU", "JPN", "USA", "CAN", "ESP", "ITA", "BRA", "IND", "AUS", "SGP", "MEX", "EGY", "GBR")
SORT_KEYS = ("date", "relevance", "popularity", "price", "name", "rating", "newest")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "CNY", "INR", "BRL", "MXN", "SGD")
LANGUAGES = ("en", "fr", "de", "es", "ja", "zh", "it", "pt")
FIRST_NAMES = ("Alice", "Marco", "Priya", "Kenji", "Sofia", "Liam", "Amara", "Lucas", "Elena", "Omar", "Hannah",
               "Diego")
LAST_NAMES = ("Martin", "Rossi", "Sharma", "Tanaka", "Garcia", "Nguyen", "Okafor", "Schmidt", "Dubois", "Haddad",
              "Kowalski", "Silva")
ZH_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄涛", "周婷", "吴强")
STREETS = ("12 Baker Street", "221 Rue de Rivoli", "45 Market Street", "8 Orchard Road", "300 King Street West",
           "17 Via Roma")
ZH_ADDRESSES = ("北京市朝阳区建国路88号", "上海市浦东新区世纪大道100号", "广州市天河区体育西路12号",
                "深圳市南山区科技园南路5号", "杭州市西湖区文三路90号")
KEYWORDS = ("electric bikes", "vegan recipes", "jazz festival", "budget travel", "machine learning",
            "marathon training", "vintage cameras", "home gardening", "board games", "solar panels")
ZH_KEYWORDS = ("电动自行车", "素食食谱", "爵士音乐节", "穷游攻略", "机器学习", "马拉松训练", "复古相机", "家庭园艺")
TITLES = ("Quarterly report", "Team offsite plan", "Login problem", "Refund request", "Weekend trip",
          "Birthday dinner", "Invoice question")
ZH_TITLES = ("季度报告", "团队团建计划", "无法登录", "退款申请", "周末出游", "生日晚宴", "发票疑问")
SENTENCES = ("The package arrived with a damaged box.", "Please call me back after 5 pm.",
             "I was charged twice for the same order.", "Looking for a quiet table near the window.",
             "The app crashes when I open my profile.", "Can you move the meeting to Thursday?")
ZH_SENTENCES = ("包裹送到时外箱破损了。", "请在下午五点以后给我回电话。", "同一个订单被扣了两次款。",
                "想要一个靠窗的安静座位。", "打开个人资料页面时应用会闪退。", "会议能改到周四吗？")
CUISINES = ("Italian", "Japanese", "Mexican", "Indian", "French", "Thai", "Chinese", "Lebanese")
GENRES = ("comedy", "drama", "thriller", "science fiction", "animation", "documentary", "romance")
COLORS = ("red", "blue", "green", "black", "white", "silver")
DOMAINS = ("example.com", "example.org", "mail.example.net")
STATUSES = ("open", "pending", "closed", "active")
TIMEZONES = ("Europe/Paris", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo",
             "Asia/Singapore", "Australia/Sydney", "Asia/Dubai", "Europe/Berlin", "Asia/Shanghai")
COMPANIES = ("Northwind Traders", "Contoso Ltd.", "Fabrikam Industries", "Adventure Works", "Litware Group",
             "Woodgrove Bank", "Tailspin Toys")
ZH_COMPANIES = ("华夏数码科技", "东方明珠贸易", "长江物流集团", "青松软件")

# pool key -> (English pool, Chinese pool or None)
PASSWORD_WORDS = ("Maple", "Orbit", "Copper", "Lantern", "Harbor", "Velvet")
FILE_PATHS = ("/documents/report.pdf", "/images/logo.png", "/data/2024/sales.csv", "/uploads/contract.docx")
FILE_NAMES = ("report.pdf", "logo.png", "sales.csv", "contract.docx", "invoice_0423.pdf", "beach.jpg")
STATES = ("California", "Texas", "New York", "Florida", "Washington", "Illinois", "Ontario", "Bavaria")
STATE_CODES = ("CA", "TX", "NY", "FL", "WA", "IL", "MA", "CO")
POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "city": (CITIES, None),
    "country": (COUNTRIES, None),
    "country_code": (COUNTRY_CODES, None),
    "currency": (CURRENCIES, None),
    "language": (LANGUAGES, None),
    "first_name": (FIRST_NAMES, None),
    "last_name": (LAST_NAMES, None),
    "name": (tuple(f"{f} {l}" for f, l in zip(FIRST_NAMES, LAST_NAMES)), ZH_NAMES),
    "address": (STREETS, ZH_ADDRESSES),
    "keyword": (KEYWORDS, ZH_KEYWORDS),
    "title": (TITLES, ZH_TITLES),
    "text": (SENTENCES, ZH_SENTENCES),
    "cuisine": (CUISINES, None),
    "genre": (GENRES, None),
    "color": (COLORS, None),
    "status": (STATUSES, None),
    "timezone": (TIMEZONES, None),
    "company": (COMPANIES, ZH_COMPANIES),
    "state": (STATES, None),
    "state_code": (STATE_CODES, None),
    "file": (FILE_NAMES, None),
    "country_code3": (COUNTRY_CODES3, None),
    "sort": (SORT_KEYS, None),
}

_PERSON_NAME = (r"(^|_)(full_name|customer_name|contact_name|guest_name|person_name|player_name"
                r"|artist_name|author|username|user_name)$")
# What a bare ``name`` names, read from its description and then its object's and API's names ("Get the cities" ->
# a city, "Search Contacts" -> a person, a "company" object's name -> a company, a shipping address's -> its
# recipient); the first match wins. Nothing matched ("Hashtag by Name"): no pool.
_BARE_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"\b(files?|documents?|images?|photos?|pictures?)\b", "file"),
    (r"\b(cit(y|ies)|towns?)\b", "city"),
    (r"\bcountr(y|ies)\b", "country"),
    (r"\b(compan(y|ies)|organi[sz]ations?|employers?)\b", "company"),
    (r"\btime ?zones?\b", "timezone"),
    (r"\b(states?|provinces?)\b", "state"),
    ((r"\b(persons?|people|users?|contacts?|customers?|players?|athletes?|authors?|artists?|actors?|actress(es)?"
      r"|characters?|employees?|members?|students?|patients?|celebrit(y|ies)|guests?|drivers?|recipients?|senders?"
      r"|shipping|billing)\b"), "name"),
)
# (pattern on the parameter name, pool key); the first match wins. Names are compared lower-cased with
# separators as "_" (camelCase split first).
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|_)(country_code|country_iso|iso_country|alpha2|alpha_2|country_alpha2)$", "country_code"),
    (r"(^|_)(alpha3|alpha_3|country_alpha3|country_code3|iso3)$", "country_code3"),
    (r"(^|_)(sort|sort_by|sortby|order_by|orderby|fullsort|sort_order)$", "sort"),
    (r"(^|_)(tz|timezone|time_zone)$", "timezone"),
    (r"(^|_)(company|company_name|organization|organisation|employer)$", "company"),
    (r"(^|_)(city|town|location|destination|origin|city_name)$", "city"),
    (r"(^|_)(country|country_name)$", "country"),
    (r"(^|_)(state_code|state_abbreviation|state_abbr)$", "state_code"),
    (r"(^|_)(state_name|province|state_province)$", "state"),  # a bare "state" is as often a status
    (r"(^|_)(file_name|filename)$", "file"),
    (r"(^|_)(currency|base|from_currency|to_currency|quote_currency|base_currency)$", "currency"),
    (r"(^|_)(lang|language|locale)$", "language"),
    (r"(^|_)(first_name|firstname|given_name)$", "first_name"),
    (r"(^|_)(last_name|lastname|surname|family_name)$", "last_name"),
    # a person's name: "security_name", "tag_name", "channel_name" name something else, a bare "name" whatever the
    # API is about (_BARE_NAME_RULES)
    (_PERSON_NAME, "name"),
    (r"(^|_)(address|street|shipping_address|billing_address)$", "address"),
    (r"(^|_)(q|query|keyword|keywords|search|term|search_term|topic)$", "keyword"),
    (r"(^|_)(title|subject|headline)$", "title"),
    (r"(^|_)(message|description|comment|note|notes|body|content|text|reason|details|summary|review)$", "text"),
    (r"(^|_)cuisine$", "cuisine"),
    (r"(^|_)genre$", "genre"),
    (r"(^|_)colou?r$", "color"),
    (r"(^|_)status$", "status"),
)
# When the name says nothing (``base``, ``from``, ``to``): the first words of the description.
_DESCRIPTION_RULES: tuple[tuple[str, str], ...] = (
    (r"^(base |source |target |quote )?currenc(y|ies)\b|\biso 4217\b", "currency"),
    (r"\b(iana )?time ?zone\b", "timezone"),
    (r"^(the )?city\b", "city"),
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEP = re.compile(r"[^a-z0-9]+")
IDENTIFIER = re.compile(r"(^|_)(id|ids|uid|uuid|guid|ticker|symbol|sku|code|slug|key|ref|reference|number)$")


def snake(name: str) -> str:
    """``"orderId"`` / ``"Order-ID"`` -> ``"order_id"``."""
    return _SEP.sub("_", _CAMEL.sub("_", name).lower()).strip("_")


def pool_for(name: str, description: str = "", subject: str = "") -> str | None:
    """The pool key for a parameter, or None when no pool fits; ``subject``: the name of the API that takes it,
    which says what a bare ``name`` names."""
    key = snake(name)
    if key == "name":
        for text in (description.lower(), snake(subject).replace("_", " ")):
            for pattern, pool in _BARE_NAME_RULES:
                if re.search(pattern, text):
                    return pool
        return None
    for pattern, pool in _NAME_RULES:
        if re.search(pattern, key):
            if pool == "country" and re.search(r"\b(iso|code|alpha-2|2-letter)\b", description.lower()):
                return "country_code"
            return pool
    text = description.lower()
    for pattern, pool in _DESCRIPTION_RULES:
        if re.search(pattern, text):
            return pool
    return None


# an id glued to its noun ("AccountID" written "Accountid", "jobid", "umid"), and the words that only look so
_GLUED_ID = re.compile(r"^[a-z]+(id|ids|uid|uuid)$")
_NOT_GLUED_ID = frozenset({"paid", "unpaid", "prepaid", "valid", "invalid", "android", "grid", "avoid", "hybrid",
                           "said", "void", "raid", "acid", "humid", "rapid", "fluid", "solid", "squid", "liquid",
                           "pyramid", "vivid", "bid", "kid", "kids", "lid", "mid", "rid", "afraid", "candid",
                           "madrid", "druid", "orchid", "covid", "aid", "aids", "maid", "amid", "period"})


def is_identifier(name: str) -> bool:
    """Whether a parameter names an identifier (``order_id``, ``ticker``, ``sku``, ``subaccountid``): values that
    exist only in the service, so the schema's own examples are the best guess."""
    key = snake(name)
    return bool(IDENTIFIER.search(key)) or (bool(_GLUED_ID.match(key)) and key not in _NOT_GLUED_ID)


def pool_values(key: str, language: str = "en") -> tuple[str, ...]:
    english, chinese = POOLS[key]
    return chinese if language == "zh" and chinese else english


_PAIRS = (("start", "end"), ("from", "to"), ("min", "max"), ("begin", "end"), ("check_in", "check_out"),
          ("checkin", "checkout"), ("earliest", "latest"), ("since", "until"), ("origin", "destination"),
          ("source", "target"))


def _pair_key(key: str, first: str, second: str) -> str | None:
    """The partner of ``key`` if it is the first half of a (start, end)-like pair: ``start_date`` -> ``end_date``."""
    low = snake(key)
    if low == first:  # a bare "start"/"end" (inside an object named for the pair: "release_years")
        return second
    for sep in ("_", ""):
        if low.startswith(first + sep) and len(low) > len(first + sep):
            return second + sep + low[len(first + sep):]
        if low.endswith(sep + first) and len(low) > len(sep + first):
            return low[: -len(first)] + second
    return None


def _dated(value: Any) -> bool:
    """A date, date-time or time of day written so that its string order is its time order."""
    return isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}", value) is not None


def same_ends(args: dict[str, Any]) -> list[tuple[str, str]]:
    """The (first, second) keys of each pair of ``args`` (from/to, start/end ...) whose two ends hold the same
    string that is no date or time: "from MXN to MXN" converts nothing, while a range may start and end on one
    day."""
    by_snake = {snake(k): k for k in args}
    out = []
    for key, value in args.items():
        for first, second in _PAIRS:
            partner = _pair_key(key, first, second)
            other = by_snake.get(partner) if partner else None
            if other is not None and isinstance(value, str) and value == args[other] and not _dated(value):
                out.append((key, other))
    return out


def order_pairs(value: Any) -> Any:
    """A copy of an object (nested ones too) in which pairs such as start_date/end_date, min_price/max_price,
    start_time/end_time are in order; the value itself when nothing had to change."""
    if isinstance(value, list):
        items = [order_pairs(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value)) else value
    if not isinstance(value, dict):
        return value
    out = {k: order_pairs(v) for k, v in value.items()}
    changed = any(out[k] is not value[k] for k in value)
    by_snake = {snake(k): k for k in out}
    for key in list(out):
        for first, second in _PAIRS:
            partner = _pair_key(key, first, second)
            other = by_snake.get(partner) if partner else None
            if other is None:
                continue
            a, b = out[key], out[other]
            # strings are ordered only when they are dates or times: from/to currencies and cities are no range
            comparable = (_dated(a) and _dated(b)) or (
                isinstance(a, (int, float)) and isinstance(b, (int, float))
                and not isinstance(a, bool) and not isinstance(b, bool))
            if comparable and a > b:
                out[key], out[other] = b, a
                changed = True
    return out if changed else value
