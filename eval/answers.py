"""A model's answers to ToolBench-style tasks, read for judging: the query, the tools offered, the steps taken,
and how the run finished.

Three inputs give the same :class:`Prediction`:

- StableToolBench's converted predictions (``model_predictions_converted/<model>/<group>.json``): ``{query_id:
  {"query", "available_tools", "answer": {"method", "total_steps", "final_answer", "answer_details"}}}``, where
  ``answer_details`` is a chain of nodes ``{"role", "message", "next": [node]}``. A ``tool`` node's message is
  ``{"name", "arguments", "response"}``, or, in older files, that dict as ``str(dict)`` text, often truncated.
- ToolBench answer files (``<query_id>_<method>.json``, what ``annotate`` exports): ``answer_generation`` holds
  the query, the ``function`` schemas offered, ``final_answer`` and, when the run reached an answer
  (``valid_data``), the chosen path as ``train_messages[-1]`` (``function_call``/``function`` or ``tool_calls``/
  ``tool`` turns). Otherwise the attempt is read from ``trys`` (CoT; the last try) or ``tree`` (DFS; depth-first
  order), which is what StableToolBench's converter does too, except that it picks a CoT try at random.
- A directory of such answer files (one group).

How a run finished (:attr:`Prediction.finish_type`) follows ToolEval: the run finished only if its last tool
step is a call of ``Finish``; ``give_up`` when the Finish arguments say ``give_up_and_restart`` (or carry no
final answer), ``give_answer`` otherwise; ``None`` when there is no Finish call at all.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.formats import answers as F
from toolbench.formats.answers import ACTION, ACTION_INPUT, THOUGHT
from toolbench.formats.finish import FINISH, tooleval_finish


class AnswerFileError(ToolbenchError):
    """A predictions file or answer file could not be read; the message names the file and the field."""


def _objects(value: Any, where: str) -> list[Mapping[str, Any]]:
    """``value`` as a list of objects (None and [] give []); anything else is an AnswerFileError at ``where``."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise AnswerFileError(f"{where}: must be a list of objects")
    return value


@dataclass(frozen=True)
class Step:
    """One step of a run: a tool call (``role="tool"``: name, argument text, observation text) or an assistant
    message without a call (``role="assistant"``: its text in ``content``)."""

    role: str
    name: str = ""
    arguments: str = ""
    response: str = ""
    content: str = ""

    def to_message(self) -> dict[str, Any] | str:
        """The node message of StableToolBench's converted format."""
        if self.role == "tool":
            return {"name": self.name, "arguments": self.arguments, "response": self.response}
        return self.content


@dataclass
class Prediction:
    """One answer to one task, as a judge sees it."""

    query_id: str
    query: str
    tools: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    final_answer: str = ""  # the Finish call's final_answer text ("" when none)
    finish_type: str | None = None  # give_answer | give_up | None (no Finish call)
    raw_final_answer: str = ""  # the Finish arguments as stored
    method: str = ""

    @property
    def tool_names(self) -> list[str]:
        return [_tool_name(tool) for tool in self.tools]

    @property
    def called(self) -> list[str]:
        """Names of the functions called, in order (Finish included)."""
        return [step.name for step in self.steps if step.role == "tool"]

    def hallucinated_calls(self) -> list[str]:
        """Calls of functions that were not offered (ToolEval's hallucination check); Finish is always offered."""
        offered = set(self.tool_names) | {FINISH}
        return [name for name in self.called if name not in offered]

    def answer_view(self, max_response_chars: int = 1500) -> dict[str, Any]:
        """What the judge is shown of the run: the final answer and each step, long observations cut."""
        steps = []
        for step in self.steps:
            if step.role == "tool":
                response = step.response
                if len(response) > max_response_chars:
                    response = response[:max_response_chars] + f"... [{len(step.response) - max_response_chars} more chars]"
                steps.append({"call": step.name, "arguments": step.arguments, "response": response})
            elif step.content:
                steps.append({"thought": step.content})
        return {"finish_type": self.finish_type, "final_answer": self.final_answer, "steps": steps}

    def to_converted(self) -> dict[str, Any]:
        """The entry of a StableToolBench converted-predictions file (``{query, available_tools, answer}``)."""
        nodes: list[dict[str, Any]] = [{"role": "system", "message": ""}, {"role": "user", "message": self.query}]
        nodes += [{"role": step.role, "message": step.to_message()} for step in self.steps]
        head: dict[str, Any] | None = None
        for node in reversed(nodes):
            node["next"] = [head] if head is not None else []
            head = node
        return {
            "query": self.query,
            "available_tools": self.tools,
            "answer": {
                "method": self.method,
                "total_steps": len(nodes),
                "final_answer": self.raw_final_answer,
                "answer_details": [head],
            },
        }


