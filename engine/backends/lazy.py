"""Lazy rows: rows the optimum mostly satisfies by itself, handed to HiGHS only when violated.

A component may list constraint groups under ``model.notes["lazy_rows"]`` (group names).
For an LP, :func:`solve_lazy` solves the model without those rows, checks them against the
solution, adds the violated ones to the same HiGHS instance and re-solves from the last
basis (dual simplex: adding rows keeps the basis dual feasible), until none is violated
(row generation). The answer is the optimum of the whole model: the last solve is optimal
for a relaxation of it (a subset of its rows) and its point satisfies every row left out,
so it is feasible, hence optimal, for the whole model.

Why: the placement's data-ready rows ``p[t] <= Pmax a[t-1]`` (one per remote (job, site)
and hour) are almost all slack at the optimum, but they chain every job's transfers to its
power hour by hour and made HiGHS's simplex ~15x slower on the East-West month
(``benchmarks/MULTISITE_RESULTS.md``). A MILP keeps every row (a cut added between
branch-and-bound runs would restart the search), and so does the ``pyomo`` backend. A
caller's time limit covers all rounds together; a round that ends other than optimal (a
limit, an infeasible relaxation) hands the model to the whole-model solve, whose status and
diagnosis are then returned.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from engine.backends.base import SolveOutput, SolverOptions
from engine.model import LinearModel, ModelArrays

__all__ = ["LAZY_NOTE", "MAX_ROUNDS", "lazy_mask", "solve_lazy"]

log = logging.getLogger(__name__)

#: ``model.notes`` key listing the names of the constraint groups that may be left out.
LAZY_NOTE = "lazy_rows"
#: Rounds of row generation before the remaining lazy rows all go in at once.
MAX_ROUNDS = 30
#: A lazy row counts as violated beyond this (absolute, scaled by ``max(1, |bound|)``);
#: HiGHS's own primal feasibility tolerance is 1e-7.
TOL = 1e-7


def lazy_mask(model: LinearModel, n_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows of the groups listed in ``model.notes["lazy_rows"]`` and the batch of each (a
    violated row brings its whole batch in), or None without any. Each entry is a group
    name (every row a batch of its own) or ``(name, labels)`` with one label per row."""
    mask = np.zeros(n_rows, bool)
    batch = np.full(n_rows, -1, np.int64)
    top = 0
    for entry in model.notes.get(LAZY_NOTE) or []:
        name, labels = entry if isinstance(entry, tuple) else (entry, None)
        g = model.con_groups.get(name)
        if g is None:
            continue
        mask[g.start:g.start + g.size] = True
        lab = (np.arange(g.size) if labels is None
               else np.unique(np.asarray(labels).ravel(), return_inverse=True)[1])
        batch[g.start:g.start + g.size] = top + lab
        top += int(lab.max()) + 1 if g.size else 0
    return (mask, batch) if mask.any() else None


