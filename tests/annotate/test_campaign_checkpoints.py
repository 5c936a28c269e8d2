"""The campaign's checkpointer without task writes (InlineSqliteSaver.open(..., task_writes=False)): a search
killed before any of its checkpoints is saved resumes to the clean tree, no journaled call made again."""

import asyncio
import sqlite3

import pytest

from annotate import tree as T
from annotate.checkpoints import InlineSqliteSaver
from annotate.graph import SearchContext, build_graph, run_search
from annotate.prompts import opening_messages
from annotate.runner import ScriptedRunner
from tests.annotate.helpers import (
    F_FORECAST,
    F_WEATHER,
    QUERY,
    Killed,
    functions,
    replies,
    search,
)
from toolbench.toolstep import MemoryJournal


def rows(path, table):
    db = sqlite3.connect(str(path))
    try:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize("dies_at", range(1, 6))
def test_a_search_killed_before_a_checkpoint_resumes_to_the_clean_tree_without_task_writes(tmp_path, dies_at):
    path = tmp_path / "checkpoints.sqlite"
    fs = functions()
    messages = opening_messages(QUERY.text, fs)
    journal = MemoryJournal()
    puts = 0

    class Dying(InlineSqliteSaver):
        def put(self, config, checkpoint, metadata, new_versions):
            nonlocal puts
            puts += 1
            if puts == dies_at:
                raise Killed(f"killed before checkpoint {puts} was saved")
            return super().put(config, checkpoint, metadata, new_versions)

    async def run(saver_class, runner):
        saver = saver_class.open(path, task_writes=False)
        try:
            ctx = SearchContext(query_id=QUERY.id, model=replies(), runner=runner, functions=fs, journal=journal)
            return await run_search(build_graph(saver), ctx, messages, thread_id=QUERY.id)
        finally:
            saver.close()

    first = ScriptedRunner()
    try:
        asyncio.run(run(Dying, first))
    except Killed:
        pass
    else:
        pytest.skip(f"a clean search saves fewer than {dies_at} checkpoints")
    assert rows(path, "writes") == 0 and rows(path, "checkpoints") == dies_at - 1
    second = ScriptedRunner()
    resumed = asyncio.run(run(InlineSqliteSaver, second))
    clean, _ = search(replies(), ScriptedRunner())
    assert resumed.status == T.SOLVED and resumed.to_dict() == clean.to_dict()
    made = [name for name, _ in first.calls + second.calls]
    assert sorted(made) == sorted([F_FORECAST, F_WEATHER])  # every call made once: the journal answers the rest
    assert rows(path, "writes") == 0


def test_task_writes_are_saved_by_default_and_errors_always():
    saver = InlineSqliteSaver.open(":memory:")
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c"}}
    saver.put_writes(config, [("tree", {"a": 1})], "task")
    lean = InlineSqliteSaver.open(":memory:", task_writes=False)
    lean.put_writes(config, [("tree", {"a": 1})], "task")
    lean.put_writes(config, [("__error__", "boom")], "task2")
    counts = [s.conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0] for s in (saver, lean)]
    assert counts == [1, 1]
    assert lean.conn.execute("SELECT channel FROM writes").fetchone()[0] == "__error__"
