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


@pytest.mark.parametrize("store", [True, False])
def test_planned_export_is_stored_where_the_battery_has_room(store, monkeypatch):
    """Load 5 MW, PV forecast [8, 12, 5] but actually [8, 5, 5] (7 MW too high in hour 1),
    import 100, export 20 in hour 0 and 10 after, battery at 5 of 10 MWh (minimum 1),
    lossless. The window (3 h, on the forecasts) sells at 20 in hour 0: the 3 MW of PV
    beyond the load and 4 MW from the battery (down to its minimum), to refill it from the
    7 MW it expects beyond the load in hour 1. ``store_planned_export`` False: realised as
    planned, 7 MW exported, SOC 1. True: the planned export is stored where the battery
    has room (the hour-1 surplus it was planned against does not come): discharge 0, charge
    3, export 0, SOC 8, i.e. (charge - discharge) and the SOC higher by the planned export."""
    import engine.operations.model_window as mw

    pv = np.array([8.0, 5.0, 5.0])
    sc = _case(3, 5.0, pv.tolist(), [100.0] * 3)
    sc.sites[0].grid.export_price_per_mwh = np.array([20.0, 10.0, 10.0])
    orig = mw.ModelWindowRun.__init__
    runs = {}
    for flag in (False, store):
        def init(self, *a, _flag=flag, **k):
            orig(self, *a, **k)
            self.store_planned_export = _flag

        monkeypatch.setattr(mw.ModelWindowRun, "__init__", init)
        runs[flag] = engine.rolling_optimize(sc, 3, 3, _biased(sc, np.array([0.0, 7.0, 0.0])),
                                             warmup_h=0)
    base = runs[False]
    exp0 = _series(base, "grid.s1/export_mw")[0]
    ch0 = _series(base, "battery.bess/charge_mw")[0]
    assert exp0 > 1.0  # the window did plan an export at hour 0 (the case is not void)
    r = runs[store]
    if store:
        assert _series(r, "grid.s1/export_mw")[0] == pytest.approx(0.0, abs=1e-9)
        net = _series(r, "battery.bess/charge_mw") - _series(r, "battery.bess/discharge_mw")
        assert net[0] == pytest.approx(ch0 - _series(base, "battery.bess/discharge_mw")[0]
                                       + exp0, abs=1e-9)
        assert exp0 == pytest.approx(7.0, abs=1e-9) and net[0] == pytest.approx(3.0, abs=1e-9)
        assert _series(r, "battery.bess/soc_mwh")[0] == pytest.approx(
            _series(base, "battery.bess/soc_mwh")[0] + exp0, abs=1e-9)
    check_invariants(sc, r)


def test_shift_discharge_moves_later_planned_discharge_to_the_peak_hour():
    """The rule by hand (model_realise._shift_discharge): a step of 4 hours from which no
    outage start is reachable; battery 40 MWh (minimum 4), discharge 10 MW, efficiencies
    0.95, SOC 30 MWh before hour 0. The plan discharges 0, 0, 2 and 6 MW (hours 0-3), imports
    1, 1, 3 and 1 MW, peak target 4 MW. Hour 0 is 5 MW above the target: the discharge
    planned at hour 2 (2 MW, head 4 - 3 = 1 MW) moves 1 MW, hour 3 (6 MW, head 3 MW) 3 MW:
    4 MW covered, 1 MW left to the grid. The plan's later discharge is 1 and 3 MW, its
    import 4 and 4 MW (at the target), the SOC and its floor lower by 1 / 0.95 over hours
    0-1 and by 4 / 0.95 ... 1 / 0.95 as the moves end (hour 2 lower by 3 / 0.95)."""
    from types import SimpleNamespace

    from engine.operations.model_realise import _ModelRealiser

    b = SimpleNamespace(soc_min_fraction=0.1, energy_mwh=40.0, self_discharge_per_h=0.0,
                        charge_efficiency=0.95, discharge_efficiency=0.95,
                        discharge_power_mw=10.0)
    soc = np.array([[30.0, 30.0, 30.0 - 2 / 0.95, 30.0 - 8 / 0.95]])
    plan = {"c": 4, "shift_ok": np.array([True] * 4), "dis": np.array([[0.0, 0.0, 2.0, 6.0]]),
            "imp": np.array([[1.0, 1.0, 3.0, 1.0]]), "peak": np.full((1, 4), 4.0),
            "soc": soc.copy(), "soc_floor": soc.copy()}
    me = SimpleNamespace(soc=np.array([30.0]))
    ch, dis = np.zeros(1), np.zeros(1)
    got = _ModelRealiser._shift_discharge(me, b, 0, [0], plan, 0, ch, dis, 5.0, np.array([0]))
    assert got == pytest.approx(4.0)
    assert dis[0] == pytest.approx(4.0)
    np.testing.assert_allclose(plan["dis"][0], [0.0, 0.0, 1.0, 3.0])
    np.testing.assert_allclose(plan["imp"][0], [1.0, 1.0, 4.0, 4.0])
    low = np.array([4.0, 4.0, 3.0, 0.0]) / 0.95
    np.testing.assert_allclose(plan["soc"][0], soc[0] - low)
    np.testing.assert_allclose(plan["soc_floor"][0], soc[0] - low)
    # the SOC path after the last move is the plan's: the terminal SOC is kept
    assert plan["soc"][0, 3] == pytest.approx(soc[0, 3])
    # where a start is reachable, nothing moves
    plan["shift_ok"][:] = False
    assert _ModelRealiser._shift_discharge(me, b, 0, [0], plan, 0, ch, dis, 5.0,
                                           np.array([0])) == 0.0
