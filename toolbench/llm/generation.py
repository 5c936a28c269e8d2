"""Text generation behind the local server: the request it gets, what it returns, and the transformers engine.

The server speaks to a :class:`TextGenerator`, so its HTTP logic can be tested with a scripted generator and
the engine (:class:`HFGenerator`) with a tiny in-process model.
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from toolbench.llm.base import Message, Tool
from toolbench.llm.call_gate import call_opening, token_probability
from toolbench.llm.template import RenderedPrompt, render_prompt

if TYPE_CHECKING:
    from toolbench.llm.constraints import Constraint


@dataclass
class GenerationRequest:
    """One prompt to complete; ``n`` completions of at most ``max_tokens`` tokens each; ``constraint``: the
    structure the completion must have (grammar-constrained decoding), None for free text; ``call_threshold``:
    decide between a call and text at the first token by this threshold on the call's first-token probability
    (:mod:`toolbench.llm.call_gate`), None for the argmax. ``frequency_penalty`` and ``presence_penalty`` are
    OpenAI's: before each token, a token's logit drops by ``frequency_penalty`` times the number of times the
    completion has written it so far, plus ``presence_penalty`` once it has (the prompt does not count)."""

    prompt: str
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    n: int = 1
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    min_tokens: int = 0
    constraint: Constraint | None = None
    call_threshold: float | None = None
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0


@dataclass
class Generation:
    """Completions (stop strings cut off), their finish reasons (``stop``/``length``) and token counts."""

    texts: list[str]
    finish_reasons: list[str]
    prompt_tokens: int
    completion_tokens: list[int]


class TextGenerator(Protocol):
    name: str
    context_length: int

    def render(self, messages: list[Message], tools: list[Tool] | None, tool_choice: Any) -> RenderedPrompt: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(self, request: GenerationRequest, on_text: Callable[[str], None] | None = None,
                 cancel: threading.Event | None = None) -> Generation: ...


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Text before the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class StopHoldback:
    """Streams text deltas while holding back a tail that could be the start of a stop string."""

    def __init__(self, stop: list[str], emit: Callable[[str], None]) -> None:
        self.stop = [s for s in stop if s]
        self.hold = max((len(s) for s in self.stop), default=1) - 1
        self.emit = emit
        self.text = ""
        self.sent = 0
        self.stopped = False

    def feed(self, delta: str) -> None:
        if self.stopped or not delta:
            return
        self.text += delta
        head, found = cut_at_stop(self.text, self.stop)
        if found:
            self.stopped = True
            self._send(head)
        else:
            self._send(self.text[: max(self.sent, len(self.text) - self.hold)])

    def finish(self) -> None:
        if not self.stopped:
            self._send(cut_at_stop(self.text, self.stop)[0])

    def _send(self, upto: str) -> None:
        if len(upto) > self.sent:
            self.emit(upto[self.sent:])
            self.sent = len(upto)


class _DeltaStreamer:
    """A transformers streamer: decodes the growing completion and hands on the new text."""

    def __init__(self, tokenizer: Any, on_text: Callable[[str], None]) -> None:
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.ids: list[int] = []
        self.text = ""
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt
            self.prompt_seen = True
            return
        self.ids.extend(int(v) for v in value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # an incomplete multi-byte character: wait for the next token
            return
        if len(text) > len(self.text):
            self.on_text(text[len(self.text):])
        self.text = text

    def end(self) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if len(text) > len(self.text):
            self.on_text(text[len(self.text):])
        self.text = text


class HFGenerator:
    """Generation with a transformers causal LM (one request at a time: the server queues them)."""

    def __init__(self, model: Any, tokenizer: Any, name: str, device: str = "cpu") -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.context_length = int(getattr(model.config, "max_position_embeddings", 0) or 2048)
        ids = {tokenizer.eos_token_id}
        for token in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>"):
            tid = tokenizer.convert_tokens_to_ids(token) if token in tokenizer.get_vocab() else None
            if tid is not None:
                ids.add(tid)
        configured = getattr(model.generation_config, "eos_token_id", None)
        ids.update(configured if isinstance(configured, list) else [configured])
        self.eos_ids = sorted(i for i in ids if i is not None)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]

    @classmethod
    def from_loaded(cls, loaded: Any) -> HFGenerator:
        """From a :class:`toolbench.llm.models.LoadedModel`."""
        return cls(loaded.model, loaded.tokenizer, loaded.name, loaded.device)

    def render(self, messages: list[Message], tools: list[Tool] | None, tool_choice: Any) -> RenderedPrompt:
        return render_prompt(self.tokenizer, messages, tools, tool_choice)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    @functools.cached_property
    def _call_opening(self) -> list[int]:
        return call_opening(lambda text: self.tokenizer(text, add_special_tokens=False).input_ids)

    def call_probability(self, prompt: str) -> float:
        """The probability that the reply to ``prompt`` starts a call (:mod:`toolbench.llm.call_gate`)."""
        import torch

        ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids.to(self.device)
        with torch.inference_mode():
            logits = self.model(input_ids=ids).logits[0, -1].float()
        return token_probability(logits.cpu().numpy(), self._call_opening[0])

    def generate(self, request: GenerationRequest, on_text: Callable[[str], None] | None = None,
                 cancel: threading.Event | None = None) -> Generation:
        """One request: ``n`` completions (sampled; greedy ones are generated once and repeated), streamed through
        ``on_text`` when given and ``n`` is 1."""
        import torch

        sample = request.temperature > 0
        rows = request.n if sample else 1
        enc = self.tokenizer(request.prompt, return_tensors="pt", add_special_tokens=False)
        ids = enc.input_ids.repeat(rows, 1)
        mask = torch.ones_like(ids)
        if sample:
            torch.manual_seed(request.seed if request.seed is not None else random.randrange(2**31))
        holdback = None
        streamer = None
        if on_text is not None and request.n == 1:
            holdback = StopHoldback(request.stop, on_text)
            streamer = _DeltaStreamer(self.tokenizer, holdback.feed)
        results = self._run([request] * rows, [cancel] * rows, ids, mask, streamer)
        if holdback is not None:
            holdback.finish()
        texts = [r.texts[0] for r in results]
        reasons = [r.finish_reasons[0] for r in results]
        counts = [r.completion_tokens[0] for r in results]
        if not sample and request.n > 1:
            texts, reasons, counts = texts * request.n, reasons * request.n, counts * request.n
        return Generation(texts, reasons, results[0].prompt_tokens, counts)

    def generate_batch(self, requests: list[GenerationRequest],
                       cancels: list[threading.Event | None] | None = None) -> list[Generation]:
        """Several prompts in one left-padded ``generate`` call (the server batches waiting requests).

        The requests share their sampling settings (:func:`batch_key`) and ask for one completion each; every row
        keeps its own ``max_tokens``, stop strings and cancellation. On a CPU one decoding step of 4 rows costs
        about 1.2 steps of 1 (the weights are read once per step), so concurrent clients get ~3x the tokens/s.
        Greedy rows may differ from the same prompt generated alone in the last bits of the logits (padding
        changes the matrix shapes), as in vLLM.
        """
        import torch

        if not requests:
            return []
        keys = {batch_key(r) for r in requests}
        if None in keys or len(keys) != 1:
            raise ValueError("generate_batch: the requests must be batchable and share their sampling settings")
        cancels = list(cancels) if cancels is not None else [None] * len(requests)
        if len(requests) == 1:
            return [self.generate(requests[0], None, cancels[0])]
        rows = [self.tokenizer(r.prompt, add_special_tokens=False).input_ids for r in requests]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):  # left padding: every row's next token comes at the same position
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
        if requests[0].temperature > 0:
            torch.manual_seed(random.randrange(2**31))
        return self._run(requests, cancels, ids, mask, None)

    def _run(self, requests: list[GenerationRequest], cancels: list[threading.Event | None], ids: Any, mask: Any,
             streamer: Any) -> list[Generation]:
        """``generate`` over rows (one request each, sampling settings shared, sampling seeded by the caller);
        every row stops at its eos, its stop strings (matched in the completion only, as OpenAI does), its
        ``max_tokens`` or its cancellation. Rows with a ``constraint`` are decoded under its grammar
        (:mod:`toolbench.llm.constrain_hf`), each with its own matcher; the others are left free."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        width = ids.shape[1]
        ended: list[int | None] = [None] * len(requests)  # tokens generated when the row ended (its eos included)
        stopped = [False] * len(requests)
        eos = set(self.eos_ids)
        tokenizer = self.tokenizer

        class _PerRow(StoppingCriteria):
            @staticmethod
            def _ends(i: int, request: GenerationRequest, row: Any, made: int) -> bool:
                cancel = cancels[i]
                if int(row[-1]) in eos or (cancel is not None and cancel.is_set()):
                    return True
                if made < request.min_tokens or not request.stop:
                    return False
                return cut_at_stop(tokenizer.decode(row[width:].tolist(), skip_special_tokens=True), request.stop)[1]

            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                made = input_ids.shape[1] - width
                for i, request in enumerate(requests):
                    if ended[i] is not None or made < 1:
                        continue
                    if self._ends(i, request, input_ids[i], made):
                        ended[i], stopped[i] = made, True
                    elif made >= request.max_tokens:
                        ended[i] = made
                return torch.tensor([e is not None for e in ended], dtype=torch.bool, device=input_ids.device)

        first = requests[0]
        longest = max(r.max_tokens for r in requests)
        kwargs: dict[str, Any] = {
            "max_new_tokens": longest, "min_new_tokens": min(first.min_tokens, longest) or None,
            "eos_token_id": self.eos_ids, "pad_token_id": self.pad_id,
            "stopping_criteria": StoppingCriteriaList([_PerRow()]),
        }
        if first.temperature > 0:
            kwargs.update(do_sample=True, temperature=first.temperature, top_p=first.top_p)
        else:  # greedy: the model also drops its sampling settings
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if streamer is not None:
            kwargs["streamer"] = streamer
        processors: list[Any] = []
        if any(r.frequency_penalty or r.presence_penalty for r in requests):
            processors.append(_Penalties([(r.frequency_penalty, r.presence_penalty) for r in requests], width))
        if any(r.call_threshold is not None for r in requests):  # before the grammar, so it sees the decision
            processors.append(_CallGate([r.call_threshold for r in requests], self._call_opening, width))
        if any(r.constraint is not None for r in requests):
            from toolbench.llm.constrain_hf import logits_processor

            processors.append(logits_processor(self.tokenizer, self.eos_ids, [r.constraint for r in requests], width,
                                               lambda i: ended[i] is not None))
        if processors:
            from transformers import LogitsProcessorList

            kwargs["logits_processor"] = LogitsProcessorList(processors)
        with torch.inference_mode():
            output = self.model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device), **kwargs)
        prompt_tokens = [int(n) for n in mask.sum(dim=1).tolist()]
        results = []
        for i, request in enumerate(requests):
            made = output[i, width:].tolist()
            count = ended[i] if ended[i] is not None else min(len(made), request.max_tokens)
            text, cut = cut_at_stop(self.tokenizer.decode(made[:count], skip_special_tokens=True), request.stop)
            reason = "stop" if stopped[i] or cut or count < request.max_tokens else "length"
            results.append(Generation([text], [reason], prompt_tokens[i], [count]))
        return results


