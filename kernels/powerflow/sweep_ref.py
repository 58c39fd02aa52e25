"""Reference backward/forward sweep: plain NumPy, one snapshot, readable loops.

Same method as the Cython kernel (:mod:`kernels.powerflow.sweep`); tests compare the two.
"""

from __future__ import annotations

import numpy as np

from kernels.powerflow.radial import Feeder


def sweep_ref(feeder: Feeder, s_bus: np.ndarray, v0: np.ndarray, tol: float = 1e-11,
              max_iter: int = 100) -> tuple[np.ndarray, int, bool]:
    """Solve one snapshot of a radial feeder.

    Parameters
    ----------
    feeder : Feeder
    s_bus : ndarray of complex, (nb,)
        Net injections [pu] (generation minus demand).
    v0 : ndarray of complex, (nb,)
        Start; ``v0[root]`` is the slack voltage [pu].
    tol : float
        Largest voltage change between sweeps accepted [pu].
    max_iter : int

    Returns
    -------
    v : ndarray of complex, (nb,)
    iterations : int
    converged : bool
    """
    v = v0.astype(np.complex128).copy()
    s_load = -s_bus
    children = feeder.order[1:]
    for it in range(1, max_iter + 1):
        cur = np.conj(s_load / v) + feeder.ysh * v
        for i in children[::-1]:  # leaves first
            cur[feeder.parent[i]] += cur[i]
        v_old = v.copy()
        for i in children:  # root first
            v[i] = v[feeder.parent[i]] - feeder.z[i] * cur[i]
        change = np.max(np.abs(v - v_old))
        if not np.isfinite(change):
            return v, it, False
        if change < tol:
            return v, it, True
    return v, max_iter, False
