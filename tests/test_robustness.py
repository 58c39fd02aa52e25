"""Inputs that are never silently wrong: binaries only where they matter, every MILP returns,
extreme magnitudes rejected or explained, infeasibility diagnoses that name the cause."""
from __future__ import annotations

import copy
import math
from functools import lru_cache

import numpy as np
import pytest
from conftest import EXAMPLES, base_dict, check_invariants

import engine
from engine.backends import SolverOptions, solve
from engine.scenario.base import MAX_MAGNITUDE

#: Optima compared between formulations: both solved to a zero MIP gap.
RTOL_OBJ = 1e-7


# ---------------------------------------------------------------------------- scenarios
def dip_week(T: int = 168, seed: int = 0) -> dict:
    """The small site over ``T`` hours whose import price dips below its export price
    (36/MWh) for 8 hours every night."""
    d = base_dict(T=T)
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    imp = np.where(t % 24 < 7, 30.0, np.where(t % 24 < 17, 60.0, np.where(t % 24 < 22, 90.0, 30.0)))
    imp = imp + rng.normal(0, 3, T).round(2)
    dip = (t % 24 >= 1) & (t % 24 < 9)
    imp[dip] = 20.0 + rng.uniform(0, 15, int(dip.sum())).round(2)
    g = d["sites"][0]["grid"]
    g["import_price_per_mwh"] = imp.tolist()
    g["export_price_per_mwh"] = 36.0
    d["jobs"][0]["deadline_h"] = T
    return d


def _cut(x, T: int, full: int):
    if isinstance(x, dict):
        return {k: _cut(v, T, full) for k, v in x.items()}
    if isinstance(x, list):
        if len(x) == full and all(isinstance(v, (int, float)) for v in x):
            return x[:T]
        return [_cut(v, T, full) for v in x]
    return x


@lru_cache(maxsize=1)
def _xining_year() -> dict:
    return engine.load_scenario(EXAMPLES / "xining_park.yaml").to_dict()


def xining_week(T: int = 168) -> dict:
    """The first ``T`` hours (January) of the Xining example, with the jobs due in them."""
    d = copy.deepcopy(_xining_year())
    d = _cut(d, T, d["horizon_h"])
    d["horizon_h"] = T
    d["jobs"] = [j for j in d["jobs"] if j["deadline_h"] <= T]
    return d


def _solve_model(model, gap: float = 0.0):
    return solve(model, options=SolverOptions(mip_rel_gap=gap))


# ---------------------------------------------------------------------------- 1. binaries
def test_price_dip_week_gets_grid_binaries_only_in_the_dip_hours():
    d = dip_week()
    sc = engine.Scenario.from_dict(d)
    f = engine.build_model(sc)
    g = sc.sites[0].grid
    imp = np.asarray(g.import_price_per_mwh)
    carbon = sc.policy.carbon_price_per_t * 500.0 / 1000.0  # price x emission factor
    pays = 36.0 > imp + carbon
    assert 0 < pays.sum() < 168
    assert f.model.var_groups["grid/importing"].size == int(pays.sum())
    assert f.model.con_groups["grid/import_if_importing"].size == int(pays.sum())
    np.testing.assert_array_equal(f.meta["grid"]["binary_at"][0], pays)
    # no negative price, no curtailment penalty: wasting energy in the battery never pays
    assert "battery/charging" not in f.model.var_groups
    res = engine.optimize(sc)
    check_invariants(sc, res)
    h = res.hourly
    both = np.minimum(h["grid.s1/import_mw"], h["grid.s1/export_mw"]).to_numpy()
    assert both[pays].max() <= 1e-7


