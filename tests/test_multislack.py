"""Networks with several slack buses: power flow against PYPOWER and pandapower, the Newton
kernel against its NumPy reference, the AC check of a dispatch, and LinDistFlow's refusal.

The cases and reference solutions are in tests/data/multislack (README.md there says how they
were made): IEEE 14-bus with bus 2 a second slack (meshed, transformers) and case33bw fed
from both ends (bus 1 and bus 18).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, base_dict

import engine
from engine.network import NetworkError, read_matpower, run_powerflow, run_powerflow_timeseries
from kernels.powerflow import NewtonSolver, PowerFlowInputError, make_case
from kernels.powerflow.newton_ref import newton_ref

DATA = ROOT / "tests" / "data" / "multislack"
REFERENCE = json.loads((DATA / "reference.json").read_text())
CASES = sorted(REFERENCE)
ATOL_VM = 1e-8  # [pu]
ATOL_VA = 1e-8  # [degree]
ATOL_S = 1e-6  # slack P [MW], Q [MVAr]


def _net(name: str):
    return read_matpower(DATA / f"{name}.m")


@pytest.mark.parametrize("source", ["pypower", "pandapower"])
@pytest.mark.parametrize("name", CASES)
def test_powerflow_matches_reference(name, source):
    ref = REFERENCE[name][source]
    net = _net(name)
    res = run_powerflow(net)
    assert res.converged and res.method == "nr"
    assert res.slack_bus.tolist() == ref["slack_bus"] and len(ref["slack_bus"]) == 2
    np.testing.assert_allclose(res.vm_pu, ref["vm_pu"], rtol=0, atol=ATOL_VM)
    np.testing.assert_allclose(res.va_deg, ref["va_deg"], rtol=0, atol=ATOL_VA)
    np.testing.assert_allclose(res.slack_p_mw, ref["slack_p_mw"], rtol=0, atol=ATOL_S)
    np.testing.assert_allclose(res.slack_q_mvar, ref["slack_q_mvar"], rtol=0, atol=ATOL_S)
    # each slack holds its own set point: VG of its generator, VA of its bus
    pos = net.slacks
    np.testing.assert_allclose(res.va_deg[pos], net.bus[pos, 8], atol=1e-12)
    vg = {int(g[0]): g[5] for g in net.gen[::-1]}  # first generator of a bus wins
    np.testing.assert_allclose(res.vm_pu[pos], [vg[int(b)] for b in res.slack_bus], atol=1e-12)


def test_reference_file_is_pypower_today():
    """The stored PYPOWER solution is what PYPOWER gives now for the stored case file."""
    pytest.importorskip("pypower.api")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_reference", DATA / "make_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = _net("case14_2slack")
    live = mod.solve_pypower(net.base_mva, net.bus, net.gen, net.branch)
    stored = REFERENCE["case14_2slack"]["pypower"]
    for key in ("vm_pu", "va_deg", "slack_p_mw", "slack_q_mvar"):
        np.testing.assert_allclose(live[key], stored[key], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", CASES)
def test_newton_kernel_equals_reference(name):
    net = _net(name)
    case = make_case(net.base_mva, net.bus, net.gen, net.branch)
    assert case.ref.size == 2
    scale = np.array([0.5, 1.0, 1.3])[:, None]
    s_bus = case.s_gen[None, :] - scale * case.s_load[None, :]
    v, _, conv = NewtonSolver(case).solve(s_bus, n_threads=1)
    assert conv.all()
    for t in range(s_bus.shape[0]):
        v_ref, _, ok = newton_ref(case, s_bus[t])
        assert ok
        np.testing.assert_allclose(v[t], v_ref, rtol=0, atol=1e-9)
        np.testing.assert_allclose(v[t][case.ref], case.v0[case.ref], rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", CASES)
def test_timeseries_slacks_balance_demand_and_losses(name):
    """Per snapshot: the slacks' generation plus the other generators' equals demand plus
    losses (no conductance shunts in these cases), and each snapshot equals a single solve."""
    net = _net(name)
    pd0, qd0 = net.bus[:, 2], net.bus[:, 3]
    scale = np.array([0.0, 0.7, 1.0, 1.2])[:, None]
    p, q = scale * pd0, scale * qd0
    ts = run_powerflow_timeseries(net, p, q, n_threads=2)
    assert ts.converged.all() and ts.method == "nr"
    assert ts.slack_p_mw.shape == (4, 2) and ts.slack_q_mvar.shape == (4, 2)
    assert not net.bus[:, 4].any()
    on = net.gen[:, 7] > 0
    other = on & ~np.isin(net.gen[:, 0], ts.slack_bus)
    p_other = net.gen[other, 1].sum()
    np.testing.assert_allclose(ts.slack_p_mw.sum(axis=1) + p_other,
                               p.sum(axis=1) + ts.losses_mw, rtol=0, atol=1e-8)
    one = run_powerflow(net)
    np.testing.assert_allclose(ts.vm_pu[2], one.vm_pu, atol=1e-9)
    np.testing.assert_allclose(ts.slack_p_mw[2], one.slack_p_mw, atol=1e-7)
    np.testing.assert_allclose(ts.slack_q_mvar[2], one.slack_q_mvar, atol=1e-7)


def test_single_slack_results_report_the_slack():
    """A single-slack case reports one slack; the sweep's figure equals Newton's."""
    net = read_matpower(ROOT / "tests" / "data" / "matpower" / "case33bw.m")
    a, b = run_powerflow(net, method="sweep"), run_powerflow(net, method="nr")
    assert a.slack_bus.tolist() == [1]
    # case33bw's published losses: 202.68 kW on 3.715 MW of load
    assert a.slack_p_mw[0] == pytest.approx(net.bus[:, 2].sum() + a.losses_mw, abs=1e-9)
    np.testing.assert_allclose(a.slack_p_mw, b.slack_p_mw, atol=1e-7)
    np.testing.assert_allclose(a.slack_q_mvar, b.slack_q_mvar, atol=1e-7)


def test_sweep_and_single_slack_names_refuse_several_slacks():
    net = _net("case33bw_2slack")
    assert net.slack_bus_numbers.tolist() == [1, 18]
    with pytest.raises(NetworkError, match="sweep: 2 slack buses"):
        run_powerflow(net, method="sweep")
    with pytest.raises(NetworkError, match=r"'case33bw_2slack'.*2 slack buses.*\[1, 18\]"):
        net.slack  # noqa: B018
    with pytest.raises(NetworkError, match=r"LinDistFlow.*'case33bw_2slack'|'case33bw_2slack'.*"
                                           r"LinDistFlow"):
        net.feeder()
    lo, hi = net.voltage_limits(0.95, 1.05)
    assert (lo[net.slacks] == 0).all() and np.isinf(hi[net.slacks]).all()


def test_no_slack_is_refused():
    net = _net("case33bw_2slack")
    bus = net.bus.copy()
    bus[bus[:, 1] == 3, 1] = 2
    with pytest.raises(PowerFlowInputError, match="no slack bus"):
        make_case(net.base_mva, bus, net.gen, net.branch)


# ------------------------------------------------------------------ a site on a two-slack feeder

def _scenario_dict(**network) -> dict:
    d = base_dict(24)
    spec = {"case": str(DATA / "case33bw_2slack.m"), "datacenter_bus": 14,
            "pv_bus": {"pv": 33}, "battery_bus": {"bess": 30}, "scale_impedance": 0.3,
            "vmin_pu": 0.9, "vmax_pu": 1.1}
    spec.update(network)
    d["sites"][0]["network"] = spec
    return d


@pytest.fixture(scope="module")
def solved():
    sc = engine.Scenario.from_dict(_scenario_dict())
    return sc, engine.optimize(sc)


def test_ac_check_reports_each_slack(solved):
    sc, res = solved
    chk = engine.check_network(res, sc)
    assert chk.method == "nr" and chk.converged.all()
    assert chk.slack_p_mw.columns.tolist() == [1, 18] == chk.slack_q_mvar.columns.tolist()
    assert chk.slack_p_mw.shape == (24, 2)
    # the slacks hold their set points every hour
    np.testing.assert_allclose(chk.vm_pu[1], 1.0, atol=1e-12)
    np.testing.assert_allclose(chk.vm_pu[18], 0.99, atol=1e-12)
    # the grid import is the sum of the slacks' injections: demand + losses (no other gens)
    np.testing.assert_allclose(chk.grid_import_mw.to_numpy(),
                               chk.p_mw.sum(axis=1) + chk.losses_mw.to_numpy(), atol=1e-8)
    # both slacks really feed (bus 18 is held below bus 1, so it draws less but not nothing)
    assert (chk.slack_p_mw.abs() > 1e-3).all().all()
    # the same demand solved independently
    ts = run_powerflow_timeseries(chk_net := _scaled(sc), chk.p_mw, chk.q_mvar, method="nr")
    assert chk_net.n_bus == 33
    np.testing.assert_allclose(chk.slack_p_mw.to_numpy(), ts.slack_p_mw, atol=1e-9)
    np.testing.assert_allclose(chk.vm_pu.to_numpy(), ts.vm_pu, atol=1e-12)
    assert "slacks" in chk.summary()


def _scaled(sc):
    from engine.network import load_site_network

    return load_site_network(sc.sites[0].network)


def test_lindistflow_refuses_several_slacks():
    with pytest.raises(engine.ScenarioError,
                       match=r"network\.constraints: 'lindistflow' needs a radial feeder with a "
                             r"single slack bus.*'case33bw_2slack'.*\[1, 18\]"):
        engine.Scenario.from_dict(_scenario_dict(constraints="lindistflow"))


def test_sweep_reports_the_slack_without_scipy():
    """The slack's figure after the sweep comes from the feeder, not from SciPy's Ybus."""
    import subprocess
    import sys

    code = ("import sys\nfrom engine.network import read_matpower, run_powerflow\n"
            f"r = run_powerflow(read_matpower({str(ROOT / 'tests/data/matpower/case33bw.m')!r}),"
            " method='sweep')\nprint(r.slack_p_mw[0] > 0, 'scipy.sparse' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
                         timeout=120, check=True).stdout.split()
    assert out == ["True", "False"]
