"""The demo's LoRA data rebuilt with generation or mix settings changed: a data recipe to train and compare.

Reads a finished ``toolbench demo`` folder (its profile, hub calls, crawled catalog and imported reference
catalog), regenerates the reference-catalog call samples with ``generate calls`` settings set over the profile's
``reference_generation`` (``NAME=VALUE``, CallsConfig fields) and rebuilds the mix with the profile's
``MixConfig`` and ``mix.NAME=VALUE`` set over it. With nothing set it writes the demo's own ``train.jsonl`` byte for
byte (a check worth running first). Train the result with ``benchmarks/recipe_seeds.py`` and compare on BFCL's
dev slice (benchmarks/README.md, "Session 17").

    .venv/bin/python benchmarks/demo_mix.py --demo runs/demo --out runs/n17/rich \\
        number_rate=0.5 optional_rate=0.7 mix.order=random
    .venv/bin/python benchmarks/recipe_seeds.py \\
        --recipe "rich=runs/demo/sft/recipe.yaml:train_data=[runs/n17/rich/data/train.jsonl]" --seeds 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setting(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE")
    return name, yaml.safe_load(value)


def main() -> None:
    from annotate.prompts import opening_messages
    from toolbench.cli.demo.profile import DemoProfile
    from toolbench.cli.demo.stage_train import profile_mix_config
    from toolbench.generate import pipeline
    from toolbench.generate.calls_config import CallsRunConfig
    from train.mix import run as build_mix

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--demo", default="runs/demo", help="a finished demo folder (default runs/demo)")
    parser.add_argument("--out", required=True, help="folder for reference/calls and data/ (train.jsonl, mix.json)")
    parser.add_argument("settings", nargs="*", type=setting,
                        help="NAME=VALUE: a generate-calls setting of the reference samples, or mix.NAME=VALUE")
    args = parser.parse_args()
    demo, out = Path(args.demo), Path(args.out)
    profile_file = demo / "state" / "profile.json"
    if not profile_file.is_file():
        parser.error(f"{profile_file}: not found; run `toolbench demo` first")
    settings = json.loads(profile_file.read_text(encoding="utf-8"))["settings"]
    names = {f.name for f in dataclasses.fields(DemoProfile)}
    p = DemoProfile(**{k: v for k, v in settings.items() if k in names})
    calls_changes = {k: v for k, v in args.settings if not k.startswith("mix.")}
    mix_changes = {k[4:]: v for k, v in args.settings if k.startswith("mix.")}
    try:
        calls = dataclasses.replace(p.reference_calls_config(), **calls_changes)
    except TypeError as exc:
        parser.error(f"a generate-calls setting: {exc}")
    run_cfg = CallsRunConfig(catalog=str(demo / "reference" / "catalog"), n=p.reference_calls,
                             out=str(out / "reference" / "calls"), calls=calls, seed=p.seed, heldout=0.0, verify=True)
    stats = pipeline.run(run_cfg, on_sample=lambda _: None, on_resume=lambda _: None)
    print(f"reference samples: made {stats['made']}, kept {stats['kept']}", flush=True)
    tools = demo / "crawl" / "tools"
    mix = profile_mix_config(p, calls=demo / "calls", catalog=tools if tools.is_dir() else demo / "catalog",
                             out=out / "data", reference_calls=out / "reference" / "calls")
    try:
        mix = dataclasses.replace(mix, **mix_changes)
    except TypeError as exc:
        parser.error(f"a mix setting: {exc}")
    print(json.dumps(build_mix(mix, opening_messages).stats))


if __name__ == "__main__":
    main()
