"""A warm start for an LP whose few "decision" columns make HiGHS slow: fix, solve, free.

The annual sizing LP (capacities as columns, :mod:`engine.model.sizing`) has a handful of
columns that enter every hour's rows (``p[t] <= a[t] cap``). HiGHS's dual simplex runs at a
small fraction of its usual speed on them from a cold start (benchmarks/SIZING_RESULTS.md).
With good values for those columns (the sizes chosen on representative days) the model
with the columns fixed is a dispatch LP. Handed to HiGHS as it is, its presolve turns the
rows ``p[t] <= a[t] cap`` back into bounds, at about the cost of a second dispatch presolve;
so :func:`reduced_fixed_basis` makes the dispatch form in NumPy, solves it, and maps its
optimal basis back (as HiGHS's postsolve maps a row singleton), which :func:`fix_then_free`
sets instead of solving the fixed LP. Freeing the columns then leaves HiGHS at an optimal
basis of the restricted model, from which the simplex continues (no presolve: HiGHS solves
from a basis on the original model) to the optimum of the whole LP. The optimum is the LP's
own; only the path to it changes.

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
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["RAISE_STEPS", "FixedBasis", "fix_then_free", "raised_fixed_basis",
           "reduced_fixed_basis"]

#: HiGHS's ``simplex_strategy`` value of the primal simplex.
_PRIMAL = 4
#: A fixing that leaves a row or bound violated by more than this is infeasible (HiGHS's
#: default ``primal_feasibility_tolerance``).
_FEAS_TOL = 1e-7


def _identity(x: np.ndarray) -> np.ndarray:
    return x


@dataclass
class FixedBasis:
    """An optimal basis of an LP with some columns fixed, in the LP's own rows and columns
    (HiGHS's ``HighsBasisStatus`` values), found by :func:`reduced_fixed_basis`; or, with
    ``infeasible``, the finding that the LP with them fixed has no solution (no statuses).
    ``seconds`` and ``iterations``: what finding either took."""

    col_status: np.ndarray | None
    row_status: np.ndarray | None
    seconds: float
    iterations: int
    infeasible: bool = False


def _tightest(c: np.ndarray, r: np.ndarray, b: np.ndarray, own: np.ndarray, larger: bool
              ) -> tuple[np.ndarray, np.ndarray]:
    """Each column's own bound ``own`` tightened by the row-made bounds ``b`` (column ``c``,
    row ``r`` each): the bounds, and the row that set each (-1: the column's own)."""
    order = np.lexsort((b if larger else -b, c))  # by column, the tightest last
    last = np.ones(order.size, dtype=bool)
    last[:-1] = c[order][1:] != c[order][:-1]
    sel = order[last]
    cs, val = c[sel], b[sel]
    win = val > own[cs] if larger else val < own[cs]
    at = np.full(own.size, -1, dtype=np.int64)
    at[cs[win]] = r[sel][win]
    out = own.copy()
    out[cs[win]] = val[win]
    return out, at


def _reduce(arrays: Any, cols: np.ndarray, values: np.ndarray
            ) -> tuple[SimpleNamespace, dict[str, np.ndarray]] | None:
    """The LP of ``arrays`` with ``cols`` fixed at ``values``, as HiGHS's presolve would
    first see it: the fixed columns dropped (their part of each row moved to its bounds),
    each row left with one other column turned into that column's bounds, rows left with
    none dropped. NumPy only. None when the fixing makes a row or a column infeasible."""
    A = arrays.A
    m, n = A.shape
    indptr = np.asarray(A.indptr, dtype=np.int64)
    rows = np.asarray(A.indices, dtype=np.int64)
    data = np.asarray(A.data, dtype=np.float64)
    col_of = np.repeat(np.arange(n), np.diff(indptr))
    fixed = np.zeros(n, dtype=bool)
    fixed[cols] = True
    v = np.zeros(n)
    v[cols] = values
    on_fixed = fixed[col_of]
    shift = np.bincount(rows[on_fixed], weights=data[on_fixed] * v[col_of[on_fixed]],
                        minlength=m)
    free = ~on_fixed & (data != 0.0)
    count = np.bincount(rows[free], minlength=m)
    row_lb = arrays.row_lb - shift
    row_ub = arrays.row_ub - shift
    empty = count == 0
    if np.any(row_lb[empty] > _FEAS_TOL) or np.any(row_ub[empty] < -_FEAS_TOL):
        return None
    # rows with one free column: that column's bounds
    one = free & (count[rows] == 1)
    r1, c1, a1 = rows[one], col_of[one], data[one]
    pos = a1 > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        blo = np.where(pos, row_lb[r1], row_ub[r1]) / a1
        bup = np.where(pos, row_ub[r1], row_lb[r1]) / a1
    col_lb = np.array(arrays.col_lb, dtype=np.float64)
    col_ub = np.array(arrays.col_ub, dtype=np.float64)
    col_lb[cols] = values
    col_ub[cols] = values
    col_lb, lb_row = _tightest(c1, r1, blo, col_lb, larger=True)
    col_ub, ub_row = _tightest(c1, r1, bup, col_ub, larger=False)
    if np.any(col_lb - col_ub > _FEAS_TOL):
        return None
    col_lb = np.minimum(col_lb, col_ub)
    keep_row = count >= 2
    keep_col = ~fixed
    new_row = np.cumsum(keep_row) - 1
    nz = ~on_fixed & keep_row[rows]
    col_idx = np.flatnonzero(keep_col)
    kept_col_of = col_of[nz]
    new_col = np.cumsum(keep_col) - 1
    counts = np.bincount(new_col[kept_col_of], minlength=col_idx.size)
    Ar = SimpleNamespace(indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int32),
                         indices=new_row[rows[nz]].astype(np.int32), data=data[nz],
                         shape=(int(keep_row.sum()), int(col_idx.size)))
    Ar.nnz = int(Ar.data.size)
    red = SimpleNamespace(A=Ar, cost=np.asarray(arrays.cost)[col_idx], col_lb=col_lb[col_idx],
                          col_ub=col_ub[col_idx], row_lb=row_lb[keep_row],
                          row_ub=row_ub[keep_row],
                          integrality=np.zeros(col_idx.size, dtype=np.int32), is_mip=False,
                          offset=float(arrays.offset + np.asarray(arrays.cost)[cols] @ values))
    sign = np.zeros(m)
    sign[r1] = np.sign(a1)
    return red, {"keep_row": keep_row, "keep_col": keep_col, "lb_row": lb_row,
                 "ub_row": ub_row, "sign": sign}


