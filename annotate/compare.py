"""ReACT, ReACT@N and DFSDT on the same tasks with the same budget of model calls per task, for one or more models.

Every (model, strategy, task) is one *unit*: one search of that task, concluded into a ToolBench answer file. All
strategies get the same ``budget`` of model calls per task and the same chain length (``max_steps``):

- ``react``: one chain (ToolLLM's ReACT); it stops at its Finish or at ``max_steps``, so it uses at most
  ``max_steps`` of the budget;
- ``react@n``: fresh chains from the start, one after the other, until an answer or until the budget is spent
  (ToolLLM's ReACT@N: "the same budget spent on restarts"; N is what the budget allowed, at most ``budget``);
- ``dfsdt``: ToolBench's tree search, ``width`` children per state, until an answer or the budget is spent.

Cheaper search, each measured in the table:

- **shared calls** (``share_calls``): every API call goes through one journal per task, shared by all models,
  strategies and restarts (:func:`toolbench.toolstep.run_call`): a call made once (same function, same arguments)
  is replayed, never made again; the table counts API calls made and replayed;
- **pruning** (``prune_repeats``): a step whose API calls all repeat calls already made in its chain is not run
  and its chain is cut (:func:`annotate.tree.is_repeat`); the table counts the calls not made;
- **early stop on a verified answer** (``verify``): a search ends at the first answer that passes verification
  (``grounded``: non-empty, on a chain with a successful API response; ``none``: any answer, as ToolBench); the
  table counts the model calls of the budget left unspent by searches that stopped on an answer, and the answers
  verification rejected (their search went on).

Verification never uses the tasks' expectations (that would score the search with the evaluation's own rules).

Resume: ``OUT/compare.sqlite`` holds the settings, one row per finished unit and the shared call journal; LangGraph
checkpoints of the units in flight are in ``OUT/checkpoints.sqlite``. Rerun the same command after a kill:
finished units are skipped, units in flight continue from their last step, journaled API calls are replayed.
A folder refuses other settings. Pass rates (rule checks of the tasks' expectations, the LLM judge when given) are
scored by the caller (:mod:`toolbench.cli.annotate`), which imports the eval stage; :func:`build_table` and
:func:`table_markdown` turn the rows and the verdicts into ``OUT/comparison.json`` and ``OUT/comparison.md``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from annotate import tree as T
from annotate.store import EventLog, SettingsStore
from annotate.strategies import SearchConfig
from toolbench.config import doc
from toolbench.errors import ToolbenchError
from toolbench.records import Observation
from toolbench.toolstep import CallState, PendingCall, ToolRunner, call_key, run_call

STRATEGY_ORDER = ("react", "react@n", "dfsdt")
STRATEGY_NAMES = {"react": "ReACT", "react@n": "ReACT@N", "dfsdt": "DFSDT"}
FOLDERS = {"react": "react", "react@n": "react-n", "dfsdt": "dfsdt"}


class CompareError(ToolbenchError):
    """A comparison is misconfigured or its folder holds another one; the message names the field or file."""


@dataclass
class CompareConfig:
    """An equal-budget comparison; ``toolbench annotate compare`` has one option per field."""

    tasks: str = field(metadata=doc("Held-out tasks: a ToolBench query file whose queries carry rule-checkable "
                                    "expectations (Query.expectation).", path=True))
    out: str = field(metadata=doc("Output folder (created, or resumed when it exists).", path=True))
    models: dict[str, str] = field(default_factory=dict, metadata=doc(
        "LABEL=MODEL@BASE_URL: a model to compare, served at an OpenAI-compatible endpoint (repeatable: base and "
        "tuned...).", option="--model", form="LABEL=MODEL@BASE_URL",
        example="base=smollm2-135m-instruct@http://127.0.0.1:8000/v1"))
    strategies: str = field(default="react,react@n,dfsdt", metadata=doc(
        "Comma-separated strategies to compare, among react, react@n, dfsdt."))
    budget: int = field(default=12, metadata=doc("Model calls per task, the same for every strategy."))
    max_steps: int = field(default=4, metadata=doc("Model replies in one chain, the same for every strategy."))
    width: int = field(default=2, metadata=doc("DFSDT: children tried per state."))
    share_calls: bool = field(default=True, metadata=doc(
        "One API-call journal per task shared by all models, strategies and restarts: a call made once is "
        "replayed."))
    prune_repeats: bool = field(default=True, metadata=doc(
        "Cut a chain at a step whose API calls all repeat calls of that chain (they are not made)."))
    verify: str = field(default=T.VERIFY_GROUNDED, metadata=doc(
        "Which answer stops a search: grounded (non-empty, after a successful API response) | none (any)."))
    temperature: float | None = field(default=0.7, metadata=doc(
        "Sampling temperature (restarts of ReACT@N differ only when sampling; unset: the server's)."))
    max_reply_tokens: int | None = field(default=None, metadata=doc("Longest model reply (unset: server's)."))
    tool_choice: str | None = field(default=None, metadata=doc("tool_choice of each request: auto | required."))
    max_observation_chars: int | None = field(default=None, metadata=doc(
        "Cut API responses shown to the model to this many characters (unset: whole)."))
    llm_timeout: float = field(default=300.0, metadata=doc("Seconds to wait for one model reply."))
    api_key_env: str = field(default="OPENAI_API_KEY", metadata=doc("Environment variable with the endpoints' key."))
    concurrency: int = field(default=2, metadata=doc("Tasks searched at once."))
    catalog: str | None = field(default=None, metadata=doc("Catalog folder with the APIs' URLs.", path=True))
    hub_url: str | None = field(default=None, metadata=doc("Call the sandbox hub at this URL."))
    response_cache: str | None = field(default=None, metadata=doc(
        "SQLite response cache of the executor (toolbench/cache.py), shared with crawls and campaigns: a call "
        "another run already made is answered from it.", path=True))
    limit: int | None = field(default=None, metadata=doc("Only the first N tasks."))

    def __post_init__(self) -> None:
        for name in self.strategy_list:
            if name not in STRATEGY_ORDER:
                raise CompareError(f"strategies: {name!r} is not one of {', '.join(STRATEGY_ORDER)}")
        if not self.strategy_list:
            raise CompareError("strategies: name at least one of react, react@n, dfsdt")
        for name in ("budget", "max_steps", "width", "concurrency"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise CompareError(f"{name}: must be an integer >= 1; got {value!r}")
        if self.verify not in T.VERIFY_MODES:
            raise CompareError(f"verify: must be one of {', '.join(T.VERIFY_MODES)}; got {self.verify!r}")
        for label in self.models:
            if not label.replace("-", "").replace("_", "").isalnum():
                raise CompareError(f"models: label {label!r} must be letters, digits, - or _ (it names a folder)")

    @property
    def strategy_list(self) -> list[str]:
        names = [s.strip().lower() for s in self.strategies.split(",") if s.strip()]
        return [s for s in STRATEGY_ORDER if s in names] + [s for s in names if s not in STRATEGY_ORDER]

    def endpoint(self, label: str) -> tuple[str, str | None]:
        """(model name, base URL) of ``--model LABEL=MODEL@URL`` (the URL optional)."""
        model, _, url = self.models[label].partition("@")
        return model, url or None

    def search(self, strategy: str) -> SearchConfig:
        """The strategy's search settings, on the common budget."""
        return SearchConfig(strategy=strategy, width=self.width, restarts=self.budget if strategy == "react@n" else 1,
                            max_steps=self.max_steps, max_llm_calls=self.budget,
                            max_observation_chars=self.max_observation_chars, prune_repeats=self.prune_repeats,
                            verify=self.verify)

    def settings(self) -> dict[str, Any]:
        """What a resumed folder must share (the endpoints' URLs may change between runs)."""
        keep = ("strategies", "budget", "max_steps", "width", "share_calls", "prune_repeats", "verify",
                "temperature", "max_reply_tokens", "tool_choice", "max_observation_chars", "tasks", "limit")
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name in keep}
        out["models"] = {label: self.endpoint(label)[0] for label in self.models}
        return out


