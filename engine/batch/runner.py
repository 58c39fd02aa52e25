"""Run a sweep on local worker processes or on a Dask cluster, into a resumable store.

The driver (the calling process) finds the sweep's parametric map when it has one
(:mod:`engine.batch.parametric`; then a task carries only swept values), expands and
validates every scenario, opens the store, skips every scenario already stored and hands
the rest to the workers in tasks of several scenarios (guided: large tasks first, smaller
towards the end so that the workers finish together). The driver fixes the store's columns
(from a worker's warm-up solve) and from then on each **worker writes the part file of each
task itself** (:class:`engine.batch.store.PartSink`, renamed into place: a part that exists
is complete) and sends back only the rows' bookkeeping; the driver counts, calls
``on_result``, updates the progress bar and otherwise waits. Rows that reach the driver
whole (before the columns are fixed, rows of crashed scenarios) it writes itself, a small
Parquet file every ``flush_rows`` rows or ``flush_s`` seconds (and on the way out, also
after an interrupt).

* **Local** (default): a ``ProcessPoolExecutor`` of ``workers`` processes (``forkserver``),
  started once for the whole batch; each warms up in its initializer (one solve of the
  first scenario: imports, Numba kernels, a HiGHS model to update in place). When a worker
  dies, the pool is replaced; a task whose part file exists was stored (its worker died
  after writing it) and is done, the other scenarios that were in flight are rerun one at a
  time (so that a scenario that kills its worker is found out): one that dies
  ``max_crashes`` times is recorded with status ``crashed``.
* **Dask**: a ``distributed.Client`` or a scheduler address. The batch's context (the
  map) goes to every worker once, as a worker plugin (a worker started later gets it too);
  each worker warms up with a task of its own; the scheduler retries the tasks of a worker
  that dies (``distributed.scheduler.allowed-failures``). A task's part file is named by
  the task, so a retried task rewrites the same file and each row is stored once; a task
  that still fails is recorded with the error (unless its part exists). Workers that write
  parts must see the store's file system (``worker_writes=False``: rows go to the client).
"""
from __future__ import annotations

import logging
import multiprocessing
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.batch._dask import DaskRunner
from engine.batch._tasks import Plan, Tasks, failed_row, item_tuple
from engine.batch.store import Store
from engine.batch.sweep import Sweep, SweepItem, load_sweep, resolve_path
from engine.batch.worker import (
    BatchContext,
    BatchOptions,
    TaskResult,
    install,
    solve_task,
    warm,
    warm_columns,
)

__all__ = ["BatchOutcome", "run"]

log = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    """What a call of :func:`run` did.

    Attributes
    ----------
    store : Path
        The store directory (read it with :func:`engine.batch.read_store`).
    total : int
        Distinct scenarios of the sweep.
    skipped : int
        Already in the store, not recomputed.
    solved : int
        Rows written by this run (each scenario once), of which ``failed`` without a
        solution; ``crashes`` worker deaths were survived on the way; ``reused`` rows
        re-used a worker's model.
    mapped : bool
        Whether the scenarios were solved from the sweep's parametric map.
    times : dict
        Seconds: ``expand_s`` (expansion and validation), ``map_s`` (finding and verifying
        the parametric map), ``wall_s``, ``store_s`` (the
        driver's writes) and the sums over this run's rows of ``prepare_s``, ``build_s``,
        ``solve_s``, ``extract_s``, ``total_s``, ``cpu_s`` (the workers' CPU seconds) and
        ``cpu_thread_s`` (of which the solving threads'); ``store_s`` includes the
        workers' part writes, ``driver_cpu_s`` is the driver process's CPU seconds (all its
        threads) while the workers ran.
    """

    store: Path
    total: int = 0
    skipped: int = 0
    solved: int = 0
    failed: int = 0
    crashes: int = 0
    reused: int = 0
    mapped: bool = False
    times: dict[str, float] = field(default_factory=dict)

    @property
    def scenarios_per_s(self) -> float:
        """Rows written per second of wall time."""
        return self.solved / self.times["wall_s"] if self.times.get("wall_s") else 0.0


