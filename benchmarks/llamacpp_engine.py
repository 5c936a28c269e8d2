"""The llama.cpp engine's settings on the demo's real workload: the public BFCL block's prompts, in process.

`toolbench llm serve --engine llamacpp` spends the demo's longest stages answering BFCL entries: prompts of
200-1,100 tokens (a tool list and the call format), tool_choice "auto" (the lazy grammar armed), replies of tens to
a hundred and sixty tokens. This benchmark replays exactly that (the first --entries entries of the demo's sample,
rendered by the engine's own template, with the server's constraint) through the engine's continuous batching,
once per variant, and prints per variant:

* wall seconds for all entries, prompt tokens prefilled (and how many the prefix cache saved);
* prefill tokens/s, decode tokens/s, milliseconds per decoding step and rows per step (the batch occupancy);
* the wall time as a ratio of the first variant's.

A variant is a name and engine settings, ``--variant NAME:flash_attn=off,n_seq=4`` (keys: flash_attn on|off|auto,
n_seq, n_batch, ctx_per_seq, threads; and ``order=file|longest``, the order the requests are handed to the engine:
as the sample lists them, or longest prompt first, as ``eval.predict`` sends them). Default: the engine's
defaults against flash attention on, against 8 rows, and against the sample's own order. Rounds alternate variants (a shared machine's load drifts); the best round counts.

    .venv/bin/python benchmarks/llamacpp_engine.py                          # the packaged model as Q8_0
    .venv/bin/python benchmarks/llamacpp_engine.py --model runs/demo/sft/tuned.q8_0.gguf --entries 80
    .venv/bin/python benchmarks/llamacpp_engine.py --variant base:flash_attn=off \\
        --variant fa:flash_attn=on --max-tokens 160

Needs llama-cpp-python (`make install`) and bfcl-eval (installed by `make demo` / `make test`). The BFCL
entries are only timed here, never trained on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_VARIANTS = ["default:", "flash-attn-on:flash_attn=on", "8-rows:n_seq=8", "file-order:order=file"]
INT_KEYS = {"n_seq", "n_batch", "ctx_per_seq", "threads"}


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, settings = text.partition(":")
    options: dict = {}
    for item in filter(None, settings.split(",")):
        key, _, value = item.partition("=")
        options[key] = int(value) if key in INT_KEYS else value
    return name or "variant", options


def workload(entries: int, max_tokens: int, template) -> list:
    """The first ``entries`` entries of the demo's BFCL sample (round-robin over categories) as engine requests."""
    from eval.predict import build_request
    from eval.public_bfcl import public_sample
    from toolbench.llm.constraints import constraint_for
    from toolbench.llm.generation import GenerationRequest
    from toolbench.llm.template import render_prompt

    loaded = public_sample().load()
    queues = [list(category_entries) for category_entries, _ in loaded.values()]
    chosen = []
    while len(chosen) < entries and any(queues):
        for queue in queues:
            if queue and len(chosen) < entries:
                chosen.append(queue.pop(0))
    requests = []
    for entry in chosen:
        messages, tools, _ = build_request(entry)
        rendered = render_prompt(template, messages, tools, "auto")
        requests.append(GenerationRequest(prompt=rendered.text, max_tokens=max_tokens, temperature=0.0,
                                          constraint=constraint_for(tools, "auto", None, rendered.prefill)))
    return requests


def ordered(requests: list, order: str) -> list:
    if order == "longest":
        return sorted(requests, key=lambda r: len(r.prompt), reverse=True)
    if order == "file":
        return list(requests)
    raise SystemExit(f"order must be file or longest; got {order!r}")


def run(generator, requests) -> dict:
    generator.stats.__init__()
    for slot in generator.slots:  # every variant starts with an empty prefix cache
        slot.tokens = []
        generator.lib.llama_memory_seq_rm(generator.memory, slot.seq, -1, -1)
    started = time.perf_counter()
    generator.generate_batch(requests)
    wall = time.perf_counter() - started
    s = generator.stats
    return {"wall": wall, "prompt": s.prompt_tokens, "cached": s.cached_prompt_tokens,
            "prefill": (s.prompt_tokens - s.cached_prompt_tokens) / max(s.prefill_seconds, 1e-9),
            "decode": s.decode_tokens / max(s.decode_seconds, 1e-9),
            "ms_step": 1000 * s.decode_seconds / max(s.decode_steps, 1),
            "rows_step": s.decode_tokens / max(s.decode_steps, 1), "tokens": s.decode_tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="a GGUF file, or 'default' (the packaged model as Q8_0)")
    parser.add_argument("--entries", type=int, default=40, help="BFCL entries per round")
    parser.add_argument("--max-tokens", type=int, default=160, help="largest reply (the demo's bfcl_max_tokens)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", action="append", metavar="NAME:KEY=VALUE,...",
                        help=f"engine settings to compare (default: {' '.join(DEFAULT_VARIANTS)})")
    args = parser.parse_args()

    from toolbench.llm.llamacpp import LlamaCppGenerator
    from toolbench.llm.models import default_gguf

    path = default_gguf("q8_0") if args.model == "default" else Path(args.model)
    variants = [parse_variant(v) for v in (args.variant or DEFAULT_VARIANTS)]
    orders = {name: options.pop("order", "longest") for name, options in variants}
    generators = {name: LlamaCppGenerator(path, **options) for name, options in variants}
    first = next(iter(generators.values()))
    requests = workload(args.entries, args.max_tokens, first.template)
    print(f"{path.name}: {len(requests)} BFCL entries, max_tokens {args.max_tokens}, {args.rounds} rounds",
          flush=True)
    best: dict[str, dict] = {}
    for round_ in range(args.rounds):
        for name, generator in generators.items():
            result = run(generator, ordered(requests, orders[name]))
            print(f"  round {round_ + 1} {name}: {result['wall']:.1f} s", flush=True)
            if name not in best or result["wall"] < best[name]["wall"]:
                best[name] = result
    baseline = best[variants[0][0]]["wall"]
    header = (f"{'variant':<16}{'wall s':>8}{'ratio':>7}{'prompt':>8}{'cached':>8}{'prefill t/s':>12}"
              f"{'decode t/s':>11}{'ms/step':>9}{'rows/step':>10}")
    print(header)
    for name, options in variants:
        r = best[name]
        print(f"{name:<16}{r['wall']:>8.1f}{r['wall'] / baseline:>7.2f}{r['prompt']:>8}{r['cached']:>8}"
              f"{r['prefill']:>12.0f}{r['decode']:>11.1f}{r['ms_step']:>9.1f}{r['rows_step']:>10.2f}")
    for generator in generators.values():
        generator.close()


if __name__ == "__main__":
    main()
