"""AST accuracy with the Berkeley Function Calling Leaderboard's semantics, in our own code.

A model's calls, decoded to ``[{"fname": {"arg": value}}, ...]`` (see :mod:`eval.parse`), are checked against a
BFCL entry's function docs and its possible answers ``[{"fname": {"arg": [option, ...]}}, ...]``. The rules are
those of ``bfcl_eval``'s ``ast_checker.py`` (release 2026.3.23), and so are the error types, so per-entry output
compares with BFCL's; ``tests/eval/test_ast_differential.py`` holds the two to the same verdict on every entry of
the simple (python), multiple, parallel, parallel_multiple and live_* categories, for the ground truth and for
perturbed outputs.

Rules for one call (:func:`check_call`):

1. The function doc's name must be the call's name (``simple_function_checker:wrong_func_name``); with
   ``underscore_to_dot`` (models whose API forbids "." in names) a dotted name is expected with "_" instead.
2. Every required parameter is present (``:missing_required``); every given parameter is both documented and
   named in the possible answer (``:unexpected_param``).
3. Types (``type_error:simple``): string, integer, float, boolean, array, tuple, dict, any (read as string).
   An int is accepted for a float (and compared as a float); a tuple is read as a list where a tuple is
   expected. Arrays and tuples also have their items' types checked against ``items.type``
   (``type_error:nested``), one level deep. A value whose type is the possible answer's type rather than the
   documented one is accepted as a "variable" and then compared exactly.
4. Values: strings are compared after BFCL's normalisation (spaces and ``,./-_*^`` removed, lowercased, ``'``
   read as ``"``) against the string options (``value_error:string``); lists element-wise with their string
   elements normalised (``value_error:list/tuple``); a dict key by key against each dict option, string
   values normalised, a key may be left out if its options include ``""`` (``value_error:dict_key`` /
   ``value_error:dict_value``); a list of dicts dict by dict, in order (``value_error:list_dict_count``);
   anything else must equal an option (``value_error:others``).
5. A possible-answer parameter the call leaves out must list ``""`` among its options, which means "may be
   omitted" (``simple_function_checker:missing_optional``). An empty list matches a ``""`` option too.

Per category (:func:`check_calls`): ``simple`` wants exactly one call (``simple_function_checker:wrong_count``);
``multiple`` exactly one call, checked against the doc of the expected function
(``multiple_function_checker:wrong_count``); any ``parallel`` category as many calls as expected, matched in any
order (``parallel_function_checker_no_order:wrong_count`` / ``:cannot_find_match``). The order-free matching is
BFCL's greedy one: each expected call, in order, takes the first unused model call it accepts. That can reject
a right answer when an expected call has several accepted values (BFCL's parallel_178 with its calls in reverse
order); we keep the verdict, so figures compare, and say so in ``errors`` (:data:`GREEDY_NOTE`) when a
one-to-one pairing exists.

Irrelevance (:func:`check_abstention`) — where we depart from BFCL on purpose. BFCL counts an output its decoder
cannot read as a correct abstention, so a garbled attempt at a call scores as "no call". We count as correct
only an output that holds no call (nothing, ``[]``, an assistant message without tool calls, empty text) or
text that clearly declines (an apology, "none of the functions...", see :func:`eval.parse.is_refusal`). Other
unreadable text — a garbled call, but also prose that neither calls nor declines — is wrong with error type
``irrelevance:unparseable``, and the verdict carries ``bfcl_would_accept=True`` so BFCL-comparable figures can
still be recomputed. A readable call is ``irrelevance_error:decoder_success``, as in BFCL. Relevance
(:func:`check_relevance`, BFCL's live_relevance) wants any readable non-empty call.

BFCL quirks kept for the sake of equal verdicts: a ``""`` option waives the item-type check of an array; int
items of a float array are not converted; a dict nested inside a dict option is compared by plain equality;
"variables" skip string normalisation.

Left out: BFCL's java and javascript categories (their string-typed values need BFCL's Java/JS converters).
Types outside BFCL's list raise :class:`AstCheckError`, except the JSON-schema spellings number, object, int,
str, bool and list, read as float, dict, integer, string, boolean and array for datasets made elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eval.parse import Call, UnparseableOutput, is_refusal, parse_calls
from toolbench.errors import ToolbenchError

_PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_ALIASES = {
    "number": "float",
    "object": "dict",
    "int": "integer",
    "str": "string",
    "bool": "boolean",
    "list": "array",
}
_ITEM_CHECKED = ("array", "tuple")
# BFCL's normalisation drops these characters, lowercases, and reads ' as ".
_DROP = str.maketrans("", "", " ,./-_*^")


class AstCheckError(ToolbenchError):
    """An entry or answer the checker cannot use (unknown type, answer naming an unoffered function)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One check's outcome. ``error_type`` follows BFCL's names; ``errors`` explains in words."""

    valid: bool
    error_type: str | None = None
    errors: tuple[Any, ...] = ()
    bfcl_would_accept: bool | None = None  # set only where our verdict departs from BFCL's on purpose

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "valid": self.valid,
            "error_type": self.error_type,
            "errors": list(self.errors),
        }
        if self.bfcl_would_accept is not None:
            out["bfcl_would_accept"] = self.bfcl_would_accept
        return out


_OK = Verdict(True)


def _ok() -> Verdict:
    return _OK


def _fail(error_type: str, message: str) -> Verdict:
    return Verdict(False, error_type, (message,))


def normalize(text: str) -> str:
    """BFCL's string normalisation: "April 1, 2024" and "april 1 2024" compare equal."""
    return text.translate(_DROP).lower().replace("'", '"')