def run(
    sweep: Sweep | str | Path,
    executor: Any = None,
    store: str | Path = "batch_store",
    workers: int | None = None,
    progress: bool = True,
    *,
    hourly: bool = False,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
    threads: int | None = None,
    highs_options: dict | None = None,
    reuse: bool = True,
    chunk_size: int | None = None,
    max_crashes: int = 2,
    flush_rows: int = 64,
    flush_s: float = 5.0,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    worker_writes: bool = True,
) -> BatchOutcome:
    """Run every scenario of a sweep that is not in the store yet.

    Parameters
    ----------
    sweep : Sweep or path
        The sweep, or a sweep file (:func:`engine.batch.load_sweep`).
    executor : distributed.Client or str, optional
        A Dask client, or the address of a Dask scheduler; default local processes.
    store : path
        The store directory; rerunning the same sweep into it resumes.
    workers : int, optional
        Local worker processes (default: the CPU count); ignored with Dask.
    progress : bool
        A progress bar on stderr (tqdm).
    hourly : bool
        Also store each scenario's hourly table (``_hourly/<id>.parquet``).
    time_limit_s, mip_rel_gap, threads, highs_options
        Solver settings of every scenario (a simplex solve of an LP uses one thread).
    reuse : bool
        Re-use each worker's HiGHS model across scenarios. When the sweep changes only
        numbers and its models verify as one affine map of them
        (:mod:`engine.batch.parametric`; not with ``hourly``), workers receive only the
        swept values and update the model from the map (no prepare, build or expansion per
        scenario); otherwise each scenario is built and a model of the same structure is
        updated in place. False: a new model per scenario.
    chunk_size : int, optional
        Scenarios per task (default: guided, a quarter (local) or half (Dask) of the
        remaining scenarios per worker, large tasks first and small ones at the end; at most
        64 until a scenario's time is known, then up to 1 s and at least 25 ms (local) or
        0.1 s (Dask: its per-task cost is ~25 times a pool's) of CPU per task).
    max_crashes : int
        Local pool: deaths of a worker running a scenario before it is recorded ``crashed``.
    flush_rows, flush_s : int, float
        The driver writes the rows that reach it whole after this many rows or seconds.
    on_result : callable, optional
        Called in the driver with each row as its task reports it, once the row is stored
        or buffered for the store (if it raises, the batch stops and every row received is
        still written; tasks already running finish and store theirs). A row a worker
        stored itself comes without its ``cost`` and ``kpi`` terms.
    worker_writes : bool
        Workers write their tasks' part files (they must see the store's file system);
        False: every row goes to the driver, which writes it.

    Returns
    -------
    BatchOutcome

    Raises
    ------
    ScenarioError
        Before anything runs: an empty sweep, a path that does not exist, a scenario that
        does not validate, a store written by another batch definition.
    """
    t_start = time.perf_counter()
    if isinstance(sweep, (str, Path)):
        sweep = load_sweep(sweep)
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a Sweep or a sweep file, got {type(sweep).__name__}")
    if (chunk_size is not None and chunk_size < 1) or max_crashes < 1:
        raise ValueError("chunk_size and max_crashes must be >= 1")
    options = BatchOptions(time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, threads=threads,
                           highs_options=tuple(sorted((highs_options or {}).items())),
                           hourly=hourly, reuse=reuse)
    base = sweep.base_scenario()
    st = Store(store)
    # cheap checks first, before any worker starts: the store's batch and the paths
    st.check(sweep.name, sweep.batch_hash())
    sweep.param_sets()
    for path in sweep.paths():
        resolve_path(base, path)
    complete = _complete(st, sweep)
    t0 = time.perf_counter()
    # the map is found (a dozen builds) before the workers start: they warm up on it
    pmap = sweep.parametric_map() if reuse and not hourly and not complete else None
    first = sweep.param_sets()[0]
    ctx = BatchContext(token=sweep.batch_hash(), pmap=pmap,
                       first={k: first[k] for k in sweep.paths()})
    map_s = time.perf_counter() - t0
    backend = (DaskRunner(executor, base, options, ctx) if executor is not None
               else _LocalRunner(workers or multiprocessing.cpu_count(), base, options,
                                 max_crashes, ctx))
    try:
        if not complete:
            backend.start()  # workers warm up while the driver validates
        t0 = time.perf_counter()
        items = _unique(sweep.expand())
        expand_s = time.perf_counter() - t0
        st.open(sweep.name, sweep.batch_hash(), items, sweep.paths())
        st.cleanup()
        stored = st.stored_ids()
        pending = [it for it in items if it.id not in stored]
        out = BatchOutcome(store=st.path, total=len(items), skipped=len(items) - len(pending))
        sums: Counter[str] = Counter()
        writer = _Writer(st, flush_rows, flush_s)
        bar = _progress(len(pending), progress)
        plan = Plan(st, worker_writes)

        tasks = Tasks(pending, 1, chunk_size)  # workers counted once they have started

        def emit(res: TaskResult) -> None:
            tasks.observe(res.rows)
            if res.part is None:  # rows the driver stores; the first solution fixes columns
                if st.columns is None and worker_writes:
                    cols = next((c for c in map(st.columns_of, res.rows) if c), None)
                    if cols is not None:
                        st.fix_columns(cols)
                for row in res.rows:
                    writer.add(row, res.tables.get(row["scenario_id"]))
            sums["store_s"] += res.store_s
            for row in res.rows:
                out.solved += 1
                out.failed += row.get("objective") is None
                out.reused += bool(row.get("reused"))
                for k in _SUMS:
                    sums[k] += row.get(k) or 0.0
            if bar is not None:
                bar.update(len(res.rows))
            if on_result is not None:
                for row in res.rows:
                    on_result(row)

        c0 = time.process_time()
        try:
            if pending:
                backend.start()
                if st.columns is None and worker_writes:
                    # the warm-up's solution names the columns: workers write from the start
                    cols = backend.warm_columns()
                    if cols is not None:
                        st.fix_columns(cols)
                tasks.workers = backend.n_workers()
                tasks.share, tasks.min_task_s = backend.task_share, backend.min_task_s
                backend.run(tasks, emit, plan)
        finally:
            writer.flush()
            if bar is not None:
                bar.close()
            st.cleanup()
        out.crashes = backend.crashes
        out.mapped = pmap is not None
        out.times = {"expand_s": expand_s, "map_s": map_s,
                     "wall_s": time.perf_counter() - t_start,
                     "driver_cpu_s": time.process_time() - c0,
                     **sums, "store_s": st.write_s + sums["store_s"]}
        return out
    finally:
        backend.close()


