"""Turn MATPOWER arrays into the plain arrays every power-flow kernel takes.

One :class:`PowerFlowCase` is built per network; batched solvers reuse it for
every snapshot and only swap the bus injections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from kernels.powerflow._idx import (
    BR_B,
    BR_R,
    BR_STATUS,
    BR_X,
    BS,
    BUS_I,
    BUS_TYPE,
    F_BUS,
    GEN_BUS,
    GEN_STATUS,
    GS,
    PD,
    PG,
    PQ,
    PV,
    QD,
    QG,
    REF,
    SHIFT,
    T_BUS,
    TAP,
    VA,
    VG,
    VM,
)
from kernels.powerflow.admittance import (
    Admittance,
    branch_ends,
    bus_index,
    external_to_internal,
    make_admittance,
)
from kernels.powerflow.errors import PowerFlowInputError


@dataclass(frozen=True)
class PowerFlowCase:
    """A network ready for power flow, everything in per unit on ``base_mva``.

    Attributes
    ----------
    base_mva : float
        System base [MVA].
    f, t : ndarray of int
        0-based from/to bus of each in-service branch.
    branch_index : ndarray of int
        Row of each in-service branch in the ``branch`` array.
    ref, pv, pq : ndarray of int
        0-based indices of the slack (one or more), PV and PQ buses. A bus typed PV in the
        case but with no in-service generator is solved as PQ (it has nothing
        to hold its voltage), as MATPOWER does.
    s_gen : ndarray of complex, (nb,)
        Scheduled generation per bus [pu]; at the slack and for Q at PV buses
        it is only a starting value.
    s_load : ndarray of complex, (nb,)
        Case demand ``Pd + jQd`` per bus [pu].
    v0 : ndarray of complex, (nb,)
        Starting voltages [pu]: the case's Vm/Va, with generator set points
        at the slack and PV buses.
    """

    base_mva: float
    f: np.ndarray
    t: np.ndarray
    branch_index: np.ndarray
    ref: np.ndarray
    pv: np.ndarray
    pq: np.ndarray
    s_gen: np.ndarray
    s_load: np.ndarray
    v0: np.ndarray
    bus: np.ndarray = field(repr=False)
    branch: np.ndarray = field(repr=False)

    @cached_property
    def adm(self) -> Admittance:
        """Ybus, Yf and Yt, built (with SciPy) on first use; the sweep never needs them."""
        return make_admittance(self.base_mva, self.bus, self.branch)

    @property
    def n_bus(self) -> int:
        """Number of buses."""
        return self.v0.shape[0]

    def s_bus(self, s_load: np.ndarray | None = None) -> np.ndarray:
        """Net injection ``s_gen - s_load`` [pu]; ``s_load`` may be (nb,) or (T, nb)."""
        return self.s_gen - (self.s_load if s_load is None else s_load)


def _check_array(name: str, a: np.ndarray, min_cols: int, used: tuple[int, ...]) -> np.ndarray:
    """Shape check, and finite values in the columns power flow uses.

    Other columns are left alone: infinite limits (``Qmax = Inf`` in PEGASE cases)
    are legitimate there, and unused fields may hold NaN.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < min_cols:
        raise PowerFlowInputError(f"{name}: expected a 2-D array with >= {min_cols} columns, "
                                  f"got shape {a.shape}")
    bad = np.zeros(a.shape, dtype=bool)
    bad[:, list(used)] = ~np.isfinite(a[:, list(used)])
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise PowerFlowInputError(f"{name}: invalid value {a[r, c]} at row {r}, column {c}")
    return a


