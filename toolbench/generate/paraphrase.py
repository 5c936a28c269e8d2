"""The optional LLM paraphrase pass of generated requests (``generate calls --paraphrase-rate``): a rewrite must
keep every value of the request in a form :mod:`toolbench.generate.surface` accepts, or it is refused."""

from __future__ import annotations

import json

from toolbench.generate import surface
from toolbench.llm.base import ChatModel, LLMError


class Paraphraser:
    """Rewrites a request with an LLM, keeping given values verbatim; a rewrite that loses one is refused."""

    def __init__(self, model: ChatModel, temperature: float = 0.8) -> None:
        self.model = model
        self.temperature = temperature

    def rewrite(self, text: str, language: str, keep: list[str], seed: int) -> tuple[str, str]:
        """(text, note): the rewrite and ``"paraphrased"``, or the original and why the rewrite was refused."""
        lang = "Chinese" if language == "zh" else "English"
        values = ", ".join(json.dumps(surface.found(k, text), ensure_ascii=False) for k in keep) or "(none)"
        messages = [
            {"role": "system", "content": "You rewrite user requests so they sound natural and varied."},
            {"role": "user", "content": f"Rewrite this request in {lang}, as a real user would write it. Keep its "
                                        f"meaning and keep these values exactly as written: {values}. Reply with "
                                        f"the rewritten request only.\n\nRequest: {text}"},
        ]
        try:
            reply = self.model.chat(messages, temperature=self.temperature, seed=seed)
        except LLMError as exc:
            return text, f"paraphrase failed: {exc}"
        new = (reply.content or "").strip().strip('"').strip()
        if not new:
            return text, "paraphrase refused: empty reply"
        missing = [k for k in keep if not surface.stated(k, new)]
        if missing:
            return text, f"paraphrase refused: it lost {missing[0]!r}"
        return new, "paraphrased"
