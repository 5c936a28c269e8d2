"""Typed records that flow between the stages: tools, APIs, parameters, queries, observations.

Every record has ``to_dict()``/``from_dict()``; ``from_dict`` raises :class:`RecordError` naming the field and
what is wrong, never a bare ``KeyError``. Keys a record does not know are kept in ``extra`` and written back,
so reading and writing a ToolBench file keeps every field.

The on-disk shapes follow ToolBench: an :class:`Api` serialises to an ``api_list`` entry of a ToolBench tool
file (``name``, ``url``, ``description``, ``method``, ``required_parameters``, ``optional_parameters``...), a
:class:`Tool` to a ToolBench tool file, a :class:`Query` to an entry of a ToolBench query file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolbench.error_kinds import ErrorKind, kind_from_text
from toolbench.errors import ToolbenchError

# ToolBench's parameter types as they appear in RapidAPI tool docs. Any other string is accepted (real data
# has lower-case "string", "DATE (YYYY-MM-DD)"...); a dict is a JSON-schema fragment (nested objects, arrays,
# enums from OpenAPI imports).
TOOLBENCH_TYPES = ("STRING", "NUMBER", "BOOLEAN", "ENUM", "OBJECT", "ARRAY", "DATE (YYYY-MM-DD)")
PARAM_LOCATIONS = ("query", "path", "header", "body", "cookie", "")


class RecordError(ToolbenchError, ValueError):
    """A record could not be built from data: the message names the field and what to do."""

    def __init__(self, field_path: str, message: str):
        self.field_path = field_path
        self.message = message
        super().__init__(f"{field_path}: {message}" if field_path else message)


def _expect(data: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(data, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise RecordError(where, f"{what} must be {names}, got {type(data).__name__}")
    return data


def _str_field(data: dict, key: str, where: str, *, required: bool = True, default: str = "") -> str:
    if key not in data or data[key] is None:
        if required:
            raise RecordError(f"{where}.{key}" if where else key, "missing required field")
        return default
    value = data[key]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _expect(value, str, f"{where}.{key}" if where else key, f"'{key}'")


@dataclass
class Param:
    """One parameter of an API.

    ``type`` is ToolBench's type name (``STRING``, ``NUMBER``...) or, for nested objects, arrays and enums
    imported from OpenAPI, the string ``OBJECT``/``ARRAY``/``ENUM`` with the JSON-schema fragment in
    ``schema``. ``default`` is ToolBench's ``default`` (an example value, often ``""``). ``location`` says
    where the executor puts it (query string, path, header, JSON body); ToolBench files lack it and the
    executor then infers it from the URL template and method.
    """

    name: str
    type: str = "STRING"
    description: str = ""
    default: Any = ""
    required: bool = False
    location: str = ""
    schema: dict | None = None
    extra: dict = field(default_factory=dict)

    _KNOWN = ("name", "type", "description", "default", "in", "schema")

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "default": self.default,
        }
        if self.location:
            out["in"] = self.location
        if self.schema is not None:
            out["schema"] = self.schema
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Any, *, required: bool, where: str = "") -> Param:
        _expect(data, dict, where, "a parameter")
        name = _str_field(data, "name", where)
        if not name:
            raise RecordError(f"{where}.name", "parameter name is empty")
        ptype = data.get("type", "STRING")
        if ptype is None:
            ptype = "STRING"
        _expect(ptype, str, f"{where}.type", "'type'")
        location = data.get("in", "") or ""
        if location not in PARAM_LOCATIONS:
            raise RecordError(f"{where}.in", f"unknown location {location!r}; use one of {PARAM_LOCATIONS[:-1]}")
        schema = data.get("schema")
        if schema is not None:
            _expect(schema, dict, f"{where}.schema", "'schema'")
        return cls(
            name=name,
            type=ptype,
            description=_str_field(data, "description", where, required=False),
            default=data.get("default", ""),
            required=required,
            location=location,
            schema=schema,
            extra={k: v for k, v in data.items() if k not in cls._KNOWN},
        )


@dataclass
class Api:
    """One endpoint of a tool, in ToolBench's ``api_list`` shape.

    ``url`` is the full URL template (``https://host/path/{id}``) as in ToolBench tool files; it is empty
    for APIs known only from a query file's ``api_list``, which carries no URL. ``response_schema`` is
    ToolBench's ``template_response`` / ``schema`` (a dict, a JSON string, or None).
    """

    tool: str
    name: str
    description: str = ""
    method: str = "GET"
    url: str = ""
    required_params: list[Param] = field(default_factory=list)
    optional_params: list[Param] = field(default_factory=list)
    response_schema: Any = None
    category: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def params(self) -> list[Param]:
        return self.required_params + self.optional_params

    @property
    def key(self) -> tuple[str, str]:
        """(tool, api): how ToolBench's ``relevant APIs`` name an API."""
        return (self.tool, self.name)

    # -- ToolBench tool-file entry -------------------------------------------------------------------
    _TOOL_FILE_KNOWN = ("name", "url", "description", "method", "required_parameters", "optional_parameters",
                        "schema")

    def to_dict(self) -> dict:
        """The entry of a ToolBench tool file's ``api_list``."""
        out: dict[str, Any] = {
            "name": self.name,
            "url": self.url,
            "description": self.description,
            "method": self.method,
            "required_parameters": [p.to_dict() for p in self.required_params],
            "optional_parameters": [p.to_dict() for p in self.optional_params],
        }
        out.update(self.extra)  # may hold "schema": null when the file had it so
        if self.response_schema is not None:
            out["schema"] = self.response_schema
        return out

    @classmethod
    def from_dict(cls, data: Any, *, tool: str, category: str = "", where: str = "") -> Api:
        _expect(data, dict, where, "an API entry")
        name = _str_field(data, "name", where)
        if not name.strip():
            raise RecordError(f"{where}.name", "API name is empty")
        method = _str_field(data, "method", where, required=False, default="GET").upper() or "GET"
        req, opt = _params_from(data, where)
        return cls(
            tool=tool,
            name=name,
            description=_str_field(data, "description", where, required=False),
            method=method,
            url=_str_field(data, "url", where, required=False),
            required_params=req,
            optional_params=opt,
            response_schema=data.get("schema"),
            category=category,
            extra={k: v for k, v in data.items()
                   if k not in cls._TOOL_FILE_KNOWN or (k == "schema" and v is None)},
        )

    # -- query-file api_list entry --------------------------------------------------------------------
    _QUERY_KNOWN = ("category_name", "tool_name", "api_name", "api_description", "required_parameters",
                    "optional_parameters", "method", "template_response")

    def to_query_dict(self) -> dict:
        """The entry of a ToolBench/StableToolBench query's ``api_list``."""
        out: dict[str, Any] = {
            "category_name": self.category,
            "tool_name": self.tool,
            "api_name": self.name,
            "api_description": self.description,
            "required_parameters": [p.to_dict() for p in self.required_params],
            "optional_parameters": [p.to_dict() for p in self.optional_params],
            "method": self.method,
        }
        out.update(self.extra)  # may hold "template_response": null when the file had it so
        if self.response_schema is not None:
            out["template_response"] = self.response_schema
        return out

    @classmethod
    def from_query_dict(cls, data: Any, where: str = "") -> Api:
        _expect(data, dict, where, "an api_list entry")
        tool = _str_field(data, "tool_name", where)
        name = _str_field(data, "api_name", where)
        if not tool.strip():
            raise RecordError(f"{where}.tool_name", "tool name is empty")
        if not name.strip():
            raise RecordError(f"{where}.api_name", "API name is empty")
        req, opt = _params_from(data, where)
        return cls(
            tool=tool,
            name=name,
            description=_str_field(data, "api_description", where, required=False),
            method=(_str_field(data, "method", where, required=False, default="GET") or "GET").upper(),
            required_params=req,
            optional_params=opt,
            response_schema=data.get("template_response"),
            category=_str_field(data, "category_name", where, required=False),
            extra={k: v for k, v in data.items()
                   if k not in cls._QUERY_KNOWN or (k == "template_response" and v is None)},
        )


def _params_from(data: dict, where: str) -> tuple[list[Param], list[Param]]:
    out: list[list[Param]] = []
    for key, required in (("required_parameters", True), ("optional_parameters", False)):
        raw = data.get(key) or []
        _expect(raw, list, f"{where}.{key}", f"'{key}'")
        out.append([Param.from_dict(p, required=required, where=f"{where}.{key}[{i}]") for i, p in enumerate(raw)])
    return out[0], out[1]


@dataclass
class AuthScheme:
    """How a tool authenticates: a RapidAPI key, an API key in a header/query, or HTTP bearer/basic.

    Only the scheme is recorded; the secret itself comes from the environment or a config file at call time
    and never enters a record.
    """

    name: str
    type: str  # "rapidapi" | "apiKey" | "http" | "oauth2" | "openIdConnect"
    location: str = ""  # for apiKey: "header" | "query" | "cookie"
    param_name: str = ""  # for apiKey: the header or query parameter name
    scheme: str = ""  # for http: "bearer" | "basic"

    def to_dict(self) -> dict:
        out = {"name": self.name, "type": self.type}
        for key in ("location", "param_name", "scheme"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> AuthScheme:
        _expect(data, dict, where, "an auth scheme")
        return cls(
            name=_str_field(data, "name", where),
            type=_str_field(data, "type", where),
            location=_str_field(data, "location", where, required=False),
            param_name=_str_field(data, "param_name", where, required=False),
            scheme=_str_field(data, "scheme", where, required=False),
        )


@dataclass
class Tool:
    """A tool (a RapidAPI-style API product): ToolBench's tool file."""

    name: str
    standardized_name: str = ""
    title: str = ""
    description: str = ""
    category: str = ""
    base_url: str = ""
    host: str = ""
    auth: list[AuthScheme] = field(default_factory=list)
    apis: list[Api] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    _KNOWN = ("tool_name", "standardized_name", "title", "tool_description", "category_name", "base_url", "host",
              "auth", "api_list")

    def __post_init__(self) -> None:
        if not self.standardized_name:
            from toolbench.catalog.naming import standardize

            self.standardized_name = standardize(self.name)

    def api(self, name: str) -> Api:
        for api in self.apis:
            if api.name == name:
                return api
        raise KeyError(f"tool {self.name!r} has no API {name!r}")

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "tool_name": self.name,
            "standardized_name": self.standardized_name,
            "title": self.title,
            "tool_description": self.description,
        }
        if self.category:
            out["category_name"] = self.category
        if self.base_url:
            out["base_url"] = self.base_url
        if self.host:
            out["host"] = self.host
        if self.auth:
            out["auth"] = [a.to_dict() for a in self.auth]
        out.update(self.extra)
        out["api_list"] = [a.to_dict() for a in self.apis]
        return out

    @classmethod
    def from_dict(cls, data: Any, *, category: str = "", where: str = "") -> Tool:
        """Read a ToolBench tool file's content. ``category`` (the folder name) fills a missing
        ``category_name``."""
        _expect(data, dict, where, "a tool file")
        # ToolBench files always have tool_name; some older ones only "name".
        key = "tool_name" if "tool_name" in data else "name"
        name = _str_field(data, key, where)
        if not name.strip():
            raise RecordError(f"{where}.{key}", "tool name is empty")
        category = _str_field(data, "category_name", where, required=False) or category
        raw_apis = data.get("api_list")
        if raw_apis is None:
            raise RecordError(f"{where}.api_list", "missing required field (a list of the tool's APIs)")
        _expect(raw_apis, list, f"{where}.api_list", "'api_list'")
        apis = [Api.from_dict(a, tool=name, category=category, where=f"{where}.api_list[{i}]")
                for i, a in enumerate(raw_apis)]
        seen: dict[str, int] = {}
        for i, api in enumerate(apis):
            if api.name in seen:
                raise RecordError(f"{where}.api_list[{i}].name",
                                  f"duplicate API name {api.name!r} (also at api_list[{seen[api.name]}]); "
                                  "rename one of them")
            seen[api.name] = i
        raw_auth = data.get("auth") or []
        _expect(raw_auth, list, f"{where}.auth", "'auth'")
        # ToolBench files carry both "name" and "tool_name"; "name" stays in extra and is written back.
        extra = {k: v for k, v in data.items() if k not in cls._KNOWN}
        return cls(
            name=name,
            standardized_name=_str_field(data, "standardized_name", where, required=False),
            title=_str_field(data, "title", where, required=False),
            description=_str_field(data, "tool_description", where, required=False),
            category=category,
            base_url=_str_field(data, "base_url", where, required=False),
            host=_str_field(data, "host", where, required=False),
            auth=[AuthScheme.from_dict(a, f"{where}.auth[{i}]") for i, a in enumerate(raw_auth)],
            apis=apis,
            extra=extra,
        )


@dataclass
class Query:
    """A task: ToolBench's query entry (``query``, ``query_id``, ``api_list``, ``relevant APIs``).

    ``apis`` are the APIs offered; ``relevant`` the (tool, api) pairs a solution needs; ``expectation`` an
    optional checkable result for generated tasks whose answer is known.
    """

    id: str
    text: str
    group: str = ""
    apis: list[Api] = field(default_factory=list)
    relevant: list[tuple[str, str]] = field(default_factory=list)
    expectation: dict | None = None
    extra: dict = field(default_factory=dict)

    _KNOWN = ("query_id", "query", "api_list", "relevant APIs", "group", "expectation")

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "api_list": [a.to_query_dict() for a in self.apis],
            "query": self.text,
            "relevant APIs": [list(r) for r in self.relevant],
            "query_id": _id_out(self.id),
        }
        if self.group:
            out["group"] = self.group
        if self.expectation is not None:
            out["expectation"] = self.expectation
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Any, *, group: str = "", where: str = "") -> Query:
        _expect(data, dict, where, "a query")
        if "query_id" not in data:
            raise RecordError(f"{where}.query_id", "missing required field")
        qid = data["query_id"]
        if not isinstance(qid, (str, int)) or isinstance(qid, bool):
            raise RecordError(f"{where}.query_id", f"must be a string or integer, got {type(qid).__name__}")
        raw_apis = data.get("api_list") or []
        _expect(raw_apis, list, f"{where}.api_list", "'api_list'")
        apis = [Api.from_query_dict(a, f"{where}.api_list[{i}]") for i, a in enumerate(raw_apis)]
        raw_rel = data.get("relevant APIs") or []
        _expect(raw_rel, list, f"{where}.relevant APIs", "'relevant APIs'")
        relevant = []
        for i, pair in enumerate(raw_rel):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise RecordError(f"{where}.relevant APIs[{i}]", "must be a [tool_name, api_name] pair of strings")
            relevant.append((pair[0], pair[1]))
        expectation = data.get("expectation")
        if expectation is not None:
            _expect(expectation, dict, f"{where}.expectation", "'expectation'")
        return cls(
            id=str(qid),
            text=_str_field(data, "query", where),
            group=_str_field(data, "group", where, required=False) or group,
            apis=apis,
            relevant=relevant,
            expectation=expectation,
            extra={k: v for k, v in data.items() if k not in cls._KNOWN},
        )