def _norm(value: Any) -> Any:
    return normalize(value) if type(value) is str else value


# ---- one call ---------------------------------------------------------------------------------------------


def check_call(func: dict[str, Any], call: Call, answer: Call, *, underscore_to_dot: bool = False) -> Verdict:
    """Check one decoded call against a function doc and one possible answer ``{fname: {arg: options}}``."""
    options_by_param = next(iter(answer.values()))
    name = func["name"]
    if underscore_to_dot and "." in name:
        name = name.replace(".", "_")
    if name not in call:
        return _fail("simple_function_checker:wrong_func_name", f"Function {name!r} not called.")
    args = call[name]
    params = func.get("parameters", {})
    for required in params.get("required", []):
        if required not in args:
            return _fail(
                "simple_function_checker:missing_required", f"Missing required parameter {required!r}."
            )
    docs = params.get("properties", {})
    for param, value in args.items():
        if param not in docs or param not in options_by_param:
            return _fail("simple_function_checker:unexpected_param", f"Unexpected parameter {param!r}.")
        verdict = _check_param(func["name"], param, value, docs[param], options_by_param[param])
        if not verdict.valid:
            return verdict
    for param, options in options_by_param.items():
        if param not in args and "" not in options:
            return _fail(
                "simple_function_checker:missing_optional",
                f"Parameter {param!r} left out but the answer does not mark it optional.",
            )
    return _ok()


def _type_of(func_name: str, param: str, type_name: Any) -> tuple[str, type]:
    name = _ALIASES.get(type_name, type_name) if isinstance(type_name, str) else type_name
    if name not in _PY_TYPES:
        raise AstCheckError(
            f"function {func_name!r}, parameter {param!r}: type {type_name!r} is not one BFCL knows "
            f"({', '.join(_PY_TYPES)}); java/javascript categories are not supported"
        )
    return name, _PY_TYPES[name]


