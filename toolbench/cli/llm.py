"""``toolbench llm ...``: serve a local model over an OpenAI-compatible API, convert the default model, chat."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toolbench.llm.call_gate import read_threshold

app = typer.Typer(
    help="Language models: a local OpenAI-compatible server and a small client.\n\n"
    "Examples:\n\n"
    "  toolbench llm pull-default\n\n"
    "  toolbench llm serve --model default --port 8000\n\n"
    "  toolbench llm serve --model runs/train/lora-adapter --port 8001\n\n"
    "  toolbench llm serve --model tuned.q8_0.gguf --engine llamacpp --port 8002\n\n"
    "  toolbench llm serve --max-request-bytes 16777216   (413 above 16 MiB; default 8 MiB)\n\n"
    "  toolbench llm calibrate --model tuned.q8_0.gguf --data runs/demo/sft/data/calibration.jsonl --out cal.json\n\n"
    "  toolbench llm calibrate --model tuned.q8_0.gguf --bfcl-dev --out cal.json\n\n"
    "  toolbench llm serve --model tuned.q8_0.gguf --call-threshold cal.json\n\n"
    '  toolbench llm chat "What is the weather in Paris?" --tools tools.json\n\n'
    '  toolbench llm chat "Hi" --base-url https://api.openai.com/v1 --model gpt-4o-mini --api-key-env OPENAI_API_KEY',
    no_args_is_help=True,
)


@app.command("serve")
def serve_cmd(
    model: str = typer.Option("default", help="'default' (packaged SmolLM2-135M-Instruct), a GGUF file, a HF "
                                              "checkpoint folder, or a LoRA adapter folder."),
    engine: str = typer.Option("auto", help="auto (llama.cpp for the packaged model and GGUF files on a CPU, "
                                            "transformers for checkpoints, adapters and GPUs), llamacpp or "
                                            "transformers."),
    constrained: bool = typer.Option(True, "--constrained/--no-constrained",
                                     help="Grammar-constrained tool calls (tool_choice required/named: always a "
                                          "valid call; auto: once a call starts) and JSON (response_format)."),
    ctx_size: int = typer.Option(4096, help="llama.cpp: context per sequence in tokens (max_batch sequences)."),
    default_quant: str = typer.Option("q8_0", help="llama.cpp: serve the packaged model as q8_0 (requantised "
                                                   "once; prefills ~1.8x faster), q4_1 (the shipped file) or f16."),
    flash_attn: str = typer.Option("off", help="llama.cpp: flash attention off (faster decoding on a CPU), on or "
                                               "auto."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port (0: any free port, printed at start)."),
    served_model_name: str = typer.Option(None, help="Name clients send as 'model' (default: the model's name)."),
    dtype: str = typer.Option("auto", help="auto (bfloat16), float32, bfloat16 or float16."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N."),
    max_queue: int = typer.Option(64, help="Requests allowed to wait for the model; more get 429."),
    max_batch: int = typer.Option(4, help="Waiting requests generated together (one choice, not streamed; the "
                                          "transformers engine also needs equal sampling settings); 1: one at a "
                                          "time."),
    batch_wait: float = typer.Option(0.05, help="Seconds a batch that is not full waits for more requests."),
    default_max_tokens: int = typer.Option(512, help="max_tokens when a request gives none."),
    max_request_bytes: int = typer.Option(8 << 20, help="Largest request body in bytes (default 8 MiB); a larger "
                                                        "one gets 413 before it is read."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    threads: int = typer.Option(None, help="CPU threads for generation (default: one per core)."),
    call_threshold: str = typer.Option(None, help="With tools and tool_choice auto, call when the model's "
                                                  "probability of starting a call is at least this (a number, or "
                                                  "the calibration.json of `toolbench llm calibrate`); default: "
                                                  "greedy decoding's own choice."),
) -> None:
    """Serve a model at http://HOST:PORT/v1 (chat completions with tools, models, health).

    Examples: toolbench llm serve --model default --port 8000;
    toolbench llm serve --model runs/demo/sft/final.q8_0.gguf --port 8001;
    toolbench llm serve --model runs/demo/sft/final --engine transformers
    """
    from toolbench.llm.engines import ServerConfig
    from toolbench.llm.server_app import serve

    config = ServerConfig(model=model, engine=engine, constrained=constrained, ctx_size=ctx_size, flash_attn=flash_attn,
                          default_quant=default_quant, host=host, port=port, served_model_name=served_model_name, dtype=dtype,
                          device=device, max_queue=max_queue, max_batch=max_batch, batch_wait=batch_wait,
                          default_max_tokens=default_max_tokens, max_request_bytes=max_request_bytes,
                          log_level=log_level, threads=threads,
                          call_threshold=None if call_threshold is None else read_threshold(call_threshold))
    serve(config)


@app.command("calibrate")
def calibrate_cmd(
    model: Annotated[str, typer.Option(help="The model to calibrate: a GGUF file, a checkpoint or adapter folder, "
                                            "or 'default'.")],
    out: Annotated[Path, typer.Option(help="Where to write the calibration (JSON; its 'threshold' is what "
                                           "`toolbench llm serve --call-threshold` takes).")],
    data: Annotated[Path | None, typer.Option(help="Labelled requests the model was not trained on: OpenAI "
                                                   "fine-tuning JSONL (messages and tools), such as the "
                                                   "calibration.jsonl that `toolbench train mix` writes beside "
                                                   "train.jsonl.")] = None,
    bfcl_dev: bool = typer.Option(False, "--bfcl-dev", help="Calibrate on BFCL's declared dev slice instead "
                                                            "(abstention categories want text, the others a call); "
                                                            "report BFCL figures on the test slice then."),
    bfcl_categories: str = typer.Option("simple_python,multiple,parallel,parallel_multiple,irrelevance",
                                        help="--bfcl-dev: the categories (comma-separated)."),
    per_category: int = typer.Option(40, help="--bfcl-dev: dev entries a category (the same ids as `eval "
                                              "bfcl-public --split dev --per-category N`)."),
    limit: int = typer.Option(150, help="At most this many requests that want a call and as many that want text."),
    seed: int = typer.Option(0, help="Seed of the draw when there are more."),
    engine: str = typer.Option("auto", help="auto, llamacpp or transformers (as `llm serve`)."),
    threads: int = typer.Option(None, help="CPU threads (default: one per core)."),
) -> None:
    """Choose a model's call threshold: the probability of starting a call above which the reply to a request
    with tools (tool_choice auto) is a call, chosen for the best balanced accuracy on labelled requests the model
    was not trained on; see docs/llm.md, "Calibrated call decision".

    Examples: toolbench llm calibrate --model runs/demo/sft/tuned.q8_0.gguf --data runs/demo/sft/data/calibration.jsonl
    --out runs/demo/sft/calibration.json;
    toolbench llm calibrate --model tuned.q8_0.gguf --bfcl-dev --out calibration.json
    """
    from toolbench.llm.call_gate import calibrate_model, labelled_requests, write_calibration
    from toolbench.llm.engines import ServerConfig

    if limit < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--limit")
    if (data is None) == (not bfcl_dev):
        raise typer.BadParameter("give either --data FILE or --bfcl-dev", param_hint="--data")
    if bfcl_dev:
        from eval.public_sample import dev_requests

        categories = [c.strip() for c in bfcl_categories.split(",") if c.strip()]
        requests = dev_requests(categories, per_category, seed=0)
        source = f"BFCL dev slice: {', '.join(categories)}, {per_category} a category"
    else:
        assert data is not None
        requests = labelled_requests(data)
        source = str(data)

    def progress(done: int, total: int) -> None:
        if done == total or done % 25 == 0:
            typer.echo(f"  {done}/{total} requests", err=True)

    result = calibrate_model(ServerConfig(model=model, engine=engine, threads=threads, max_batch=1), requests,
                             limit=limit, seed=seed, source=source, progress=progress)
    write_calibration(result, out)
    typer.echo(f"call threshold {result.threshold:.4g}: calls {result.call_recall:.1%} of {result.calls}, text "
               f"{result.text_recall:.1%} of {result.texts} (balanced accuracy {result.balanced_accuracy:.1%}, AUC "
               f"{result.auc:.3f}) -> {out}")


@app.command("pull-default")
def pull_default_cmd(
    dtype: str = typer.Option("float32", help="Weights dtype of the saved checkpoint: float32 (exact, 517 MB) or "
                                              "bfloat16 (257 MB)."),
    force: bool = typer.Option(False, help="Convert again even if the checkpoint exists."),
) -> None:
    """Convert the packaged SmolLM2-135M-Instruct GGUF into a HF checkpoint (once, offline) and print its folder.

    The folder is $TOOLBENCH_HOME/models/smollm2-135m-instruct (default home ~/.cache/toolbench).
    """
    import shutil

    from toolbench.llm.models import default_model_dir, ensure_default_model

    if dtype not in ("float32", "bfloat16"):
        raise typer.BadParameter("dtype must be float32 or bfloat16", param_hint="--dtype")
    folder = default_model_dir()
    if force and folder.exists():
        shutil.rmtree(folder)
    typer.echo(str(ensure_default_model(folder, dtype=dtype)))


@app.command("chat")
def chat_cmd(
    prompt: str = typer.Argument(..., help="The user message."),
    base_url: str = typer.Option("http://127.0.0.1:8000/v1", help="OpenAI-compatible endpoint (with /v1)."),
    model: str = typer.Option("smollm2-135m-instruct", help="Model name to send."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", help="Environment variable holding the API key."),
    tools: Annotated[Path | None, typer.Option(help="JSON file: a list of OpenAI tools or function schemas to "
                                                    "offer.")] = None,
    system: str = typer.Option(None, help="A system message."),
    max_tokens: int = typer.Option(256, help="Largest reply in tokens."),
    temperature: float = typer.Option(0.0, help="Sampling temperature (0: greedy)."),
) -> None:
    """Send one chat request and print the reply as JSON (content, tool calls, usage).

    Example: toolbench llm chat "Weather in Paris?" --tools tools.json
    """
    from toolbench.errors import ToolbenchError
    from toolbench.llm.openai_client import OpenAIChatConfig, OpenAIChatModel

    offered = None
    if tools is not None:
        try:
            offered = json.loads(tools.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ToolbenchError(f"--tools {tools}: cannot read a JSON list of tools: {exc}") from exc
        if not isinstance(offered, list):
            raise ToolbenchError(f"--tools {tools}: expected a JSON list of tools")
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    client = OpenAIChatModel(OpenAIChatConfig(model=model, base_url=base_url, api_key_env=api_key_env))
    reply = client.chat(messages, offered, max_tokens=max_tokens, temperature=temperature)
    out = reply.to_dict()
    out.pop("alternatives")
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
