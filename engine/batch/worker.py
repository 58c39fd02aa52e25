"""What a batch worker runs: solve scenarios, keeping one HiGHS model warm per thread.

A worker (a local process, or a Dask worker process or thread) imports the engine once,
warms up once (:func:`warm`: one solve of the batch's first scenario, which imports pandas
and highspy, loads the Numba kernels and leaves a model to update) and then solves task
after task with :func:`solve_items`. With the sweep's parametric map (a
:class:`BatchContext`), an item is only its swept values: the worker's
:class:`~engine.backends.reuse.MappedHighs` takes the changed entries and re-solves, and the
summary row comes from :func:`engine.results.extract.summarize` of the mapped formulation.
Otherwise each scenario is prepared and built as :func:`engine.optimize` does; the solve
goes through :class:`~engine.backends.reuse.ReusableHighs`, which updates the held model in
place when only numbers changed. Every outcome -- invalid input, no solution, an exception -- comes
back as a row; only a dying process loses its task (the driver reruns it).
"""
from __future__ import annotations

import gc
import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ScenarioError

__all__ = ["BatchOptions", "TaskResult", "solve_items", "solve_task", "warm"]

_local = threading.local()


@dataclass(frozen=True)
class BatchOptions:
    """Settings of every solve of a batch.

    Attributes
    ----------
    time_limit_s : float, optional
        Solver time limit per scenario (status ``time_limit`` on reaching it).
    mip_rel_gap : float
        Relative MIP gap.
    threads : int, optional
        HiGHS threads (HiGHS's default when None; HiGHS fixes its thread pool at the first
        solve of a process, and a later different value makes every solve fail).
    highs_options : tuple of (name, value)
        Further HiGHS options.
    hourly : bool
        Return each scenario's hourly table for the store.
    reuse : bool
        Update the worker's HiGHS model in place when only numbers changed.
    """

    time_limit_s: float | None = None
    mip_rel_gap: float = 1e-4
    threads: int | None = None
    highs_options: tuple = field(default_factory=tuple)
    hourly: bool = False
    reuse: bool = True


def _solver(options: BatchOptions):
    """This thread's reusable HiGHS model for these options."""
    from engine.backends import SolverOptions
    from engine.backends.reuse import ReusableHighs

    cache = getattr(_local, "solvers", None)
    if cache is None:
        cache = _local.solvers = {}
    key = (options.time_limit_s, options.mip_rel_gap, options.threads, options.highs_options,
           options.reuse)
    if key not in cache:
        if len(cache) >= 4:  # a few settings side by side (a benchmark interleaves two)
            cache.pop(next(iter(cache)))
        cache[key] = ReusableHighs(SolverOptions(
            time_limit_s=options.time_limit_s, mip_rel_gap=options.mip_rel_gap,
            threads=options.threads, highs_options=dict(options.highs_options)),
            reuse=options.reuse)
    return cache[key]


@dataclass
class BatchContext:
    """What every task of a batch shares, sent to each worker once.

    Attributes
    ----------
    token : str
        Names the context in a worker process (the batch hash).
    pmap : ParametricMap, optional
        The sweep's verified parametric map: tasks then carry only the swept values
        (scenario None) and the worker updates its HiGHS model from the map.
    first : dict
        The swept values of the first scenario (the warm-up solves it).
    """

    token: str
    pmap: Any = None
    first: dict = field(default_factory=dict)


#: Contexts of this process's batches by token (a local pool's initializer sets them).
_contexts: dict[str, BatchContext] = {}


def install(ctx: BatchContext) -> None:
    """Keep ``ctx`` in this process (the local pool's workers), the latest few only."""
    while len(_contexts) >= 4:
        _contexts.pop(next(iter(_contexts)))
    _contexts[ctx.token] = ctx


def uninstall(token: str) -> None:
    """Forget the context ``token`` in this process."""
    _contexts.pop(token, None)


def _context(ctx: BatchContext | str | None) -> BatchContext | None:
    if isinstance(ctx, str):
        try:
            return _contexts[ctx]
        except KeyError:
            raise RuntimeError(f"batch context {ctx!r} was not installed in this worker "
                               f"process") from None
    return ctx


#: The store columns the warm-up's solution fixes (this process's latest warm-up).
_warm_columns: list[list[str] | None] = [None]


