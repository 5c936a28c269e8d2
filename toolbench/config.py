"""Settings declared once: a stage's config is a dataclass whose fields carry their type, default and help.

- :func:`doc` writes a field's metadata (its help, and how its command-line option differs from the default);
- :func:`load_config` fills a config from a YAML/TOML/JSON file, ``--set field=value`` overrides (values are
  YAML) and typed values (a command's options), with errors that name the file or override and the field;
- :func:`options` turns a config's fields into a typer command's options (name, type, default and help from the
  field), and :func:`from_options` builds the config from their values; :func:`from_command` builds it from a
  ``--config`` file, ``--set`` items and the options given on the command line (in that order), as every
  command with ``--config`` does;
- a config may hold another config as a field (``CrawlRunConfig.crawl``): its fields are options of their own,
  and a file or ``--set`` names them either flat (``samples: 5``) or under the field (``crawl: {samples: 5}``);
- :func:`parse_pairs` / :func:`parse_overrides` read repeatable ``KEY=VALUE`` options into a mapping.

The dataclass's ``__post_init__`` checks the values, so a bad file fails before any model loads. Stages raise
their own subclass of :class:`ConfigError`; this module never imports a stage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from toolbench.errors import ToolbenchError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class ConfigError(ToolbenchError, ValueError):
    """A config file, override or value is wrong; ``field`` names the field (None: the file or override itself).

    Stages subclass it and word a field's error their own way in ``__init__``; the loader's messages already name
    the file or override and the field, so it builds them with :meth:`whole`."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        super().__init__(message)

    @classmethod
    def whole(cls, field: str | None, message: str) -> ConfigError:
        """An error of this class whose message is ``message`` as it is."""
        exc = cls.__new__(cls)
        ConfigError.__init__(exc, field, message)
        return exc


def doc(text: str, **cli: Any) -> dict[str, Any]:
    """A field's metadata: its help, plus how its option differs from the default: ``path=True`` (a file or folder,
    given as a path, kept as a string), ``option="--name"`` (another option name; a tuple: with a short one, ``("--out", "-o")``), ``form``/``example`` (how a
    ``dict[str, str]`` field's repeatable ``KEY=VALUE`` option is written)."""
    return {"help": text, **cli}