def unit_name(label: str, strategy: str, task_id: str) -> str:
    return f"{label}/{FOLDERS[strategy]}/{task_id}"


# -- the folder's store: settings, finished units, the shared journal -------------------------------------------

UNIT_COLUMNS = ("model", "strategy", "task_id", "status", "finish_type", "rejected", "llm_calls", "api_calls",
                "api_made", "pruned_calls", "prompt_tokens", "completion_tokens", "seconds", "answer")


class CompareStore(SettingsStore):
    """``compare.sqlite``: settings, finished units, the shared journal."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, f"""
            CREATE TABLE IF NOT EXISTS units ({", ".join(UNIT_COLUMNS)},
                PRIMARY KEY (model, strategy, task_id));
            CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, unit TEXT NOT NULL, function TEXT NOT NULL,
                arguments TEXT NOT NULL, observation TEXT NOT NULL);
        """)

    def record(self, row: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute(f"INSERT OR REPLACE INTO units VALUES ({', '.join('?' * len(UNIT_COLUMNS))})",
                             [row[c] for c in UNIT_COLUMNS])
            self._db.commit()

    def units(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(UNIT_COLUMNS)} FROM units ORDER BY model, strategy, task_id")
            return [dict(zip(UNIT_COLUMNS, r)) for r in rows]

    def made_by(self, unit: str) -> int:
        """API calls this unit made itself (not replayed from the journal)."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM calls WHERE unit = ?", (unit,)).fetchone()[0]

    def journal(self, unit: str, private: bool = False) -> UnitJournal:
        return UnitJournal(self, unit, private)


