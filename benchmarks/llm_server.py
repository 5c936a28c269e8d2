"""Throughput of `toolbench llm serve` against raw `model.generate`, in the same process and run.

The same model object serves both paths. Each request is one chat prompt rendered by our template and completed
greedily to exactly --max-tokens tokens (``min_new_tokens`` / the server's ``ignore_eos``), so both paths do the
same work; the difference is the HTTP server, the openai SDK, JSON, the worker queue and tool-call parsing.
Rounds alternate raw and server runs, because a shared machine's load drifts.

    .venv/bin/python benchmarks/llm_server.py                  # packaged SmolLM2-135M, bf16, CPU
    .venv/bin/python benchmarks/llm_server.py --requests 8 --max-tokens 64 --concurrency 4 --rounds 3

Prints generated tokens/s and requests/s for each path, and the server's overhead ratio (raw tokens/s divided by
server tokens/s; 1.00 means no overhead; below 1 the server does better than one-at-a-time generation). The
concurrent clients run twice: with ``max_batch`` 1 (one request at a time) and with ``max_batch`` = the number of
clients (waiting requests generated together).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = [
    "What is the weather in Paris?",
    "Give me three facts about the Moon.",
    "How do I reverse a list in Python?",
    "Write a short greeting for a birthday card.",
]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def raw_run(loaded, prompts: list[str], max_tokens: int) -> tuple[float, int]:
    """Seconds and generated tokens for the prompts, one at a time, with model.generate."""
    import torch

    from toolbench.llm.template import render_prompt

    tokens, started = 0, time.perf_counter()
    for prompt in prompts:
        text = render_prompt(loaded.tokenizer, [{"role": "user", "content": prompt}], TOOLS).text
        enc = loaded.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(loaded.device)
        with torch.inference_mode():
            out = loaded.model.generate(**enc, max_new_tokens=max_tokens, min_new_tokens=max_tokens, do_sample=False,
                                        pad_token_id=loaded.tokenizer.pad_token_id)
        tokens += out.shape[1] - enc.input_ids.shape[1]
    return time.perf_counter() - started, tokens


def start_server(app) -> tuple[str, object, threading.Thread]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1", server, thread


def server_run(client, model: str, prompts: list[str], max_tokens: int, concurrency: int) -> tuple[float, int]:
    """Seconds and generated tokens for the prompts through the server (``concurrency`` clients at once)."""

    def one(prompt: str) -> int:
        response = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], tools=TOOLS, temperature=0,
            max_tokens=max_tokens, extra_body={"ignore_eos": True})
        return response.usage.completion_tokens

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        tokens = sum(pool.map(one, prompts))
    return time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="'default', a checkpoint or an adapter folder")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--requests", type=int, default=8, help="requests per run")
    parser.add_argument("--max-tokens", type=int, default=32, help="tokens generated per request")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="clients at once in the concurrent runs (and max_batch in the batched one)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import openai

    from toolbench.llm.generation import HFGenerator
    from toolbench.llm.models import load_model
    from toolbench.llm.server import ServerConfig, create_app

    t0 = time.perf_counter()
    loaded = load_model(args.model, dtype=args.dtype, threads=args.threads)
    import torch

    print(f"model {loaded.name} ({loaded.dtype}, {loaded.device}, {torch.get_num_threads()} threads) loaded in "
          f"{time.perf_counter() - t0:.1f} s; {args.requests} requests x {args.max_tokens} tokens, greedy, "
          f"tools offered; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.requests)]
    app = create_app(HFGenerator.from_loaded(loaded), ServerConfig(max_queue=max(64, args.requests)))
    url, server, thread = start_server(app)
    client = openai.OpenAI(base_url=url, api_key="EMPTY", timeout=600, max_retries=0)
    raw_run(loaded, prompts[:1], 4)  # warm-up
    server_run(client, app.state.server.model_name, prompts[:1], 4, 1)

    unbatched, batched = f"server, {args.concurrency} clients", f"server, {args.concurrency} clients, batched"
    results: dict[str, list[tuple[float, int]]] = {"raw model.generate": [], "server, 1 client": [],
                                                   unbatched: [], batched: []}
    config = app.state.server.config
    for round_ in range(args.rounds):
        results["raw model.generate"].append(raw_run(loaded, prompts, args.max_tokens))
        config.max_batch = 1
        results["server, 1 client"].append(server_run(client, app.state.server.model_name, prompts,
                                                      args.max_tokens, 1))
        results[unbatched].append(
            server_run(client, app.state.server.model_name, prompts, args.max_tokens, args.concurrency))
        config.max_batch = args.concurrency
        results[batched].append(
            server_run(client, app.state.server.model_name, prompts, args.max_tokens, args.concurrency))
        print(f"round {round_ + 1}: " + ", ".join(f"{name} {tok / sec:.2f} tok/s" for name, runs in results.items()
                                                  for sec, tok in runs[-1:]), flush=True)

    print(f"\n{'path':<22} {'tokens/s':>9} {'requests/s':>11} {'s/request':>10}")
    rates = {}
    for name, runs in results.items():
        tok_s = statistics.median(tok / sec for sec, tok in runs)
        req_s = statistics.median(args.requests / sec for sec, _ in runs)
        rates[name] = tok_s
        print(f"{name:<22} {tok_s:>9.2f} {req_s:>11.3f} {1 / req_s:>10.2f}")
    raw = rates["raw model.generate"]
    for name, rate in list(rates.items())[1:]:
        print(f"overhead ratio ({name}): raw / server tokens/s = {raw / rate:.3f}")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    server.should_exit = True
    thread.join(timeout=10)


if __name__ == "__main__":
    main()
