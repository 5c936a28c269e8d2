"""What a sandbox tool module provides, and helpers the tool modules share.

A tool module (``toolbench/hub/tools/<slug>.py``) defines ``TOOL = HubTool(...)``: its router (mounted under
``/<slug>``), its name, category and description (published as an OpenAPI tag with ``x-category``), and
``make_state(seed)`` building its data. Read-only tools share one state per hub; ``stateful`` tools get a fresh
copy per API key, so one caller's orders never show up for another.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from toolbench.hub.limits import MAX_LISTED_ERRORS


@dataclass
class HubTool:
    slug: str  # URL prefix and tag key: "weather" -> /weather/...
    name: str  # the tool name the catalog records (the OpenAPI tag)
    category: str  # ToolBench-style category ("Weather", "Finance"...)
    description: str
    router: APIRouter
    make_state: Callable[[int], Any]
    stateful: bool = False


class ErrorBody(BaseModel):
    """The body of every error answer, as RapidAPI providers send it."""

    message: str = Field(description="What went wrong and, where possible, what to send instead.")


class FieldProblem(BaseModel):
    field: str = Field(description="The argument at fault, dotted for nested ones (`location.city`); empty for "
                                   "the request as a whole")
    message: str = Field(description="What is wrong with it")


class ValidationErrorBody(BaseModel):
    """The body of a 422 answer: invalid arguments."""

    message: str = Field(description="The listed problems in one sentence, for a reader in a hurry")
    error_count: int = Field(description="How many problems there are in all")
    errors: list[FieldProblem] = Field(description=f"One entry per problem, the first {MAX_LISTED_ERRORS} at most")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key: send X-RapidAPI-Key or Authorization: Bearer."},
    429: {"model": ErrorBody, "description": "Rate limited: wait for the seconds in Retry-After."},
}


def not_found(what: str, value: Any, hint: str = "") -> HTTPException:
    msg = f"{what} {value!r} not found"
    return HTTPException(status_code=404, detail=msg + (f"; {hint}" if hint else ""))


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def conflict(message: str) -> HTTPException:
    return HTTPException(status_code=409, detail=message)


def rng(seed: int, *parts: Any) -> random.Random:
    """A generator for one record: the same seed and parts give the same numbers on every platform."""
    text = ":".join([str(seed), *map(str, parts)])
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def tool_state(slug: str) -> Callable[[Request], Any]:
    """A FastAPI dependency giving the calling key's state of tool ``slug``."""

    def dependency(request: Request) -> Any:
        return request.app.state.hub.state_for(request, slug)

    dependency.__name__ = f"{slug}_state"
    return dependency


def hub_clock(request: Request):
    """The sandbox clock (a fixed, timezone-aware datetime from the settings)."""
    return request.app.state.hub.settings.clock


def example(value: Any) -> dict[str, Any]:
    """``openapi_examples``-free way to give a parameter one example (OpenAPI 3.1 ``examples`` list)."""
    return {"examples": [value]}
