"""``toolbench agent ...``: run a tool model for people, with approval of consequential calls.

``chat`` (terminal) and ``serve`` (HTTP on loopback) run the agent of :mod:`toolbench.agent.graph` on a catalog;
``policy`` shows which APIs run on their own and why; ``export-feedback`` writes people's decisions as training
data. Stage packages are imported only inside the command that needs one: the retriever for ``--retriever``,
``train.format`` for ``export-feedback``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from toolbench.config import parse_overrides
from toolbench.errors import ToolbenchError

# Test-only: "module:function" returning the ChatModel to use instead of the OpenAI client. The product never
# sets it.
TEST_MODEL_ENV = "TOOLBENCH_AGENT_TEST_MODEL"
DEFAULT_STATE = Path("runs/agent")

app = typer.Typer(
    help="Run a tool model for people: the model proposes calls, read-only calls run, consequential calls wait "
    "for approval.\n\n"
    "Examples:\n\n"
    "  toolbench agent chat --catalog data/tools --base-url http://127.0.0.1:8000/v1 --session alice\n\n"
    "  toolbench agent serve --catalog data/tools --base-url http://127.0.0.1:8000/v1 --port 8090\n\n"
    "  toolbench agent serve --catalog data/tools --base-url http://127.0.0.1:8000/v1 --tokens-file tokens.txt\n\n"
    "  toolbench agent policy --catalog data/tools --accuracy runs/eval/per_api.json --threshold 0.9\n\n"
    "  toolbench agent export-feedback --format sharegpt --out runs/agent/feedback.json",
    no_args_is_help=True,
    add_completion=False,
)

Catalog = Annotated[Path, typer.Option(help="Catalog folder (ToolBench tool files, e.g. from `toolbench catalog "
                                            "import-openapi` or `toolbench hub export-catalog`).")]
State = Annotated[Path, typer.Option(help="Folder of the agent's SQLite files: sessions (LangGraph checkpoints), "
                                          "feedback and call journal.")]
Accuracy = Annotated[Path | None, typer.Option(help="Per-API AST accuracy from the evaluation stage: JSON "
                                                    "{\"tool/api\" or function name: {\"accuracy\": x, \"n\": k}}.")]
PolicyFile = Annotated[Path | None, typer.Option("--policy", help="Policy file (JSON/YAML): threshold, min_n, and "
                                                                  "lists consequential, read_only, always_confirm.")]
Threshold = Annotated[float | None, typer.Option(help="Accuracy at or above which a consequential call runs "
                                                      "without approval (default 0.9, or the policy file's).")]
MinN = Annotated[int | None, typer.Option(help="Fewest measured calls that count as evidence (default 10).")]


def _catalog(path: Path) -> Any:
    from toolbench.catalog.store import load_catalog

    catalog = load_catalog(path)
    for problem in catalog.problems:
        typer.echo(f"warning: {problem}", err=True)
    if not catalog.tools:
        raise ToolbenchError(f"--catalog {path}: no tool files could be read; nothing to offer the model")
    return catalog


def _functions(catalog: Any) -> Any:
    from toolbench.catalog.functions import FunctionSet

    return FunctionSet.from_apis(catalog.apis(), {t.name: t.standardized_name for t in catalog.tools})


def _selector(spec: str | None, catalog: Any) -> Any:
    """A ToolSelector from ``--retriever``: ``bm25`` over the catalog, or a folder made by `toolbench retriever
    index`."""
    if spec is None:
        return None
    if spec == "bm25":
        from retriever.bm25 import Bm25Index
        from retriever.corpus import Corpus, split_doc_id

        index = Bm25Index.build(Corpus.from_apis(catalog.apis()))
        return lambda text, k: [split_doc_id(doc) for doc, _ in index.rank([text], k)[0]]
    from retriever.index import ApiRetriever

    if not Path(spec).is_dir():
        raise ToolbenchError(f"--retriever {spec}: use bm25 or a folder made by `toolbench retriever index`")
    dense = ApiRetriever.load(spec)
    return lambda text, k: [(hit.tool, hit.name) for hit in dense.search(text, k)]


def _model(model: str, base_url: str | None, api_key_env: str) -> Any:
    doubles = os.environ.get(TEST_MODEL_ENV)
    if doubles:
        module, _, name = doubles.partition(":")
        return getattr(importlib.import_module(module), name)()
    from toolbench.llm.factory import make_chat_model

    return make_chat_model(model, base_url=base_url, api_key_env=api_key_env)


def build_context(catalog_dir: Path, base_url: str | None, model: str, api_key_env: str, accuracy: Path | None,
                  policy_file: Path | None, threshold: float | None, min_n: int | None, retriever: str | None,
                  api_override: list[str] | None, max_tools: int, max_steps: int, temperature: float | None,
                  max_tokens: int | None) -> Any:
    from toolbench.agent.graph import AgentContext
    from toolbench.agent.policy import TrustPolicy
    from toolbench.executor import Executor, ExecutorConfig

    policy = TrustPolicy.load(policy_file, accuracy, threshold, min_n)  # checked before anything starts
    catalog = _catalog(catalog_dir)
    executor = Executor(catalog.tools, ExecutorConfig(base_url_overrides=parse_overrides(api_override)))
    params = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    return AgentContext(model=_model(model, base_url, api_key_env), executor=executor, functions=_functions(catalog),
                        policy=policy, selector=_selector(retriever, catalog), max_tools=max_tools,
                        max_steps=max_steps, params=params)


# -- chat -----------------------------------------------------------------------------------------------

def _show_call(console: Any, pending: dict[str, Any]) -> None:
    from rich.panel import Panel

    call = pending["call"]
    http = call.get("http") or {}
    lines = [f"[bold]{call['name']}[/bold]  ({call.get('tool')} / {call.get('api')})",
             f"why: {call.get('reason', '')}"]
    if http.get("url"):
        lines.append(f"request: {http['method']} {http['url']}")
        if http.get("query"):
            lines.append(f"query: {json.dumps(http['query'], ensure_ascii=False)}")
        if http.get("body") is not None:
            lines.append("body: " + json.dumps(http["body"], ensure_ascii=False, indent=2))
    else:
        lines.append(f"arguments: {call['arguments']}")
    for problem in call.get("problems") or []:
        lines.append(f"[red]problem: {problem}[/red]")
    if pending.get("error"):
        lines.append(f"[red]{pending['error']}[/red]")
    console.print(Panel("\n".join(lines), title="approval needed", border_style="yellow"))


def _edit_arguments(console: Any, current: str) -> dict[str, Any] | None:
    from rich.prompt import Prompt

    if os.environ.get("EDITOR") and os.isatty(0):
        text = typer.edit(json.dumps(json.loads(current or "{}"), indent=2, ensure_ascii=False), extension=".json")
    else:
        console.print(f"current arguments: {current}")
        text = Prompt.ask("new arguments (one line of JSON; empty keeps the current ones)", console=console,
                          default="", show_default=False)
    if not text or not text.strip():
        text = current
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        console.print(f"[red]not valid JSON: {exc.msg} at position {exc.pos}[/red]")
        return None
    if not isinstance(value, dict):
        console.print("[red]the arguments must be a JSON object[/red]")
        return None
    return value


def _terminal_user() -> str:
    """Who decides in the terminal, as recorded with each decision: ``terminal:<login name>``."""
    import getpass

    try:
        return f"terminal:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name here (e.g. a container without a passwd entry)
        return "terminal"


async def _settle(runtime: Any, console: Any, session: str, result: Any) -> Any:
    """Ask about every call that waits, until the turn has an answer."""
    from rich.prompt import Prompt

    from toolbench.agent.session import SessionError

    by = _terminal_user()
    while result.status == "awaiting_approval":
        _show_call(console, result.pending)
        choice = Prompt.ask(r"run it? \[y]es / \[n]o / \[e]dit", choices=["y", "n", "e"], console=console,
                            show_choices=False)
        try:
            if choice == "y":
                result = await runtime.decide(session, "approve", by=by)
            elif choice == "n":
                comment = Prompt.ask("why not? (optional, told to the model)", console=console, default="",
                                     show_default=False)
                result = await runtime.decide(session, "reject", comment=comment, by=by)
            else:
                arguments = _edit_arguments(console, result.pending["call"]["arguments"])
                if arguments is not None:
                    result = await runtime.decide(session, "edit", arguments, by=by)
        except SessionError as exc:
            console.print(f"[red]{exc}[/red]")
            result = await runtime.status(session)
    return result


def _show_result(console: Any, result: Any) -> None:
    for call in result.calls:
        mark = "[green]ok[/green]" if call.get("ok") else f"[red]{(call.get('error') or '')[:120]}[/red]"
        console.print(f"  [dim]{call['decision']} {call['function']} -> [/dim]{mark}")
    if result.status == "error":
        console.print(f"[red]error: {result.error}[/red]")
    else:
        console.print(f"[bold cyan]agent>[/bold cyan] {result.answer}")


async def chat_loop(state: Path, context: Any, session: str, console: Any) -> None:
    from rich.prompt import Prompt

    from toolbench.agent.session import AgentRuntime

    async with AgentRuntime.open(state, context) as runtime:
        current = await runtime.status(session)
        if current.status == "awaiting_approval":
            console.print(f"session {session}: a call from before is still waiting")
            _show_result(console, await _settle(runtime, console, session, current))
        elif await runtime.messages(session):
            console.print(f"[dim]resuming session {session} ({len(await runtime.messages(session))} messages)[/dim]")
        while True:
            try:
                text = Prompt.ask("[bold green]you[/bold green]", console=console)
            except (EOFError, KeyboardInterrupt):
                break
            if text.strip() in ("/quit", "/exit", "/q"):
                break
            if not text.strip():
                continue
            result = await runtime.send(session, text)
            _show_result(console, await _settle(runtime, console, session, result))
    console.print(f"[dim]session {session} saved in {state}[/dim]")


@app.command("chat")
def chat_cmd(
    catalog: Catalog,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint of the model, e.g. "
                                                      "http://127.0.0.1:8000/v1 (`toolbench llm serve`).")] = None,
    model: Annotated[str, typer.Option(help="Model name sent to the endpoint.")] = "smollm2-135m-instruct",
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the endpoint's key.")] = "OPENAI_API_KEY",
    session: Annotated[str | None, typer.Option(help="Session id: the same id resumes the conversation.")] = None,
    state: State = DEFAULT_STATE,
    accuracy: Accuracy = None,
    policy: PolicyFile = None,
    threshold: Threshold = None,
    min_n: MinN = None,
    retriever: Annotated[str | None, typer.Option(help="Tool selection for a large catalog: bm25, or a folder made "
                                                      "by `toolbench retriever index` (default: keyword match).")] = None,
    max_tools: Annotated[int, typer.Option(help="Functions offered at most; a larger catalog goes through "
                                                "retrieval.")] = 16,
    max_steps: Annotated[int, typer.Option(help="Model calls per user message at most.")] = 8,
    api_override: Annotated[list[str] | None, typer.Option(help="CATALOG_PREFIX=URL: call APIs at another address "
                                                                "(repeatable).")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Largest model reply in tokens.")] = None,
) -> None:
    """Chat in the terminal; each consequential call asks y (run) / n (reject) / e (edit its JSON arguments).

    API keys are read from the environment when a call is made (TOOLBENCH_API_KEY, RAPIDAPI_KEY,
    TOOLBENCH_KEY_<TOOL>) and never stored. /quit ends; the session is kept.
    """
    import uuid

    from rich.console import Console

    from toolbench.agent.session import check_session_id

    session = check_session_id(session or f"chat-{uuid.uuid4().hex[:12]}")
    context = build_context(catalog, base_url, model, api_key_env, accuracy, policy, threshold, min_n, retriever,
                            api_override, max_tools, max_steps, temperature, max_tokens)
    console = Console()
    console.print(f"[dim]session {session}: {len(context.functions.functions)} APIs; /quit to leave[/dim]")
    asyncio.run(chat_loop(state, context, session, console))


@app.command("serve")
def serve_cmd(
    catalog: Catalog,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint of the model.")] = None,
    model: Annotated[str, typer.Option(help="Model name sent to the endpoint.")] = "smollm2-135m-instruct",
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the endpoint's key.")] = "OPENAI_API_KEY",
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8090,
    state: State = DEFAULT_STATE,
    accuracy: Accuracy = None,
    policy: PolicyFile = None,
    threshold: Threshold = None,
    min_n: MinN = None,
    retriever: Annotated[str | None, typer.Option(help="bm25, or a `toolbench retriever index` folder.")] = None,
    max_tools: Annotated[int, typer.Option(help="Functions offered at most.")] = 16,
    max_steps: Annotated[int, typer.Option(help="Model calls per user message at most.")] = 8,
    api_override: Annotated[list[str] | None, typer.Option(help="CATALOG_PREFIX=URL (repeatable).")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Largest model reply in tokens.")] = None,
    tokens_file: Annotated[Path | None, typer.Option(
        envvar="TOOLBENCH_AGENT_TOKENS_FILE",
        help="Users' bearer tokens: one user=TOKEN per line (# comments), or a JSON object {user: token}. Tokens "
             "are also read from $TOOLBENCH_AGENT_TOKENS (user=TOKEN, comma-separated).")] = None,
    token: Annotated[list[str] | None, typer.Option(
        help="user=TOKEN (repeatable; visible in the process list: prefer --tokens-file or the environment).")] = None,
    user: Annotated[list[str] | None, typer.Option(
        help="Generate a token for this user at start, printed once here (repeatable). With no token configured "
             "at all, one is generated for the user 'operator'.")] = None,
    allow_origin: Annotated[list[str] | None, typer.Option(
        help="Browser origin let in, e.g. https://app.example.com (repeatable; gets CORS headers). Requests with "
             "any other Origin header are refused (403). Default: none.")] = None,
    max_body_bytes: Annotated[int, typer.Option(
        min=1, help="Largest request body in bytes; larger requests get 413 before they are read.")] = 1 << 20,
) -> None:
    """Serve the agent over HTTP: sessions with approve/reject/edit, and /v1/chat/completions.

    Every request needs 'Authorization: Bearer TOKEN'; a session is served only to the user that started it. POST
    bodies must be 'Content-Type: application/json'.

    Examples:

      toolbench agent serve --catalog data/tools --base-url http://127.0.0.1:8000/v1 --user alice --user bob

      TOOLBENCH_AGENT_TOKENS="alice=$ALICE_TOKEN" toolbench agent serve --catalog data/tools --port 8090

      toolbench agent serve --catalog data/tools --tokens-file /etc/toolbench/agent-tokens --allow-origin
      https://app.example.com --max-body-bytes 262144

      curl -s localhost:8090/v1/sessions/s1/messages -H "Authorization: Bearer $TOKEN" -H 'Content-Type:
      application/json' -d '{"content": "Cancel my last order"}'
    """
    import uvicorn

    from toolbench.agent.auth import TokenRegistry, configure_tokens, tokens_file_warning
    from toolbench.agent.server import create_app

    tokens, generated = configure_tokens(tokens_file, token or [], user or [])
    registry = TokenRegistry(tokens)
    if tokens_file is not None and (warning := tokens_file_warning(tokens_file)):
        typer.echo(f"warning: {warning}", err=True)
    context = build_context(catalog, base_url, model, api_key_env, accuracy, policy, threshold, min_n, retriever,
                            api_override, max_tools, max_steps, temperature, max_tokens)
    app_ = create_app(state, context, registry, allowed_origins=allow_origin or [], max_body_bytes=max_body_bytes)
    for name, secret in generated.items():  # shown once, here only: never logged, never stored
        typer.echo(f"agent token for {name}: {secret}   (send 'Authorization: Bearer <token>'; it is not stored: "
                   "configure tokens to keep them across restarts)")
    typer.echo(f"users: {', '.join(registry.users)}", err=True)
    uvicorn.run(app_, host=host, port=port, log_level="info")


# -- policy ---------------------------------------------------------------------------------------------

@app.command("policy")
def policy_cmd(
    catalog: Catalog,
    accuracy: Accuracy = None,
    policy: PolicyFile = None,
    threshold: Threshold = None,
    min_n: MinN = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Show, for each API, whether the agent executes it on its own or only suggests it, and the evidence."""
    from rich.console import Console
    from rich.table import Table

    from toolbench.agent.policy import EXECUTE, TrustPolicy

    trust = TrustPolicy.load(policy, accuracy, threshold, min_n)
    functions = _functions(_catalog(catalog))
    rows = trust.table(functions)
    unmatched = trust.unmatched(functions)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        for key in unmatched:
            typer.echo(json.dumps({"unmatched_accuracy_key": key}))
        return
    table = Table(title=f"agent policy: threshold {trust.threshold:g}, min_n {trust.min_n}")
    for name in ("tool / api", "method", "changes state", "accuracy (n)", "policy", "why"):
        table.add_column(name)
    for row in rows:
        ev = row["evidence"]
        table.add_row(f"{row['tool']} / {row['api']}", row["method"],
                      ("yes" if row["consequential"] else "no") + ("" if row["consequential_source"] == "method"
                                                                   else f" ({row['consequential_source']})"),
                      f"{ev['accuracy']:.3f} ({ev['n']})" if ev else "-",
                      f"[green]{row['mode']}[/green]" if row["mode"] == EXECUTE else f"[yellow]{row['mode']}[/yellow]",
                      row["reason"])
    console = Console(width=max(Console().width, 140))
    console.print(table)
    executes = sum(r["mode"] == EXECUTE for r in rows)
    console.print(f"{executes} of {len(rows)} APIs run on their own; {len(rows) - executes} wait for approval.")
    for key in unmatched:
        console.print(f"[yellow]warning: accuracy key {key!r} names no API of this catalog[/yellow]")