def reduced_fixed_basis(arrays: Any, cols: np.ndarray, values: np.ndarray,
                        make_highs: Callable[[Any], Any], run: Callable[[Any], None],
                        time_limit_s: float | None = None) -> FixedBasis | None:
    """An optimal basis of the LP of ``arrays`` with ``cols`` fixed at ``values``, found on
    the LP :func:`_reduce` makes of it and mapped back.

    With its capacities fixed the annual sizing LP is a dispatch LP whose bounds are rows
    (``p[t] - a[t] cap <= 0``): HiGHS's presolve turns them back into bounds, but on 87,602
    rows instead of 26,282 that costs about as much again as the presolve of the dispatch
    itself (benchmarks/SIZING_RESULTS.md). Reduced here in NumPy, the same LP goes to HiGHS
    in its dispatch form. Its basis maps back as HiGHS's postsolve maps a row singleton:
    a column nonbasic at a bound that a row made is basic, and that row nonbasic at the
    matching bound; every dropped row is basic, the fixed columns nonbasic.

    Parameters
    ----------
    arrays : ModelArrays
        The LP (a MILP's integrality is ignored: callers pass LPs).
    cols, values : numpy.ndarray
        The columns to fix and their values (within their bounds).
    make_highs : callable
        ``make_highs(arrays)``: a ``highspy.Highs`` holding an LP of the same shape as
        ``arrays`` with the caller's options (:func:`engine.backends.highs.to_highs`).
    run : callable
        ``run(h)`` runs HiGHS.
    time_limit_s : float, optional
        Seconds the reduced LP may take (else the options' own limit).

    Returns
    -------
    FixedBasis or None
        None when the fixing leaves a row or a column infeasible, or the reduced LP ends
        other than optimal (the caller then solves the fixed LP itself).
    """
    basis = _reduced_basis(arrays, cols, values, make_highs, run, time_limit_s)
    return None if basis is None or basis.infeasible else basis


