"""Bus admittance matrix from MATPOWER-format arrays.

Built once per network with vectorised SciPy (it is not a hot loop); the
batched solvers reuse it for every snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kernels.powerflow._idx import (
    BR_B,
    BR_R,
    BR_STATUS,
    BR_X,
    BS,
    BUS_I,
    F_BUS,
    GS,
    SHIFT,
    T_BUS,
    TAP,
)
from kernels.powerflow.errors import PowerFlowInputError

if TYPE_CHECKING:
    import scipy.sparse as sp


@dataclass(frozen=True)
class Admittance:
    """Admittance matrices of a network, all in per unit on ``base_mva``.

    Attributes
    ----------
    ybus : scipy.sparse.csr_matrix, complex, (nb, nb)
        Bus admittance matrix: ``I = ybus @ V``.
    yf, yt : scipy.sparse.csr_matrix, complex, (nl, nb)
        Branch admittance matrices giving the current injected into each
        in-service branch at its from and to end: ``If = yf @ V``.
    f, t : ndarray of int, (nl,)
        0-based from/to bus index of each in-service branch.
    branch_index : ndarray of int, (nl,)
        Row of each in-service branch in the input ``branch`` array.
    """

    ybus: sp.csr_matrix
    yf: sp.csr_matrix
    yt: sp.csr_matrix
    f: np.ndarray
    t: np.ndarray
    branch_index: np.ndarray


def bus_index(bus: np.ndarray) -> dict[int, int]:
    """Map external bus numbers (``BUS_I`` column) to 0-based row positions.

    Raises
    ------
    PowerFlowInputError
        If a bus number is repeated.
    """
    numbers = bus[:, BUS_I].astype(np.int64)
    lookup = {int(n): i for i, n in enumerate(numbers)}
    if len(lookup) != len(numbers):
        raise PowerFlowInputError("bus: BUS_I column contains duplicate bus numbers")
    return lookup


def external_to_internal(numbers: np.ndarray, lookup: dict[int, int], what: str) -> np.ndarray:
    """Translate external bus numbers to row positions, naming the first unknown one."""
    out = np.empty(len(numbers), dtype=np.int64)
    for k, n in enumerate(numbers.astype(np.int64)):
        try:
            out[k] = lookup[int(n)]
        except KeyError:
            raise PowerFlowInputError(f"{what}: row {k} refers to bus {int(n)}, not in bus") from None
    return out


def branch_ends(bus: np.ndarray, branch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0-based from/to bus of each in-service branch, and its row in ``branch``.

    NumPy only: the radial sweep needs the topology but not Ybus, and skipping
    SciPy's import keeps its first call in a fresh process fast.
    """
    lookup = bus_index(bus)
    on = np.flatnonzero(branch[:, BR_STATUS] != 0)
    f = external_to_internal(branch[on, F_BUS], lookup, "branch F_BUS")
    t = external_to_internal(branch[on, T_BUS], lookup, "branch T_BUS")
    return f, t, on


def make_admittance(base_mva: float, bus: np.ndarray, branch: np.ndarray) -> Admittance:
    """Assemble Ybus, Yf and Yt from MATPOWER arrays.

    Each branch is the standard pi model: series admittance ``1/(r + jx)``,
    total line charging ``b`` split half to each end, and an ideal transformer
    of complex ratio ``tap * exp(j*shift)`` at the from end (``tap == 0``
    means a line, ratio 1). Bus shunts ``Gs + jBs`` are given in MW/MVAr
    consumed at 1 pu voltage.

    Parameters
    ----------
    base_mva : float
        System base [MVA].
    bus : ndarray, (nb, >=13)
        MATPOWER bus array.
    branch : ndarray, (nl, >=11)
        MATPOWER branch array; rows with ``BR_STATUS == 0`` are left out.

    Returns
    -------
    Admittance
    """
    import scipy.sparse as sp  # deferred: see branch_ends

    nb = bus.shape[0]
    f, t, on = branch_ends(bus, branch)
    br = branch[on]
    z = br[:, BR_R] + 1j * br[:, BR_X]
    if np.any(z == 0):
        k = int(on[np.flatnonzero(z == 0)[0]])
        raise PowerFlowInputError(f"branch: row {k} has zero impedance (r = x = 0)")
    ys = 1.0 / z
    bc = br[:, BR_B]
    tap = np.where(br[:, TAP] == 0, 1.0, br[:, TAP]) * np.exp(1j * np.deg2rad(br[:, SHIFT]))
    ytt = ys + 0.5j * bc
    yff = ytt / (tap * np.conj(tap))
    yft = -ys / np.conj(tap)
    ytf = -ys / tap

    nl = len(on)
    rows = np.concatenate([np.arange(nl), np.arange(nl)])
    yf = sp.csr_matrix((np.concatenate([yff, yft]), (rows, np.concatenate([f, t]))), (nl, nb))
    yt = sp.csr_matrix((np.concatenate([ytf, ytt]), (rows, np.concatenate([f, t]))), (nl, nb))
    ysh = (bus[:, GS] + 1j * bus[:, BS]) / base_mva
    cf = sp.csr_matrix((np.ones(nl), (np.arange(nl), f)), (nl, nb))
    ct = sp.csr_matrix((np.ones(nl), (np.arange(nl), t)), (nl, nb))
    ybus = (cf.T @ yf + ct.T @ yt + sp.diags(ysh)).tocsr()
    ybus.sum_duplicates()
    ybus.sort_indices()
    return Admittance(ybus=ybus, yf=yf, yt=yt, f=f, t=t, branch_index=on)
