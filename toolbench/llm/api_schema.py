"""The request body ``toolbench llm serve`` accepts on ``POST /v1/chat/completions`` (OpenAI's chat-completions
schema, with vLLM's ``min_tokens``/``ignore_eos``), and the errors it answers in OpenAI's error schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from toolbench.llm.payload import error_body


class _Function(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _Tool(BaseModel):
    type: Literal["function"] = "function"
    function: _Function


class NamedChoice(BaseModel):
    type: Literal["function"] = "function"
    function: dict[str, str]

    @model_validator(mode="after")
    def _has_name(self) -> NamedChoice:
        if not self.function.get("name"):
            raise ValueError("tool_choice.function.name is required")
        return self


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _has_content(self) -> _Message:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role} message needs 'content'")
        return self


class ChatCompletionRequest(BaseModel):
    """The accepted request body; unknown OpenAI fields (user, logprobs, logit_bias...) are ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    messages: list[_Message] = Field(min_length=1)
    tools: list[_Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedChoice | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    frequency_penalty: float = Field(default=0.0, ge=-2, le=2)
    presence_penalty: float = Field(default=0.0, ge=-2, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    min_tokens: int = Field(default=0, ge=0)
    ignore_eos: bool = False
    response_format: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> ChatCompletionRequest:
        stops = [self.stop] if isinstance(self.stop, str) else (self.stop or [])
        if len(stops) > 4:
            raise ValueError("stop: at most 4 stop sequences")
        if isinstance(self.tool_choice, NamedChoice):
            names = {t.function.name for t in self.tools or []}
            if self.tool_choice.function["name"] not in names:
                raise ValueError(f"tool_choice names function {self.tool_choice.function['name']!r}, "
                                 "which is not among the tools")
        if self.tool_choice == "required" and not self.tools:
            raise ValueError("tool_choice 'required' needs tools")
        if self.response_format is not None and self.response_format.get("type") not in (
                "text", "json_object", "json_schema"):
            raise ValueError("response_format.type must be text, json_object or json_schema")
        return self


class APIError(Exception):
    """An error answered in OpenAI's schema."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def validation_error(exc: ValidationError) -> APIError:
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ()) if not str(p).startswith("function-after")]
    param = ".".join(loc) or None
    message = first.get("msg", "invalid value").removeprefix("Value error, ")
    return APIError(422, f"{param}: {message}" if param else message, param=param, code="invalid_value")