def _check_param(func_name: str, param: str, value: Any, doc: dict[str, Any], options: list[Any]) -> Verdict:
    type_name, expected = _type_of(func_name, param, doc.get("type"))
    item_type = None
    if type_name in _ITEM_CHECKED and isinstance(doc.get("items"), dict) and "type" in doc["items"]:
        item_type = _type_of(func_name, f"{param}[]", doc["items"]["type"])[1]
    if type_name == "tuple" and type(value) is tuple:
        value = list(value)
    elif type_name == "float" and type(value) is int:
        value = float(value)

    verdict, is_variable = _check_type(param, value, options, type_name, expected, item_type)
    if not verdict.valid:
        return verdict
    if not is_variable:
        if expected is dict:
            return _check_dict(param, value, options)
        if expected is list and item_type is dict:
            return _check_list_of_dicts(param, value, options)
        if expected is str:
            return _check_string(param, value, options)
        if expected is list:
            return _check_list(param, value, options)
    if value not in options:
        return _fail(
            "value_error:others", f"Invalid value for {param!r}: {value!r}. Expected one of {options}."
        )
    return _ok()


def _answer_type(options: Any) -> type | None:
    """The type the possible answer uses: that of its first option other than "" (omitted)."""
    for option in options:
        if option != "":
            return type(option)
    return None


def _check_type(
    param: str, value: Any, options: list[Any], type_name: str, expected: type, item_type: type | None
) -> tuple[Verdict, bool]:
    """Return (verdict, is_variable). A value typed like the answer rather than the doc is a "variable"."""
    answer_type = _answer_type(options)
    is_variable = answer_type is not None and answer_type is not expected
    items_failed = False
    if type(value) is expected:
        if item_type is None:
            return _ok(), is_variable
        # Items must fit the item type for at least one option; non-list options ("") impose nothing.
        for option in options:
            if type(option) is not list or all(_item_type_ok(item, option, item_type) for item in value):
                return _ok(), is_variable
        items_failed = True
    if answer_type is not None and type(value) is answer_type:
        if items_failed:
            return _items_error(param, value, type_name, item_type), True
        return _ok(), True
    return (
        _fail(
            "type_error:simple",
            f"Incorrect type for {param!r}: expected {type_name}, got {type(value).__name__} ({value!r}).",
        ),
        is_variable,
    )


def _item_type_ok(item: Any, option: list[Any], item_type: type) -> bool:
    return type(item) is item_type or type(item) is _answer_type(option)


def _items_error(param: str, value: Any, type_name: str, item_type: type | None) -> Verdict:
    item_name = item_type.__name__ if item_type else "?"
    return _fail("type_error:nested", f"Items of {param!r} ({type_name}) should be {item_name}: {value!r}.")


def _check_string(param: str, value: str, options: list[Any]) -> Verdict:
    if normalize(value) in [normalize(o) for o in options if type(o) is str]:
        return _ok()
    return _fail("value_error:string", f"Invalid value for {param!r}: {value!r}. Expected one of {options}.")


def _as_options(options: Any) -> Any:
    """Options as a sequence. A str stays one (BFCL iterates it by character, so "" reads as [])."""
    return options if isinstance(options, (list, tuple, str)) else [options]


def _check_list(param: str, value: list[Any], options: list[Any]) -> Verdict:
    normalized = [_norm(item) for item in value]
    for option in options:
        if isinstance(option, (list, tuple, str)) and normalized == [_norm(item) for item in option]:
            return _ok()  # "" iterates as [], so it matches an empty list
    return _fail(
        "value_error:list/tuple", f"Invalid value for {param!r}: {value!r}. Expected one of {options}."
    )


def _check_dict(param: str, value: dict[str, Any], options: list[Any]) -> Verdict:
    """The dict must match one dict option; "" options (dict omitted) are skipped."""
    verdict = _fail("dict_checker:unclear", f"No dict option for {param!r} to compare {value!r} with.")
    for option in options:
        if option == "":
            continue
        verdict = _match_dict(value, option)
        if verdict.valid:
            return verdict
    return verdict