def _id_out(qid: str) -> str | int:
    """Query ids are integers in ToolBench files; keep them integers on the way out."""
    return int(qid) if qid.isdigit() and str(int(qid)) == qid else qid


@dataclass
class Observation:
    """What an API call returned, as the agent sees it.

    ``to_toolbench()`` gives ToolBench's ``{"error": str, "response": str}``; ``status`` (HTTP status, or
    None when no response came), ``latency`` (seconds) and ``cached`` say how it was obtained. Errors are
    observations, not exceptions: ``kind`` (an :class:`ErrorKind`, None for a success) says why, and ``error``
    is the text the model is shown, ``"<kind>: message"`` (:meth:`failure`). An observation built from an error
    text alone (read from a file, a service's answer) gets its kind from that text, here and nowhere else.
    """

    error: str = ""
    response: str = ""
    status: int | None = None
    latency: float = 0.0
    cached: bool = False
    kind: ErrorKind | None = None

    def __post_init__(self) -> None:
        if self.kind is None and self.error:
            self.kind = kind_from_text(self.error)

    @classmethod
    def failure(cls, kind: ErrorKind, message: str, response: str = "", status: int | None = None,
                latency: float = 0.0) -> Observation:
        """An error observation of ``kind``, its text ``"<kind>: message"``."""
        return cls(error=f"{kind}: {message}", response=response, status=status, latency=latency, kind=kind)

    @property
    def ok(self) -> bool:
        return not self.error

    def to_toolbench(self) -> dict:
        return {"error": self.error, "response": self.response}

    def to_dict(self) -> dict:
        return {"error": self.error, "response": self.response, "status": self.status,
                "latency": self.latency, "cached": self.cached}

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> Observation:
        _expect(data, dict, where, "an observation")
        status = data.get("status")
        if status is not None and not isinstance(status, int):
            raise RecordError(f"{where}.status", "must be an integer HTTP status or null")
        return cls(
            error=_str_field(data, "error", where, required=False),
            response=_str_field(data, "response", where, required=False),
            status=status,
            latency=float(data.get("latency") or 0.0),
            cached=bool(data.get("cached", False)),
        )
