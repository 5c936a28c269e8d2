"""Training tokens/s on CPU: our trainer (train.sft.main) vs a bare HF Trainer loop on the same data, same run.

Both train the same base model with the same LoRA (or full) settings for the same number of steps on the same
token sequences (synthetic tool-call conversations encoded once by train.encode, so both see identical ids). Each
runs in its own child process so that its peak RSS is its own; they alternate order over ``--repeat`` rounds and
the best round of each counts. Printed: tokens/s of the training loop, wall time including loading and data
preparation, peak RSS, and the overhead ratio (bare / ours).

    .venv/bin/python benchmarks/train.py [--model default|PATH] [--steps 6] [--batch-size 4] [--method lora]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and "train" would be this file, not the package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
CITIES = ["Paris", "Lyon", "Oslo", "Rome", "Bern", "Riga", "Lima", "Kyiv", "Doha", "Baku", "Suva", "Apia"]
TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def write_data(path: Path, n: int) -> None:
    rows = []
    for i in range(n):
        city = CITIES[i % len(CITIES)]
        rows.append({"tools": [TOOL], "messages": [
            {"role": "user", "content": f"What is the weather in {city} right now?"},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {
                "name": "get_weather", "arguments": json.dumps({"city": city})}}]},
            {"role": "tool", "tool_call_id": "c", "content": json.dumps({"temp_c": 10 + i % 20, "sky": "clear"})},
            {"role": "assistant", "content": f"It is {10 + i % 20} C and clear in {city}."}]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def child(kind: str, args: argparse.Namespace, work: Path) -> dict:
    """Runs in a child process: one training, its figures as a dict."""
    from train.config import SFTConfig
    from train.sft import main, peak_rss_mb

    cfg = SFTConfig(model=args.model, train_data=[str(work / "data.jsonl")], output_dir=str(work / kind),
                    method=args.method, max_steps=args.steps, batch_size=args.batch_size, max_length=args.max_length,
                    learning_rate=1e-4, logging_steps=1, save_steps=10_000, device="cpu", resume="never",
                    merge_lora=False, seed=0)
    started = time.time()
    if kind == "ours":
        result = main(cfg)
        train = result.summary["train"]
        return {"tokens_per_s": train["tokens_per_s"], "runtime_s": train["runtime_s"], "tokens": train["tokens_seen"],
                "wall_s": time.time() - started, "peak_rss_mb": peak_rss_mb()}
    # bare: the same model, adapters and ids, a plain Trainer with a padding collator
    import torch
    from transformers import Trainer, TrainingArguments

    from train.encode import Collator
    from train.sft import (
        add_lora,
        base_checkpoint,
        encode_splits,
        load_for_training,
        load_splits,
        set_environment,
    )

    set_environment()
    torch.manual_seed(0)
    base = base_checkpoint(cfg.model)
    model, tokenizer = load_for_training(cfg, base)
    train_set, _held = load_splits(cfg)
    features, _, _ = encode_splits(cfg, tokenizer, train_set, [])
    if cfg.method == "lora":
        model = add_lora(cfg, model)
    targs = TrainingArguments(output_dir=str(work / kind), per_device_train_batch_size=cfg.batch_size,
                              max_steps=cfg.max_steps, learning_rate=1e-4, save_strategy="no", report_to=[],
                              use_cpu=True, remove_unused_columns=False, seed=0, data_seed=0, logging_steps=1,
                              include_num_input_tokens_seen="non_padding", disable_tqdm=True)
    trainer = Trainer(model=model, args=targs, train_dataset=features,
                      data_collator=Collator(pad_token_id=tokenizer.pad_token_id), processing_class=tokenizer)
    out = trainer.train()
    runtime = out.metrics["train_runtime"]
    tokens = trainer.state.num_input_tokens_seen
    return {"tokens_per_s": tokens / runtime, "runtime_s": runtime, "tokens": tokens,
            "wall_s": time.time() - started, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="'default' (SmolLM2-135M) or a HF checkpoint folder")
    parser.add_argument("--method", default="lora", choices=["lora", "full"])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=1, help="rounds (order alternates; best counts)")
    parser.add_argument("--child", choices=["ours", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args, Path(args.work))), flush=True)
        return

    results: dict[str, list[dict]] = {"ours": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_data(work / "data.jsonl", args.examples)
        for round_ in range(args.repeat):
            for kind in (("ours", "bare") if round_ % 2 == 0 else ("bare", "ours")):
                cmd = [sys.executable, __file__, "--child", kind, "--work", str(work), "--model", args.model,
                       "--method", args.method, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                       "--max-length", str(args.max_length)]
                proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
                line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
                if proc.returncode or line is None:
                    sys.exit(f"{kind} failed:\n{proc.stderr[-3000:]}")
                results[kind].append(json.loads(line[len("RESULT "):]))
    best = {k: max(v, key=lambda r: r["tokens_per_s"]) for k, v in results.items()}
    print(f"# {platform.processor() or platform.machine()}, {args.model}, {args.method}, {args.steps} steps of "
          f"batch {args.batch_size}, max_length {args.max_length}")
    print(f"{'':6} {'tokens/s':>9} {'loop s':>8} {'wall s':>8} {'tokens':>8} {'peak RSS MB':>12}")
    for kind, r in best.items():
        print(f"{kind:6} {r['tokens_per_s']:9.1f} {r['runtime_s']:8.1f} {r['wall_s']:8.1f} {r['tokens']:8d} "
              f"{r['peak_rss_mb']:12.0f}")
    print(f"overhead ratio (bare tokens/s / ours): {best['bare']['tokens_per_s'] / best['ours']['tokens_per_s']:.3f}")


if __name__ == "__main__":
    main()
