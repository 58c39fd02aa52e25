"""Random small scenarios: a solve or a clear ScenarioError, never a crash; invariants hold."""
from __future__ import annotations

import numpy as np
from conftest import check_invariants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine


@st.composite
def scenarios(draw):
    T = draw(st.integers(1, 30))
    floats = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    series = lambda lo, hi: st.lists(floats(lo, hi), min_size=T, max_size=T)
    site = {
        "name": "s",
        "latitude_deg": 36.6,
        "longitude_deg": 101.8,
        "pv": [{"name": "pv", "capacity_mw": draw(floats(0, 20)),
                "availability_fraction": draw(series(0, 1))}],
        "batteries": [] if draw(st.booleans()) else [{
            "name": "b", "energy_mwh": draw(floats(0, 20)),
            "charge_power_mw": draw(floats(0, 5)), "discharge_power_mw": draw(floats(0, 5)),
            "charge_efficiency": draw(floats(0.5, 1)), "discharge_efficiency": draw(floats(0.5, 1)),
            "soc_min_fraction": 0.1, "initial_soc_fraction": 0.5,
            "terminal": draw(st.sampled_from(["at_least_initial", "equal_initial", "free"])),
        }],
        "datacenter": {"gpus": draw(st.integers(0, 5000)), "it_power_per_gpu_kw": 1.0,
                       "inflexible_utilization_fraction": draw(series(0, 1)),
                       "pue": draw(floats(1.0, 1.6))},
    }
    if draw(st.booleans()):
        site["grid"] = {
            "import_max_mw": draw(floats(0, 20)), "export_max_mw": draw(floats(0, 5)),
            "import_price_per_mwh": draw(series(-20, 200)),
            "export_price_per_mwh": draw(floats(-10, 50)),
            "clean_share_fraction": draw(series(0, 1)),
            "emission_factor_kg_per_mwh": draw(floats(0, 900)),
            "demand_charge_per_mw_month": draw(floats(0, 100)),
            "outage_hours": draw(st.lists(st.integers(0, T - 1), max_size=3, unique=True)),
        }
    jobs = []
    for k in range(draw(st.integers(0, 3))):
        r = draw(st.integers(0, T - 1))
        jobs.append({"name": f"j{k}", "energy_mwh": draw(floats(0, 30)), "release_h": r,
                     "deadline_h": draw(st.integers(r + 1, T)),
                     "max_power_mw": draw(floats(0.1, 5))})
    policy = {"green_share_min_fraction": draw(floats(0, 0.9)),
              "green_matching": draw(st.sampled_from(["annual", "hourly"])),
              "value_of_lost_load_per_mwh": 1000.0}
    return {"name": "h", "start": "2023-01-01", "timezone": "UTC", "horizon_h": T,
            "sites": [site], "jobs": jobs, "policy": policy}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_scenarios_solve_or_fail_clearly(d):
    try:
        sc = engine.Scenario.from_dict(d)
    except engine.ScenarioError as exc:
        assert str(exc)  # a message that says something
        return
    res = engine.optimize(sc)
    # unserved energy can only shed load that exists in its hour (it never feeds charging,
    # export or a job), so the bus may not balance: jobs that cannot all be powered, a
    # terminal SOC with no supply to reach it, a green floor the supply cannot meet. The
    # result must say so and name the constraint groups in conflict
    if res.status == engine.Status.INFEASIBLE:
        named = ("bus/balance", "job/energy", "datacenter/it_capacity", "policy/green_share",
                 "battery/")
        assert any(n in res.diagnosis for n in named), res.diagnosis
        return
    assert res.status == engine.Status.OPTIMAL, res.summary()
    check_invariants(sc, res)
    assert np.isfinite(res.objective)
