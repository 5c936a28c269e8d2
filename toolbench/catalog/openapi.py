"""Import an OpenAPI 3.0 / 3.1 document as one :class:`~toolbench.records.Tool`.

The document comes from a dict, a JSON or YAML file, or an http(s) URL. Each operation (path x method)
becomes an :class:`~toolbench.records.Api`; its path, query, header and cookie parameters and the top-level
properties of its JSON request body become :class:`~toolbench.records.Param` records.

How schemas become parameters:

- every local ``$ref`` (``#/components/...``) is inlined, refs inside refs too; a ref met again while it is
  being inlined (a recursive schema) becomes ``{"type": "object", "description": "recursive: <ref>"}``;
  keys next to a ``$ref`` (a 3.1 ``description``, say) are laid over the referenced schema; one schema
  inlines at most :data:`MAX_INLINED_REFS` refs, later ones become ``{"description": "not inlined: <ref>
  ..."}`` (any value);
- OpenAPI 3.0's dialect is rewritten as JSON Schema 2020-12 so that jsonschema can check arguments against it:
  ``nullable: true`` adds ``"null"`` to ``type`` (and ``None`` to ``enum``), boolean ``exclusiveMinimum`` /
  ``exclusiveMaximum`` become numeric bounds;
- a plain ``string``/``integer``/``boolean`` schema (only ``type`` and annotations such as ``description``,
  ``example``) gives ToolBench's ``STRING``/``NUMBER``/``BOOLEAN`` with no schema kept; anything else (enums,
  ``const``, arrays, objects, ``oneOf``/``anyOf``/``allOf``, formats, bounds, nullable types, and ``number``,
  which ToolBench's ``NUMBER`` would offer as ``integer``) keeps the resolved schema in ``Param.schema``,
  with ``type`` ``ENUM``/``ARRAY``/``OBJECT``/``STRING``/``NUMBER``/``BOOLEAN``. The schema's top-level
  ``description`` moves to ``Param.description``;
- ``Param.default`` is the schema's ``default``, else the parameter's ``example``/``examples``, else the
  schema's ``example``/``examples[0]`` (for a body property: else the request example's value), else ``""``;
- a JSON request body that is not an object with properties (an array, a ``oneOf``...) becomes one
  parameter named ``body``; so does an object body one of whose properties shares a name with a path, query,
  header or cookie parameter.

Problems with the document raise :class:`OpenAPIError` naming the source, the JSON location
(``spec.yaml: paths./orders/{id}.get.parameters[0]: missing 'name'``) and what to do.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from toolbench.errors import ToolbenchError
from toolbench.records import Api, AuthScheme, Param, Tool

logger = logging.getLogger(__name__)

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAM_IN = ("path", "query", "header", "cookie")
SECURITY_TYPES = ("apiKey", "http", "oauth2", "openIdConnect", "mutualTLS")
DEFAULT_CATEGORY = "Uncategorized"
DEFAULT_TIMEOUT = 30.0
# How many $ref one schema (a parameter's, a request body's, a response's) may inline. Schemas that reference
# each other heavily grow exponentially when inlined, even without cycles; past the budget a $ref becomes a
# placeholder that accepts any value.
MAX_INLINED_REFS = 500

# Header parameters OpenAPI says to ignore: they are set by the content negotiation and the security schemes.
_IGNORED_HEADERS = ("accept", "content-type", "authorization")
_JSON_TYPES = ("null", "boolean", "object", "array", "number", "string", "integer")
_TOOLBENCH_TYPE = {"string": "STRING", "integer": "NUMBER", "number": "NUMBER", "boolean": "BOOLEAN",
                   "object": "OBJECT", "array": "ARRAY"}
# Scalar JSON types that ToolBench's own types express exactly (``number`` is not: ToolBench offers NUMBER
# to a model as "integer").
_PLAIN_SCALARS = {"string": "STRING", "integer": "NUMBER", "boolean": "BOOLEAN"}
# Keys that do not constrain a value: a schema made of ``type`` and these is a plain ToolBench type.
_ANNOTATIONS = ("type", "description", "title", "default", "example", "examples", "deprecated", "readOnly",
                "writeOnly", "$comment")
# Schema keywords whose value is a map of schemas, a list of schemas, or one schema (JSON Schema 2020-12 and
# the older drafts OpenAPI 3.0 builds on); every other keyword's value is data and is copied as it is.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "additionalItems", "contentSchema")
_TEMPLATE_VARIABLE = re.compile(r"\{([^{}]+)\}")  # {id} in a path, {region} in a server URL


class OpenAPIError(ToolbenchError, ValueError):
    """An OpenAPI document could not be imported: the message names the source, the JSON location and what
    to do."""

    def __init__(self, source: str, where: str, message: str):
        self.source = source
        self.where = where
        self.message = message
        super().__init__(": ".join(part for part in (source, where, message) if part))


def import_openapi(source: str | Path | dict, *, category: str | None = None, tool_name: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> Tool:
    """Import an OpenAPI 3.0/3.1 document as one Tool.

    ``source`` is the document itself (a dict), a JSON/YAML file path, or an http(s) URL (fetched with a
    ``timeout`` in seconds). ``category`` overrides the document's (``info.x-category``, else its first tag,
    else ``Uncategorized``); ``tool_name`` overrides ``info.title``.
    """
    doc, source_name, source_url = load_document(source, timeout=timeout)
    spec = _Spec(doc, source_name)
    spec.check_version()
    title = spec.title(tool_name)
    name = tool_name or title
    tool_category = category or spec.category()
    base_url = spec.server_url(doc.get("servers"), "servers", source_url)
    apis = spec.apis(name, tool_category, base_url, source_url)
    return Tool(
        name=name,
        title=title,
        description=spec.text(spec.info(), "description", "info") or spec.text(spec.info(), "summary", "info"),
        category=tool_category,
        base_url=base_url,
        host=urlsplit(base_url).netloc,
        auth=spec.auth_schemes(),
        apis=apis,
    )


# -- loading ---------------------------------------------------------------------------------------------


def load_document(source: str | Path | dict, *, timeout: float = DEFAULT_TIMEOUT) -> tuple[dict, str, str | None]:
    """(document, source name for messages, the URL it came from or None)."""
    if isinstance(source, dict):
        return _string_keys(source), "<dict>", None  # a copy, keyed as JSON is (yaml.safe_load gives 200: ...)
    if isinstance(source, str) and source.lower().startswith(("http://", "https://")):
        text, final_url, content_type = _fetch(source, timeout)
        return _parse(text, source, json_hint=_looks_json(urlsplit(final_url).path, content_type)), source, final_url
    if not isinstance(source, (str, Path)):
        raise OpenAPIError("", "", f"cannot import an OpenAPI document from a {type(source).__name__}; "
                                   "pass a dict, a file path or an http(s) URL")
    path = Path(source)
    return _parse(_read_file(path), str(source), json_hint=_looks_json(path.name, "")), str(source), None


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise OpenAPIError(str(path), "", "file not found; check the path") from None
    except UnicodeDecodeError as exc:
        raise OpenAPIError(str(path), "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                          "save the document as UTF-8 JSON or YAML") from None
    except OSError as exc:
        raise OpenAPIError(str(path), "", f"cannot read the file: {exc.strerror or exc}") from None


def _fetch(url: str, timeout: float) -> tuple[str, str, str]:
    """(body, final URL after redirects, content type) of a GET, or an OpenAPIError."""
    import httpx

    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.TimeoutException:
        raise OpenAPIError(url, "", f"no answer within {timeout:g} s; check the URL or raise the timeout") from None
    except httpx.HTTPError as exc:
        raise OpenAPIError(url, "", f"could not fetch the document ({type(exc).__name__}: {exc}); "
                                    "check the URL and that the server is running") from None
    if response.status_code >= 400:
        raise OpenAPIError(url, "", f"the server answered HTTP {response.status_code}; "
                                    "check the URL of the OpenAPI document")
    return response.text, str(response.url), response.headers.get("content-type", "")


def _looks_json(name: str, content_type: str) -> bool | None:
    """True for JSON, False for YAML, None when neither the name nor the content type says."""
    if "json" in content_type.lower():
        return True
    if "yaml" in content_type.lower():
        return False
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return {"json": True, "yaml": False, "yml": False}.get(suffix)


def _parse(text: str, source: str, *, json_hint: bool | None) -> dict:
    if not text.strip():
        raise OpenAPIError(source, "", "the document is empty; give a JSON or YAML OpenAPI 3 document")
    as_json = json_hint if json_hint is not None else text.lstrip().startswith("{")
    doc = _parse_json(text, source) if as_json else _parse_yaml(text, source)
    if not isinstance(doc, dict):
        raise OpenAPIError(source, "", f"the document must be a mapping (an OpenAPI object), "
                                       f"got {_kind(doc)}")
    return doc


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        cut_short = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        raise OpenAPIError(source, f"line {exc.lineno}, column {exc.colno}",
                           f"invalid JSON ({exc.msg}); {_syntax_advice(cut_short)}") from None


class _SpecLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.2-like reading of OpenAPI: dates stay strings, only true/false are booleans."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))


def _parse_yaml(text: str, source: str) -> Any:
    try:
        doc = yaml.load(text, Loader=_SpecLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        cut_short = "end of stream" in problem
        raise OpenAPIError(source, where, f"invalid YAML ({problem}); {_syntax_advice(cut_short)}") from None
    except yaml.YAMLError as exc:
        raise OpenAPIError(source, "", f"invalid YAML ({exc}); fix the syntax") from None
    return _string_keys(doc)


def _syntax_advice(cut_short: bool) -> str:
    if cut_short:
        return "the document ends before it is complete, as if cut short: fetch or save it again"
    return "fix the syntax there"


def _string_keys(node: Any) -> Any:
    """A copy with every mapping key a string: YAML reads ``200:`` as an integer key."""
    if isinstance(node, dict):
        return {(k if isinstance(k, str) else str(k)): _string_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


# -- the document ------------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """A value's kind in the document's own words."""
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _at(where: str, key: str | int) -> str:
    """The JSON location of a child: ``paths./orders.get`` + ``parameters`` / ``[0]``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


