"""Reading an OpenAPI document from a dict, a JSON or YAML file, or an http(s) URL; every error names where."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from toolbench.catalog.openapi.document import OpenAPIError, _kind

DEFAULT_TIMEOUT = 30.0


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
