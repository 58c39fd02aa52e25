"""EV charging sessions (the shared deferrable-energy formulation): hand-derived LPs."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import check_invariants

import engine

BACKENDS = ["highs", "pyomo"]


def scenario(prices, sessions, *, chargers=2, charger_kw=100.0, unmet_value=1000.0,
             degradation=0.0, inflexible=0.0):
    T = len(prices)
    return engine.Scenario.from_dict({
        "name": "ev", "start": "2023-07-01 00:00", "timezone": "UTC", "horizon_h": T,
        "sites": [{
            "name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "grid": {"import_max_mw": 10, "import_price_per_mwh": list(prices)},
            "datacenter": {"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": inflexible},
            "ev_charging": {"chargers": chargers, "charger_power_kw": charger_kw,
                            "unmet_energy_value_per_mwh": unmet_value,
                            "v2g_degradation_cost_per_mwh": degradation,
                            "sessions": list(sessions)},
        }],
    })


def session(name, arrival, departure, energy, kw=50.0, **kw_args):
    return {"name": name, "arrival_h": arrival, "departure_h": departure, "energy_mwh": energy,
            "max_power_kw": kw, **kw_args}


@pytest.mark.parametrize("backend", BACKENDS)
def test_session_energy_delivered_within_its_stay(backend):
    """Prices 100, 40, 10, 30, 5; a car plugged in over hours [1, 4) needs 0.08 MWh at up to
    50 kW. Inside the stay the cheapest hours are 2 (10) then 3 (30): 0.05 MWh in hour 2,
    0.03 in hour 3; cost 0.5 + 0.9 = 1.4. Hour 4 (5) is after departure: nothing there."""
    sc = scenario([100, 40, 10, 30, 5], [session("car", 1, 4, 0.08)])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(1.4, abs=1e-9)
    np.testing.assert_allclose(res.hourly["ev.s/charge_mw"], [0, 0, 0.05, 0.03, 0], atol=1e-9)
    row = res.tables["ev_sessions"].iloc[0]
    assert row["delivered_mwh"] == pytest.approx(0.08) and row["unmet_mwh"] == pytest.approx(0)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_chargers_pool_their_power(backend):
    """One 60 kW charger, two cars over [0, 2) needing 0.05 MWh each at up to 50 kW, prices
    10, 20: hour 0 takes the charger's 0.06 MW (cost 0.6), hour 1 the remaining 0.04 (0.8).
    Optimum 1.4 (without the charger limit it would be 1.0)."""
    sc = scenario([10, 20], [session("a", 0, 2, 0.05), session("b", 0, 2, 0.05)],
                  chargers=1, charger_kw=60.0)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(1.4, abs=1e-9)
    np.testing.assert_allclose(res.hourly["ev.s/charge_mw"], [0.06, 0.04], atol=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value, expected, unmet", [(300.0, 31.5, 0.1), (15.0, 2.75, 0.15)])
def test_unmet_energy_is_priced(backend, value, expected, unmet):
    """A car over [0, 2) wants 0.2 MWh at 50 kW: at most 0.1 MWh fits. Prices 10, 20.
    Unmet valued at 300: charge both hours (0.5 + 1.0) and 0.1 unmet (30): 31.5. Valued at
    15: hour 1 (20) costs more than leaving it unmet, so 0.05 in hour 0 (0.5) and 0.15 unmet
    (2.25): 2.75."""
    sc = scenario([10, 20], [session("car", 0, 2, 0.2)], unmet_value=value)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(expected, abs=1e-9)
    assert res.kpis["ev_unmet_mwh"] == pytest.approx(unmet, abs=1e-9)
    assert res.costs["ev_unmet"] == pytest.approx(unmet * value, abs=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_v2g_discharges_at_the_peak(backend):
    """Prices 10, 100; 0.05 MW of load both hours; a V2G car over [0, 2) with a 0.1 MWh
    battery arriving with 0.05 MWh, needing 0.02 MWh net, 50 kW, degradation 5 per MWh.

    A MWh discharged in hour 1 saves 100 and costs 10 to put back in hour 0 plus 5: discharge
    as much as possible. Net energy p0 - d1 = 0.02 and the car battery (0.05 + p0 <= 0.1)
    give p0 = 0.05, d1 = 0.03. Imports 0.1 at 10 and 0.02 at 100, degradation 0.15: 3.15
    (without V2G: 0.07 x 10 + 0.05 x 100 = 5.7)."""
    car = session("car", 0, 2, 0.02, v2g=True, battery_mwh=0.1, arrival_soc_mwh=0.05)
    sc = scenario([10, 100], [car], degradation=5.0, inflexible=0.05)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(3.15, abs=1e-9)
    h = res.hourly
    np.testing.assert_allclose(h["ev.s/charge_mw"], [0.05, 0.0], atol=1e-9)
    np.testing.assert_allclose(h["ev.s/discharge_mw"], [0.0, 0.03], atol=1e-9)
    assert res.kpis["ev_v2g_mwh"] == pytest.approx(0.03)
    check_invariants(sc, res)


def test_backends_agree_on_a_mixed_day():
    rng = np.random.default_rng(3)
    prices = (50 + 40 * np.sin(np.arange(24) / 24 * 2 * np.pi)).round(2).tolist()
    cars = []
    for k in range(12):
        a = int(rng.integers(0, 18))
        d = int(min(24, a + rng.integers(2, 8)))
        v2g = k % 3 == 0
        extra = {"v2g": True, "battery_mwh": 0.06, "arrival_soc_mwh": 0.02} if v2g else {}
        cars.append(session(f"c{k}", a, d, round(float(rng.uniform(0.01, 0.04)), 4), **extra))
    sc = scenario(prices, cars, chargers=3, charger_kw=60.0, unmet_value=200.0,
                  degradation=3.0, inflexible=0.2)
    a = engine.optimize(sc, backend="highs")
    b = engine.optimize(sc, backend="pyomo")
    assert a.objective == pytest.approx(b.objective, abs=1e-6)
    check_invariants(sc, a)
    check_invariants(sc, b)


@pytest.mark.parametrize("change, field", [
    ({"arrival_h": 3, "departure_h": 2}, r"sessions\[0\]\.departure_h"),
    ({"arrival_h": 1, "departure_h": 1}, r"sessions\[0\]\.departure_h"),
    ({"departure_h": 9}, r"sessions\[0\]\.departure_h"),
    ({"v2g": True}, r"sessions\[0\]\.battery_mwh"),
    ({"v2g": True, "battery_mwh": 0.05, "arrival_soc_mwh": 0.04}, r"sessions\[0\]\.energy_mwh"),
    ({"max_power_kw": 0.0}, r"sessions\[0\]\.max_power_kw"),
])
def test_bad_sessions_name_the_field(change, field):
    car = {**session("car", 0, 2, 0.02), **change}
    with pytest.raises(engine.ScenarioError, match=field):
        scenario([10, 20, 30, 40], [car])


def test_duplicate_sessions_and_bad_chargers_are_refused():
    with pytest.raises(engine.ScenarioError, match=r"ev_charging\.sessions"):
        scenario([10, 20], [session("a", 0, 2, 0.01), session("a", 0, 1, 0.01)])
    with pytest.raises(engine.ScenarioError, match=r"ev_charging\.chargers"):
        scenario([10, 20], [session("a", 0, 2, 0.01)], chargers=0)


def test_rolling_controller_refuses_ev_charging():
    sc = scenario([10.0] * 48, [session("car", 0, 2, 0.02)])
    with pytest.raises(engine.ScenarioError, match="ev_charging"):
        engine.rolling_optimize(sc, window_h=24, step_h=24, forecaster="perfect")
