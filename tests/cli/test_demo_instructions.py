"""The demo's instruction stage: G1, G2 and G3 query files from the hub's catalog, a scripted base model (its
rewrites pass or fail the filters), the yield in the stage's figures."""

from __future__ import annotations

import io
import json

from rich.console import Console

from toolbench.catalog.store import load_queries, write_tool
from toolbench.cli.demo import stage_common, stage_instructions
from toolbench.cli.demo.profile import FULL
from toolbench.cli.demo.stage_runner import DemoContext
from toolbench.llm.scripted import ScriptedChatModel


class _Services:
    def llm(self, kind):
        assert kind == "base"
        return "http://127.0.0.1:9/v1"


class _Model(ScriptedChatModel):
    closed = False

    def close(self):
        self.closed = True


def test_the_stage_writes_g1_g2_g3_queries_with_their_yield(tmp_path, monkeypatch):
    from toolbench.hub.catalog import hub_tools

    for tool in hub_tools():
        write_tool(tool, tmp_path / "catalog")

    def reply(messages, tools, params):  # every other request: a rewrite keeping the task, else junk
        task = messages[-1]["content"].split("Task: ", 1)[1].split("\nKeep these values exactly:", 1)[0]
        return json.dumps({"query": "Hello! " + task}) if params["seed"] % 2 == 0 else '{"query": "2025-01-13"}'

    model = _Model([reply], repeat_last=True)
    monkeypatch.setattr(stage_common, "chat", lambda ctx, kind, url, cache: model)
    ctx = DemoContext(tmp_path, FULL, services=_Services(), console=Console(file=io.StringIO()))
    output = stage_instructions.stage_instructions(ctx)
    figures = output.figures
    wanted = FULL.instruction_sets * FULL.instruction_queries
    assert figures["wanted"] == 3 * wanted and figures["kept"] == 3 * wanted and figures["yield"] == 1.0
    assert 0 < figures["phrased_by_model"] < figures["kept"]
    assert model.closed and len(model.requests) == 3 * wanted  # one short request per query
    assert all(r["params"]["max_tokens"] <= FULL.instruction_max_tokens for r in model.requests)
    for group in ("G1", "G2", "G3"):
        queries = load_queries(tmp_path / "instructions" / f"{group}_query.json")
        assert len(queries) == wanted and figures["groups"][group]["kept"] == wanted
        if group != "G1":
            assert all(len({tool for tool, _ in q.relevant}) >= 2 for q in queries)
        assert output.artefacts[f"{group} instructions"].endswith(f"{group}_query.json")
    assert figures["groups"]["G1"]["model_text_refused"].get("too_short", 0) >= 1
