"""Parts of an LP that nothing couples, solved as separate HiGHS models in threads.

The blocks are the connected components of the constraint matrix's bipartite graph (rows
and columns; a column links the rows it appears in): no row holds columns of two blocks, so
``min c x`` splits into one LP per block, and the optimum is the sum of theirs with the
solutions side by side. One HiGHS simplex solve of a matrix holding several independent
sites grows superlinearly with their number (NOTES.md); highspy's ``run()`` releases the
GIL, so the blocks solve in parallel threads.

Only LPs are split (a MILP's gap and time limit do not add up across blocks), and only when
at least two blocks each hold :data:`MIN_SHARE` of the columns (several sites): a model
whose small components are its hours (a site without storage) is solved whole, so that
nothing changes for one site. Any block that is not optimal sends the whole model back to
the one-model solve, whose diagnosis names the conflict.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.backends.base import SolveOutput, SolverOptions
from engine.model import ModelArrays
from engine.status import Status

__all__ = ["MIN_SHARE", "blocks_of", "solve_blocks"]

#: Share of the columns a component must hold to count as a block of its own.
MIN_SHARE = 0.05


def blocks_of(arrays: ModelArrays, max_blocks: int) -> list[np.ndarray] | None:
    """Columns of each block (at most ``max_blocks``, the small components spread over
    them), or None when the model is one block."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    A = arrays.A
    m, n = A.shape
    if n == 0 or m == 0:
        return None
    B = A.to_scipy()
    graph = sp.bmat([[None, B], [B.T, None]], format="csr")
    k, label = connected_components(graph, directed=False)
    if k < 2:
        return None
    col_label = label[m:]
    sizes = np.bincount(col_label, minlength=k)
    big = np.flatnonzero(sizes >= MIN_SHARE * n)
    if big.size < 2:
        return None
    n_bins = min(max_blocks, big.size)
    # largest first into the bin with the fewest columns (greedy balance)
    order = np.argsort(-sizes, kind="stable")
    load = np.zeros(n_bins)
    bin_of = np.empty(k, np.int64)
    for c in order:
        b = int(np.argmin(load))
        bin_of[c] = b
        load[b] += sizes[c]
    col_bin = bin_of[col_label]
    return [np.flatnonzero(col_bin == b) for b in range(n_bins)]


def _sub(arrays: ModelArrays, A_csc, cols: np.ndarray) -> ModelArrays:
    from engine.model.linear import CSC

    sub = A_csc[:, cols]
    rows = np.unique(sub.indices)
    sub = sub[rows, :].tocsc()
    sub.sort_indices()
    return ModelArrays(
        cost=arrays.cost[cols], col_lb=arrays.col_lb[cols], col_ub=arrays.col_ub[cols],
        integrality=arrays.integrality[cols], row_lb=arrays.row_lb[rows],
        row_ub=arrays.row_ub[rows],
        A=CSC(sub.indptr.astype(np.int32), sub.indices.astype(np.int32),
              sub.data.astype(np.float64), sub.shape),
        offset=0.0)


def solve_blocks(arrays: ModelArrays, options: SolverOptions) -> SolveOutput | None:
    """Solve an LP block by block in threads; None when it is one block, a MILP, or some
    block is not optimal (the caller then solves the whole model)."""
    if arrays.is_mip:
        return None
    t0 = time.perf_counter()
    workers = int(options.threads or os.cpu_count() or 1)
    parts = blocks_of(arrays, max(workers, 2))
    if parts is None:
        return None
    from engine.backends.highs import read_outcome, run_definite, to_highs

    A = arrays.A.to_scipy()
    subs = [_sub(arrays, A, cols) for cols in parts]
    highs = [to_highs(s, options) for s in subs]
    t1 = time.perf_counter()

    def run(h):
        run_definite(h)
        return read_outcome(h, False, {})

    with ThreadPoolExecutor(max_workers=min(workers, len(highs))) as pool:
        outs = list(pool.map(run, highs))
    t2 = time.perf_counter()
    if any(o.status != Status.OPTIMAL or o.x is None for o in outs):
        return None
    x = np.empty(arrays.A.shape[1])
    for cols, o in zip(parts, outs):
        x[cols] = o.x
    return SolveOutput(
        status=Status.OPTIMAL, x=x,
        objective=float(sum(o.objective for o in outs)) + float(arrays.offset), mip_gap=0.0,
        solver_status=outs[0].solver_status,
        iterations=int(sum(o.iterations for o in outs)),
        timings={"handover_s": t1 - t0, "run_s": t2 - t1, "blocks": float(len(parts))},
        diagnosis="")
