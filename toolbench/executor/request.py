"""Building a request (pure): arguments keyed by the API's own parameter names -> method, URL, query, headers,
JSON body; the checks before sending; the auth headers of a host."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from toolbench.executor.config import (
    INVALID_ARGUMENTS,
    MAX_BODY_BYTES,
    MAX_HEADER_CHARS,
    RAPIDAPI_HOSTS,
    REQUEST_ERROR,
    _obs,
)
from toolbench.executor.urls import (
    _BAD_HEADER_CHARS,
    _HEADER_NAME,
    MAX_URL_CHARS,
    host_matches,
    redact_url,
    request_hostname,
    url_host,
)
from toolbench.records import Api, AuthScheme, Observation, Tool


@dataclass
class PreparedRequest:
    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    secret_names: frozenset[str] = frozenset()  # header / query names whose values are secrets

    @property
    def host(self) -> str:
        return url_host(self.url)

    def secret_values(self) -> list[str]:
        """The secrets this request carries (to redact them from what comes back)."""
        out = [self.headers[n] for n in self.secret_names if n in self.headers]
        out += [str(self.params[n]) for n in self.secret_names if n in self.params]
        if isinstance(self.json, dict) and isinstance(self.json.get("toolbench_key"), str):
            out.append(self.json["toolbench_key"])  # the StableToolBench service's key travels in the body
        return [v for v in out if v]

    def redacted(self) -> str:
        """Method and URL with secret query values and URL userinfo masked: safe for logs."""
        shown = {k: ("***" if k in self.secret_names else v) for k, v in self.params.items()}
        return f"{self.method} {redact_url(self.url)}" + (f" {shown}" if shown else "")


class PreparationError(Exception):
    """Arguments cannot be placed (e.g. a path parameter without a value): becomes an observation."""


def param_location(api: Api, name: str) -> str:
    param = next((p for p in api.params if p.name == name), None)
    if param is not None and param.location:
        return param.location
    if "{" + name + "}" in api.url:
        return "path"
    return "query" if api.method.upper() in ("GET", "DELETE", "HEAD", "OPTIONS") else "body"


def apply_overrides(url: str, overrides: Mapping[str, str]) -> str:
    for prefix in sorted(overrides, key=len, reverse=True):
        if url.startswith(prefix):
            return overrides[prefix].rstrip("/") + url[len(prefix.rstrip("/")):]
    return url


def _query_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return [json.dumps(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def prepare_request(tool: Tool, api: Api, args: Mapping[str, Any], secrets: Mapping[str, str] | None = None,
                    overrides: Mapping[str, str] | None = None, user_agent: str = "") -> PreparedRequest:
    """Place ``args`` (keyed by the API's own parameter names) in path, query, headers and JSON body.

    A parameter's ``location`` decides; without one, ``{name}`` in the URL means path, GET/DELETE mean query,
    other methods the JSON body. ``secrets`` maps header names (or ``?name`` for query parameters) to values.
    """
    if not api.url:
        raise PreparationError(f"the catalog has no URL for API {api.name!r} of tool {tool.name!r}")
    url = apply_overrides(api.url, overrides or {})
    req = PreparedRequest(method=api.method.upper(), url=url)
    body: dict[str, Any] = {}
    for name, value in args.items():
        where = param_location(api, name)
        if value is None and where != "body":
            continue  # a query string or header has no null: an optional parameter given as null is left out
        if where == "path":
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        elif where == "query":
            req.params[name] = _query_value(value)
        elif where in ("header", "cookie"):
            text = value if isinstance(value, str) else json.dumps(value)
            if where == "cookie":
                req.headers["Cookie"] = "; ".join(filter(None, [req.headers.get("Cookie", ""), f"{name}={text}"]))
            else:
                req.headers[name] = text
        else:
            body[name] = value
    missing = re.findall(r"\{([^{}]+)\}", url)
    if missing:
        raise PreparationError(f"no value for path parameter(s) {', '.join(missing)}; pass them as arguments")
    req.url = url
    if body or (req.method in ("POST", "PUT", "PATCH") and any(param_location(api, p.name) == "body" for p in api.params)):
        req.json = body  # an API that takes a body gets one, `{}` when every body field is optional and left out
    if user_agent:
        req.headers.setdefault("User-Agent", user_agent)
    add_secrets(req, secrets or {})
    return req


def add_secrets(req: PreparedRequest, secrets: Mapping[str, str]) -> None:
    """Put ``secrets`` (header name, or ``?name`` for a query parameter -> value) in ``req``."""
    names = set(req.secret_names)
    for name, value in secrets.items():
        if name.startswith("?"):
            req.params[name[1:]] = value
            names.add(name[1:])
        else:
            req.headers[name] = value
            names.add(name)
    req.secret_names = frozenset(names)


def check_request(req: PreparedRequest) -> Observation | None:
    """An error observation when ``req`` must not be sent as built (a header with a line break or non-ASCII
    text, a URL over :data:`MAX_URL_CHARS`, a body over :data:`MAX_BODY_BYTES`, anything httpx refuses to
    build); None when it may be sent. Messages never show header values."""
    for name, value in req.headers.items():
        whose = "the configured key" if name in req.secret_names else f"header {name!r}"
        if not _HEADER_NAME.match(name):
            return _obs(REQUEST_ERROR, f"header name {name[:100]!r} is not a valid HTTP header name; the catalog "
                        "entry is broken, try another API")
        if not isinstance(value, str):
            return _obs(INVALID_ARGUMENTS, f"{whose} must be text")
        if _BAD_HEADER_CHARS.search(value):
            return _obs(INVALID_ARGUMENTS, f"{whose} contains a line break or control character; header values "
                        "must be one line of text")
        if not value.isascii():
            return _obs(INVALID_ARGUMENTS, f"{whose} contains non-ASCII characters; header values must be ASCII")
        if len(value) > MAX_HEADER_CHARS:
            return _obs(INVALID_ARGUMENTS, f"{whose} is {len(value):,} characters long (at most "
                        f"{MAX_HEADER_CHARS:,}); send a shorter value")
    try:
        built = httpx.Request(req.method, req.url, params=req.params or None, headers=req.headers, json=req.json)
    except httpx.InvalidURL as exc:
        return _obs(INVALID_ARGUMENTS, f"the request URL cannot be built ({redact_url(str(exc)).rstrip('.')}); "
                    f"{_longest_hint(req)}")
    except (TypeError, ValueError) as exc:  # a body that is not JSON, a value httpx cannot encode
        return _obs(INVALID_ARGUMENTS, f"the request cannot be built ({type(exc).__name__}); send JSON values")
    if len(str(built.url)) > MAX_URL_CHARS:
        return _obs(INVALID_ARGUMENTS, f"the request URL would be {len(str(built.url)):,} characters long (at most "
                    f"{MAX_URL_CHARS:,}); {_longest_hint(req)}")
    size = len(built.content or b"")
    if size > MAX_BODY_BYTES:
        return _obs(INVALID_ARGUMENTS, f"the request body would be {size:,} bytes (at most {MAX_BODY_BYTES:,}); "
                    "send shorter arguments")
    return None


def _longest_hint(req: PreparedRequest) -> str:
    values = {k: str(v) for k, v in req.params.items() if k not in req.secret_names}
    if not values:
        return "send shorter arguments"
    name = max(values, key=lambda k: len(values[k]))
    return f"send shorter arguments ({name!r} is {len(values[name]):,} characters)"


def auth_headers(tool: Tool, secret_for: Callable[..., str], url: str = "",
                 rapidapi_hosts: Iterable[str] = RAPIDAPI_HOSTS) -> dict[str, str]:
    """Header (or ``?query``) -> secret for the first auth scheme of ``tool`` that has a secret.

    ``url`` is the URL the request really goes to; ``secret_for(tool, scheme, hostname)`` picks the secret for
    that host (the executor's routing rules). A tool without auth schemes gets RapidAPI's only when ``url`` is on
    a RapidAPI host; X-RapidAPI-Host names that host, never the catalog's ``host`` field.
    """
    hostname = request_hostname(url) if url else ""
    schemes = list(tool.auth)
    if not schemes and host_matches(hostname, rapidapi_hosts):
        schemes = [AuthScheme(name="rapidapi", type="rapidapi")]
    for scheme in schemes:
        secret = secret_for(tool, scheme, hostname)
        if not secret:
            continue
        kind = scheme.type.lower()
        if kind == "rapidapi":
            out = {"X-RapidAPI-Key": secret}
            if url_host(url):
                out["X-RapidAPI-Host"] = url_host(url)
            return out
        if kind == "apikey":
            name = scheme.param_name or "X-API-Key"
            if scheme.location == "query":
                return {"?" + name: secret}
            if scheme.location == "cookie":
                return {"Cookie": f"{name}={secret}"}
            out = {name: secret}
            if name.lower() == "x-rapidapi-key" and url_host(url):
                out["X-RapidAPI-Host"] = url_host(url)
            return out
        if kind == "http" and scheme.scheme.lower() == "basic":
            token = secret if ":" not in secret else base64.b64encode(secret.encode()).decode()
            return {"Authorization": f"Basic {token}"}
        if kind in ("http", "oauth2", "openidconnect"):
            return {"Authorization": f"Bearer {secret}"}
    return {}
