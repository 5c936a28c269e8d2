"""``toolbench hub ...``: run the sandbox API hub and publish its OpenAPI documents and catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The sandbox API hub: tools that behave like real APIs, on loopback, with no network.\n\n"
    "Examples:\n\n"
    "  toolbench hub serve --port 8750 --seed 0\n\n"
    "  toolbench hub serve --fault rate_limit:0.1 --fault slow:0.05 --slow-seconds 5\n\n"
    "  toolbench hub serve --api-key K --max-body-bytes 65536   (only key K, also for /admin/*; 413 over 64 KiB)\n\n"
    "  toolbench hub serve --cache runs/hub-cache.sqlite --llm-base-url http://127.0.0.1:8000/v1 "
    "--llm-model smollm2-135m-instruct   (/virtual simulates what it cannot answer)\n\n"
    "  toolbench hub export-openapi --out runs/hub-openapi.json\n\n"
    "  toolbench hub export-openapi --out-dir runs/hub-openapi/   (one document per tool)\n\n"
    "  toolbench hub export-catalog --out data/tools",
    no_args_is_help=True,
)


def _settings(**kw):
    from toolbench.hub.settings import HubSettings, parse_fault

    faults = dict(parse_fault(spec) for spec in kw.pop("fault") or [])
    keys = tuple(kw.pop("api_key") or [])
    return HubSettings(faults=faults, api_keys=keys, **{k: v for k, v in kw.items() if v is not None})


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Interface to bind; loopback unless you mean to expose it."),
    port: int = typer.Option(8750, help="TCP port (0 picks a free one)."),
    seed: int = typer.Option(0, help="Seed of all generated data."),
    fault: Annotated[list[str] | None, typer.Option(
        "--fault", help="MODE[:RATE], repeatable. Modes: rate_limit, server_error, slow, malformed, unauthorized; "
                        "RATE is the fraction of requests (default 1).")] = None,
    retry_after: int = typer.Option(1, help="Seconds in Retry-After for injected 429s."),
    slow_seconds: float = typer.Option(3.0, help="Delay of the slow fault."),
    require_key: bool = typer.Option(True, help="401 for requests without X-RapidAPI-Key / Bearer."),
    api_key: Annotated[list[str] | None, typer.Option(
        "--api-key", help="Accept only these keys (repeatable); default any. With keys, /admin/* needs one "
                          "too (401 without).")] = None,
    max_body_bytes: int = typer.Option(None, help="Largest request body in bytes (default 1048576, 1 MiB); a "
                                       "larger one gets 413 before it is read."),
    cache: str = typer.Option("", help="SQLite response cache that POST /virtual answers from first."),
    now: str = typer.Option(None, help="The sandbox clock, ISO 8601 with offset."),
    llm_base_url: str = typer.Option("", help="OpenAI-compatible endpoint (…/v1) of the LLM that simulates "
                                     "/virtual answers the hub cannot give; needs --llm-model."),
    llm_model: str = typer.Option("", help="Model name for the simulator; empty: no simulation."),
    llm_api_key_env: str = typer.Option("OPENAI_API_KEY", help="Variable holding the simulator LLM's key."),
    llm_cache: str = typer.Option("", help="SQLite record/replay cache of simulator replies (repeatable runs)."),
    virtual_catalog: str = typer.Option("", help="ToolBench tool folder documenting APIs the hub does not serve "
                                        "(for the simulator's prompt)."),
    keep_alive: float = typer.Option(30.0, help="Seconds an idle keep-alive connection stays open."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the hub until Ctrl-C. Tools live under /<tool>/..., docs at /docs, OpenAPI at /openapi.json
    (one tool: /openapi/<tool>.json), StableToolBench's POST /virtual, and /admin/reset|faults|stats.

    With --llm-model, /virtual answers a call it cannot answer from the cache or a real call (unknown API,
    failed call) with a simulated response marked "simulated": true."""
    from toolbench.hub.server import serve

    settings = _settings(host=host, port=port, seed=seed, fault=fault, retry_after=retry_after,
                         slow_seconds=slow_seconds, require_key=require_key, api_key=api_key, cache_path=cache,
                         now=now, llm_base_url=llm_base_url, llm_model=llm_model, llm_api_key_env=llm_api_key_env,
                         llm_cache_path=llm_cache, virtual_catalog=virtual_catalog, keep_alive_seconds=keep_alive,
                         max_body_bytes=max_body_bytes)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: binding {host}: the sandbox hub is reachable from other machines", err=True)
    serve(settings.host, settings.port, settings, log_level=log_level)


@app.command("export-openapi")
def export_openapi_cmd(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the whole hub's OpenAPI document here.")
                   ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="Write one document per tool here (<tool>.json).")
                       ] = None,
    seed: int = typer.Option(0, help="Seed (does not change the documents; kept for symmetry with serve)."),
) -> None:
    """Write the hub's OpenAPI document(s) without starting a server."""
    from toolbench.hub.app import create_app
    from toolbench.hub.catalog import openapi_documents
    from toolbench.hub.settings import HubSettings

    if out is None and out_dir is None:
        raise typer.BadParameter("give --out FILE, --out-dir DIR or both")
    settings = HubSettings(seed=seed)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(create_app(settings).openapi(), indent=2, ensure_ascii=False) + "\n")
        typer.echo(f"wrote {out}")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for slug, doc in openapi_documents(settings).items():
            (out_dir / f"{slug}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        typer.echo(f"wrote {len(openapi_documents(settings))} documents to {out_dir}")


@app.command("export-catalog")
def export_catalog_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Catalog folder to write.")] = Path("data/tools"),
) -> None:
    """Import the hub's OpenAPI documents with the catalog importer into a catalog folder (data/tools)."""
    from toolbench.hub.catalog import export_catalog

    paths = export_catalog(out)
    typer.echo(f"wrote {len(paths)} tool files to {out}")
