"""LangGraph's SQLite checkpointer for the campaign, its SQL run in the event loop's thread.

:class:`InlineSqliteSaver` is LangGraph's ``SqliteSaver`` (the same tables and file as ``AsyncSqliteSaver``, so
run folders of either resume with the other) whose async methods call the synchronous ones directly. A checkpoint
write in WAL mode with ``synchronous=NORMAL`` takes tens of microseconds; ``AsyncSqliteSaver`` hands each of its
statements (about 25 per search step: cursor, execute, commit, close, for the writes and the checkpoint) to
aiosqlite's thread and wakes the event loop for each result, which cost the campaign more CPU than the SQL itself.
Durability is unchanged: every ``put`` and ``put_writes`` commits before it returns. With several worker
processes on one file, a write that finds another process's write in progress waits for it (SQLite's busy
timeout) in the loop's thread, a few milliseconds at most.

``task_writes=False`` (what campaigns open) skips LangGraph's saving of a finished node's ordinary writes
(``put_writes``), keeping those of errors and interrupts (channels ``__...``). The search graph runs one node
per superstep and the step's checkpoint follows its writes at once, so those writes only ever mattered for a
process killed between the two: without them the resumed search runs that step again, its model reply answered
by the reply cache and its API calls by the journal (``annotate/graph.py``), as after a kill in the middle of
the step. That saves serialising the search tree and a commit per step (~7 % of a campaign's CPU).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from toolbench.sqlite import connect


class InlineSqliteSaver(SqliteSaver):
    """``SqliteSaver`` with working async methods (run inline, see the module docstring)."""

    task_writes: bool = True

    @classmethod
    def open(cls, path: str | Path, timeout: float = 60.0, task_writes: bool = True) -> InlineSqliteSaver:
        """A saver on the SQLite file ``path`` (WAL, ``synchronous=NORMAL``: survives a killed process); close it
        with :meth:`close`. ``task_writes``: see the module docstring."""
        conn = connect(path, timeout, check_same_thread=False)
        saver = cls(conn)
        saver.task_writes = task_writes
        return saver

    def put_writes(self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        if self.task_writes or any(channel.startswith("__") for channel, _ in writes):
            super().put_writes(config, writes, task_id, task_path)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    async def aget_tuple(self, config: Any) -> Any:
        return self.get_tuple(config)

    async def alist(self, config: Any, *, filter: dict[str, Any] | None = None, before: Any = None,
                    limit: int | None = None) -> AsyncIterator[Any]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def aget_delta_channel_history(self, *, config: Any, channels: Sequence[str]) -> Mapping[str, Any]:
        return self.get_delta_channel_history(config=config, channels=channels)
