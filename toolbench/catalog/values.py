"""Valid argument values sampled from a JSON schema (or a ToolBench type), seeded.

:class:`ValueSampler` handles ``type`` (one or a list), ``enum``/``const``, ``anyOf``/``oneOf``/``allOf``,
string ``format`` (date, date-time, time, email, uri/url, uuid, ipv4, ipv6, hostname), ``pattern`` (a sampler
for the regular-expression syntax itself, :mod:`toolbench.catalog.regex_sample`), lengths, numeric bounds
(exclusive ones too) and ``multipleOf``, arrays (``items``, ``prefixItems``, item counts, ``uniqueItems``),
nested objects (``properties``, ``required``, ``additionalProperties``, property counts) and ``null``.

Where a schema leaves freedom, the parameter's name picks a realistic value: a city for ``city``, a currency
code for ``base``, a person's name, an address, a search keyword, a sentence (in Chinese when the sampler's
language is ``zh``; see :mod:`toolbench.catalog.pools`), a timestamp, a checksum, a password, a file path; a
description that lists the values and nothing else ("High or Low.") picks one of them. The schema's own examples
and default are used part of the time, and most of the time for identifiers (``order_id``, ``ticker``), which
exist only in the service.

Every value is checked against its schema (with format checking) before it is returned; a failed draw is
retried, then the schema's valid examples are tried, and only then :class:`ValueSamplingError` is raised.

The crawler (the calls it plans for each API) and the generation stage (function-call samples) both draw their
arguments here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import string
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from toolbench.catalog.arguments import validate_arguments
from toolbench.catalog.pools import (
    is_identifier,
    order_pairs,
    pool_for,
    pool_values,
    same_ends,
    snake,
)
from toolbench.catalog.regex_sample import sample_regex
from toolbench.catalog.value_shapes import (
    ISO_DATE,
    described_example,
    formatted_text,
    is_placeholder,
    listed_options,
    named_text,
    number_hint,
    shaped_like,
)
from toolbench.errors import ToolbenchError
from toolbench.records import Api, Param


class ValueSamplingError(ToolbenchError):
    """No valid value could be sampled for a schema (an unsatisfiable or unsupported schema)."""


_FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
DEFAULT_TODAY = dt.date(2025, 1, 15)
_MAX_DEPTH = 5
_ATTEMPTS = 25

# What a parameter without a JSON schema is drawn from, by its ToolBench type. Only the types a function offers as
# something other than a string (toolbench.catalog.functions.TOOLBENCH_TYPE_MAP) are drawn as such: an ARRAY or
# OBJECT without a schema is offered as a string (ToolBench does the same), so its value is a string too.
_TOOLBENCH_SCHEMAS: dict[str, dict[str, Any]] = {
    "NUMBER": {"type": "integer"},
    "INTEGER": {"type": "integer"},
    "BOOLEAN": {"type": "boolean"},
    "DATE (YYYY-MM-DD)": {"type": "string", "format": "date"},
}


@lru_cache(maxsize=2048)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=_FORMAT_CHECKER)


def is_valid(value: Any, schema: dict[str, Any] | bool) -> bool:
    """Whether ``value`` satisfies ``schema`` (formats checked)."""
    if isinstance(schema, bool):
        return schema
    return _validator(json.dumps(schema, sort_keys=True, default=str)).is_valid(value)


def catalog_today(apis: list[Api], default: dt.date = DEFAULT_TODAY) -> dt.date:
    """The "today" a catalog's examples suggest: the median of the dates among its parameters' examples
    (a sandbox with a fixed clock documents dates around it), else ``default``."""
    found: list[dt.date] = []

    def scan(value: Any) -> None:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", value):
            try:
                found.append(dt.date.fromisoformat(value[:10]))
            except ValueError:
                pass
        elif isinstance(value, dict):
            for key in ("examples", "default", "example"):
                if key in value:
                    scan(value[key])
        elif isinstance(value, list):
            for item in value:
                scan(item)

    for api in apis:
        for param in api.params:
            scan(param.default)
            scan(param.schema or {})
    return sorted(found)[len(found) // 2] if found else default


def param_schema_for_sampling(param: Param) -> dict[str, Any]:
    """The schema a parameter's values are drawn from: its own JSON schema, else one for its ToolBench type that
    agrees with the function schema offered for it (a string unless the type is a number or a boolean)."""
    if param.schema is not None:
        return param.schema
    return dict(_TOOLBENCH_SCHEMAS.get(param.type.upper(), {"type": "string"}))


# -- the sampler --------------------------------------------------------------------------------------------------

class ValueSampler:
    """Draws schema-valid values. ``language`` (``en``/``zh``) picks the pools for free text; ``example_rate`` is
    how often a schema's own examples/default are used (``identifier_example_rate`` for identifiers);
    ``optional_rate`` how often an optional property or parameter is given."""

    def __init__(self, rng: random.Random, language: str = "en", example_rate: float = 0.35,
                 identifier_example_rate: float = 0.9, optional_rate: float = 0.4,
                 today: dt.date | None = None) -> None:
        self.rng = rng
        self.today = today or DEFAULT_TODAY
        self.language = language
        self.example_rate = example_rate
        self.identifier_example_rate = identifier_example_rate
        self.optional_rate = optional_rate
        self._subject = ""  # the name of the API whose arguments are drawn (what a bare "name" names)

    # public -------------------------------------------------------------------------------------------------

    def value(self, schema: dict[str, Any] | bool, name: str = "", description: str = "",
              extra_examples: tuple[Any, ...] = ()) -> Any:
        """A value satisfying ``schema``; ``name``/``description`` steer realistic choices."""
        if schema is False:
            raise ValueSamplingError(f"{name or 'value'}: the schema is `false`; no value can satisfy it")
        if schema is True:
            schema = {}
        candidates = [v for v in (*_examples(schema), *extra_examples)
                      if is_valid(v, schema) and not is_placeholder(v)]
        rate = self.identifier_example_rate if is_identifier(name) else self.example_rate
        if candidates and self.rng.random() < rate:
            return self.rng.choice(candidates)
        for _ in range(_ATTEMPTS):
            try:
                value = self._gen(schema, name, description, 0, tuple(extra_examples))
            except _Unsatisfiable:
                continue
            ordered = order_pairs(value)
            if ordered is not value and is_valid(ordered, schema):
                return ordered
            if is_valid(value, schema):
                return value
        if candidates:
            return self.rng.choice(candidates)
        raise ValueSamplingError(f"{name or 'value'}: no valid value found for the schema "
                                 f"{json.dumps(schema, default=str)[:200]}; give it an `examples` entry")

    def param_value(self, param: Param, api: Api | None = None) -> Any:
        """A value for ``param`` of ``api`` (the API's name says what a bare ``name`` names)."""
        extra = (param.default,) if param.default not in ("", None) else ()
        self._subject = api.name if api is not None else ""
        try:
            return self.value(param_schema_for_sampling(param), param.name, param.description, extra)
        finally:
            self._subject = ""

    def arguments(self, api: Api, optional_rate: float | None = None) -> dict[str, Any]:
        """Arguments for ``api`` keyed by its own parameter names: every required one, some optional ones; the
        result passes :func:`toolbench.catalog.arguments.validate_arguments`."""
        rate = self.optional_rate if optional_rate is None else optional_rate
        args = {p.name: self.param_value(p, api) for p in api.required_params}
        for param in api.optional_params:
            if param.name not in args and self.rng.random() < rate:
                args[param.name] = self.param_value(param, api)
        params = {p.name: p for p in api.params}
        for first, second in same_ends(args):  # "from MXN to MXN": draw the second end again
            for _ in range(_ATTEMPTS):
                if args[second] != args[first]:
                    break
                args[second] = self.param_value(params[second], api)
        ordered = order_pairs(args)
        if not validate_arguments(api, ordered):
            args = ordered
        problems = validate_arguments(api, args)
        if problems:
            raise ValueSamplingError(f"{api.tool}/{api.name}: sampled arguments are invalid: "
                                     + "; ".join(map(str, problems)))
        return args

    # generation ---------------------------------------------------------------------------------------------

    def _gen(self, schema: dict[str, Any], name: str, description: str, depth: int,
             examples: tuple[Any, ...] = ()) -> Any:
        """A value for ``schema``; ``examples`` are the parameter's examples from outside its schema (a
        ToolBench ``default``), which a free string is shaped after (:func:`shaped_like`)."""
        rng = self.rng
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = [v for v in schema["enum"] if v is not None] or list(schema["enum"])
            if not options:
                raise _Unsatisfiable()
            return rng.choice(options)
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, dict):
                    merged = _merge(merged, part)
            return self._gen(merged, name, description, depth, examples)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                branches = [b for b in schema[key] if isinstance(b, dict)]
                non_null = [b for b in branches if b.get("type") != "null"]
                pick = rng.choice(non_null if non_null and rng.random() < 0.95 else branches or [{}])
                base = {k: v for k, v in schema.items() if k != key}
                return self._gen(_merge(base, pick), name, description, depth, examples)
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            kind = rng.choice(non_null) if non_null and rng.random() < 0.95 else rng.choice(kind or ["string"])
        if kind is None:
            kind = _infer_type(schema)
        if kind == "null":
            return None
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "integer":
            return self._integer(schema, name)
        if kind == "number":
            return self._number(schema, name)
        if kind == "array":
            return self._array(schema, name, description, depth)
        if kind == "object":
            return self._object(schema, name, description, depth)
        return self._string(schema, name, description, examples)

    def _string(self, schema: dict[str, Any], name: str, description: str, examples: tuple[Any, ...] = ()) -> str:
        rng = self.rng
        fmt = schema.get("format", "")
        key = snake(name)
        named = not fmt and "pattern" not in schema  # the name may choose only when the schema does not
        if fmt == "date" or (named and (
                re.search(r"(^|_)(date|day|birthday|dob|checkin|checkout|check_in|check_out)$", key)
                or "yyyy-mm-dd" in description.lower()
                or re.fullmatch(r"\W*((start|end|from|to|begin)\s+)?date\W*", description.lower()))):  # "// End Date"
            text = self._date(description).isoformat()
        elif fmt == "date-time" or (named and re.search(r"(^|_)(datetime|date_time|timestamp)$", key)):
            text = dt.datetime.combine(self._date(description), dt.time(rng.randrange(24), rng.randrange(0, 60, 5)),
                                       dt.UTC).isoformat().replace("+00:00", "Z")
        elif fmt == "time":
            text = f"{rng.randrange(24):02d}:{rng.randrange(0, 60, 5):02d}:00"
        elif (web := formatted_text(fmt, key if named else "", rng)) is not None:  # an email, a URL, an IP ...
            text = web
        elif named and (kind := named_text(key, rng)) is not None:  # a checksum, password, path, cursor
            text = kind
        elif named and (listed := listed_options(description)):  # "High or Low", "json or xml or php"
            text = rng.choice(listed)
        elif "pattern" in schema:  # the value the name picks when it fits the pattern (a readable email), else a draw
            text = self._named_match(schema, name, description, examples) or sample_regex(schema["pattern"], rng)
        elif re.search(r"(^|_)(phone|mobile|telephone|tel)$", key):
            text = f"+1-555-01{rng.randrange(100):02d}"
        elif re.search(r"(^|_)time$", key):
            text = f"{rng.randrange(8, 22):02d}:{rng.choice(['00', '15', '30', '45'])}"
        else:
            pool = pool_for(name, description, self._subject)
            shapes = [e for e in (*_examples(schema), *examples)
                      if isinstance(e, str) and e.strip() and not is_placeholder(e)]
            if not shapes and (given := described_example(description)):  # "Region, e.g. Paris, France"
                shapes = [given]
            if pool == "sort" and shapes:  # the API's own sort key, not a generic one
                pool = None
            counted = number_hint(name)
            if pool is not None:
                text = rng.choice(pool_values(pool, self.language))
            elif shapes:  # a value like the documented one: a GUID for a GUID, a domain for a domain
                pick = rng.choice(shapes)
                dated = ISO_DATE.fullmatch(pick)
                text = self._date(description).isoformat() if dated else shaped_like(pick, name, rng)
            elif counted is not None:  # a number offered as a string ("per_page", "year")
                text = str(rng.randint(math.ceil(counted[0]), math.floor(counted[1])))
            elif is_identifier(name):
                text = f"{rng.choice(string.ascii_uppercase)}{rng.randrange(1000, 99999)}"
            else:
                text = rng.choice(pool_values("keyword", self.language))
        return _fit_length(text, schema, rng)

    def _named_match(self, schema: dict[str, Any], name: str, description: str, examples: tuple[Any, ...]) -> str | None:
        """What the parameter's name would pick without the schema's ``pattern``, if the pattern accepts it."""
        unpatterned = {k: v for k, v in schema.items() if k != "pattern"}
        text = self._string(unpatterned, name, description, examples)
        try:
            return text if re.search(schema["pattern"], text) else None
        except (re.error, TypeError):
            return None

    def _date(self, description: str = "") -> dt.date:
        """A date near ``today``: before it when the description says "past", after it for "future"."""
        text = description.lower()
        if re.search(r"\b(past|historical|history|previous|ago)\b", text):
            return self.today - dt.timedelta(days=self.rng.randint(1, 300))
        if re.search(r"\b(future|upcoming|next|coming)\b", text):
            return self.today + dt.timedelta(days=self.rng.randint(1, 90))
        return self.today + dt.timedelta(days=self.rng.randint(-45, 45))

    def _bounds(self, schema: dict[str, Any], name: str, integer: bool) -> tuple[float, float]:
        step = 1 if integer else 0.01
        lo, hi = -math.inf, math.inf
        if "minimum" in schema:
            lo = schema["minimum"]
        if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
            lo = max(lo, schema["exclusiveMinimum"] + step)
        if "maximum" in schema:
            hi = schema["maximum"]
        if "exclusiveMaximum" in schema and not isinstance(schema["exclusiveMaximum"], bool):
            hi = min(hi, schema["exclusiveMaximum"] - step)
        hint = number_hint(name) or (0, 1000)
        h_lo, h_hi = max(lo, hint[0]), min(hi, hint[1])
        if h_lo <= h_hi:
            return h_lo, h_hi
        if lo == -math.inf and hi == math.inf:
            return hint
        if lo == -math.inf:
            return hi - 100, hi
        if hi == math.inf:
            return lo, lo + 100
        return lo, hi

    def _multiple_between(self, lo: float, hi: float, step: float) -> float:
        """A random multiple of ``step`` in [lo, hi] (unsatisfiable when there is none)."""
        first, last = math.ceil(lo / step), math.floor(hi / step)
        if first > last:
            raise _Unsatisfiable()
        return self.rng.randint(first, last) * step

    def _integer(self, schema: dict[str, Any], name: str) -> int:
        lo, hi = self._bounds(schema, name, True)
        lo_i, hi_i = math.ceil(lo), math.floor(hi)
        if lo_i > hi_i:
            raise _Unsatisfiable()
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            value = self._multiple_between(lo_i, hi_i, step)
            if value != int(value):
                raise _Unsatisfiable()
            return int(value)
        return self.rng.randint(lo_i, hi_i)

    def _number(self, schema: dict[str, Any], name: str) -> float | int:
        lo, hi = self._bounds(schema, name, False)
        if lo > hi:
            raise _Unsatisfiable()
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            value = self._multiple_between(lo, hi, step)
            return int(value) if float(value).is_integer() else value
        value = round(self.rng.uniform(lo, hi), 2)
        return min(max(value, lo), hi)

    def _array(self, schema: dict[str, Any], name: str, description: str, depth: int) -> list[Any]:
        lo = int(schema.get("minItems", 0))
        hi = int(schema.get("maxItems", lo + 3))
        if lo > hi:
            raise _Unsatisfiable()
        prefix = [s for s in schema.get("prefixItems", []) if isinstance(s, (dict, bool))]
        count = lo if depth >= _MAX_DEPTH else self.rng.randint(max(lo, 1 if hi >= 1 else 0), min(hi, max(lo, 1) + 2))
        items = schema.get("items", {})
        singular = re.sub(r"(ies|s)$", lambda m: "y" if m.group(1) == "ies" else "", snake(name))
        out: list[Any] = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            if sub is False:
                break
            sub_schema = {} if sub is True else sub
            for _ in range(10):
                value = self._gen(sub_schema, singular, description, depth + 1)
                if not schema.get("uniqueItems") or value not in out:
                    break
            else:
                break
            out.append(value)
        return out

    def _object(self, schema: dict[str, Any], name: str, description: str, depth: int) -> dict[str, Any]:
        outer = self._subject  # a property's object says what its bare "name" names ("company", "contact")
        self._subject = f"{name} {outer}".strip()
        try:
            return self._properties(schema, depth)
        finally:
            self._subject = outer

    def _properties(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {}) or {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        out: dict[str, Any] = {}
        for key in required:
            sub = props.get(key, _additional(schema))
            out[key] = self._gen({} if sub is True else sub, key, _desc(sub), depth + 1)
        optional = [k for k in props if k not in out]
        max_props = schema.get("maxProperties", math.inf)
        min_props = schema.get("minProperties", 0)
        for key in optional:
            if len(out) >= max_props:
                break
            take = depth < _MAX_DEPTH and self.rng.random() < self.optional_rate
            if take or len(out) < min_props:
                sub = props[key]
                if sub is False:
                    continue
                out[key] = self._gen({} if sub is True else sub, key, _desc(sub), depth + 1)
        extra = _additional(schema)
        n = 1
        while len(out) < min_props and extra is not False:
            out[f"extra_{n}"] = self._gen({} if extra is True else extra, "value", "", depth + 1)
            n += 1
        return out


class _Unsatisfiable(Exception):
    """This draw cannot satisfy the schema (retry, or give up)."""


def _examples(schema: dict[str, Any]) -> list[Any]:
    out = list(schema.get("examples", []) or []) if isinstance(schema.get("examples"), list) else []
    for key in ("default", "example"):
        if key in schema:
            out.append(schema[key])
    return out


def _desc(schema: Any) -> str:
    return schema.get("description", "") if isinstance(schema, dict) else ""


def _additional(schema: dict[str, Any]) -> Any:
    value = schema.get("additionalProperties", True)
    return {} if value is True else value


def _infer_type(schema: dict[str, Any]) -> str:
    if any(k in schema for k in ("properties", "required", "additionalProperties", "minProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Shallow merge of two schemas for sampling: properties and required are united, bounds tightened."""
    out = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        elif key == "required" and isinstance(out.get(key), list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties") and key in out:
            out[key] = max(out[key], value)
        elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties") and key in out:
            out[key] = min(out[key], value)
        else:
            out[key] = value
    return out


def _fit_length(text: str, schema: dict[str, Any], rng: random.Random) -> str:
    lo = int(schema.get("minLength", 0))
    hi = schema.get("maxLength")
    if "pattern" in schema or "format" in schema:
        return text  # padding would break the pattern or format; the draw is checked and retried
    if len(text) < lo:
        text += "".join(rng.choice(string.ascii_lowercase) for _ in range(lo - len(text)))
    if hi is not None and len(text) > hi:
        text = text[: int(hi)].rstrip() if int(hi) > 0 else ""
        if len(text) < lo:
            text += "x" * (lo - len(text))
    return text
