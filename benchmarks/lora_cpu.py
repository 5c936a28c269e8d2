"""LoRA training speed of the packaged SmolLM2-135M on a CPU, by setting, against the fp32 baseline in the same run.

One forward+backward pass (the work of a training step, without the optimizer's few LoRA parameters) on random
token sequences, for each combination the recipe offers: base weights fp32 or bfloat16 (``base_dtype``), attention
``sdpa`` or ``eager`` (``attn_implementation``), LoRA dropout 0.05 or 0 (``lora_dropout``). Adapters on all seven
projections, r=16, as ``toolbench demo`` trains. Settings alternate over ``--rounds`` (a shared machine's load
drifts); the median counts.

    .venv/bin/python benchmarks/lora_cpu.py                    # 300- and 600-token sequences, 2 rounds
    .venv/bin/python benchmarks/lora_cpu.py --lengths 1200 --rounds 3
    .venv/bin/python benchmarks/lora_cpu.py --memory --lengths 640 1265

Prints seconds per sequence and tokens/s for each setting and length, and the speed-up over the first setting
(fp32, sdpa, dropout 0.05: the trainer's defaults). ``--memory`` instead runs each of :data:`MEMORY_SETTINGS`
(bfloat16, dropout 0; attention eager or sdpa, gradient checkpointing off or on) in a process of its own, one
sequence length at a time, and prints the process's peak RSS after two training passes, the second pass's
seconds, and both against the demo's setting (eager, no checkpointing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SETTINGS = [("float32", "sdpa", 0.05), ("float32", "sdpa", 0.0), ("bfloat16", "sdpa", 0.0),
            ("bfloat16", "eager", 0.05), ("bfloat16", "eager", 0.0)]
# (attention, gradient checkpointing), bfloat16 base and dropout 0 (the demo's recipe); the first is the demo's
MEMORY_SETTINGS = [("eager", False), ("sdpa", False), ("eager", True), ("sdpa", True)]


def load(dtype: str, attn: str, dropout: float, checkpointing: bool = False):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from toolbench.llm.models import ensure_default_model
    from train.config import LLAMA_PROJECTIONS

    base = AutoModelForCausalLM.from_pretrained(str(ensure_default_model()), dtype=getattr(torch, dtype),
                                                attn_implementation=attn, local_files_only=True)
    base.config.use_cache = False
    if checkpointing:  # non-reentrant; inputs that carry gradients into the frozen base, as train.sft sets them
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, lora_dropout=dropout, task_type="CAUSAL_LM",
                                            target_modules=list(LLAMA_PROJECTIONS)))
    model.train()
    return model


def step_seconds(model, length: int) -> float:
    import torch

    ids = torch.randint(0, 40000, (1, length))
    started = time.perf_counter()
    model(input_ids=ids, labels=ids).loss.backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - started


def one_memory_run(attn: str, checkpointing: bool, length: int) -> None:
    """In a process of its own: two training passes; prints ``peak_kb seconds`` (RSS high-water mark, and the
    second pass's time)."""
    import resource

    from toolbench.llm.models import set_cpu_threading

    set_cpu_threading()
    model = load("bfloat16", attn, 0.0, checkpointing)
    step_seconds(model, length)
    seconds = step_seconds(model, length)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, f"{seconds:.3f}")


def memory(lengths: list[int]) -> None:
    import subprocess

    print(f"SmolLM2-135M, LoRA r=16 on 7 projections, bfloat16 base, dropout 0; one process per setting; load "
          f"average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"\n{'attention':<9} {'checkpointing':<13} {'tokens':>6} {'peak RSS':>9} {'vs demo':>8} {'s/seq':>7} "
          f"{'speed-up':>8}")
    for n in lengths:
        rows = []
        for attn, checkpointing in MEMORY_SETTINGS:
            out = subprocess.run([sys.executable, __file__, "--one-memory-run", attn, str(int(checkpointing)), str(n)],
                                 capture_output=True, text=True, check=True).stdout.split()
            rows.append((attn, checkpointing, int(out[-2]) / 1024 ** 2, float(out[-1])))
        base_gb, base_s = rows[0][2], rows[0][3]
        for attn, checkpointing, gb, seconds in rows:
            print(f"{attn:<9} {'on' if checkpointing else 'off':<13} {n:>6} {gb:>7.2f}GB {gb / base_gb:>7.2f}x "
                  f"{seconds:>7.2f} {base_s / seconds:>7.2f}x")
    print(f"load average now {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[300, 600], help="sequence lengths in tokens")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory", action="store_true", help="peak RSS by attention and gradient checkpointing")
    parser.add_argument("--one-memory-run", nargs=3, metavar=("ATTN", "CHECKPOINTING", "LENGTH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_memory_run:
        attn, checkpointing, length = args.one_memory_run
        one_memory_run(attn, checkpointing == "1", int(length))
        return
    if args.memory:
        memory(args.lengths)
        return

    from toolbench.llm.models import set_cpu_threading

    set_cpu_threading()
    import torch

    models = {setting: load(*setting) for setting in SETTINGS}
    for model in models.values():  # warm-up
        step_seconds(model, 64)
    print(f"SmolLM2-135M, LoRA r=16 on 7 projections, {torch.get_num_threads()} threads, load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    times: dict[tuple, list[float]] = {(s, n): [] for s in SETTINGS for n in args.lengths}
    for _ in range(args.rounds):
        for n in args.lengths:
            for setting, model in models.items():
                times[(setting, n)].append(step_seconds(model, n))
    print(f"\n{'base dtype':<10} {'attention':<9} {'dropout':>7} {'tokens':>6} {'s/seq':>7} {'tokens/s':>9} "
          f"{'speed-up':>8}")
    for n in args.lengths:
        baseline = statistics.median(times[(SETTINGS[0], n)])
        for setting in SETTINGS:
            seconds = statistics.median(times[(setting, n)])
            dtype, attn, dropout = setting
            print(f"{dtype:<10} {attn:<9} {dropout:>7} {n:>6} {seconds:>7.2f} {n / seconds:>9.0f} "
                  f"{baseline / seconds:>7.2f}x")
    print(f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
