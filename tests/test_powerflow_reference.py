"""Power flow against answers computed elsewhere: published figures, pandapower, PYPOWER.

pandapower and PYPOWER are optional test dependencies (``pip install .[test]``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from engine.network import run_powerflow
from kernels.powerflow import NewtonSolver, make_admittance, make_case

ATOL_PU = 1e-8  # voltage magnitude agreement demanded by issue 4
ATOL_DEG = 1e-6  # angle agreement; 1e-8 rad ~ 6e-7 degree


# ------------------------------------------------------------------ published figures

@pytest.mark.parametrize("method", ["sweep", "nr"])
@pytest.mark.parametrize(
    ("name", "vmin_pu", "vmin_bus", "losses_kw"),
    [
        # Baran & Wu feeders as solved by MATPOWER/pandapower (see shared NOTES.md)
        ("case33bw", 0.91309, 18, 202.68),
        ("case69", 0.90919, 65, 224.99),
    ],
)
def test_distribution_case_published(read_case, method, name, vmin_pu, vmin_bus, losses_kw):
    net = read_case(name)
    res = run_powerflow(net, method=method)
    assert res.converged
    assert res.method == method
    k = int(np.argmin(res.vm_pu))
    assert net.bus_numbers[k] == vmin_bus
    assert res.vm_pu[k] == pytest.approx(vmin_pu, abs=5e-6)
    assert res.losses_mw * 1e3 == pytest.approx(losses_kw, abs=5e-3)


# ------------------------------------------------------------------ pandapower

def _runpp(net) -> None:
    pp = pytest.importorskip("pandapower")
    # Tight tolerance so the reference itself is well inside ATOL_PU; numba off to
    # spare the test suite pandapower's JIT (same equations, same answer).
    with warnings.catch_warnings():
        # pandapower warns that its own bundled networks predate tap_dependency_table.
        warnings.filterwarnings("ignore", "tap_dependency_table", DeprecationWarning)
        pp.runpp(net, tolerance_mva=1e-11, numba=False, init="flat")


@pytest.mark.parametrize("name", ["case33bw", "case1354pegase"])
def test_matches_pandapower_network(read_case, name):
    """pandapower's own bundled network vs our reading and solving of the ``.m`` file."""
    pn = pytest.importorskip("pandapower.networks")
    net_pp = getattr(pn, name)()
    _runpp(net_pp)
    res = run_powerflow(read_case(name))
    assert res.converged
    np.testing.assert_allclose(res.vm_pu, net_pp.res_bus.vm_pu.to_numpy(), rtol=0, atol=ATOL_PU)
    np.testing.assert_allclose(res.va_deg, net_pp.res_bus.va_degree.to_numpy(), rtol=0,
                               atol=ATOL_DEG)


def test_case69_matches_pandapower(read_case):
    """pandapower ships no case69 network: convert our arrays with its ``from_ppc`` and solve.

    This checks the solver; the reading of the file is checked by the published figures.
    """
    pytest.importorskip("pandapower")
    from pandapower.converter.pypower.from_ppc import from_ppc

    net = read_case("case69")
    ppc = {"version": "2", "baseMVA": net.base_mva, "bus": net.bus.copy(),
           "gen": net.gen.copy(), "branch": net.branch.copy()}
    with warnings.catch_warnings():
        # pandapower's converter trips a pandas dtype FutureWarning; not ours to fix.
        warnings.simplefilter("ignore", FutureWarning)
        net_pp = from_ppc(ppc, f_hz=50)
    _runpp(net_pp)
    for method in ("sweep", "nr"):
        res = run_powerflow(net, method=method)
        np.testing.assert_allclose(res.vm_pu, net_pp.res_bus.vm_pu.to_numpy(), rtol=0,
                                   atol=ATOL_PU)
        np.testing.assert_allclose(res.va_deg, net_pp.res_bus.va_degree.to_numpy(), rtol=0,
                                   atol=ATOL_DEG)


