"""Demand response: events paid against a baseline, baselines from the plan, the envelope."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import check_invariants

import engine
from engine.markets import flexibility_envelope

BACKENDS = ["highs", "pyomo"]
BATTERY = {"name": "b", "energy_mwh": 1.0, "charge_power_mw": 1.0, "discharge_power_mw": 1.0,
           "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "soc_min_fraction": 0.0,
           "initial_soc_fraction": 0.0, "terminal": "free"}


def scenario(load, prices, dr, battery=BATTERY, gpus=10000):
    return engine.Scenario.from_dict({
        "name": "dr", "start": "2023-07-01 00:00", "timezone": "UTC", "horizon_h": len(load),
        "sites": [{
            "name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "grid": {"import_max_mw": 20, "import_price_per_mwh": list(prices)},
            "datacenter": {"gpus": gpus, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": list(load)},
            "batteries": [battery] if battery else [],
        }],
        "demand_response": dr,
    })


def event(name="e", start=1, duration=1, reduction=1.0, pay=500.0, **kw):
    return {"name": name, "site": "s", "start_h": start, "duration_h": duration,
            "reduction_mw": reduction, "payment_per_mwh": pay, **kw}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduction, penalty, objective, delivered", [
    (1.0, 0.0, -440.0, 1.0), (1.5, 100.0, -390.0, 1.0)])
def test_event_paid_reduction_times_price(backend, reduction, penalty, objective, delivered):
    """2 MW of load for 3 hours at 10 per MWh; a 1 MW / 1 MWh battery (lossless, empty).
    An event asks ``reduction`` MW below a declared 2 MW baseline in hour 1, paid 500.

    The battery charges 1 MWh in hour 0 and discharges it in hour 1: imports 3, 1, 2 (60).
    R = 1: delivered 1 MWh, paid exactly 1 x 500: objective -440. R = 1.5 with a penalty of
    100: still 1 MWh delivered (the battery's power), paid 500, 0.5 short x 100 = 50:
    objective -390."""
    dr = {"baseline": "declared",
          "events": [event(reduction=reduction, penalty_per_mwh=penalty, baseline_mw=[2.0])]}
    sc = scenario([2, 2, 2], [10, 10, 10], dr)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(objective, abs=1e-7)
    row = res.tables["dr_events"].iloc[0]
    assert row["delivered_mwh"] == pytest.approx(delivered, abs=1e-7)
    assert row["revenue"] == pytest.approx(500.0 * delivered, abs=1e-7)
    assert res.costs["dr_revenue"] == pytest.approx(-500.0 * delivered, abs=1e-7)
    assert row["shortfall_mwh"] == pytest.approx(reduction - delivered, abs=1e-7)
    check_invariants(sc, res)


def _five_days():
    load = np.full(120, 0.5)
    load[[18, 42, 66, 90, 114]] = [1.0, 2.0, 1.5, 3.0, 2.5]  # hour 18 of days 0..4
    return load.tolist()


@pytest.mark.parametrize("backend", BACKENDS)
def test_previous_days_baseline_from_the_plan(backend):
    """Five days, flat price 10; a lossless 1 MWh battery with degradation 1 per MWh stays
    idle in the plan, so the plan's net import is the load. Load at hour 18 of days 0..4:
    1.0, 2.0, 1.5, 3.0, 2.5. Events at hour 18 of days 2 and 4, two baseline days.

    Day 2: previous non-event days 1, 0: baseline (2.0 + 1.0) / 2 = 1.5. Day 4: day 3 and
    day 1 (day 2 is an event day): (3.0 + 2.0) / 2 = 2.5 (2.25 had day 2 counted). Each
    asks 0.5 MW, paid 200: the battery delivers both, 0.5 MWh each (revenue 200). The cost
    to the park is the degradation of 2 MWh of throughput: 2; net benefit 198."""
    battery = {**BATTERY, "degradation_cost_per_mwh": 1.0}
    dr = {"baseline": "previous_days", "baseline_days": 2,
          "events": [event("d2", 66, reduction=0.5, pay=200.0),
                     event("d4", 114, reduction=0.5, pay=200.0)]}
    sc = scenario(_five_days(), [10] * 120, dr, battery=battery)
    res = engine.optimize(sc, backend=backend)
    t = res.tables["dr_events"]
    np.testing.assert_allclose(t["mean_baseline_mw"], [1.5, 2.5], atol=1e-9)
    np.testing.assert_allclose(t["delivered_mwh"], [0.5, 0.5], atol=1e-7)
    assert res.kpis["dr_revenue"] == pytest.approx(200.0, abs=1e-7)
    assert res.kpis["dr_cost_to_park"] == pytest.approx(2.0, abs=1e-6)
    assert res.kpis["dr_net_benefit"] == pytest.approx(198.0, abs=1e-6)
    check_invariants(sc, res)


@pytest.mark.parametrize("dr, field", [
    ({"events": [event(start=2, duration=3)]}, r"events\[0\]\.start_h"),
    ({"events": [event(reduction=-1.0)]}, r"events\[0\]\.reduction_mw"),
    ({"events": [event(site="x")]}, r"events\[0\]\.site"),
    ({"baseline": "declared", "events": [event()]}, r"events\[0\]\.baseline_mw"),
    ({"events": [event(baseline_mw=[1.0, 2.0])]}, r"events\[0\]\.baseline_mw"),
    ({"events": [event()]}, r"events\[0\]\.start_h"),  # no previous days in 3 hours
    ({"baseline": "declared", "events": [event(baseline_mw=2.0, duration=2, start=0),
                                         event("f", start=1, baseline_mw=2.0)]},
     r"events\[1\]\.start_h"),
    ({"events": [event(notice_h=5)]}, r"events\[0\]\.notice_h"),
])
def test_bad_events_name_the_field(dr, field):
    with pytest.raises(engine.ScenarioError, match=field):
        scenario([2, 2, 2], [10, 10, 10], dr)


ENV_BATTERY = {**BATTERY, "energy_mwh": 2.0, "charge_power_mw": 1.5, "discharge_power_mw": 1.5,
               "degradation_cost_per_mwh": 1.0}


def _envelope_expected(h, d):
    """2 MW flat load at price 10; an empty lossless 1.5 MW / 2 MWh battery (idle in the
    plan). Holding R below the plan for d hours from hour h: R <= 1.5 (power), R <= 2 (the
    import), and R d <= the energy charged before h: min(2, 1.5 h)."""
    return min(1.5, 2.0, min(2.0, 1.5 * h) / d)


def test_envelope_matches_the_hand_derivation():
    sc = scenario([2.0] * 8, [10] * 8, None, battery=ENV_BATTERY)
    env = flexibility_envelope(sc, durations=(1, 2, 4))
    expected = [_envelope_expected(h, d) for h, d in zip(env["start_h"], env["duration_h"])]
    np.testing.assert_allclose(env["reduction_mw"], expected, atol=1e-7)
    assert len(env) == 8 + 7 + 5
    np.testing.assert_allclose(env["plan_net_import_mw"], 2.0, atol=1e-9)


def test_envelope_in_place_equals_fresh_models():
    """Two days of different prices and loads on one persistent model (bounds, costs and
    coefficients changed in place) give what a fresh model per point gives."""
    days = [scenario((2.0 + 0.3 * np.sin(np.arange(24) / 3 + k)).round(3).tolist(),
                     (40 + 20 * np.cos(np.arange(24) / 4 + k)).round(2).tolist(), None,
                     battery=ENV_BATTERY) for k in range(2)]
    env = flexibility_envelope(days, durations=(1, 4))
    assert env.attrs["n_models_built"] == 1
    for k, sc in enumerate(days):
        for h, d in [(0, 1), (5, 4), (13, 1), (20, 4)]:
            fresh = flexibility_envelope(sc, durations=(d,), hours=[h])
            got = env[(env.scenario == k) & (env.start_h == h) & (env.duration_h == d)]
            np.testing.assert_allclose(got["reduction_mw"].to_numpy(),
                                       fresh["reduction_mw"].to_numpy(), atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_shifted_job_delivers(backend):
    """No battery; a 1 MWh job may run in any of hours 0-2 at 1 MW, price 10 flat. An event
    asks 1 MW below a declared 1 MW baseline in hour 1, paid 100: the job runs outside
    hour 1, delivering 1 MWh. Objective 10 - 100 = -90."""
    dr = {"baseline": "declared", "events": [event(reduction=1.0, pay=100.0, baseline_mw=1.0)]}
    sc = engine.Scenario.from_dict({
        "name": "dr_job", "start": "2023-07-01 00:00", "timezone": "UTC", "horizon_h": 3,
        "sites": [{"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
                   "grid": {"import_max_mw": 20, "import_price_per_mwh": 10.0},
                   "datacenter": {"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0}}],
        "jobs": [{"name": "j", "energy_mwh": 1.0, "release_h": 0, "deadline_h": 3,
                  "max_power_mw": 1.0}],
        "demand_response": dr})
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(-90.0, abs=1e-7)
    assert res.job_power_mw("j").iloc[1] == pytest.approx(0.0, abs=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shedding_inference_at_its_value_delivers(backend):
    """1 MW of sheddable inference in one hour at price 10, value of lost load 50; an event
    asks 1 MW below a 1 MW baseline, paid 100. Shedding costs 50 and earns 100 + the 10 not
    bought: shed. Objective 50 - 100 = -50 (without the event: 10)."""
    dr = {"baseline": "declared", "events": [event(start=0, reduction=1.0, pay=100.0,
                                                   baseline_mw=1.0)]}
    sc = engine.Scenario.from_dict({
        "name": "dr_shed", "start": "2023-07-01 00:00", "timezone": "UTC", "horizon_h": 1,
        "policy": {"value_of_lost_load_per_mwh": 50.0},
        "sites": [{"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
                   "grid": {"import_max_mw": 20, "import_price_per_mwh": 10.0},
                   "datacenter": {"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                                  "inflexible_it_mw": 1.0}}],
        "demand_response": dr})
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(-50.0, abs=1e-7)
    assert res.kpis["unserved_mwh"] == pytest.approx(1.0, abs=1e-9)


NOTICE_BATTERY = {**BATTERY, "energy_mwh": 2.0, "degradation_cost_per_mwh": 1.0}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("notice, delivered, penalty, objective", [
    (None, 2.0, 0.0, -916.0), (2, 2.0, 0.0, -916.0), (1, 1.0, 100.0, -318.0),
    (0, 0.0, 200.0, 280.0)])
def test_notice_limits_what_a_battery_can_pre_charge(backend, notice, delivered, penalty,
                                                     objective):
    """2 MW flat load for 4 h at 10/MWh; an empty lossless 1 MW / 2 MWh battery with a
    throughput cost of 1/MWh (charge + discharge). An event asks 1 MW below a declared 2 MW
    baseline in hours 2-3, paid 500/MWh, penalised 100/MWh short.

    The plan without the event keeps the battery idle (no price spread, a throughput cost):
    imports 8 MWh, cost 80, its only optimum. Known at hour a = 2 - notice, the park can
    charge only in the hours from max(a, 0) up to 2, 1 MWh per hour:
    * unset or notice 2 (a = 0): charge 1 + 1 in hours 0, 1; discharge 1 + 1 in hours 2, 3:
      imports 3, 3, 1, 1 (80), throughput 4 (4), delivered 2 MWh: -1000. Objective -916.
    * notice 1 (a = 1): hour 0 is the plan's (idle); charge 1 in hour 1, discharge it in
      hour 2 or 3: imports 8 (80), throughput 2 (2), delivered 1: -500, short 1: +100.
      Objective -318.
    * notice 0 (a = 2): hours 0, 1 idle; nothing to discharge (charging in hour 2 to
      discharge in hour 3 moves one delivered MWh and costs throughput): delivered 0,
      short 2: +200. Objective 280."""
    ev = event(start=2, duration=2, reduction=1.0, pay=500.0, penalty_per_mwh=100.0,
               baseline_mw=2.0, **({} if notice is None else {"notice_h": notice}))
    sc = scenario([2.0] * 4, [10] * 4, {"baseline": "declared", "events": [ev]},
                  battery=NOTICE_BATTERY)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(objective, abs=1e-6)
    row = res.tables["dr_events"].iloc[0]
    assert row["announced_h"] == (0 if notice is None else 2 - notice)
    assert row["delivered_mwh"] == pytest.approx(delivered, abs=1e-7)
    assert row["revenue"] == pytest.approx(500.0 * delivered, abs=1e-6)
    assert row["penalty"] == pytest.approx(penalty, abs=1e-6)
    if notice is not None:
        # non-anticipativity: the hours before the announcement are the plan's (idle)
        h = res.hourly
        a = 2 - notice
        before = h.filter(like="/charge_mw").iloc[:a].to_numpy()
        assert np.abs(before).max(initial=0.0) < 1e-9
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_announcements_are_staged(backend):
    """Two events on the same 4-hour set-up as above, 0.5 MW each below 2 MW: "first" in
    hour 2 paid 500, announced at hour 1; "second" in hour 3 paid 600, announced at hour 2.

    Stage 0 (nothing known): idle. Stage 1 (first known at hour 1): hour 0 idle; it charges
    0.5 MWh in hour 1 for hour 2 (a second 0.5 would only cost throughput). Stage 2 (both
    known at hour 2): hours 0, 1 fixed, SOC 0.5; spent on the better-paid second event in
    hour 3 (charging in hour 2 would cost the first event's delivery one for one): first 0,
    second 0.5 MWh. Imports 2, 2.5, 2, 1.5 (80), throughput 1 (1), revenue 300: objective
    -219. With both events known from the start it would be -468 (1 MWh charged in hours
    0-1, both delivered: 80 + 2 - 550)."""
    evs = [event("first", start=2, duration=1, reduction=0.5, pay=500.0, baseline_mw=2.0,
                 notice_h=1),
           event("second", start=3, duration=1, reduction=0.5, pay=600.0, baseline_mw=2.0,
                 notice_h=1)]
    sc = scenario([2.0] * 4, [10] * 4, {"baseline": "declared", "events": evs},
                  battery=NOTICE_BATTERY)
    res = engine.optimize(sc, backend=backend)
    t = res.tables["dr_events"]
    np.testing.assert_array_equal(t["announced_h"], [1, 2])
    np.testing.assert_allclose(t["delivered_mwh"], [0.0, 0.5], atol=1e-7)
    assert res.objective == pytest.approx(-219.0, abs=1e-6)
    check_invariants(sc, res)
    known = [{**e, "notice_h": e["start_h"]} for e in evs]   # known from the start
    sc0 = scenario([2.0] * 4, [10] * 4, {"baseline": "declared", "events": known},
                   battery=NOTICE_BATTERY)
    assert engine.optimize(sc0, backend=backend).objective == pytest.approx(-468.0, abs=1e-6)


def _genset_hub():
    """1 MW flat load for 4 h at 100/MWh, no export; a 0.5 MW / 1 MWh lossless battery,
    empty, throughput cost 1; a genset of 1.5-2 MW (a binary commitment per hour) whose
    energy costs 1.5 MWh_th x 100 = 150/MWh: the plan imports 1 MW every hour (cost 400),
    genset off, battery idle -- its only optimum."""
    return engine.Scenario.from_dict({
        "name": "dr_milp", "start": "2023-07-01 00:00", "timezone": "UTC", "horizon_h": 4,
        "sites": [{
            "name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "grid": {"import_max_mw": 20, "import_price_per_mwh": 100.0},
            "datacenter": {"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": 1.0},
            "batteries": [{**BATTERY, "charge_power_mw": 0.5, "discharge_power_mw": 0.5,
                           "degradation_cost_per_mwh": 1.0}],
            "gensets": [{"name": "g", "max_power_mw": 2.0, "min_power_mw": 1.5,
                         "fuel_slopes_mwh_th_per_mwh": [1.5], "fuel_price_per_mwh_th": 100.0,
                         "emission_kg_per_mwh_th": 0.0}],
        }]})


def test_envelope_of_a_milp_is_exact():
    """The genset hub above. Holding R below the 1 MW plan import:
    * 1 or 2 h from any start: the genset runs at its 1.5 MW minimum, 1 MW feeds the load
      and 0.5 MW charges the battery (0.5 or 1 MWh: within 1 MWh): import 0, R = 1.
    * 4 h from hour 0: four genset hours would store 2 MWh (> 1 MWh) and nothing can be
      exported; with the genset on in k hours and off in 4 - k, an off hour imports at least
      1 - 0.5 (the battery's power), so R <= 0.5, reached with k = 2 (charge 0.5 + 0.5,
      then discharge 0.5 + 0.5; SOC at most 1 MWh). R = 0.5.
    The LP relaxation (commitment u in [0, 1]) would run the genset at 1 MW with u = 2/3 and
    hold R = 1 over the 4 hours: the exact MILP answer is half of that."""
    sc = _genset_hub()
    env = flexibility_envelope(sc, durations=(1, 2, 4))
    assert env.attrs["is_mip"]
    expected = {(h, 1): 1.0 for h in range(4)} | {(h, 2): 1.0 for h in range(3)} \
        | {(0, 4): 0.5}
    got = {(int(h), int(d)): r for h, d, r in
           zip(env["start_h"], env["duration_h"], env["reduction_mw"])}
    assert got.keys() == expected.keys()
    for key, r in expected.items():
        assert got[key] == pytest.approx(r, abs=1e-6), key
    # every point again on a model of its own, solved from scratch
    for (h, d), r in expected.items():
        one = flexibility_envelope(sc, durations=(d,), hours=[h])
        assert one["reduction_mw"].iloc[0] == pytest.approx(got[(h, d)], abs=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("notice, delivered, objective", [(20, 1.0, -510.0), (10, 0.0, 480.0)])
def test_a_lease_period_begun_before_the_notice_is_fixed(backend, notice, delivered,
                                                         objective):
    """Two days of 1 MW load at 10/MWh; a daily lease (<= 1 MWh, 1 MW) on a lossless shared
    plant at 10 per MWh-day, no own battery. An event asks 1 MW below a declared 1 MW
    baseline at hour 40 (day 1), paid 1000. The plan leases nothing (lease 0 both days).
    * notice 20 (announced at hour 20, before day 1 begins): day 1's lease is still open:
      lease 1 MWh (10), charge 1 MWh in day 1 before hour 40, discharge it at hour 40:
      imports 48 MWh (480), delivered 1 (-1000). Objective -510.
    * notice 10 (announced at hour 30): day 1's lease was contracted at hour 24 with the
      plan's 0 MWh and is fixed: nothing to discharge, delivered 0. Objective 480."""
    sc = engine.Scenario.from_dict({
        "name": "dr_lease", "start": "2023-07-01 00:00", "timezone": "UTC", "horizon_h": 48,
        "sites": [{"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
                   "grid": {"import_max_mw": 10, "import_price_per_mwh": 10.0},
                   "datacenter": {"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                                  "inflexible_it_mw": 1.0}}],
        "shared_storage": [{"name": "plant", "energy_mwh": 1.0, "power_mw": 1.0,
                            "charge_efficiency": 1.0, "discharge_efficiency": 1.0,
                            "offer": {"period": "day", "energy_price_per_mwh_period": 10.0},
                            "leases": [{"tenant": "dc", "site": "s"}]}],
        "demand_response": {"baseline": "declared", "events": [
            event(start=40, reduction=1.0, pay=1000.0, baseline_mw=1.0, notice_h=notice)]}})
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(objective, abs=1e-6)
    assert res.tables["dr_events"].iloc[0]["delivered_mwh"] == pytest.approx(delivered,
                                                                              abs=1e-7)
    check_invariants(sc, res)
