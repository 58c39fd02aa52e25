"""Real-time settlement of the model windows (issue 15): a committed step is realised against
the actual data in merit order. Hand cases with a forecaster wrong by a known amount."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import base_dict, check_invariants
from test_rolling import scenario

import engine
from engine.model.data import prepare
from engine.operations.forecasts import _stack_series


def _case(T: int, load_mw: float, pv_mw: list, price: list, soc0: float = 0.5) -> engine.Scenario:
    """``T`` hours, constant load (PUE 1), PV availability ``pv_mw`` of a 15 MW plant, a
    lossless 10 MWh / 5 MW battery without degradation, no export (price 0), a genset far too
    dear to run (it only routes the run through the model windows) and no job."""
    d = base_dict(T)
    site = d["sites"][0]
    site["pv"] = [{"name": "pv", "capacity_mw": 15.0,
                   "availability_fraction": [p / 15.0 for p in pv_mw]}]
    site["batteries"] = [{"name": "bess", "energy_mwh": 10.0, "charge_power_mw": 5.0,
                          "discharge_power_mw": 5.0, "charge_efficiency": 1.0,
                          "discharge_efficiency": 1.0, "self_discharge_per_h": 0.0,
                          "soc_min_fraction": 0.1, "soc_max_fraction": 1.0,
                          "initial_soc_fraction": soc0, "degradation_cost_per_mwh": 1.0}]
    site["grid"] = {"import_max_mw": 20.0, "export_max_mw": 20.0,
                    "import_price_per_mwh": list(price), "export_price_per_mwh": 0.0,
                    "emission_factor_kg_per_mwh": 0.0}
    site["datacenter"] = {"gpus": 10000, "it_power_per_gpu_kw": 1.0,
                          "inflexible_it_mw": load_mw, "pue": 1.0}
    site["gensets"] = [{"name": "g", "units": 1, "max_power_mw": 3.0, "min_power_mw": 1.0,
                        "start_cost": 1e6, "fuel_slopes_mwh_th_per_mwh": [2.0],
                        "fuel_price_per_mwh_th": 1e4, "emission_kg_per_mwh_th": 0.0}]
    d["jobs"] = []
    d["policy"] = {"carbon_price_per_t": 0.0}
    return scenario(d)


def _biased(sc: engine.Scenario, delta: np.ndarray):
    """A forecaster that knows the future (a test device: every series exact) but gets the
    PV row wrong by ``delta`` (forecast = actual + delta)."""
    Y = _stack_series(prepare(sc)).Y
    assert Y.shape[0] == 4  # pv, inflexible load, PUE, price

    def f(history: np.ndarray, W: int) -> np.ndarray:
        o = history.shape[1]
        pad = np.zeros((Y.shape[0], Y.shape[1] + W))
        pad[:, :Y.shape[1]] = Y
        pad[0, :delta.size] += delta
        return pad[:, o:o + W].copy()
    return f


def _series(res, name: str) -> np.ndarray:
    return res.hourly[name].to_numpy()


def test_surplus_cuts_import_first_then_charges_then_exports():
    """Load 5 MW, PV actually [6, 2, 9] MW but forecast [2, 2, 2] (4 and 7 MW too low in
    hours 0 and 2), import 100 per MWh, export worth 0, battery at 5 of 10 MWh. One window
    over the 3 h, on the forecasts: nothing is worth moving in time, so the plan imports
    3 MW every hour and leaves the battery idle. By hand, settled in merit order against the
    actual PV: hour 0: 1 MW surplus beyond the load: import cut 3 -> 0 and the 1 MW surplus
    charged (SOC 6); hour 1: as planned, import 3; hour 2: 4 MW surplus, import cut 3 -> 0,
    the battery charges 4 (SOC 10, full), nothing left to export. Cost 300."""
    pv = np.array([6.0, 2.0, 9.0])
    sc = _case(3, 5.0, pv.tolist(), [100.0] * 3)
    roll = engine.rolling_optimize(sc, 3, 3, _biased(sc, np.array([-4.0, 0.0, -7.0])),
                                   warmup_h=0)
    np.testing.assert_allclose(_series(roll, "grid.s1/import_mw"), [0.0, 3.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(_series(roll, "grid.s1/export_mw"), [0.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(_series(roll, "battery.bess/charge_mw"), [1.0, 0.0, 4.0],
                               atol=1e-9)
    np.testing.assert_allclose(_series(roll, "battery.bess/soc_mwh"), [6.0, 6.0, 10.0],
                               atol=1e-9)
    assert roll.costs["energy"] == pytest.approx(300.0, abs=1e-6)
    check_invariants(sc, roll)


def test_surplus_beyond_the_battery_is_exported():
    """As above, hour 2 with 12 MW of PV (forecast 2): 7 MW surplus, the battery takes 4
    (to full, 10 MWh), the remaining 3 MW are exported (worth 0 here, but the export limit
    is 20 MW: nothing curtailed)."""
    pv = np.array([6.0, 2.0, 12.0])
    sc = _case(3, 5.0, pv.tolist(), [100.0] * 3)
    roll = engine.rolling_optimize(sc, 3, 3, _biased(sc, np.array([-4.0, 0.0, -10.0])),
                                   warmup_h=0)
    np.testing.assert_allclose(_series(roll, "grid.s1/import_mw"), [0.0, 3.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(_series(roll, "battery.bess/charge_mw"), [1.0, 0.0, 4.0],
                               atol=1e-9)
    imp, exp = _series(roll, "grid.s1/import_mw"), _series(roll, "grid.s1/export_mw")
    pv_used = _series(roll, "pv.pv/power_mw")
    # the 3 MW left: exported or curtailed, never both imported and exported
    assert exp[2] + (12.0 - pv_used[2]) == pytest.approx(3.0, abs=1e-9)
    assert np.all(imp * exp <= 1e-12)
    check_invariants(sc, roll)


@pytest.mark.parametrize("settle", [True, False])
def test_deficit_is_covered_by_the_battery_before_import(settle, monkeypatch):
    """Load 5 MW, PV actually [3, 5, 5] but forecast [5, 5, 5] (2 MW too high in hour 0),
    import 500 in hour 0 and 100 after; battery at 5 of 10 MWh (minimum 1), lossless,
    degradation 1 per MWh. On the forecast PV covers the load every hour: the plan imports
    nothing and leaves the battery idle. Actual hour 0 is 2 MW short: 500 beats refilling
    at 100 (+ 2 x 1 of degradation), so the battery covers it (SOC 5 -> 3) and nothing is
    imported (the window's terminal SOC rule is the plan's, not the realised run's). Without
    the settlement the grid takes it: 2 MW at 500 = 1000."""
    pv = np.array([3.0, 5.0, 5.0])
    sc = _case(3, 5.0, pv.tolist(), [500.0, 100.0, 100.0])
    import engine.operations.model_window as mw

    orig = mw.ModelWindowRun.__init__

    def init(self, *a, **k):
        orig(self, *a, **k)
        self.settle_deficit = settle

    monkeypatch.setattr(mw.ModelWindowRun, "__init__", init)  # restored after the test
    roll = engine.rolling_optimize(sc, 3, 3, _biased(sc, np.array([2.0, 0.0, 0.0])),
                                   warmup_h=0)
    imp = _series(roll, "grid.s1/import_mw")
    dis = _series(roll, "battery.bess/discharge_mw")
    soc = _series(roll, "battery.bess/soc_mwh")
    if settle:
        np.testing.assert_allclose(imp, [0.0, 0.0, 0.0], atol=1e-9)
        np.testing.assert_allclose(dis, [2.0, 0.0, 0.0], atol=1e-9)
        np.testing.assert_allclose(soc, [3.0, 3.0, 3.0], atol=1e-9)
        assert roll.costs["energy"] == pytest.approx(0.0, abs=1e-6)
    else:
        np.testing.assert_allclose(imp, [2.0, 0.0, 0.0], atol=1e-9)
        np.testing.assert_allclose(dis, [0.0, 0.0, 0.0], atol=1e-9)
        assert roll.costs["energy"] == pytest.approx(1000.0, abs=1e-6)
    check_invariants(sc, roll)


def test_deficit_at_a_cheap_hour_is_imported():
    """As above with import at 100 in every hour: discharging now and refilling later at the
    same price loses the degradation, so the 2 MW are imported and the battery stays at
    5 MWh."""
    pv = np.array([3.0, 5.0, 5.0])
    sc = _case(3, 5.0, pv.tolist(), [100.0] * 3)
    roll = engine.rolling_optimize(sc, 3, 3, _biased(sc, np.array([2.0, 0.0, 0.0])),
                                   warmup_h=0)
    np.testing.assert_allclose(_series(roll, "grid.s1/import_mw"), [2.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(_series(roll, "battery.bess/soc_mwh"), [5.0, 5.0, 5.0],
                               atol=1e-9)
    check_invariants(sc, roll)
