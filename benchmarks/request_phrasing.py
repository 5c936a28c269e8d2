"""How generated requests read, per catalog: the share that spells a parameter name out, distinct templates,
and how many samples pass format + meaning verification (no hub needed).

    .venv/bin/python benchmarks/request_phrasing.py data/tools runs/catalog/g1 --n 400 --seed 0

Prints one row per catalog (see docs/generate.md, "Requests"). Import a catalog first when needed:
``toolbench catalog import-toolbench data/reference/stabletoolbench/G1_instruction.json --out runs/catalog/g1``;
``toolbench catalog import-openapi tests/fixtures/openapi/shop.yaml --out runs/catalog/shop``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from toolbench.catalog.store import load_catalog
from toolbench.generate.calls import CallGenerator
from toolbench.generate.errors import GenerateError
from toolbench.generate.request_stats import request_stats
from toolbench.generate.verify import Verifier


def measure(catalog: str, n: int, seed: int) -> dict:
    tools = load_catalog(catalog).tools
    generator, verifier = CallGenerator(tools, seed=seed), Verifier(tools)
    samples, failed = [], 0
    start = time.perf_counter()
    for index in range(n):
        try:
            samples.append(verifier.verify(generator.generate(index)))
        except GenerateError:
            failed += 1
    seconds = time.perf_counter() - start
    apis = {(t.name, a.name): a for t in tools for a in t.apis}
    return {
        "catalog": catalog,
        "apis": len(apis),
        "seconds": seconds,
        "failed": failed,
        "status": Counter(s.status for s in samples),
        **request_stats(samples, apis),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("catalogs", nargs="+", help="Catalog folders.")
    parser.add_argument("--n", type=int, default=400, help="Samples per catalog.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        f"{'catalog':40} {'APIs':>5} {'requests':>8} {'name spelled':>12} {'templates':>9} {'passed':>7} "
        f"{'ms/sample':>9}"
    )
    for catalog in args.catalogs:
        row = measure(catalog, args.n, args.seed)
        print(
            f"{catalog[-40:]:40} {row['apis']:>5} {row['requests']:>8} {row['name_spelled_share']:>12.1%} "
            f"{row['distinct_templates']:>9} {row['status'].get('passed', 0):>7} "
            f"{1000 * row['seconds'] / args.n:>9.1f}"
        )


if __name__ == "__main__":
    main()
