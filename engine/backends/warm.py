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
"""
from __future__ import annotations

import logging
import time

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["fix_then_free"]


def fix_then_free(h, cols: np.ndarray, values: np.ndarray, time_limit_s: float | None,
                  run) -> dict[str, float]:
    """Solve the LP held by ``h`` with ``cols`` fixed at ``values``, then free them and solve
    again from that basis.

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
    dict
        ``fixed_s``, ``freed_s`` (seconds of each solve), ``fixed_iterations``, and
        ``fallback`` (1.0 when the fixed model had no optimum and the LP was solved cold).
    """
    import highspy

    cols = np.asarray(cols, dtype=np.int32)
    n = int(cols.size)
    _, _, _, lower, upper, _ = h.getCols(n, cols)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    start = np.clip(np.asarray(values, dtype=np.float64), lower, upper)
    t0 = time.perf_counter()
    h.changeColsBounds(n, cols, start, start)
    run(h)
    t1 = time.perf_counter()
    fixed_ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    fixed_it = float(max(h.getInfo().simplex_iteration_count, 0))
    h.changeColsBounds(n, cols, lower, upper)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", max(float(time_limit_s) - (t1 - t0), 0.0))
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
    return {"fixed_s": t1 - t0, "freed_s": t2 - t1, "fixed_iterations": fixed_it,
            "fallback": 0.0 if fixed_ok else 1.0}
