"""Rolling windows built from the full formulation (engine.operations.model_window): gensets,
outage survival scenarios, non-preemptible and power-capped jobs."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import base_dict, check_invariants
from test_rolling import RTOL_OBJ, _changed_after, rolled_twice, rolling_dict, scenario

import engine
from engine.errors import ScenarioError


def microgrid_dict(T: int = 72, seed: int = 3, fuel_price: float = 10.0) -> dict:
    """The rolling test scenario (noisy PV, load and price, a demand charge, three jobs)
    with a two-unit genset with a fuel tank, service tiers, outage scenarios every 6 h
    with an 2-h survival rule, a non-preemptible and a power-capped job."""
    d = rolling_dict(T, seed=seed)
    site = d["sites"][0]
    site["datacenter"]["critical_load_fraction"] = 0.5
    site["gensets"] = [{"name": "gas", "units": 2, "aggregate": True, "max_power_mw": 2.0,
                        "min_power_mw": 0.5, "ramp_up_mw_per_h": 1.0, "ramp_down_mw_per_h": 1.0,
                        "min_up_h": 3, "min_down_h": 2, "start_cost": 50.0,
                        "fuel_no_load_mwh_th_per_h": 0.3,
                        "fuel_slopes_mwh_th_per_mwh": [2.2, 2.6], "fuel_breakpoints_mw": [1.0],
                        "fuel_price_per_mwh_th": fuel_price, "emission_kg_per_mwh_th": 202.0,
                        "fuel_stock_mwh_th": 30.0,
                        "fuel_deliveries": [{"hour": T // 2, "fuel_mwh_th": 10.0}]}]
    d["policy"]["outages"] = {"start_every_h": 6, "durations_h": [2, 4],
                              "duration_probabilities": [0.7, 0.3], "outages_per_horizon": 0.1,
                              "min_survival_h": 2}
    d["jobs"] += [
        {"name": "run", "energy_mwh": 3.0, "max_power_mw": 1.0, "release_h": 10,
         "deadline_h": min(T, 40), "preemptible": False},
        {"name": "capped", "gpu_hours": 6000.0, "gpus": 1000, "release_h": 20,
         "deadline_h": min(T, 60), "power_cap": {}},
    ]
    return d


def test_one_window_over_the_horizon_is_the_full_milp():
    sc = scenario(microgrid_dict())
    opt = engine.optimize(sc)
    assert opt.kpis["genset_generation_mwh"] > 1.0  # the gensets are used: a real test
    for plan in (None, "annual"):
        roll = engine.rolling_optimize(sc, 72, 72, "perfect", plan=plan)
        assert roll.settings["windows"] == "model"
        np.testing.assert_allclose(roll.objective, opt.objective, rtol=RTOL_OBJ)
        check_invariants(sc, roll)
        assert roll.kpis["survival_met"]


@pytest.mark.parametrize("plan", [None, pytest.param("annual", marks=pytest.mark.slow)])
def test_rolling_carries_gensets_fuel_and_runs_across_windows(plan):
    sc = scenario(microgrid_dict(48))
    opt = engine.optimize(sc)
    assert opt.kpis["genset_generation_mwh"] > 1.0
    if True:
        roll = engine.rolling_optimize(sc, 24, 8, "perfect", plan=plan, replan_h=16)
        check_invariants(sc, roll)
        assert roll.kpis["survival_met"] and roll.kpis["job_shortfall_mwh"] < 1e-6
        assert roll.objective >= opt.objective * (1 - 1e-6)  # never better than the optimum
        h = roll.hourly
        units = h["genset.gas/units_on"].to_numpy()
        assert np.allclose(units, np.round(units))
        # minimum up time (3 h) across window edges: every start keeps its units on 3 h
        starts = h["genset.gas/starts"].to_numpy()
        for t in np.flatnonzero(starts > 0.5):
            assert np.all(units[t:t + 3] >= starts[t] - 1e-9)
        # the tank: initial 30 + delivery 10 - fuel burnt, never negative
        stock = h["genset.gas/fuel_stock_mwh_th"].to_numpy()
        fuel = h["genset.gas/fuel_mwh_th"].to_numpy()
        assert stock.min() >= -1e-6
        np.testing.assert_allclose(stock[-1], 40.0 - fuel.sum(), atol=1e-6)
        assert roll.kpis["genset_generation_mwh"] > 1.0
        # the non-preemptible run: one contiguous block at its fixed power (3 h of 1 MW)
        jp = roll.job_power
        p = (jp[jp["job"] == "run"].set_index("time")["power_mw"]
             .reindex(h.index, fill_value=0.0).to_numpy())
        on = np.flatnonzero(p > 1e-9)
        assert on.size == 3 and np.all(np.diff(on) == 1) and np.allclose(p[on], 1.0)
    if plan:  # with the plan, perfect rolling is within 1 % of the optimum on this case
        assert roll.objective <= opt.objective * 1.01


def test_power_capped_job_plans_work_not_energy():
    sc = scenario(microgrid_dict(72))
    roll = engine.rolling_optimize(sc, 48, 24, "seasonal_naive", plan="annual", replan_h=24)
    row = roll.jobs.set_index("job").loc["capped"]
    assert row["work_gpu_h"] == pytest.approx(6000.0, rel=1e-6)
    # capped below full power somewhere: less energy than the work at full power
    assert row["delivered_mwh"] < 6.0 - 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("plan", [None, "annual"])
def test_no_leakage_from_data_after_an_origin_microgrid(plan):
    # seasonal naive: warm-up 24 h; c = 72 >= 24 + 48: no window before c saw data after it
    # (and a plan made at an origin before c sees only forecasts made there)
    d = microgrid_dict(120, seed=5)
    c = 72
    kw = {"plan": plan, "replan_h": 24}
    a = engine.rolling_optimize(scenario(d), 48, 24, "seasonal_naive", **kw)
    b = engine.rolling_optimize(scenario(_changed_after(d, c, seed=7)), 48, 24,
                                "seasonal_naive", **kw)
    ha, hb = a.hourly, b.hourly
    decisions = [k for k in ha.columns if k.split("/")[0].split(".")[0] in
                 ("battery", "job", "grid", "pv", "bus", "genset")]
    for col in decisions:
        assert np.array_equal(ha[col].to_numpy()[:c], hb[col].to_numpy()[:c]), col
    wa, wb = a.windows.set_index("origin_h"), b.windows.set_index("origin_h")
    before = wa.index[wa.index < c]
    assert np.array_equal(wa.loc[before, "objective"].to_numpy(),
                          wb.loc[before, "objective"].to_numpy())
    if plan:
        pa, pb = a.plans.set_index("origin_h"), b.plans.set_index("origin_h")
        early = pa.index[pa.index < c]
        assert early.size and np.array_equal(pa.loc[early, "objective"].to_numpy(),
                                              pb.loc[early, "objective"].to_numpy())
    assert not np.array_equal(ha[decisions].to_numpy()[c:], hb[decisions].to_numpy()[c:])


@pytest.mark.slow
def test_microgrid_under_forecast_error_obeys_the_physics():
    sc = scenario(microgrid_dict(96, seed=6))
    roll = engine.rolling_optimize(sc, 48, 24, "persistence", plan="annual", replan_h=24)
    check_invariants(sc, roll)
    assert roll.kpis["survival_met"]
    assert roll.kpis["job_shortfall_mwh"] < 1e-6


def _hand_case(stock: float = 10.0) -> engine.Scenario:
    """6 h, 2 MW constant load (PUE 1, all critical), grid at 100/100/500/500/100/100, one
    genset unit (1-3 MW, 2 MWh_th per MWh at 100: 200 per MWh, start 100) with a tank,
    one outage at hour 3 for 2 h (weight 1e-6) that must be carried for 2 h."""
    d = base_dict(6)
    site = d["sites"][0]
    site["pv"], site["batteries"] = [], []
    site["grid"] = {"import_max_mw": 10.0, "export_max_mw": 0.0,
                    "import_price_per_mwh": [100.0, 100.0, 500.0, 500.0, 100.0, 100.0],
                    "export_price_per_mwh": 0.0, "emission_factor_kg_per_mwh": 0.0}
    site["datacenter"] = {"gpus": 4000, "it_power_per_gpu_kw": 1.0, "inflexible_it_mw": 2.0,
                          "pue": 1.0}
    site["gensets"] = [{"name": "g", "units": 1, "max_power_mw": 3.0, "min_power_mw": 1.0,
                        "start_cost": 100.0, "fuel_slopes_mwh_th_per_mwh": [2.0],
                        "fuel_price_per_mwh_th": 100.0, "emission_kg_per_mwh_th": 0.0,
                        "fuel_stock_mwh_th": stock}]
    d["jobs"] = []
    d["policy"] = {"carbon_price_per_t": 0.0,
                   "outages": {"start_hours": [3], "durations_h": [2],
                               "duration_probabilities": [1.0], "outages_per_horizon": 1e-6,
                               "min_survival_h": 2}}
    return scenario(d)


def test_hand_checked_genset_and_outage():
    """By hand: the genset (200 per MWh + 100 per start) beats the grid only at 500. The
    outage at hour 3 must be carried 2 h by the genset alone (2 MW x 2 h x 2 = 8 MWh_th), so
    the tank must hold 8 MWh_th at the end of hour 2. With 10 MWh_th, hour 2 may burn only
    2 (1 MW, the minimum) and hour 3 the rest (2 MW, 4 MWh_th): genset 3 MWh = 600, start
    100, grid 1 MWh at 500 + 8 MWh at 100 = 1300; total 2000, plus the outage's expected
    fuel 1e-6 x 8 x 100. (Without the rule: 2 MW in both hours, 1800.)"""
    expected = 2000.0 + 1e-6 * 800.0
    sc = _hand_case()
    opt = engine.optimize(sc)
    assert opt.objective == pytest.approx(expected, rel=1e-9)
    for W, step in ((6, 6), (3, 1), (4, 2)):
        roll = engine.rolling_optimize(sc, W, step, "perfect")
        assert roll.objective == pytest.approx(expected, rel=1e-9), (W, step)
        np.testing.assert_allclose(roll.hourly["genset.g/power_mw"].to_numpy(),
                                   [0, 0, 1, 2, 0, 0], atol=1e-9)
        assert roll.kpis["survival_met"]
    # a tank too small for the rule: the windows carry what they can and say so
    roll = engine.rolling_optimize(_hand_case(stock=6.0), 3, 1, "perfect")
    assert not roll.kpis["survival_met"]


@pytest.mark.slow
def test_scenario_windows_are_two_stage_and_do_not_leak():
    # scenarios=2 on the model windows (engine.operations.model_scenarios): seasonal naive
    # (warm-up 24 h), origins every 12 h; the first complete 48-h error path (origin 24) is
    # there from hour 72: windows from 72 on are two-stage. Data after c = 96 changed:
    # every decision before c and every window before c are the same (the scenarios draw
    # only paths complete before their origin)
    d = microgrid_dict(144, seed=5)
    c = 96
    a, b = rolled_twice(d, c, 48, 12, "seasonal_naive", scenarios=2)
    wa, wb = a.windows.set_index("origin_h"), b.windows.set_index("origin_h")
    assert a.settings["scenarios"] == 2
    assert (wa.loc[wa.index < 72, "scenarios"] == 1).all()
    assert (wa.loc[(wa.index >= 72) & (wa.index < c), "scenarios"] == 2).all()
    ha, hb = a.hourly, b.hourly
    decisions = [k for k in ha.columns if k.split("/")[0].split(".")[0] in
                 ("battery", "job", "grid", "pv", "bus", "genset")]
    for col in decisions:
        assert np.array_equal(ha[col].to_numpy()[:c], hb[col].to_numpy()[:c]), col
    before = wa.index[wa.index < c]
    assert np.array_equal(wa.loc[before, "objective"].to_numpy(),
                          wb.loc[before, "objective"].to_numpy())
    assert not np.array_equal(ha[decisions].to_numpy()[c:], hb[decisions].to_numpy()[c:])
    check_invariants(scenario(d), a)
    assert a.kpis["survival_met"] and a.kpis["job_shortfall_mwh"] < 1e-6
    # the two-stage window is not the deterministic one: scenario windows change decisions
    one = engine.rolling_optimize(scenario(d), 48, 12, "seasonal_naive")
    assert one.settings["scenarios"] == 1
    assert np.array_equal(one.hourly[decisions].to_numpy()[:72], ha[decisions].to_numpy()[:72])
    assert not np.array_equal(one.hourly[decisions].to_numpy()[72:],
                              ha[decisions].to_numpy()[72:])


def test_scenario_windows_with_perfect_forecasts_are_the_deterministic_ones():
    sc = scenario(microgrid_dict(48))
    one = engine.rolling_optimize(sc, 24, 12, "perfect")
    two = engine.rolling_optimize(sc, 24, 12, "perfect", scenarios=3)
    assert two.objective == one.objective
    assert (two.windows["scenarios"] == 1).all()


def test_model_window_options_are_clear_errors():
    sc = scenario(microgrid_dict(48))
    for kw, field in (({"plan": "monthly"}, "plan"),
                      ({"verify_every": 1}, "verify_every"),
                      ({"peak_baseline_fraction": 0.5}, "peak_baseline_fraction")):
        with pytest.raises(ScenarioError, match=rf"^{field}: .*got"):
            engine.rolling_optimize(sc, 24, 12, "perfect", **kw)


def test_hydro_energy_budget_is_a_scenario_error():
    d = rolling_dict(48)
    d["sites"][0]["hydro"] = [{"name": "h", "max_power_mw": 1.0, "energy_budget_mwh": 10.0}]
    with pytest.raises(ScenarioError, match=r"sites\[0\]\.hydro\[0\]\.energy_budget_mwh: .*"
                                            r"got 10"):
        engine.rolling_optimize(scenario(d), 24, 12, "perfect")


def test_bad_rolling_arguments_are_scenario_errors():
    # the bad inputs: re-plan cadence shorter than the step, K < 1, a plan horizon
    # shorter than the window; each a ScenarioError naming the argument and the value
    sc = scenario(rolling_dict(48))
    with pytest.raises(ScenarioError, match=r"replan_h must be an integer >= step_h=24.*got 12"):
        engine.rolling_optimize(sc, 48, 24, "perfect", plan="annual", replan_h=12)
    with pytest.raises(ScenarioError, match=r"scenarios must be an integer >= 1.*got 0"):
        engine.rolling_optimize(sc, 48, 24, "perfect", scenarios=0)
    long = scenario(base_dict(24 * 70))
    with pytest.raises(ScenarioError, match=r"plan='monthly' covers as little as \d+ h ahead, "
                                            r"shorter than window_h=960"):
        engine.rolling_optimize(long, 960, 24, "perfect", plan="monthly")
    # and on the model windows' path too
    mg = scenario(microgrid_dict(48))
    with pytest.raises(ScenarioError, match=r"replan_h must be an integer >= step_h=12.*got 6"):
        engine.rolling_optimize(mg, 24, 12, "perfect", plan="annual", replan_h=6)


@pytest.mark.slow
def test_microgrid_example_one_window_is_the_optimum():
    # the example itself (a 168-h MILP, ~3 s a solve): one window = engine.optimize
    sc = engine.load_scenario("examples/xining_microgrid.yaml")
    opt = engine.optimize(sc)
    roll = engine.rolling_optimize(copy.deepcopy(sc), 168, 168, "perfect")
    np.testing.assert_allclose(roll.objective, opt.objective, rtol=RTOL_OBJ)
    assert roll.kpis["survival_met"]