def make_case(base_mva: float, bus: np.ndarray, gen: np.ndarray,
              branch: np.ndarray) -> PowerFlowCase:
    """Validate MATPOWER arrays and build a :class:`PowerFlowCase`.

    Parameters
    ----------
    base_mva : float
        System base [MVA].
    bus, gen, branch : ndarray
        MATPOWER arrays (format version 2); Pd/Qd/Pg/Qg in MW/MVAr, angles in degrees.

    Raises
    ------
    PowerFlowInputError
        On malformed arrays, unknown bus numbers, isolated buses, no slack bus or a slack
        bus without an in-service generator.

    Notes
    -----
    Several slack buses are allowed: each holds the magnitude of its first generator's
    ``VG`` and its bus angle ``VA`` (MATPOWER's ``newtonpf`` excludes every REF bus from
    the unknowns likewise). Newton-Raphson and the DC solver take them; the radial sweep
    does not.
    """
    if not np.isfinite(base_mva) or base_mva <= 0:
        raise PowerFlowInputError(f"base_mva: must be a positive number, got {base_mva}")
    bus = _check_array("bus", bus, 13, (BUS_I, BUS_TYPE, PD, QD, GS, BS, VM, VA))
    gen = _check_array("gen", gen, 10, (GEN_BUS, PG, QG, VG, GEN_STATUS))
    branch = _check_array("branch", branch, 11,
                          (F_BUS, T_BUS, BR_R, BR_X, BR_B, TAP, SHIFT, BR_STATUS))
    f, t, br_on = branch_ends(bus, branch)
    z = branch[br_on, BR_R] + 1j * branch[br_on, BR_X]
    if np.any(z == 0):
        k = int(br_on[np.flatnonzero(z == 0)[0]])
        raise PowerFlowInputError(f"branch: row {k} has zero impedance (r = x = 0)")
    nb = bus.shape[0]
    lookup = bus_index(bus)

    btype = bus[:, BUS_TYPE].astype(np.int64)
    bad = np.flatnonzero(~np.isin(btype, (PQ, PV, REF)))
    if bad.size:
        raise PowerFlowInputError(
            f"bus: row {bad[0]} has BUS_TYPE {btype[bad[0]]}; only 1 (PQ), 2 (PV) and 3 (slack) "
            "are supported (remove isolated buses first)")
    on = gen[gen[:, GEN_STATUS] > 0]
    gbus = external_to_internal(on[:, GEN_BUS], lookup, "gen GEN_BUS")
    has_gen = np.zeros(nb, dtype=bool)
    has_gen[gbus] = True
    ref = np.flatnonzero(btype == REF)
    if ref.size == 0:
        raise PowerFlowInputError("bus: no slack bus (BUS_TYPE 3)")
    no_gen = ref[~has_gen[ref]]
    if no_gen.size:
        raise PowerFlowInputError(f"bus: slack bus {int(bus[no_gen[0], 0])} has no in-service "
                                  "generator")
    pv = np.flatnonzero((btype == PV) & has_gen)
    pq = np.flatnonzero((btype == PQ) | ((btype == PV) & ~has_gen))

    s_gen = np.zeros(nb, dtype=np.complex128)
    np.add.at(s_gen, gbus, (on[:, PG] + 1j * on[:, QG]) / base_mva)
    s_load = (bus[:, PD] + 1j * bus[:, QD]) / base_mva
    v0 = bus[:, VM] * np.exp(1j * np.deg2rad(bus[:, VA]))
    # Generator voltage set points fix |V| at slack and PV buses (first gen of a bus wins).
    vg_bus, first = np.unique(gbus, return_index=True)
    ctrl = np.isin(vg_bus, np.concatenate([ref, pv]))
    vg_bus, first = vg_bus[ctrl], first[ctrl]
    mag = np.abs(v0[vg_bus])
    mag[mag == 0] = 1.0
    v0[vg_bus] = on[first, VG] * v0[vg_bus] / mag
    return PowerFlowCase(base_mva=float(base_mva), f=f, t=t, branch_index=br_on, ref=ref, pv=pv,
                         pq=pq, s_gen=s_gen, s_load=s_load, v0=v0, bus=bus, branch=branch)


def branch_losses_pu(case: PowerFlowCase, v: np.ndarray) -> np.ndarray:
    """Series and charging losses summed over in-service branches [pu].

    Parameters
    ----------
    case : PowerFlowCase
    v : ndarray of complex, (nb,) or (T, nb)
        Bus voltages [pu].

    Returns
    -------
    float or ndarray (T,)
        ``sum(Re(Sf + St))`` over branches: what the branches consume. Bus shunts
        are not counted (they are loads, not losses), as in MATPOWER and pandapower.
    """
    adm = case.adm
    vt = np.atleast_2d(v).T  # (nb, T)
    sf = vt[adm.f] * np.conj(adm.yf @ vt)
    st = vt[adm.t] * np.conj(adm.yt @ vt)
    out = (sf + st).real.sum(axis=0)
    return out[0] if np.ndim(v) == 1 else out
