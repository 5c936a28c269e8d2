"""llama.cpp as a library, for the engine (:mod:`toolbench.llm.llamacpp`) and GGUF export: importing
``llama_cpp`` (with OpenMP's waiting set first), its quantizer, its log routed to Python logging, GBNF grammars
for constraints (:class:`~toolbench.llm.constraints.Constraint`), and a GGUF file's own chat template."""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.llm.constraints import CALL_HEAD, CALL_MIDDLE, CALL_SEPARATOR, CALL_TAIL, Constraint

log = logging.getLogger(__name__)


class EngineUnavailable(ToolbenchError):
    """llama-cpp-python is not installed or failed to load."""


def import_llama_cpp() -> Any:
    """``llama_cpp`` or :class:`EngineUnavailable` saying why and what to do.

    llama.cpp's OpenMP build synchronises its threads with ``omp barrier`` hundreds of times per token; with
    ``OMP_WAIT_POLICY=PASSIVE`` (which the transformers side sets against spinning torch threads) every barrier
    sleeps and decoding ran at a third of its speed (SmolLM2-135M Q8_0: 24 vs 67 tokens/s). So before libgomp loads
    here, ``GOMP_SPINCOUNT`` (which overrides the wait policy) is set to GOMP's own default unless the user set it."""
    os.environ.setdefault("GOMP_SPINCOUNT", "300000")
    try:
        import llama_cpp
    except Exception as exc:  # ImportError, or OSError from a broken shared library
        raise EngineUnavailable(
            f"the llama.cpp engine is not available ({type(exc).__name__}: {exc}); `make install` builds "
            "llama-cpp-python from source (cmake and a C++ compiler needed), or serve with --engine transformers"
        ) from exc
    return llama_cpp


# GGUF file types by name (llama.cpp's ``llama_ftype`` values).
FILE_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9, "q4_k_m": 15, "q5_k_m": 17,
              "q6_k": 18, "bf16": 32}


def quantize_gguf(src: str | Path, dst: str | Path, quant: str, *, threads: int | None = None,
                  allow_requantize: bool = False) -> Path:
    """Write ``src`` as GGUF type ``quant`` to ``dst`` with llama.cpp's quantizer (``allow_requantize``: also from
    an already quantised file, e.g. the packaged Q4_1 to Q8_0)."""
    if quant not in FILE_TYPES:
        raise ToolbenchError(f"GGUF type {quant!r} is not one of {', '.join(FILE_TYPES)}")
    lib = import_llama_cpp()
    quiet(lib)
    params = lib.llama_model_quantize_default_params()
    params.ftype = FILE_TYPES[quant]
    params.nthread = threads or 0
    params.allow_requantize = allow_requantize
    status = lib.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if status != 0:
        raise ToolbenchError(f"llama.cpp's quantizer failed on {src} -> {quant} (return code {status})")
    return Path(dst)


def llama_cpp_available() -> tuple[bool, str]:
    """(importable, why not)."""
    try:
        import_llama_cpp()
    except EngineUnavailable as exc:
        return False, str(exc)
    return True, ""


_LOG_CALLBACK: Any = None


