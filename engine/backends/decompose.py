"""Benders decomposition of sites coupled by placed jobs (measured, not the default).

Fixing every placed job's split ``y[j, c]`` (``placement/share``) turns the work rows
``sum_t k p[j, c, t] - W_j y[j, c] = 0`` into ``sum_t k p + s = W_j y`` (``s >= 0`` at a
penalty ``M`` per unit of work not done: every split is feasible) and drops the
``one_site`` rows: what is left falls apart into the sites (:func:`blocks_of`), each an LP
``V_b(y)`` solved on its own (threads, each HiGHS instance kept and re-run from its basis).
The master holds the split and one cut per site and round::

    min sum_b theta_b   s.t.  sum_c y[j, c] = 1,  0 <= y <= 1,
                              theta_b >= V_b(y^k) + sum_{q in b} W_q pi_q^k (y_q - y_q^k)

with ``pi_q^k`` the dual of work row ``q`` in round ``k``. The master's optimum is a lower
bound, the best ``sum_b V_b`` an upper bound; it stops when they meet within ``rel_gap``.
With ``M`` above every work row's dual the penalised problem has the whole LP's optimum.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.backends.blocks import blocks_of, sub_arrays
from engine.model import LinearModel, ModelArrays

__all__ = ["solve_benders"]


def solve_benders(model: LinearModel, arrays: ModelArrays, rel_gap: float = 1e-6,
                  max_rounds: int = 300, threads: int = 2, penalty: float | None = None
                  ) -> dict:
    """Benders on the placement's split (module docstring). Returns ``objective`` (the best
    upper bound), ``lower`` (the master's bound), ``rounds``, ``blocks`` and ``seconds``."""
    import highspy
    import scipy.sparse as sp

    from engine.backends.base import SolverOptions
    from engine.backends.highs import new_highs, to_highs
    from engine.model.linear import CSC

    t0 = time.perf_counter()
    share = model.var_groups["placement/share"].idx.ravel()
    wg, og = model.con_groups["placement/work"], model.con_groups["placement/one_site"]
    work_rows = np.arange(wg.start, wg.start + wg.size)
    A = arrays.A.to_scipy().tocsc()
    W = -np.asarray(A[work_rows][:, share].diagonal()).ravel()  # -W_j of pair q's y_q
    one = A[og.start:og.start + og.size][:, share].tocsr()
    # the sites' model: y out, one_site rows out, a slack per work row
    keep_cols = np.ones(A.shape[1], bool)
    keep_cols[share] = False
    keep_rows = np.ones(A.shape[0], bool)
    keep_rows[og.start:og.start + og.size] = False
    B = A[:, keep_cols][keep_rows]
    n_work = work_rows.size
    new_row = np.cumsum(keep_rows) - 1
    slack = sp.csc_matrix((np.ones(n_work), (new_row[work_rows], np.arange(n_work))),
                          shape=(B.shape[0], n_work))
    B = sp.hstack([B, slack], format="csc")
    B.sort_indices()
    big = penalty if penalty is not None else 1e3 * max(1.0, float(np.abs(arrays.cost).max()))
    sub = ModelArrays(
        cost=np.r_[arrays.cost[keep_cols], np.full(n_work, big)],
        col_lb=np.r_[arrays.col_lb[keep_cols], np.zeros(n_work)],
        col_ub=np.r_[arrays.col_ub[keep_cols], np.full(n_work, np.inf)],
        integrality=np.zeros(B.shape[1], bool),
        row_lb=arrays.row_lb[keep_rows], row_ub=arrays.row_ub[keep_rows],
        A=CSC(B.indptr.astype(np.int32), B.indices.astype(np.int32), B.data, B.shape),
        offset=0.0)
    parts = blocks_of(sub, 10_000) or [np.arange(B.shape[1])]
    Bc = B.tocsc()
    blocks = []
    wr = new_row[work_rows]
    for cols in parts:
        rows = np.unique(Bc[:, cols].indices)
        local = {int(r): i for i, r in enumerate(rows)}
        q = np.array([k for k in range(n_work) if int(wr[k]) in local], np.int64)
        h = to_highs(sub_arrays(sub, Bc, cols), SolverOptions())  # an LP block, log off
        blocks.append((h, q, np.array([local[int(wr[k])] for k in q], np.int32)))
    # master: y then one theta per block
    nb = len(blocks)
    m = new_highs()
    m.setOptionValue("output_flag", False)
    m.addVars(share.size, np.zeros(share.size), np.ones(share.size))
    m.addVars(nb, np.full(nb, -highspy.kHighsInf), np.full(nb, highspy.kHighsInf))
    m.changeColsCost(nb, np.arange(share.size, share.size + nb, dtype=np.int32), np.ones(nb))
    m.addRows(one.shape[0], np.ones(one.shape[0]), np.ones(one.shape[0]), one.nnz,
              one.indptr[:-1].astype(np.int32), one.indices.astype(np.int32), one.data)
    y = arrays.col_lb[share].copy()  # a start: each job's first pair (its home site)
    for j in range(one.shape[0]):
        cols = one.indices[one.indptr[j]:one.indptr[j + 1]]
        y[cols] = 0.0
        y[cols[0]] = 1.0
    best, lower, rounds = np.inf, -np.inf, 0

    def run(blk):
        h, q, rows = blk
        rhs = W[q] * y[q]
        h.changeRowsBounds(rows.size, rows, rhs, rhs)
        h.run()
        sol = h.getSolution()
        return (h.getInfo().objective_function_value,
                np.asarray(sol.row_dual, np.float64)[rows])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        while rounds < max_rounds:
            rounds += 1
            outs = list(pool.map(run, blocks))
            upper = float(sum(v for v, _ in outs))
            best = min(best, upper)
            if best - lower <= rel_gap * max(1.0, abs(best)):
                break
            for b, ((v, dual), (_, q, _)) in enumerate(zip(outs, blocks)):
                g = dual * W[q]
                # theta_b - g . y_q >= v - g . y_q^k
                idx = np.r_[q, share.size + b].astype(np.int32)
                val = np.r_[-g, 1.0]
                m.addRow(v - float(g @ y[q]), highspy.kHighsInf, idx.size, idx, val)
            m.run()
            lower = m.getInfo().objective_function_value
            y = np.asarray(m.getSolution().col_value, np.float64)[:share.size]
            if best - lower <= rel_gap * max(1.0, abs(best)):
                break
    return {"objective": best + float(arrays.offset), "lower": lower + float(arrays.offset),
            "rounds": rounds, "blocks": nb, "seconds": time.perf_counter() - t0}
