"""The call-or-text decision under ``tool_choice: "auto"``, made with a calibrated threshold.

With tools offered and ``tool_choice`` ``"auto"``, the first token of the reply decides whether the model calls a
function (the call format starts with ``<tool_call>``, :data:`toolbench.llm.constraints.TRIGGER`) or answers in
text. Greedy decoding takes that decision by the argmax, which for a small tuned model is badly calibrated: the
SmolLM2-135M of the demo ranks BFCL's call entries above its irrelevance entries by the probability of that first
token almost perfectly (AUC 0.97-0.98 on the dev slice), yet answers a quarter of the call entries in text, and
the same data with fewer no-call examples flips it to calling on nearly everything. Where the argmax puts the
switch moves from one training run to the next; the ranking does not.

So a server may take the decision by a threshold instead (``toolbench llm serve --call-threshold T``): the reply
starts a call when the model's probability of the call's first token is at least ``T``, and is text otherwise
(that token is then banned at the first step only; the rest of the reply is decoded as usual). A reply the
threshold starts as a call is given the whole opening ``<tool_call>``, then decoded as usual (under the lazy call
grammar when the server constrains calls). Requests with ``tool_choice`` ``"required"``, a named function,
``"none"`` or no tools are never gated.

``T`` is chosen for a model by :func:`calibrate` (``toolbench llm calibrate``), like a classifier's decision
threshold: on labelled requests it was not trained on, the value that maximises balanced accuracy (the mean of
the call and the no-call recall), in the geometric middle of the interval of values that reach it. The requests
should look like the ones the model will serve: the generated examples the training mix left out
(:func:`labelled_requests` of ``train mix``'s ``calibration.jsonl``) hold near-miss no-call requests much harder
than BFCL's irrelevance entries, and the threshold they give (0.73-0.78 for the demo's model) answers most BFCL
call entries in text, where BFCL's declared dev slice gives 0.13-0.34 (:func:`eval.public_sample.dev_requests`).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolbench.errors import ToolbenchError
from toolbench.llm.constraints import TRIGGER


def call_opening(tokenize: Callable[[str], list[int]]) -> list[int]:
    """The tokens of the call format's opening, :data:`~toolbench.llm.constraints.TRIGGER` (for SmolLM2's
    tokenizer ``<``, ``tool``, ``_``, ``call``, ``>``). The decision is taken on the first one's probability;
    once it is "call", the engine writes the rest (after ``<`` alone the model may go on with ``<story>``)."""
    ids = tokenize(TRIGGER)
    if not ids:
        raise ToolbenchError(f"the tokenizer turns {TRIGGER!r} into no tokens")
    return ids


def token_probability(logits: Any, token: int) -> float:
    """Softmax probability of ``token`` under a 1-D array of logits (numpy or torch)."""
    import numpy as np

    values = np.asarray(logits, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if not np.isfinite(values[token]) or finite.size == 0:
        return 0.0
    top = finite.max()
    return float(math.exp(values[token] - top) / np.exp(finite - top).sum())


def check_threshold(value: Any, where: str = "call_threshold") -> float | None:
    """``value`` as a threshold (None: no gate); a clear error for anything outside (0, 1)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ToolbenchError(f"{where} must be a probability strictly between 0 and 1; got {value!r}")
    return float(value)


@dataclass
class Calibration:
    """The threshold chosen for a model and how it separates the calibration requests."""

    threshold: float
    balanced_accuracy: float
    call_recall: float  # share of requests that want a call whose probability reaches the threshold
    text_recall: float  # share of requests that want text whose probability stays below it
    auc: float  # how well the probability ranks call requests above text ones (0.5: not at all)
    calls: int
    texts: int
    model: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _auc(calls: Sequence[float], texts: Sequence[float]) -> float:
    """Probability that a random call request scores above a random text one (ties count half)."""
    ordered = sorted([(s, 1) for s in calls] + [(s, 0) for s in texts])
    rank_sum = 0.0
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(label for _, label in ordered[i:j])
        i = j
    n1, n0 = len(calls), len(texts)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)


