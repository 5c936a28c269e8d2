"""Who is asking: the agent server's principals (one bearer token per user) and the guard in front of the app.

Tokens come from three places, merged (a user named twice is an error):

- a tokens file (``--tokens-file``): one ``user=token`` per line (blank lines and ``#`` comments skipped), or a
  JSON object ``{"user": "token", ...}``;
- the environment: ``TOOLBENCH_AGENT_TOKENS="alice=...,bob=..."`` (commas or whitespace between entries);
- ``--token user=TOKEN`` on the command line (visible in the process list: prefer the file or the environment).

``--user NAME`` (or, when nothing is configured, the user ``operator``) gets a token generated at start, which the
CLI prints once to the console; it is kept only in memory. Only SHA-256 digests of the tokens are held, and a
presented token is compared with every user's digest with :func:`hmac.compare_digest` (constant time, no early
exit), so neither the match nor its position shows in the timing.

:class:`RequestGuard` is the ASGI middleware in front of the app: it refuses a request whose ``Origin`` is not in the
allow-list (403) before the app parses anything; a body over the size limit gets 413 from
:mod:`toolbench.bodylimit` (from ``Content-Length`` before anything is read, and while reading a chunked body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError

TOKENS_ENV = "TOOLBENCH_AGENT_TOKENS"
DEFAULT_USER = "operator"
DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB
MIN_TOKEN_CHARS = 16
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$")


class AuthError(Exception):
    """A request the server refuses before it reaches a session: ``status`` is 401 or 403."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def generate_token() -> str:
    """A new random token (256 bits, URL-safe)."""
    return "tbk-" + secrets.token_urlsafe(32)


def check_user(user: str, where: str = "user") -> str:
    if not isinstance(user, str) or not _USER.match(user):
        raise ToolbenchError(f"{where} {user!r}: a user name is 1-128 letters, digits, '_', '.', '@', ':' or '-'")
    return user


def check_token(token: Any, where: str) -> str:
    if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ToolbenchError(f"{where}: a token is at least {MIN_TOKEN_CHARS} characters without spaces (make one "
                             "with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return token


class TokenRegistry:
    """Users and the digests of their tokens; :meth:`user_of` answers who a bearer token belongs to."""

    def __init__(self, tokens: Mapping[str, str]):
        self._digests: list[tuple[str, bytes]] = []
        seen: dict[bytes, str] = {}
        for user, token in tokens.items():
            check_user(user)
            check_token(token, f"the token of {user!r}")
            digest = _digest(token)
            if digest in seen:
                raise ToolbenchError(f"users {seen[digest]!r} and {user!r} have the same token; give each its own")
            seen[digest] = user
            self._digests.append((user, digest))
        if not self._digests:
            raise ToolbenchError("the agent server needs at least one user token")

    @property
    def users(self) -> list[str]:
        return [user for user, _ in self._digests]

    def user_of(self, token: str) -> str | None:
        """The user whose token this is, or None. Every digest is compared, whatever matches first."""
        presented = _digest(token)
        found = None
        for user, digest in self._digests:
            if hmac.compare_digest(presented, digest):
                found = user
        return found

    def authenticate(self, authorization: str | None) -> str:
        """The user named by an ``Authorization: Bearer <token>`` header; :class:`AuthError` (401) otherwise."""
        if not authorization:
            raise AuthError("this needs your token: send 'Authorization: Bearer <token>'", 401)
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("send the token as 'Authorization: Bearer <token>'", 401)
        user = self.user_of(token)
        if user is None:
            raise AuthError("the token is not valid", 401)
        return user


# -- configuration ------------------------------------------------------------------------------------------

def _pairs(entries: Iterable[str], where: str) -> list[tuple[str, str]]:
    out = []
    for number, entry in enumerate(entries, 1):
        user, sep, token = entry.partition("=")
        user, token = user.strip(), token.strip()
        if not sep or not user or not token:  # the entry is not echoed: it may be a bare token
            raise ToolbenchError(f"{where}: entry {number} is not user=TOKEN")
        out.append((check_user(user, where), check_token(token, f"{where}: the token of {user!r}")))
    return out


def read_tokens_file(path: str | Path) -> list[tuple[str, str]]:
    """``user=token`` lines (``#`` comments, blank lines skipped) or a JSON object of user -> token."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ToolbenchError(f"--tokens-file {path}: cannot read it ({exc.strerror})") from exc
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ToolbenchError(f"--tokens-file {path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
        if not all(isinstance(v, str) for v in data.values()):
            raise ToolbenchError(f"--tokens-file {path}: the JSON object maps each user to a token string")
        return _pairs([f"{user}={token}" for user, token in data.items()], f"--tokens-file {path}")
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.extend(_pairs([line], f"--tokens-file {path}, line {number}"))
    return out


def tokens_file_warning(path: str | Path) -> str | None:
    """A warning when the tokens file can be read by other users of the machine (POSIX permissions)."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"--tokens-file {path}: readable by other users of this machine; chmod 600 it"
    return None


def configure_tokens(tokens_file: str | Path | None = None, specs: Iterable[str] = (),
                     generate_for: Iterable[str] = (), environ: Mapping[str, str] | None = None
                     ) -> tuple[dict[str, str], dict[str, str]]:
    """All configured tokens, and the ones generated now (for ``generate_for``, or for ``operator`` when nothing
    is configured at all). Returns ``(tokens, generated)``; ``tokens`` includes ``generated``."""
    environ = os.environ if environ is None else environ
    pairs: list[tuple[str, str]] = []
    if tokens_file is not None:
        pairs += read_tokens_file(tokens_file)
    env = environ.get(TOKENS_ENV, "")
    if env.strip():
        pairs += _pairs(re.split(r"[,\s]+", env.strip()), f"${TOKENS_ENV}")
    pairs += _pairs(specs, "--token")
    tokens: dict[str, str] = {}
    for user, token in pairs:
        if user in tokens:
            raise ToolbenchError(f"user {user!r} is given a token twice (tokens file, ${TOKENS_ENV}, --token); "
                                 "keep one")
        tokens[user] = token
    wanted = [check_user(u, "--user") for u in generate_for]
    if not wanted and not tokens:
        wanted = [DEFAULT_USER]
    generated = {}
    for user in wanted:
        if user in tokens:
            raise ToolbenchError(f"--user {user}: this user already has a configured token")
        generated[user] = tokens[user] = generate_token()
    return tokens, generated


# -- the guard ---------------------------------------------------------------------------------------------

def _error_body(message: str, kind: str, status: int) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()


async def _answer(send: Any, status: int, message: str, kind: str) -> None:
    body = _error_body(message, kind, status)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: the Origin allow-list (403), before the app reads anything. (The body-size limit in front
    of it is :class:`toolbench.bodylimit.BodySizeLimit`, shared with the hub and the LLM server.)"""

    def __init__(self, app: Any, allowed_origins: Iterable[str] = ()):
        self.app = app
        self.allowed_origins = frozenset(o.rstrip("/") for o in allowed_origins)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            origins = [value for name, value in scope.get("headers") or [] if name.lower() == b"origin"]
            if origins:
                origin = origins[0].decode("latin-1").rstrip("/")
                if len(origins) > 1 or origin not in self.allowed_origins:
                    await _answer(send, 403, f"requests from origin {origin[:200]!r} are not allowed (the server's "
                                  "--allow-origin list)", "forbidden_origin")
                    return
        await self.app(scope, receive, send)
