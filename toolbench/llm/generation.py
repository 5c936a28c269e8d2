"""Text generation behind the local server: the request it gets, what it returns, and the transformers engine.

The server speaks to a :class:`TextGenerator`, so its HTTP logic can be tested with a scripted generator and
the engine (:class:`HFGenerator`) with a tiny in-process model.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from toolbench.llm.base import Message, Tool
from toolbench.llm.template import RenderedPrompt, render_prompt


@dataclass
class GenerationRequest:
    """One prompt to complete; ``n`` completions of at most ``max_tokens`` tokens each."""

    prompt: str
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    n: int = 1
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    min_tokens: int = 0


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

    def generate(self, request: GenerationRequest, on_text: Callable[[str], None] | None = None,
                 cancel: threading.Event | None = None) -> Generation:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), bool(cancel and cancel.is_set()), dtype=torch.bool,
                                  device=input_ids.device)

        enc = self.tokenizer(request.prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
        prompt_len = enc.input_ids.shape[1]
        sample = request.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": request.max_tokens,
            "min_new_tokens": min(request.min_tokens, request.max_tokens) or None,
            "eos_token_id": self.eos_ids,
            "pad_token_id": self.pad_id,
            "do_sample": sample,
            "stopping_criteria": StoppingCriteriaList([_Cancelled()]),
        }
        if sample:
            kwargs.update(temperature=request.temperature, top_p=request.top_p,
                          num_return_sequences=request.n)
            torch.manual_seed(request.seed if request.seed is not None else random.randrange(2**31))
        else:  # greedy: every choice is the same; the model also drops the sampling settings
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if request.stop:
            kwargs.update(stop_strings=request.stop, tokenizer=self.tokenizer)
        holdback = None
        if on_text is not None and request.n == 1:
            holdback = StopHoldback(request.stop, on_text)
            kwargs["streamer"] = _DeltaStreamer(self.tokenizer, holdback.feed)
        with torch.inference_mode():
            output = self.model.generate(**enc, **kwargs)
        if holdback is not None:
            holdback.finish()
        rows = output[:, prompt_len:].tolist()
        texts, reasons, counts = [], [], []
        for row in rows:
            count, ended = len(row), False
            for i, tid in enumerate(row):
                if tid in self.eos_ids:
                    count, ended = i + 1, True
                    break
            text, stopped = cut_at_stop(self.tokenizer.decode(row[:count], skip_special_tokens=True), request.stop)
            texts.append(text)
            reasons.append("stop" if ended or stopped or count < request.max_tokens else "length")
            counts.append(count)
        if not sample and request.n > 1:
            texts, reasons, counts = texts * request.n, reasons * request.n, counts * request.n
        return Generation(texts, reasons, prompt_len, counts)
