"""Radial feeder set-up shared by the Cython sweep, its reference and LinDistFlow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels.powerflow._idx import BR_B, BR_R, BR_X, BS, GS, SHIFT, TAP
from kernels.powerflow.case import PowerFlowCase
from kernels.powerflow.errors import PowerFlowInputError
from kernels.powerflow.sweep import radial_order, sweep_batch
from kernels.powerflow.threads import run_chunks


@dataclass(frozen=True)
class Feeder:
    """A radial network as a tree rooted at the slack bus, per unit.

    Attributes
    ----------
    order, parent, parent_branch : ndarray of int64, (nb,)
        Breadth-first bus order from the root, each bus's parent bus and the
        in-service branch (index into ``case.f``) linking it to its parent.
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
        If the network has several slack buses, PV buses or off-nominal transformers,
        which this sweep does not model (use Newton–Raphson).
    """
    if case.ref.size != 1:
        raise PowerFlowInputError(
            f"sweep: {case.ref.size} slack buses (bus indices {case.ref.tolist()}); the sweep "
            "models a tree fed from one slack, use Newton-Raphson (method='nr')")
    if case.pv.size:
        raise PowerFlowInputError(
            f"sweep: {case.pv.size} PV bus(es) (first: bus index {case.pv[0]}); the sweep models "
            "constant-power buses only, use Newton-Raphson (method='nr')")
    br = branch[case.branch_index]
    tap = br[:, TAP]
    if np.any((tap != 0) & (tap != 1)) or np.any(br[:, SHIFT] != 0):
        raise PowerFlowInputError("sweep: off-nominal tap or phase shift in a branch; use "
                                  "Newton-Raphson (method='nr')")
    root = int(case.ref[0])
    order, parent, pbranch = radial_order(case.n_bus, case.f.astype(np.int64),
                                          case.t.astype(np.int64), root)
    nb = case.n_bus
    z = np.zeros(nb, dtype=np.complex128)
    child = order[1:]
    z[child] = br[pbranch[child], BR_R] + 1j * br[pbranch[child], BR_X]
    ysh = (bus[:, GS] + 1j * bus[:, BS]) / case.base_mva
    half_b = 0.5j * br[:, BR_B]
    ysh = ysh.astype(np.complex128)
    np.add.at(ysh, case.f, half_b)
    np.add.at(ysh, case.t, half_b)
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
        fd = self.feeder
        # The kernel keeps its state in tree order: position k is bus order[k].
        position = np.empty_like(fd.order)
        position[fd.order] = np.arange(len(fd.order))
        self._up = np.ascontiguousarray(position[np.maximum(fd.parent[fd.order], 0)])
        z, ysh = fd.z[fd.order], fd.ysh[fd.order]
        self._tree_arrays = tuple(np.ascontiguousarray(a, dtype=np.float64)
                                  for a in (z.real, z.imag, ysh.real, ysh.imag))

    def solve_polar(self, p_demand: np.ndarray, q_demand: np.ndarray,
                    v0: np.ndarray | None = None, n_threads: int = 1,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Solve T snapshots given net demand, the fast path.

        Parameters
        ----------
        p_demand, q_demand : ndarray of float, (T, nb)
            Net demand (load minus generation) per bus [pu].
        v0 : ndarray of complex, (nb,), optional
            Start of the first hour of each chunk [pu]; the case's by default.
        n_threads : int
            Contiguous chunks of hours run on threads (the Cython loop releases the
            GIL); each chunk warm-starts hour to hour.

        Returns
        -------
        vm : ndarray (T, nb)
            Voltage magnitudes [pu].
        va : ndarray (T, nb)
            Voltage angles [rad].
        losses : ndarray (T,)
            Branch series losses [pu].
        iterations : ndarray of int64 (T,)
        converged : ndarray of bool (T,)
        """
        p = np.ascontiguousarray(p_demand, dtype=np.float64)
        q = np.ascontiguousarray(q_demand, dtype=np.float64)
        n_t, nbus = p.shape
        v0 = self.case.v0 if v0 is None else v0
        fd = self.feeder
        v0r = np.ascontiguousarray(v0.real[fd.order], dtype=np.float64)
        v0i = np.ascontiguousarray(v0.imag[fd.order], dtype=np.float64)
        vm = np.empty((n_t, nbus))
        va = np.empty((n_t, nbus))
        losses = np.empty(n_t)
        iters = np.zeros(n_t, dtype=np.int64)
        conv = np.zeros(n_t, dtype=np.uint8)
        zr, zi, gsh, bsh = self._tree_arrays

        def run(a: int, b: int) -> None:
            sweep_batch(fd.order, self._up, zr, zi, gsh, bsh, p[a:b], q[a:b], v0r, v0i,
                        self.tol, self.max_iter, vm[a:b], va[a:b], losses[a:b], iters[a:b],
                        conv[a:b])

        run_chunks(run, n_t, n_threads)
        return vm, va, losses, iters, conv.astype(bool)

    def solve(self, s_bus: np.ndarray, v0: np.ndarray | None = None,
              n_threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve every row of ``s_bus`` (net injections, (T, nb) or (nb,), [pu]).

        Returns
        -------
        v : ndarray of complex, (T, nb) or (nb,)
            Voltages [pu].
        iterations : ndarray of int64, (T,)
        converged : ndarray of bool, (T,)
        """
        s = np.atleast_2d(s_bus)
        vm, va, _, iters, conv = self.solve_polar(-s.real, -s.imag, v0, n_threads)
        v = vm * np.exp(1j * va)
        if np.ndim(s_bus) == 1:
            return v[0], iters, conv
        return v, iters, conv
