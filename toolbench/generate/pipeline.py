"""A resumable ``generate calls`` run: make, verify, journal, export.

``<out>/samples.jsonl`` is the journal: one line per sample (verdicts included), appended as samples are made.
A rerun skips the ids already there, so an interrupted run resumes, and a run asked for a larger ``n`` adds only
the new samples. Once done, the exports are rewritten from the whole journal:

```
<out>/samples.jsonl              every sample, with its verdicts
<out>/rejected.jsonl             the samples a stage rejected (stage and reason in their verdicts)
<out>/failed.jsonl               sample indexes that could not be made at all, with the reason
<out>/stats.json                 counts per category and per verification stage
<out>/bfcl/questions.jsonl       BFCL entries of the kept samples (train + held-out)
<out>/bfcl/possible_answer.jsonl
<out>/train/{openai.jsonl, sharegpt.json, queries.json}
<out>/heldout/{openai.jsonl, sharegpt.json, queries.json, bfcl_questions.jsonl, bfcl_possible_answer.jsonl}
```

Kept samples are those no stage rejected (all of them when nothing was verified).

Every verified sample says which stages checked it, in ``meta["verification"]``: ``{"stages": [...], "execution":
...}``. Execution runs only when every tool of the sample has a backend the runner reaches (:func:`has_backend`:
its base URL is on this machine, as the hub's tools are); a sample on tools without one (the StableToolBench G1
reference catalog, an imported OpenAPI spec of a remote service) is verified by format and meaning only, and
says so (``"execution": "no backend"``). The generator likewise runs only such tools for multi-turn results.

:func:`run` is the whole command as a function (the CLI, the demo or a notebook call it) with a
:class:`~toolbench.generate.calls_config.CallsRunConfig`: the catalog read, the models and the hub's executor
made, the samples made, verified, journaled and exported.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.catalog.store import write_json_atomic
from toolbench.generate import export
from toolbench.generate.backends import has_backend
from toolbench.generate.call_samples import CallSample
from toolbench.generate.calls import CallGenerator
from toolbench.generate.calls_config import CallsRunConfig
from toolbench.generate.errors import GenerateError
from toolbench.generate.request_stats import request_stats
from toolbench.generate.verify import StageCounts, Verifier
from toolbench.records import Tool

HUB_KEY = "sandbox-generate"  # the sandbox hub takes any non-empty key; it keeps its state (orders...) per key


def sample_tools(sample: CallSample) -> set[str]:
    """The tools a sample's verification would call: its offered functions' and its trap's probe's."""
    tools = {pair[0] for pair in sample.function_map.values()}
    probe = sample.meta.get("probe") or {}
    return tools | ({probe["tool"]} if probe.get("tool") else set())


def verify_labelled(sample: CallSample, verifier: Verifier, plain: Verifier | None, backed: set[str]) -> CallSample:
    """``sample`` verified with the runner when all its tools have a backend, else by format and meaning only
    (``plain``, the same verifier without a runner); ``meta["verification"]`` says which stages ran and why
    execution did or did not: ``backend``, ``no backend`` (a tool of the sample has none), ``no runner``."""
    if not sample_tools(sample) <= backed:
        out, execution = (plain or verifier).verify(sample), "no backend"
    elif verifier.runner is None:
        out, execution = verifier.verify(sample), "no runner"
    else:
        out, execution = verifier.verify(sample), "backend"
    out.meta["verification"] = {"stages": [v.stage for v in out.verdicts], "execution": execution}
    return out


@dataclass
class CallsRun:
    out: Path
    n: int
    heldout: float = field(default=0.1, metadata={"help": "Share of samples held out (by API-argument combination)."})
    seed: int = 0

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.n < 1:
            raise GenerateError(f"--n must be at least 1, got {self.n}")
        if not 0.0 <= self.heldout < 1.0:
            raise GenerateError(f"--heldout must be in [0, 1), got {self.heldout}")

    @property
    def journal(self) -> Path:
        return self.out / "samples.jsonl"

    def _done(self) -> tuple[dict[str, CallSample], dict[int, str]]:
        samples: dict[str, CallSample] = {}
        failed: dict[int, str] = {}
        if self.journal.exists():
            for line in self.journal.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    break  # a line cut off by a crash: redo from there
                if "failed" in row:
                    failed[row["index"]] = row["failed"]
                else:
                    sample = CallSample.from_dict(row)
                    samples[sample.id] = sample
        return samples, failed

    def journaled(self) -> int:
        """How many samples the journal already holds (made or failed): where a resumed run starts."""
        samples, failed = self._done()
        return len(samples) + len(failed)

    def run(self, generator: CallGenerator, verifier: Verifier | None, tools: list[Tool],
            on_sample: Callable[[CallSample | None], None] | None = None) -> dict[str, Any]:
        samples, failed = self._done()
        done_indexes = {int(s.id.rsplit("_", 1)[1]) for s in samples.values()} | set(failed)
        self.out.mkdir(parents=True, exist_ok=True)
        backed = {t.name for t in tools if has_backend(t)}
        plain = Verifier(tools, runner=None, judge=verifier.judge) if verifier and verifier.runner else None
        try:
            with self.journal.open("a", encoding="utf-8") as journal:
                for index in range(self.n):
                    if index in done_indexes:
                        continue
                    try:
                        sample = generator.generate(index)
                    except GenerateError as exc:
                        failed[index] = str(exc)
                        journal.write(json.dumps({"index": index, "failed": str(exc)}, ensure_ascii=False) + "\n")
                        journal.flush()
                        if on_sample:
                            on_sample(None)
                        continue
                    if verifier is not None:
                        sample = verify_labelled(sample, verifier, plain, backed)
                    samples[sample.id] = sample
                    journal.write(json.dumps(sample.to_dict(), ensure_ascii=False) + "\n")
                    journal.flush()
                    if on_sample:
                        on_sample(sample)
        finally:
            stats = self.export(list(samples.values()), failed, tools)
        return stats

    def export(self, samples: list[CallSample], failed: dict[int, str], tools: list[Tool]) -> dict[str, Any]:
        samples = sorted(samples, key=lambda s: int(s.id.rsplit("_", 1)[1]))
        kept = [s for s in samples if not s.rejected]
        rejected = [s for s in samples if s.rejected]
        train, held = export.split_heldout(kept, self.heldout, self.seed)
        apis = {(t.name, a.name): a for t in tools for a in t.apis}
        export.write_jsonl(self.out / "rejected.jsonl", (s.to_dict() for s in rejected))
        export.write_jsonl(self.out / "failed.jsonl", ({"index": i, "reason": r} for i, r in sorted(failed.items())))
        export.write_bfcl(kept, self.out / "bfcl" / "questions.jsonl", self.out / "bfcl" / "possible_answer.jsonl")
        for name, part in (("train", train), ("heldout", held)):
            folder = self.out / name
            export.write_jsonl(folder / "openai.jsonl", (export.openai_example(s) for s in part))
            write_json_atomic(folder / "sharegpt.json", [export.sharegpt_example(s) for s in part])
            # query ids are the samples' numbers: unique across the two files (a retriever reads both)
            write_json_atomic(folder / "queries.json",
                              [export.toolbench_query(s, int(s.id.rsplit("_", 1)[1]), apis).to_dict() for s in part])
            export.write_bfcl(part, folder / "bfcl_questions.jsonl", folder / "bfcl_possible_answer.jsonl")
        counts = StageCounts()
        for sample in samples:
            counts.add(sample)
        stats = {"seed": self.seed, "wanted": self.n, "made": len(samples), "failed_to_make": len(failed),
                 "kept": len(kept), "rejected": len(rejected), "train": len(train), "heldout": len(held),
                 "languages": dict(Counter(s.language for s in samples)), **counts.to_dict(),
                 "verification": dict(Counter((s.meta.get("verification") or {}).get("execution", "not verified")
                                              for s in samples)),
                 "requests": request_stats(samples, apis)}
        write_json_atomic(self.out / "stats.json", stats)
        return stats


def run(config: CallsRunConfig, on_sample: Callable[[CallSample | None], None] | None = None,
        on_resume: Callable[[int], None] | None = None, hub_key: str = HUB_KEY) -> dict[str, Any]:
    """``toolbench generate calls``: make ``config.n`` samples from the catalog, verify them when asked (the
    execution stage against ``hub_url``), journal and export them to ``config.out``; returns the stats
    (``stats.json``). ``on_resume`` gets how many samples the journal already holds, ``on_sample`` each sample
    made (None: one that could not be made). ``hub_key``: the sandbox key the hub's calls are made with when
    $TOOLBENCH_API_KEY is unset (the hub keeps its state per key: the demo continues from its crawl's key)."""
    from toolbench.generate.paraphrase import Paraphraser

    tools = catalog_tools(config.catalog)
    if config.judge and config.model is None:
        raise GenerateError("--judge needs --model (and --base-url for a local OpenAI-compatible server)")
    chat = chat_model(config.base_url, config.model, config.cache, "--judge") if config.judge else None
    para = (chat_model(config.base_url, config.paraphrase_model or config.model, config.cache, "--paraphrase-rate")
            if config.calls.paraphrase_rate > 0 else None)
    runner = hub_runner(tools, config.hub_url, hub_key) if config.hub_url else None
    generator = CallGenerator(tools, seed=config.seed, config=config.calls, runner=runner,
                              paraphraser=Paraphraser(para) if para is not None else None)
    verifier = Verifier(tools, runner=runner, judge=chat) if config.verify else None
    calls_run = CallsRun(out=Path(config.out), n=config.n, heldout=config.heldout, seed=config.seed)
    try:
        if on_resume is not None:
            on_resume(calls_run.journaled())
        return calls_run.run(generator, verifier, tools, on_sample)
    finally:
        if runner is not None:
            runner.close()


def catalog_tools(catalog_dir: str | Path) -> list[Tool]:
    """The tools of a catalog folder; none readable is an error naming the folder."""
    from toolbench.catalog.store import load_catalog

    catalog = load_catalog(catalog_dir)
    if not catalog.tools:
        raise GenerateError(f"--catalog {catalog_dir}: no readable tool file; see `toolbench catalog validate`")
    return catalog.tools


def chat_model(base_url: str | None, model: str | None, cache: str | Path | None, what: str) -> Any:
    """The OpenAI-compatible chat model ``model`` at ``base_url`` (behind a record/replay cache when given);
    ``what`` names the option that needs it when ``model`` is missing."""
    if model is None:
        raise GenerateError(f"{what} needs --model (and --base-url for a local OpenAI-compatible server)")
    from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

    chat: Any = OpenAIChatModel(OpenAIChatConfig(model=model, base_url=base_url))
    if cache is not None:
        from toolbench.llm.cache import CachedChatModel

        chat = CachedChatModel(chat, cache)
    return chat


def hub_overrides(tools: list[Tool], hub_url: str) -> dict[str, str]:
    """Every tool's base URL -> ``hub_url`` (the catalog says where the hub was when it was exported; a hub runs
    wherever it was started)."""
    return {t.base_url.rstrip("/"): hub_url.rstrip("/") for t in tools if t.base_url}


def hub_credentials(key: str = HUB_KEY) -> dict[str, str]:
    """The generic key of every call: $TOOLBENCH_API_KEY, else the sandbox key ``key``."""
    return {"*": os.environ.get("TOOLBENCH_API_KEY") or key}


def hub_runner(tools: list[Tool], hub_url: str, key: str = HUB_KEY) -> Any:
    """An executor calling every tool at the hub at ``hub_url`` with $TOOLBENCH_API_KEY or the sandbox key
    ``key``."""
    from toolbench.executor import Executor, ExecutorConfig

    return Executor(tools, ExecutorConfig(base_url_overrides=hub_overrides(tools, hub_url),
                                          credentials=hub_credentials(key)))
