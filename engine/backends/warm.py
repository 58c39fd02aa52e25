"""A warm start for an LP whose few "decision" columns make HiGHS slow: fix, solve, free.

The annual sizing LP (capacities as columns, :mod:`engine.model.sizing`) has a handful of
columns that enter every hour's rows (``p[t] <= a[t] cap``). HiGHS's dual simplex runs at a
small fraction of its usual speed on them from a cold start (benchmarks/SIZING_RESULTS.md).
With good values for those columns (the sizes chosen on representative days) the model
with the columns fixed is a dispatch LP: presolve removes the fixed columns and it solves
as fast as a dispatch. Freeing the columns then leaves HiGHS at an optimal basis of the
restricted model, from which the simplex continues (no presolve: HiGHS solves from a basis
on the original model) to the optimum of the whole LP. The optimum is the LP's own; only
the path to it changes.

How the columns are freed matters. Widening their bounds puts each at a bound (HiGHS
keeps a nonbasic column at one), so the dual simplex starts far from the fixed point, with
thousands of primal infeasibilities. Instead each column ``c`` stays fixed at its start
``v`` and two steps are added beside it, ``c = v + up - down`` (``up, down >= 0``, the
column's entries and cost, ``-`` for ``down``): the fixed optimum is then a primal feasible
basis of the whole LP, only the steps' reduced costs are wrong, and the primal simplex
continues from there. Once a capacity is basic every simplex iteration works through dense
columns (FTRAN and the dual steepest-edge FTRAN dominate, ~1.4 ms against ~35 us on the
dispatch LP), so it is the number of iterations that counts: on the site-comparison year
the primal continuation took 600 iterations where the dual one took 1,305 (and 5 against
358 from the exact optimum's sizes).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["fix_then_free"]

#: HiGHS's ``simplex_strategy`` value of the primal simplex.
_PRIMAL = 4


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _add_steps(h, cols: np.ndarray, start: np.ndarray, lower: np.ndarray,
               upper: np.ndarray, cost: np.ndarray) -> bool:
    """Add an up and a down step column beside each (fixed) column of ``cols``: the
    column's entries and cost (negated for the down step), bounds ``[0, upper - start]``
    and ``[0, start - lower]``. False when HiGHS refuses them."""
    import highspy

    n = int(cols.size)
    status, starts, index, value = h.getColsEntries(n, cols)
    if status == highspy.HighsStatus.kError:
        return False
    starts = np.append(np.asarray(starts, dtype=np.int64), len(index))
    counts = np.diff(starts)
    # column j's entries twice, the second time negated
    order = np.concatenate([np.arange(starts[j], starts[j + 1]) for j in range(n)
                            for _ in range(2)]).astype(np.int64)
    sign = np.repeat(np.tile([1.0, -1.0], n), np.repeat(counts, 2))
    new_starts = np.concatenate([[0], np.cumsum(np.repeat(counts, 2))[:-1]]).astype(np.int32)
    step_cost = np.repeat(cost, 2) * np.tile([1.0, -1.0], n)
    step_ub = np.column_stack([upper - start, start - lower]).ravel()
    status = h.addCols(2 * n, step_cost, np.zeros(2 * n), step_ub, int(order.size), new_starts,
                       np.asarray(index, dtype=np.int32)[order],
                       np.asarray(value, dtype=np.float64)[order] * sign)
    return status != highspy.HighsStatus.kError


def fix_then_free(h, cols: np.ndarray, values: np.ndarray, time_limit_s: float | None,
                  run) -> tuple[dict[str, float], Callable[[np.ndarray], np.ndarray]]:
    """Solve the LP held by ``h`` with ``cols`` fixed at ``values``, then free them and
    continue from that basis with the primal simplex.

    Parameters
    ----------
    h : highspy.Highs
        Holding the LP and its options (not yet run).
    cols, values : numpy.ndarray
        Columns to fix first and their values (clipped into the columns' bounds).
    time_limit_s : float or None
        The whole call's limit; the second solve gets what the first left.
    run : callable
        ``run(h)`` runs HiGHS (the backend's :func:`~engine.backends.highs.run_definite`).

    Returns
    -------
    (dict, callable)
        ``fixed_s``, ``freed_s`` (seconds of each solve), ``fixed_iterations``, and
        ``fallback`` (1.0 when the LP was solved without the start: the fixed model had no
        optimum, or the freed continuation ended in neither an optimum nor a limit); and the
        map from ``h``'s column values to the LP's (``h`` may hold the step columns beside
        the LP's: the map drops them and adds them to the columns they step). The
        objective ``h`` reports is the LP's.
    """
    import highspy

    cols = np.asarray(cols, dtype=np.int32)
    n = int(cols.size)
    n_lp = int(h.getNumCol())
    _, _, cost, lower, upper, _ = h.getCols(n, cols)
    cost = np.asarray(cost, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    start = np.clip(np.asarray(values, dtype=np.float64), lower, upper)
    t0 = time.perf_counter()
    h.changeColsBounds(n, cols, start, start)
    run(h)
    t1 = time.perf_counter()
    fixed_ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    fixed_it = float(max(h.getInfo().simplex_iteration_count, 0))
    if time_limit_s is not None:
        h.setOptionValue("time_limit", max(float(time_limit_s) - (t1 - t0), 0.0))
    to_lp = _identity
    stepped = fixed_ok and _add_steps(h, cols, start, lower, upper, cost)
    if stepped:
        strategy = h.getOptionValue("simplex_strategy")[1]
        h.setOptionValue("simplex_strategy", _PRIMAL)
        h.run()  # from the fixed optimum's basis: no presolve
        h.setOptionValue("simplex_strategy", strategy)
        ms = h.getModelStatus()
        S = highspy.HighsModelStatus
        if ms == S.kOptimal or (ms in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt)
                                and h.getInfo().primal_solution_status == 2):
            def to_lp(x: np.ndarray) -> np.ndarray:
                out = np.array(x[:n_lp], dtype=np.float64)
                out[cols] = start + x[n_lp::2] - x[n_lp + 1::2]
                return out
        else:
            log.info("freed continuation ended %s: solving the LP without the start",
                     h.modelStatusToString(ms))
            stepped = False
            fixed_ok = False
            h.deleteCols(2 * n, np.arange(n_lp, n_lp + 2 * n, dtype=np.int32))
    if not stepped:
        h.changeColsBounds(n, cols, lower, upper)
        if not fixed_ok:
            # e.g. the start is infeasible over the whole horizon: solve the LP from scratch
            log.info("fixed start not optimal (%s): solving cold",
                     h.modelStatusToString(h.getModelStatus()))
            h.clearSolver()
        run(h)
    t2 = time.perf_counter()
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    log.debug("fixed start: %.2f s (%d iterations), freed: %.2f s", t1 - t0, fixed_it, t2 - t1)
    return ({"fixed_s": t1 - t0, "freed_s": t2 - t1, "fixed_iterations": fixed_it,
             "fallback": 0.0 if fixed_ok else 1.0}, to_lp)
