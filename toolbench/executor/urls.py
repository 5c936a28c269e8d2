"""URLs and hosts (pure): the checks of a catalog URL, host matching for key routing, userinfo redaction."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx

MAX_URL_CHARS = 16_384  # a request URL (query included) longer than this is not sent
HTTP_SCHEMES = ("http", "https")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_LABEL = re.compile(r"(?i)^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_HEADER_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def redact_url(text: str) -> str:
    """``text`` with the userinfo of every URL in it (``https://user:pass@host``) shown as ``***``."""
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


def url_host(url: str) -> str:
    """``host[:port]`` of ``url`` without userinfo, lower case ('' when there is none): for logs and reports."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[2].lower()


@functools.lru_cache(maxsize=4096)
def request_hostname(url: str) -> str:
    """The host a request to ``url`` really goes to, as httpx parses it (ASCII, lower case, no port); '' when
    the URL does not parse."""
    try:
        host = httpx.URL(url).raw_host.decode("ascii")
    except Exception:  # noqa: BLE001 - any parse failure means "no host"
        return ""
    return host.lower().rstrip(".")


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``patterns``: exact names, or ``*.domain`` for any subdomain of domain."""
    host = host.lower().rstrip(".")
    if not host:
        return False
    for pattern in patterns:
        pattern = pattern.strip().lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif pattern and host == pattern:
            return True
    return False


def _host_problem(raw: str) -> str:
    if not raw:
        return "it has no host"
    if ":" in raw:
        try:
            ipaddress.IPv6Address(raw)
            return ""
        except ValueError:
            return f"host {raw!r} is not a valid IPv6 address"
    name = raw.removesuffix(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return f"host {raw!r} is not a valid host name"
    return ""


def url_problem(url: Any) -> str:
    """Why the executor cannot call ``url`` (a catalog URL template: ``{name}`` placeholders are allowed), or ''
    when it can. Checked: text, an http(s) scheme, no control characters, a host that parses, a port in
    1..65535, at most :data:`MAX_URL_CHARS` characters. ``toolbench catalog validate`` reports the same."""
    if not isinstance(url, str):
        return f"the URL is a {type(url).__name__}, not text"
    return _str_url_problem(url)


@functools.lru_cache(maxsize=4096)
def _str_url_problem(url: str) -> str:
    if not url.strip():
        return "the URL is empty"
    if _BAD_HEADER_CHARS.search(url) or "\t" in url:
        return "the URL contains a control character (line break, tab or NUL)"
    if url != url.strip():
        return "the URL has leading or trailing spaces"
    if len(url) > MAX_URL_CHARS:
        return f"the URL is {len(url):,} characters long (at most {MAX_URL_CHARS:,})"
    filled = _PLACEHOLDER.sub("x", url)
    scheme = filled.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", filled) else ""
    if scheme not in HTTP_SCHEMES:
        return (f"scheme {scheme + '://'!r} is not http(s)" if scheme else
                "it is not an absolute http(s) URL (no scheme)")
    try:
        parsed = httpx.URL(filled)
    except httpx.InvalidURL as exc:
        text = redact_url(str(exc)).rstrip(".")
        return text[:1].lower() + text[1:]
    except Exception as exc:  # noqa: BLE001 - e.g. an IDNA error in the host
        return f"it does not parse ({type(exc).__name__})"
    try:
        raw_host = parsed.raw_host.decode("ascii")
    except UnicodeDecodeError:
        return "the host is not ASCII after IDNA encoding"
    problem = _host_problem(raw_host)
    if problem:
        return problem
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return f"port {parsed.port} is out of range (1-65535)"
    return ""
