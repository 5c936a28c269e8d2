"""Turn a model's output into BFCL's decoded form: a list of calls ``[{"fname": {"arg": value}}, ...]``.

Accepted shapes (:func:`parse_calls`):

- BFCL's decoded list itself, ``[{"fname": {...}}]``; a value may also be a JSON string of the arguments
  (the way BFCL's result files store function-calling models' output).
- OpenAI ``tool_calls``: a list of ``{"function": {"name", "arguments"}}`` (``arguments`` a JSON string or an
  object), or a whole assistant message ``{"role", "content", "tool_calls"}``: only its ``tool_calls`` count,
  so a message without them is "no call" whatever its text says (pass prompting models' text as a string).
- ``{"name", "arguments"}`` / ``{"name", "parameters"}`` objects, one or a list.
- Raw text: empty (no call), JSON in any shape above, or Python call syntax ``[f(a=1, b='x'), g(...)]``,
  optionally in a Markdown code fence or ``<tool_call>`` tags. Python syntax is read with :mod:`ast` and never
  evaluated: arguments must be keywords whose values are literals (numbers, strings, booleans, None, lists,
  tuples, dicts, and ``-``/``+`` on numbers). A bare name (``unit=meters``) stands for itself as a string, as
  in BFCL, whose possible answers spell variables that way. Anything else (positional arguments, expressions,
  nested calls) is unparseable here, where BFCL's decoder would ``eval`` arithmetic and lambdas.

Output that cannot be read raises :class:`UnparseableOutput`; it is a verdict about the model, not an error in
the input files.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

Call = dict[str, dict[str, Any]]

_FENCE = re.compile(r"^```[\w+-]*[ \t]*\n?(.*?)\n?```$", re.DOTALL)
_TOOL_CALL_TAG = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


class UnparseableOutput(ValueError):
    """The model's output is not a function call in any accepted shape (the message says why)."""


def parse_calls(result: Any) -> list[Call]:
    """Decode ``result`` (a prediction's ``result`` field) into ``[{"fname": {args}}, ...]``.

    Returns ``[]`` when the output holds no call (None, empty text, an assistant message without tool calls,
    ``[]``, ``[{}]``). Raises :class:`UnparseableOutput` otherwise when it cannot be read.
    """
    if result is None:
        return []
    if isinstance(result, str):
        return parse_text(result)
    if isinstance(result, dict):
        if "tool_calls" in result or "role" in result:  # an assistant message: its text is not a call
            return _from_list(result.get("tool_calls") or [])
        return [_one_call(result)]
    if isinstance(result, list):
        return _from_list(result)
    raise UnparseableOutput(f"expected text, a list or an object, got {type(result).__name__}")


def parse_text(text: str) -> list[Call]:
    """Decode raw model text: JSON in any accepted shape, else Python call syntax."""
    body = text.strip()
    tagged = _TOOL_CALL_TAG.findall(body)
    if tagged:
        calls: list[Call] = []
        for chunk in tagged:
            calls.extend(parse_text(chunk))
        return calls
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    if not body:
        return []
    if body[0] in "[{":
        try:
            decoded = json.loads(body)
        except json.JSONDecodeError:
            pass  # maybe Python syntax, e.g. [f(a='x')]
        else:
            return parse_calls(decoded)
    return parse_python(body)


def parse_python(text: str) -> list[Call]:
    """Read ``[f(a=1), m.g(b='x')]`` or ``f(a=1)`` with :mod:`ast`, literal keyword arguments only."""
    source = text.strip()
    if not source.startswith("["):
        source = "[" + source
    if not source.endswith("]"):
        source += "]"
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise UnparseableOutput(f"not JSON and not Python call syntax: {exc}") from None
    body = tree.body
    nodes = body.elts if isinstance(body, (ast.List, ast.Tuple)) else [body]
    return [_python_call(node) for node in nodes]


def _python_call(node: ast.expr) -> Call:
    if not isinstance(node, ast.Call):
        raise UnparseableOutput(f"expected a function call, found {ast.unparse(node)!r}")
    name = _dotted_name(node.func)
    if node.args:
        raise UnparseableOutput(f"{name}(...) has positional arguments; only keyword arguments are read")
    args: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise UnparseableOutput(f"{name}(...) uses **kwargs; only literal keyword arguments are read")
        args[keyword.arg] = _literal(keyword.value)
    return {name: args}


