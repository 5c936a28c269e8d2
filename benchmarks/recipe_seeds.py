"""Training recipes compared with several seeds on BFCL's dev slice: each category's mean and spread over seeds.

One 40-entry-a-category dev run cannot separate recipes that differ by less than ~10 points, and two trainings of
one recipe already differ (benchmarks/README.md, "Session 8"). This runs every recipe once per seed in the same
run and prints, per category, each seed's accuracy, the mean over seeds, the spread (max - min) and, for every
recipe after the first (the baseline), the difference of means with the spread it must beat.

A recipe is ``NAME=CONFIG[:field=value,...]``: a ``toolbench train sft`` config file (the demo writes its own to
``runs/demo/sft/recipe.yaml``) with fields set over it (YAML values, e.g. ``max_steps=544``). For each recipe and
seed the script runs, each step skipped when its output already exists (a killed run resumes):

1. ``toolbench train sft --config CONFIG --set seed=S --set output_dir=OUT/NAME/seed-S/run ...``;
2. ``toolbench train export-gguf .../run/final .../tuned.q8_0.gguf --quant q8_0``;
3. ``toolbench llm serve`` (llama.cpp, constrained decoding) on a loopback port, and
   ``toolbench eval bfcl-public --split dev --per-category N`` against it (the same ids for every run).

``--report`` only tabulates the runs already scored (recipes may then have different numbers of seeds). Dev
slice only: the test slice is the headline's and no recipe is chosen on it. Figures in ``OUT/results.md`` and
``OUT/results.json``.

    .venv/bin/python benchmarks/recipe_seeds.py --recipe demo=runs/demo/sft/recipe.yaml \\
        --recipe two-epochs=runs/demo/sft/recipe.yaml:max_steps=544 --seeds 0,1 --out runs/recipe-seeds
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and "annotate" would be benchmarks/annotate.py.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
COLUMNS = (*CATEGORIES, "micro")


def parse_recipe(spec: str) -> tuple[str, Path, list[str]]:
    """``NAME=CONFIG[:field=value,...]`` -> (name, config file, ["field=value", ...])."""
    name, sep, rest = spec.partition("=")
    if not sep or not name or not rest:
        raise SystemExit(f"--recipe {spec!r}: expected NAME=CONFIG[:field=value,...]")
    config, _, sets = rest.partition(":")
    path = Path(config)
    if not path.is_file():
        raise SystemExit(f"--recipe {spec!r}: {path}: no such file")
    overrides = [s.strip() for s in sets.split(",") if s.strip()]
    for s in overrides:
        if "=" not in s:
            raise SystemExit(f"--recipe {spec!r}: {s!r} is not field=value")
    return name, path, overrides


def run(cmd: list[str], log: Path, env: dict[str, str]) -> None:
    with log.open("w", encoding="utf-8") as f:
        code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    if code:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({code}); see {log}")


def evaluate(gguf: Path, out: Path, args: argparse.Namespace, env: dict[str, str]) -> None:
    """Serve ``gguf`` on loopback (the demo's :class:`LLMServer`) and score BFCL's dev slice against it."""
    from toolbench.cli.demo.services import LLMServer, ServiceError

    server = LLMServer(str(gguf), "tuned", out.parent / "serve.log", default_max_tokens=args.max_tokens,
                       threads=args.threads, engine="llamacpp")
    try:
        server.start()
    except ServiceError as exc:
        raise SystemExit(str(exc)) from exc
    try:
        run([sys.executable, "-m", "toolbench", "eval", "bfcl-public", "--base-url", str(server.url), "--model",
             "tuned", "--split", "dev", "--per-category", str(args.per_category), "--seed", str(args.sample_seed),
             "--max-tokens", str(args.max_tokens), "--concurrency", "2", "--out", str(out)],
            out.parent / "eval.log", env)
    finally:
        server.stop()


def one_run(name: str, config: Path, overrides: list[str], seed: int, args: argparse.Namespace) -> dict[str, float]:
    """Train, export and score one (recipe, seed); every step whose output exists is skipped."""
    folder = Path(args.out) / name / f"seed-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    toolbench = [sys.executable, "-m", "toolbench"]
    final = folder / "run" / "final"
    gguf = folder / "tuned.q8_0.gguf"
    summary = folder / "dev" / "public_bfcl.summary.json"
    if not (final / "config.json").is_file():
        print(f"{name} seed {seed}: training ...", flush=True)
        sets = [*overrides, f"seed={seed}", f"output_dir={folder / 'run'}"]
        run([*toolbench, "train", "sft", "--config", str(config), *[a for s in sets for a in ("--set", s)]],
            folder / "train.log", env)
    if not gguf.is_file():
        print(f"{name} seed {seed}: exporting ...", flush=True)
        run([*toolbench, "train", "export-gguf", str(final), str(gguf), "--quant", "q8_0", "--no-verify"],
            folder / "export.log", env)
    if not summary.is_file():
        print(f"{name} seed {seed}: scoring BFCL's dev slice ...", flush=True)
        evaluate(gguf, folder / "dev", args, env)
    data = json.loads(summary.read_text(encoding="utf-8"))
    scores = {c: 100 * data["categories"][c]["accuracy"] for c in CATEGORIES if c in data["categories"]}
    scores["micro"] = 100 * data["overall"]["micro"]["accuracy"]
    print(f"{name} seed {seed}: " + ", ".join(f"{c} {v:.1f}" for c, v in scores.items()), flush=True)
    return scores


def table(results: dict[str, dict[int, dict[str, float]]]) -> str:
    """Each seed's row, then mean and spread per recipe; then each recipe's mean minus the baseline's."""
    cols = [c for c in COLUMNS if any(c in s for r in results.values() for s in r.values())]
    lines = ["| recipe | seed | " + " | ".join(cols) + " |", "| --- | --- |" + " ---: |" * len(cols)]
    means: dict[str, dict[str, float]] = {}
    spreads: dict[str, dict[str, float]] = {}
    for name, by_seed in results.items():
        for seed, s in by_seed.items():
            lines.append(f"| {name} | {seed} | " + " | ".join(f"{s.get(c, float('nan')):.1f}" for c in cols) + " |")
        means[name] = {c: sum(s[c] for s in by_seed.values()) / len(by_seed) for c in cols}
        spreads[name] = {c: max(s[c] for s in by_seed.values()) - min(s[c] for s in by_seed.values()) for c in cols}
        lines.append(f"| **{name}** | mean (spread) | "
                     + " | ".join(f"**{means[name][c]:.1f}** ({spreads[name][c]:.1f})" for c in cols) + " |")
    names = list(results)
    if len(names) > 1:
        base = names[0]
        note = (f"Difference of means against {base}, with the larger of the two recipes' seed spreads in brackets: "
                "a difference no bigger than that is within what retraining alone moves.")
        lines += ["", note, "",
                  "| recipe | " + " | ".join(cols) + " |", "| --- |" + " ---: |" * len(cols)]
        for name in names[1:]:
            lines.append(f"| {name} | " + " | ".join(
                f"{means[name][c] - means[base][c]:+.1f} ({max(spreads[name][c], spreads[base][c]):.1f})"
                for c in cols) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Example:\n  .venv/bin/python benchmarks/recipe_seeds.py --recipe "
                                            "demo=runs/demo/sft/recipe.yaml --recipe "
                                            "long=runs/demo/sft/recipe.yaml:max_steps=544 --seeds 0,1")
    parser.add_argument("--recipe", action="append", required=True,
                        help="NAME=CONFIG[:field=value,...]; the first is the baseline (repeatable)")
    parser.add_argument("--seeds", default="0,1", help="training seeds, comma-separated (default 0,1)")
    parser.add_argument("--out", default="runs/recipe-seeds", help="run folder (reruns resume)")
    parser.add_argument("--per-category", type=int, default=40, help="dev entries a category (default 40)")
    parser.add_argument("--sample-seed", type=int, default=0, help="seed of the dev sample (the same ids every run)")
    parser.add_argument("--max-tokens", type=int, default=160,
                        help="longest reply (default 160, the demo's budget until session 16; the demo now gives 384)")
    parser.add_argument("--threads", type=int, default=2, help="threads for training and the server (default 2)")
    parser.add_argument("--report", action="store_true",
                        help="only tabulate the (recipe, seed) runs already scored in --out; train nothing")
    args = parser.parse_args()
    recipes = [parse_recipe(s) for s in args.recipe]
    if len({n for n, _, _ in recipes}) != len(recipes):
        raise SystemExit("--recipe: give every recipe its own name")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    results: dict[str, dict[int, dict[str, float]]] = {}
    for name, config, overrides in recipes:
        if args.report:
            done = [seed for seed in seeds if (Path(args.out) / name / f"seed-{seed}" / "dev" /
                                                "public_bfcl.summary.json").is_file()]
            if done:
                results[name] = {seed: one_run(name, config, overrides, seed, args) for seed in done}
            continue
        results[name] = {seed: one_run(name, config, overrides, seed, args) for seed in seeds}
    if not results:
        raise SystemExit(f"no scored run in {args.out}")
    text = table(results)
    print(text)
    out = Path(args.out)
    (out / "results.md").write_text(text, encoding="utf-8")
    (out / "results.json").write_text(json.dumps({"recipes": {n: {"config": str(c), "overrides": o}
                                                              for n, c, o in recipes},
                                                  "seeds": seeds, "per_category": args.per_category,
                                                  "results": results}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'results.md'} and {out / 'results.json'}")


if __name__ == "__main__":
    main()
