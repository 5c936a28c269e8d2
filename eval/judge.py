"""Pass rate and win rate with an LLM judge: ToolEval's decisions and rules, StableToolBench's SoPR and SoWR.

The judge is any :class:`~toolbench.llm.base.ChatModel` (a hosted model, ``toolbench llm serve``, or the scripted
fake in tests). It is asked four kinds of question, each with our own prompt written to ask for the decision
ToolEval asks for, and answers by calling a function offered to it (``tool_choice`` names it) or, for models
without function calling, with a JSON object in its text:

- ``answer_status``: is the final answer a solution of the query? Solved / Unsolved / Unsure.
- ``detailed_answer_status``: asked when the first answer is Unsure, now with the run's steps (calls and
  observations): does what the tools returned support the answer? Solved / Unsolved / Unsure.
- ``task_solvable``: could the query be solved with the tools offered? Solvable / Unsolvable / Unsure.
- ``better_answer``: which of two answers is better? index 0 or 1.

Pass rate, per judgment of one answer (:func:`judge_pass`), ToolEval's rules:

1. No Finish call (the run ended without a final answer): Unsolved, failed; the judge is not asked.
2. Finish with ``give_up_and_restart`` or an empty final answer: Unsolved without asking; then rule 4.
3. Otherwise ``answer_status``, and ``detailed_answer_status`` when that says Unsure. Solved: passed.
4. Not Solved: ``task_solvable`` (the solvability check). Unsolved + Solvable: failed; Unsolved + Unsure: unsure;
   Unsolved + Unsolvable: passed (nothing better was possible); Unsure + Solvable or Unsure: unsure;
   Unsure + Unsolvable: passed.
5. An unsure label is resolved to passed or failed by a coin, as ToolEval does, but a seeded one (sha256 of the
   seed, group, query and sample), so reruns agree.

A task whose expected result is known (``Query.expectation``) is checked by rules instead (:mod:`eval.expectation`):
Solved or Unsolved, passed or failed, no judge.

Each query is judged k times (``sample`` 0..k-1); each request carries a ``seed`` derived from (base seed, sample,
retry) (:func:`request_seed`), so k samples are k distinct requests and, behind the record/replay cache
(:class:`toolbench.llm.cache.CachedChatModel`), a rerun replays every judgment and gives identical figures. The
same answer asked in a win-rate run hits the same cache entries as in its pass-rate run.

Win rate, per round of one query (:func:`judge_preference`), StableToolBench's procedure: a missing answer loses;
otherwise both answers get their answer status (as above, sample = round); if exactly one is Solved it wins;
if both are, ``better_answer`` picks; if none is, the same with Unsure, and failing that ``better_answer`` between
both. Identical answers tie. Two departures, both fixes of StableToolBench's script: the order in which the two
answers are shown alternates by round (its swap is dead code, so the reference was always shown first), and the
answer statuses are always used (its shortcut compares a dict's text with a status and never fires).

An unreadable reply is retried (``max_attempts``); if none is readable the decision is Unsure (for
``better_answer``, a tie) and the judgment row says ``unreadable``.

The questions and the reading of replies are in :mod:`eval.judge_questions`; StableToolBench's file forms of the
results in :mod:`eval.judge_outputs`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from eval import expectation as expect
from eval.answers import Prediction

# the questions and how replies are read live in eval/judge_questions.py; their names stay importable from here
from eval.judge_questions import (
    ANSWER_STATUS,
    BETTER_ANSWER,
    DETAILED_ANSWER_STATUS,
    SOLVABLE,
    TASK_SOLVABLE,
    UNSOLVABLE,
    Question,
    build_messages,
    parse_decision,
)
from eval.metrics import FAILED, PASSED, SOLVED, UNSOLVED, UNSURE
from toolbench.errors import ToolbenchError
from toolbench.formats.finish import FINISH, GIVE_UP
from toolbench.llm.base import ChatModel

UNSURE_LABEL = "unsure"
T = TypeVar("T")


class JudgeError(ToolbenchError):
    """The judge cannot be used as configured (bad option, bad input); the message says what to change."""


# -- the judge ----------------------------------------------------------------------------------------------------


@dataclass
class JudgeConfig:
    """How the judge is asked."""

    temperature: float = field(default=0.2, metadata={"help": "Sampling temperature of judge requests (ToolEval "
                                                               "uses 0.2); > 0 so that k samples can differ."})
    max_tokens: int | None = field(default=1024, metadata={"help": "Reply length limit of one judge request."})
    seed: int = field(default=0, metadata={"help": "Base seed of the request seeds (one per sample and retry) and "
                                                   "of the coin that resolves unsure pass labels."})
    max_attempts: int = field(default=3, metadata={"help": "Requests per decision while the reply is unreadable."})
    use_tools: bool = field(default=True, metadata={"help": "Offer the decision as a function to call (named "
                                                            "tool_choice); off: ask for JSON in the text only."})
    max_response_chars: int = field(default=1500, metadata={"help": "Tool responses shown to the judge are cut "
                                                                     "to this many characters."})

    def __post_init__(self) -> None:
        if not isinstance(self.temperature, (int, float)) or not 0 <= self.temperature <= 2:
            raise JudgeError(f"judge field 'temperature' must be within 0..2; got {self.temperature!r}")
        if self.max_tokens is not None and (not isinstance(self.max_tokens, int) or self.max_tokens < 1):
            raise JudgeError(f"judge field 'max_tokens' must be a positive integer or None; got {self.max_tokens!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise JudgeError(f"judge field 'seed' must be an integer >= 0; got {self.seed!r}")
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise JudgeError(f"judge field 'max_attempts' must be an integer >= 1; got {self.max_attempts!r}")
        if not isinstance(self.max_response_chars, int) or self.max_response_chars < 100:
            raise JudgeError(f"judge field 'max_response_chars' must be an integer >= 100; got "
                             f"{self.max_response_chars!r}")


@dataclass(frozen=True)
class Decision:
    """One decision of the judge."""

    value: Any
    reason: str
    attempts: int = 1
    unreadable: bool = False
    cached: bool = False


def request_seed(seed: int, sample: int, attempt: int = 0) -> int:
    """The ``seed`` of a judge request: 31 bits of sha256 of (base seed, sample, attempt), so that no two
    (base seed, sample, attempt) share a request (and a cache entry)."""
    digest = hashlib.sha256(json.dumps([seed, sample, attempt]).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class Judge:
    """Asks a chat model the judge's questions (see the module docstring)."""

    def __init__(self, chat: ChatModel, config: JudgeConfig | None = None) -> None:
        self.chat = chat
        self.config = config or JudgeConfig()

    @property
    def model(self) -> str:
        return str(getattr(self.chat, "model", ""))

    def request(self, question: Question, fields: Mapping[str, str], sample: int,
                attempt: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None, dict[str, Any]]:
        """``(messages, tools, params)`` of one request (pure)."""
        params: dict[str, Any] = {"temperature": self.config.temperature,
                                  "seed": request_seed(self.config.seed, sample, attempt)}
        if self.config.max_tokens is not None:
            params["max_tokens"] = self.config.max_tokens
        tools = None
        if self.config.use_tools:
            tools = [question.tool()]
            params["tool_choice"] = {"type": "function", "function": {"name": question.name}}
        return build_messages(question, fields), tools, params

    def ask(self, question: Question, fields: Mapping[str, str], sample: int) -> Decision:
        last = ""
        for attempt in range(self.config.max_attempts):
            messages, tools, params = self.request(question, fields, sample, attempt)
            reply = self.chat.chat(messages, tools, **params)
            parsed = parse_decision(question, reply)
            if parsed is not None:
                return Decision(parsed[0], parsed[1], attempt + 1, False, reply.cached)
            last = (reply.content or json.dumps([c.to_dict() for c in reply.tool_calls]))[:300]
        fallback = UNSURE if question is not BETTER_ANSWER else None
        return Decision(fallback, f"judge reply unreadable after {self.config.max_attempts} attempts: {last!r}",
                        self.config.max_attempts, True)

    # the four questions
    def answer_status(self, prediction: Prediction, sample: int) -> Decision:
        return self.ask(ANSWER_STATUS, {"query": prediction.query, "answer": prediction.final_answer}, sample)

    def detailed_answer_status(self, prediction: Prediction, sample: int) -> Decision:
        view = prediction.answer_view(self.config.max_response_chars)
        return self.ask(DETAILED_ANSWER_STATUS, {"query": prediction.query, "answer": _dump(view)}, sample)

    def task_solvable(self, prediction: Prediction, sample: int) -> Decision:
        return self.ask(TASK_SOLVABLE, {"query": prediction.query, "tools": _dump(_tool_summaries(prediction.tools))},
                        sample)

    def better_answer(self, query: str, first: Prediction, second: Prediction, sample: int) -> Decision:
        limit = self.config.max_response_chars
        return self.ask(BETTER_ANSWER, {"query": query, "answer_0": _dump(_comparable(first, limit)),
                                        "answer_1": _dump(_comparable(second, limit))}, sample)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def _tool_summaries(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Name, description and parameter names of each tool offered (Finish left out)."""
    out = []
    for tool in tools:
        fn = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool
        if fn.get("name") == FINISH:
            continue
        parameters = fn.get("parameters") or {}
        out.append({"name": fn.get("name", ""), "description": fn.get("description", ""),
                    "parameters": sorted((parameters.get("properties") or {}).keys()),
                    "required": list(parameters.get("required") or [])})
    return out


def _comparable(prediction: Prediction, limit: int) -> dict[str, Any]:
    view = prediction.answer_view(limit)
    view["total_steps"] = len(prediction.steps)
    return view


# -- pass rate ----------------------------------------------------------------------------------------------------


@dataclass
class PassJudgment:
    """One judgment (sample) of one answer, as written to ``judgments.jsonl``."""

    query_id: str
    group: str
    sample: int
    answer_status: str
    task_status: str | None
    pass_label: str  # passed | failed | unsure
    resolved_label: str  # passed | failed
    rule: str  # missing | no_finish | give_up | expectation | judge | judge_detailed
    reason: str
    hallucinated_calls: list[str] = field(default_factory=list)
    unreadable: int = 0
    judge_requests: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnswerVerdict:
    status: str
    rule: str
    reason: str
    unreadable: int = 0
    requests: int = 0


def judge_answer(prediction: Prediction | None, judge: Judge, sample: int,
                 expectation: Mapping[str, Any] | None = None) -> AnswerVerdict:
    """The answer status of one answer (rules 1-3 of the module docstring, or the task's expectation)."""
    if prediction is None:
        return AnswerVerdict(UNSOLVED, "missing", "no answer for this query")
    if expectation is not None:
        verdict = expect.check(expectation, prediction)
        return AnswerVerdict(SOLVED if verdict.ok else UNSOLVED, "expectation", verdict.reason)
    if prediction.finish_type is None:
        return AnswerVerdict(UNSOLVED, "no_finish", "the run ended without calling Finish (no final answer)")
    if prediction.finish_type == GIVE_UP or not prediction.final_answer.strip():
        return AnswerVerdict(UNSOLVED, "give_up", "the run gave up (Finish with give_up_and_restart or an empty "
                                                  "final answer)")
    first = judge.answer_status(prediction, sample)
    if first.value != UNSURE:
        return AnswerVerdict(first.value, "judge", first.reason, int(first.unreadable), first.attempts)
    second = judge.detailed_answer_status(prediction, sample)
    return AnswerVerdict(second.value, "judge_detailed", f"{first.reason}\n--- detailed check: {second.reason}",
                         int(first.unreadable) + int(second.unreadable), first.attempts + second.attempts)


PASS_TABLE = {
    (UNSOLVED, SOLVABLE): FAILED, (UNSOLVED, UNSURE): UNSURE_LABEL, (UNSOLVED, UNSOLVABLE): PASSED,
    (UNSURE, SOLVABLE): UNSURE_LABEL, (UNSURE, UNSURE): UNSURE_LABEL, (UNSURE, UNSOLVABLE): PASSED,
}


def coin(seed: int, group: str, query_id: str, sample: int) -> str:
    """The seeded coin that resolves an unsure pass label: passed or failed, the same on every rerun."""
    digest = hashlib.sha256(json.dumps([seed, group, query_id, sample]).encode()).digest()
    return PASSED if digest[0] % 2 == 0 else FAILED


def judge_pass(prediction: Prediction | None, judge: Judge, sample: int, *, query_id: str = "", group: str = "",
               check_solvable: bool = True, expectation: Mapping[str, Any] | None = None) -> PassJudgment:
    """One pass-rate judgment of one answer (the rules of the module docstring)."""
    query_id = query_id or (prediction.query_id if prediction else "")
    verdict = judge_answer(prediction, judge, sample, expectation)
    hallucinated = prediction.hallucinated_calls() if prediction else []
    task_status: str | None = None
    reason, unreadable, requests = verdict.reason, verdict.unreadable, verdict.requests
    if verdict.status == SOLVED:
        label = PASSED
    elif verdict.rule in ("missing", "no_finish", "expectation"):
        label = FAILED
    elif check_solvable and prediction is not None:
        solvable = judge.task_solvable(prediction, sample)
        task_status = solvable.value
        label = PASS_TABLE[(verdict.status, task_status)]
        reason = f"{reason}\n--- solvability: {solvable.reason}"
        unreadable += int(solvable.unreadable)
        requests += solvable.attempts
    else:
        label = FAILED if verdict.status == UNSOLVED else UNSURE_LABEL
    resolved = coin(judge.config.seed, group, query_id, sample) if label == UNSURE_LABEL else label
    return PassJudgment(query_id=query_id, group=group, sample=sample, answer_status=verdict.status,
                        task_status=task_status, pass_label=label, resolved_label=resolved, rule=verdict.rule,
                        reason=reason, hallucinated_calls=hallucinated, unreadable=unreadable,
                        judge_requests=requests)


def _run(tasks: list[Callable[[], T]], concurrency: int) -> list[T]:
    """Run tasks, in order of the list whatever order they finish in."""
    if concurrency <= 1:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda task: task(), tasks))


