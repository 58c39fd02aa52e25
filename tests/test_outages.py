"""Service tiers and outage scenarios: cases whose optimum is derived by hand, on both backends.

Unless a test says otherwise: one site, PUE 1, a fixed inflexible IT load, a grid at 50
per MWh, the policy's value of lost load 10,000 per MWh (so the critical tier's default is
100,000), and a lossless battery of 5 MWh at 50 % SOC (2.5 MWh) that cannot charge
(charge power 0), discharges up to 4 MW, may empty (SOC floor 0) and ends free.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import check_invariants

import engine
from engine.errors import ScenarioError

BACKENDS = ["highs", "pyomo"]
ABS = 1e-6
VOLL_C, VOLL_S = 100_000.0, 10_000.0

BATTERY = {"name": "b", "energy_mwh": 5.0, "charge_power_mw": 0.0, "discharge_power_mw": 4.0,
           "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "soc_min_fraction": 0.0,
           "initial_soc_fraction": 0.5, "terminal": "free"}


def scenario(load, T: int, *, battery: dict | None = BATTERY, price=50.0, outages=None,
             dc: dict | None = None, grid: dict | None = None, jobs=None, gensets=None) -> dict:
    datacenter = {"gpus": 1000, "it_power_per_gpu_kw": 10.0, "pue": 1.0,
                  "inflexible_it_mw": load, "critical_load_fraction": 1.0}
    datacenter.update(dc or {})
    g = {"import_max_mw": 20.0, "import_price_per_mwh": price}
    g.update(grid or {})
    site = {"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "datacenter": datacenter, "grid": g,
            "batteries": [copy.deepcopy(battery)] if battery else [], "gensets": gensets or []}
    d = {"name": "outage", "start": "2023-01-01 00:00", "timezone": "UTC", "horizon_h": T,
         "sites": [site], "policy": {}}
    if outages is not None:
        d["policy"]["outages"] = outages
    if jobs:
        d["jobs"] = jobs
    return d


def one(start: int, duration: int, **kw) -> dict:
    return {"start_hours": [start], "durations_h": [duration], "duration_probabilities": [1.0],
            **kw}


def run(d: dict, backend: str = "highs") -> engine.Result:
    sc = engine.Scenario.from_dict(d)
    res = engine.optimize(sc, backend=backend, time_limit_s=60)
    check_invariants(sc, res)
    return res


@pytest.mark.parametrize("backend", BACKENDS)
def test_survival_of_one_outage(backend):
    """2 MW critical load, 2.5 MWh stored at the start of a 4-hour outage (hours 2..5).

    The battery lasts 2.5 / 2 = 1.25 h; unserved critical energy 8 - 2.5 = 5.5 MWh at
    100,000 = 550,000. The plan keeps the 2.5 MWh until hour 2 (the outage is worth far more
    than the grid's 50) and spends it from hour 2 on: 12 MWh x 50 - 2.5 x 50 = 475.
    """
    res = run(scenario(2.0, 6, outages=one(2, 4)), backend)
    assert res.objective == pytest.approx(550_475.0, abs=ABS)
    assert res.costs["outage_unserved"] == pytest.approx(550_000.0, abs=ABS)
    assert res.costs["energy"] == pytest.approx(475.0, abs=ABS)
    row = res.outages.iloc[0]
    assert row["unserved_critical_mwh"] == pytest.approx(5.5, abs=ABS)
    assert row["survival_h"] == pytest.approx(1.25, abs=ABS)
    assert res.kpis["survival_h_min"] == pytest.approx(1.25, abs=ABS)
    assert res.kpis["outage_expected_unserved_critical_mwh"] == pytest.approx(5.5, abs=ABS)
    soc = res.hourly["battery.b/soc_mwh"].to_numpy()
    assert soc[1] == pytest.approx(2.5, abs=ABS)  # what the outage starts from


@pytest.mark.parametrize("backend", BACKENDS)
def test_tiers_shed_sheddable_first_in_outage(backend):
    """4 MW inference, half critical; a 2-hour outage from hour 2 with 2.5 MWh stored.

    The battery serves the critical tier: 2.5 of its 4 MWh; unserved 1.5 critical
    (150,000) and all 4 sheddable (40,000). Plan: 24 MWh x 50 - 2.5 x 50 = 1,075.
    """
    d = scenario(4.0, 6, outages=one(2, 2), dc={"critical_load_fraction": 0.5})
    res = run(d, backend)
    row = res.outages.iloc[0]
    assert row["unserved_critical_mwh"] == pytest.approx(1.5, abs=ABS)
    assert row["unserved_sheddable_mwh"] == pytest.approx(4.0, abs=ABS)
    assert row["survival_h"] == pytest.approx(1.25, abs=ABS)
    assert res.objective == pytest.approx(1.5 * VOLL_C + 4 * VOLL_S + 1_075.0, abs=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tiers_in_deterministic_outage_and_paused_job(backend):
    """Grid out in hour 1 of 3: the 2.5 MWh battery serves the 2 MW critical tier and 0.5 of
    the 2 MW sheddable tier; 1.5 MWh sheddable is shed at 10,000 = 15,000. The job (2 MWh,
    1 MW, window 0..3) pauses in hour 1 and runs in hours 0 and 2: 100. Load in hours 0
    and 2: 8 MWh x 50 = 400."""
    d = scenario(4.0, 3, dc={"critical_load_fraction": 0.5}, grid={"outage_hours": [1]},
                 jobs=[{"name": "train", "energy_mwh": 2.0, "release_h": 0, "deadline_h": 3,
                        "max_power_mw": 1.0}])
    res = run(d, backend)
    assert res.objective == pytest.approx(15_000 + 100 + 400, abs=ABS)
    h = res.hourly
    np.testing.assert_allclose(h["bus.s/unserved_critical_mw"], [0, 0, 0], atol=ABS)
    np.testing.assert_allclose(h["bus.s/unserved_sheddable_mw"], [0, 1.5, 0], atol=ABS)
    np.testing.assert_allclose(h["bus.s/unserved_mw"], [0, 1.5, 0], atol=ABS)
    assert res.job_power_mw("train").iloc[1] == pytest.approx(0.0, abs=ABS)
    assert res.kpis["unserved_critical_mwh"] == pytest.approx(0.0, abs=ABS)
    assert res.kpis["unserved_sheddable_mwh"] == pytest.approx(1.5, abs=ABS)
    assert res.costs["unserved"] == pytest.approx(15_000, abs=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_min_survival_holds_energy_cost_of_resilience(backend):
    """Hours 0-1 cost 100, hours 2-3 cost 50; 2 MW critical; an outage of 2 h from hour 2
    expected 1e-4 times (10 per MWh of critical unserved); the battery may charge (4 MW).

    Without the rule the battery is worth 100 in hours 0-1 and only 50 + 10 later: it
    empties before the outage. Plan 4 x 100 - 250 + 4 x 50 = 350; outage 4 MWh x 10 = 40;
    total 390, survival 0 h. With ``min_survival_h = 2`` it must hold 4 MWh at hour 2:
    buy 1.5 more at 100 (150), cover hours 2-3 from it: plan 4 x 100 + 150 + 0 = 550,
    outage 0; total 550, survival 2 h. Cost of resilience 160.
    """
    bat = {**BATTERY, "charge_power_mw": 4.0}
    base = {"battery": bat, "price": [100.0, 100.0, 50.0, 50.0]}
    free = run(scenario(2.0, 4, outages=one(2, 2, outages_per_horizon=1e-4), **base), backend)
    rule = run(scenario(2.0, 4, outages=one(2, 2, outages_per_horizon=1e-4, min_survival_h=2),
                        **base), backend)
    assert free.objective == pytest.approx(390.0, abs=ABS)
    assert rule.objective == pytest.approx(550.0, abs=ABS)
    assert rule.objective - free.objective == pytest.approx(160.0, abs=ABS)
    assert free.kpis["survival_h_min"] == pytest.approx(0.0, abs=ABS)
    assert rule.kpis["survival_h_min"] == pytest.approx(2.0, abs=ABS)
    assert rule.hourly["battery.b/soc_mwh"].iloc[1] == pytest.approx(4.0, abs=ABS)
    assert rule.outages["unserved_critical_mwh"].sum() == pytest.approx(0.0, abs=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("extra", "outage_cost"), [
    ({}, 0.5 * 3e5 + 0.5 * 6e5),                                  # expected, equal weights
    ({"start_probabilities": [0.8, 0.2]}, 0.8 * 3e5 + 0.2 * 6e5),  # expected, given weights
    ({"start_weighting": "worst"}, 6e5),                           # REopt: max over starts
])
def test_start_weighting(backend, extra, outage_cost):
    """No storage; load [2, 2, 4, 4] MW, all critical; starts 0 and 2, durations 1 and 2 h
    at 0.5 each. Start 0 loses 2 or 4 MWh (expected 3 MWh = 300,000), start 2 loses 4 or
    8 MWh (600,000). Plan 12 MWh x 50 = 600."""
    out = {"start_hours": [0, 2], "durations_h": [1, 2], "duration_probabilities": [0.5, 0.5],
           **extra}
    res = run(scenario([2.0, 2.0, 4.0, 4.0], 4, battery=None, outages=out), backend)
    assert res.objective == pytest.approx(600.0 + outage_cost, abs=ABS)
    assert res.kpis["survival_h_min"] == pytest.approx(0.0, abs=ABS)


def test_outage_wraps_past_the_last_hour():
    """Start 3, duration 2 on a 4-hour horizon: hours 3 and 0 (4 + 2 MWh lost)."""
    res = run(scenario([2.0, 2.0, 4.0, 4.0], 4, battery=None, outages=one(3, 2)))
    assert res.outages["unserved_critical_mwh"].iloc[0] == pytest.approx(6.0, abs=ABS)
    assert res.objective == pytest.approx(600.0 + 6 * VOLL_C, abs=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_genset_fuel_stock_in_outage(backend):
    """A 1 MW genset burning 2 MWh_th per MWh at 100 (200 per MWh) with 3 MWh_th in its
    tank; a 2-hour outage from hour 0 of a 2 MW critical load, no battery. The tank gives
    1.5 MWh: unserved 4 - 1.5 = 2.5 MWh (250,000) plus 3 MWh_th of fuel (300). The plan
    buys from the grid (50 < 200): 4 MWh x 50 = 200. Survival: 1 MW of 2 in the first
    hour, so 0.5 h."""
    g = {"name": "g", "max_power_mw": 1.0, "fuel_slopes_mwh_th_per_mwh": [2.0],
         "fuel_price_per_mwh_th": 100.0, "emission_kg_per_mwh_th": 0.0,
         "fuel_stock_mwh_th": 3.0}
    res = run(scenario(2.0, 2, battery=None, outages=one(0, 2), gensets=[g]), backend)
    assert res.objective == pytest.approx(200 + 250_000 + 300, abs=ABS)
    assert res.costs["outage_fuel"] == pytest.approx(300.0, abs=ABS)
    row = res.outages.iloc[0]
    assert row["genset_mwh"] == pytest.approx(1.5, abs=ABS)
    assert row["survival_h"] == pytest.approx(0.5, abs=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_outage_fuel_pays_its_carbon_price(backend):
    """The case above with 250 kg CO2 per MWh_th and a carbon price of 80 per t: the 3 MWh_th
    the outage burns pay 3 x 0.25 x 80 = 60 more (``outage_carbon``); the plan burns none,
    and its grid has no emission factor, so nothing else changes."""
    g = {"name": "g", "max_power_mw": 1.0, "fuel_slopes_mwh_th_per_mwh": [2.0],
         "fuel_price_per_mwh_th": 100.0, "emission_kg_per_mwh_th": 250.0,
         "fuel_stock_mwh_th": 3.0}
    d = scenario(2.0, 2, battery=None, outages=one(0, 2), gensets=[g])
    d["policy"]["carbon_price_per_t"] = 80.0
    res = run(d, backend)
    assert res.costs["outage_carbon"] == pytest.approx(60.0, abs=ABS)
    assert res.costs["outage_fuel"] == pytest.approx(300.0, abs=ABS)
    assert res.objective == pytest.approx(200 + 250_000 + 300 + 60, abs=ABS)
    assert res.outages["cost"].iloc[0] == pytest.approx(250_000 + 300 + 60, abs=ABS)


def test_no_tier_fields_keeps_one_unserved_group():
    """Without tier fields the model holds one unserved group, as before."""
    d = scenario(2.0, 3, dc={"critical_load_fraction": None}, grid={"outage_hours": [1]})
    del d["sites"][0]["datacenter"]["critical_load_fraction"]
    sc = engine.Scenario.from_dict(d)
    f = engine.api.build_model(sc)
    assert "bus/unserved_critical_mw" not in f.model.var_groups
    res = run(d)
    # 2 MW in hour 1 from 2.5 MWh: nothing shed; 4 MWh from the grid minus the 0.5 left
    assert res.objective == pytest.approx(4 * 50 - 0.5 * 50, abs=ABS)
    assert "unserved_critical_mwh" not in res.kpis


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["policy"]["outages"].update(durations_h=[4, 9], duration_probabilities=[.5, .5]),
     "policy.outages.durations_h[1]: must be <= horizon_h=6, got 9"),
    (lambda d: d["policy"]["outages"].update(duration_probabilities=[0.9]),
     "policy.outages.duration_probabilities: must sum to 1, got 0.9"),
    (lambda d: d["policy"]["outages"].update(start_hours=[2, 6]),
     "policy.outages.start_hours[1]: must be < horizon_h=6, got 6"),
    (lambda d: d["policy"]["outages"].update(start_hours=None, start_every_h=2,
                                             start_offset_h=7),
     "policy.outages.start_offset_h: must be < horizon_h=6, got 7"),
    (lambda d: d["policy"]["outages"].update(start_probabilities=[1.0, 0.0]),
     "policy.outages.start_probabilities: must hold one probability per start (1), got 2"),
    (lambda d: d["policy"]["outages"].update(start_probabilities=[0.5]),
     "policy.outages.start_probabilities: must sum to 1, got 0.5"),
    (lambda d: d["policy"]["outages"].update(min_survival_h=5),
     "policy.outages.min_survival_h: must be <= the longest duration (4 h"),
    (lambda d: d["policy"]["outages"].update(start_every_h=3),
     "policy.outages.start_hours: give start_hours or start_every_h (exactly one), got both"),
    (lambda d: d["policy"]["outages"].update(duration_probabilities=[0.5, 0.5]),
     "policy.outages.duration_probabilities: must hold one probability per duration (1), got 2"),
    (lambda d: d["sites"][0]["datacenter"].update(critical_value_of_lost_load_per_mwh=5.0),
     "sites[0].datacenter.critical_value_of_lost_load_per_mwh: must be >= the sheddable"),
    (lambda d: d["sites"][0]["datacenter"].update(critical_load_fraction=None,
                                                  critical_it_mw=3.0),
     "sites[0].datacenter.critical_it_mw: must not exceed the inflexible IT load"),
    (lambda d: d["sites"][0]["datacenter"].update(critical_it_mw=1.0),
     "sites[0].datacenter.critical_it_mw: give it or critical_load_fraction, not both"),
    (lambda d: (d["sites"][0]["grid"].update(outage_hours=[2, 3]),
                d.update(jobs=[{"name": "j", "energy_mwh": 1.0, "release_h": 2,
                                "deadline_h": 4, "max_power_mw": 1.0}])),
     "jobs[0]: job 'j' needs 1 MWh but the IT capacity left by the inflexible load"),
])
def test_bad_input(change, message):
    d = scenario(2.0, 6, outages=one(2, 4))
    change(d)
    with pytest.raises(ScenarioError) as exc:
        engine.Scenario.from_dict(d)
    assert message in str(exc.value)


def test_microgrid_example():
    """The example: invariants, every start survives the rule's 8 hours, tiers reported."""
    from conftest import EXAMPLES

    sc = engine.load_scenario(EXAMPLES / "xining_microgrid.yaml")
    res = engine.optimize(sc, time_limit_s=120)
    check_invariants(sc, res)
    o = res.outages
    assert len(o) == 28 * 3
    n = sc.policy.outages.min_survival_h
    assert o["survival_h"].min() >= n - 1e-6
    # no critical load is unserved within the rule's hours (the LP's own bounds say so;
    # beyond them a 24-hour outage may run short)
    assert res.kpis["unserved_critical_mwh"] == pytest.approx(0.0, abs=ABS)
    assert res.kpis["job_energy_saved_mwh"] > 0
    assert np.isclose(o["probability"].sum(), 1.0)


def test_survival_rule_that_cannot_be_met_is_named():
    """2.5 MWh cannot carry 2 MW for 2 hours (and the battery cannot charge): infeasible,
    and the diagnosis names the rule's group."""
    res = engine.optimize(engine.Scenario.from_dict(
        scenario(2.0, 4, outages=one(2, 2, min_survival_h=2))))
    assert res.status == engine.Status.INFEASIBLE
    assert "policy/outage_survival" in res.diagnosis


def test_outages_table_written(tmp_path):
    """The outages table goes to parquet and to the JSON summary."""
    import json

    import pandas as pd

    res = run(scenario(2.0, 6, outages=one(2, 4)))
    res.to_parquet(tmp_path)
    back = pd.read_parquet(tmp_path / "outages.parquet")
    assert back["survival_h"].iloc[0] == pytest.approx(1.25)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["outages"][0]["unserved_critical_mwh"] == pytest.approx(5.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_survival_never_below_the_rule(backend):
    """Critical load [1, 4] MW, a 1 MWh battery discharging at most 1 MW, a 3 MW genset with
    12 MWh_th (4 MWh at 3 MWh_th/MWh, fuel 100 per MWh_th); an outage of both hours from 0 with
    ``min_survival_h = 2``. Battery first (the greedy simulation) fails in hour 1 (3 of 4
    MW: 1.75 h); the LP runs the genset in hour 0 and keeps the battery for hour 1, so the
    critical load lasts 2 h. Plan: 5 MWh x 50 - the battery's 1 MWh x 50 = 200; outage
    fuel 12 x 100 = 1,200."""
    bat = {**BATTERY, "energy_mwh": 2.0, "discharge_power_mw": 1.0}
    g = {"name": "g", "max_power_mw": 3.0, "fuel_slopes_mwh_th_per_mwh": [3.0],
         "fuel_price_per_mwh_th": 100.0, "emission_kg_per_mwh_th": 0.0,
         "fuel_stock_mwh_th": 12.0}
    res = run(scenario([1.0, 4.0], 2, battery=bat, gensets=[g],
                       outages=one(0, 2, min_survival_h=2)), backend)
    assert res.objective == pytest.approx(200 + 1_200, abs=ABS)
    assert res.outages["survival_h"].iloc[0] == pytest.approx(2.0, abs=ABS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("restart, expected, hours", [
    (None, 20.0, [1, 3]), (0.1, 21.0, [1, 3]), (0.5, 22.0, [3, 4])])
def test_restart_energy_after_an_outage(backend, restart, expected, hours):
    """Grid out in hour 2 of 5, no inflexible load, prices 100, 10, -, 10, 12; a 2 MWh job
    at up to 1 MW in window 0..5 pauses there. Its cost is 10 p1 + 10 p3 + 12 p4 + 100 p0
    plus the restart: R p1 (from p[a-1] = p1, R / Pmax = R) drawn in hour 3 at 10. Without
    a restart it runs hours 1 and 3 (20); R = 0.1 makes p1 cost 11 < 12: the same hours,
    21; R = 0.5 makes it 15 > 12: hours 3 and 4, 22, no restart."""
    job = {"name": "train", "energy_mwh": 2.0, "release_h": 0, "deadline_h": 5,
           "max_power_mw": 1.0}
    if restart is not None:
        job["restart_energy_mwh"] = restart
    d = scenario(0.0, 5, battery=None, price=[100.0, 10.0, 10.0, 10.0, 12.0],
                 dc={"critical_load_fraction": None, "jobs_pause_in_outages": True},
                 grid={"outage_hours": [2]}, jobs=[job])
    res = run(d, backend)
    assert res.objective == pytest.approx(expected, abs=ABS)
    p = res.job_power_mw("train").to_numpy()
    np.testing.assert_allclose(np.flatnonzero(p > 0.5), hours)
    paid = restart * p[1] if restart else 0.0
    assert res.kpis["job_restart_energy_mwh"] == pytest.approx(paid, abs=ABS)
    it = res.hourly["datacenter.s/it_mw"].to_numpy()
    assert it[3] == pytest.approx(p[3] + paid, abs=ABS)   # the restart loads hour 3


def test_restart_energy_refused_on_a_non_preemptible_job():
    job = {"name": "train", "energy_mwh": 2.0, "release_h": 0, "deadline_h": 5,
           "max_power_mw": 1.0, "preemptible": False, "restart_energy_mwh": 0.5}
    with pytest.raises(ScenarioError, match="restart_energy_mwh"):
        engine.Scenario.from_dict(scenario(0.0, 5, battery=None, jobs=[job]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("restart, expected, hours", [
    (None, 30.0, [0, 1]), (0.2, 38.0, [0, 1]), (0.5, 40.0, [0, 2])])
def test_restart_energy_of_an_outage_scenario(backend, restart, expected, hours):
    """No load but a 2 MWh job (1 MW, window 0..4), prices 10, 20, 30, 40, an outage
    scenario at hour 2 for 1 h (weight 1). Running in hour 1 means a restart when the grid
    comes back in hour 3: R p1 at 40. R = 0.2: hours 0, 1 and 0.2 x 40 = 8 (38 < 40);
    R = 0.5: p1 would cost 20 + 20 > 30, so hours 0 and 2, 40, nothing to restart."""
    job = {"name": "train", "energy_mwh": 2.0, "release_h": 0, "deadline_h": 4,
           "max_power_mw": 1.0}
    if restart is not None:
        job["restart_energy_mwh"] = restart
    d = scenario(0.0, 4, battery=None, price=[10.0, 20.0, 30.0, 40.0], outages=one(2, 1),
                 jobs=[job])
    res = run(d, backend)
    assert res.objective == pytest.approx(expected, abs=ABS)
    p = res.job_power_mw("train").to_numpy()
    np.testing.assert_allclose(np.flatnonzero(p > 0.5), hours)
    paid = 40.0 * restart * p[1] if restart else 0.0
    assert res.costs.get("outage_restart", 0.0) == pytest.approx(paid, abs=ABS)
    assert res.outages["cost"].iloc[0] == pytest.approx(paid, abs=ABS)


RESERVE_GENSET = {"name": "g", "units": 3, "max_power_mw": 1.5, "min_power_mw": 0.5,
                  "fuel_no_load_mwh_th_per_h": 1.0, "fuel_slopes_mwh_th_per_mwh": [2.0],
                  "fuel_price_per_mwh_th": 100.0, "emission_kg_per_mwh_th": 0.0}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule, hours, expected, units_on", [
    (None, "outages", 175.0, [0, 0, 0]),
    ("n", "outages", 525.0, [0, 2, 0]),
    ("n+1", "outages", 700.0, [0, 3, 0]),
    ("n", "always", 1225.0, [2, 2, 2])])
def test_critical_reserve(backend, rule, hours, expected, units_on):
    """2 MW critical load, grid out in hour 1 of 3, the battery's 2.5 MWh could carry the
    outage alone and give the rest to the grid hours (6 - 2.5 = 3.5 MWh x 50 = 175). Three
    1.5 MW units (Pmin 0.5, fuel 1 u + 2 p MWh_th at 100, so 200 per MWh: never worth more
    than their minimum). "n" commits 2 units (3 >= 2 MW) in the outage hour at 1 MW: fuel
    2 + 2 = 4 MWh_th, 400; the battery gives 1 MW there and 1.5 MWh to the grid hours (grid
    2.5 MWh, 125): 525. "n+1" needs 2 + 1.5 = 3.5 MW: 3 units at 1.5 MW, fuel 3 + 3 = 6,
    600; battery 0.5 + 2.0, grid 2.0 MWh, 100: 700. "n" in every hour: 2 units at 1 MW each
    hour (1,200); the battery's 2.5 MWh covers the outage's other 1 MW and 1.5 of the grid
    hours' 2 MWh: grid 0.5 MWh, 25: 1225."""
    dc = {} if rule is None else {"critical_reserve": rule, "critical_reserve_hours": hours}
    d = scenario(2.0, 3, dc=dc, grid={"outage_hours": [1]}, gensets=[RESERVE_GENSET])
    res = run(d, backend)
    assert res.objective == pytest.approx(expected, abs=ABS)
    on = sum(res.hourly[f"genset.g_{k}/units_on"].to_numpy() for k in range(3)) \
        if "genset.g_0/units_on" in res.hourly else res.hourly["genset.g/units_on"].to_numpy()
    np.testing.assert_allclose(on, units_on, atol=ABS)


@pytest.mark.parametrize("gensets, rule, message", [
    ([], "n", "no gensets"),
    ([dict(RESERVE_GENSET, units=1)], "n+1", "at least two genset units")])
def test_critical_reserve_bad_input(gensets, rule, message):
    d = scenario(2.0, 3, dc={"critical_reserve": rule}, gensets=gensets)
    with pytest.raises(ScenarioError, match=f"critical_reserve.*{message}"):
        engine.Scenario.from_dict(d)
