"""BFCL's own files, from the installed PyPI package ``bfcl-eval``: its test sets and (for tests and benchmarks
only) its official AST checker.

``bfcl-eval`` is a dev dependency installed with ``--no-deps``. Its module ``bfcl_eval.constants.model_config``
imports every vendor SDK; the checker needs from it only each model's ``underscore_to_dot`` flag, so
:func:`official_checker` stands a small module in for it (only if the real one is not already loaded).
"""

from __future__ import annotations

import copy
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolbench import bfcl_data
from toolbench.bfcl_data import BfclNotInstalled, read_jsonl
from toolbench.errors import ToolbenchError

__all__ = ["BfclNotInstalled", "read_jsonl"]  # re-exported: they live in toolbench.bfcl_data

VERSION_PREFIX = "BFCL_v4"
# The categories our checker scores (BFCL's java/javascript ones are left out).
AST_CATEGORIES = (
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
)
ABSTENTION_CATEGORIES = ("irrelevance", "live_irrelevance", "live_relevance")
# Model names the stand-in config knows; BFCL looks names up with "_" read as "/", so they have none.
MODEL_KEEPS_DOTS = "toolbench-keeps-dots"
MODEL_UNDERSCORE_TO_DOT = "toolbench-underscore-to-dot"


def data_dir() -> Path:
    """The folder of BFCL's ``BFCL_v4_*.json`` files inside the installed package (:mod:`toolbench.bfcl_data`)."""
    return bfcl_data.data_dir()


def category_files(category: str) -> tuple[Path, Path | None]:
    """Paths of a category's test entries and possible answers (None for irrelevance/relevance)."""
    base = data_dir()
    entries = base / f"{VERSION_PREFIX}_{category}.json"
    if not entries.is_file():
        known = sorted(p.name[len(VERSION_PREFIX) + 1 : -5] for p in base.glob(f"{VERSION_PREFIX}_*.json"))
        raise ToolbenchError(f"bfcl:{category}: no such BFCL category; the package has {', '.join(known)}")
    answers = base / "possible_answer" / entries.name
    return entries, answers if answers.is_file() else None


