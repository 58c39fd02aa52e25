"""Gensets (unit commitment, MILP): cases whose optimum is derived by hand, on both backends.

Unless a test says otherwise: one site, PUE 1, a fixed IT load, a grid at 100 per MWh
limited to 1 MW, and a genset of 1..2 MW burning 2 MWh_th per MWh at 100 per MWh_th, i.e.
200 per MWh: dearer than the grid, so it runs only where the grid cannot serve the load.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import EXAMPLES, check_invariants

import engine
from engine.api import build_model
from engine.backends import solve

BACKENDS = ["highs", "pyomo"]
ABS = 1e-6


def genset(**kw) -> dict:
    g = {"name": "g1", "max_power_mw": 2.0, "min_power_mw": 1.0,
         "fuel_slopes_mwh_th_per_mwh": [2.0], "fuel_price_per_mwh_th": 100.0,
         "emission_kg_per_mwh_th": 0.0}
    g.update(kw)
    return g


def scenario(load: list[float], gensets: list[dict], grid: dict | None = None,
             policy: dict | None = None) -> dict:
    grid = {"import_max_mw": 1.0, "import_price_per_mwh": 100.0} if grid is None else grid
    site = {"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "datacenter": {"gpus": 1000, "it_power_per_gpu_kw": 10.0, "pue": 1.0,
                           "inflexible_it_mw": load},
            "gensets": gensets}
    if grid:
        site["grid"] = grid
    return {"name": "genset", "start": "2023-01-01 00:00", "timezone": "UTC",
            "horizon_h": len(load), "sites": [site], "policy": policy or {}}


def run(d: dict, backend: str = "highs", **kw) -> engine.Result:
    sc = engine.Scenario.from_dict(d)
    res = engine.optimize(sc, backend=backend, time_limit_s=60, mip_rel_gap=1e-9, **kw)
    check_invariants(sc, res)
    return res


def lp_bound(d: dict) -> float:
    """The root LP relaxation's objective (every integrality dropped)."""
    f = build_model(engine.Scenario.from_dict(d))
    arrays = f.model.arrays()
    arrays.integrality[:] = False
    out = solve(f.model, arrays)
    assert out.status == engine.Status.OPTIMAL
    return out.objective


def col(res, what: str, name: str = "g1") -> np.ndarray:
    return res.hourly[f"genset.{name}/{what}"].to_numpy()