def _fold_branch_conductance(ppc: dict) -> tuple[np.ndarray, np.ndarray]:
    """pandapower's internal branch array has a charging *conductance* column (BR_G, 23)
    that MATPOWER's format lacks. Move it, exactly, into the end buses' Gs: half to the
    to-bus, half divided by |tap|^2 to the from-bus, as pandapower's makeYbus places it.
    """
    bus = ppc["bus"][:, :13].real.copy()
    branch = ppc["branch"].real.copy()
    assert not np.any(branch[:, 21:23]) and not np.any(branch[:, 24:26]), "asymmetric branches"
    on = branch[:, 10] != 0
    g = branch[:, 23] * on
    tap = np.where(branch[:, 8] == 0, 1.0, branch[:, 8])
    np.add.at(bus[:, 4], branch[:, 0].astype(int), 0.5 * g / tap**2 * ppc["baseMVA"])
    np.add.at(bus[:, 4], branch[:, 1].astype(int), 0.5 * g * ppc["baseMVA"])
    return bus, branch[:, :13]


def test_case118_matches_pandapower_internal_arrays():
    """pandapower's case118 differs from MATPOWER's in its transformer data (NOTES.md), so
    compare like with like: solve pandapower's own internal arrays (``net._ppc``)."""
    pn = pytest.importorskip("pandapower.networks")
    net_pp = pn.case118()
    _runpp(net_pp)
    ppc = net_pp._ppc
    bus, branch = _fold_branch_conductance(ppc)
    case = make_case(ppc["baseMVA"], bus, ppc["gen"].real, branch)
    v, _, conv = NewtonSolver(case).solve(case.s_bus())
    assert conv[0]
    # pandapower writes its solution into the internal bus array (VM, VA columns).
    np.testing.assert_allclose(np.abs(v), ppc["bus"][:, 7].real, rtol=0, atol=ATOL_PU)
    np.testing.assert_allclose(np.rad2deg(np.angle(v)), ppc["bus"][:, 8].real, rtol=0,
                               atol=ATOL_DEG)


# ------------------------------------------------------------------ PYPOWER

def test_case118_matches_pypower(read_case):
    """MATPOWER's case118.m read and solved by us vs PYPOWER's own case118 solved by PYPOWER."""
    api = pytest.importorskip("pypower.api")
    ppc = api.case118()
    r, ok = api.runpf(ppc, api.ppoption(VERBOSE=0, OUT_ALL=0, PF_TOL=1e-12))
    assert ok
    res = run_powerflow(read_case("case118"))
    assert res.converged and res.method == "nr"
    np.testing.assert_allclose(res.vm_pu, r["bus"][:, 7], rtol=0, atol=ATOL_PU)
    np.testing.assert_allclose(res.va_deg, r["bus"][:, 8], rtol=0, atol=ATOL_DEG)
    losses = (r["branch"][:, 13] + r["branch"][:, 15]).sum()
    assert res.losses_mw == pytest.approx(losses, abs=1e-6)


def test_ybus_matches_pypower(read_case):
    api = pytest.importorskip("pypower.api")
    from pypower.makeYbus import makeYbus

    net = read_case("case118")
    ours = make_admittance(net.base_mva, net.bus, net.branch)
    ppc = api.ext2int(api.case118())
    ybus, yf, yt = makeYbus(ppc["baseMVA"], ppc["bus"], ppc["branch"])
    assert abs(ours.ybus - ybus).max() < 1e-12
    assert abs(ours.yf - yf).max() < 1e-12
    assert abs(ours.yt - yt).max() < 1e-12


def test_dc_matches_pypower(read_case):
    api = pytest.importorskip("pypower.api")
    from kernels.powerflow import DCSolver

    net = read_case("case118")
    case = make_case(net.base_mva, net.bus, net.gen, net.branch)
    va, pf = DCSolver(case, net.bus, net.branch).solve(case.s_bus().real)
    with warnings.catch_warnings():
        # PYPOWER's dcpf still uses numpy.matrix.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        r, ok = api.rundcpf(api.case118(), api.ppoption(VERBOSE=0, OUT_ALL=0))
    assert ok
    np.testing.assert_allclose(np.rad2deg(va), r["bus"][:, 8], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pf * net.base_mva, r["branch"][:, 13], rtol=0, atol=1e-7)