def _match_dict(value: Any, option: Any) -> Verdict:
    if type(value) is not dict or not isinstance(option, dict):
        return _fail("type_error:nested", f"Expected a dict matching {option!r}, got {value!r}.")
    errors: list[Any] = []
    error_type = None
    for key, item in value.items():
        if key not in option:
            errors.append(f"Unexpected dict key {key!r}.")
            error_type = "value_error:dict_key"
            break
        allowed = [_norm(o) for o in _as_options(option[key])]
        if _norm(item) not in allowed:
            errors.append(f"Invalid value for dict key {key!r}: {item!r}. Expected one of {allowed}.")
            error_type = "value_error:dict_value"
            break
    # Checked even after a bad key or value, like BFCL: the last problem found names the error type.
    for key, allowed in option.items():
        if key not in value and "" not in _as_options(allowed):
            errors.append(f"Missing dict key {key!r}.")
            error_type = "value_error:dict_key"
            break
    return Verdict(error_type is None, error_type, tuple(errors))


def _check_list_of_dicts(param: str, value: list[Any], options: list[Any]) -> Verdict:
    """Each dict in order against the option's dict at the same place; "" stands for an empty list."""
    verdict = _fail("list_dict_checker:unclear", f"No option for {param!r}.")
    for option in options:
        if len(value) != len(_as_options(option)):
            verdict = _fail("value_error:list_dict_count", f"Wrong number of dicts in {param!r}.")
            continue
        for item, item_option in zip(value, _as_options(option)):
            verdict = _check_dict(param, item, [item_option])
            if not verdict.valid:
                break
        else:
            return _ok()
    return verdict


# ---- one entry --------------------------------------------------------------------------------------------


def is_call_list(decoded: Any) -> bool:
    """BFCL's format check: a list of ``{fname: {args}}`` objects, one key each."""
    if type(decoded) is not list:
        return False
    for item in decoded:
        if type(item) is not dict or len(item) != 1:
            return False
        for args in item.values():
            if type(args) is not dict:
                return False
    return True


def check_calls(
    functions: list[dict[str, Any]] | dict[str, Any],
    calls: list[Call],
    answers: list[Call],
    category: str,
    *,
    underscore_to_dot: bool = False,
) -> Verdict:
    """Check decoded calls against an entry's possible answers, with the rules of its category."""
    if not is_call_list(calls):
        return _fail(
            "ast_decoder:decoder_wrong_output_format", f"Not a list of {{fname: {{args}}}}: {calls!r:.200}"
        )
    if "parallel" in category:
        return _check_parallel(functions, calls, answers, underscore_to_dot)
    if not answers:  # the possible answer is "no call" (a step of generated data that only replies)
        if calls:
            return _fail("simple_function_checker:wrong_count", f"Expected no call, got {len(calls)}.")
        return _ok()
    if not functions:
        raise AstCheckError("the entry offers no function to check the call against")
    if "multiple" in category:
        if len(calls) != len(answers):
            return _fail(
                "multiple_function_checker:wrong_count", f"Expected {len(answers)} call, got {len(calls)}."
            )
        func = _find_doc(functions, answers[0])
        return check_call(func, calls[0], answers[0], underscore_to_dot=underscore_to_dot)
    if len(calls) != 1:
        return _fail("simple_function_checker:wrong_count", f"Expected 1 call, got {len(calls)}.")
    func = functions[0] if isinstance(functions, list) else functions
    return check_call(func, calls[0], answers[0], underscore_to_dot=underscore_to_dot)


def _find_doc(functions: list[dict[str, Any]] | dict[str, Any], answer: Call) -> dict[str, Any]:
    if isinstance(functions, dict):
        return functions
    name = next(iter(answer))
    for func in functions:
        if func["name"] == name:
            return func
    raise AstCheckError(f"the possible answer calls {name!r}, which the entry's functions do not define")


