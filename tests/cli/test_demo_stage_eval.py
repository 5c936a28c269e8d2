"""The demo's AST stage is `toolbench eval ast` (eval.ast_run.run with the config the profile gives): the same
verdicts, summary and per-API file as the command on the same set and model, then the tier summaries."""

import io
import json
from types import SimpleNamespace

import pytest
from rich.console import Console

from toolbench.catalog.store import write_tool
from toolbench.cli import main
from toolbench.cli.demo import stage_common
from toolbench.cli.demo.profile import TINY
from toolbench.cli.demo.stage_eval import ast_config, stage_eval
from toolbench.cli.demo.stage_runner import DemoContext
from toolbench.formats.atomic import write_jsonl_atomic
from toolbench.hub.catalog import hub_tools
from toolbench.llm.scripted import ScriptedChatModel

URL = "http://127.0.0.1:9/v1"  # nothing listens: the model is scripted, /health is unreachable ("unknown")
ADD = {"name": "add", "description": "Add two numbers.", "parameters": {
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}


def _set(ctx: DemoContext) -> None:
    entries = [{"id": f"simple_{i}", "question": [[{"role": "user", "content": f"add {i} and 2"}]],
                "function": [ADD], "tier": "seen" if i % 2 else "unseen", "entity": "real"} for i in range(4)]
    answers = [{"id": e["id"], "ground_truth": [{"add": {"a": [i], "b": [2]}}]} for i, e in enumerate(entries)]
    write_jsonl_atomic(ctx.path("eval", "heldout", "questions.jsonl"), entries)
    write_jsonl_atomic(ctx.path("eval", "heldout", "possible_answer.jsonl"), answers)


@pytest.fixture
def made(monkeypatch):
    """Every chat model the runs make: scripted (right on even numbers, prose on odd), with the options asked."""
    seen = []

    def respond(messages, tools, params):
        number = int(messages[-1]["content"].split()[1])
        name = tools[0]["function"]["name"]
        return ScriptedChatModel.call(name, {"a": number, "b": 2}) if number % 2 == 0 else "I cannot."

    def make_chat_model(model, **options):
        seen.append({"model": model, **options})
        return ScriptedChatModel([respond], model=model, repeat_last=True)

    monkeypatch.setattr("toolbench.llm.factory.make_chat_model", make_chat_model)
    return seen


def test_the_ast_stage_is_the_eval_ast_command(tmp_path, made, capsys):
    ctx = DemoContext(out=tmp_path / "demo", profile=TINY, console=Console(file=io.StringIO()),
                      services=SimpleNamespace(llm=lambda kind: URL))
    write_tool(next(t for t in hub_tools() if t.name == "FXRates"), ctx.path("catalog"))
    _set(ctx)
    cfg = ast_config(ctx, "base")
    assert (cfg.base_url, cfg.model, cfg.name, cfg.out) == (URL, stage_common.SERVED["base"],
                                                            stage_common.DISPLAY["base"],
                                                            str(ctx.path("eval", "base", "ast", "ast.jsonl")))
    assert (cfg.runner.max_tokens, cfg.runner.seed, cfg.catalog) == (TINY.eval_max_tokens, TINY.seed,
                                                                     str(ctx.path("catalog")))
    output = stage_eval("base")(ctx)
    assert made[-1]["timeout"] == 900.0 and made[-1]["max_retries"] == 1
    assert made[-1]["cache_path"] == str(ctx.path("eval", "base", "llm_cache.sqlite"))
    assert output.figures["ast"] == {"accuracy": 0.5, "correct": 2, "n": 4}
    assert output.figures["tiers"] == {"seen": 0.0, "unseen": 1.0}
    assert json.loads(ctx.path("eval", "base", "report", "tiers.summary.json").read_text())["kind"] == "tiers"

    out = tmp_path / "cli" / "ast.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "ast", "--dataset", cfg.dataset, "--answers", cfg.answers, "--base-url", URL, "--model",
              cfg.model, "--name", cfg.name, "--out", str(out), "--max-tokens", str(cfg.runner.max_tokens),
              "--seed", str(cfg.runner.seed), "--concurrency", str(cfg.runner.concurrency),
              "--catalog", cfg.catalog, "--timeout", "900", "--max-retries", "1"])
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    assert made[-1]["max_retries"] == 1 and made[-1]["timeout"] == 900.0
    for name in ("ast.jsonl", "ast.summary.json", "ast.per_api.json", "ast.predictions.jsonl"):
        assert (out.parent / name).read_text() == ctx.path("eval", "base", "ast", name).read_text(), name
