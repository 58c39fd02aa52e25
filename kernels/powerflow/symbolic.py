"""Symbolic work for the sparse Newton–Raphson kernel, done once per network.

The Jacobian of the polar power-flow equations has the sparsity of Ybus in 2×2
bus blocks (P and Q rows, angle and magnitude columns). We order the buses by
minimum degree, keep each bus's unknowns together, and compute the fill of an
LU factorisation without pivoting on the bus graph. The result is a fixed CSR
pattern for L+U and, for every Ybus entry, where its four Jacobian terms land.
Every Newton iteration of every snapshot then refills the same arrays.

Static pivoting (diagonal pivots) is what makes the pattern reusable; the
power-flow Jacobian's diagonal blocks dP_i/dVa_i and dQ_i/dVm_i dominate in
practice. A zero or non-finite pivot stops the snapshot and reports it
as not converged rather than returning a wrong answer.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from kernels.powerflow.case import PowerFlowCase


@dataclass(frozen=True)
class NewtonPattern:
    """Fixed sparsity data for :func:`kernels.powerflow.newton.solve_batch`.

    Attributes
    ----------
    n_var : int
        Number of unknowns (angles of PV and PQ buses, magnitudes of PQ buses).
    var_va, var_vm : ndarray of int64, (nb,)
        Unknown index of each bus's angle and magnitude, -1 if not an unknown.
    lu_indptr, lu_indices : ndarray of int64
        CSR pattern of L+U (sorted columns) in unknown order.
    lu_diag : ndarray of int64, (n_var,)
        Position of each diagonal entry in ``lu_indices``.
    pos : ndarray of int64, (nnz(Ybus), 4)
        For Ybus entry ``p`` = (i, k): position of (P_i, Va_k), (P_i, Vm_k),
        (Q_i, Va_k), (Q_i, Vm_k) in the L+U values, or -1.
    diag_pos : ndarray of int64, (nb, 4)
        The same four positions for (i, i), for the terms that involve the bus current.
    elim_l, elim_piv, elim_u : ndarray of int64, (n_elim,)
        The elimination steps of the LU factorisation, in order: step e divides the
        L entry at ``elim_l[e]`` by the pivot at ``elim_piv[e]`` and subtracts it times
        the U row starting at ``elim_u[e]`` from the positions in
        ``elim_target[elim_ptr[e]:elim_ptr[e + 1]]``.
    elim_ptr, elim_target : ndarray of int64
        See above. Precomputing these replaces the column look-ups of a general
        sparse LU by straight indexed loops.
    """

    n_var: int
    var_va: np.ndarray
    var_vm: np.ndarray
    lu_indptr: np.ndarray
    lu_indices: np.ndarray
    lu_diag: np.ndarray
    pos: np.ndarray
    diag_pos: np.ndarray
    elim_l: np.ndarray
    elim_piv: np.ndarray
    elim_u: np.ndarray
    elim_ptr: np.ndarray
    elim_target: np.ndarray


def minimum_degree(nodes: np.ndarray, adj: list[set[int]]) -> tuple[list[int], dict[int, set[int]]]:
    """Minimum-degree elimination order of ``nodes`` and each node's later neighbours.

    Parameters
    ----------
    nodes : ndarray of int
        Graph nodes to order.
    adj : list of set
        Neighbours of every node (only those in ``nodes`` count); consumed.

    Returns
    -------
    order : list of int
    upper : dict
        For each node, its neighbours in the elimination graph when it is
        eliminated, i.e. the fill-in pattern of its row of U.
    """
    alive = {int(n) for n in nodes}
    g = {n: adj[n] & alive for n in alive}
    heap = [(len(g[n]), n) for n in alive]
    heapq.heapify(heap)
    order: list[int] = []
    upper: dict[int, set[int]] = {}
    while heap:
        d, n = heapq.heappop(heap)
        if n not in g or d != len(g[n]):
            continue  # stale heap entry
        nbrs = g.pop(n)
        order.append(n)
        upper[n] = nbrs
        for a in nbrs:
            # Eliminating n connects its neighbours pairwise (the fill-in).
            g[a].discard(n)
            g[a] |= nbrs - {a}
            heapq.heappush(heap, (len(g[a]), a))
    return order, upper


def newton_pattern(case: PowerFlowCase) -> NewtonPattern:
    """Build the :class:`NewtonPattern` of a case (minimum degree order, LU fill, scatter map)."""
    ybus = case.adm.ybus
    nb = case.n_bus
    indptr, indices = ybus.indptr, ybus.indices
    adj: list[set[int]] = [set() for _ in range(nb)]
    for i in range(nb):
        for k in indices[indptr[i]:indptr[i + 1]]:
            if k != i:
                adj[i].add(int(k))
    is_pq = np.zeros(nb, dtype=bool)
    is_pq[case.pq] = True
    nonslack = np.sort(np.concatenate([case.pv, case.pq]))
    order, upper = minimum_degree(nonslack, adj)

    var_va = np.full(nb, -1, dtype=np.int64)
    var_vm = np.full(nb, -1, dtype=np.int64)
    n_var = 0
    for b in order:
        var_va[b] = n_var
        n_var += 1
        if is_pq[b]:
            var_vm[b] = n_var
            n_var += 1

    # Filled bus graph is symmetric: row b holds b, its later neighbours and
    # every earlier bus that had b as a later neighbour.
    filled = {b: {b} | upper[b] for b in order}
    for b in order:
        for a in upper[b]:
            filled[a].add(b)
    rows: list[list[int]] = [[] for _ in range(n_var)]
    for b in order:
        cols = []
        for a in filled[b]:
            cols.append(var_va[a])
            if var_vm[a] >= 0:
                cols.append(var_vm[a])
        cols.sort()
        rows[var_va[b]] = cols
        if var_vm[b] >= 0:
            rows[var_vm[b]] = cols
    lu_indptr = np.zeros(n_var + 1, dtype=np.int64)
    lu_indptr[1:] = np.cumsum([len(r) for r in rows])
    lu_indices = np.array([c for r in rows for c in r], dtype=np.int64)
    lu_diag = np.empty(n_var, dtype=np.int64)
    where: list[dict[int, int]] = []
    for r in range(n_var):
        d = {int(c): int(lu_indptr[r] + j) for j, c in enumerate(rows[r])}
        where.append(d)
        lu_diag[r] = d[r]

    def at(r: int, c: int) -> int:
        return -1 if r < 0 or c < 0 else where[r][c]

    pos = np.full((len(indices), 4), -1, dtype=np.int64)
    for i in range(nb):
        for p in range(indptr[i], indptr[i + 1]):
            k = indices[p]
            pos[p] = (at(var_va[i], var_va[k]), at(var_va[i], var_vm[k]),
                      at(var_vm[i], var_va[k]), at(var_vm[i], var_vm[k]))
    diag_pos = np.full((nb, 4), -1, dtype=np.int64)
    for i in range(nb):
        diag_pos[i] = (at(var_va[i], var_va[i]), at(var_va[i], var_vm[i]),
                       at(var_vm[i], var_va[i]), at(var_vm[i], var_vm[i]))
    # Row-by-row (IKJ) elimination on the filled pattern, recorded once.
    elim_l: list[int] = []
    elim_piv: list[int] = []
    elim_u: list[int] = []
    elim_ptr: list[int] = [0]
    elim_target: list[int] = []
    for i in range(n_var):
        for p in range(lu_indptr[i], lu_diag[i]):
            k = int(lu_indices[p])
            elim_l.append(p)
            elim_piv.append(lu_diag[k])
            elim_u.append(lu_diag[k] + 1)
            elim_target.extend(where[i][int(c)]
                               for c in lu_indices[lu_diag[k] + 1:lu_indptr[k + 1]])
            elim_ptr.append(len(elim_target))
    as64 = lambda x: np.asarray(x, dtype=np.int64)
    return NewtonPattern(n_var=n_var, var_va=var_va, var_vm=var_vm, lu_indptr=lu_indptr,
                         lu_indices=lu_indices, lu_diag=lu_diag, pos=pos, diag_pos=diag_pos,
                         elim_l=as64(elim_l), elim_piv=as64(elim_piv), elim_u=as64(elim_u),
                         elim_ptr=as64(elim_ptr), elim_target=as64(elim_target))
