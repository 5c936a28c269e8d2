"""Argument validation with ``jsonschema``: every problem, each naming the argument and the rule it broke.

Parameters with a JSON-schema fragment (OpenAPI imports) are checked strictly against it. Parameters with
ToolBench's RapidAPI types travel as query strings in the end, so they are checked as a RapidAPI host would
see them: ``NUMBER`` takes a number or a numeric string, ``BOOLEAN`` a boolean or ``"true"``/``"false"``,
``STRING`` and the rest a string or a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from toolbench.catalog.functions import OfferedFunction
from toolbench.records import Api, Param

_NUMERIC = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
_LENIENT = {
    "NUMBER": {"anyOf": [{"type": "number"}, {"type": "string", "pattern": _NUMERIC}]},
    "BOOLEAN": {"anyOf": [{"type": "boolean"},
                          {"type": "string", "enum": ["true", "false", "True", "False", "0", "1"]}]},
}
_LENIENT_DEFAULT = {"type": ["string", "number", "integer", "boolean"]}


@dataclass(frozen=True)
class ArgumentError:
    """One problem with the arguments of a call. ``field`` is a dotted path (``filters.price.max``),
    empty for the arguments object itself; ``rule`` is the JSON-schema keyword that failed."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"argument '{self.field}'" if self.field else "arguments"
        return f"{where}: {self.message} (rule: {self.rule})"


def _param_validation_schema(param: Param) -> dict[str, Any]:
    if param.schema is not None:
        return param.schema
    return _LENIENT.get(param.type.upper(), _LENIENT_DEFAULT)


def validation_schema(api: Api) -> dict[str, Any]:
    """The JSON schema an API's arguments (keyed by the API's own parameter names) must satisfy."""
    return {
        "type": "object",
        "properties": {p.name: _param_validation_schema(p) for p in api.params},
        "required": [p.name for p in api.required_params],
        "additionalProperties": False,
    }


@lru_cache(maxsize=4096)
def _validator(schema_json: str) -> Draft202012Validator:
    import json

    return Draft202012Validator(json.loads(schema_json))


def _describe(err) -> str:
    if err.validator == "required":
        return err.message.replace("is a required property", "is required but missing")
    if err.validator == "additionalProperties":
        return err.message.replace("Additional properties are not allowed", "unknown argument(s)")
    return err.message


def validate_arguments(api: Api, arguments: Any) -> list[ArgumentError]:
    """All problems with ``arguments`` (keyed by the API's own parameter names) for ``api``; empty if valid."""
    import json

    if not isinstance(arguments, dict):
        return [ArgumentError("", "type", f"arguments must be a JSON object, got {type(arguments).__name__}")]
    validator = _validator(json.dumps(validation_schema(api), sort_keys=True))
    errors = []
    for err in sorted(validator.iter_errors(arguments), key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
        path = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "required" and not path:
            missing = err.message.split("'")[1] if "'" in err.message else ""
            path = missing
        errors.append(ArgumentError(path, str(err.validator), _describe(err)))
    return errors


def validate_call(function: OfferedFunction, arguments: Any) -> tuple[dict[str, Any], list[ArgumentError]]:
    """Validate a model's call to an offered function: its argument names are mapped back to the API's own
    first. Returns (arguments keyed by the API's names, problems)."""
    if not isinstance(arguments, dict):
        return {}, validate_arguments(function.api, arguments)
    api_args = function.api_arguments(arguments)
    reverse = {v: k for k, v in function.param_names.items()}

    def offered(field_path: str) -> str:
        head, dot, rest = field_path.partition(".")
        return reverse.get(head, head) + dot + rest

    problems = [ArgumentError(offered(e.field), e.rule, e.message) for e in validate_arguments(function.api, api_args)]
    return api_args, problems
