"""The split start on coupled copies (measured, not kept in the engine): the jobs' shares
taken from a coarse model, the sites solved apart at that split, then the whole LP.

The block start (:mod:`engine.backends.block_start`) pins every job to its home site; on
the ring-coupled annual copies about half of the jobs' work moves to the neighbour in the
optimum, and the simplex run that frees the pinned columns is the cost. Here the jobs'
share columns (``placement/share``) are fixed at a split ``v`` instead
(:func:`solve_split_start`):

1. with the shares fixed no row holds columns of two sites (transfers on shared links and
   checkpoint moves would still couple them: then the model stays one block and the
   function returns None), so the model without them splits into blocks, solved as
   separate HiGHS models in threads (each block's rows shifted by the fixed part
   ``A_fixed v``);
2. the blocks' optimal bases are assembled into a basis of the whole LP with the shares
   still fixed at ``v`` (nonbasic; the rows of fixed columns only, ``sum_c y[j, c] = 1``,
   basic);
3. each share is freed by two step columns beside it, ``y = v + up - down``
   (:func:`engine.backends.warm._add_steps`), nonbasic at 0: the assembled basis is then a
   primal feasible basis of the whole LP (a share strictly between its bounds could not be
   nonbasic otherwise), and the primal (or dual) simplex continues from it.

:func:`window_split` is the coarse model tried for ``v``: the coupled LP cut into time
windows of ``L`` hours (each job in the window of its release, the window stretched to its
jobs' deadlines; rows reaching past the window dropped, so the storage state at its ends is
free; a column whose rows reach past it, a month's peak, pays the share of its rows
inside), the windows solved as separate HiGHS models in threads, and each job's shares read
from its window. :func:`solve` runs both on a scenario (build, windows, blocks, whole LP;
no results tables). Measured in benchmarks/MULTISITE_RESULTS.md (sixth session): it does
not beat the pinned dual block start, so it is not a ``block_start`` mode.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["solve", "solve_split_start", "window_split"]

#: HiGHS's ``simplex_strategy`` values.
_DUAL, _PRIMAL = 1, 4


def solve_split_start(arrays: Any, options: Any, cols: np.ndarray,
                      values: np.ndarray, to_highs: Callable, run_definite: Callable,
                      read_outcome: Callable, mode: str = "primal",
                      stats: dict | None = None) -> Any:
    """Solve the LP from the sites' optima with ``cols`` fixed at ``values`` (module
    docstring); None when that does not split the model into two or more blocks, a block is
    not optimal, HiGHS rejects the basis, or the whole LP does not end optimal (or at a
    limit).

    Parameters
    ----------
    arrays : ModelArrays
        The LP (no integer columns).
    options : SolverOptions
        HiGHS options of every solve (the blocks' run with presolve; the whole LP from the
        basis, without).
    cols, values : numpy.ndarray
        The columns to fix first (the jobs' shares) and their values (clipped into the
        columns' bounds).
    to_highs, run_definite, read_outcome : callable
        The helpers of :mod:`engine.backends.highs` (passed in: no import cycle).
    mode : {"primal", "dual"}
        The simplex run on the whole LP from the assembled basis.
    stats : dict, optional
        Filled with ``blocks``, ``block_iterations``, ``freed_iterations``,
        ``split_objective`` (the LP's optimum with the columns fixed) and the seconds of
        each phase (``blocks_s``, ``assemble_s``, ``freed_s``).

    Returns
    -------
    SolveOutput or None
        The whole LP's outcome, its ``x`` in the LP's columns (the steps folded back), the
        iterations of the blocks and of the whole LP together.
    """
    from concurrent.futures import ThreadPoolExecutor

    import highspy

    from engine.backends.block_start import _basis
    from engine.backends.blocks import components, sub_arrays_rows
    from engine.status import Status

    if arrays.is_mip or mode not in ("primal", "dual"):
        return None
    stats = {} if stats is None else stats
    t0 = time.perf_counter()
    cols = np.asarray(cols, np.int64)
    m, n = arrays.A.shape
    lower, upper = arrays.col_lb[cols], arrays.col_ub[cols]
    start = np.clip(np.asarray(values, np.float64), lower, upper)
    fixed = np.zeros(n, bool)
    fixed[cols] = True
    free = np.flatnonzero(~fixed)
    A = arrays.A.to_scipy().tocsc()
    A_free = A[:, free]
    parts = components(A_free, 64)
    if parts is None:
        log.debug("split start: the fixed columns leave one block")
        return None
    touched = np.zeros(m, bool)
    touched[A_free.indices] = True
    del A_free
    shift = A[:, cols] @ start  # the fixed columns' part of every row's activity
    idle = ~touched  # rows of fixed columns only: basic, and must hold at the split
    if np.any((shift[idle] < arrays.row_lb[idle] - 1e-9)
              | (shift[idle] > arrays.row_ub[idle] + 1e-9)):
        log.debug("split start: the split violates a row of fixed columns only")
        return None
    blocks = []
    for part in parts:
        bc = free[part]
        sub, rows = sub_arrays_rows(arrays, A, bc)
        sub.row_lb = sub.row_lb - shift[rows]
        sub.row_ub = sub.row_ub - shift[rows]
        blocks.append((bc, rows, to_highs(sub, options)))
    t1 = time.perf_counter()

    def run(blk):
        run_definite(blk[2])
        h = blk[2]
        return (h.getModelStatus() == highspy.HighsModelStatus.kOptimal,
                int(max(h.getInfo().simplex_iteration_count, 0)))

    workers = int(options.threads or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=min(workers, len(blocks))) as pool:
        outs = list(pool.map(run, blocks))
    t2 = time.perf_counter()
    stats.update(blocks=len(blocks), block_iterations=int(sum(it for _, it in outs)),
                 setup_s=t1 - t0, blocks_s=t2 - t1)
    if not all(ok for ok, _ in outs):
        log.debug("split start: a block is not optimal at this split")
        return None
    # the LP's objective at the split (the blocks' optima and the fixed columns' cost)
    stats["split_objective"] = float(
        sum(h.getInfo().objective_function_value for _, _, h in blocks)
        + arrays.cost[cols] @ start + arrays.offset)
    k = cols.size
    col_status = np.zeros(n + 2 * k, np.int8)  # kLower: fixed shares and steps at 0
    row_status = np.ones(m, np.int8)  # kBasic: rows of fixed columns only
    for bc, rows, h in blocks:
        basis = h.getBasis()
        col_status[bc] = np.fromiter((int(s) for s in basis.col_status), np.int8, bc.size)
        row_status[rows] = np.fromiter((int(s) for s in basis.row_status), np.int8, rows.size)
    del blocks
    from engine.backends.warm import _add_steps

    h = to_highs(arrays, options)
    h.changeColsBounds(k, cols.astype(np.int32), start, start)
    if not _add_steps(h, cols.astype(np.int32), start, lower, upper, arrays.cost[cols]):
        return None
    if h.setBasis(_basis(highspy, col_status, row_status)) == highspy.HighsStatus.kError:
        log.debug("split start: HiGHS rejected the assembled basis")
        return None
    del col_status, row_status
    h.setOptionValue("solver", "simplex")
    if "simplex_strategy" not in options.highs_options:
        h.setOptionValue("simplex_strategy", _PRIMAL if mode == "primal" else _DUAL)
    t3 = time.perf_counter()
    limit = h.getOptionValue("time_limit")[1]
    if np.isfinite(limit):
        h.setOptionValue("time_limit", max(limit - (t3 - t0), 1e-3))
    run_definite(h)
    t4 = time.perf_counter()
    out = read_outcome(h, False, {})
    stats.update(freed_iterations=out.iterations, assemble_s=t3 - t2, freed_s=t4 - t3)
    out.iterations += stats["block_iterations"]
    out.timings = {"handover_s": t1 - t0, "blocks_s": t2 - t1, "assemble_s": t3 - t2,
                   "freed_s": t4 - t3, "run_s": t4 - t1}
    if out.x is not None:  # the steps folded back into the shares
        x = np.array(out.x[:n], dtype=np.float64)
        x[cols] = start + out.x[n::2] - out.x[n + 1::2]
        out.x = x
    if out.status not in (Status.OPTIMAL, Status.TIME_LIMIT):
        return None
    return out


def window_split(f: Any, arrays: Any, L: int, options: Any, stats: dict | None = None
                 ) -> np.ndarray:
    """Each placed pair's share (``placement/share`` order) from the coupled LP cut into
    windows of ``L`` hours, or calendar months for ``L = 0`` (module docstring); 0.5 where
    a window is not optimal."""
    from engine.backends.highs import to_highs
    from engine.operations.guide import column_hours

    m, T = f.model, f.data.T
    meta, pl = f.meta["placement"], f.data.placement
    if "placement/transfer_gb" in m.var_groups or "placement/checkpoint_moved" in m.var_groups:
        raise NotImplementedError("window_split: transfers and checkpoint moves not handled")
    hour = column_hours(f)
    p = m.var_groups["placement/power_mw"].idx.ravel()
    hour[p] = meta["e_t"]
    share = np.asarray(meta["share"])
    n = arrays.A.shape[1]
    job_of = np.full(n, -1, np.int64)
    job_of[p] = pl.pair_job[meta["e_pair"]]
    job_of[share] = pl.pair_job
    # L = 0: calendar months (the demand charge's periods), else windows of L hours
    win_of_hour = np.asarray(f.data.month) if L == 0 else np.arange(T) // L
    win_of_job = win_of_hour[pl.release]
    first = np.searchsorted(win_of_hour, np.arange(int(win_of_hour.max()) + 2))
    from engine.backends.blocks import sub_arrays_rows

    A = arrays.A.to_scipy().tocsc()
    A_csr = A.tocsr()
    models = []
    for k in range(int(win_of_hour.max()) + 1):
        jobs = np.flatnonzero(win_of_job == k)
        a = int(first[k])
        b = max(int(first[k + 1]), int(pl.deadline[jobs].max()) if jobs.size else 0)
        timed = (hour >= a) & (hour < b)
        mine = (job_of < 0) | np.isin(job_of, jobs)
        seed = timed & mine
        seed[share[np.isin(pl.pair_job, jobs)]] = True
        rows = np.unique(A[:, np.flatnonzero(seed)].indices)
        # no row reaching past the window (the storage balance of its first hour and of the
        # hour after it): the states at its ends are left free
        past = np.zeros(A.shape[0], bool)
        past[A[:, np.flatnonzero((hour >= 0) & mine & ~timed)].indices] = True
        rows = rows[~past[rows]]
        inside = np.zeros(n, bool)
        inside[A_csr[rows].indices] = True
        cols = np.flatnonzero(inside & ((timed & mine) | ((hour < 0) & mine)))
        sub = sub_arrays_rows(arrays, A, cols, rows)[0]
        full = np.diff(A.indptr)[cols]  # a month's peak pays for the window's share of it
        sub.cost = sub.cost * np.where(full > 0, np.diff(sub.A.indptr) / np.maximum(full, 1),
                                       1.0)
        models.append((cols, sub))
    del A, A_csr

    def run(item):
        import highspy

        cols, sub = item
        h = to_highs(sub, options)
        h.run()
        ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        return ok, np.asarray(h.getSolution().col_value), h.getInfo().simplex_iteration_count

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        outs = list(pool.map(run, models))
    y = np.full(share.size, 0.5)
    order = np.argsort(share)
    its = bad = 0
    for (cols, _), (ok, x, it) in zip(models, outs):
        its += int(it)
        if not ok:
            bad += 1
            continue
        sel = np.isin(cols, share)
        y[order[np.searchsorted(share[order], cols[sel])]] = x[sel]
    if stats is not None:
        stats.update(windows=len(models), window_iterations=its, windows_not_optimal=bad,
                     windows_s=time.perf_counter() - t)
    return y


def solve(sc: Any, L: int = 730, mode: str = "primal") -> dict:
    """Build ``sc``, take the split from windows of ``L`` hours, solve from it (no results
    tables: build + solve only). Falls back to ``engine.optimize`` when the split start
    returns None."""
    import engine
    from engine.backends import SolverOptions
    from engine.backends.highs import read_outcome, run_definite, to_highs

    f = engine.build_model(sc)
    if "placement/share" not in f.model.var_groups:
        res = engine.optimize(sc)
        return {"objective": res.objective, "iterations": res.iterations, "status": res.status}
    arrays = f.model.arrays()
    st: dict = {}
    t = time.perf_counter()
    y = window_split(f, arrays, L, SolverOptions(), st)
    st["coarse_s"] = time.perf_counter() - t
    share = f.model.var_groups["placement/share"].idx.ravel()
    out = solve_split_start(arrays, SolverOptions(), share, y, to_highs, run_definite,
                            read_outcome, mode, st)
    if out is None:
        res = engine.optimize(sc)
        return {"objective": res.objective, "iterations": res.iterations,
                "status": res.status, "fallback": True, **st}
    return {"objective": out.objective, "iterations": out.iterations + st["window_iterations"],
            "status": out.status, **st}