def field_help(cls: type) -> dict[str, str]:
    """Field name -> its documentation."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


# -- repeatable KEY=VALUE options -----------------------------------------------------------------------

def parse_pairs(specs: Iterable[str] | None, option: str, form: str = "KEY=VALUE",
                example: str | None = None, number: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """``["a=b"]`` -> ``{"a": "b"}``; a spec without ``=`` or with an empty side is a :class:`ToolbenchError`
    naming ``option``. ``number`` (``float``, ``int``) converts each value, a value it refuses is an error too."""
    out: dict[str, Any] = {}
    for spec in specs or []:
        key, sep, value = spec.partition("=")
        if not sep or not key or not value:
            raise ToolbenchError(f"{option} {spec!r}: write {form}" + (f", e.g. {example}" if example else ""))
        if number is not None:
            try:
                out[key] = number(value)
            except ValueError:
                raise ToolbenchError(f"{option} {key}={value}: the value must be a number") from None
        else:
            out[key] = value
    return out


def parse_overrides(specs: Iterable[str] | None) -> dict[str, str]:
    """``--api-override``: ``["http://127.0.0.1:8750=http://127.0.0.1:9000"]`` -> ``{catalog prefix: URL}``."""
    return parse_pairs(specs, "--api-override", "CATALOG_PREFIX=URL", "http://127.0.0.1:8750=http://127.0.0.1:9000")


# -- files and overrides --------------------------------------------------------------------------------

def read_config_file(path: str | Path, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """A mapping from a ``.toml``, ``.json`` or YAML (``.yaml``, ``.yml``, any other suffix) file."""
    path = Path(path)
    if not path.is_file():
        raise error.whole(None, f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:
        raise error.whole(None, f"{path}: cannot parse ({exc})") from exc
    if not isinstance(data, dict):
        raise error.whole(None, f"{path}: expected a mapping of field: value, got {type(data).__name__}")
    return data


def parse_sets(items: Iterable[str], error: type[ConfigError] = ConfigError,
               example: str | None = None) -> list[tuple[str, str, Any]]:
    """``--set field=value`` items -> ``(item, field, value)``; values are YAML (``null``, ``[a, b]``, ``1e-4``);
    an empty value is null."""
    import yaml

    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise error.whole(None, f"--set {item!r}: write field=value" + (f", e.g. --set {example}" if example
                                                                             else ""))
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise error.whole(key, f"--set {item!r}: the value is not YAML ({exc})") from exc
        out.append((item, key, value))
    return out


def load_config(cls: type[T], path: str | Path | None = None, sets: Iterable[str] | None = None, *,
                values: Mapping[str, Any] | None = None, base: T | None = None,
                error: type[ConfigError] = ConfigError, noun: str | None = None, example: str | None = None) -> T:
    """``cls`` from, lowest first: ``base`` (or the defaults), the file at ``path``, the ``--set`` items, and
    ``values`` (typed, e.g. a command's options; None values are left out, so an unset option keeps the file's or
    the default value). A nested config's fields are named flat or under their field. Errors are ``error`` naming
    the file or override and the field (``noun`` says whose field, e.g. "profile"; ``example`` is a
    ``field=value`` shown when an override is malformed)."""
    hints = typing.get_type_hints(cls)
    nested = {f.name: hints[f.name] for f in dataclasses.fields(cls)  # type: ignore[arg-type]
              if dataclasses.is_dataclass(hints[f.name])}
    owner = {sub.name: parent for parent, kind in nested.items() for sub in dataclasses.fields(kind)
             if sub.name not in hints}
    noun = noun or cls.__name__
    data: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {parent: {} for parent in nested}

    def put(source: str, key: str, value: Any, into: type = cls) -> None:
        fields_of = typing.get_type_hints(into)
        if into is cls and key in nested and isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                put(source, str(sub_key), sub_value, nested[key])
            return
        if into is cls and key in owner:
            into, fields_of = nested[owner[key]], typing.get_type_hints(nested[owner[key]])
        if key not in fields_of:
            known = sorted(fields_of) if into is not cls else sorted(set(fields_of) - set(nested) | set(owner))
            raise error.whole(key, f"{source}: no {noun} field {key!r}; known fields: {', '.join(known)}")
        value = _coerce(source, key, fields_of[key], value, error)
        if into is cls:
            data[key] = value
        else:
            parts[next(p for p, k in nested.items() if k is into)][key] = value

    if path is not None:
        for key, value in read_config_file(path, error).items():
            put(str(path), key, value)
    for item, key, value in parse_sets(sets or [], error, example):
        put(f"--set {item!r}", key, value)
    for key, value in (values or {}).items():
        if value is not None:
            put("options", key, value)
    if base is None:
        missing = [f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   and f.name not in data]
        if missing:
            raise error.whole(missing[0], f"{noun}: {', '.join(missing)} must be given (an option or a config field)")
    for parent, given in parts.items():
        if given:
            inner = data.get(parent) or (getattr(base, parent) if base is not None else None)
            data[parent] = dataclasses.replace(inner, **given) if inner is not None else nested[parent](**given)
    return dataclasses.replace(base, **data) if base is not None else cls(**data)  # type: ignore[type-var]


def _coerce(source: str, key: str, hint: Any, value: Any, error: type[ConfigError]) -> Any:
    """A number where a float is wanted (YAML reads 1e-4 as a string), a date from YYYY-MM-DD."""
    if _is_float(hint) and isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            raise error.whole(key, f"{source}: field {key!r} takes a number; got {value!r}") from None
    if _base_type(hint) is dt.date and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise error.whole(key, f"{source}: field {key!r} takes a date, YYYY-MM-DD; got {value!r}") from None
    return value


def _is_float(hint: Any) -> bool:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return float in typing.get_args(hint) and int not in typing.get_args(hint)
    return hint is float


# -- command-line options -------------------------------------------------------------------------------

def _base_type(hint: Any) -> Any:
    """``int | None`` -> ``int``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return hint


