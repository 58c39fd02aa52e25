"""Reference Newton–Raphson AC power flow: plain NumPy/SciPy, one snapshot at a time.

Slow but obvious; the compiled kernel in :mod:`kernels.powerflow.newton` is tested against it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from kernels.powerflow.case import PowerFlowCase


def _ds_dv(ybus: sp.csr_matrix, v: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Partial derivatives of bus injections ``S = V conj(Ybus V)`` w.r.t. angle and magnitude.

    dS/dVa = j diag(V) conj(diag(I) - Ybus diag(V)),
    dS/dVm = diag(V) conj(Ybus diag(V/|V|)) + conj(diag(I)) diag(V/|V|).
    """
    i_bus = ybus @ v
    dv = sp.diags(v)
    dvn = sp.diags(v / np.abs(v))
    di = sp.diags(i_bus)
    ds_dva = 1j * dv @ np.conj(di - ybus @ dv)
    ds_dvm = dv @ np.conj(ybus @ dvn) + np.conj(di) @ dvn
    return sp.csr_matrix(ds_dva), sp.csr_matrix(ds_dvm)


def newton_ref(case: PowerFlowCase, s_bus: np.ndarray | None = None,
               v0: np.ndarray | None = None, tol: float = 1e-10,
               max_iter: int = 20) -> tuple[np.ndarray, int, bool]:
    """Solve one snapshot by Newton–Raphson in polar coordinates.

    Parameters
    ----------
    case : PowerFlowCase
    s_bus : ndarray of complex, (nb,), optional
        Net injections [pu]; the case's own by default.
    v0 : ndarray of complex, (nb,), optional
        Start [pu]; the case's by default.
    tol : float
        Convergence when the largest P/Q mismatch is below this [pu].
    max_iter : int
        Newton updates allowed.

    Returns
    -------
    v : ndarray of complex (nb,)
        Voltages [pu].
    iterations : int
        Newton updates done.
    converged : bool
    """
    ybus = case.adm.ybus
    s_bus = case.s_bus() if s_bus is None else s_bus
    v = (case.v0 if v0 is None else v0).copy()
    vm, va = np.abs(v), np.angle(v)
    pvpq = np.concatenate([case.pv, case.pq])
    pq = case.pq
    npvpq = len(pvpq)
    it = 0
    while True:
        mis = v * np.conj(ybus @ v) - s_bus
        f = np.concatenate([mis.real[pvpq], mis.imag[pq]])
        if not np.all(np.isfinite(f)):
            return v, it, False
        if np.max(np.abs(f), initial=0.0) < tol:
            return v, it, True
        if it >= max_iter:
            return v, it, False
        ds_dva, ds_dvm = _ds_dv(ybus, v)
        jac = sp.bmat([
            [ds_dva[pvpq][:, pvpq].real, ds_dvm[pvpq][:, pq].real],
            [ds_dva[pq][:, pvpq].imag, ds_dvm[pq][:, pq].imag],
        ], format="csc")
        dx = spla.spsolve(jac, f)
        va[pvpq] -= dx[:npvpq]
        vm[pq] -= dx[npvpq:]
        v = vm * np.exp(1j * va)
        it += 1
