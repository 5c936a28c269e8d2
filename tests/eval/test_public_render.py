"""eval.public_render: the public BFCL block as a table (header, rows of cells, notes) that the Markdown and the
demo's headline both take as it is."""

from __future__ import annotations

from eval import public_bfcl, public_render


def _rows(category: str, valid: list[bool], bfcl: list[bool] | None = None) -> list[dict]:
    bfcl = valid if bfcl is None else bfcl
    return [{"id": f"{category}_{i}", "valid": v, "error_type": None if v else "x", "bfcl_valid": b}
            for i, (v, b) in enumerate(zip(valid, bfcl))]


def _summaries() -> dict[str, dict]:
    base = public_bfcl.summarize_public({"simple_python": _rows("simple_python", [False] * 10),
                                         "irrelevance": _rows("irrelevance", [False] * 10)}, model="base")
    tuned = public_bfcl.summarize_public(
        {"simple_python": _rows("simple_python", [True] * 5 + [False] * 5),
         "irrelevance": _rows("irrelevance", [False] * 10, [True] * 3 + [False] * 7),
         "multiple": _rows("multiple", [True, False])},
        model="tuned", constrained_decoding=True, skipped={"parallel": "not asked"})
    return {"before": base, "after": tuned}


def test_the_block_is_rows_of_cells():
    table = public_render.public_table(_summaries())
    assert table.header == ["category", "n", "before (auto)", "after (auto)"]
    assert [row[0] for row in table.rows] == [
        "simple_python", "irrelevance", "irrelevance: BFCL would report", "multiple", "**overall, micro**",
        "overall, micro: BFCL would report", "**overall, macro** (2 / 3 categories)",
        "overall, macro (2 / 3 categories): BFCL would report"]
    rows = {row[0]: row for row in table.rows}
    assert rows["simple_python"] == ["simple_python", "10", "0.0% [0.0–27.8]", "50.0% [23.7–76.3]"]
    assert rows["irrelevance: BFCL would report"] == ["irrelevance: BFCL would report", "", "0.0% [0.0–27.8]",
                                                      "30.0% [10.8–60.3]"]
    assert rows["multiple"][1:3] == ["2", "—"]  # a category one column did not run
    assert rows["**overall, micro**"][1] == "20 / 22"
    assert all(len(row) == len(table.header) for row in table.rows)
    assert "Constrained decoding (as the server reports it): before: unknown; after: on." in table.notes
    assert table.notes[-1] == "parallel: not asked"
    assert not any("calibrated threshold" in note for note in table.notes)  # no server reported one
    summaries = _summaries()
    summaries["before"]["call_threshold"], summaries["after"]["call_threshold"] = None, 0.0512
    notes = public_render.public_table(summaries).notes
    assert ("Call or text decided by a calibrated threshold on the probability of starting a call "
            "(`llm serve --call-threshold`): before: greedy; after: 0.0512.") in notes


def test_markdown_is_the_table():
    summaries = _summaries()
    table = public_render.public_table(summaries)
    text = table.markdown()
    assert text == public_bfcl.render_columns(summaries)  # the old import path renders the same table
    lines = text.splitlines()
    assert lines[:2] == ["| category | n | before (auto) | after (auto) |", "| --- | ---: | ---: | ---: |"]
    assert "| irrelevance: BFCL would report | | 0.0% [0.0–27.8] | 30.0% [10.8–60.3] |" in lines
    assert lines[2 + len(table.rows)] == "" and lines[3 + len(table.rows):] == table.notes


def test_the_demo_headline_takes_the_table_not_its_markdown():
    from toolbench.cli.demo import data

    summaries = _summaries()
    (title, rows, notes), = data.headline_tables({"public": {"base": summaries["before"], "tuned": summaries["after"]}})
    table = public_render.public_table({"before fine-tuning": summaries["before"],
                                        "after LoRA on generated data": summaries["after"]})
    assert title == data.PUBLIC_TITLE and rows == [table.header, *table.rows] and notes == table.notes