def _check_common(k: int, concurrency: int) -> None:
    if not isinstance(k, int) or k < 1:
        raise JudgeError(f"k (judgments per answer) must be an integer >= 1; got {k!r}")
    if not isinstance(concurrency, int) or concurrency < 1:
        raise JudgeError(f"concurrency must be an integer >= 1; got {concurrency!r}")


def run_pass_rate(predictions: Mapping[str, Prediction], judge: Judge, *, k: int = 3, group: str = "",
                  query_ids: Iterable[str] | None = None, check_solvable: bool = True,
                  expectations: Mapping[str, Mapping[str, Any]] | None = None,
                  concurrency: int = 1) -> list[PassJudgment]:
    """k judgments of every answer, in query order then sample order.

    ``query_ids`` restricts the run to those queries (StableToolBench's test ids); a listed query without an
    answer counts as Unsolved (rule ``missing``) rather than being skipped.
    """
    _check_common(k, concurrency)
    ids = list(query_ids) if query_ids is not None else list(predictions)
    expectations = expectations or {}
    tasks = [
        (lambda query_id=query_id, sample=sample: judge_pass(
            predictions.get(query_id), judge, sample, query_id=query_id, group=group, check_solvable=check_solvable,
            expectation=expectations.get(query_id)))
        for query_id in ids for sample in range(k)
    ]
    return _run(tasks, concurrency)