def load_category(category: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A BFCL category's entries and possible answers (``[]`` when it has none), in file order."""
    entries_path, answers_path = category_files(category)
    return read_jsonl(entries_path), read_jsonl(answers_path) if answers_path else []


@dataclass(frozen=True)
class _ModelConfig:
    underscore_to_dot: bool


def official_checker() -> Callable[..., dict[str, Any]]:
    """BFCL's ``ast_checker`` wrapped as ``check(functions, calls, answers, category, underscore_to_dot)``.

    For the differential test and the benchmark; never used to score.
    """
    if not bfcl_data.installed():
        raise BfclNotInstalled(f"the official checker needs bfcl-eval: {bfcl_data.INSTALL_HINT}")
    name = "bfcl_eval.constants.model_config"
    if name not in sys.modules:
        stand_in = types.ModuleType(name)
        stand_in.MODEL_CONFIG_MAPPING = {  # type: ignore[attr-defined]
            MODEL_KEEPS_DOTS: _ModelConfig(underscore_to_dot=False),
            MODEL_UNDERSCORE_TO_DOT: _ModelConfig(underscore_to_dot=True),
        }
        sys.modules[name] = stand_in
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    def check(
        functions: Any, calls: list[Any], answers: list[Any], category: str, underscore_to_dot: bool = False
    ) -> dict[str, Any]:
        model = MODEL_UNDERSCORE_TO_DOT if underscore_to_dot else MODEL_KEEPS_DOTS
        return ast_checker(functions, calls, answers, Language.PYTHON, category, model)

    return check


# ---- cases on which to compare two checkers ----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One model output to check: a label naming how it was made, the calls, the underscore_to_dot mode."""

    label: str
    calls: list[dict[str, Any]]
    underscore_to_dot: bool = False


def _pick(options: Any, index: int, realize: bool = True) -> tuple[bool, Any]:
    """(present, value) for an option; "" (or no option at all) means "leave the argument out"."""
    if not isinstance(options, list) or not options or options[index] == "":
        return False, None
    return True, _realize(options[index], index) if realize else options[index]


def realize_option(option: Any) -> Any:
    """The value an argument's option stands for (its first choice wherever it nests options)."""
    return _realize(option, 0)


def _realize(option: Any, index: int) -> Any:
    """A value from an argument's option. A dict option holds options per key (one level: a dict inside is a
    plain value, compared by equality); a list of dicts holds such dicts."""
    if type(option) is dict:
        out = {}
        for key, options in option.items():
            present, value = _pick(options, index, realize=False)
            if present:
                out[key] = value
        return out
    if type(option) is list and option and all(type(item) is dict for item in option):
        return [_realize(item, index) for item in option]
    return option


def answer_calls(answer: list[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    """Calls built from a possible answer, taking option ``index`` (0 = first, -1 = last) of every argument."""
    calls = []
    for expected in answer:
        ((name, options_by_param),) = expected.items()
        args = {}
        for param, options in options_by_param.items():
            present, value = _pick(options, index)
            if present:
                args[param] = value
        calls.append({name: args})
    return calls


def _wrong_value(value: Any) -> Any:
    if type(value) is bool:
        return not value
    if type(value) is int:
        return value + 1000
    if type(value) is float:
        return value + 1000.5
    if type(value) is str:
        return value + " zzz"
    if type(value) is list:
        return [*value, value[0]] if value else ["zzz"]
    if type(value) is dict:
        return {**value, "zzz": 1}
    return "zzz"


def _wrong_type(value: Any) -> Any:
    if type(value) is int:
        return str(value)  # str for int
    if type(value) is float:
        return str(value)
    if type(value) is str:
        return 7
    if type(value) is bool:
        return "true"
    return "x"


def _variants(value: Any, doc: dict[str, Any]) -> list[tuple[str, Any]]:
    """Type- and value-shaped perturbations of one argument, as (label, new value)."""
    out = [("wrong_value", _wrong_value(value)), ("wrong_type", _wrong_type(value))]
    kind = doc.get("type")
    if type(value) is int:
        out.append(("bool_for_int", True))
    out.append(("null_value", None))
    if type(value) is str and value:
        out.append(("string_variant", value.upper().replace(" ", "_") + "."))
    if kind == "float" and type(value) is float:
        out.append(("int_for_float", int(value)))
    if type(value) is list:
        out.append(("tuple_for_list", tuple(value)))
        if value:
            out.append(("item_wrong_type", [_wrong_type(value[0]), *value[1:]]))
            out.append(("item_wrong_value", [_wrong_value(value[0]), *value[1:]]))
            if type(value[0]) is dict and value[0]:
                first_key = next(iter(value[0]))
                out.append(("dict_item_value", [{**value[0], first_key: _wrong_value(value[0][first_key])}]))
        out.append(("empty_list", []))
    if type(value) is dict and value:
        first_key = next(iter(value))
        out.append(("dict_key_dropped", {k: v for k, v in value.items() if k != first_key}))
        out.append(("dict_value_changed", {**value, first_key: _wrong_value(value[first_key])}))
    return out


def comparison_cases(entry: dict[str, Any], answer: list[dict[str, Any]], category: str) -> list[Case]:
    """The ground truth of an entry and systematic perturbations of it (deterministic, deep-copied)."""
    docs = {f["name"]: f for f in entry["function"]}
    truth = answer_calls(answer)
    cases = [Case("ground_truth", truth), Case("last_options", answer_calls(answer, -1))]

    def edit(label: str, index: int, name: str, args: dict[str, Any], dot: bool = False) -> None:
        calls = copy.deepcopy(truth)
        calls[index] = {name: args}
        cases.append(Case(label, calls, dot))

    for index, call in enumerate(truth[:2]):  # the first two calls of parallel entries, else the only one
        ((name, args),) = call.items()
        doc = docs.get(name, {})
        edit("wrong_func_name", index, name + "_x", dict(args))
        edit("extra_arg", index, name, {**args, "unexpected_zz": 1})
        for required in doc.get("parameters", {}).get("required", []):
            if required in args:
                edit("missing_required", index, name, {k: v for k, v in args.items() if k != required})
                break
        optional = [p for p, options in answer[index][name].items() if "" in options]
        if optional:
            edit("optional_omitted", index, name, {k: v for k, v in args.items() if k not in optional})
        properties = doc.get("parameters", {}).get("properties", {})
        for param, value in args.items():
            for label, new in _variants(value, properties.get(param, {})):
                edit(label, index, name, {**args, param: new})

    if any("." in next(iter(call)) for call in truth):  # models whose API forbids "." in names
        underscored = [{n.replace(".", "_"): dict(a)} for call in truth for n, a in call.items()]
        cases.append(Case("underscore_names", underscored, underscore_to_dot=True))
        cases.append(Case("underscore_names_dots_expected", copy.deepcopy(underscored)))
        cases.append(Case("dotted_names_underscores_expected", copy.deepcopy(truth), underscore_to_dot=True))
    cases.append(Case("no_call", []))
    cases.append(Case("extra_call", [*copy.deepcopy(truth), copy.deepcopy(truth[0])]))
    if len(truth) > 1:
        cases.append(Case("swapped_order", copy.deepcopy(truth[::-1])))
        cases.append(Case("dropped_call", copy.deepcopy(truth[:-1])))
        cases.append(Case("duplicated_call", copy.deepcopy([truth[0], *truth[:-1]])))
    return cases
