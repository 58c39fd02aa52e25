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

from libc.math cimport atan2, sqrt


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


cdef inline void _injections(const long long[::1] order, const double[::1] gsh,
                             const double[::1] bsh, const double[::1] pd,
                             const double[::1] qd, const double[::1] vr,
                             const double[::1] vi, double[::1] cr,
                             double[::1] ci) noexcept nogil:
    """Current drawn at each bus: conj(S/V) = (P - jQ)(vr + j vi)/|V|^2, plus (G + jB) V."""
    cdef Py_ssize_t k
    cdef double inv_m, p, q
    for k in range(order.shape[0]):
        p = pd[order[k]]
        q = qd[order[k]]
        inv_m = 1.0 / (vr[k] * vr[k] + vi[k] * vi[k])
        cr[k] = (p * vr[k] + q * vi[k]) * inv_m + gsh[k] * vr[k] - bsh[k] * vi[k]
        ci[k] = (p * vi[k] - q * vr[k]) * inv_m + gsh[k] * vi[k] + bsh[k] * vr[k]


cdef int _sweep_one(const long long[::1] order, const long long[::1] up,
                    const double[::1] zr, const double[::1] zi,
                    const double[::1] gsh, const double[::1] bsh,
                    const double[::1] pd, const double[::1] qd,
                    double[::1] vr, double[::1] vi, double[::1] cr, double[::1] ci,
                    double tol, int max_iter, int *iterations) noexcept nogil:
    """Solve one snapshot in place on (vr, vi); returns 1 when converged.

    State arrays are in tree order (position k holds bus ``order[k]``, ``up[k] < k``
    is the position of its parent), so the sweeps run over contiguous memory;
    only the demand is read through ``order``. Real arithmetic throughout: C99
    complex division carries inf/NaN special cases that cost more than the rest.
    """
    cdef Py_ssize_t n = order.shape[0], k, a
    cdef int it = 0
    cdef double dmax, d, nr, ni
    while it < max_iter:
        _injections(order, gsh, bsh, pd, qd, vr, vi, cr, ci)
        for k in range(n - 1, 0, -1):
            a = up[k]
            cr[a] += cr[k]
            ci[a] += ci[k]
        dmax = 0.0
        for k in range(1, n):
            a = up[k]
            nr = vr[a] - (zr[k] * cr[k] - zi[k] * ci[k])
            ni = vi[a] - (zr[k] * ci[k] + zi[k] * cr[k])
            d = (nr - vr[k]) * (nr - vr[k]) + (ni - vi[k]) * (ni - vi[k])
            if not d <= dmax:  # NaN propagates as "not converged"
                dmax = d
            vr[k] = nr
            vi[k] = ni
        it += 1
        if dmax < tol * tol:
            iterations[0] = it
            return 1
    iterations[0] = it
    return 0


cdef double _losses(const long long[::1] order, const long long[::1] up,
                    const double[::1] zr, const double[::1] gsh, const double[::1] bsh,
                    const double[::1] pd, const double[::1] qd,
                    const double[::1] vr, const double[::1] vi,
                    double[::1] cr, double[::1] ci) noexcept nogil:
    """Series losses sum(r |I|^2) with branch currents recomputed at the final voltages."""
    cdef Py_ssize_t n = order.shape[0], k, a
    cdef double out = 0.0
    _injections(order, gsh, bsh, pd, qd, vr, vi, cr, ci)
    for k in range(n - 1, 0, -1):
        a = up[k]
        cr[a] += cr[k]
        ci[a] += ci[k]
        out += zr[k] * (cr[k] * cr[k] + ci[k] * ci[k])
    return out


def sweep_batch(const long long[::1] order, const long long[::1] up,
                const double[::1] zr, const double[::1] zi,
                const double[::1] gsh, const double[::1] bsh,
                const double[:, ::1] p_demand, const double[:, ::1] q_demand,
                const double[::1] v0r, const double[::1] v0i,
                double tol, int max_iter, double[:, ::1] vm_out, double[:, ::1] va_out,
                double[::1] losses_out, long long[::1] iterations,
                unsigned char[::1] converged):
    """Solve T snapshots of a radial feeder, each warm-started from the previous one.

    Releases the GIL for the whole loop, so callers may run chunks of hours on threads.

    Parameters
    ----------
    order : ndarray of int64, (nb,)
        Tree order from :func:`radial_order`; position k holds bus ``order[k]``.
    up : ndarray of int64, (nb,)
        Tree position of the parent of position k (``up[k] < k``; ``up[0]`` unused).
    zr, zi : ndarray of float, (nb,)
        Series resistance and reactance of the branch feeding each position [pu].
    gsh, bsh : ndarray of float, (nb,)
        Shunt conductance and susceptance at each position, half line charging
        included [pu].
    p_demand, q_demand : ndarray of float, (T, nb)
        Net demand (load minus generation) per bus, in the case's bus order [pu].
    v0r, v0i : ndarray of float, (nb,)
        Start of the first snapshot, in tree order; position 0 is the slack [pu].
    tol : float
        Largest voltage change between sweeps accepted [pu].
    max_iter : int
        Sweeps allowed per snapshot.
    vm_out, va_out : ndarray of float, (T, nb)
        Filled with voltage magnitudes [pu] and angles [rad], in the case's bus order.
    losses_out : ndarray of float, (T,)
        Filled with series losses [pu].
    iterations : ndarray of int64, (T,)
    converged : ndarray of uint8, (T,)
    """
    cdef Py_ssize_t n_t = p_demand.shape[0], n = order.shape[0], t, i, b
    if (p_demand.shape[1] != n or q_demand.shape[0] != n_t or q_demand.shape[1] != n
            or vm_out.shape[0] != n_t or vm_out.shape[1] != n
            or va_out.shape[0] != n_t or va_out.shape[1] != n):
        raise ValueError("sweep_batch: demand and output arrays must all be (T, n_bus)")
    work = np.empty((4, n), dtype=np.float64)
    cdef double[::1] vr = work[0], vi = work[1], cr = work[2], ci = work[3]
    cdef int it = 0, ok
    with nogil:
        for i in range(n):
            vr[i] = v0r[i]
            vi[i] = v0i[i]
        for t in range(n_t):
            ok = _sweep_one(order, up, zr, zi, gsh, bsh, p_demand[t], q_demand[t],
                            vr, vi, cr, ci, tol, max_iter, &it)
            losses_out[t] = _losses(order, up, zr, gsh, bsh, p_demand[t], q_demand[t],
                                    vr, vi, cr, ci)
            for i in range(n):
                b = order[i]
                vm_out[t, b] = sqrt(vr[i] * vr[i] + vi[i] * vi[i])
                va_out[t, b] = atan2(vi[i], vr[i])
            iterations[t] = it
            converged[t] = ok
            if not ok:
                # Do not warm-start the next hour from a failed one.
                for i in range(n):
                    vr[i] = v0r[i]
                    vi[i] = v0i[i]
