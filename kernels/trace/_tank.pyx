# cython: language_level=3
"""Cython kernel of the storage mixing-tank traceability recursion (see reference.py)."""
import numpy as np

cdef double EPS = 1e-12


def trace_mix(const double[:, ::1] direct, const double[:, ::1] dis, const double[:, ::1] ch,
              const double[::1] soc0, const double[::1] eta_c, const double[::1] eta_d,
              const double[::1] sigma, const double[:, ::1] init_comp):
    """Pool mix ``(T, K)`` and battery compositions ``(T, B, K)``; releases the GIL.

    :func:`trace_consumers` with no consumer (one recursion, written once)."""
    none = np.zeros((direct.shape[0], 0))
    mix, comps, _, _ = trace_consumers(direct, dis, ch, soc0, eta_c, eta_d, sigma, init_comp,
                                       none)
    return mix, comps


def trace_consumers(const double[:, ::1] direct, const double[:, ::1] dis,
                    const double[:, ::1] ch, const double[::1] soc0, const double[::1] eta_c,
                    const double[::1] eta_d, const double[::1] sigma,
                    const double[:, ::1] init_comp, const double[:, ::1] cons):
    """:func:`trace_mix` plus each consumer's energy by source ``(T, N, K)`` and the part of
    it the batteries discharged ``(T, N, K)`` (see reference.py); releases the GIL."""
    cdef Py_ssize_t T = direct.shape[0], K = direct.shape[1], B = soc0.shape[0]
    cdef Py_ssize_t N = cons.shape[1]
    cdef Py_ssize_t t, k, b, n
    mix_arr = np.zeros((T, K))
    comps_arr = np.zeros((T, B, K))
    by_arr = np.zeros((T, N, K))
    via_arr = np.zeros((T, N, K))
    comp_arr = np.array(init_comp, dtype=np.float64, copy=True).reshape(B, K)
    soc_arr = np.array(soc0, dtype=np.float64, copy=True)
    e_arr = np.zeros(K)
    bat_arr = np.zeros(K)
    cdef double[:, ::1] mix = mix_arr
    cdef double[:, :, ::1] comps = comps_arr
    cdef double[:, :, ::1] by = by_arr
    cdef double[:, :, ::1] via = via_arr
    cdef double[:, ::1] comp = comp_arr
    cdef double[::1] soc = soc_arr
    cdef double[::1] e = e_arr
    cdef double[::1] bat = bat_arr
    cdef double tot, remain, add, total, v, share
    with nogil:
        for t in range(T):
            tot = 0.0
            for k in range(K):
                v = 0.0
                for b in range(B):
                    v = v + dis[t, b] * comp[b, k]
                bat[k] = v
                mix[t, k] = direct[t, k] + v
                tot = tot + mix[t, k]
            if tot > EPS:
                for n in range(N):
                    share = cons[t, n] / tot
                    for k in range(K):
                        by[t, n, k] = mix[t, k] * share
                        via[t, n, k] = bat[k] * share
                for k in range(K):
                    mix[t, k] = mix[t, k] / tot
            else:
                for k in range(K):
                    mix[t, k] = 0.0
            for b in range(B):
                remain = (1.0 - sigma[b]) * soc[b] - dis[t, b] / eta_d[b]
                add = eta_c[b] * ch[t, b]
                total = 0.0
                for k in range(K):
                    v = comp[b, k] * remain + mix[t, k] * add
                    if v < 0.0:
                        v = 0.0
                    e[k] = v
                    total = total + v
                soc[b] = total
                if total > EPS:
                    for k in range(K):
                        comp[b, k] = e[k] / total
                for k in range(K):
                    comps[t, b, k] = comp[b, k]
    return mix_arr, comps_arr, by_arr, via_arr
