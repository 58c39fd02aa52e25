# cython: language_level=3
"""Backward/forward sweep power flow for radial feeders (Cython, GIL released).

A radial feeder is a tree rooted at the slack bus. Each iteration computes the
current every bus draws at its present voltage (constant-power load plus shunt),
sums currents from the leaves up to the root (backward), then walks from the
root down updating each bus voltage as its parent's minus the branch drop
(forward). Converges when no voltage moves by more than ``tol``.

The tree order is found once per network by :func:`radial_order`, which raises
:class:`~kernels.powerflow.errors.NotRadialError` for meshed or disconnected
networks; :func:`sweep_batch` then solves T snapshots warm-started hour to hour.
"""

import numpy as np

from kernels.powerflow.errors import NotRadialError

cdef extern from "complex.h" nogil:
    double creal(double complex)
    double cimag(double complex)
    double complex conj(double complex)


def radial_order(Py_ssize_t n_bus, const long long[::1] f, const long long[::1] t,
                 Py_ssize_t root):
    """Breadth-first order of a tree from ``root``, with each bus's parent and parent branch.

    Parameters
    ----------
    n_bus : int
        Number of buses.
    f, t : ndarray of int64
        0-based end buses of the in-service branches.
    root : int
        0-based slack bus.

    Returns
    -------
    order, parent, parent_branch : ndarray of int64, (n_bus,)
        ``order[0] == root``; ``parent[root] == parent_branch[root] == -1``.

    Raises
    ------
    NotRadialError
        If the branches contain a loop (including parallel branches) or leave a bus
        unreached from the root.
    """
    cdef Py_ssize_t nl = f.shape[0], k, i, j, a, b, head = 0, tail = 1, other
    if nl != n_bus - 1:
        raise NotRadialError(
            f"network is not radial: a tree of {n_bus} buses has {n_bus - 1} in-service "
            f"branches, this one has {nl}; use Newton-Raphson (method='nr') for meshed networks")
    deg_np = np.zeros(n_bus + 1, dtype=np.int64)
    cdef long long[::1] ptr = deg_np
    for k in range(nl):
        ptr[f[k] + 1] += 1
        ptr[t[k] + 1] += 1
    for i in range(n_bus):
        ptr[i + 1] += ptr[i]
    fill_np = np.zeros(n_bus, dtype=np.int64)
    adj_np = np.empty(2 * nl, dtype=np.int64)
    cdef long long[::1] fill = fill_np, adj = adj_np
    for k in range(nl):
        a = f[k]
        b = t[k]
        adj[ptr[a] + fill[a]] = k
        fill[a] += 1
        adj[ptr[b] + fill[b]] = k
        fill[b] += 1
    order_np = np.full(n_bus, -1, dtype=np.int64)
    parent_np = np.full(n_bus, -1, dtype=np.int64)
    pbranch_np = np.full(n_bus, -1, dtype=np.int64)
    seen_np = np.zeros(n_bus, dtype=np.uint8)
    cdef long long[::1] order = order_np, parent = parent_np, pbranch = pbranch_np
    cdef unsigned char[::1] seen = seen_np
    order[0] = root
    seen[root] = 1
    while head < tail:
        i = order[head]
        head += 1
        for j in range(ptr[i], ptr[i + 1]):
            k = adj[j]
            if k == pbranch[i]:
                continue
            other = t[k] if f[k] == i else f[k]
            if seen[other]:
                raise NotRadialError(
                    f"network is not radial: branch {k} (bus index {f[k]} -> {t[k]}) closes a "
                    "loop; use Newton-Raphson (method='nr') for meshed networks")
            seen[other] = 1
            parent[other] = i
            pbranch[other] = k
            order[tail] = other
            tail += 1
    if tail != n_bus:
        missing = int(np.flatnonzero(seen_np == 0)[0])
        raise NotRadialError(f"network is not radial: bus index {missing} is not connected to "
                             "the slack bus")
    return order_np, parent_np, pbranch_np


cdef int _sweep_one(const long long[::1] order, const long long[::1] parent,
                    const double complex[::1] z, const double complex[::1] ysh,
                    const double complex[::1] s_load, double complex[::1] v,
                    double complex[::1] cur, double tol, int max_iter,
                    int *iterations) noexcept nogil:
    """Solve one snapshot in place on ``v``; returns 1 when converged."""
    cdef Py_ssize_t n = order.shape[0], k, i
    cdef int it = 0
    cdef double dmax, d, re, im
    cdef double complex vnew
    while it < max_iter:
        for i in range(n):
            # Current drawn at bus i: conj(S/V) for the load, y*V for the shunt.
            cur[i] = conj(s_load[i] / v[i]) + ysh[i] * v[i]
        for k in range(n - 1, 0, -1):
            i = order[k]
            cur[parent[i]] = cur[parent[i]] + cur[i]
        dmax = 0.0
        for k in range(1, n):
            i = order[k]
            vnew = v[parent[i]] - z[i] * cur[i]
            re = creal(vnew) - creal(v[i])
            im = cimag(vnew) - cimag(v[i])
            d = re * re + im * im
            if not d <= dmax:  # NaN propagates as "not converged"
                dmax = d
            v[i] = vnew
        it += 1
        if dmax < tol * tol:
            iterations[0] = it
            return 1
    iterations[0] = it
    return 0


def sweep_batch(const long long[::1] order, const long long[::1] parent,
                const double complex[::1] z, const double complex[::1] ysh,
                const double complex[:, ::1] s_load, const double complex[::1] v0,
                double tol, int max_iter, double complex[:, ::1] v_out,
                long long[::1] iterations, unsigned char[::1] converged):
    """Solve T snapshots of a radial feeder, each warm-started from the previous one.

    Releases the GIL for the whole loop, so callers may run chunks of hours on threads.

    Parameters
    ----------
    order, parent : ndarray of int64, (nb,)
        From :func:`radial_order`.
    z : ndarray of complex, (nb,)
        Series impedance of the branch from each bus's parent [pu] (root: unused).
    ysh : ndarray of complex, (nb,)
        Shunt admittance at each bus, half line charging included [pu].
    s_load : ndarray of complex, (T, nb)
        Net demand (load minus generation) per bus [pu].
    v0 : ndarray of complex, (nb,)
        Start of the first snapshot; ``v0[root]`` is the slack voltage [pu].
    tol : float
        Largest voltage change between iterations accepted [pu].
    max_iter : int
        Sweeps allowed per snapshot.
    v_out : ndarray of complex, (T, nb)
        Filled with voltages [pu].
    iterations : ndarray of int64, (T,)
    converged : ndarray of uint8, (T,)
    """
    cdef Py_ssize_t n_t = s_load.shape[0], n = order.shape[0], t, i
    if s_load.shape[1] != n or v_out.shape[0] != n_t or v_out.shape[1] != n:
        raise ValueError("sweep_batch: s_load and v_out must be (T, n_bus)")
    v_np = np.empty(n, dtype=np.complex128)
    cur_np = np.empty(n, dtype=np.complex128)
    cdef double complex[::1] v = v_np, cur = cur_np
    cdef int it = 0, ok
    with nogil:
        for i in range(n):
            v[i] = v0[i]
        for t in range(n_t):
            ok = _sweep_one(order, parent, z, ysh, s_load[t], v, cur, tol, max_iter, &it)
            for i in range(n):
                v_out[t, i] = v[i]
            iterations[t] = it
            converged[t] = ok
            if not ok:
                # Do not warm-start the next hour from a failed one.
                for i in range(n):
                    v[i] = v0[i]
