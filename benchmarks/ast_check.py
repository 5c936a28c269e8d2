"""Checks per second: our AST checker (eval.ast_check) vs bfcl-eval's official one, same inputs, same run.

The inputs are the differential test's cases (ground truth plus systematic perturbations) over BFCL's simple
(python), multiple, parallel, parallel_multiple and live_* categories, built once before timing. Each checker
runs over all of them ``--repeat`` times, alternating which goes first; the best round counts.

    .venv/bin/python benchmarks/ast_check.py [--repeat 3] [--categories simple_python,parallel]
"""

from __future__ import annotations

import argparse
import platform
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per checker (best counts)")
    parser.add_argument(
        "--categories", default="", help="comma-separated BFCL categories (default: all eight)"
    )
    args = parser.parse_args()

    from eval import ast_check, bfcl_reference

    official = bfcl_reference.official_checker()
    categories = [c for c in args.categories.split(",") if c] or list(bfcl_reference.AST_CATEGORIES)
    inputs = []
    for category in categories:
        entries, answers = bfcl_reference.load_category(category)
        for entry, answer in zip(entries, answers):
            for case in bfcl_reference.comparison_cases(entry, answer["ground_truth"], category):
                inputs.append(
                    (entry["function"], case.calls, answer["ground_truth"], category, case.underscore_to_dot)
                )

    def run_ours() -> int:
        return sum(
            ast_check.check_calls(f, calls, answer, category, underscore_to_dot=dot).valid
            for f, calls, answer, category, dot in inputs
        )

    def run_official() -> int:
        return sum(
            official(f, calls, answer, category, dot)["valid"] for f, calls, answer, category, dot in inputs
        )

    best = {"ours": float("inf"), "bfcl-eval": float("inf")}
    valid = {}
    for round_ in range(args.repeat):
        order = [("ours", run_ours), ("bfcl-eval", run_official)]
        for name, run in order if round_ % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            valid[name] = run()
            best[name] = min(best[name], time.perf_counter() - start)

    print(f"{len(inputs)} checks over {', '.join(categories)}; best of {args.repeat} rounds")
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}")
    for name, seconds in best.items():
        rate = len(inputs) / seconds
        print(f"  {name:10s} {rate:>10,.0f} checks/s  ({seconds:.3f} s, {valid[name]} valid)")
    print(f"  ratio ours / bfcl-eval: {best['bfcl-eval'] / best['ours']:.2f}x")
    if valid["ours"] != valid["bfcl-eval"]:
        print(
            "  WARNING: the two checkers disagree on some verdicts (run tests/eval/test_ast_differential.py)"
        )


if __name__ == "__main__":
    main()