def _check_parallel(
    functions: list[dict[str, Any]] | dict[str, Any],
    calls: list[Call],
    answers: list[Call],
    underscore_to_dot: bool,
) -> Verdict:
    if len(calls) != len(answers):
        return _fail(
            "parallel_function_checker_no_order:wrong_count",
            f"Expected {len(answers)} calls, got {len(calls)}.",
        )
    used: set[int] = set()
    for index, answer in enumerate(answers):
        func = _find_doc(functions, answer)
        tried: list[Any] = []
        for position, call in enumerate(calls):
            if position in used:
                continue
            verdict = check_call(func, call, answer, underscore_to_dot=underscore_to_dot)
            if verdict.valid:
                used.add(position)
                break
            tried.append({"model_call": position, "error_type": verdict.error_type, "errors": verdict.errors})
        else:
            errors: list[Any] = [f"No model call matches expected call {index} ({func['name']}).", *tried]
            # Another pairing can only help if this expected call accepts a model call already taken.
            taken = [calls[p] for p in sorted(used)]
            if any(
                check_call(func, c, answer, underscore_to_dot=underscore_to_dot).valid for c in taken
            ) and _one_to_one_match_exists(functions, calls, answers, underscore_to_dot):
                errors.insert(1, GREEDY_NOTE)
            return Verdict(False, "parallel_function_checker_no_order:cannot_find_match", tuple(errors))
    return _ok()


GREEDY_NOTE = (
    "Note: the calls do match the expected ones one to one in another pairing; BFCL's greedy matching, kept "
    "here so verdicts compare, misses it."
)


def _one_to_one_match_exists(
    functions: list[dict[str, Any]] | dict[str, Any],
    calls: list[Call],
    answers: list[Call],
    underscore_to_dot: bool,
) -> bool:
    """Whether every expected call can take a distinct model call it accepts (bipartite matching)."""
    accepts = [
        [check_call(_find_doc(functions, a), c, a, underscore_to_dot=underscore_to_dot).valid for c in calls]
        for a in answers
    ]
    owner: dict[int, int] = {}  # model call -> expected call

    def place(expected: int, seen: set[int]) -> bool:
        for position, ok in enumerate(accepts[expected]):
            if ok and position not in seen:
                seen.add(position)
                if position not in owner or place(owner[position], seen):
                    owner[position] = expected
                    return True
        return False

    return all(place(expected, set()) for expected in range(len(answers)))


def check_output(
    functions: list[dict[str, Any]] | dict[str, Any],
    result: Any,
    answers: list[Call],
    category: str,
    *,
    underscore_to_dot: bool = False,
) -> Verdict:
    """Decode a raw prediction (any shape :func:`eval.parse.parse_calls` reads) and check it."""
    try:
        calls = parse_calls(result)
    except UnparseableOutput as exc:
        return _fail("ast_decoder:decoder_failed", f"Cannot decode the output: {exc}")
    return check_calls(functions, calls, answers, category, underscore_to_dot=underscore_to_dot)


def check_abstention(result: Any) -> Verdict:
    """Irrelevance: the right answer is no call. See the module docstring for where this departs from BFCL."""
    try:
        calls = parse_calls(result)
    except UnparseableOutput as exc:
        if isinstance(result, str) and is_refusal(result):
            return _ok()
        message = f"Output is neither a call, nor empty, nor a refusal: {exc}"
        return Verdict(False, "irrelevance:unparseable", (message,), bfcl_would_accept=True)
    if not calls or (len(calls) == 1 and not calls[0]):
        return _ok()
    return _fail("irrelevance_error:decoder_success", f"Called a function when none fits: {calls!r:.200}")


def check_relevance(result: Any) -> Verdict:
    """Relevance (BFCL's live_relevance): any readable, non-empty call is right."""
    try:
        calls = parse_calls(result)
    except UnparseableOutput as exc:
        return _fail("relevance_error:decoder_failed", f"Cannot decode the output: {exc}")
    if calls:
        return _ok()
    return _fail("relevance_error:decoder_failed", "No function call in the output.")