def quiet(lib: Any) -> None:
    """Route llama.cpp's log lines to Python logging (debug; errors as warnings) instead of stderr."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return

    def _log(level: int, text: bytes, _data: Any) -> None:
        message = text.decode("utf-8", "replace").rstrip()
        if message:
            log.log(logging.WARNING if level in (3, 4) else logging.DEBUG, "llama.cpp: %s", message)

    _LOG_CALLBACK = lib.llama_log_callback(_log)
    lib.llama_log_set(_LOG_CALLBACK, None)


# ---- grammars ---------------------------------------------------------------------------------------------------

def _gbnf_literal(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# What the grammar leaves to the caller's own validation of the arguments (the executor checks the full schema):
# a string ``pattern`` (the schema converter copies regex escapes such as ``\s`` into character classes, which
# llama.cpp's grammar parser refuses: an email pattern failed every request offering the tool with a 500), and
# length or item-count bounds above GRAMMAR_MAX_BOUND (written as that many nested rules: a grammar 15x larger).
GRAMMAR_MAX_BOUND = 32
_BOUNDS = ("maxLength", "minLength", "maxItems", "minItems")


def grammar_schema(schema: Any) -> Any:
    """``schema`` without string patterns and without length and item-count bounds above
    :data:`GRAMMAR_MAX_BOUND`, at any depth."""
    if isinstance(schema, list):
        return [grammar_schema(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: grammar_schema(v) for k, v in schema.items()
            if not (k in _BOUNDS and isinstance(v, int) and v > GRAMMAR_MAX_BOUND)
            and not (k == "pattern" and isinstance(v, str))}


@functools.lru_cache(maxsize=256)
def gbnf_for(constraint: Constraint) -> str:
    """The GBNF grammar (root rule ``root``) of a constraint. Calls: the exact layout of
    :func:`toolbench.llm.toolcalls.format_tool_call`, one or more, separated by newlines; JSON: the schema's."""
    from llama_cpp.llama_grammar import SchemaConverter

    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    if constraint.kind == "json":
        schema = grammar_schema(constraint.schema or {"type": "object"})
        schema = converter.resolve_refs(schema, "schema")
        converter.visit(schema, "answer")
        rules = converter.format_grammar()
        return f"root ::= answer\n{rules}"
    alternatives = []
    for i, (name, schema) in enumerate(constraint.function_schemas()):
        schema = converter.resolve_refs(grammar_schema(schema), f"fn{i}")
        rule = converter.visit(schema, f"args{i}")
        alternatives.append(f"{_gbnf_literal(json.dumps(name, ensure_ascii=False) + CALL_MIDDLE)} {rule}")
    if not alternatives:
        raise ToolbenchError("a tool-call constraint needs at least one function")
    lines = [
        # After a call: another one, or at most two newlines and the end. A model that wants to go on in prose
        # (SmolLM2 writes "\n\n" and an explanation) is led to stop instead of into another call.
        (f"root ::= call ({_gbnf_literal(CALL_SEPARATOR)} call)* ({_gbnf_literal(CALL_SEPARATOR)} "
         f"{_gbnf_literal(CALL_SEPARATOR)}?)?"),
        f"call ::= {_gbnf_literal(CALL_HEAD)} ({' | '.join(alternatives)}) {_gbnf_literal(CALL_TAIL)}",
        converter.format_grammar(),
    ]
    return "\n".join(lines)


# ---- the chat template of a GGUF file ---------------------------------------------------------------------------

class GGUFChatTemplate:
    """What :func:`toolbench.llm.template.render_prompt` needs of a tokenizer, from a GGUF file's own chat template
    (``tokenizer.chat_template``), rendered by transformers' Jinja renderer as a HF tokenizer would."""

    def __init__(self, chat_template: str | None, bos_token: str = "", eos_token: str = "") -> None:
        self.chat_template = chat_template
        self.bos_token = bos_token
        self.eos_token = eos_token

    def apply_chat_template(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                            add_generation_prompt: bool = True, tokenize: bool = False, **kwargs: Any) -> str:
        from transformers.utils.chat_template_utils import render_jinja_template

        if not self.chat_template:
            raise ToolbenchError("this model has no chat template")
        rendered = render_jinja_template(conversations=[messages], tools=tools, chat_template=self.chat_template,
                                         add_generation_prompt=add_generation_prompt, bos_token=self.bos_token,
                                         eos_token=self.eos_token, **kwargs)
        texts = rendered[0] if isinstance(rendered, tuple) else rendered
        return texts[0] if isinstance(texts, list) else texts


def regex_escape(text: str) -> str:
    """``text`` as a literal for llama.cpp's std::regex (ECMAScript)."""
    return "".join("\\" + ch if ch in r"\^$.|?*+()[]{}/" else ch for ch in text)