class UnitJournal:
    """The store's call journal as one unit writes it (a :class:`toolbench.toolstep.CallJournal`): a lookup sees
    every unit's calls, a finished call is recorded as made by this unit. A ``private`` journal keeps the unit's
    calls to itself (keys scoped by the unit: replayed only when the unit resumes)."""

    def __init__(self, store: CompareStore, unit: str, private: bool = False) -> None:
        self.store = store
        self.unit = unit
        self.private = private

    def _key(self, key: str) -> str:
        return call_key({"unit": self.unit}, "", key) if self.private else key

    async def lookup(self, key: str) -> tuple[str, Observation | None]:
        key = self._key(key)
        with self.store._lock:
            row = self.store._db.execute("SELECT observation FROM calls WHERE key = ?", (key,)).fetchone()
        return (CallState.NEW, None) if row is None else (CallState.DONE, Observation.from_dict(json.loads(row[0])))

    async def start(self, key: str, call: PendingCall) -> None:
        return None

    async def finish(self, key: str, call: PendingCall, observation: Observation) -> None:
        key = self._key(key)
        with self.store._lock:
            self.store._db.execute("INSERT OR IGNORE INTO calls VALUES (?, ?, ?, ?, ?)",
                                   (key, self.unit, call.name, call.arguments, json.dumps(observation.to_dict())))
            self.store._db.commit()


class SharedCallRunner:
    """A :class:`~toolbench.toolstep.ToolRunner` whose calls go through a journal keyed by the task, the function
    and the canonical arguments only, so every strategy, restart and model searching the task shares them."""

    def __init__(self, inner: ToolRunner, journal: UnitJournal, task_id: str) -> None:
        self.inner = inner
        self.journal = journal
        self.task_id = task_id

    async def run(self, fname: str, arguments: Any) -> Observation:
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, sort_keys=True, ensure_ascii=False)
        call = PendingCall(fname, text, {"task": self.task_id})
        return (await run_call(call, self.inner, arguments, self.journal)).observation


# -- running the grid ----------------------------------------------------------------------------------------------

