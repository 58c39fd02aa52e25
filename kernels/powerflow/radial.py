"""Radial feeder set-up shared by the Cython sweep, its reference and LinDistFlow."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kernels.powerflow._idx import BR_B, BR_R, BR_X, GS, BS, SHIFT, TAP
from kernels.powerflow.case import PowerFlowCase
from kernels.powerflow.errors import PowerFlowInputError
from kernels.powerflow.sweep import radial_order, sweep_batch


@dataclass(frozen=True)
class Feeder:
    """A radial network as a tree rooted at the slack bus, per unit.

    Attributes
    ----------
    order, parent, parent_branch : ndarray of int64, (nb,)
        Breadth-first bus order from the root, each bus's parent bus and the
        in-service branch (index into ``case.adm.f``) linking it to its parent.
    z : ndarray of complex, (nb,)
        Series impedance of each bus's parent branch [pu]; 0 at the root.
    ysh : ndarray of complex, (nb,)
        Bus shunt plus half the charging of every adjacent branch [pu].
    """

    order: np.ndarray
    parent: np.ndarray
    parent_branch: np.ndarray
    z: np.ndarray
    ysh: np.ndarray


def make_feeder(case: PowerFlowCase, bus: np.ndarray, branch: np.ndarray) -> Feeder:
    """Check that ``case`` suits a sweep and build its :class:`Feeder`.

    Raises
    ------
    NotRadialError
        If the in-service branches are not a tree rooted at the slack bus.
    PowerFlowInputError
        If the network has PV buses or off-nominal transformers, which this sweep
        does not model (use Newton–Raphson).
    """
    if case.pv.size:
        raise PowerFlowInputError(
            f"sweep: {case.pv.size} PV bus(es) (first: bus index {case.pv[0]}); the sweep models "
            "constant-power buses only, use Newton-Raphson (method='nr')")
    adm = case.adm
    br = branch[adm.branch_index]
    tap = br[:, TAP]
    if np.any((tap != 0) & (tap != 1)) or np.any(br[:, SHIFT] != 0):
        raise PowerFlowInputError("sweep: off-nominal tap or phase shift in a branch; use "
                                  "Newton-Raphson (method='nr')")
    root = int(case.ref[0])
    order, parent, pbranch = radial_order(case.n_bus, adm.f.astype(np.int64),
                                          adm.t.astype(np.int64), root)
    nb = case.n_bus
    z = np.zeros(nb, dtype=np.complex128)
    child = order[1:]
    z[child] = br[pbranch[child], BR_R] + 1j * br[pbranch[child], BR_X]
    ysh = (bus[:, GS] + 1j * bus[:, BS]) / case.base_mva
    half_b = 0.5j * br[:, BR_B]
    ysh = ysh.astype(np.complex128)
    np.add.at(ysh, adm.f, half_b)
    np.add.at(ysh, adm.t, half_b)
    return Feeder(order=order, parent=parent, parent_branch=pbranch, z=z, ysh=ysh)


class SweepSolver:
    """Backward/forward sweep for one radial feeder and any number of snapshots.

    Parameters
    ----------
    case : PowerFlowCase
    bus, branch : ndarray
        The MATPOWER arrays the case was built from (for charging and taps).
    tol : float
        Largest voltage change between sweeps accepted [pu].
    max_iter : int
        Sweeps allowed per snapshot.
    """

    def __init__(self, case: PowerFlowCase, bus: np.ndarray, branch: np.ndarray,
                 tol: float = 1e-11, max_iter: int = 100) -> None:
        self.case = case
        self.feeder = make_feeder(case, bus, branch)
        self.tol = float(tol)
        self.max_iter = int(max_iter)

    def solve(self, s_bus: np.ndarray, v0: np.ndarray | None = None,
              n_threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve every row of ``s_bus`` (net injections, (T, nb) or (nb,), [pu]).

        ``n_threads`` > 1 splits the hours into contiguous chunks run on threads
        (the Cython loop releases the GIL); each chunk warm-starts hour to hour.

        Returns
        -------
        v : ndarray of complex, (T, nb) or (nb,)
        iterations : ndarray of int64, (T,)
        converged : ndarray of bool, (T,)
        """
        s_load = np.ascontiguousarray(-np.atleast_2d(s_bus), dtype=np.complex128)
        n_t, nbus = s_load.shape
        v0 = np.ascontiguousarray(self.case.v0 if v0 is None else v0, dtype=np.complex128)
        v = np.empty((n_t, nbus), dtype=np.complex128)
        iters = np.zeros(n_t, dtype=np.int64)
        conv = np.zeros(n_t, dtype=np.uint8)
        fd = self.feeder
        n_threads = max(1, min(int(n_threads), n_t))

        def run(a: int, b: int) -> None:
            sweep_batch(fd.order, fd.parent, fd.z, fd.ysh, s_load[a:b], v0, self.tol,
                        self.max_iter, v[a:b], iters[a:b], conv[a:b])

        if n_threads == 1:
            run(0, n_t)
        else:
            edges = [(n_t * c) // n_threads for c in range(n_threads + 1)]
            with ThreadPoolExecutor(n_threads) as ex:
                list(ex.map(run, edges[:-1], edges[1:]))
        conv = conv.astype(bool)
        if np.ndim(s_bus) == 1:
            return v[0], iters, conv
        return v, iters, conv