def _dotted_name(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise UnparseableOutput(f"cannot read a function name from {ast.unparse(node)!r}")
    parts.append(node.id)
    return ".".join(reversed(parts))


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float, complex):
            return -operand.value if isinstance(node.op, ast.USub) else operand.value
    elif isinstance(node, ast.List):
        return [_literal(item) for item in node.elts]
    elif isinstance(node, ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    elif isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise UnparseableOutput("a dict argument uses ** unpacking; only literals are read")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
    elif isinstance(node, ast.Name):
        return node.id
    raise UnparseableOutput(f"argument {ast.unparse(node)!r} is not a literal")


def _from_list(items: list[Any]) -> list[Call]:
    calls = []
    for item in items:
        if isinstance(item, dict) and not item:
            continue  # BFCL reads [{}] as "no call"
        if not isinstance(item, dict):
            raise UnparseableOutput(f"expected a call object, found {type(item).__name__}: {item!r:.80}")
        calls.append(_one_call(item))
    return calls


def _one_call(obj: dict[str, Any]) -> Call:
    """One call from an OpenAI tool call, a ``{name, arguments}`` object or a ``{fname: args}`` pair."""
    if isinstance(obj.get("function"), dict):  # OpenAI tool_call
        obj = obj["function"]
    if isinstance(obj.get("name"), str) and ("arguments" in obj or "parameters" in obj):
        raw = obj["arguments"] if "arguments" in obj else obj["parameters"]
        return {obj["name"]: _arguments(obj["name"], raw)}
    if len(obj) == 1:
        ((name, raw),) = obj.items()
        return {name: _arguments(name, raw)}
    raise UnparseableOutput(f"cannot read a call from an object with keys {sorted(obj)}")


def _arguments(name: str, raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UnparseableOutput(f"arguments of {name} are not valid JSON: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UnparseableOutput(f"arguments of {name} must be an object, got {type(raw).__name__}")
    return raw


_REFUSAL = re.compile(
    r"\b(sorry|apologi[sz]e|unfortunately|i (?:cannot|can ?not|can't|am unable|'m unable|am not able)"
    r"|unable to|not able to|cannot (?:be )?(?:help|answer|assist|fulfil|complete|perform|provide|determine)"
    r"|none of the (?:provided |available |given |listed )?(?:functions|tools|apis)"
    r"|no (?:suitable|relevant|appropriate|applicable|available|matching) (?:function|tool|api)"
    r"|(?:functions|tools) (?:provided |available |given )?(?:do|does|are|is) not"
    r"|(?:do|does|don't|doesn't) (?:not )?(?:have|provide|support|include) (?:a |an |any )?"
    r"(?:function|tool|api|capability|way)"
    r"|not (?:possible|supported|applicable|relevant)|outside (?:the |my )?scope|beyond (?:the |my )?scope"
    r"|lack(?:s|ing)? (?:the )?(?:required|necessary|needed)"
    r"|missing (?:the )?(?:required |necessary )?(?:parameters?|information|arguments?|details))\b",
    re.IGNORECASE,
)


# the same in Chinese (no \b: CJK characters are word characters); "能不能帮我" is a request, not a refusal
_REFUSAL_ZH = re.compile(
    r"抱歉|对不起|无能为力|做不到"
    r"|(?:无法|没法|没办法|(?<!能)不能)(?:用|使用|仅凭|帮|完成|回答|提供|处理|确定|找到|执行|满足)"
    r"|没有(?:一个|任何)?(?:可用|合适|相关|对应)?的?(?:函数|工具|接口)"
    r"|(?:函数|工具|接口)都?(?:无法|不能|没法|不支持)"
    r"|缺少(?:必要|所需)?的?(?:参数|信息)")


def is_refusal(text: str) -> bool:
    """True when free text clearly declines to call a function (apology, "none of the functions"...), in English
    or Chinese."""
    return bool(_REFUSAL.search(text) or _REFUSAL_ZH.search(text))