def _all_hours_grid_binaries(f) -> None:
    """Add the old formulation's binaries (every grid hour) to a built model."""
    imp, exp = f.model.var_groups["grid/import_mw"], f.model.var_groups["grid/export_mw"]
    g = f.data.sites[0].site.grid
    shape = imp.shape
    v = f.model.add_variables("test/importing", shape, lb=0.0, ub=1.0, integer=True)
    f.model.add_constraints("test/import_if", shape,
                            [(imp.idx, 1.0), (v.idx, -g.import_max_mw)], ub=0.0)
    f.model.add_constraints("test/export_if", shape,
                            [(exp.idx, 1.0), (v.idx, g.export_max_mw)], ub=g.export_max_mw)


def test_selected_binaries_reach_the_all_hours_optimum():
    sc = engine.Scenario.from_dict(dip_week(T=48, seed=3))
    f = engine.build_model(sc)
    n_sel = f.model.var_groups["grid/importing"].size
    few = _solve_model(f.model)
    f_all = engine.build_model(sc)
    _all_hours_grid_binaries(f_all)
    every = _solve_model(f_all.model)
    assert few.status == every.status == engine.Status.OPTIMAL
    assert n_sel < 48
    assert few.objective == pytest.approx(every.objective, rel=RTOL_OBJ, abs=1e-6)


