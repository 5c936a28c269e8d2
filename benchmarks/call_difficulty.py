"""How hard the generated ``multiple`` samples are: the accuracy of a word-overlap heuristic that picks the offered
function whose name and description share the most words with the request, for random distractors
(``near_miss_rate`` 0) against near misses (the default 0.75, and 1), on the same catalog and seed.

    .venv/bin/python benchmarks/call_difficulty.py                    # the hub's 58 APIs, 300 samples per rate
    .venv/bin/python benchmarks/call_difficulty.py --n 500 --seed 3

A lower figure means the heuristic (and a model that only matches words) is fooled more often; every sample
is one the verifier accepts (the request tells the answer apart from each distractor).
"""

from __future__ import annotations

import argparse
import re
import statistics

from toolbench.generate.calls import CallGenerator, CallsConfig
from toolbench.hub.catalog import hub_tools


def _words(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]+", text.casefold()) if len(w) > 2}


def heuristic_accuracy(samples) -> float:
    """Mean accuracy of the word-overlap pick (ties share the credit)."""
    total = 0.0
    for sample in samples:
        request = _words(sample.first_user)
        score = {f["name"]: len(request & _words(sample.function_map[f["name"]][1].replace("_", " ") + " "
                                                 + f.get("description", ""))) for f in sample.functions}
        best = max(score.values())
        picks = [name for name, value in score.items() if value == best]
        total += (sample.calls[0].name in picks) / len(picks)
    return total / len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="multiple samples per near-miss rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tools = hub_tools()
    print("| near_miss_rate | word-overlap accuracy | distractors from the same tool | functions offered |")
    print("| --- | --- | --- | --- |")
    baseline = None
    for rate in (0.0, 0.75, 1.0):
        config = CallsConfig(weights={"multiple": 1.0}, zh_rate=0.0, near_miss_rate=rate)
        gen = CallGenerator(tools, seed=args.seed, config=config)
        samples = [gen.generate(i) for i in range(args.n)]
        accuracy = heuristic_accuracy(samples)
        baseline = accuracy if baseline is None else baseline
        same = statistics.mean(sum(d["same_tool"] for d in s.meta["distractors"]) / len(s.meta["distractors"])
                               for s in samples)
        offered = statistics.mean(len(s.functions) for s in samples)
        print(f"| {rate} | {accuracy:.1%} ({accuracy / baseline:.2f}x of random distractors) | {same:.0%} | "
              f"{offered:.1f} |")


if __name__ == "__main__":
    main()