async def run_compare(cfg: CompareConfig, models: Mapping[str, Any],
                      runner_factory: Callable[[Any], ToolRunner], *,
                      on_unit: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Search every unit not yet finished and return all unit rows. ``models``: label -> ChatModel;
    ``runner_factory``: the offered functions -> the runner that calls their APIs."""
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from annotate.campaign import _Catalog
    from annotate.export import Annotation, answer_filename, write_answer
    from annotate.graph import SearchContext, build_graph, run_search
    from annotate.prompts import opening_messages
    from toolbench.catalog.store import load_queries

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    missing = [label for label in cfg.models if label not in models]
    if missing or not models:
        raise CompareError(f"models: no chat model for {', '.join(missing) or 'any label'} (--model LABEL=MODEL@URL)")
    tasks = load_queries(cfg.tasks)[: cfg.limit] if cfg.limit else load_queries(cfg.tasks)
    if len({t.id for t in tasks}) != len(tasks):
        raise CompareError(f"tasks: {cfg.tasks} has duplicate query ids; ids name the answer files")
    store = CompareStore(out / "compare.sqlite")
    previous = store.setting("settings")
    if previous is not None and previous != cfg.settings():
        store.close()
        raise CompareError(f"out: {out} holds a comparison with other settings ({previous}); rerun it with the same "
                           "settings or use another folder")
    store.set_setting("settings", cfg.settings())
    done = {(r["model"], r["strategy"], r["task_id"]) for r in store.units()}
    catalog = _Catalog(cfg.catalog)
    log = EventLog(out / "events.jsonl")
    params: dict[str, Any] = {}
    for key, value in (("temperature", cfg.temperature), ("max_tokens", cfg.max_reply_tokens),
                       ("tool_choice", cfg.tool_choice)):
        if value is not None:
            params[key] = value
    semaphore = asyncio.Semaphore(cfg.concurrency)

    async def unit(graph: Any, saver: Any, label: str, strategy: str, task: Any) -> None:
        name = unit_name(label, strategy, task.id)
        search = cfg.search(strategy)
        functions = catalog.functions(task)
        journal = store.journal(name, private=not cfg.share_calls)
        runner = runner_factory(functions)
        if cfg.share_calls:
            runner = SharedCallRunner(runner, journal, task.id)
        ctx = SearchContext(query_id=task.id, model=models[label], runner=runner, functions=functions,
                            policy=search.policy(), budget=search.budget(), params=params,
                            journal=None if cfg.share_calls else journal,
                            max_observation_chars=cfg.max_observation_chars,
                            on_event=lambda event: log({"unit": name, **event}))
        t0 = time.monotonic()
        tree = await run_search(graph, ctx, opening_messages(task.text, functions, catalog.descriptions),
                                thread_id=name)
        seconds = time.monotonic() - t0
        if tree.status == T.FAILED:  # the model endpoint failed: not recorded, a rerun tries again
            log({"event": "unit_failed", "unit": name, "reason": tree.reason})
            await saver.adelete_thread(name)
            return
        folder = out / label / FOLDERS[strategy] / "answers"
        path = write_answer(Annotation(query=task.text, tree=tree, functions=functions.schemas(finish=True),
                                       search=search, query_id=task.id), folder / answer_filename(task.id, search))
        row = {"model": label, "strategy": strategy, "task_id": task.id, "status": tree.status,
               "finish_type": tree.finish_type, "llm_calls": tree.llm_calls, "api_calls": tree.api_calls,
               "rejected": sum(1 for n in tree.nodes.values() if n.finish == T.GIVE_ANSWER and n.pruned),
               "api_made": store.made_by(name),
               "pruned_calls": T.repeated_calls(tree) if cfg.prune_repeats else 0,
               "prompt_tokens": tree.prompt_tokens, "completion_tokens": tree.completion_tokens,
               "seconds": round(seconds, 3), "answer": str(path.relative_to(out))}
        store.record(row)
        await saver.adelete_thread(name)
        log({"event": "unit_done", "unit": name, **{k: row[k] for k in ("status", "llm_calls", "api_calls")}})
        if on_unit is not None:
            on_unit(row)

    async def task_units(graph: Any, saver: Any, task: Any) -> None:
        async with semaphore:  # a task's units run one after the other, so that they share its calls
            for label in cfg.models:
                for strategy in cfg.strategy_list:
                    if (label, strategy, task.id) not in done:
                        await unit(graph, saver, label, strategy, task)

    try:
        async with aiosqlite.connect(str(out / "checkpoints.sqlite")) as connection:
            await connection.execute("PRAGMA journal_mode=WAL")
            saver = AsyncSqliteSaver(connection)
            graph = build_graph(saver)
            await asyncio.gather(*(task_units(graph, saver, task) for task in tasks))
        return store.units()
    finally:
        log.close()
        store.close()


def run(cfg: CompareConfig, models: Mapping[str, Any], runner_factory: Callable[[Any], ToolRunner],
        on_unit: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """:func:`run_compare` to the end (synchronously): all unit rows, finished in this run or an earlier one."""
    return asyncio.run(run_compare(cfg, models, runner_factory, on_unit=on_unit))