def warm(scenario: Any, options: BatchOptions,
         ctx: BatchContext | str | None = None) -> tuple[str, list[str] | None]:
    """Solve one scenario and drop the row: imports, kernels and a held model are ready.
    Returns the worker's name and the store columns its solution fixes (None without one:
    :meth:`engine.batch.store.Store.columns_of`)."""
    import pyarrow.parquet  # noqa: F401  (workers write part files: not in a task's time)

    from engine.batch.store import Store

    c = _context(ctx)
    if c is not None and c.pmap is not None and not options.hourly:
        row, _ = solve_one(0, "warm-up", c.first, None, options, attempt=0, ctx=c)
    else:
        row, _ = solve_one(0, "warm-up", {}, scenario, options, attempt=0)
    _warm_columns[0] = Store.columns_of(row)
    return _worker_name(), _warm_columns[0]


def warm_columns() -> tuple[int, list[str] | None]:
    """This process's id and the columns of its latest warm-up (a local pool's workers warm
    up in their initializer; this task reports it)."""
    return os.getpid(), _warm_columns[0]


def _worker_name() -> str:
    name = f"{socket.gethostname()}:{os.getpid()}"
    if threading.current_thread() is not threading.main_thread():
        name += f":{threading.get_ident()}"
    return name


def solve_items(items: list[tuple], options: BatchOptions, attempt: int = 1,
                ctx: BatchContext | str | None = None) -> list[tuple[dict[str, Any], Any]]:
    """Solve ``(index, id, params, scenario)`` items one after the other; a row (and the
    hourly table or None) each. An item without a scenario is solved from the context's
    parametric map."""
    c = _context(ctx)
    return [solve_one(*it, options, attempt=attempt, ctx=c) for it in items]


@dataclass
class TaskResult:
    """What a task sends back to the driver.

    Attributes
    ----------
    rows : list of dict
        One row per scenario; without its cost and KPI terms when the worker wrote them
        to the store itself (``part`` set).
    tables : dict
        Hourly tables by scenario id, for the driver to write (empty when ``part`` is set).
    part : str, optional
        The part file the worker wrote (:class:`engine.batch.store.PartSink`).
    store_s : float
        Seconds the worker spent writing it.
    """

    rows: list
    tables: dict = field(default_factory=dict)
    part: str | None = None
    store_s: float = 0.0


def solve_task(items: list[tuple], options: BatchOptions, attempt: int = 1,
               ctx: BatchContext | str | None = None, sink: Any = None) -> TaskResult:
    """Solve a task's items (:func:`solve_items`); with a ``sink``
    (:class:`engine.batch.store.PartSink`) write their rows as one part file of the store
    and send back only the rows' bookkeeping (no costs, KPIs or hourly tables)."""
    solved = solve_items(items, options, attempt, ctx)
    if sink is None:
        return TaskResult(rows=[r for r, _ in solved],
                          tables={r["scenario_id"]: t for r, t in solved if t is not None})
    rows = [r for r, _ in solved]
    store_s = sink.write(rows, {r["scenario_id"]: t for r, t in solved if t is not None})
    lean = [{k: v for k, v in r.items() if k not in ("cost", "kpi")} for r in rows]
    return TaskResult(rows=lean, part=sink.name, store_s=store_s)


def solve_one(index: int, sid: str, params: dict, scenario: Any, options: BatchOptions,
              attempt: int = 1, ctx: BatchContext | None = None) -> tuple[dict[str, Any], Any]:
    """One scenario's summary row (and hourly table when ``options.hourly``); with
    ``scenario`` None, from ``ctx``'s parametric map and the swept values ``params``."""
    row: dict[str, Any] = {"scenario_id": sid, "index": index, "params": params,
                           "status": "error", "objective": None, "mip_gap": None,
                           "iterations": None, "reused": False, "worker": _worker_name(),
                           "attempt": attempt, "error": None}
    hourly = None
    t0 = time.perf_counter()
    c0 = time.process_time()
    ct0 = time.thread_time()
    gc_was = gc.isenabled()
    gc.disable()  # as optimize does: building many arrays gains nothing from the collector
    try:
        if scenario is None:
            _solve_mapped(ctx.pmap, params, options, row, t0)
        else:
            hourly = _solve(scenario, options, row, t0)
    except ScenarioError as exc:
        row.update(status="invalid", error=f"ScenarioError: {exc}")
    except Exception as exc:  # noqa: BLE001  (any failure is recorded; the batch goes on)
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3)
        row.update(status="error", error="".join(tb)[-2000:])
        _solver(options).drop()
        getattr(_local, "mapped", {}).clear()
    finally:
        if gc_was:
            gc.enable()
    row["total_s"] = time.perf_counter() - t0
    # CPU seconds of this process meanwhile: well below total_s, the worker waited for a CPU
    row["cpu_s"] = time.process_time() - c0
    # of which this thread's: the rest is the worker's other threads (a Dask worker's event
    # loop, heartbeats and profiler run in the same process)
    row["cpu_thread_s"] = time.thread_time() - ct0
    row["finished_at"] = time.time()
    return row, hourly