_SUMS = ("prepare_s", "build_s", "solve_s", "extract_s", "total_s", "cpu_s", "cpu_thread_s")


def _complete(store: Store, sweep: Sweep) -> bool:
    """Whether the store holds this batch with every scenario (nothing to start workers for)."""
    m = store.manifest()
    return (m is not None and m.get("batch_hash") == sweep.batch_hash()
            and len(store.stored_ids()) >= int(m.get("n_scenarios", 0)))


def _unique(items: list[SweepItem]) -> list[SweepItem]:
    seen: set[str] = set()
    out = []
    for it in items:
        if it.id not in seen:
            seen.add(it.id)
            out.append(it)
    if len(out) < len(items):
        log.info("%d scenarios of the sweep are identical to an earlier one: each runs once",
                 len(items) - len(out))
    return out


def _progress(total: int, on: bool):
    if not on or not total:
        return None
    from tqdm import tqdm

    # redrawn at most twice a second, whatever the rate of rows
    return tqdm(total=total, unit="scenario", file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5, miniters=1)


class _Writer:
    """Buffers rows and writes them as one part file per flush."""

    def __init__(self, store: Store, rows: int, seconds: float) -> None:
        self.store, self.rows, self.seconds = store, rows, seconds
        self.buf: list[dict[str, Any]] = []
        self.tables: dict[str, Any] = {}
        self.last = time.perf_counter()

    def add(self, row: dict[str, Any], table: Any) -> None:
        self.buf.append(row)
        if table is not None:
            self.tables[row["scenario_id"]] = table
        if len(self.buf) >= self.rows or time.perf_counter() - self.last >= self.seconds:
            self.flush(final=False)

    def flush(self, final: bool = True) -> None:
        # rows without a solution wait for the first one with (it fixes the cost and KPI
        # columns of the dataset), unless the run is ending
        if self.buf and (final or self.store.can_fix_columns(self.buf)):
            self.store.write_rows(self.buf, self.tables)
            self.buf, self.tables = [], {}
        self.last = time.perf_counter()


# ---------------------------------------------------------------------- local processes
def _init_worker(base: Any, options: BatchOptions, ctx: BatchContext) -> None:
    install(ctx)
    try:
        warm(base, options, ctx.token)
    except Exception:  # a failed warm-up must not break the pool: the tasks report errors
        logging.getLogger(__name__).exception("worker warm-up failed")