def _tool_name(tool: Mapping[str, Any]) -> str:
    if isinstance(tool.get("function"), Mapping):
        return str(tool["function"].get("name", ""))
    return str(tool.get("name", ""))


def _finish(steps: list[Step], stored_final_answer: str) -> tuple[str | None, str]:
    """ToolEval's rule: finished only if the last tool step calls Finish."""
    tool_steps = [step for step in steps if step.role == "tool"]
    if not tool_steps or tool_steps[-1].name != FINISH:
        return None, ""
    arguments = tool_steps[-1].arguments
    # Older converted files truncate the step text; the stored final answer is then the complete Finish arguments.
    if stored_final_answer and (not arguments or len(stored_final_answer) >= len(arguments)):
        arguments = stored_final_answer
    return tooleval_finish(arguments)


# -- StableToolBench converted predictions -----------------------------------------------------------------------

_STR_NAME = re.compile(r"""['"]name['"]\s*:\s*['"](.*?)['"]""", re.DOTALL)
_STR_ARGS = re.compile(r"""['"]arguments['"]\s*:\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""", re.DOTALL)


def _tool_step_from_text(text: str) -> Step:
    """A tool node whose message is ``str(dict)`` text (older files), possibly truncated."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, Mapping):
        return _tool_step(value)
    name = _STR_NAME.search(text)
    match = _STR_ARGS.search(text)
    arguments = ""
    if match:
        try:
            arguments = str(ast.literal_eval(match.group(1)))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            arguments = match.group(1)[1:-1]
    return Step("tool", name=name.group(1) if name else "", arguments=arguments)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _tool_step(message: Mapping[str, Any]) -> Step:
    return Step("tool", name=_text(message.get("name")), arguments=_text(message.get("arguments")),
                response=_text(message.get("response")))


def _walk_chain(nodes: list[Any], where: str) -> Iterator[dict[str, Any]]:
    """The nodes of ``answer_details`` in order (a chain; on a branch, the first child is followed)."""
    while nodes:
        node = nodes[0]
        if not isinstance(node, Mapping) or "role" not in node:
            raise AnswerFileError(f"{where}: answer_details node must be an object with 'role' and 'message'")
        yield node  # type: ignore[misc]
        nodes = _objects(node.get("next"), f"{where}: next")


def from_converted(query_id: str, entry: Mapping[str, Any], where: str = "") -> Prediction:
    """A :class:`Prediction` from one entry of a converted-predictions file."""
    where = where or f"query {query_id}"
    for key in ("query", "answer"):
        if key not in entry:
            raise AnswerFileError(f"{where}: missing field '{key}' (a converted prediction has query, "
                                  "available_tools and answer)")
    answer = entry["answer"]
    if not isinstance(answer, Mapping):
        raise AnswerFileError(f"{where}.answer: must be an object with final_answer and answer_details")
    steps: list[Step] = []
    details = answer.get("answer_details")
    if not isinstance(details, list) and details is not None:
        raise AnswerFileError(f"{where}.answer.answer_details: must be a list of nodes")
    tools = _objects(entry.get("available_tools") or None, f"{where}.available_tools")
    for node in _walk_chain(details or [], f"{where}.answer.answer_details"):
        role, message = node["role"], node.get("message")
        if role == "tool":
            steps.append(_tool_step(message) if isinstance(message, Mapping) else _tool_step_from_text(_text(message)))
        elif role == "assistant":
            steps.append(Step("assistant", content=_text(message)))
    raw_final = _text(answer.get("final_answer"))
    finish_type, final_text = _finish(steps, raw_final)
    return Prediction(query_id=str(query_id), query=_text(entry["query"]), tools=list(tools),
                      steps=steps, final_answer=final_text, finish_type=finish_type, raw_final_answer=raw_final,
                      method=_text(answer.get("method")))


# -- ToolBench answer files ---------------------------------------------------------------------------------------


def _steps_from_messages(messages: list[Mapping[str, Any]], where: str = "train_messages") -> list[Step]:
    """Steps from a ``train_messages`` conversation (legacy function_call or tool_calls form)."""
    steps: list[Step] = []
    for index, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        if message.get("function_call"):
            call = message["function_call"]
            if not isinstance(call, Mapping):
                raise AnswerFileError(f"{where}[{index}].function_call: must be an object {{name, arguments}}")
            name = _text(call.get("name"))
            response = ""
            if name != FINISH and index + 1 < len(messages) and messages[index + 1].get("role") in ("function", "tool"):
                response = _text(messages[index + 1].get("content"))
            steps.append(Step("tool", name=name, arguments=_text(call.get("arguments")), response=response))
        elif message.get("tool_calls"):
            for call in _objects(message["tool_calls"], f"{where}[{index}].tool_calls"):
                function = call.get("function") or {}
                if not isinstance(function, Mapping):
                    raise AnswerFileError(f"{where}[{index}].tool_calls: 'function' must be an object")
                name = _text(function.get("name"))
                response = ""
                if name != FINISH:
                    for later in messages[index + 1:]:
                        if later.get("role") == "tool" and later.get("tool_call_id") == call.get("id"):
                            response = _text(later.get("content"))
                            break
                steps.append(Step("tool", name=name, arguments=_text(function.get("arguments")), response=response))
                if name == FINISH:
                    break
        else:
            steps.append(Step("assistant", content=_text(message.get("content"))))
    return steps


def _steps_from_chain(chain: list[Mapping[str, Any]]) -> list[Step]:
    """Steps from ToolBench nodes (Thought / Action / Action Input) in order."""
    steps: list[Step] = []
    index = 0
    while index < len(chain):
        node = chain[index]
        kind = node.get("node_type")
        if kind == ACTION:
            follow = chain[index + 1] if index + 1 < len(chain) else {}
            if follow.get("node_type") == ACTION_INPUT:
                steps.append(Step("tool", name=_text(node.get("description")),
                                  arguments=_text(follow.get("description")), response=_text(follow.get("observation"))))
                index += 1
            else:
                steps.append(Step("tool", name=_text(node.get("description"))))
        elif kind == THOUGHT:
            steps.append(Step("assistant", content=_text(node.get("description"))))
        index += 1
    return steps


def from_answer_file(data: Mapping[str, Any], query_id: str, where: str = "") -> Prediction:
    """A :class:`Prediction` from the content of a ToolBench answer file."""
    where = where or f"answer {query_id}"
    try:
        answer = F.parse_answer(data, where)
    except F.AnswerFormatError:
        raise AnswerFileError(f"{where}: missing 'answer_generation' (not a ToolBench answer file)") from None
    try:
        return _prediction(answer, query_id, where)
    except F.AnswerFormatError as exc:
        raise AnswerFileError(str(exc)) from None


def _prediction(answer: F.AnswerFile, query_id: str, where: str) -> Prediction:
    generation = answer.generation
    if generation.query is None:
        raise AnswerFileError(f"{where}.answer_generation: missing field 'query'")
    messages = generation.train_messages or []
    tools = _objects(generation.functions or None, f"{where}.answer_generation.function")
    if generation.valid_data and messages:
        if not isinstance(messages, list):
            raise AnswerFileError(f"{where}.answer_generation.train_messages: must be a list of conversations")
        at = f"{where}.answer_generation.train_messages[-1]"
        steps = _steps_from_messages(_objects(messages[-1], at), at)
    elif answer.trys:
        trys = _objects(answer.trys, f"{where}.trys")
        steps = _steps_from_chain(_objects(trys[-1].get("chain") or None, f"{where}.trys[-1].chain"))
    elif answer.root is not None:
        steps = _steps_from_chain(F.preorder(answer.root, f"{where}.tree.tree"))
    else:
        steps = []
    raw_final = _text(generation.final_answer)
    finish_type, final_text = _finish(steps, raw_final)
    method = {F.DFS: "DFS", F.COT: "CoT"}.get(answer.layout, "")
    return Prediction(query_id=str(query_id), query=_text(generation.query),
                      tools=list(tools), steps=steps, final_answer=final_text,
                      finish_type=finish_type, raw_final_answer=raw_final, method=method)


# -- files and directories ------------------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    from toolbench.formats.jsonl import DataFileError, read_json

    try:
        return read_json(path)
    except DataFileError as exc:
        raise AnswerFileError(str(exc)) from None


def read_predictions(path: str | Path) -> dict[str, Prediction]:
    """``{query_id: Prediction}`` from a converted-predictions file or a directory of ToolBench answer files
    (``<query_id>_<method>.json``; a query answered by several files is an error)."""
    path = Path(path)
    if path.is_dir():
        out: dict[str, Prediction] = {}
        for file in sorted(path.glob("*.json")):
            query_id = F.query_id_of(file)
            if query_id in out:
                raise AnswerFileError(f"{path}: query {query_id} is answered by more than one file; keep one method "
                                      "per directory")
            data = _load_json(file)
            if not isinstance(data, Mapping):
                raise AnswerFileError(f"{file}: an answer file holds one JSON object")
            prediction = from_answer_file(data, query_id, where=str(file))
            stem_method = file.stem.split("_", 1)[1] if "_" in file.stem else ""
            prediction.method = stem_method or prediction.method
            out[query_id] = prediction
        if not out:
            raise AnswerFileError(f"{path}: no *.json answer files in this directory")
        return out
    if not path.is_file():
        raise AnswerFileError(f"{path}: no such file or directory (give a converted predictions file or a directory "
                              "of ToolBench answer files)")
    data = _load_json(path)
    if not isinstance(data, Mapping):
        raise AnswerFileError(f"{path}: a converted predictions file is one JSON object {{query_id: prediction}}")
    if not data:
        raise AnswerFileError(f"{path}: the file holds no predictions")
    out = {}
    for query_id, entry in data.items():
        if not isinstance(entry, Mapping):
            raise AnswerFileError(f"{path}: query {query_id}: each prediction must be an object")
        out[str(query_id)] = from_converted(str(query_id), entry, where=f"{path}: query {query_id}")
    return out


def group_of(path: str | Path) -> str:
    """The group a predictions path holds: the file stem (``G1_instruction.json``) or the directory name."""
    path = Path(path)
    return path.name if path.is_dir() else path.stem


def model_of(path: str | Path) -> str:
    """The model a predictions path belongs to: the parent directory's name
    (``model_predictions_converted/<model>/<group>.json``, ``answer/<model>/<group>/``)."""
    return Path(path).resolve().parent.name


def write_converted(predictions: Mapping[str, Prediction], path: str | Path) -> Path:
    """Write predictions as a StableToolBench converted-predictions file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {query_id: prediction.to_converted() for query_id, prediction in predictions.items()}
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