def choose_threshold(calls: Sequence[float], texts: Sequence[float], floor: float = 1e-6) -> Calibration:
    """The threshold maximising balanced accuracy on call-wanting (``calls``) and text-wanting (``texts``)
    requests' first-token call probabilities; see the module docstring."""
    if not calls or not texts:
        raise ToolbenchError(f"calibration needs requests that want a call and requests that want text; got "
                             f"{len(calls)} and {len(texts)}")
    scores = sorted(set(calls) | set(texts))
    # a candidate threshold t is "call when p >= t": every distinct score, and 1 (never call)
    best, best_at = -1.0, []
    for t in [*scores, 1.0]:
        value = (sum(p >= t for p in calls) / len(calls) + sum(p < t for p in texts) / len(texts)) / 2
        if value > best + 1e-12:
            best, best_at = value, [t]
        elif abs(value - best) <= 1e-12:
            best_at.append(t)
    low = min(best_at)
    below = [s for s in scores if s < low]
    # every t in (the score below low, low] gives the same decisions: take the geometric middle of that interval
    bottom = max(below[-1] if below else floor, floor)
    threshold = min(max(math.sqrt(bottom * max(low, floor)), floor), 1 - 1e-9)
    return Calibration(threshold=threshold, balanced_accuracy=best,
                       call_recall=sum(p >= threshold for p in calls) / len(calls),
                       text_recall=sum(p < threshold for p in texts) / len(texts),
                       auc=_auc(calls, texts), calls=len(calls), texts=len(texts))


def write_calibration(calibration: Calibration, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration.to_dict(), indent=1) + "\n", encoding="utf-8")
    return path


def read_threshold(value: str) -> float:
    """A ``--call-threshold`` value: a number, or a calibration file written by ``toolbench llm calibrate``."""
    try:
        number = float(value)
    except ValueError:
        path = Path(value)
        if not path.is_file():
            raise ToolbenchError(f"--call-threshold: {value!r} is neither a number nor a calibration file") from None
        try:
            number = json.loads(path.read_text(encoding="utf-8"))["threshold"]
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise ToolbenchError(f"{path}: not a calibration file (no 'threshold' field): {exc}") from exc
        return check_threshold(number, f"{path}: threshold")  # type: ignore[return-value]
    return check_threshold(number, "--call-threshold")  # type: ignore[return-value]


@dataclass
class LabelledRequest:
    """A request (the messages before the first assistant turn, and the tools offered) and whether its answer
    is a call."""

    id: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    wants_call: bool


def labelled_requests(path: str | Path) -> list[LabelledRequest]:
    """The requests of an OpenAI fine-tuning JSONL file (``messages`` and ``tools``, as ``train mix`` writes
    ``calibration.jsonl``), labelled by their first assistant turn: a call when it has ``tool_calls``. Rows
    without tools or without an assistant turn are skipped; a row that is not an example is an error naming
    its line."""
    from toolbench.formats.jsonl import read_rows

    out = []
    for row in read_rows(path):
        data = row.data
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise row.error("expected an object with a 'messages' list (an OpenAI fine-tuning example)")
        tools = data.get("tools") or []
        if not isinstance(tools, list):
            raise row.error("'tools' must be a list of OpenAI tools")
        messages = []
        answer = None
        for message in data["messages"]:
            if not isinstance(message, dict) or "role" not in message:
                raise row.error("every message must be an object with a 'role'")
            if message["role"] == "assistant":
                answer = message
                break
            messages.append(message)
        if tools and answer is not None and messages:
            out.append(LabelledRequest(str(data.get("id", row.line or row.index)), messages, tools,
                                       bool(answer.get("tool_calls"))))
    return out


def calibrate(generator: Any, requests: Sequence[LabelledRequest], *, limit: int = 150, seed: int = 0,
              source: str = "", progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Choose ``generator``'s threshold (:func:`choose_threshold`) on labelled ``requests`` (from
    :func:`labelled_requests`, or BFCL's dev slice: :func:`eval.public_sample.dev_requests`): at most ``limit``
    that want a call and ``limit`` that want text, drawn with ``seed``; requests longer than the model's context
    are left out. ``generator`` is an engine with ``render``, ``count_tokens`` and ``call_probability``
    (llama.cpp or transformers); ``source`` says where the requests came from."""
    rng = random.Random(seed)
    chosen = []
    for wants in (True, False):
        group = [r for r in requests if r.wants_call is wants]
        chosen += rng.sample(group, min(limit, len(group)))
    scores: dict[bool, list[float]] = {True: [], False: []}
    for done, request in enumerate(chosen, 1):
        prompt = generator.render(request.messages, request.tools, "auto").text
        if generator.count_tokens(prompt) < generator.context_length:
            scores[request.wants_call].append(generator.call_probability(prompt))
        if progress is not None:
            progress(done, len(chosen))
    calibration = choose_threshold(scores[True], scores[False])
    calibration.model = getattr(generator, "name", "")
    calibration.source = source
    return calibration


def calibrate_model(config: Any, requests: Sequence[LabelledRequest], **options: Any) -> Calibration:
    """Load the model of ``config`` (a :class:`toolbench.llm.engines.ServerConfig`, one sequence), run
    :func:`calibrate` on ``requests`` with ``options``, and free the engine."""
    from toolbench.llm.engines import load_generator

    generator, _ = load_generator(config)
    try:
        return calibrate(generator, requests, **options)
    finally:
        if hasattr(generator, "close"):
            generator.close()
