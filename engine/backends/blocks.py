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
the one-model solve, whose diagnosis names the conflict. This module finds the blocks;
:func:`engine.backends.highs.solve_blocks` solves them.
"""
from __future__ import annotations

import numpy as np

from engine.model import ModelArrays

__all__ = ["MIN_SHARE", "blocks_of", "components", "sub_arrays", "sub_arrays_rows"]

#: Share of the columns a component must hold to count as a block of its own.
MIN_SHARE = 0.05


def blocks_of(arrays: ModelArrays, max_blocks: int) -> list[np.ndarray] | None:
    """Columns of each block (at most ``max_blocks``, the small components spread over
    them), or None when the model is one block."""
    A = arrays.A
    if A.shape[0] == 0 or A.shape[1] == 0:
        return None
    return components(A.to_scipy(), max_blocks)


def components(B, max_blocks: int) -> list[np.ndarray] | None:
    """:func:`blocks_of` on a SciPy sparse matrix ``B`` (columns of each block)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    m, n = B.shape
    if n == 0 or m == 0:
        return None
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


def sub_arrays(arrays: ModelArrays, A_csc, cols: np.ndarray) -> ModelArrays:
    """The block of ``cols`` (and the rows they appear in) as a model of its own."""
    return sub_arrays_rows(arrays, A_csc, cols)[0]


def sub_arrays_rows(arrays: ModelArrays, A_csc, cols: np.ndarray,
                    rows: np.ndarray | None = None) -> tuple[ModelArrays, np.ndarray]:
    """:func:`sub_arrays` and the indices of the rows it holds (in the whole model); given
    ``rows``, those rows only (the columns' entries in other rows are left out)."""
    from engine.model.linear import CSC

    sub = A_csc[:, cols]
    if rows is None:
        rows = np.unique(sub.indices)
    sub = sub[rows, :].tocsc()
    sub.sort_indices()
    return ModelArrays(
        cost=arrays.cost[cols], col_lb=arrays.col_lb[cols], col_ub=arrays.col_ub[cols],
        integrality=arrays.integrality[cols], row_lb=arrays.row_lb[rows],
        row_ub=arrays.row_ub[rows],
        A=CSC(sub.indptr.astype(np.int32), sub.indices.astype(np.int32),
              sub.data.astype(np.float64), sub.shape),
        offset=0.0), rows