class _Penalties:
    """A logits processor applying each row's OpenAI frequency and presence penalties over what the row has written
    since ``width`` (the padded prompt)."""

    def __init__(self, penalties: list[tuple[float, float]], width: int) -> None:
        self.penalties, self.width = penalties, width

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        made = input_ids[:, self.width:]
        if made.shape[1] == 0:
            return scores
        counts = torch.zeros_like(scores).scatter_add_(1, made, torch.ones_like(made, dtype=scores.dtype))
        frequency = scores.new_tensor([f for f, _ in self.penalties]).unsqueeze(1)
        presence = scores.new_tensor([p for _, p in self.penalties]).unsqueeze(1)
        return scores - frequency * counts - presence * (counts > 0).to(scores.dtype)


class _CallGate:
    """A logits processor taking each gated row's call-or-text decision at its first token and writing the whole
    call opening after a "call" (:mod:`toolbench.llm.call_gate`)."""

    def __init__(self, thresholds: list[float | None], opening: list[int], width: int) -> None:
        self.thresholds, self.opening, self.width = thresholds, opening, width
        self.calling: set[int] = set()

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        step = input_ids.shape[1] - self.width
        if step == 0:
            probabilities = scores.float().softmax(dim=-1)[:, self.opening[0]].tolist()
            for i, threshold in enumerate(self.thresholds):
                if threshold is None:
                    continue
                if probabilities[i] >= threshold:
                    self.calling.add(i)
                else:
                    scores[i, self.opening[0]] = float("-inf")
        if step < len(self.opening):
            for i in self.calling:
                scores[i, :] = float("-inf")
                scores[i, self.opening[step]] = 0.0
        return scores


def batch_key(request: GenerationRequest) -> tuple[Any, ...] | None:
    """Requests with equal keys can be generated together; ``None``: this one runs alone (several choices, or a
    seeded sample, whose reproducibility needs a batch of its own). ``min_tokens`` is part of the key."""
    if request.n != 1:
        return None
    if request.temperature <= 0:
        return ("greedy", request.min_tokens)
    if request.seed is not None:
        return None
    return ("sample", float(request.temperature), float(request.top_p), request.min_tokens)