class _Rows:
    """Some rows of the model's matrix in CSR form, in NumPy only.

    SciPy's sparse module is not imported on this path: its first import costs ~8 MB of
    Python memory (NumPy's testing and f2py modules come with it), which counted in the
    solve's peak of a cold process (benchmarks/MULTISITE_RESULTS.md).
    """

    def __init__(self, arrays: ModelArrays, lazy: np.ndarray) -> None:
        A = arrays.A
        m = A.shape[0]
        # int32 positions: one 4-byte temporary per entry of the model, not 8
        pos = np.full(m, -1, np.int32)
        pos[lazy] = np.arange(lazy.size, dtype=np.int32)
        row = pos[A.indices]
        del pos
        sel = np.flatnonzero(row >= 0)
        row = row[sel]
        col = (np.searchsorted(A.indptr, sel, side="right") - 1).astype(np.int32)
        data = A.data[sel]
        del sel
        # CSC order is by column: a stable sort by row gives CSR with columns ascending
        order = np.argsort(row, kind="stable")
        self.row = row[order]
        self.indices = col[order]
        self.data = data[order]
        self.indptr = np.zeros(lazy.size + 1, np.int64)
        np.cumsum(np.bincount(self.row, minlength=lazy.size), out=self.indptr[1:])
        self.n = int(lazy.size)

    def dot(self, x: np.ndarray) -> np.ndarray:
        """The rows' activities at ``x``."""
        w = x[self.indices]
        w *= self.data
        return np.bincount(self.row, weights=w, minlength=self.n)

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(starts, indices, values)`` of the rows ``rows`` (sorted), as ``addRows``
        takes them."""
        lo, hi = self.indptr[rows], self.indptr[rows + 1]
        count = hi - lo
        starts = np.zeros(rows.size, np.int32)
        np.cumsum(count[:-1], out=starts[1:])
        ent = np.repeat(lo - starts, count) + np.arange(int(count.sum()))
        return starts, self.indices[ent], self.data[ent]


def _hand_over(arrays: ModelArrays, lazy: np.ndarray, options: SolverOptions,
               to_highs: Callable):
    """A HiGHS instance holding the model without the rows ``lazy``: the whole model is
    passed as it is (HiGHS copies the NumPy buffers; no Python copy of the matrix without
    those rows, which made the peak of the solve) and the rows are deleted inside HiGHS,
    which keeps the order of the others."""
    h = to_highs(arrays, options)
    status = h.deleteRows(int(lazy.size), lazy.astype(np.int32))
    import highspy

    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS could not delete the lazy rows (deleteRows returned kError)")
    return h


def solve_lazy(model: LinearModel, arrays: ModelArrays, options: SolverOptions,
               to_highs: Callable, run_definite: Callable,
               read_outcome: Callable) -> SolveOutput | None:
    """Solve an LP with its lazy rows generated on demand (module docstring); None when
    the model has none, is a MILP, or the relaxation does not end optimal (the caller then
    solves the whole model, whose diagnosis names what is wrong). The HiGHS helpers come
    from :mod:`engine.backends.highs` (passed in: no import cycle)."""
    from engine.status import Status

    if arrays.is_mip:
        return None
    found = lazy_mask(model, arrays.A.shape[0])
    if found is None:
        return None
    mask, batch_of = found
    del found  # the model-sized mask and batch arrays go once the lazy rows are taken
    t0 = time.perf_counter()
    lazy = np.flatnonzero(mask)
    L_lb, L_ub = arrays.row_lb[lazy], arrays.row_ub[lazy]
    batch = np.unique(batch_of[lazy], return_inverse=True)[1]
    L = _Rows(arrays, lazy)
    del mask, batch_of
    h = _hand_over(arrays, lazy, options, to_highs)
    # the violation tolerance of each lazy row, once (not a new array every round)
    tol = TOL * np.maximum(1.0, np.maximum(np.abs(np.nan_to_num(L_lb, posinf=0, neginf=0)),
                                           np.abs(np.nan_to_num(L_ub, posinf=0, neginf=0))))
    t1 = time.perf_counter()
    pending = np.ones(lazy.size, bool)
    rounds, added, iters = 0, 0, 0
    limit = h.getOptionValue("time_limit")[1]
    while True:
        if np.isfinite(limit):  # the caller's limit covers every round together
            h.setOptionValue("time_limit", max(limit - (time.perf_counter() - t1), 1e-3))
        out = None  # the last round's solution goes before the next one is read
        run_definite(h)
        rounds += 1
        out = read_outcome(h, False, {})
        iters += out.iterations
        if out.status != Status.OPTIMAL or out.x is None:
            log.debug("lazy rows: relaxation ended %s after %d rounds", out.solver_status, rounds)
            return None
        act = L.dot(out.x)
        bad = pending & ((act > L_ub + tol) | (act < L_lb - tol))
        del act
        if rounds > MAX_ROUNDS and bad.any():
            bad = pending.copy()  # give up generating: every remaining row in at once
        if not bad.any():
            break
        hit = np.zeros(int(batch.max()) + 1, bool)
        hit[batch[bad]] = True
        bad = pending & hit[batch]
        rows = np.flatnonzero(bad)
        starts, idx, val = L.take(rows)
        h.addRows(rows.size, L_lb[rows], L_ub[rows], idx.size, starts, idx, val)
        del starts, idx, val
        pending[rows] = False
        added += rows.size
        # the last basis stays dual feasible with the new rows basic: dual simplex from it
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("presolve", "off")
    t2 = time.perf_counter()
    log.debug("lazy rows: %d of %d added over %d solves", added, lazy.size, rounds)
    out.timings = {"handover_s": t1 - t0, "run_s": t2 - t1}
    out.iterations = iters
    out.diagnosis = ""
    model.notes["lazy_stats"] = {"rows": int(lazy.size), "added": int(added),
                                 "solves": int(rounds)}
    return out
