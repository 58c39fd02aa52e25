"""AC power flow of a :class:`~engine.network.matpower.Network`: one snapshot or T of them.

``run_powerflow`` solves the case with its own loads; ``run_powerflow_timeseries`` solves
T snapshots of bus demand with the compiled kernels in :mod:`kernels.powerflow`
(Newton-Raphson, Numba; backward/forward sweep, Cython).

Every slack bus (``BUS_TYPE`` 3) holds its voltage magnitude and angle and supplies
whatever the network needs besides the scheduled generation; the results report each
slack's active and reactive generation (``slack_p_mw``, ``slack_q_mvar``: the net injection
``V conj(Ybus V)`` at the slack bus plus the bus's own demand). Where a site's grid
connection is a case with several slacks, its grid import is the sum of the slacks'
injections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.network.matpower import Method, Network, NetworkError
from kernels.powerflow import SweepSolver
from kernels.powerflow.threads import available_cores

__all__ = ["PowerFlowResult", "TimeSeriesPowerFlowResult", "run_powerflow",
           "run_powerflow_timeseries", "slack_injection"]


@dataclass(frozen=True)
class PowerFlowResult:
    """One power-flow solution.

    Attributes
    ----------
    converged : bool
    iterations : int
        Newton updates or sweeps done.
    vm_pu : ndarray (nb,)
        Voltage magnitudes [pu], in the case's bus order.
    va_deg : ndarray (nb,)
        Voltage angles [degree].
    losses_mw : float
        Active losses of all in-service branches [MW].
    method : str
        ``"nr"`` or ``"sweep"``.
    slack_bus : ndarray of int (n_slack,)
        External numbers of the slack buses.
    slack_p_mw, slack_q_mvar : ndarray (n_slack,)
        Active [MW] and reactive [MVAr] generation of each slack bus (injection into
        the network plus the bus's own demand).
    """

    converged: bool
    iterations: int
    vm_pu: np.ndarray
    va_deg: np.ndarray
    losses_mw: float
    method: str
    slack_bus: np.ndarray
    slack_p_mw: np.ndarray
    slack_q_mvar: np.ndarray


@dataclass(frozen=True)
class TimeSeriesPowerFlowResult:
    """T power-flow solutions of one network.

    Attributes
    ----------
    converged : ndarray of bool (T,)
    iterations : ndarray of int (T,)
    vm_pu, va_deg : ndarray (T, nb)
        Voltage magnitudes [pu] and angles [degree], columns in the case's bus order.
    losses_mw : ndarray (T,)
        Active branch losses per snapshot [MW].
    method : str
    slack_bus : ndarray of int (n_slack,)
        External numbers of the slack buses.
    slack_p_mw, slack_q_mvar : ndarray (T, n_slack)
        Active [MW] and reactive [MVAr] generation of each slack bus per snapshot.
        With several slacks their sum is what the network draws from the grid.
    """

    converged: np.ndarray
    iterations: np.ndarray
    vm_pu: np.ndarray
    va_deg: np.ndarray
    losses_mw: np.ndarray
    method: str
    slack_bus: np.ndarray
    slack_p_mw: np.ndarray
    slack_q_mvar: np.ndarray



def _check_method(method: str) -> None:
    if method not in ("auto", "nr", "sweep"):
        raise NetworkError(f"method: must be 'auto', 'nr' or 'sweep', got {method!r}")


def _solve(network: Network, method: Method, p_pu: np.ndarray, q_pu: np.ndarray,
           n_threads: int | None) -> tuple[str, tuple[np.ndarray, ...]]:
    """Run the chosen kernel on (T, nb) demand [pu]; returns the method used and
    (vm [pu], va [rad], losses [pu], iterations, converged)."""
    used, solver = network._solver(method)
    case = network._case()
    if isinstance(solver, SweepSolver):
        out = solver.solve_polar(p_pu - case.s_gen.real, q_pu - case.s_gen.imag,
                                 n_threads=n_threads or available_cores())
    else:
        out = solver.solve_polar(case.s_gen - (p_pu + 1j * q_pu), n_threads=n_threads)
    return used, out


def slack_injection(network: Network, vm_pu: np.ndarray, va_rad: np.ndarray,
                    p_mw: np.ndarray, q_mvar: np.ndarray,
                    method: str = "nr") -> tuple[np.ndarray, np.ndarray]:
    """Active [MW] and reactive [MVAr] generation of each slack bus, (T, n_slack).

    ``S_gen = V conj(Ybus V) + S_demand`` at each slack bus, from the solved voltages
    ``vm_pu``, ``va_rad`` (T, nb) and the demand ``p_mw``, ``q_mvar`` (T, nb) that was solved:
    all the generation at that bus. Only the Ybus rows of the slacks are used; after the
    sweep (``method="sweep"``, one slack at the root of a radial feeder) the root's row is
    built from the feeder's branch impedances and shunts, so that the sweep path never
    imports SciPy.
    """
    key = "slack_rows_sweep" if method == "sweep" else "slack_rows"
    if key not in network._solvers:
        network._solvers[key] = _slack_rows(network, method)
    ref, cols, y_ref = network._solvers[key]
    # only the columns the slack rows touch: no (T, nb) complex temporary
    v = vm_pu[:, cols] * np.exp(1j * va_rad[:, cols])
    v_ref = vm_pu[:, ref] * np.exp(1j * va_rad[:, ref])
    s = v_ref * np.conj(v @ y_ref.T) * network.base_mva
    return s.real + p_mw[:, ref], s.imag + q_mvar[:, ref]


def _slack_rows(network: Network, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(slack positions, bus columns, dense Ybus rows of the slacks on those columns)."""
    case = network._case()
    if method == "sweep":
        _, solver = network._solver("sweep")
        fd = solver.feeder
        root = int(fd.order[0])
        kids = fd.order[1:][fd.parent[fd.order[1:]] == root]
        y = 1.0 / fd.z[kids]
        cols = np.concatenate([[root], kids]).astype(np.int64)
        row = np.concatenate([[fd.ysh[root] + y.sum()], -y])[None, :]
        return np.array([root], dtype=np.int64), cols, row
    ref = case.ref.astype(np.int64)
    rows = case.adm.ybus[ref].toarray()  # (n_slack, nb)
    cols = np.flatnonzero(np.any(rows != 0, axis=0))  # the slacks and their neighbours
    return ref, cols, rows[:, cols]


def run_powerflow(network: Network, method: Method = "auto") -> PowerFlowResult:
    """Solve the AC power flow of ``network`` with its own loads.

    Parameters
    ----------
    network : Network
    method : {"auto", "nr", "sweep"}
        ``"sweep"``: backward/forward sweep (radial feeders without PV buses or
        off-nominal taps); ``"nr"``: Newton–Raphson (any network); ``"auto"``:
        the sweep where it applies, else Newton–Raphson.

    Returns
    -------
    PowerFlowResult
        ``converged`` is False, never an exception, when the solver fails to converge.
    """
    _check_method(method)
    s_load = network._case().s_load[None, :]
    used, (vm, va, losses, iters, conv) = _solve(network, method, s_load.real, s_load.imag, 1)
    base = network.base_mva
    sp, sq = slack_injection(network, vm, va, s_load.real * base, s_load.imag * base, used)
    return PowerFlowResult(converged=bool(conv[0]), iterations=int(iters[0]), vm_pu=vm[0],
                           va_deg=np.rad2deg(va[0]), losses_mw=float(losses[0]) * base,
                           method=used, slack_bus=network.slack_bus_numbers,
                           slack_p_mw=sp[0], slack_q_mvar=sq[0])


def _check_loads(name: str, a: Any, n_bus: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != n_bus or a.shape[0] == 0:
        raise NetworkError(f"{name}: expected shape (T, {n_bus}) with T >= 1 (one column per "
                           f"bus), got {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        t, b = np.argwhere(bad)[0]
        raise NetworkError(f"{name}: value {a[t, b]} at snapshot {t}, bus column {b} is not "
                           "finite")
    return a


def run_powerflow_timeseries(network: Network, p_mw: Any, q_mvar: Any,
                             method: Method = "auto",
                             n_threads: int | None = None) -> TimeSeriesPowerFlowResult:
    """Solve T snapshots of bus demand on one network.

    Parameters
    ----------
    network : Network
    p_mw, q_mvar : array_like (T, nb)
        Demand per snapshot and bus [MW], [MVAr], positive for consumption, columns
        in the case's bus order. They replace the case's Pd and Qd; generator set
        points stay as in the case (the slacks take up the difference).
    method : {"auto", "nr", "sweep"}
        As in :func:`run_powerflow`.
    n_threads : int, optional
        Chunks of hours solved in parallel on threads; one per available core by
        default. Within a
        chunk each hour starts from the previous hour's solution.

    Returns
    -------
    TimeSeriesPowerFlowResult
    """
    _check_method(method)
    p = _check_loads("p_mw", p_mw, network.n_bus)
    q = _check_loads("q_mvar", q_mvar, network.n_bus)
    if p.shape != q.shape:
        raise NetworkError(f"q_mvar: shape {q.shape} differs from p_mw's {p.shape}")
    if n_threads is not None and (int(n_threads) != n_threads or n_threads < 1):
        raise NetworkError(f"n_threads: must be a positive integer, got {n_threads!r}")
    base = network.base_mva
    used, (vm, va, losses, iters, conv) = _solve(network, method, p / base, q / base, n_threads)
    sp, sq = slack_injection(network, vm, va, p, q, used)
    va *= 180.0 / np.pi  # in place: no second (T, nb) array
    return TimeSeriesPowerFlowResult(converged=conv, iterations=iters, vm_pu=vm, va_deg=va,
                                     losses_mw=losses * base, method=used,
                                     slack_bus=network.slack_bus_numbers, slack_p_mw=sp,
                                     slack_q_mvar=sq)