RULES_JUDGE = "rule checks (task expectations)"


class _RulesOnly:
    """The judge's model when every task is checked by its expectation: asking it is a bug."""

    model = "rules"

    def chat(self, *args: Any, **kwargs: Any) -> Any:
        raise JudgeError("the rule checks needed an LLM judge: a task without an expectation")

    async def achat(self, *args: Any, **kwargs: Any) -> Any:
        return self.chat()


def rule_pass_rate(predictions: Mapping[str, Prediction], expectations: Mapping[str, Mapping[str, Any]], *,
                   group: str = "") -> list[PassJudgment]:
    """The pass rate of answers to tasks by their rule checks alone (no LLM, ``toolbench eval judge rules``): one
    judgment per task of ``expectations`` (query id -> expectation); a task without an answer fails."""
    return run_pass_rate(predictions, Judge(_RulesOnly()), k=1, group=group,  # type: ignore[arg-type]
                         query_ids=list(expectations), check_solvable=False, expectations=expectations)


def rule_pass_summary(rows: list[dict[str, Any]], model: str) -> dict[str, Any]:
    """The summary (``pass_rate.summary.json``, what the leaderboard reads) of :func:`rule_pass_rate`'s rows."""
    from eval import metrics

    return {"kind": "pass_rate", "model": model, "judge": RULES_JUDGE, "k": 1, "groups": metrics.summarize_pass(rows, 1)}


