"""`toolbench train export-gguf` on the packaged SmolLM2-135M-Instruct: size, export time and logit agreement per
quantisation, and the round trip packaged GGUF -> HF checkpoint (transformers' loader) -> our q4_1 GGUF compared
with the packaged file (tensor bytes, greedy continuations).

    .venv/bin/python benchmarks/gguf_export.py [--out runs/bench/gguf] [--quants f16,q8_0,q4_1] [--threads 2]

Prints a JSON report (also written to <out>/report.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
    ("<|im_start|>system\nYou call tools.<|im_end|>\n<|im_start|>user\nWeather in Oslo on 2024-05-01?<|im_end|>\n"
     "<|im_start|>assistant\n"),
    "<|im_start|>user\nList three prime numbers above 100.<|im_end|>\n<|im_start|>assistant\n",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench/gguf"))
    parser.add_argument("--quants", default="f32,f16,q8_0,q4_1,q4_k_m,q5_k_m")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tokens", type=int, default=32, help="greedy tokens per prompt in the round trip")
    args = parser.parse_args()

    from toolbench.llm.models import ensure_default_model, find_default_gguf, set_cpu_threading, set_offline

    set_offline()
    set_cpu_threading()
    from transformers import AutoTokenizer

    from train.gguf_export import export_gguf, greedy, iter_tensor_bytes, verify_gguf

    base = ensure_default_model()
    packaged = find_default_gguf()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"model": str(base), "packaged": str(packaged), "packaged_bytes": packaged.stat().st_size,
                    "quants": {}}
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    prompt_ids = [tok(p).input_ids for p in PROMPTS]

    for quant in [q for q in args.quants.split(",") if q]:
        path = args.out / f"smollm2-135m.{quant}.gguf"
        summary = export_gguf(base, path, quant=quant, threads=args.threads)
        checks = [verify_gguf(path, base, p, threads=args.threads) for p in PROMPTS]
        row = {k: summary[k] for k in ("bytes", "seconds", "tensors", "intermediate")}
        row["quantize_seconds"] = summary.get("quantize_seconds")
        row["positions"] = sum(c["positions"] for c in checks)
        row["argmax_agreement"] = round(sum(c["argmax_agreement"] * c["positions"] for c in checks)
                                        / row["positions"], 4)
        row["max_abs_diff"] = max(c["max_abs_diff"] for c in checks)
        row["max_rel_diff"] = max(c["max_rel_diff"] for c in checks)
        row["tokenizer_agrees"] = all(c["tokenizer_agrees"] for c in checks)
        report["quants"][quant] = row
        print(quant, json.dumps(row), flush=True)

    # round trip: the packaged Q4_1 file -> HF checkpoint -> q4_1 again, from F32 (default) and F16 intermediates
    reference = [greedy(packaged, ids, args.tokens, threads=args.threads) for ids in prompt_ids]
    packaged_tensors = {name: (kind, data) for name, kind, data in iter_tensor_bytes(packaged)}
    for inter in ("f32", "f16"):
        path = args.out / f"smollm2-135m.q4_1-from-{inter}.gguf"
        started = time.time()
        export_gguf(base, path, quant="q4_1", intermediate=inter, threads=args.threads)
        seconds = time.time() - started
        ours = {name: (kind, data) for name, kind, data in iter_tensor_bytes(path)}
        same = [n for n in packaged_tensors if ours.get(n) == packaged_tensors[n]]
        differing = sorted(set(packaged_tensors) - set(same))
        outputs = [greedy(path, ids, args.tokens, threads=args.threads) for ids in prompt_ids]
        row = {
            "bytes": path.stat().st_size, "seconds": round(seconds, 1),
            "tensor_types_equal": all(ours.get(n, ("?",))[0] == k for n, (k, _) in packaged_tensors.items()),
            "tensors_byte_identical": f"{len(same)}/{len(packaged_tensors)}",
            "differing_tensors": differing[:10],
            "greedy_identical": f"{sum(a == b for a, b in zip(outputs, reference))}/{len(PROMPTS)}",
            "first_divergence": [next((i for i, (a, b) in enumerate(zip(x, y)) if a != b), None)
                                 for x, y in zip(outputs, reference)],
        }
        report[f"roundtrip_q4_1_from_{inter}"] = row
        print(f"round trip q4_1 from {inter}", json.dumps(row), flush=True)
    report["reference_continuations"] = [tok.decode(r) for r in reference]
    report_path = args.out / "report.json"
    if report_path.is_file() and not report["quants"]:  # a round-trip-only run keeps the figures measured before
        report["quants"] = json.loads(report_path.read_text()).get("quants", {})
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
