"""The engines of `toolbench llm serve` side by side: llama.cpp against transformers, same prompts, same run.

Every server runs as its own process (`toolbench llm serve --port 0`), so its peak RSS is its own, and is called
over HTTP through the openai SDK, as the stages call it. Per server:

* decode tokens/s, one client: requests with a short prompt, completed to exactly --decode-tokens tokens
  (``ignore_eos``), one after another;
* decode tokens/s, --clients clients: the same requests, that many in flight (the server batches them);
* prefill tokens/s: prompts of about --prefill-tokens tokens (a tool list), each starting with a different
  number so that no prefix cache helps, answered with one token;
* peak RSS of the server process (VmHWM);
* AST accuracy on a public BFCL subset (`toolbench eval ast --dataset bfcl:<category> --limit N`), when
  --bfcl-limit is above 0: the same entries for every server, so the same model on two engines (or two
  quantisations of it) can be compared.

    .venv/bin/python benchmarks/llm_server.py                      # packaged SmolLM2-135M on both engines
    .venv/bin/python benchmarks/llm_server.py --bfcl-limit 100 \\
        --server transformers=runs/demo/train/final --server llamacpp=runs/demo/train/final.q8_0.gguf \\
        --server llamacpp=runs/demo/train/final.q4_1.gguf         # a tuned model: engines and quantisations

Prints a table and each figure's ratio to the first server's. Rounds alternate servers (a shared machine's load
drifts); the best round counts.

With --llama-bench PATH (llama.cpp's own `llama-bench`, built from the llama.cpp that llama-cpp-python vendors),
every llamacpp server's GGUF file ("default": the packaged model as Q8_0) is also measured by llama-bench
(`-t <threads or 2> -p 512 -n 128 -r 3 --repack 0`; `--repack 0` as the engine's `use_extra_bufts=False`: the AMX
extra buffer types crash on some CPUs), after the servers: a line per file gives its tg128 (decode) and pp512
(prefill) tokens/s and the server's decode (1 client) and prefill as a ratio of them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle works.",
    "Describe a walk through a forest in autumn.",
    "Give advice to someone learning to cook.",
]


def tool_list(n: int = 24) -> list[dict]:
    """A tool list long enough for a prefill measurement (about 40 tokens a tool)."""
    return [{"type": "function", "function": {
        "name": f"lookup_record_{i}", "description": f"Look up record type {i} in the archive by key and year.",
        "parameters": {"type": "object", "properties": {
            "key": {"type": "string", "description": "The record key."},
            "year": {"type": "integer", "description": "Year of the record."}}, "required": ["key"]}}}
        for i in range(n)]


class Server:
    """`toolbench llm serve` in a child process on a free port."""

    def __init__(self, engine: str, model: str, threads: int | None, max_batch: int) -> None:
        cmd = [sys.executable, "-m", "toolbench", "llm", "serve", "--engine", engine, "--model", model, "--port", "0",
               "--log-level", "warning", "--max-batch", str(max_batch)]
        if threads:
            cmd += ["--threads", str(threads)]
        self.engine, self.model = engine, model
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self.url: str | None = None
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 600
        while self.url is None and self.process.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        if self.url is None:
            self.stop()
            raise SystemExit(f"{engine} server for {model} did not start:\n" + "".join(self.lines[-20:]))
        import openai

        self.client = openai.OpenAI(base_url=self.url, api_key="EMPTY", timeout=600, max_retries=0)
        self.name = self.client.models.list().data[0].id

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith("serving ") and " at " in line and self.url is None:
                self.url = line.rsplit(" at ", 1)[1].strip()

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def chat(self, prompt: str, max_tokens: int, tools: list | None = None, exact: bool = True) -> tuple[int, int]:
        extra = {"ignore_eos": True} if exact else {}
        reply = self.client.chat.completions.create(
            model=self.name, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=0,
            tools=tools or None, tool_choice="none" if tools else None, extra_body=extra)
        return reply.usage.prompt_tokens, reply.usage.completion_tokens

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def decode_rate(server: Server, tokens: int, requests: int, clients: int) -> float:
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(requests)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        made = sum(c for _, c in pool.map(lambda p: server.chat(p, tokens), prompts))
    return made / (time.perf_counter() - started)


def prefill_rate(server: Server, tokens: int, requests: int, nonce: list[int]) -> float:
    tools = tool_list(max(1, tokens // 40))
    total, seconds = 0, 0.0
    for _ in range(requests):
        nonce[0] += 1
        started = time.perf_counter()  # a new number first: nothing of the prompt is in any prefix cache
        prompt_tokens, _ = server.chat(f"{nonce[0]}. Which record is the oldest?", 1, tools=tools, exact=False)
        seconds += time.perf_counter() - started
        total += prompt_tokens
    return total / seconds


def ast_accuracy(server: Server, category: str, limit: int, workdir: Path) -> tuple[float, float]:
    """(accuracy, seconds) on the first ``limit`` entries of a BFCL category."""
    out = workdir / f"{server.engine}-{Path(server.model).name}-{category}.jsonl"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "toolbench", "eval", "ast", "--dataset", f"bfcl:{category}", "--limit",
                    str(limit), "--base-url", server.url, "--model", server.name, "--out", str(out),
                    "--concurrency", "4", "--max-tokens", "256"], cwd=ROOT, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    summary = json.loads(out.with_name(out.stem + ".summary.json").read_text())
    return float(summary["overall"]["accuracy"]), seconds


def llama_bench_file(engine: str, model: str) -> Path | None:
    """The GGUF file a server spec serves, for llama-bench; None if not a llamacpp server of a GGUF file."""
    if engine != "llamacpp":
        return None
    if model == "default":
        from toolbench.llm.models import default_gguf

        return default_gguf("q8_0")
    path = Path(model).expanduser()
    path = path if path.is_absolute() else ROOT / path  # the servers run in ROOT
    return path if path.suffix.lower() == ".gguf" and path.is_file() else None


def llama_bench(binary: str, gguf: Path, threads: int) -> dict[str, float]:
    """llama.cpp's own figures for ``gguf``: {"prefill": pp512 tokens/s, "decode": tg128 tokens/s} (avg of 3)."""
    out = subprocess.run([binary, "-m", str(gguf), "-t", str(threads), "-p", "512", "-n", "128", "-r", "3",
                          "--repack", "0", "-o", "json"], check=True, capture_output=True, text=True).stdout
    rates: dict[str, float] = {}
    for test in json.loads(out):
        key = "prefill" if test["n_prompt"] and not test["n_gen"] else "decode" if test["n_gen"] else None
        if key:
            rates[key] = float(test["avg_ts"])
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", action="append", metavar="ENGINE=MODEL",
                        help="A server to measure (repeatable; default: llamacpp=default and transformers=default)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per server (default: all cores)")
    parser.add_argument("--decode-tokens", type=int, default=128)
    parser.add_argument("--requests", type=int, default=4, help="requests per decode measurement")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--prefill-tokens", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bfcl-category", default="simple_python")
    parser.add_argument("--bfcl-limit", type=int, default=40, help="BFCL entries for the AST column (0: skip)")
    parser.add_argument("--llama-bench", metavar="PATH", default=None,
                        help="llama.cpp's llama-bench binary: also measure each llamacpp server's GGUF file with it")
    args = parser.parse_args()
    specs = [s.split("=", 1) for s in (args.server or ["llamacpp=default", "transformers=default"])]
    results: dict[int, dict[str, float]] = {i: {} for i in range(len(specs))}
    nonce = [int(time.time())]
    workdir = Path(tempfile.mkdtemp(prefix="llm-bench-"))
    for round_ in range(args.rounds):
        for i, (engine, model) in enumerate(specs):
            server = Server(engine, model, args.threads, max_batch=args.clients)
            try:
                server.chat(PROMPTS[0], 8)  # warm-up
                figures = {
                    "decode_1": decode_rate(server, args.decode_tokens, args.requests, 1),
                    f"decode_{args.clients}": decode_rate(server, args.decode_tokens, args.requests * 2,
                                                          args.clients),
                    "prefill": prefill_rate(server, args.prefill_tokens, 3, nonce),
                }
                if round_ == 0 and args.bfcl_limit > 0:
                    figures["ast"], figures["ast_seconds"] = ast_accuracy(server, args.bfcl_category,
                                                                          args.bfcl_limit, workdir)
                figures["rss_mb"] = server.peak_rss_mb()
            finally:
                server.stop()
            for key, value in figures.items():  # best round for rates; AST from round 0; RSS the largest
                old = results[i].get(key)
                results[i][key] = value if old is None or key in ("rss_mb",) and value > old or \
                    key.startswith(("decode", "prefill")) and value > old else old
            print(f"round {round_ + 1}: {engine}={model}: " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()),
                  flush=True)
    keys = ["decode_1", f"decode_{args.clients}", "prefill", "rss_mb"] + (["ast", "ast_seconds"]
                                                                          if args.bfcl_limit > 0 else [])
    labels = {"decode_1": "decode tok/s, 1 client", f"decode_{args.clients}": f"decode tok/s, {args.clients} clients",
              "prefill": "prefill tok/s", "rss_mb": "peak RSS MB",
              "ast": f"AST {args.bfcl_category} (first {args.bfcl_limit})", "ast_seconds": "AST run s"}
    print(f"\n| server | {' | '.join(labels[k] for k in keys)} |")
    print("| --- |" + " ---: |" * len(keys))
    base = results[0]
    for i, (engine, model) in enumerate(specs):
        cells = []
        for key in keys:
            value = results[i][key]
            text = f"{value:.1%}" if key == "ast" else f"{value:.0f}" if value >= 10 else f"{value:.2f}"
            if i and key != "ast" and base.get(key):
                text += f" ({value / base[key]:.2f}x)"
            cells.append(text)
        print(f"| {engine}={model} | {' | '.join(cells)} |")
    if args.llama_bench:  # after the servers: nothing else is running
        print()
        files: dict[Path, int] = {}
        for i, (engine, model) in enumerate(specs):
            gguf = llama_bench_file(engine, model)
            if gguf is not None and gguf not in files:
                files[gguf] = i
        for gguf, i in files.items():
            ref = llama_bench(args.llama_bench, gguf, args.threads or 2)
            ours = results[i]
            print(f"llama-bench {gguf.name} (-t {args.threads or 2}): decode tg128 {ref['decode']:.1f} tok/s, "
                  f"prefill pp512 {ref['prefill']:.1f} tok/s; {specs[i][0]}={specs[i][1]}: decode (1 client) "
                  f"{ours['decode_1'] / ref['decode']:.2f}x, prefill {ours['prefill'] / ref['prefill']:.2f}x",
                  flush=True)


if __name__ == "__main__":
    main()