class _LocalRunner:
    #: task sizes (:class:`engine.batch._tasks.Tasks`): a pool's task costs ~0.2 ms
    task_share, min_task_s = 4, 0.025

    def __init__(self, workers: int, base: Any, options: BatchOptions, max_crashes: int,
                 ctx: BatchContext):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers, self.base, self.options, self.ctx = workers, base, options, ctx
        self.max_crashes = max_crashes
        self.pool = None
        self.crashes = 0
        self._pings: list = []

    def _new_pool(self):
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["engine.batch._preload"])
        pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(self.base, self.options, self.ctx))
        # start (and warm) every worker now; each reports the columns of its warm-up
        self._pings = [pool.submit(warm_columns) for _ in range(self.workers)]
        return pool

    def start(self) -> None:
        if self.pool is None:
            self.pool = self._new_pool()

    def n_workers(self) -> int:
        return self.workers

    def warm_columns(self) -> list[str] | None:
        """The store columns of the first warm-up with a solution (None if none had one)."""
        from concurrent.futures import FIRST_COMPLETED, wait

        waiting = set(self._pings)
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for f in done:
                if f.exception() is None and f.result()[1] is not None:
                    return f.result()[1]
        return None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        return list((getattr(self.pool, "_processes", None) or {}).keys())

    def run(self, tasks: Tasks, emit, plan: Plan) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait

        suspects: deque[list[SweepItem]] = deque()
        deaths: Counter[str] = Counter()
        inflight: dict[Any, tuple[list[SweepItem], str]] = {}
        starts = 0  # pools in a row that broke before taking a task
        while tasks or suspects or inflight:
            # a worker may die between two results: then submitting fails, the task goes
            # back where it came from and the pool is replaced below
            broken = False
            if suspects:  # after a death: one task at a time, so a culprit is found out
                if not inflight:
                    task = suspects.popleft()
                    if not self._try_submit(task, deaths, inflight, plan):
                        suspects.appendleft(task)
                        broken = True
            else:
                while tasks and len(inflight) < 2 * self.workers:
                    task = tasks.next()
                    if not self._try_submit(task, deaths, inflight, plan):
                        tasks.give_back(task)
                        broken = True
                        break
            lost = []
            if inflight and not broken:
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)  # blocks, no polling
                lost = self._collect(done, inflight, emit)
                if len(lost) < len(done):
                    starts = 0  # the pool works: a result came back
            if broken and not inflight and not lost:
                # the new pool broke before it took any task (its workers die on start):
                # replacing it forever would hang the batch
                starts += 1
                if starts >= self.max_crashes:
                    self._give_up(tasks, suspects, emit, starts)
                    return
            if lost or broken:
                # the pool is broken: every task still in flight is lost with it
                wait(inflight)
                lost += self._collect(list(inflight), inflight, emit)
                self.crashes += 1
                self.pool.shutdown(wait=True, cancel_futures=True)  # no worker writes now
                self.pool = self._new_pool()
                for task, name in lost:
                    found = plan.recover(name)
                    if found is not None:  # its worker stored it, then died: done
                        emit(found)
                        continue
                    alive = []
                    for it in task:
                        deaths[it.id] += 1
                        if deaths[it.id] >= self.max_crashes:
                            emit(TaskResult(rows=[failed_row(
                                it, "crashed", f"the worker process died {deaths[it.id]} "
                                f"times running this scenario", deaths[it.id])]))
                        else:
                            alive.append(it)
                    suspects.extend([it] for it in alive)

    @staticmethod
    def _give_up(tasks: Tasks, suspects: deque, emit, starts: int) -> None:
        """Record every scenario not run as crashed: no worker pool could start."""
        pending = list(suspects)
        while tasks:
            pending.append(tasks.next())
        for task in pending:
            for it in task:
                emit(TaskResult(rows=[failed_row(
                    it, "crashed", f"no worker could start: {starts} pools in a row broke "
                    "before running a task", 0)]))

    def _try_submit(self, task: list[SweepItem], deaths: Counter, inflight: dict,
                    plan: Plan) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        attempt = 1 + max(deaths[it.id] for it in task)
        name = plan.name()
        try:
            fut = self.pool.submit(solve_task, [item_tuple(it, self.ctx) for it in task],
                                   self.options, attempt, self.ctx.token, plan.sink(name))
        except BrokenProcessPool:
            return False
        inflight[fut] = (task, name)
        return True

    @staticmethod
    def _collect(done, inflight: dict, emit) -> list[tuple[list[SweepItem], str]]:
        from concurrent.futures.process import BrokenProcessPool

        lost = []
        for fut in done:
            task = inflight.pop(fut)
            try:
                res = fut.result()
            except BrokenProcessPool:
                lost.append(task)
                continue
            emit(res)
        return lost
