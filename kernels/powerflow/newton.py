"""Batched Newton–Raphson AC power flow in polar form, compiled with Numba.

One network, T snapshots of bus injections. The Jacobian is assembled straight
into a fixed L+U pattern (:mod:`kernels.powerflow.symbolic`) and factorised in
place without pivoting, so no sparse structure is rebuilt per iteration. The T
snapshots are cut into one contiguous chunk per thread; inside a chunk each hour
starts from the previous hour's solution (warm start), chunks run in parallel.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from kernels.powerflow.case import PowerFlowCase
from kernels.powerflow.symbolic import NewtonPattern, newton_pattern
from kernels.powerflow.threads import available_cores, run_chunks

__all__ = ["NewtonSolver", "solve_batch", "warm_up"]


@nb.njit(cache=True, nogil=True)
def _lu_factor(diag, val, elim_l, elim_piv, elim_u, elim_ptr, elim_target):
    """In-place LU (L unit lower, U upper) by the precomputed elimination steps.

    Returns False on a zero or non-finite pivot.
    """
    for e in range(elim_l.shape[0]):
        p = elim_l[e]
        lik = val[p] / val[elim_piv[e]]
        val[p] = lik
        u = elim_u[e] - elim_ptr[e]
        for j in range(elim_ptr[e], elim_ptr[e + 1]):
            val[elim_target[j]] -= lik * val[u + j]
    for i in range(diag.shape[0]):
        piv = val[diag[i]]
        if piv == 0.0 or not np.isfinite(piv):
            return False
    return True


@nb.njit(cache=True, nogil=True)
def _lu_solve(indptr, indices, diag, val, x):
    """Solve (LU) x = b in place, ``x`` holding b on entry."""
    n = diag.shape[0]
    for i in range(n):
        s = x[i]
        for p in range(indptr[i], diag[i]):
            s -= val[p] * x[indices[p]]
        x[i] = s
    for i in range(n - 1, -1, -1):
        s = x[i]
        for p in range(diag[i] + 1, indptr[i + 1]):
            s -= val[p] * x[indices[p]]
        x[i] = s / val[diag[i]]


@nb.njit(cache=True, nogil=True, inline="always")
def _scatter(lu_val, slots, d_va, d_vm):
    """Add dP/dVa, dP/dVm, dQ/dVa, dQ/dVm (real and imaginary parts of ``d_va``, ``d_vm``)
    at their LU slots; a slot ``< 0`` is a derivative the reduced Jacobian does not hold."""
    if slots[0] >= 0:
        lu_val[slots[0]] += d_va.real
    if slots[1] >= 0:
        lu_val[slots[1]] += d_vm.real
    if slots[2] >= 0:
        lu_val[slots[2]] += d_va.imag
    if slots[3] >= 0:
        lu_val[slots[3]] += d_vm.imag


@nb.njit(cache=True, nogil=True)
def _solve_one(y_indptr, y_indices, y_data, s_bus, vm, va, var_va, var_vm,
               lu_indptr, lu_indices, lu_diag, pos, diag_pos,
               elim_l, elim_piv, elim_u, elim_ptr, elim_target, tol, max_iter,
               v, i_bus, f, lu_val):
    """Newton–Raphson for one snapshot; ``vm``/``va`` are the start and the answer.

    Returns (iterations, converged).
    """
    nbus = vm.shape[0]
    it = 0
    while True:
        for i in range(nbus):
            v[i] = vm[i] * complex(np.cos(va[i]), np.sin(va[i]))
        for i in range(nbus):
            acc = 0j
            for p in range(y_indptr[i], y_indptr[i + 1]):
                acc += y_data[p] * v[y_indices[p]]
            i_bus[i] = acc
        norm = 0.0
        for i in range(nbus):
            mis = v[i] * np.conj(i_bus[i]) - s_bus[i]
            if var_va[i] >= 0:
                f[var_va[i]] = mis.real
                a = abs(mis.real)
                if not a <= norm:  # also catches NaN
                    norm = a
            if var_vm[i] >= 0:
                f[var_vm[i]] = mis.imag
                a = abs(mis.imag)
                if not a <= norm:
                    norm = a
        if not np.isfinite(norm):
            return it, False
        if norm < tol:
            return it, True
        if it >= max_iter:
            return it, False
        lu_val[:] = 0.0
        for i in range(nbus):
            if var_va[i] < 0:
                continue  # slack bus: no equation
            vi = v[i]
            for p in range(y_indptr[i], y_indptr[i + 1]):
                k = y_indices[p]
                yv = y_data[p] * v[k]
                # dS_i/dVa_k = -j V_i conj(Y_ik V_k);  dS_i/dVm_k = V_i conj(Y_ik V_k) / |V_k|
                d_va = -1j * vi * np.conj(yv)
                d_vm = vi * np.conj(yv) / vm[k]
                _scatter(lu_val, pos[p], d_va, d_vm)
            # Diagonal terms from the bus current: j V_i conj(I_i) and conj(I_i) V_i/|V_i|.
            d_va = 1j * vi * np.conj(i_bus[i])
            d_vm = np.conj(i_bus[i]) * vi / vm[i]
            _scatter(lu_val, diag_pos[i], d_va, d_vm)
        if not _lu_factor(lu_diag, lu_val, elim_l, elim_piv, elim_u, elim_ptr, elim_target):
            return it, False
        _lu_solve(lu_indptr, lu_indices, lu_diag, lu_val, f)
        for i in range(nbus):
            if var_va[i] >= 0:
                va[i] -= f[var_va[i]]
            if var_vm[i] >= 0:
                vm[i] -= f[var_vm[i]]
        it += 1


@nb.njit(cache=True, nogil=True)
def _branch_losses(v, br_f, br_t, yff, yft, ytf, ytt):
    """Sum over branches of Re(Vf conj(If) + Vt conj(It)) [pu]."""
    out = 0.0
    for b in range(br_f.shape[0]):
        vf = v[br_f[b]]
        vt = v[br_t[b]]
        i_f = yff[b] * vf + yft[b] * vt
        i_t = ytf[b] * vf + ytt[b] * vt
        out += (vf * np.conj(i_f) + vt * np.conj(i_t)).real
    return out


@nb.njit(cache=True, nogil=True)
def solve_batch(y_indptr, y_indices, y_data, s_bus, vm0, va0, var_va, var_vm,
                lu_indptr, lu_indices, lu_diag, pos, diag_pos,
                elim_l, elim_piv, elim_u, elim_ptr, elim_target,
                br_f, br_t, yff, yft, ytf, ytt, tol, max_iter,
                vm_out, va_out, losses_out, iterations, converged):
    """Solve T snapshots in order, each warm-started from the previous one.

    Releases the GIL: :class:`NewtonSolver` runs contiguous chunks of hours on
    threads. (Threads rather than ``prange``: a ``parallel=True`` function takes
    several times longer to compile, which every fresh cache pays.)

    Parameters
    ----------
    y_indptr, y_indices, y_data : ndarray
        Ybus in CSR [pu].
    s_bus : ndarray of complex, (T, nb)
        Net injections per snapshot [pu].
    vm0, va0 : ndarray of float, (nb,)
        Start for the first hour of every chunk [pu, rad].
    var_va ... elim_target : ndarray
        From :class:`~kernels.powerflow.symbolic.NewtonPattern`.
    br_f, br_t, yff, yft, ytf, ytt : ndarray
        End buses and the four admittances of each in-service branch [pu], for losses.
    tol : float
        Largest P/Q mismatch accepted [pu].
    max_iter : int
        Newton updates allowed per snapshot.
    vm_out, va_out : ndarray of float, (T, nb)
        Filled with the answer [pu, rad].
    losses_out : ndarray of float, (T,)
        Filled with branch losses [pu].
    iterations : ndarray of int64, (T,)
    converged : ndarray of bool, (T,)
    """
    n_t, nbus = s_bus.shape
    v = np.empty(nbus, dtype=np.complex128)
    i_bus = np.empty(nbus, dtype=np.complex128)
    f = np.empty(lu_diag.shape[0])
    lu_val = np.empty(lu_indices.shape[0])
    vm = vm0.copy()
    va = va0.copy()
    for t in range(n_t):
        it, ok = _solve_one(y_indptr, y_indices, y_data, s_bus[t], vm, va, var_va, var_vm,
                            lu_indptr, lu_indices, lu_diag, pos, diag_pos,
                            elim_l, elim_piv, elim_u, elim_ptr, elim_target, tol, max_iter,
                            v, i_bus, f, lu_val)
        vm_out[t] = vm
        va_out[t] = va
        # v holds the voltages of the last mismatch evaluation, i.e. of (vm, va).
        losses_out[t] = _branch_losses(v, br_f, br_t, yff, yft, ytf, ytt)
        iterations[t] = it
        converged[t] = ok
        if not ok:
            # Do not warm-start the next hour from a failed one.
            vm[:] = vm0
            va[:] = va0


class NewtonSolver:
    """Newton–Raphson for one network and any number of injection snapshots.

    The symbolic work (ordering, fill, elimination steps, scatter map) is done once
    here and reused by every iteration of every snapshot.

    Parameters
    ----------
    case : PowerFlowCase
    tol : float
        Convergence when the largest P/Q mismatch is below this [pu].
    max_iter : int
        Newton updates allowed per snapshot.
    """

    def __init__(self, case: PowerFlowCase, tol: float = 1e-10, max_iter: int = 20) -> None:
        self.case = case
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.pattern: NewtonPattern = newton_pattern(case)
        y = case.adm.ybus
        self._y = (y.indptr.astype(np.int64), y.indices.astype(np.int64),
                   y.data.astype(np.complex128))
        adm = case.adm
        rows = np.arange(len(adm.f))
        # Per-branch admittances read back from Yf/Yt (entries (b, f_b) and (b, t_b)).
        self._branches = (adm.f.astype(np.int64), adm.t.astype(np.int64),
                          np.asarray(adm.yf[rows, adm.f]).ravel().astype(np.complex128),
                          np.asarray(adm.yf[rows, adm.t]).ravel().astype(np.complex128),
                          np.asarray(adm.yt[rows, adm.f]).ravel().astype(np.complex128),
                          np.asarray(adm.yt[rows, adm.t]).ravel().astype(np.complex128))

    def solve_polar(self, s_bus: np.ndarray, v0: np.ndarray | None = None,
                    n_threads: int | None = None,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Solve every row of ``s_bus``, the fast path.

        Parameters
        ----------
        s_bus : ndarray of complex, (T, nb)
            Net injections [pu].
        v0 : ndarray of complex, (nb,), optional
            Start of the first hour of each chunk [pu]; the case's by default.
        n_threads : int, optional
            Contiguous chunks of hours run on threads (the kernel releases the GIL);
            one per available core by default. 1 gives a single warm-started pass.

        Returns
        -------
        vm : ndarray (T, nb)
            Voltage magnitudes [pu].
        va : ndarray (T, nb)
            Voltage angles [rad].
        losses : ndarray (T,)
            Branch losses [pu].
        iterations : ndarray of int64 (T,)
        converged : ndarray of bool (T,)
        """
        s = np.ascontiguousarray(s_bus, dtype=np.complex128)
        n_t, nbus = s.shape
        v0 = self.case.v0 if v0 is None else v0
        if n_threads is None:
            n_threads = available_cores()
        n_threads = max(1, min(int(n_threads), n_t))
        vm = np.empty((n_t, nbus))
        va = np.empty((n_t, nbus))
        losses = np.empty(n_t)
        iters = np.zeros(n_t, dtype=np.int64)
        conv = np.zeros(n_t, dtype=np.bool_)
        p = self.pattern
        vm0, va0 = np.abs(v0), np.angle(v0)

        def run(a: int, b: int) -> None:
            solve_batch(*self._y, s[a:b], vm0, va0, p.var_va, p.var_vm,
                        p.lu_indptr, p.lu_indices, p.lu_diag, p.pos, p.diag_pos,
                        p.elim_l, p.elim_piv, p.elim_u, p.elim_ptr, p.elim_target,
                        *self._branches, self.tol, self.max_iter,
                        vm[a:b], va[a:b], losses[a:b], iters[a:b], conv[a:b])

        run_chunks(run, n_t, n_threads)
        return vm, va, losses, iters, conv

    def solve(self, s_bus: np.ndarray, v0: np.ndarray | None = None,
              n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve every row of ``s_bus`` ((T, nb) or (nb,), complex [pu]).

        Returns
        -------
        v : ndarray of complex, (T, nb) (or (nb,) for 1-D input)
            Voltages [pu].
        iterations : ndarray of int64, (T,)
        converged : ndarray of bool, (T,)
        """
        vm, va, _, iters, conv = self.solve_polar(np.atleast_2d(s_bus), v0, n_threads)
        v = vm * np.exp(1j * va)
        if np.ndim(s_bus) == 1:
            return v[0], iters, conv
        return v, iters, conv


def warm_up() -> float:
    """Compile (or load from Numba's cache) the Newton kernels on a two-bus network.

    Call once at service start so the first real request does not pay the compile
    (several seconds with a cold cache, under a second with a warm one).

    Returns
    -------
    float
        Seconds it took.
    """
    import time

    from kernels.powerflow.case import make_case

    t0 = time.perf_counter()
    bus = np.array([[1, 3, 0, 0, 0, 0, 1, 1, 0, 10, 1, 1.1, 0.9],
                    [2, 1, 1, 0.5, 0, 0, 1, 1, 0, 10, 1, 1.1, 0.9]], dtype=np.float64)
    gen = np.array([[1, 0, 0, 10, -10, 1, 10, 1, 10, 0]], dtype=np.float64)
    branch = np.array([[1, 2, 0.01, 0.05, 0, 0, 0, 0, 0, 0, 1]], dtype=np.float64)
    case = make_case(10.0, bus, gen, branch)
    NewtonSolver(case).solve_polar(case.s_bus()[None, :], n_threads=1)
    return time.perf_counter() - t0
