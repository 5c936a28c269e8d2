"""Where a resumed ``generate calls`` run starts: :meth:`CallsRun.journaled` counts the journal's samples, made or
failed, up to a line an interruption cut off (the progress bars of ``toolbench generate calls`` and the demo)."""

from __future__ import annotations

import json

from toolbench.generate.calls import CallGenerator
from toolbench.generate.pipeline import CallsRun


def test_journaled_counts_made_and_failed_samples_up_to_a_cut_line(tmp_path, hub_catalog):
    run = CallsRun(out=tmp_path / "calls", n=4, heldout=0.0)
    assert run.journaled() == 0  # no journal yet
    run.run(CallGenerator(hub_catalog, seed=0), None, hub_catalog)
    assert run.journaled() == 4
    with run.journal.open("a", encoding="utf-8") as journal:
        journal.write(json.dumps({"index": 4, "failed": "no API fits"}) + "\n")
        journal.write('{"index": 5, "fail')  # cut off by an interruption
    assert run.journaled() == 5
    again = CallsRun(out=tmp_path / "calls", n=6, heldout=0.0)
    assert again.journaled() == 5