def _tiny(T: int, **grid) -> dict:
    site = {"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "grid": {"import_max_mw": 10.0, **grid}}
    return {"name": "tiny", "start": "2023-06-01 00:00", "timezone": "UTC", "horizon_h": T,
            "sites": [site]}


def test_grid_binary_hand_optimum():
    """Hour 0 pays more for export (30) than import (10); 2 MW of PV is there. Selling the PV
    earns 60; an LP would also buy 3 MW to sell back (another 60). Hour 1: nothing to do."""
    d = _tiny(2, export_max_mw=5.0, import_price_per_mwh=[10.0, 50.0],
              export_price_per_mwh=[30.0, 20.0])
    d["sites"][0]["pv"] = [{"name": "pv", "capacity_mw": 2.0, "availability_fraction": [1.0, 0.0]}]
    sc = engine.Scenario.from_dict(d)
    f = engine.build_model(sc)
    assert f.model.var_groups["grid/importing"].size == 1
    res = engine.optimize(sc)
    assert res.status == engine.Status.OPTIMAL
    assert res.objective == pytest.approx(-60.0, abs=1e-7)
    assert res.hourly["grid.s/import_mw"].iloc[0] == pytest.approx(0.0, abs=1e-9)


def test_battery_binary_hand_optimum():
    """A nearly full battery (9.5 of 10 MWh, η 0.9 each way) and an import price of -10 in
    hour 0 only. Charging alone takes 0.5 / 0.9 MWh; charging and discharging at once would
    burn more (an LP buys 0.83 MWh). Optimum -10 x 0.5 / 0.9; one binary, in hour 0."""
    d = _tiny(2, import_price_per_mwh=[-10.0, 10.0])
    d["sites"][0]["batteries"] = [{
        "name": "b", "energy_mwh": 10.0, "charge_power_mw": 2.0, "discharge_power_mw": 2.0,
        "charge_efficiency": 0.9, "discharge_efficiency": 0.9, "soc_min_fraction": 0.0,
        "soc_max_fraction": 1.0, "initial_soc_fraction": 0.95, "terminal": "free"}]
    sc = engine.Scenario.from_dict(d)
    f = engine.build_model(sc)
    assert f.model.var_groups["battery/charging"].size == 1
    np.testing.assert_array_equal(f.meta["battery"]["binary_at"], [[True, False]])
    assert "grid/importing" not in f.model.var_groups  # no export
    for backend in ("highs", "pyomo"):
        res = engine.optimize(sc, backend=backend)
        check_invariants(sc, res)
        assert res.objective == pytest.approx(-10.0 * 0.5 / 0.9, rel=1e-9)
        assert res.hourly["battery.b/discharge_mw"].iloc[0] == pytest.approx(0.0, abs=1e-9)


def test_battery_binaries_follow_pv_hours_with_a_curtailment_penalty():
    d = base_dict(T=48)
    d["policy"]["curtailment_penalty_per_mwh"] = 5.0
    sc = engine.Scenario.from_dict(d)
    f = engine.build_model(sc)
    pv = f.data.sites[0].pv_avail_mw.sum(axis=0)
    np.testing.assert_array_equal(f.meta["battery"]["binary_at"][0], pv > 0)
    assert f.model.var_groups["battery/charging"].size == int((pv > 0).sum()) < 48


# ---------------------------------------------------------------------------- 1b. limits
def test_a_time_limited_milp_returns_its_best_solution_with_a_gap():
    """HiGHS's solution limit stops branch and bound at the first improving solution, the
    same way on every machine: status time_limit, a finite gap, a feasible dispatch."""
    sc = engine.Scenario.from_dict(dip_week(seed=1))
    res = engine.optimize(sc, highs_options={"mip_max_improving_sols": 1, "presolve": "off"})
    assert res.status == engine.Status.TIME_LIMIT
    assert math.isfinite(res.mip_gap) and res.mip_gap > 0
    check_invariants(sc, res, status=engine.Status.TIME_LIMIT)
    assert "best solution found" in res.diagnosis
    assert "time_limit" in res.summary() and "diagnosis: stopped" in res.summary()


@pytest.mark.slow
def test_a_hard_week_stops_at_its_time_limit():
    d = xining_week()
    d["policy"]["green_share_min_fraction"] = 0.0
    d["sites"][0]["grid"]["export_price_per_mwh"] = 200.0  # above the midday import price
    sc = engine.Scenario.from_dict(d)
    f = engine.build_model(sc)
    assert f.model.var_groups["grid/importing"].size == 56  # 8 midday hours a day (was 168)
    res = engine.optimize(sc, time_limit_s=0.5)
    assert res.status == engine.Status.TIME_LIMIT, res.summary()
    assert "time limit of 0.5 s" in res.diagnosis
    if res.has_solution:
        assert math.isfinite(res.mip_gap)
        check_invariants(sc, res, status=engine.Status.TIME_LIMIT)


def test_default_time_limit_applies_to_milps_only():
    from engine.backends.highs import MIP_TIME_LIMIT_S, time_limit_for

    assert time_limit_for(SolverOptions(), is_mip=True) == MIP_TIME_LIMIT_S == 60.0
    assert time_limit_for(SolverOptions(), is_mip=False) is None
    assert time_limit_for(SolverOptions(time_limit_s=5), is_mip=False) == 5.0
    assert time_limit_for(SolverOptions(time_limit_s=math.inf), is_mip=True) == math.inf


# ---------------------------------------------------------------------------- 2. magnitudes
@pytest.mark.parametrize("path, value, field", [
    (("sites", 0, "batteries", 0, "degradation_cost_per_mwh"), 1e300,
     "sites[0].batteries[0].degradation_cost_per_mwh"),
    (("sites", 0, "grid", "demand_charge_per_mw_month"), 1e8,
     "sites[0].grid.demand_charge_per_mw_month"),
    (("sites", 0, "grid", "import_max_mw"), 1e9, "sites[0].grid.import_max_mw"),
    (("sites", 0, "batteries", 0, "energy_mwh"), 1e12, "sites[0].batteries[0].energy_mwh"),
    (("sites", 0, "pv", 0, "capacity_mw"), 2e7, "sites[0].pv[0].capacity_mw"),
    (("policy", "value_of_lost_load_per_mwh"), 1e12, "policy.value_of_lost_load_per_mwh"),
    (("policy", "carbon_price_per_t"), 1e9, "policy.carbon_price_per_t"),
    (("policy", "curtailment_penalty_per_mwh"), 1e10, "policy.curtailment_penalty_per_mwh"),
    (("jobs", 0, "energy_mwh"), 1e15, "jobs[0].energy_mwh"),
])
def test_extreme_magnitudes_are_rejected_naming_field_value_and_range(path, value, field):
    d = base_dict()
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(engine.ScenarioError) as err:
        engine.Scenario.from_dict(d)
    msg = str(err.value)
    assert msg.startswith(field + ":"), msg
    assert f"{MAX_MAGNITUDE:g}" in msg and f"{value:g}" in msg and "magnitude" in msg


def test_a_data_center_beyond_the_range_is_rejected():
    d = base_dict()
    d["sites"][0]["datacenter"]["gpus"] = 10**13
    with pytest.raises(engine.ScenarioError,
                       match=r"sites\[0\]\.datacenter\.it_power_per_gpu_kw: gpus \* "
                             r"it_power_per_gpu_kw / 1000 must be <= 1e\+07 MW .*numerical "
                             r"range\), got 10000000000000 GPUs"):
        engine.Scenario.from_dict(d)


def test_prices_times_1e9_are_rejected_at_their_hour():
    d = base_dict()
    g = d["sites"][0]["grid"]
    g["import_price_per_mwh"] = [v * 1e9 for v in [30.0] * 7 + [60.0] * 10 + [90.0] * 5 + [30.0] * 2]
    with pytest.raises(engine.ScenarioError,
                       match=r"sites\[0\]\.grid\.import_price_per_mwh: must be <= 1e\+07 in "
                             r"magnitude .*got 3e\+10 at hour 0"):
        engine.Scenario.from_dict(d)
    g["import_price_per_mwh"] = -2e7
    with pytest.raises(engine.ScenarioError, match=r"must be >= -1e\+07 in magnitude"):
        engine.Scenario.from_dict(d)


def test_largest_allowed_magnitudes_still_solve():
    d = base_dict()
    d["sites"][0]["batteries"][0]["degradation_cost_per_mwh"] = MAX_MAGNITUDE
    d["policy"]["value_of_lost_load_per_mwh"] = MAX_MAGNITUDE
    sc = engine.Scenario.from_dict(d)
    res = engine.optimize(sc)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", ["highs", "pyomo"])
def test_a_solver_error_says_what_highs_reported_and_what_to_try(backend):
    sc = engine.Scenario.from_dict(base_dict())
    # past validation (as an in-place edit of a trusted object could): HiGHS fails on it
    sc.sites[0].batteries[0].__dict__["degradation_cost_per_mwh"] = 1e300
    res = engine.optimize(sc, backend=backend)
    assert res.status == engine.Status.ERROR
    assert res.diagnosis.startswith("HiGHS ended with model status")
    assert "Try:" in res.diagnosis and "infinite" in res.diagnosis
    if backend == "highs":
        assert "battery/charge_mw" in res.diagnosis  # the column with the largest cost


# ---------------------------------------------------------------------------- 3. diagnosis
@pytest.mark.slow
def test_green_floor_week_names_the_floor_and_the_best_share():
    d = xining_week()
    sc = engine.Scenario.from_dict(d)
    res = engine.optimize(sc)
    assert res.status == engine.Status.INFEASIBLE
    diag = res.diagnosis
    assert diag.startswith("the green-share floor policy/green_share_annual"), diag
    assert "job/energy" not in diag
    best = float(diag.split("at most ")[1].split(",")[0])
    assert 0.5 < best < 0.8
    # the floor it names is reachable, a point more is not
    d["policy"]["green_share_min_fraction"] = best
    ok = engine.optimize(engine.Scenario.from_dict(d))
    assert ok.status == engine.Status.OPTIMAL and ok.kpis["green_share"] >= best - 1e-9
    d["policy"]["green_share_min_fraction"] = best + 0.002
    assert engine.optimize(engine.Scenario.from_dict(d)).status == engine.Status.INFEASIBLE
    assert engine.optimize(sc, backend="pyomo").diagnosis == diag


def test_hourly_green_floor_names_the_floor_and_the_hours():
    d = base_dict(T=24)
    d["policy"].update(green_share_min_fraction=0.9, green_matching="hourly")
    res = engine.optimize(engine.Scenario.from_dict(d))
    assert res.status == engine.Status.INFEASIBLE
    assert res.diagnosis.startswith("the green-share floor policy/green_share_hourly"), res.diagnosis
    assert "greenest dispatch reaches a green share of" in res.diagnosis
    assert "hourly floor is missed in" in res.diagnosis


@pytest.fixture
def no_iis(monkeypatch):
    """HiGHS often finds no IIS (NOTES.md): the diagnosis must stand without one."""
    from engine.backends import diagnosis

    monkeypatch.setattr(diagnosis, "_iis_text", lambda *a, **k: "")


def _two_conflicts(green: float) -> dict:
    """Two jobs that each fit beside the inflexible load (3 of the 3.6 MWh of room) but not
    together, and (``green`` > 0) a green floor out of reach."""
    d = base_dict(T=24)
    d["sites"][0]["datacenter"]["inflexible_utilization_fraction"] = 0.95
    d["jobs"][0].update(energy_mwh=3.0, max_power_mw=2.0)
    d["jobs"].append({**d["jobs"][0], "name": "train2"})
    d["policy"]["green_share_min_fraction"] = green
    return d


def test_no_single_group_names_the_groups_dropped_together(no_iis):
    res = engine.optimize(engine.Scenario.from_dict(_two_conflicts(0.99)))
    assert res.status == engine.Status.INFEASIBLE
    diag = res.diagnosis
    assert diag.startswith("no single constraint group explains it; the model becomes "
                           "feasible when these are dropped together: "), diag
    named = diag.split("dropped together: ")[1].split(";")[0].split(", ")
    assert len(named) >= 2 and "policy/green_share_annual" in named
    assert any(n.startswith(("job/", "datacenter/")) for n in named)


def test_bus_balance_that_cannot_close_is_given_in_hours_and_mw(no_iis):
    d = _two_conflicts(0.0)
    d["sites"][0]["grid"]["export_max_mw"] = 0.0
    d["sites"][0]["hydro"] = [{"name": "h", "min_power_mw": [40.0, 40.0] + [0.0] * 22,
                               "max_power_mw": [40.0, 40.0] + [1.0] * 22}]
    res = engine.optimize(engine.Scenario.from_dict(d))
    assert res.status == engine.Status.INFEASIBLE
    diag = res.diagnosis
    assert "bus/balance" in diag
    assert "the bus balance cannot close in 2 hours, surplus it cannot absorb" in diag, diag
    assert "site 0 hour 0:" in diag and "site 0 hour 1:" in diag


def test_single_group_without_iis_is_named(no_iis):
    res = engine.optimize(engine.Scenario.from_dict(_two_conflicts(0.0)))
    assert res.status == engine.Status.INFEASIBLE
    assert "the model becomes feasible when" in res.diagnosis
    assert "is dropped" in res.diagnosis


@pytest.mark.parametrize("neg", [False, True], ids=["grid_binaries", "grid_and_battery_binaries"])
def test_backends_agree_with_selected_binaries(neg):
    d = dip_week(T=48, seed=2)
    if neg:  # a negative price at 3 am and a curtailment penalty: battery binaries too
        imp = np.array(d["sites"][0]["grid"]["import_price_per_mwh"])
        imp[np.arange(48) % 24 == 3] = -5.0
        d["sites"][0]["grid"]["import_price_per_mwh"] = imp.tolist()
        d["policy"]["curtailment_penalty_per_mwh"] = 2.0
    sc = engine.Scenario.from_dict(d)
    a = engine.optimize(sc, mip_rel_gap=0.0)
    b = engine.optimize(sc, backend="pyomo", mip_rel_gap=0.0)
    check_invariants(sc, a)
    check_invariants(sc, b)
    assert b.objective == pytest.approx(a.objective, rel=1e-6)
    f = engine.build_model(sc)
    assert ("battery/charging" in f.model.var_groups) == neg