#: Relative increases of a start's fixed values tried in turn by :func:`raised_fixed_basis`
#: when the LP with them fixed is infeasible (within the columns' upper bounds).
RAISE_STEPS = (0.05, 0.25)


def raised_fixed_basis(arrays: Any, cols: np.ndarray, values: np.ndarray,
                       make_highs: Callable[[Any], Any], run: Callable[[Any], None],
                       time_limit_s: float | None = None
                       ) -> tuple[FixedBasis | None, np.ndarray]:
    """:func:`reduced_fixed_basis` at ``values``, or, when the LP with them fixed is
    infeasible, at ``values`` raised by each of :data:`RAISE_STEPS` in turn.

    Sizes chosen on typical days can fall just short over the whole year (an annual green
    floor met on the typical days, missed by a hair on the year's own hours); the LP with
    them fixed is then infeasible and the start would be lost (a cold solve, ~60
    dispatches on the site-comparison year). A larger capacity widens the dispatch's bounds
    (more PV, wind, storage, connection), so raised sizes usually restore a feasible start
    from which the freed continuation moves the capacities back down. A raise that leaves
    the values where they were (all 0, or at their upper bounds) is not tried again.

    Returns
    -------
    (FixedBasis or None, numpy.ndarray)
        The basis and the values it belongs to; ``FixedBasis(infeasible=True)`` and
        ``values`` when every fixing tried was infeasible (the caller need not solve the
        fixed LP again); None and ``values`` when no basis came for another reason (see
        :func:`reduced_fixed_basis`). ``seconds`` and ``iterations`` include the infeasible
        attempts.
    """
    cols = np.asarray(cols, dtype=np.int64)
    lower = np.asarray(arrays.col_lb, dtype=np.float64)[cols]
    upper = np.asarray(arrays.col_ub, dtype=np.float64)[cols]
    base = np.asarray(values, dtype=np.float64)
    spent, its, tried = 0.0, 0, None
    for step in (0.0, *RAISE_STEPS):
        v = np.clip(base + np.abs(base) * step, lower, upper)
        if tried is not None and np.array_equal(v, tried):
            continue
        left = None if time_limit_s is None else time_limit_s - spent
        if left is not None and left <= 0:
            return None, base
        basis = _reduced_basis(arrays, cols, v, make_highs, run, left)
        if basis is None:
            return None, base
        if not basis.infeasible:
            basis.seconds += spent
            basis.iterations += its
            if step:
                log.info("fixed start infeasible at its sizes: started %g %% above them",
                         100 * step)
            return basis, v
        spent += basis.seconds
        its += basis.iterations
        tried = v
    return FixedBasis(None, None, spent, its, infeasible=True), base