def _flat_fields(cls: type, skip: Iterable[str]) -> list[tuple[dataclasses.Field, Any]]:
    """The fields of ``cls`` with their types, a nested config's fields in its place."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in skip:
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            out.extend(_flat_fields(hints[f.name], skip))
        else:
            out.append((f, hints[f.name]))
    return out


def _names(option: str | tuple[str, ...]) -> tuple[str, ...]:
    return (option,) if isinstance(option, str) else tuple(option)


def _option(f: dataclasses.Field, hint: Any) -> inspect.Parameter:
    import typer

    kind = _base_type(hint)
    meta = f.metadata
    default = f.default if f.default is not dataclasses.MISSING else None  # a required field: the command checks
    if typing.get_origin(kind) is dict:
        kind, default = list[str], None  # repeatable KEY=VALUE
    elif meta.get("path"):
        kind = Path
    elif kind is dt.date:
        kind = str  # YYYY-MM-DD
    decls = list(_names(meta["option"])) if "option" in meta else []
    annotation = Annotated[kind if default is not None else kind | None,  # type: ignore[operator]
                           typer.Option(*decls, help=meta.get("help"))]
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


class OptionValues(dict):
    """The values of a command's generated options (field name -> value); ``given`` names those given a value
    on the command line or from the environment rather than left at their defaults."""

    given: frozenset[str] = frozenset()


_CTX = "options_context_"  # the parameter through which typer hands the generated command its context


def options(cls: type, skip: Iterable[str] = (), into: str = "settings") -> Callable[[F], F]:
    """Decorator of a typer command: one option per field of ``cls`` (a nested config's fields in its place), put
    where the command's ``into`` parameter is; the command gets their values as ``into`` (an
    :class:`OptionValues`, field name -> value as typed; :func:`from_options` builds ``cls`` from it,
    :func:`from_command` with a config file)."""
    import typer

    skip = tuple(skip)
    generated = [_option(f, hint) for f, hint in _flat_fields(cls, skip)]
    names = [p.name for p in generated]

    def decorate(func: F) -> F:
        own = inspect.signature(func, eval_str=True)
        params: list[inspect.Parameter] = []
        for p in own.parameters.values():
            if p.name == into:
                params.extend(generated)
            else:
                params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))
        own_ctx = next((p.name for p in params if p.annotation is typer.Context), None)  # typer fills one only
        if own_ctx is None:
            params.append(inspect.Parameter(_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            ctx = kwargs.get(own_ctx) if own_ctx else kwargs.pop(_CTX, None)
            settings = OptionValues((name, kwargs.pop(name)) for name in names)
            if ctx is not None:
                settings.given = frozenset(name for name in names if getattr(ctx.get_parameter_source(name), "name",
                                                                             "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP"))
            return func(**kwargs, **{into: settings})

        command.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command  # type: ignore[return-value]

    return decorate


def from_options(cls: type[T], settings: Mapping[str, Any], **values: Any) -> T:
    """``cls`` from the option values :func:`options` gathered (a path back to a string, ``KEY=VALUE`` items to a
    mapping, a date from YYYY-MM-DD, a nested config from its own fields); ``values`` replace options."""
    settings = {**settings, **values}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = _base_type(hints[f.name])
        if dataclasses.is_dataclass(kind):
            if f.name in settings:
                kwargs[f.name] = settings[f.name]
            else:
                kwargs[f.name] = from_options(kind, settings)
            continue
        if f.name in settings:
            kwargs[f.name] = _field_value(f, kind, settings[f.name])
    return cls(**kwargs)


def _field_value(f: dataclasses.Field, kind: Any, value: Any) -> Any:
    """An option's value as its field's."""
    option = _names(f.metadata.get("option", "--" + f.name.replace("_", "-")))[0]
    if typing.get_origin(kind) is dict and not isinstance(value, Mapping):
        number = (typing.get_args(kind) or (str, str))[-1]
        return parse_pairs(value, option, f.metadata.get("form", "KEY=VALUE"), f.metadata.get("example"),
                           number=number if number in (int, float) else None)
    if f.metadata.get("path") and value is not None:
        return str(value)
    if kind is dt.date and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ToolbenchError(f"{option} {value!r}: write a date as YYYY-MM-DD") from None
    return value


def given_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The options given a value (on the command line or from the environment) rather than left at their
    defaults: those an :class:`OptionValues` names, else those that are not None."""
    if isinstance(settings, OptionValues) and settings.given is not OptionValues.given:
        return {k: v for k, v in settings.items() if k in settings.given}
    return {k: v for k, v in settings.items() if v is not None}


def from_command(cls: type[T], settings: Mapping[str, Any], path: str | Path | None = None,
                 sets: Iterable[str] | None = None, *, error: type[ConfigError] = ConfigError,
                 example: str | None = None, **values: Any) -> T:
    """A command's config, lowest first: the defaults, the ``--config`` file at ``path``, the ``--set`` items,
    the options given on the command line (:func:`given_options`; an option left at its default keeps the file's
    value), and ``values`` (e.g. a positional argument; None: unset)."""
    hints = {f.name: (f, _base_type(hint)) for f, hint in _flat_fields(cls, ())}
    typed = {k: _field_value(*hints[k], v) if k in hints else v for k, v in given_options(settings).items()}
    return load_config(cls, path, sets, values={**typed, **values}, error=error, example=example)
