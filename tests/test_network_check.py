"""Sites on feeders: the bus mapping, the AC check of a dispatch, LinDistFlow limits and rounds.

The AC check is compared with an independent recomputation: bus demand rebuilt here asset
by asset from the hourly table, solved with Newton-Raphson (the check uses the radial
sweep), and the slack's power balance.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import EXAMPLES, MATPOWER_CASES, base_dict, check_invariants

import engine
from engine.network import read_matpower, run_powerflow_timeseries
from engine.network.attach import attach
from engine.network.lindistflow import lindistflow_v_sq

CASE33 = str(MATPOWER_CASES / "case33bw.m")
#: Voltage agreement between the sweep (inside the check) and Newton-Raphson [pu].
ATOL_VM = 1e-8
ATOL_SQ = 1e-7  # LP feasibility tolerance on squared voltages [pu^2]


def net_dict(T: int = 48, **network) -> dict:
    """``base_dict`` with its site on case33bw: data center and battery at bus 14, PV at 33."""
    d = base_dict(T)
    spec = {"case": CASE33, "datacenter_bus": 14, "pv_bus": {"pv": 33},
            "battery_bus": {"bess": 14}, "scale_impedance": 0.3, "vmin_pu": 0.95,
            "vmax_pu": 1.05}
    spec.update(network)
    d["sites"][0]["network"] = spec
    return d


@pytest.fixture(scope="module")
def free():
    """A dispatch that ignores the feeder (constraints: none) and its scenario."""
    sc = engine.Scenario.from_dict(net_dict())
    return sc, engine.optimize(sc)


# ----------------------------------------------------------------------------- AC check

def test_check_equals_independent_powerflow(free):
    sc, res = free
    chk = engine.check_network(res, sc)
    h = res.hourly
    net = read_matpower(CASE33)
    # the scenario's modifications, applied here by hand
    branch = net.branch.copy()
    branch[:, 2:4] *= 0.3
    net = engine.network.Network("case33bw", net.base_mva, net.bus, net.gen, branch)
    T = len(h)
    pos = {int(b): i for i, b in enumerate(net.bus[:, 0])}
    p = np.tile(net.bus[:, 2], (T, 1))
    q = np.tile(net.bus[:, 3], (T, 1))
    tan_dc = np.tan(np.arccos(0.95))
    dc = h["datacenter.s1/facility_mw"].to_numpy() - h["bus.s1/unserved_mw"].to_numpy()
    p[:, pos[14]] += dc
    q[:, pos[14]] += dc * tan_dc
    p[:, pos[14]] += h["battery.bess/charge_mw"].to_numpy() - h["battery.bess/discharge_mw"].to_numpy()
    p[:, pos[33]] -= h["pv.pv/power_mw"].to_numpy()
    np.testing.assert_allclose(chk.p_mw, p, atol=1e-12)
    np.testing.assert_allclose(chk.q_mvar, q, atol=1e-12)

    ref = run_powerflow_timeseries(net, p, q, method="nr")
    assert chk.method == "sweep"
    assert ref.converged.all() and chk.converged.all()
    np.testing.assert_allclose(chk.vm_pu.to_numpy(), ref.vm_pu, atol=ATOL_VM)
    np.testing.assert_allclose(chk.losses_mw.to_numpy(), ref.losses_mw, atol=1e-9)
    np.testing.assert_allclose(chk.branch_losses_mw.to_numpy().sum(axis=1), ref.losses_mw,
                               atol=1e-9)
    # the violations are exactly the bus-hours outside [0.95, 1.05]
    vm = ref.vm_pu.copy()
    vm[:, pos[1]] = 1.0  # the slack's voltage is a set point, not checked
    expect = {(int(t), str(int(net.bus[b, 0]))) for t, b in zip(*np.nonzero(vm < 0.95 - 1e-6))}
    got = chk.violations[chk.violations["kind"] == "vmin"]
    assert expect and set(zip(got["hour"], got["element"])) == expect
    assert (chk.violations["kind"] == "vmax").any() == bool((vm > 1.05 + 1e-6).any())
    assert not chk.passed


def test_slack_supplies_demand_plus_losses(free):
    """With a rating on every branch the root branch's loading is the slack's output."""
    _, res = free
    d = net_dict()
    d["sites"][0]["network"]["default_rating_mva"] = 10.0
    sc2 = engine.Scenario.from_dict(d)
    chk = engine.check_network(res, sc2)
    p_slack = chk.p_mw.sum(axis=1) + chk.losses_mw.to_numpy()  # MW out of bus 1
    s_root = chk.loading_pct["1-2"].to_numpy() / 100 * 10.0
    assert np.all(s_root >= np.abs(p_slack) - 1e-9)  # |S| >= |P|
    q_slack = s_root**2 - p_slack**2
    assert np.all(q_slack >= -1e-9)
    over = chk.violations[chk.violations["kind"] == "rating"]
    np.testing.assert_array_equal(np.sort(over["value"].to_numpy()),
                                  np.sort(chk.loading_pct.to_numpy()[
                                      chk.loading_pct.to_numpy() > 100 + 1e-4]))


def test_check_with_a_network_object_equals_scenario(free):
    sc, res = free
    a = engine.check_network(res, sc)
    b = engine.check_network(res, attach(sc.sites[0]).network)  # mapping from the result
    np.testing.assert_array_equal(a.vm_pu.to_numpy(), b.vm_pu.to_numpy())
    assert len(a.violations) == len(b.violations)


def test_network_block_without_constraints_changes_nothing(free):
    _, res = free
    plain = engine.optimize(engine.Scenario.from_dict(base_dict(48)))
    assert res.objective == pytest.approx(plain.objective, rel=1e-9)
    assert res.network_rounds is None and res.network_check is None


def test_check_needs_a_scenario(free):
    _, res = free
    res2 = copy.copy(res)
    res2.extra = {}
    with pytest.raises(engine.ScenarioError, match="network_or_scenario"):
        engine.check_network(res2)


# ----------------------------------------------------------------------------- mapping

@pytest.mark.parametrize("change, match", [
    ({"datacenter_bus": 99}, r"network\.datacenter_bus: bus 99 is not in case 'case33bw'"),
    ({"pv_bus": {"pv": 0}}, r"network\.pv_bus\.pv: bus 0 is not in case"),
    ({"pv_bus": {"pv": 3, "pv_east": 4}}, r"network\.pv_bus: 'pv_east' is not a PV plant"),
    ({"battery_bus": {}}, r"network\.battery_bus: no bus given for battery 'bess'"),
    ({"datacenter_bus": None}, r"network\.datacenter_bus: required"),
    ({"case": "/nonexistent/case.m"}, r"network\.case: cannot read .*, got '/nonexistent/case.m'"),
    ({"vmin_pu": 1.05, "vmax_pu": 0.95}, r"vmin_pu: must be < vmax_pu"),
    ({"scale_impedance": 0.0}, r"network\.scale_impedance: must be > 0"),
    ({"constraints": "dc"}, r"network\.constraints"),
    ({"datacenter_power_factor": 1.2}, r"network\.datacenter_power_factor"),
    ({"bogus": 1}, r"network\.bogus: unknown field"),
])
def test_mapping_errors_name_field_and_value(change, match):
    with pytest.raises(engine.ScenarioError, match=match):
        engine.Scenario.from_dict(net_dict(**change))


def test_lindistflow_needs_a_radial_feeder():
    d = net_dict(case=str(MATPOWER_CASES / "case118.m"), constraints="lindistflow",
                 datacenter_bus=14, pv_bus={"pv": 33}, battery_bus={"bess": 14})
    with pytest.raises(engine.ScenarioError, match=r"network\.constraints: 'lindistflow' needs a "
                                                   r"radial feeder"):
        engine.Scenario.from_dict(d)


def test_case_path_is_relative_to_the_scenario_file(tmp_path):
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "feeder.m").write_text(Path(CASE33).read_text())
    d = net_dict(case="grid/feeder.m")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(d))
    sc = engine.load_scenario(path)
    assert sc.sites[0].network.case == str(tmp_path / "grid" / "feeder.m")
    with pytest.raises(engine.ScenarioError, match="network.case"):
        engine.Scenario.from_dict(d)  # relative to the working directory: not there


# ----------------------------------------------------------------------------- LinDistFlow

def test_lindistflow_rows_hold_the_dispatch_within_limits():
    """Round 0 with LinDistFlow: the linear voltages of the dispatch, recomputed from the
    hourly table, respect the limits, and the limits bind (they changed the dispatch)."""
    sc = engine.Scenario.from_dict(net_dict(constraints="lindistflow"))
    res = engine.optimize(sc)
    check_invariants(sc, res)
    att = attach(sc.sites[0])
    chk = engine.check_network(res, sc)
    v = lindistflow_v_sq(att, chk.p_mw, chk.q_mvar)[:, 1:]  # bus 1 is the slack
    assert v.min() >= 0.95**2 - ATOL_SQ and v.max() <= 1.05**2 + ATOL_SQ
    assert v.min() == pytest.approx(0.95**2, abs=1e-6)


def test_rounds_make_a_violating_dispatch_compliant(free):
    sc_free, res_free = free
    assert len(engine.check_network(res_free, sc_free).violations) > 0
    sc = engine.Scenario.from_dict(net_dict(constraints="lindistflow"))
    res = engine.optimize(sc, network_rounds=5)
    check_invariants(sc, res)
    rounds = res.network_rounds
    assert rounds["violations"].iloc[0] > 0  # LinDistFlow alone is not enough (losses)
    assert res.network_check.passed and rounds["violations"].iloc[-1] == 0
    assert len(rounds) <= 6
    assert res.objective >= res_free.objective
    # an independent AC check of the returned dispatch agrees
    assert engine.check_network(res, sc).passed


def test_rounds_report_when_nothing_can_be_tightened(free):
    sc, _ = free
    res = engine.optimize(sc, network_rounds=3)
    assert len(res.network_rounds) == 1 and res.network_rounds["violations"].iloc[0] > 0
    assert not res.network_check.passed


def test_rounds_need_a_network():
    with pytest.raises(engine.ScenarioError, match="network_rounds"):
        engine.optimize(engine.Scenario.from_dict(base_dict(24)), network_rounds=2)


# ----------------------------------------------------------------------------- example

@pytest.fixture(scope="module")
def feeder_example():
    return engine.load_scenario(EXAMPLES / "xining_feeder.yaml")


def test_example_unconstrained_dispatch_violates(feeder_example):
    d = yaml.safe_load((EXAMPLES / "xining_feeder.yaml").read_text())
    d["sites"][0]["network"]["constraints"] = "none"
    sc = engine.Scenario.from_dict(d, base_dir=EXAMPLES)
    res = engine.optimize(sc)
    chk = engine.check_network(res, sc)
    kinds = chk.counts()
    assert kinds.get("vmax", 0) > 0 and kinds.get("rating", 0) > 0


def test_example_runs_from_the_cli(tmp_path, capsys):
    from engine.cli import main

    code = main(["run", str(EXAMPLES / "xining_feeder.yaml"), "--out", str(tmp_path),
                 "--no-plot"])
    out = capsys.readouterr().out
    assert code == 0
    assert "network rounds:" in out and "PASSED" in out
    assert (tmp_path / "network_vm_pu.parquet").is_file()
    assert (tmp_path / "network_violations.csv").read_text().startswith("hour,time,kind")


def test_pyomo_backend_gives_the_same_rounds():
    sc = engine.Scenario.from_dict(net_dict(constraints="lindistflow"))
    a = engine.optimize(sc, network_rounds=5)
    b = engine.optimize(sc, backend="pyomo", network_rounds=5)
    assert b.objective == pytest.approx(a.objective, rel=1e-6)
    assert len(b.network_rounds) == len(a.network_rounds)


def test_network_block_round_trips():
    sc = engine.Scenario.from_dict(net_dict(constraints="lindistflow", wind_bus={}))
    again = engine.Scenario.from_dict(yaml.safe_load(sc.to_yaml()))
    assert again == sc and again.sites[0].network.constraints == "lindistflow"


def test_unreachable_limits_say_why():
    """A feeder whose own loads already break the limits makes the LP infeasible; the
    diagnosis says so instead of leaving the user with HiGHS's words alone."""
    sc = engine.Scenario.from_dict(net_dict(constraints="lindistflow", scale_impedance=3.0))
    res = engine.optimize(sc, network_rounds=3)
    assert res.status == engine.Status.INFEASIBLE
    assert "background loads alone put bus 18 at 0.66" in res.diagnosis
    assert res.network_rounds["status"].tolist() == ["infeasible"]