@dataclass
class _Operation:
    """One operation with the path item it belongs to (whose parameters and servers it inherits)."""

    path: str
    method: str
    node: dict
    where: str
    item: dict
    item_where: str


@dataclass
class _Spec:
    """One loaded document with the helpers that read it; every error names ``source`` and a location."""

    doc: dict
    source: str
    inlined: int = 0  # $ref inlined so far into the schema being resolved

    # -- errors and typed access --------------------------------------------------------------------------

    def fail(self, where: str, message: str) -> OpenAPIError:
        return OpenAPIError(self.source, where, message)

    def expect(self, value: Any, kind: type, where: str, what: str) -> Any:
        if not isinstance(value, kind):
            expected = {dict: "a mapping", list: "a list", str: "a string", bool: "true or false"}[kind]
            raise self.fail(where, f"{what} must be {expected}, got {_kind(value)}")
        return value

    def mapping(self, node: dict, key: str, where: str) -> dict:
        """``node[key]`` as a mapping, ``{}`` when absent."""
        value = node.get(key)
        return {} if value is None else self.expect(value, dict, _at(where, key), f"'{key}'")

    def items(self, node: dict, key: str, where: str) -> list:
        """``node[key]`` as a list, ``[]`` when absent."""
        value = node.get(key)
        return [] if value is None else self.expect(value, list, _at(where, key), f"'{key}'")

    def text(self, node: dict, key: str, where: str) -> str:
        """``node[key]`` as a string, ``""`` when absent."""
        value = node.get(key)
        return "" if value is None else self.expect(value, str, _at(where, key), f"'{key}'").strip()

    def flag(self, node: dict, key: str, where: str) -> bool:
        value = node.get(key, False)
        return self.expect(value, bool, _at(where, key), f"'{key}'")

    # -- top level ----------------------------------------------------------------------------------------

    def check_version(self) -> None:
        if "swagger" in self.doc:
            raise self.fail("swagger", f"this is a Swagger {self.doc['swagger']} document; only OpenAPI 3.0 and "
                                       "3.1 are supported: convert it first (e.g. with swagger2openapi or the "
                                       "Swagger Editor's 'Convert to OpenAPI 3') and import the result")
        if "openapi" not in self.doc:
            raise self.fail("", "not an OpenAPI document: no 'openapi' field; give an OpenAPI 3.0 or 3.1 "
                                "document (it starts with e.g. 'openapi: 3.0.3')")
        version = self.doc["openapi"]
        if isinstance(version, bool) or not str(version).startswith("3."):
            raise self.fail("openapi", f"version {version!r} is not supported; give an OpenAPI 3.0 or 3.1 "
                                       "document")
        if "paths" not in self.doc:
            raise self.fail("paths", "missing: the document defines no operations to import (webhooks and "
                                     "components alone are not imported); add a 'paths' section")

    def info(self) -> dict:
        return self.mapping(self.doc, "info", "")

    def title(self, tool_name: str | None) -> str:
        title = self.text(self.info(), "title", "info")
        if not title and not tool_name:
            raise self.fail("info.title", "missing: the tool needs a name; add info.title or pass tool_name")
        return title or tool_name or ""

    def category(self) -> str:
        """``info.x-category``, else the first tag of the document, else of an operation, else the default."""
        declared = self.text(self.info(), "x-category", "info")
        if declared:
            return declared
        for i, tag in enumerate(self.items(self.doc, "tags", "")):
            if isinstance(tag, dict) and self.text(tag, "name", f"tags[{i}]"):
                return self.text(tag, "name", f"tags[{i}]")
        for operation in self.operations():
            for tag in self.items(operation.node, "tags", operation.where):
                if isinstance(tag, str) and tag.strip():
                    return tag.strip()
        return DEFAULT_CATEGORY

    # -- $ref -----------------------------------------------------------------------------------------------

    def lookup(self, ref: Any, where: str) -> tuple[Any, str]:
        """The target of a local ``$ref`` and its JSON location."""
        if not isinstance(ref, str):
            raise self.fail(where, f"$ref must be a string, got {_kind(ref)}")
        if not ref.startswith("#"):
            raise self.fail(where, f"$ref {ref!r} points outside this document, which is not supported; bundle "
                                   "the spec into one file first (e.g. 'redocly bundle' or 'swagger-cli bundle')")
        if ref != "#" and not ref.startswith("#/"):
            raise self.fail(where, f"$ref {ref!r} is not a JSON pointer; use the '#/components/...' form")
        node: Any = self.doc
        target_where = ""
        for token in ref[2:].split("/") if ref != "#" else []:
            key = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node, target_where = node[key], _at(target_where, key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node, target_where = node[int(key)], _at(target_where, int(key))
            else:
                raise self.fail(where, f"$ref {ref!r} does not resolve: no {key!r} in "
                                       f"{target_where or 'the document'}; fix the reference or add the missing "
                                       "definition")
        return node, target_where

    def deref(self, node: Any, where: str) -> tuple[Any, str]:
        """Follow a chain of ``$ref`` (parameters, request bodies, responses...) to the object; keys next to a
        ``$ref`` (3.1's ``summary``/``description``) are laid over it."""
        seen: list[str] = []
        overrides: dict = {}
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise self.fail(where, f"$ref cycle {' -> '.join(seen + [ref])}; point one of them at a "
                                       "definition")
            seen.append(ref)
            overrides = {**{k: v for k, v in node.items() if k != "$ref"}, **overrides}
            node, where = self.lookup(ref, _at(where, "$ref"))
        if overrides and isinstance(node, dict):
            node = {**node, **overrides}
        return node, where

    # -- schemas ----------------------------------------------------------------------------------------------

    def resolve_schema(self, node: Any, where: str) -> Any:
        """A parameter's, request body's or response's schema, resolved (see :meth:`schema`)."""
        self.inlined = 0
        return self.schema(node, where)

    def schema(self, node: Any, where: str, stack: tuple[str, ...] = ()) -> Any:
        """The schema at ``node`` with every ``$ref`` inlined and 3.0's dialect rewritten as JSON Schema."""
        if isinstance(node, bool):
            return node
        self.expect(node, dict, where, "a schema")
        if "$ref" in node:
            return self._schema_ref(node, where, stack)
        self._check_schema_node(node, where)
        out: dict[str, Any] = {}
        for key, value in node.items():
            child = _at(where, key)
            if key in _SCHEMA_MAPS:
                self.expect(value, dict, child, f"'{key}'")
                out[key] = {name: self.schema(sub, _at(child, name), stack) for name, sub in value.items()}
            elif key in _SCHEMA_LISTS:
                self.expect(value, list, child, f"'{key}'")
                out[key] = [self.schema(sub, _at(child, i), stack) for i, sub in enumerate(value)]
            elif key in _SCHEMA_ONE:
                out[key] = self.schema(value, child, stack)
            else:
                out[key] = copy.deepcopy(value)
        return _json_schema_dialect(out)

    def _schema_ref(self, node: dict, where: str, stack: tuple[str, ...]) -> Any:
        ref = node["$ref"]
        if ref in stack:
            return {"type": "object", "description": f"recursive: {ref}"}
        target, target_where = self.lookup(ref, _at(where, "$ref"))
        self.inlined += 1
        if self.inlined > MAX_INLINED_REFS:
            return {"description": f"not inlined: {ref} (the schema references too many others to inline)"}
        resolved = self.schema(target, target_where, stack + (ref,))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if not siblings:
            return resolved
        extra = self.schema(siblings, where, stack)
        return {**resolved, **extra} if isinstance(resolved, dict) else {"allOf": [resolved], **extra}

    def _check_schema_node(self, node: dict, where: str) -> None:
        """The keyword types a broken spec most often gets wrong, checked where they are written."""
        declared = node.get("type")
        if declared is not None:
            names = declared if isinstance(declared, list) else [declared]
            bad = [t for t in names if t not in _JSON_TYPES]
            if bad:
                raise self.fail(_at(where, "type"), f"unknown type {bad[0]!r}; use one of {', '.join(_JSON_TYPES)}")
        required = node.get("required")
        if required is not None and not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
            raise self.fail(_at(where, "required"), f"must be a list of property names, got {_kind(required)}; "
                                                    "list required properties in the parent object's 'required'")
        if "enum" in node:
            self.expect(node["enum"], list, _at(where, "enum"), "'enum'")

    def check_json_schema(self, schema: Any, where: str) -> None:
        """Whatever the keyword checks missed: a parameter's resolved schema, which arguments are validated
        against, must be valid JSON Schema 2020-12."""
        problem = _json_schema_problem(json.dumps(schema, sort_keys=True))
        if problem:
            raise self.fail(where, f"not a valid JSON schema after resolving $ref ({problem}); fix the schema")

    # -- servers and auth -------------------------------------------------------------------------------------

    def server_url(self, servers: Any, where: str, source_url: str | None) -> str:
        """The first server's URL with its variables at their defaults, made absolute against the URL the
        document came from, without a trailing slash; ``""`` for a document with no servers read from a file."""
        url = "/"
        if servers:
            self.expect(servers, list, where, "'servers'")
            server = self.expect(servers[0], dict, _at(where, 0), "a server")
            url = self.text(server, "url", _at(where, 0)) or "/"
            url = self._substitute(url, self.mapping(server, "variables", _at(where, 0)), _at(where, 0))
        if source_url:
            url = urljoin(source_url, url)
        return url.rstrip("/")

    def _substitute(self, url: str, variables: dict, where: str) -> str:
        def value(match: re.Match) -> str:
            name = match.group(1)
            variable = variables.get(name)
            variable_where = _at(_at(where, "variables"), name)
            if not isinstance(variable, dict) or variable.get("default") is None:
                raise self.fail(variable_where, f"server URL {url!r} uses {{{name}}} but it has no variable with "
                                                "a 'default'; declare it under the server's 'variables'")
            default = variable["default"]
            if isinstance(default, bool) or not isinstance(default, (str, int, float)):
                raise self.fail(_at(variable_where, "default"), f"must be a string, got {_kind(default)}")
            return str(default)

        return self._checked_url(_TEMPLATE_VARIABLE.sub(value, url), _at(where, "url"))

    def _checked_url(self, url: str, where: str) -> str:
        try:
            _ = urlsplit(url).port  # parses the host and port too
        except ValueError as exc:
            raise self.fail(where, f"{url!r} is not a valid URL ({exc}); fix the server URL") from None
        return url

    def auth_schemes(self) -> list[AuthScheme]:
        where = "components.securitySchemes"
        schemes = self.mapping(self.mapping(self.doc, "components", ""), "securitySchemes", "components")
        return [self._auth_scheme(name, raw, _at(where, name)) for name, raw in schemes.items()]

    def _auth_scheme(self, name: str, raw: Any, where: str) -> AuthScheme:
        scheme, where = self.deref(raw, where)
        self.expect(scheme, dict, where, "a security scheme")
        kind = self.text(scheme, "type", where)
        if kind not in SECURITY_TYPES:
            raise self.fail(_at(where, "type"), f"unknown security scheme type {kind!r}; use one of "
                                                f"{', '.join(SECURITY_TYPES)}")
        if kind == "apiKey":
            location = self.text(scheme, "in", where)
            if location not in ("header", "query", "cookie"):
                raise self.fail(_at(where, "in"), f"an apiKey scheme goes in 'header', 'query' or 'cookie', "
                                                  f"got {location!r}")
            param = self.text(scheme, "name", where)
            if not param:
                raise self.fail(where, "missing 'name': the header, query or cookie parameter holding the key")
            return AuthScheme(name=name, type=kind, location=location, param_name=param)
        if kind == "http":
            http_scheme = self.text(scheme, "scheme", where).lower()
            if not http_scheme:
                raise self.fail(where, "missing 'scheme' (e.g. bearer or basic) for an http security scheme")
            return AuthScheme(name=name, type=kind, scheme=http_scheme)
        return AuthScheme(name=name, type=kind)

    # -- operations -------------------------------------------------------------------------------------------

    def operations(self) -> list[_Operation]:
        """Every operation of ``paths``, in document order."""
        out = []
        paths = self.expect(self.doc.get("paths"), dict, "paths", "'paths'")
        for path, raw_item in paths.items():
            if path.startswith("x-"):
                continue
            where = _at("paths", path)
            if not path.startswith("/"):
                raise self.fail(where, "a path must start with '/'; write it as '/" + path + "'")
            item, item_where = self.deref(raw_item, where)
            self.expect(item, dict, item_where, "a path item")
            for method in HTTP_METHODS:
                if method in item:
                    node = self.expect(item[method], dict, _at(where, method), "an operation")
                    out.append(_Operation(path, method, node, _at(where, method), item, item_where))
        return out

    def apis(self, tool: str, category: str, base_url: str, source_url: str | None) -> list[Api]:
        apis: list[Api] = []
        used: set[str] = set()
        for operation in self.operations():
            api = self.api(tool, category, base_url, source_url, operation)
            if api.name in used:  # operationIds are meant to be unique, summaries often are not
                api.name = f"{api.name} ({operation.method.upper()} {operation.path})"
            used.add(api.name)
            apis.append(api)
        return apis

    def api(self, tool: str, category: str, base_url: str, source_url: str | None, op: _Operation) -> Api:
        summary = self.text(op.node, "summary", op.where)
        params = self.parameters(op.item, op.item_where, op.node, op.where)
        self._check_path_template(op.path, params, op.where)
        params += self.body_params(op.node, op.where, {p.name for p in params})
        return Api(
            tool=tool,
            name=self.text(op.node, "operationId", op.where) or summary or f"{op.method.upper()} {op.path}",
            description=_join_text(summary, self.text(op.node, "description", op.where)),
            method=op.method.upper(),
            url=self._operation_base_url(op, base_url, source_url) + op.path,
            required_params=[p for p in params if p.required],
            optional_params=[p for p in params if not p.required],
            response_schema=self.response_schema(op.node, op.where),
            category=category,
            # Operation-level extensions (e.g. "x-consequential": false on a search sent as POST) travel with
            # the API into its tool file, where the agent's confirmation policy reads them.
            extra={k: v for k, v in op.node.items() if isinstance(k, str) and k.startswith("x-")},
        )

    def _operation_base_url(self, op: _Operation, base_url: str, source_url: str | None) -> str:
        """The operation's own servers, else its path item's, else the document's (``base_url``)."""
        for owner, owner_where in ((op.node, op.where), (op.item, op.item_where)):
            if owner.get("servers"):
                return self.server_url(owner["servers"], _at(owner_where, "servers"), source_url)
        return base_url

    def _check_path_template(self, path: str, params: list[Param], where: str) -> None:
        declared = {p.name for p in params if p.location == "path"}
        for name in _TEMPLATE_VARIABLE.findall(path):
            if name not in declared:
                raise self.fail(where, f"the path has {{{name}}} but no path parameter {name!r} is declared; "
                                       f"add one with 'in: path' to the operation or the path item")

    # -- parameters -------------------------------------------------------------------------------------------

    def parameters(self, item: dict, item_where: str, operation: dict, where: str) -> list[Param]:
        """The path item's parameters overridden by the operation's, by (name, location)."""
        merged: dict[tuple[str, str], Param] = {}
        for owner, owner_where in ((item, item_where), (operation, where)):
            for i, raw in enumerate(self.items(owner, "parameters", owner_where)):
                param = self.parameter(raw, _at(_at(owner_where, "parameters"), i))
                if param is not None:
                    merged[(param.name, param.location)] = param
        by_name: dict[str, Param] = {}
        for param in merged.values():
            if param.name in by_name:
                raise self.fail(_at(where, "parameters"),
                                f"parameters {param.name!r} ({by_name[param.name].location}) and {param.name!r} "
                                f"({param.location}) share a name, which the catalog keys parameters by; "
                                "rename one of them")
            by_name[param.name] = param
        return list(merged.values())

    def parameter(self, raw: Any, where: str) -> Param | None:
        """One parameter object, or None for a header OpenAPI says to ignore."""
        node, where = self.deref(raw, where)
        self.expect(node, dict, where, "a parameter")
        name = self.text(node, "name", where)
        if not name:
            raise self.fail(where, "missing 'name'; every parameter needs a name and an 'in'")
        location = self.text(node, "in", where)
        if location not in PARAM_IN:
            raise self.fail(_at(where, "in"), f"'in' must be one of {', '.join(PARAM_IN)}, got {location or None!r}")
        if location == "header" and name.lower() in _IGNORED_HEADERS:
            return None
        schema_node, schema_where = self._parameter_schema_node(node, where)
        schema = self.resolve_schema(schema_node, schema_where) if schema_node is not None else {}
        example = self.first_example(node, where)
        return self.make_param(
            name, schema, schema_where,
            description=self.text(node, "description", where),
            default=_default_of(schema, example),
            required=location == "path" or self.flag(node, "required", where),
            location=location,
        )

    def _parameter_schema_node(self, node: dict, where: str) -> tuple[Any, str]:
        if "schema" in node:
            return node["schema"], _at(where, "schema")
        content = self.mapping(node, "content", where)
        for media_type, media in content.items():  # 'content' holds exactly one entry
            media = self.expect(media, dict, _at(_at(where, "content"), media_type), "a media type")
            return media.get("schema"), _at(_at(_at(where, "content"), media_type), "schema")
        return None, _at(where, "schema")

    def make_param(self, name: str, schema: Any, where: str, *, description: str, default: Any, required: bool,
                   location: str) -> Param:
        """A Param from a resolved schema: a plain ToolBench type, or the schema kept (see the module doc)."""
        if schema is True:
            schema = {}
        if not isinstance(schema, dict):
            schema = {"not": {}}
        kept = None if _is_plain(schema) else {k: v for k, v in schema.items() if k != "description"}
        if kept is not None:
            self.check_json_schema(kept, where)
        schema_description = schema.get("description")
        return Param(
            name=name,
            type=_toolbench_type(schema),
            description=description or (schema_description.strip() if isinstance(schema_description, str) else ""),
            default=copy.deepcopy(default),
            required=required,
            location=location,
            schema=kept,
        )

    def first_example(self, node: dict, where: str) -> Any:
        """A parameter's or media type's ``example``, else the value of its first ``examples`` entry."""
        if "example" in node:
            return node["example"]
        examples = node.get("examples")
        if isinstance(examples, dict):
            for name, raw in examples.items():
                example, _ = self.deref(raw, _at(_at(where, "examples"), name))
                if isinstance(example, dict) and "value" in example:
                    return example["value"]
        return _NO_VALUE

    # -- request body -----------------------------------------------------------------------------------------

    def body_params(self, operation: dict, where: str, taken: set[str]) -> list[Param]:
        """The JSON request body's top-level properties, or one ``body`` parameter (see the module doc)."""
        if operation.get("requestBody") is None:
            return []
        body, body_where = self.deref(operation["requestBody"], _at(where, "requestBody"))
        self.expect(body, dict, body_where, "a request body")
        content = self.mapping(body, "content", body_where)
        found = _json_media(content)
        if found is None:
            if content:
                logger.warning("%s: %s: no JSON request body (only %s); the body is not imported", self.source,
                               body_where, ", ".join(content))
            return []
        media_type, media = found
        media_where = _at(_at(body_where, "content"), media_type)
        self.expect(media, dict, media_where, "a media type")
        schema_where = _at(media_where, "schema")
        schema = self.resolve_schema(media.get("schema", {}), schema_where)
        required = self.flag(body, "required", body_where)
        example = self.first_example(media, media_where)
        members = _object_members(schema)
        if members is None or not members[0] or taken & set(members[0]):
            description = self.text(body, "description", body_where)
            return [self.make_param(_free_name("body", taken), schema, schema_where, description=description,
                                    default=_default_of(schema, example), required=required, location="body")]
        properties, required_names = members
        example = example if isinstance(example, dict) else {}
        return [
            self.make_param(name, prop, _at(_at(schema_where, "properties"), name), description="",
                            default=_default_of(prop, example.get(name, _NO_VALUE)),
                            required=required and name in required_names, location="body")
            for name, prop in properties.items()
            if not (isinstance(prop, dict) and prop.get("readOnly") is True)
        ]

    # -- response ---------------------------------------------------------------------------------------------

    def response_schema(self, operation: dict, where: str) -> Any:
        """The resolved JSON schema of the success response (200, 201, other 2xx, 2XX, else default)."""
        responses_where = _at(where, "responses")
        responses = self.mapping(operation, "responses", where)
        success = sorted(code for code in responses if re.fullmatch(r"2\d\d", code) and code not in ("200", "201"))
        for code in ["200", "201", *success, "2XX", "2xx", "default"]:
            if code in responses:
                response, response_where = self.deref(responses[code], _at(responses_where, code))
                self.expect(response, dict, response_where, "a response")
                found = _json_media(self.mapping(response, "content", response_where))
                if found is None:
                    return None
                media_where = _at(_at(response_where, "content"), found[0])
                media = self.expect(found[1], dict, media_where, "a media type")
                if "schema" not in media:
                    return None
                return self.resolve_schema(media["schema"], _at(media_where, "schema"))
        return None


# -- pure helpers ----------------------------------------------------------------------------------------------

_NO_VALUE = object()


@functools.lru_cache(maxsize=1024)
def _json_schema_problem(schema_json: str) -> str | None:
    """Why a schema (as canonical JSON) is not valid JSON Schema 2020-12, or None. Cached: the meta-schema
    check takes ~15 ms, and large specs repeat the same schemas."""
    try:
        Draft202012Validator.check_schema(json.loads(schema_json))
    except SchemaError as exc:
        inside = "/".join(str(p) for p in exc.path)
        return f"{exc.message} at {inside}" if inside else exc.message
    return None


def _json_schema_dialect(schema: dict) -> dict:
    """OpenAPI 3.0's schema dialect -> JSON Schema 2020-12 (a no-op for 3.1 schemas)."""
    out = dict(schema)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
    if "nullable" in out and out.pop("nullable") is True:
        out = _allow_null(out)
    return out


def _allow_null(schema: dict) -> dict:
    declared = schema.get("type")
    if declared is None:
        notes = {k: v for k, v in schema.items() if k in _ANNOTATIONS}
        rest = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
        return {**notes, "anyOf": [rest, {"type": "null"}]}
    types = declared if isinstance(declared, list) else [declared]
    out = {**schema, "type": types if "null" in types else [*types, "null"]}
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _is_plain(schema: dict) -> bool:
    """A schema that ToolBench's STRING/NUMBER/BOOLEAN says all about (see the module doc)."""
    if not schema:
        return True
    declared = schema.get("type")
    return (isinstance(declared, str) and declared in _PLAIN_SCALARS
            and all(k in _ANNOTATIONS or k.startswith("x-") for k in schema))


def _toolbench_type(schema: Any) -> str:
    return _kind_of(schema) or "STRING"


def _kind_of(schema: Any) -> str | None:
    """ENUM, or the ToolBench type all non-null alternatives agree on, or None."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema or "const" in schema:
        return "ENUM"
    declared = schema.get("type")
    if declared is not None:
        types = {_TOOLBENCH_TYPE[t] for t in (declared if isinstance(declared, list) else [declared])
                 if t != "null"}
        return types.pop() if len(types) == 1 else None
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            branches = [b for b in schema[key] if not (isinstance(b, dict) and b.get("type") == "null")]
            kinds = {_kind_of(b) for b in branches} - ({None} if key == "allOf" else set())
            return kinds.pop() if len(kinds) == 1 else None
    if "properties" in schema:
        return "OBJECT"
    if "items" in schema or "prefixItems" in schema:
        return "ARRAY"
    return None


def _object_members(schema: Any) -> tuple[dict, list] | None:
    """(properties, required names) of an object schema, ``allOf`` parts merged; None if it is not one."""
    if not isinstance(schema, dict) or "oneOf" in schema or "anyOf" in schema:
        return None
    declared = schema.get("type")
    if declared is not None and "object" not in (declared if isinstance(declared, list) else [declared]):
        return None
    if declared is None and "properties" not in schema and "allOf" not in schema:
        return None
    properties = dict(schema.get("properties") or {})
    required = list(schema.get("required") or [])
    for part in schema.get("allOf") or []:
        members = _object_members(part)
        if members is None:
            return None
        properties.update(members[0])
        required += [name for name in members[1] if name not in required]
    return properties, required


def _json_media(content: dict) -> tuple[str, Any] | None:
    """The JSON entry of a ``content`` map: ``application/json`` first, else any ``*/json`` or ``*+json``."""
    for media_type, media in content.items():
        if media_type.split(";")[0].strip().lower() == "application/json":
            return media_type, media
    for media_type, media in content.items():
        subtype = media_type.split(";")[0].strip().lower().split("/")[-1]
        if subtype == "json" or subtype.endswith("+json"):
            return media_type, media
    return None


def _default_of(schema: Any, example: Any) -> Any:
    """The schema's default, else the given example, else the schema's own example(s), else ``""``."""
    if not isinstance(schema, dict):
        return "" if example is _NO_VALUE else example
    if "default" in schema:
        return schema["default"]
    if example is not _NO_VALUE:
        return example
    if "example" in schema:
        return schema["example"]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    return ""


def _free_name(name: str, taken: set[str]) -> str:
    return name if name not in taken else _free_name(f"request_{name}", taken)


def _join_text(summary: str, description: str) -> str:
    """An operation's summary and description as one description."""
    if not summary or description.startswith(summary):
        return description or summary
    if not description:
        return summary
    return f"{summary}{'' if summary[-1] in '.!?' else '.'} {description}"
