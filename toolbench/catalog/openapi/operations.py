"""From the document to the tool: servers, security schemes, operations, parameters, request bodies and
response schemas, each operation one :class:`~toolbench.records.Api`."""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from toolbench.catalog.openapi.compose import flatten
from toolbench.catalog.openapi.document import _at, _Document, _kind
from toolbench.catalog.openapi.schemas import (
    _NO_VALUE,
    _default_of,
    _free_name,
    _is_plain,
    _join_text,
    _json_media,
    _object_members,
    _toolbench_type,
)
from toolbench.records import Api, AuthScheme, Param

logger = logging.getLogger("toolbench.catalog.openapi")  # the name it had as one module

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAM_IN = ("path", "query", "header", "cookie")
SECURITY_TYPES = ("apiKey", "http", "oauth2", "openIdConnect", "mutualTLS")
DEFAULT_CATEGORY = "Uncategorized"
# Header parameters OpenAPI says to ignore: they are set by the content negotiation and the security schemes.
_IGNORED_HEADERS = ("accept", "content-type", "authorization")
_TEMPLATE_VARIABLE = re.compile(r"\{([^{}]+)\}")  # {id} in a path, {region} in a server URL


@dataclass
class _Operation:
    """One operation with the path item it belongs to (whose parameters and servers it inherits)."""

    path: str
    method: str
    node: dict
    where: str
    item: dict
    item_where: str


class _Spec(_Document):
    """The document read as a tool: its category, servers, security schemes and operations."""

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
        schema = flatten(schema)
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
        schema = flatten(self.resolve_schema(media.get("schema", {}), schema_where))
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
                return flatten(self.resolve_schema(media["schema"], _at(media_where, "schema")))
        return None