def _mapped_solver(pmap: Any, options: BatchOptions):
    """This thread's HiGHS model of ``pmap`` (the latest few maps kept)."""
    from engine.backends import SolverOptions
    from engine.backends.reuse import MappedHighs

    cache = getattr(_local, "mapped", None)
    if cache is None:
        cache = _local.mapped = {}
    key = (id(pmap), options.time_limit_s, options.mip_rel_gap, options.threads,
           options.highs_options)
    held = cache.get(key)
    if held is None or held[0] is not pmap:
        while len(cache) >= 4:
            cache.pop(next(iter(cache)))
        held = cache[key] = (pmap, MappedHighs(pmap.f.model.arrays(), SolverOptions(
            time_limit_s=options.time_limit_s, mip_rel_gap=options.mip_rel_gap,
            threads=options.threads, highs_options=dict(options.highs_options))))
    return held[1]


def _solve_mapped(pmap: Any, params: dict, options: BatchOptions, row: dict[str, Any],
                  t0: float) -> None:
    """Solve from the map: no prepare, no build; the summary row only (no hourly table)."""
    from engine.results.extract import summarize

    changes = pmap.changes(params)
    t1 = time.perf_counter()
    out, reused = _mapped_solver(pmap, options).solve(pmap.f.model, changes)
    t2 = time.perf_counter()
    if not _record_solve(row, out, reused, t0, t1, t2, prepare_s=0.0, mapped=True):
        return
    _record_parts(row, out, summarize(pmap.formulation_of(changes), out.x), t2)


def _solve(scenario: Any, options: BatchOptions, row: dict[str, Any], t0: float) -> Any:
    from engine.markets import needs_baselines, with_baselines
    from engine.model.build import build
    from engine.model.data import prepare

    if needs_baselines(scenario):  # demand-response baselines from the plan without events
        from engine.api import optimize

        scenario, _ = with_baselines(scenario, optimize)
    data = prepare(scenario)
    t1 = time.perf_counter()
    f = build(data)
    arrays = f.model.arrays()
    t2 = time.perf_counter()
    out, reused = _solver(options).solve(f.model, arrays)
    t3 = time.perf_counter()
    if not _record_solve(row, out, reused, t1, t2, t3, prepare_s=t1 - t0):
        return None
    from engine.results.extract import extract, summarize

    # the hourly table only when the store keeps it: a summary row needs costs and KPIs
    parts = extract(f, out.x) if options.hourly else summarize(f, out.x)
    _record_parts(row, out, parts, t3)
    return parts["hourly"] if options.hourly else None


def _record_solve(row: dict[str, Any], out: Any, reused: bool, t_build: float,
                  t_solve: float, t_done: float, **extra: Any) -> bool:
    """Timings and solver outcome into ``row`` (the hand-over to HiGHS counts as build);
    False, with the error recorded, when no solution came back."""
    handover = out.timings.get("handover_s", 0.0)
    row.update(build_s=t_solve - t_build + handover, solve_s=t_done - t_solve - handover,
               status=str(out.status), iterations=out.iterations, reused=reused,
               mip_gap=out.mip_gap, **extra)
    if out.x is None:
        row.update(extract_s=0.0, error=out.diagnosis or f"no solution ({out.solver_status})")
        return False
    return True


def _record_parts(row: dict[str, Any], out: Any, parts: dict[str, Any], t0: float) -> None:
    """Objective, cost terms and KPIs into ``row``; a solution that is not proven optimal
    (a time limit) is kept with its status and gap as the error text."""
    row["extract_s"] = time.perf_counter() - t0
    row["objective"] = out.objective
    row["cost"] = {k: float(v) for k, v in parts["costs"].items()}
    row["kpi"] = {k: float(v) for k, v in parts["kpis"].items()}
    if out.status != "optimal":
        row["error"] = f"{out.status}: {out.solver_status}, gap {out.mip_gap:.3g}"