# -- win rate -----------------------------------------------------------------------------------------------------

REFERENCE, CANDIDATE, TIE = "reference", "candidate", "tie"


@dataclass
class Preference:
    """One round of comparing the candidate's answer to a query with the reference's."""

    query_id: str
    group: str
    round: int
    winner: str  # reference | candidate | tie
    rule: str  # missing_reference | missing_candidate | only_one_solved | only_one_unsure | judge | identical
    reference_status: str | None
    candidate_status: str | None
    shown_first: str | None  # which answer the judge saw as answer 0
    reason: str = ""
    unreadable: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _same_answer(first: Prediction, second: Prediction) -> bool:
    return first.final_answer == second.final_answer and first.steps == second.steps


def judge_preference(reference: Prediction | None, candidate: Prediction | None, judge: Judge, round_: int, *,
                     query_id: str = "", group: str = "",
                     expectation: Mapping[str, Any] | None = None) -> Preference:
    """One round of the comparison (StableToolBench's procedure; see the module docstring)."""
    present = reference or candidate
    query_id = query_id or (present.query_id if present else "")
    if candidate is None or reference is None:
        winner = REFERENCE if candidate is None else CANDIDATE
        rule = "missing_candidate" if candidate is None else "missing_reference"
        return Preference(query_id, group, round_, winner if reference or candidate else TIE, rule, None, None, None,
                          "an answer is missing")
    ref = judge_answer(reference, judge, round_, expectation)
    cand = judge_answer(candidate, judge, round_, expectation)
    unreadable = ref.unreadable + cand.unreadable
    statuses = {REFERENCE: ref.status, CANDIDATE: cand.status}

    def make(winner: str, rule: str, shown_first: str | None = None, reason: str = "", extra: int = 0) -> Preference:
        return Preference(query_id, group, round_, winner, rule, ref.status, cand.status, shown_first, reason,
                          unreadable + extra)

    for status, rule in ((SOLVED, "only_one_solved"), (UNSURE, "only_one_unsure")):
        holders = [side for side, value in statuses.items() if value == status]
        if len(holders) == 1:
            return make(holders[0], rule)
        if len(holders) == 2:
            break
    if _same_answer(reference, candidate):
        return make(TIE, "identical", reason="both answers are the same")
    order = (REFERENCE, CANDIDATE) if round_ % 2 == 0 else (CANDIDATE, REFERENCE)
    answers = {REFERENCE: reference, CANDIDATE: candidate}
    decision = judge.better_answer(reference.query, answers[order[0]], answers[order[1]], round_)
    winner = TIE if decision.value is None else order[decision.value]
    return make(winner, "judge", order[0], decision.reason, int(decision.unreadable))


def run_win_rate(reference: Mapping[str, Prediction], candidate: Mapping[str, Prediction], judge: Judge, *,
                 rounds: int = 3, group: str = "", query_ids: Iterable[str] | None = None,
                 expectations: Mapping[str, Mapping[str, Any]] | None = None,
                 concurrency: int = 1) -> list[Preference]:
    """``rounds`` comparisons per query (default: the queries of either side, reference order first)."""
    _check_common(rounds, concurrency)
    if query_ids is None:
        ids = list(reference) + [query_id for query_id in candidate if query_id not in reference]
    else:
        ids = list(query_ids)
    expectations = expectations or {}
    tasks = [
        (lambda query_id=query_id, round_=round_: judge_preference(
            reference.get(query_id), candidate.get(query_id), judge, round_, query_id=query_id, group=group,
            expectation=expectations.get(query_id)))
        for query_id in ids for round_ in range(rounds)
    ]
    return _run(tasks, concurrency)