# ------------------------------------------------------------------ minimum up / down time
@pytest.mark.parametrize("backend", BACKENDS)
def test_min_up_time_keeps_the_genset_on_for_three_hours(backend):
    # load 1 MW but 3 MW in hour 2: the grid's 1 MW is short by 2 MW there. Without a
    # minimum up time: 2 MW of genset in hour 2 (400) + 6 h x 1 MW of grid (600) = 1000.
    # With min_up_h = 3 the genset stays on 3 hours; in the 2 hours it is not needed it
    # runs at Pmin = 1 MW (200 each) instead of the grid (100 each): 1000 + 2 x 100 = 1200
    load = [1.0, 1.0, 3.0, 1.0, 1.0, 1.0]
    res1 = run(scenario(load, [genset()]), backend)
    assert res1.objective == pytest.approx(1000.0, abs=ABS)
    np.testing.assert_allclose(col(res1, "units_on"), [0, 0, 1, 0, 0, 0], atol=ABS)
    res3 = run(scenario(load, [genset(min_up_h=3)]), backend)
    assert res3.objective == pytest.approx(1200.0, abs=ABS)
    on = col(res3, "units_on")
    assert on.sum() == pytest.approx(3.0) and on[2] == pytest.approx(1.0)
    assert col(res3, "starts").sum() == pytest.approx(1.0)
    assert res3.costs["fuel"] == pytest.approx(800.0, abs=ABS)  # 4 MWh x 2 MWh_th x 100
    assert res3.kpis["genset_fuel_mwh_th"] == pytest.approx(8.0, abs=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_initial_state_obligations(backend):
    load = [1.0] * 4
    # on for 1 h before the horizon with min_up_h = 3: on in hours 0 and 1 at Pmin 1 MW
    # (200 each) in place of the grid; hours 2, 3 from the grid: 400 + 200 = 600
    on1 = genset(min_up_h=3, initial_units_on=1, initial_hours_in_state=1)
    res = run(scenario(load, [on1]), backend)
    assert res.objective == pytest.approx(600.0, abs=ABS)
    np.testing.assert_allclose(col(res, "units_on"), [1, 1, 0, 0], atol=ABS)
    # on for 3 h already: free to stop at once, 4 x 100
    res = run(scenario(load, [{**on1, "initial_hours_in_state": 3}]), backend)
    assert res.objective == pytest.approx(400.0, abs=ABS)
    # off for 1 h with min_down_h = 3: no start before hour 2, so 2 MW of the 3 MW peak
    # in hour 0 go unserved at the value of lost load (10,000): 100 + 20,000 + 3 x 100
    off1 = genset(min_down_h=3, initial_hours_in_state=1)
    res = run(scenario([3.0, 1.0, 1.0, 1.0], [off1]), backend)
    assert res.objective == pytest.approx(20400.0, abs=ABS)
    assert res.kpis["unserved_mwh"] == pytest.approx(2.0, abs=ABS)


# ------------------------------------------------------------------ start cost
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k, stays_on, expected", [(3, True, 2150.0), (4, False, 2300.0)])
def test_start_cost_trade_off(backend, k, stays_on, expected):
    # peaks of 3 MW in hours 1 and k + 2, 1 MW otherwise. Between the peaks, staying on at
    # Pmin costs (200 - 100) per hour = 100 k; stopping and starting again costs one more
    # start, C = 350: stay on iff 100 k < C, i.e. k <= 3.
    #   stop/start: 2 x 500 (peaks) + (k + 2) x 100 + 2 C
    #   stay on:    2 x 500 + 2 x 100 + k x 200 + C
    load = [1.0] * (k + 4)
    load[1] = load[k + 2] = 3.0
    res = run(scenario(load, [genset(start_cost=350.0)]), backend)
    assert res.objective == pytest.approx(expected, abs=ABS)
    starts = col(res, "starts").sum()
    assert starts == pytest.approx(1.0 if stays_on else 2.0, abs=ABS)
    assert res.costs["start"] == pytest.approx(350.0 * starts, abs=ABS)


# ------------------------------------------------------------------ ramps
@pytest.mark.parametrize("backend", BACKENDS)
def test_ramp_up_from_a_cold_start(backend):
    # a cheap genset (1 MWh_th/MWh at 50: 50 per MWh) of 1..4 MW ramping 1 MW/h; 4 MW of
    # load, grid 10 MW at 100. Start-up ramp SU = max(Pmin, RU) = 1: 1, 2, 3, 4, 4 MW from
    # the genset (14 MWh, 700), the rest, 6 MWh, from the grid (600): 1300 (without the
    # ramp: 20 x 50 = 1000)
    g = genset(max_power_mw=4.0, fuel_slopes_mwh_th_per_mwh=[1.0], fuel_price_per_mwh_th=50.0,
               ramp_up_mw_per_h=1.0)
    res = run(scenario([4.0] * 5, [g], grid={"import_max_mw": 10.0,
                                             "import_price_per_mwh": 100.0}), backend)
    assert res.objective == pytest.approx(1300.0, abs=ABS)
    np.testing.assert_allclose(col(res, "power_mw"), [1, 2, 3, 4, 4], atol=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ramp_down_and_shut_down_ramp(backend):
    # on at 4 MW before the horizon, 200 per MWh, ramping down 1 MW/h, shut-down ramp
    # SD = max(Pmin, RD) = 1: at least 3, 2, 1 MW in hours 0..2, off in hour 3. Load 2 MW;
    # the surplus of hour 0 is exported at price 0. 600 + 400 + (200 + 100) + 200 = 1500
    g = genset(max_power_mw=4.0, ramp_down_mw_per_h=1.0, initial_units_on=1,
               initial_power_mw=4.0)
    grid = {"import_max_mw": 10.0, "export_max_mw": 10.0, "import_price_per_mwh": 100.0}
    res = run(scenario([2.0] * 4, [g], grid=grid), backend)
    assert res.objective == pytest.approx(1500.0, abs=ABS)
    np.testing.assert_allclose(col(res, "power_mw"), [3, 2, 1, 0], atol=ABS)


# ------------------------------------------------------------------ fuel
@pytest.mark.parametrize("backend", BACKENDS)
def test_fuel_stock_with_a_delivery_binds(backend):
    # cheap genset (50 per MWh, 1 MWh_th/MWh) of 0..2 MW, 2 MW of load for 4 h, grid at 100.
    # 1 MWh_th in the tank, 6 delivered at hour 2: hours 0-1 burn at most 1, hours 2-3 at
    # most 2 x 2 (Pmax): 5 MWh of genset (250) + 3 MWh of grid (300) = 550 (with all the
    # fuel at the start it would be 7 MWh of genset: 450)
    g = genset(min_power_mw=0.0, fuel_slopes_mwh_th_per_mwh=[1.0], fuel_price_per_mwh_th=50.0,
               fuel_stock_mwh_th=1.0, fuel_deliveries=[{"hour": 2, "fuel_mwh_th": 6.0}])
    grid = {"import_max_mw": 10.0, "import_price_per_mwh": 100.0}
    res = run(scenario([2.0] * 4, [g], grid=grid), backend)
    assert res.objective == pytest.approx(550.0, abs=ABS)
    assert col(res, "power_mw")[:2].sum() == pytest.approx(1.0, abs=ABS)
    np.testing.assert_allclose(col(res, "fuel_stock_mwh_th")[[1, 3]], [0.0, 2.0], atol=ABS)
    # nothing to switch off for (Pmin 0, no no-load fuel, no start cost): an LP
    assert not build_model(engine.Scenario.from_dict(scenario([2.0] * 4, [g], grid=grid))
                           ).model.arrays().is_mip
    early = copy.deepcopy(g)
    early["fuel_deliveries"][0]["hour"] = 0
    res = run(scenario([2.0] * 4, [early], grid=grid), backend)
    assert res.objective == pytest.approx(450.0, abs=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_convex_piecewise_fuel_curve(backend):
    # islanded (no grid): fuel = 0.5 (no load) + 1 per MWh up to 1 MW + 2 per MWh above,
    # at 10 per MWh_th. Load 0.5, 1.5, 2: fuel 1.0, 2.5, 3.5 = 7 MWh_th, 70
    g = genset(min_power_mw=0.0, fuel_no_load_mwh_th_per_h=0.5,
               fuel_slopes_mwh_th_per_mwh=[1.0, 2.0], fuel_breakpoints_mw=[1.0],
               fuel_price_per_mwh_th=10.0)
    res = run(scenario([0.5, 1.5, 2.0], [g], grid={}), backend)
    assert res.objective == pytest.approx(70.0, abs=ABS)
    np.testing.assert_allclose(col(res, "fuel_mwh_th"), [1.0, 2.5, 3.5], atol=ABS)


# ------------------------------------------------------------------ green floor and carbon
@pytest.mark.parametrize("backend", BACKENDS)
def test_genset_energy_is_fossil_for_the_green_floor(backend):
    # an all-clean grid at 100 and a genset at 50 per MWh of fuel plus carbon: 1 MWh_th/MWh,
    # 200 kg/MWh_th, 100 per t: 20 per MWh, so 70 per MWh. 2 MW for 4 h = 8 MWh.
    # Floor 50 %: at most 4 MWh of genset: 4 x 70 + 4 x 100 = 680; carbon 4 x 0.2 x 100 = 80
    g = genset(min_power_mw=0.0, fuel_slopes_mwh_th_per_mwh=[1.0], fuel_price_per_mwh_th=50.0,
               emission_kg_per_mwh_th=200.0)
    grid = {"import_max_mw": 10.0, "import_price_per_mwh": 100.0, "clean_share_fraction": 1.0}
    policy = {"green_share_min_fraction": 0.5, "carbon_price_per_t": 100.0}
    res = run(scenario([2.0] * 4, [g], grid=grid, policy=policy), backend)
    assert res.objective == pytest.approx(680.0, abs=ABS)
    assert res.costs["carbon"] == pytest.approx(80.0, abs=ABS)
    assert res.kpis["emissions_t"] == pytest.approx(0.8, abs=ABS)
    assert res.kpis["green_share"] == pytest.approx(0.5, abs=ABS)
    # without the floor the genset serves everything: 8 x 70
    res = run(scenario([2.0] * 4, [g], grid=grid, policy={"carbon_price_per_t": 100.0}), backend)
    assert res.objective == pytest.approx(560.0, abs=ABS)


# ------------------------------------------------------------------ aggregated units
@pytest.mark.parametrize("backend", BACKENDS)
def test_aggregated_units_match_separate_units(backend):
    # three identical units, min up 2 h, start cost, ramps, a two-segment curve: the
    # integer count and three binaries reach the same optimum
    load = [1.0, 2.5, 5.0, 6.5, 3.0, 1.0, 4.0, 1.0]
    kw = {"units": 3, "min_up_h": 2, "min_down_h": 2, "start_cost": 120.0,
          "ramp_up_mw_per_h": 1.5, "ramp_down_mw_per_h": 1.5, "fuel_no_load_mwh_th_per_h": 0.3,
          "fuel_slopes_mwh_th_per_mwh": [1.5, 2.5], "fuel_breakpoints_mw": [1.5]}
    grid = {"import_max_mw": 1.0, "import_price_per_mwh": 100.0}
    sep = run(scenario(load, [genset(**kw)], grid=grid), backend)
    agg = run(scenario(load, [genset(**kw, aggregate=True)], grid=grid), backend)
    assert agg.objective == pytest.approx(sep.objective, rel=1e-9)
    assert agg.kpis["unserved_mwh"] == pytest.approx(0.0, abs=ABS)
    assert col(agg, "units_on").max() == pytest.approx(3.0, abs=ABS)


# ------------------------------------------------------------------ relaxation bound
def test_lp_relaxation_bound_is_below_the_milp_and_tight_here():
    load = [1.0, 1.0, 3.0, 1.0, 1.0, 1.0]
    d = scenario(load, [genset(min_up_h=3, start_cost=50.0)])
    milp = run(d).objective
    bound = lp_bound(d)
    assert bound <= milp + ABS
    # the tight min-up form: the relaxation already pays most of the forced hours
    assert (milp - bound) / milp < 0.1


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("change, match", [
    ({"min_power_mw": 3.0}, r"gensets\[0\]\.min_power_mw: must be <= max_power_mw=2, got 3"),
    ({"min_up_h": 7}, r"gensets\[0\]\.min_up_h: must be <= horizon_h=6, got 7"),
    ({"min_down_h": 9}, r"gensets\[0\]\.min_down_h: must be <= horizon_h=6, got 9"),
    ({"start_cost": -1.0}, r"gensets\[0\]\.start_cost: must be >= 0"),
    ({"fuel_price_per_mwh_th": -5.0}, r"gensets\[0\]\.fuel_price_per_mwh_th"),
    ({"fuel_slopes_mwh_th_per_mwh": [2.0, 1.0], "fuel_breakpoints_mw": [1.0]},
     r"gensets\[0\]\.fuel_slopes_mwh_th_per_mwh: must not decrease"),
    ({"fuel_slopes_mwh_th_per_mwh": [1.0, 2.0]}, r"gensets\[0\]\.fuel_breakpoints_mw: must hold one breakpoint"),
    ({"fuel_slopes_mwh_th_per_mwh": [1.0, 2.0], "fuel_breakpoints_mw": [2.5]},
     r"gensets\[0\]\.fuel_breakpoints_mw: must increase strictly"),
    ({"initial_units_on": 2}, r"gensets\[0\]\.initial_units_on: must be <= units=1, got 2"),
    ({"initial_power_mw": 1.5}, r"gensets\[0\]\.initial_power_mw: must be absent when no unit is on"),
    ({"initial_units_on": 1, "initial_power_mw": 0.5},
     r"gensets\[0\]\.initial_power_mw: must be in \[min_power_mw, max_power_mw\]"),
    ({"initial_hours_in_state": 0}, r"gensets\[0\]\.initial_hours_in_state: must be >= 1"),
    ({"fuel_deliveries": [{"hour": 1, "fuel_mwh_th": 1.0}]},
     r"gensets\[0\]\.fuel_deliveries: need a fuel_stock_mwh_th"),
    ({"fuel_stock_mwh_th": 1.0, "fuel_deliveries": [{"hour": 6, "fuel_mwh_th": 1.0}]},
     r"gensets\[0\]\.fuel_deliveries\[0\]\.hour: must be < horizon_h=6, got 6"),
    ({"emission_kg_per_mwh_th": None}, r"gensets\[0\]\.emission_kg_per_mwh_th: required field is missing"),
    ({"units": 2.0}, r"gensets\[0\]\.units: must be an integer, got 2.0"),
    ({"aggregate": 1}, r"gensets\[0\]\.aggregate: must be true or false, got 1"),
    ({"start_cost": 1e9}, r"gensets\[0\]\.start_cost: must be <= 1e\+07 in magnitude"),
])
def test_bad_input_names_the_field(change, match):
    g = {**genset(), **change}
    g = {k: v for k, v in g.items() if v is not None}
    with pytest.raises(engine.ScenarioError, match=match) as exc:
        engine.Scenario.from_dict(scenario([1.0] * 6, [g]))
    # one line, in the house's form "<path>: <message>, got <value>"
    (path, text), = exc.value.items
    assert path.startswith("sites[0].gensets[0].") and ", got " in text or "missing" in text


# ------------------------------------------------------------------ files and the example
def test_gensets_round_trip_through_yaml(tmp_path):
    g = genset(units=2, aggregate=True, fuel_stock_mwh_th=5.0, initial_units_on=1,
               initial_hours_in_state=2, initial_power_mw=1.5,
               fuel_deliveries=[{"hour": 3, "fuel_mwh_th": 2.0}])
    sc = engine.Scenario.from_dict(scenario([1.0] * 6, [g]))
    path = tmp_path / "g.yaml"
    sc.to_yaml(path)
    assert engine.load_scenario(path) == sc


def test_week_example_rides_through_the_outage_on_gensets():
    sc = engine.load_scenario(EXAMPLES / "xining_gensets_week.yaml")
    res = engine.optimize(sc, time_limit_s=60)
    check_invariants(sc, res)
    assert res.kpis["unserved_mwh"] == pytest.approx(0.0, abs=ABS)
    power = col(res, "power_mw", "gas")
    outage = sc.sites[0].grid.outage_hours
    assert power[outage].sum() > 1.0  # the gensets carry part of the outage
    # everything they burn is counted: fuel at 300 per MWh_th and carbon at 60 per t
    assert res.costs["fuel"] == pytest.approx(300.0 * res.kpis["genset_fuel_mwh_th"], rel=1e-6)


# ------------------------------------------------------------------ LP-first MIP start
@pytest.mark.parametrize("mip_start", ["auto", "lp", "none"])
@pytest.mark.parametrize("k, expected", [(3, 2150.0), (4, 2300.0)])
def test_lp_first_mip_start_gives_the_same_optimum(k, expected, mip_start):
    # mip_start="lp" (and "auto", the default): the LP relaxation first; where its
    # commitment is integral it is the optimum, otherwise the MILP runs from it rounded;
    # "none": branch and bound directly. Every path gives the hand-derived optimum of the
    # start-cost trade-off (test above) and of the min-up-time case
    load = [1.0] * (k + 4)
    load[1] = load[k + 2] = 3.0
    res = run(scenario(load, [genset(start_cost=350.0)]), mip_start=mip_start)
    assert res.status == engine.Status.OPTIMAL
    assert res.objective == pytest.approx(expected, abs=ABS)
    res3 = run(scenario([1.0, 1.0, 3.0, 1.0, 1.0, 1.0], [genset(min_up_h=3)]),
               mip_start=mip_start)
    assert res3.objective == pytest.approx(1200.0, abs=ABS)
    if mip_start != "none":  # an integral relaxation is the optimum: root gap 0
        assert res3.root_gap == pytest.approx(0.0, abs=1e-9)
    if mip_start != "none":  # an integral relaxation is the optimum: root gap 0
        assert res3.root_gap == pytest.approx(0.0, abs=1e-9)
    assert col(res3, "starts").sum() == pytest.approx(1.0)


@pytest.mark.parametrize("mip_start", ["auto", "none"])
def test_lp_first_falls_back_to_the_milp_from_a_fractional_relaxation(mip_start):
    # 1.5 MW for one hour, the grid's 1 MW short by 0.5 MW below the genset's Pmin of 1 MW.
    # The relaxation commits a quarter unit (0.5 MW of genset at 200 + 1 MW of grid: 200);
    # the MILP runs the genset at Pmin (200) and takes 0.5 MW from the grid (50): 250
    d = scenario([1.5], [genset()])
    assert lp_bound(d) == pytest.approx(200.0, abs=ABS)
    res = run(d, mip_start=mip_start)
    assert res.status == engine.Status.OPTIMAL
    assert res.objective == pytest.approx(250.0, abs=ABS)
    if mip_start == "none":  # no relaxation was solved: none to report
        assert np.isnan(res.lp_relaxation) and np.isnan(res.root_gap)
    else:  # the relaxation is reported with its root gap (250 - 200) / 250
        assert res.lp_relaxation == pytest.approx(200.0, abs=ABS)
        assert res.root_gap == pytest.approx(0.2, abs=1e-9)
        assert res.summary_dict()["lp_relaxation"] == pytest.approx(200.0, abs=ABS)
    np.testing.assert_allclose(col(res, "units_on"), [1.0], atol=ABS)


def test_lp_first_mip_start_rejects_an_unknown_value():
    with pytest.raises(ValueError, match="mip_start"):
        engine.optimize(engine.Scenario.from_dict(scenario([1.0], [genset()])), mip_start="x")
