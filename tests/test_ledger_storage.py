"""The tenant ledger attributes the battery's mixed-source discharge to each tenant with the
Cython tank (:func:`kernels.trace.trace_consumers`); certificates still sum to each tenant's
consumption (1e-9). Hand case on both backends."""
from __future__ import annotations

import numpy as np
import pytest

import engine

BACKENDS = ["highs", "pyomo"]


def _scenario() -> dict:
    # One site, PUE 1. Tenant "lab": a job of 4 MWh at <= 2 MW in [0, 2) -> 2 MW both hours;
    # tenant "web": the region's inference, 1 MW both hours. PV 4 MW in hour 0, 0 in hour 1;
    # a lossless 1 MWh / 1 MW battery, empty at the start; grid at 1000 then 100, no export,
    # no clean share. Hour 0: PV 4 = load 3 + charge 1. Hour 1: load 3 = battery 1 + grid 2
    # (discharging saves 100, so the battery charges in hour 0; objective 2 x 100 = 200).
    # Hour 1's pool is 1 MWh of PV (through the battery) and 2 of grid: lab's 2 MWh are
    # 2/3 PV (all of it via the battery) + 4/3 grid; web's 1 MWh 1/3 PV (via) + 2/3 grid.
    return {
        "name": "tank", "start": "2023-06-01 00:00", "horizon_h": 2,
        "sites": [{
            "name": "s", "latitude_deg": 36.0, "longitude_deg": 101.0,
            "pv": [{"name": "pv", "capacity_mw": 4.0, "availability_fraction": [1.0, 0.0],
                    "inverter_efficiency": 1.0, "losses_fraction": 0.0}],
            "batteries": [{"name": "b", "energy_mwh": 1.0, "charge_power_mw": 1.0,
                           "discharge_power_mw": 1.0, "charge_efficiency": 1.0,
                           "discharge_efficiency": 1.0, "soc_min_fraction": 0.0,
                           "initial_soc_fraction": 0.0, "terminal": "free"}],
            "grid": {"import_max_mw": 10.0, "import_price_per_mwh": [1000.0, 100.0],
                     "emission_factor_kg_per_mwh": 600.0},
            "datacenter": {"gpus": 4000, "it_power_per_gpu_kw": 1.0, "pue": 1.0}}],
        "regions": [{"name": "here", "sites": ["s"], "inference_it_mw": 1.0,
                     "latency_budget_ms": 10.0, "tenant": "web"}],
        "tenants": [{"name": "lab"}, {"name": "web"}],
        "jobs": [{"name": "train", "energy_mwh": 4.0, "deadline_h": 2, "max_power_mw": 2.0,
                  "tenant": "lab"}],
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_battery_discharge_is_attributed_to_each_tenant(backend):
    res = engine.optimize(engine.Scenario.from_dict(_scenario()), backend=backend)
    assert res.status == engine.Status.OPTIMAL
    assert res.objective == pytest.approx(200.0, abs=1e-6)
    h = res.hourly
    np.testing.assert_allclose(h["pv.pv/power_mw"], [4.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(h["battery.b/discharge_mw"], [0.0, 1.0], atol=1e-6)
    t = res.tenants.set_index("tenant")
    assert t.loc["lab", "pv_mwh"] == pytest.approx(2 + 2 / 3, abs=1e-6)
    assert t.loc["lab", "grid_fossil_mwh"] == pytest.approx(4 / 3, abs=1e-6)
    assert t.loc["lab", "via_battery_mwh"] == pytest.approx(2 / 3, abs=1e-6)
    assert t.loc["web", "pv_mwh"] == pytest.approx(1 + 1 / 3, abs=1e-6)
    assert t.loc["web", "via_battery_mwh"] == pytest.approx(1 / 3, abs=1e-6)
    # CO2 avoided against all-grid supply: the PV part at 600 kg/MWh
    assert t.loc["lab", "co2_avoided_t"] == pytest.approx((2 + 2 / 3) * 0.6, abs=1e-6)
    c = res.certificates
    hour1 = c[(c["production_start"] == h.index[1]) & (c["tenant"] == "lab")]
    pv = hour1[hour1["source"] == "pv"]
    assert pv["mwh"].sum() == pytest.approx(2 / 3, abs=1e-6)
    assert pv["via_storage_mwh"].sum() == pytest.approx(2 / 3, abs=1e-6)
    assert hour1.loc[hour1["source"] == "grid_fossil", "via_storage_mwh"].sum() == 0.0
    # certificates sum to each tenant's hourly consumption (1e-9) and to the site's use
    for name in ("lab", "web"):
        by = c[c["tenant"] == name].groupby("production_start")["mwh"].sum()
        np.testing.assert_allclose(by.reindex(h.index, fill_value=0.0),
                                   h[f"tenant.{name}/consumption_mw"], atol=1e-9)
    by = c.groupby("production_start")["mwh"].sum().reindex(h.index, fill_value=0.0)
    np.testing.assert_allclose(by, h["datacenter.s/facility_mw"], atol=1e-9)
    # the tenants' via-battery parts sum to the site's traced via-battery column
    np.testing.assert_allclose(c.groupby("production_start")["via_storage_mwh"].sum()
                               .reindex(h.index, fill_value=0.0),
                               h["trace.s/via_battery_mw"], atol=1e-9)
