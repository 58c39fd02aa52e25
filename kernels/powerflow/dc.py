"""DC power flow (MATPOWER's lossless linear model), batched over snapshots.

Assumptions: |V| = 1 pu, small angle differences, r << x. The reduced B matrix is
factorised once per network (SuperLU); each snapshot is then a pair of
triangular solves, and T snapshots go through one multi-right-hand-side solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from kernels.powerflow._idx import BR_X, GS, SHIFT, TAP
from kernels.powerflow.case import PowerFlowCase
from kernels.powerflow.errors import PowerFlowInputError


@dataclass(frozen=True)
class DCModel:
    """DC network matrices [pu].

    Attributes
    ----------
    bbus : csr_matrix (nb, nb)
        Nodal susceptance matrix: ``P = bbus @ Va + p_shift``.
    bf : csr_matrix (nl, nb)
        Branch flow matrix: ``Pf = bf @ Va + pf_shift``.
    p_shift, pf_shift : ndarray
        Injections and flows caused by phase shifters [pu].
    """

    bbus: sp.csr_matrix
    bf: sp.csr_matrix
    p_shift: np.ndarray
    pf_shift: np.ndarray


def make_dc(case: PowerFlowCase, branch: np.ndarray) -> DCModel:
    """Build the DC matrices from the in-service branches of ``branch``."""
    br = branch[case.branch_index]
    if np.any(br[:, BR_X] == 0):
        raise PowerFlowInputError("branch: DC power flow needs x != 0 on every in-service branch")
    tap = np.where(br[:, TAP] == 0, 1.0, br[:, TAP])
    b = 1.0 / (br[:, BR_X] * tap)
    nl, nb = len(b), case.n_bus
    f, t = case.f, case.t
    rows = np.concatenate([np.arange(nl), np.arange(nl)])
    cft = sp.csr_matrix((np.concatenate([np.ones(nl), -np.ones(nl)]),
                         (rows, np.concatenate([f, t]))), (nl, nb))
    bf = sp.csr_matrix(sp.diags(b) @ cft)
    pf_shift = -b * np.deg2rad(br[:, SHIFT])
    return DCModel(bbus=sp.csr_matrix(cft.T @ bf), bf=bf, p_shift=cft.T @ pf_shift,
                   pf_shift=pf_shift)


class DCSolver:
    """DC power flow of one network for any number of snapshots (B factorised once).

    Parameters
    ----------
    case : PowerFlowCase
    bus, branch : ndarray
        The MATPOWER arrays of the case (for Gs and reactances).
    """

    def __init__(self, case: PowerFlowCase, bus: np.ndarray, branch: np.ndarray) -> None:
        self.case = case
        self.model = make_dc(case, branch)
        self._g_shunt = bus[:, GS] / case.base_mva
        self._ref = case.ref
        self._free = np.sort(np.concatenate([case.pv, case.pq]))
        b = self.model.bbus
        self._b_free_ref = b[self._free][:, self._ref]
        self._lu = spla.splu(sp.csc_matrix(b[self._free][:, self._free]))

    def solve(self, p_bus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Angles and branch flows for net active injections.

        Parameters
        ----------
        p_bus : ndarray (nb,) or (T, nb)
            Net active injection (generation minus demand) per bus [pu].

        Returns
        -------
        va : ndarray (nb,) or (T, nb)
            Bus voltage angles [rad]; the slack keeps its case angle.
        pf : ndarray (nl,) or (T, nl)
            Active flow on each in-service branch, from end [pu].
        """
        p = np.atleast_2d(p_bus)
        va_ref = np.angle(self.case.v0[self._ref])
        rhs = (p - self.model.p_shift - self._g_shunt)[:, self._free].T
        rhs = rhs - (self._b_free_ref @ va_ref)[:, None]
        va = np.empty_like(p, dtype=np.float64)
        va[:, self._ref] = va_ref
        va[:, self._free] = self._lu.solve(np.ascontiguousarray(rhs)).T
        pf = (self.model.bf @ va.T).T + self.model.pf_shift
        if np.ndim(p_bus) == 1:
            return va[0], pf[0]
        return va, pf


def dc_ref(case: PowerFlowCase, bus: np.ndarray, branch: np.ndarray,
           p_bus: np.ndarray) -> np.ndarray:
    """Reference DC angles for one snapshot: dense matrices, ``numpy.linalg.solve``."""
    m = make_dc(case, branch)
    b = m.bbus.toarray()
    free = np.sort(np.concatenate([case.pv, case.pq]))
    ref = case.ref
    va = np.zeros(case.n_bus)
    va[ref] = np.angle(case.v0[ref])
    rhs = p_bus - m.p_shift - bus[:, GS] / case.base_mva
    va[free] = np.linalg.solve(b[np.ix_(free, free)], rhs[free] - b[np.ix_(free, ref)] @ va[ref])
    return va
