"""Block start: a coupled multi-site LP started from its sites' own optima, solved apart.

Sites coupled by placed jobs are one LP, and one HiGHS simplex on it grows far worse than
linearly with the number of sites (benchmarks/MULTISITE_RESULTS.md). The placement gives
(``model.notes["block_start"]``, a function) the columns that pin every job to its home
pair (its other pairs' power, share, transfers, arrivals, the run's share there and
checkpoint moves): fixed at 0 they leave a feasible point of the LP in which no row holds columns of
two sites. So:

1. the model without those columns splits into blocks (:func:`engine.backends.blocks.
   components`), solved as separate HiGHS models in threads;
2. the blocks' optimal bases are put together into one basis of the whole LP: each
   block's column and row statuses, the fixed columns nonbasic at their lower bound 0, the
   rows that hold fixed columns only basic (as many basic variables as rows: each block
   brings as many as its rows);
3. the columns are freed and HiGHS's simplex runs on the whole LP from that basis (no
   presolve: HiGHS starts from a given basis on the original model). The basis is primal
   feasible (the pinned point), so the primal simplex is natural; ``"dual"`` runs the dual
   simplex from it instead.

The optimum is the LP's own; only the path to it changes. A block that does not end
optimal (e.g. a home site that cannot do its jobs' work alone) returns None and the caller
solves the whole LP as before.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from engine.backends.base import SolveOutput, SolverOptions
from engine.model import LinearModel, ModelArrays

__all__ = ["AUTO", "BLOCK_STARTS", "NOTE", "solve_block_start"]

log = logging.getLogger(__name__)

#: ``model.notes`` key: a function returning the columns to fix at 0 and the sites each
#: ties together, shape ``(n, 3)`` (written by the placement).
NOTE = "block_start"
#: Accepted values of ``SolverOptions.block_start``: ``"auto"`` (the default: ``"dual"``
#: unless the caller chose a HiGHS ``solver``), off, or the simplex run after the blocks
#: (primal or dual; ``"tree"``: the sites merged in pairs, fours, ... first).
BLOCK_STARTS = ("auto", "off", "primal", "dual", "tree")
#: What ``"auto"`` runs: the fastest on the annual ring-coupled copies
#: (benchmarks/MULTISITE_RESULTS.md).
AUTO = "dual"
#: A row holding fixed columns only must admit 0 within this.
_TOL = 1e-9


def _basis(highspy, col_status: np.ndarray, row_status: np.ndarray):
    """A ``HighsBasis`` of these statuses (``HighsBasisStatus`` codes)."""
    S = [highspy.HighsBasisStatus(k) for k in range(5)]
    basis = highspy.HighsBasis()
    basis.col_status = [S[k] for k in col_status.tolist()]
    basis.row_status = [S[k] for k in row_status.tolist()]
    basis.valid = True
    return basis


def _levels(ties: np.ndarray | None, n_fixed: int, mode: str) -> list[np.ndarray]:
    """Which of the fixed columns each level frees, the last level all that are left.

    ``"tree"``: level ``k`` merges the sites in groups of ``2^k`` (by position) and frees
    the columns whose sites all fall in one group, so most moves between sites are made in
    models of two, four, ... sites (in threads) and only the rest in the whole LP. Otherwise
    one level: every fixed column at once."""
    everything = np.ones(n_fixed, bool)
    if mode != "tree" or ties is None or len(ties) != n_fixed:
        return [everything]
    ties = np.asarray(ties, np.int64)
    n_sites = int(ties.max()) + 1
    out, done = [], np.zeros(n_fixed, bool)
    k = 1
    while (1 << k) < n_sites:
        g = ties >> k
        now = np.all(g == g[:, :1], axis=1) & ~done
        if now.any():
            out.append(now)
            done |= now
        k += 1
    out.append(~done)
    return out


def solve_block_start(model: LinearModel, arrays: ModelArrays, options: SolverOptions,
                      to_highs: Callable, run_definite: Callable, read_outcome: Callable
                      ) -> SolveOutput | None:
    """Solve the LP from the assembled basis of its pinned blocks (module docstring); None
    when the option is off, the model is a MILP, has no block-start note, does not split
    into two or more blocks once pinned, or a block is not optimal. The HiGHS helpers come
    from :mod:`engine.backends.highs` (passed in: no import cycle).

    ``timings`` holds ``handover_s`` (blocks found and handed to HiGHS), ``blocks_s`` (the
    blocks' solves in threads, every level before the last), ``assemble_s`` (the basis
    put together and handed over), ``freed_s`` (the simplex on the whole LP) and ``run_s``
    (the last three); the iterations are the blocks' and the whole LP's together;
    ``model.notes["block_start_stats"]`` the blocks per level, their iterations and the
    whole LP's.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    import highspy

    from engine.backends.blocks import components, sub_arrays_rows
    from engine.status import Status

    mode = getattr(options, "block_start", "off")
    if mode not in BLOCK_STARTS:
        raise ValueError(f"block_start must be one of {BLOCK_STARTS}, got {mode!r}")
    if mode == "auto":  # a caller who chose HiGHS's solver gets that solver on the whole LP
        mode = "off" if "solver" in options.highs_options else AUTO
    if mode == "off" or arrays.is_mip:
        return None
    note = model.notes.get(NOTE)
    if note is None:
        return None
    t0 = time.perf_counter()
    fixed_cols, ties = note()
    if fixed_cols.size == 0:
        return None
    m, n = arrays.A.shape
    fixed = np.zeros(n, bool)
    fixed[fixed_cols] = True
    if np.any(arrays.col_lb[fixed] != 0.0):
        return None  # nonbasic "at 0" needs 0 to be the lower bound
    A = arrays.A.to_scipy().tocsc()
    levels = _levels(ties, fixed_cols.size, mode)
    col_status = np.zeros(n, np.int8)  # kLower (0): the fixed columns at 0
    row_status = np.ones(m, np.int8)  # kBasic (1): rows of fixed columns only
    workers = int(options.threads or os.cpu_count() or 1)
    stats = {"blocks": [], "block_iterations": 0}
    setup_s = 0.0

    def run(blk):
        cols, rows, h = blk
        run_definite(h)
        ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        return ok, int(max(h.getInfo().simplex_iteration_count, 0))

    t_blocks = 0.0
    for level, now in enumerate([None] + levels[:-1]):
        if now is not None:
            fixed[fixed_cols[now]] = False
        free = np.flatnonzero(~fixed)
        ts = time.perf_counter()
        A_free = A[:, free]
        parts = components(A_free, 64)
        if level == 0:
            if parts is None:
                return None  # pinned, the model is still one block: nothing to gain
            touched = np.zeros(m, bool)
            touched[A_free.indices] = True
            idle = ~touched  # rows of fixed columns only: 0 must be within their bounds
            if np.any((arrays.row_lb[idle] > _TOL) | (arrays.row_ub[idle] < -_TOL)):
                return None
            del touched, idle
        del A_free
        blocks = []
        for part in (parts if parts is not None else [np.arange(free.size)]):
            cols = free[part]
            sub, rows = sub_arrays_rows(arrays, A, cols)  # an LP: integrality all 0
            h = to_highs(sub, options)
            if level > 0:  # from the statuses so far: dual simplex, no presolve
                if h.setBasis(_basis(highspy, col_status[cols], row_status[rows])) \
                        == highspy.HighsStatus.kError:
                    return None
                h.setOptionValue("solver", "simplex")
                h.setOptionValue("simplex_strategy", 1)
            blocks.append((cols, rows, h))
        tb = time.perf_counter()
        setup_s += tb - ts
        with ThreadPoolExecutor(max_workers=min(workers, len(blocks))) as pool:
            outs = list(pool.map(run, blocks))
        t_blocks += time.perf_counter() - tb
        if not all(ok for ok, _ in outs):
            log.debug("block start: a block of level %d is not optimal; solving the whole LP",
                      level)
            return None
        for cols, rows, h in blocks:
            basis = h.getBasis()
            col_status[cols] = np.fromiter((int(s) for s in basis.col_status), np.int8,
                                           cols.size)
            row_status[rows] = np.fromiter((int(s) for s in basis.row_status), np.int8,
                                           rows.size)
        stats["blocks"].append(len(blocks))
        stats["block_iterations"] += int(sum(it for _, it in outs))
        del blocks
    del A
    t2 = time.perf_counter()
    basis = _basis(highspy, col_status, row_status)
    h = to_highs(arrays, options)
    if h.setBasis(basis) == highspy.HighsStatus.kError:
        log.debug("block start: HiGHS rejected the assembled basis; solving the whole LP")
        return None
    del basis, col_status, row_status
    h.setOptionValue("solver", "simplex")
    if "simplex_strategy" not in options.highs_options:  # else the caller's (e.g. parallel)
        h.setOptionValue("simplex_strategy", 4 if mode == "primal" else 1)
    t3 = time.perf_counter()
    limit = h.getOptionValue("time_limit")[1]
    if np.isfinite(limit):  # the caller's limit covers the blocks and the whole LP
        h.setOptionValue("time_limit", max(limit - (t3 - t0), 1e-3))
    run_definite(h)
    t4 = time.perf_counter()
    out = read_outcome(h, False, {})
    freed_it = out.iterations
    out.iterations = stats["block_iterations"] + freed_it
    out.timings = {"handover_s": setup_s, "blocks_s": t_blocks, "assemble_s": t3 - t2,
                   "freed_s": t4 - t3, "run_s": t4 - t0 - setup_s}
    stats["freed_iterations"] = freed_it
    model.notes["block_start_stats"] = stats
    log.debug("block start: blocks per level %s (%d iterations, %.2f s), whole LP %d "
              "iterations (%.2f s)", stats["blocks"], stats["block_iterations"], t_blocks,
              freed_it, t4 - t3)
    if out.status not in (Status.OPTIMAL, Status.TIME_LIMIT):
        return None  # the whole-model solve's status and diagnosis say what is wrong
    return out