def _reduced_basis(arrays: Any, cols: np.ndarray, values: np.ndarray,
                   make_highs: Callable[[Any], Any], run: Callable[[Any], None],
                   time_limit_s: float | None) -> FixedBasis | None:
    """:func:`reduced_fixed_basis`, an infeasible fixing returned as such (with its cost)."""
    import highspy

    t0 = time.perf_counter()
    cols = np.asarray(cols, dtype=np.int64)
    reduced = _reduce(arrays, cols, np.asarray(values, dtype=np.float64))
    if reduced is None:
        log.debug("reduced fixed LP: a row or column is infeasible at the start")
        return FixedBasis(None, None, time.perf_counter() - t0, 0, infeasible=True)
    red, mp = reduced
    h = make_highs(red)
    del red
    if time_limit_s is not None:
        h.setOptionValue("time_limit", max(float(time_limit_s), 0.0))
    run(h)
    status = h.getModelStatus()
    iterations = int(max(h.getInfo().simplex_iteration_count, 0))
    if status != highspy.HighsModelStatus.kOptimal:
        log.debug("reduced fixed LP ended %s", h.modelStatusToString(status))
        if status == highspy.HighsModelStatus.kInfeasible:
            return FixedBasis(None, None, time.perf_counter() - t0, iterations, infeasible=True)
        return None
    basis = h.getBasis()
    if not basis.valid:  # e.g. an interior point solve without crossover (highs_options)
        log.debug("reduced fixed LP: optimal without a basis")
        return None
    keep_col, keep_row = mp["keep_col"], mp["keep_row"]
    rc = np.fromiter((int(s) for s in basis.col_status), np.int8, int(keep_col.sum()))
    rr = np.fromiter((int(s) for s in basis.row_status), np.int8, int(keep_row.sum()))
    del basis, h
    S = highspy.HighsBasisStatus
    lower, basic, upper = int(S.kLower), int(S.kBasic), int(S.kUpper)
    col_status = np.full(keep_col.size, lower, dtype=np.int8)  # the fixed columns
    row_status = np.full(keep_row.size, basic, dtype=np.int8)  # the dropped rows
    col_status[keep_col] = rc
    row_status[keep_row] = rr
    kept = np.flatnonzero(keep_col)
    sign = mp["sign"]
    for at, row_of, same in ((upper, mp["ub_row"], upper), (lower, mp["lb_row"], lower)):
        j = kept[(rc == at) & (row_of[kept] >= 0)]
        r = row_of[j]
        col_status[j] = basic
        # a row a x <= u made the bound x <= u / a when a > 0, x >= u / a when a < 0
        row_status[r] = np.where(sign[r] > 0, same, upper + lower - same)
    return FixedBasis(col_status, row_status, time.perf_counter() - t0, iterations)


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
                  run, basis: FixedBasis | None = None
                  ) -> tuple[dict[str, float], Callable[[np.ndarray], np.ndarray]]:
    """Solve the LP held by ``h`` with ``cols`` fixed at ``values``, then free them and
    continue from that basis with the primal simplex.

    Parameters
    ----------
    h : highspy.Highs
        Holding the LP and its options (not yet run).
    cols, values : numpy.ndarray
        Columns to fix first and their values (clipped into the columns' bounds).
    time_limit_s : float or None
        The whole call's limit (what is left of it after ``basis`` was found); the second
        solve gets what the first left.
    run : callable
        ``run(h)`` runs HiGHS (the backend's :func:`~engine.backends.highs.run_definite`).
    basis : FixedBasis, optional
        An optimal basis of the fixed LP (:func:`reduced_fixed_basis`, at these
        ``values``): set instead of solving the fixed LP in ``h``; its seconds and
        iterations count as the fixed solve's (``fixed_s``). HiGHS refusing it falls back
        to solving. One marked ``infeasible`` (:func:`raised_fixed_basis`) skips the fixed
        solve: the LP is solved cold.

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
    if n == 0:  # nothing to fix
        t0 = time.perf_counter()
        run(h)
        return ({"fixed_s": 0.0, "freed_s": time.perf_counter() - t0, "fixed_iterations": 0.0,
                 "fallback": 0.0}, _identity)
    limit_before = h.getOptionValue("time_limit")[1]
    _, _, cost, lower, upper, _ = h.getCols(n, cols)
    cost = np.asarray(cost, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    start = np.clip(np.asarray(values, dtype=np.float64), lower, upper)
    t0 = time.perf_counter()
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    h.changeColsBounds(n, cols, start, start)
    found_s, found_it = (basis.seconds, basis.iterations) if basis is not None else (0.0, 0)
    if basis is not None and not basis.infeasible:
        from engine.backends.block_start import _basis

        if h.setBasis(_basis(highspy, basis.col_status, basis.row_status)) \
                == highspy.HighsStatus.kError:
            log.info("the reduced fixed LP's basis was refused: solving the fixed LP")
            basis = None
    if basis is None:
        run(h)
        fixed_ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        fixed_it = float(found_it + max(h.getInfo().simplex_iteration_count, 0))
    else:
        fixed_ok = not basis.infeasible
        fixed_it = float(found_it)
    t1 = time.perf_counter()
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
                     "infeasible" if basis is not None and basis.infeasible
                     else h.modelStatusToString(h.getModelStatus()))
            h.clearSolver()
        run(h)
    t2 = time.perf_counter()
    h.setOptionValue("time_limit", limit_before)  # the caller's, for its diagnosis
    log.debug("fixed start: %.2f s (%d iterations), freed: %.2f s", t1 - t0 + found_s,
              fixed_it, t2 - t1)
    return ({"fixed_s": t1 - t0 + found_s, "freed_s": t2 - t1, "fixed_iterations": fixed_it,
             "fallback": 0.0 if fixed_ok else 1.0}, to_lp)