# -- feedback -------------------------------------------------------------------------------------------

@app.command("export-feedback")
def export_feedback_cmd(
    out: Annotated[Path, typer.Option(help="Output file (.jsonl for openai, .json for sharegpt/toolllama).")],
    format: Annotated[str, typer.Option("--format", help="openai | sharegpt | toolllama (train.format's "
                                                         "writers).")] = "openai",
    state: State = DEFAULT_STATE,
    session: Annotated[str | None, typer.Option(help="Only this session's decisions.")] = None,
    only: Annotated[str, typer.Option(help="Decisions to export, comma-separated: approved, edited.")] = "approved,edited",
) -> None:
    """Write people's approvals and edits as training examples (the conversation, then the call that ran).

    Rejections are kept in the store but give no example: nothing ran, so there is no call to learn from.
    """
    from toolbench.agent.session import STORE_FILE
    from toolbench.agent.store import APPROVED, EDITED, AgentStore, feedback_examples

    if format not in ("openai", "sharegpt", "toolllama"):
        raise ToolbenchError(f"--format {format!r}: use openai, sharegpt or toolllama")
    include = tuple(x.strip() for x in only.split(",") if x.strip())
    bad = [x for x in include if x not in (APPROVED, EDITED)]
    if bad or not include:
        raise ToolbenchError(f"--only {only!r}: use approved and/or edited, comma-separated")
    path = state / STORE_FILE
    if not path.is_file():
        raise ToolbenchError(f"--state {state}: no {STORE_FILE} there; run `toolbench agent chat` or `serve` with "
                             "this --state first")
    store = AgentStore(path)
    try:
        records = store.feedback(session)
        counts = store.counts()
    finally:
        store.close()
    rows = feedback_examples(records, include)
    from train.format import make_example, write_examples

    examples = [make_example(r["messages"], r["tools"], id=r["id"], meta=r["meta"], where=r["id"]) for r in rows]
    write_examples(out, examples, format)
    typer.echo(json.dumps({"written": len(examples), "format": format, "out": str(out),
                           "decisions": counts if session is None else {
                               d: sum(r.decision == d for r in records) for d in counts}}))
