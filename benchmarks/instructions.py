"""Yield of the G1/G2/G3 instruction writer with a real model: the composer (default) against ToolBench's prompt
(``--mode llm``, the baseline) in the same run, on the same catalog and server.

Start the default model first (any free loopback port), then point the script at it::

    .venv/bin/toolbench llm serve --model default --port 8717 &
    .venv/bin/python benchmarks/instructions.py --base-url http://127.0.0.1:8717/v1 --catalog data/tools --n 3

Prints, per group and mode: queries kept of those asked (the yield), how many the model phrased itself, model
requests, wall time, and the composer's yield as a ratio of the baseline's (baseline 0 prints "inf").
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolbench.catalog.store import load_catalog
from toolbench.generate.instructions import InstructionConfig, InstructionRun
from toolbench.llm.factory import make_chat_model


class _Spent(Exception):
    pass


class _Counting:
    """Counts the model requests; raises :class:`_Spent` past ``limit`` (the baseline's request budget)."""

    def __init__(self, inner, limit: int | None = None) -> None:
        self.inner, self.model, self.requests, self.limit = inner, inner.model, 0, limit

    def chat(self, messages, tools=None, **params):
        if self.limit is not None and self.requests >= self.limit:
            raise _Spent()
        self.requests += 1
        return self.inner.chat(messages, tools, **params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--catalog", default="data/tools")
    parser.add_argument("--n", type=int, default=3, help="queries asked per group")
    parser.add_argument("--per-set", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=160, help="the demo's full profile uses 160")
    parser.add_argument("--groups", default="G1,G2,G3")
    parser.add_argument("--modes", default="compose,llm")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tools = load_catalog(args.catalog).tools
    chat = make_chat_model(args.model, base_url=args.base_url, timeout=1800.0, max_retries=0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            for group in args.groups.split(","):
                # the baseline gets as many model requests as the composer made for the same group
                spent = next((r["requests"] for r in rows if r["group"] == group), args.n)
                counting = _Counting(chat, max(spent, 1) if mode == "llm" else None)
                config = InstructionConfig(mode=mode, queries_per_set=args.per_set, max_tokens=args.max_tokens,
                                           temperature=0.7)
                out = Path(tmp, mode, f"{group}_query.json")
                run = InstructionRun(out=out, group=group, n=args.n, seed=args.seed, config=config)
                start = time.perf_counter()
                try:
                    stats = run.run(counting, tools)
                except _Spent:
                    stats = json.loads(out.with_name(out.stem + ".stats.json").read_text())
                rows.append({"mode": mode, "group": group, "wanted": stats["wanted"], "kept": stats["kept"],
                             "by_model": stats["phrased_by"].get("model", 0), "requests": counting.requests,
                             "seconds": round(time.perf_counter() - start, 1),
                             "refused": stats.get("model_text_refused", {}),
                             "rejected": stats["rejected_by_reason"]})
                print(json.dumps(rows[-1]), flush=True)
    print("\n| mode | group | kept / asked | phrased by the model | model requests | wall s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['mode']} | {r['group']} | {r['kept']}/{r['wanted']} | {r['by_model']} | {r['requests']} | "
              f"{r['seconds']} |")
    for group in args.groups.split(","):
        got = {r["mode"]: r["kept"] / r["wanted"] for r in rows if r["group"] == group}
        if "compose" in got and "llm" in got:
            ratio = "inf" if got["llm"] == 0 else f"{got['compose'] / got['llm']:.2f}x"
            print(f"{group}: compose yield {got['compose']:.0%} vs llm {got['llm']:.0%} ({ratio})")


if __name__ == "__main__":
    main()
