"""Outage survival in the model windows on forecasts (issue 15): the PV and wind an outage
scenario may count on (``outage_renewable_quantile``), and the real-time SOC floor (the
planned SOC less the next start's slack). Hand cases."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import base_dict, check_invariants
from test_rolling import scenario
from test_rolling_settlement import _biased

import engine
from engine.errors import ScenarioError

#: PV [MW] at hours of day 12-15 on days 0, 1 and 2 (0 at the other hours)
PV_DAYS = (6.0, 4.0, 4.5)


def _case(pv_days=PV_DAYS, load: float = 5.0, energy: float = 50.0,
          price=100.0, start: int = 60) -> engine.Scenario:
    """72 h, constant load ``load`` MW (PUE 1, all of it critical), PV at hours of day 12-15
    only (``pv_days`` per day), a lossless ``energy`` MWh / 25 MW battery (minimum 5 MWh,
    starting there), import at ``price``, no export, no job; one outage start at hour
    ``start`` (60: hour of day 12) of 8 h that must be carried for 8 h (weight 1e-6)."""
    T = 72
    pv = np.zeros(T)
    for d, p in enumerate(pv_days):
        pv[24 * d + 12:24 * d + 16] = p
    d = base_dict(T)
    site = d["sites"][0]
    site["pv"] = [{"name": "pv", "capacity_mw": 10.0,
                   "availability_fraction": (pv / 10.0).tolist()}]
    site["batteries"] = [{"name": "bess", "energy_mwh": energy, "charge_power_mw": 25.0,
                          "discharge_power_mw": 25.0, "charge_efficiency": 1.0,
                          "discharge_efficiency": 1.0, "self_discharge_per_h": 0.0,
                          "soc_min_fraction": 5.0 / energy, "soc_max_fraction": 1.0,
                          "initial_soc_fraction": 5.0 / energy, "degradation_cost_per_mwh": 1.0}]
    site["grid"] = {"import_max_mw": 40.0, "export_max_mw": 0.0,
                    "import_price_per_mwh": price, "export_price_per_mwh": 0.0,
                    "emission_factor_kg_per_mwh": 0.0}
    site["datacenter"] = {"gpus": 10000, "it_power_per_gpu_kw": 1.0,
                          "inflexible_it_mw": load, "pue": 1.0}
    d["jobs"] = []
    d["policy"] = {"carbon_price_per_t": 0.0,
                   "outages": {"start_hours": [start], "durations_h": [8],
                               "duration_probabilities": [1.0], "outages_per_horizon": 1e-6,
                               "min_survival_h": 8}}
    return scenario(d)


def _optimistic(sc: engine.Scenario, plus: float = 3.0, at_58: float = 0.0):
    """A forecaster exact on every series (a test device) but the PV of day 2 at hours of
    day 12-15, forecast ``plus`` MW too high, and at hour 58, ``at_58`` MW too high."""
    delta = np.zeros(64)
    delta[60:64] = plus
    delta[58] = at_58
    return _biased(sc, delta)


def _soc_before_start(sc, q) -> tuple[float, engine.operations.RollingResult]:
    roll = engine.rolling_optimize(sc, 24, 24, _optimistic(sc), warmup_h=48,
                                   outage_renewable_quantile=q)
    return float(roll.hourly["battery.bess/soc_mwh"].to_numpy()[59]), roll


@pytest.mark.parametrize("q, credit, need", [
    # no PV: 5 MWh minimum + 8 h x 5 MW
    (None, 0.0, 45.0),
    # the least of the 2 days before (6 and 4 MW), under the forecast 4.5 + 3: 4 MW in
    # each of the 4 sunny outage hours, 16 MWh less
    (0.0, 4.0, 29.0),
    # their median, 5 MW: the 4 sunny hours need nothing, 20 MWh less
    (0.5, 5.0, 25.0),
])
def test_outage_renewables_lower_the_soc_the_window_holds(q, credit, need):
    """By hand: the window at origin 48 (the first on forecasts, 24 h, step 24) holds at
    hour 59 the least SOC that carries the outage at 60 for 8 h: 5 + sum over its 8 hours of
    (5 MW - the PV it may count on), lossless; charging more only costs degradation. The
    forecast PV (7.5 MW) never binds: the credit is the quantile of the same hours of the
    two days before the origin (data before it only)."""
    soc, roll = _soc_before_start(_case(), q)
    assert soc == pytest.approx(5.0 + 8 * 5.0 - 4 * credit, abs=1e-6)
    assert soc == pytest.approx(need, abs=1e-6)
    assert roll.settings["outage_renewable_quantile"] == q
    check_invariants(_case(), roll)


def test_survival_is_judged_on_the_actual_pv():
    """Day 2's actual PV is 4.5 MW in the sunny outage hours: the realised start needs
    5 + 40 - 4 x 4.5 = 27 MWh. The least of the past days (4) holds 29 and carries it; their
    median (5) holds 25 and leaves the start short, which the result says."""
    _, roll = _soc_before_start(_case(), 0.0)
    assert roll.kpis["survival_met"]
    _, roll = _soc_before_start(_case(), 0.5)
    assert not roll.kpis["survival_met"]


def test_perfect_forecasts_count_the_actual_renewables():
    """With perfect forecasts the outage scenarios keep the actual PV (4.5 MW in the 4
    sunny hours): 5 + 40 - 18 = 27 MWh at hour 59, whatever the quantile, as the optimum."""
    sc = _case()
    opt = engine.optimize(sc)
    assert opt.hourly["battery.bess/soc_mwh"].to_numpy()[59] == pytest.approx(27.0, abs=1e-6)
    for q in (None, 0.0):
        roll = engine.rolling_optimize(sc, 24, 24, "perfect", outage_renewable_quantile=q)
        assert roll.hourly["battery.bess/soc_mwh"].to_numpy()[59] == pytest.approx(
            27.0, abs=1e-6)


def test_lookback_days_count():
    """``outage_lookback_d=1``: only day 1 (4 MW) is seen, whatever the quantile: 29 MWh."""
    sc = _case()
    roll = engine.rolling_optimize(sc, 24, 24, _optimistic(sc), warmup_h=48,
                                   outage_renewable_quantile=1.0, outage_lookback_d=1)
    assert roll.hourly["battery.bess/soc_mwh"].to_numpy()[59] == pytest.approx(29.0, abs=1e-6)


@pytest.mark.parametrize("kw, field", [
    ({"outage_renewable_quantile": 1.5}, "outage_renewable_quantile"),
    ({"outage_renewable_quantile": -0.1}, "outage_renewable_quantile"),
    ({"outage_renewable_quantile": "low"}, "outage_renewable_quantile"),
    ({"outage_renewable_quantile": True}, "outage_renewable_quantile"),
    ({"outage_lookback_d": 0}, "outage_lookback_d"),
    ({"outage_lookback_d": 2.5}, "outage_lookback_d"),
])
def test_bad_outage_credit_arguments_are_scenario_errors(kw, field):
    with pytest.raises(ScenarioError, match=rf"^{field} must be .*got"):
        engine.rolling_optimize(_case(), 24, 24, "perfect", **kw)


@pytest.mark.parametrize("q, soc_57, dis_58, imp_58", [
    # no PV credit: the start needs 45 MWh, all the battery holds: no slack, the grid takes
    # the surprise
    (None, 45.0, 0.0, 5.0),
    # PV credit of the least past day (4 MW x 4 h): the start needs 29 and the battery holds
    # 35 (the window tops it up from the 2.5 MW of PV it expects beyond the load in the 4
    # sunny hours): 6 MWh of slack, the battery takes the whole surprise
    (0.0, 35.0, 5.0, 0.0),
])
def test_real_time_floor_is_the_planned_soc_less_the_next_starts_slack(q, soc_57, dis_58,
                                                                       imp_58):
    """By hand: import at 50, but 100 at hour 58, 50.5 at 59 and 500 after the start
    (hours 60-71). The window at origin 48 (forecasts, 24 h, step 24) charges the battery
    for the 500 hours (8 h x 5 MW after the 4 sunny ones, with its minimum 45 MWh) and holds
    it from hour 57 to the start; it expects 5 MW of PV at hour 58 (there is none), so it
    plans neither import nor discharge there. Realised, the 5-MW surprise at 100 beats
    refilling at 50.5: the battery covers it down to the planned SOC less the slack of the
    start at 60 (the planned SOC less what the start needs), the grid takes the rest. The
    start is still carried."""
    price = [50.0] * 72
    price[58], price[59] = 100.0, 50.5
    price[60:] = [500.0] * 12
    sc = _case(price=price)
    roll = engine.rolling_optimize(sc, 24, 24, _optimistic(sc, at_58=5.0), warmup_h=48,
                                   outage_renewable_quantile=q)
    h = roll.hourly
    assert h["battery.bess/soc_mwh"].to_numpy()[57] == pytest.approx(soc_57, abs=1e-6)
    assert h["battery.bess/discharge_mw"].to_numpy()[58] == pytest.approx(dis_58, abs=1e-6)
    assert h["grid.s1/import_mw"].to_numpy()[58] == pytest.approx(imp_58, abs=1e-6)
    assert roll.kpis["survival_met"]
    check_invariants(sc, roll)


def test_outage_hours_past_the_window_end_count_no_renewables():
    """The outage at hour 66 (hour of day 18) runs to hour 73: past the window at origin 60
    (12 h, the first on forecasts) and past the horizon. The window wraps those 2 hours to
    its first ones (hours of day 12-13, 4 MW of PV by the least past day), the horizon to
    its own first ones (night): no PV may be counted there, so the window holds 5 + 8 x 5
    = 45 MWh at hour 65 (8 less if it counted them, and the start would be short)."""
    sc = _case(start=66)
    roll = engine.rolling_optimize(sc, 12, 12, _optimistic(sc), warmup_h=60,
                                   outage_renewable_quantile=0.0)
    assert roll.hourly["battery.bess/soc_mwh"].to_numpy()[65] == pytest.approx(45.0, abs=1e-6)
    assert roll.kpis["survival_met"]


def test_cli_outage_renewable_quantile(capsys):
    from pathlib import Path

    from engine.cli import _quantile, main

    assert _quantile("none") is None and _quantile("0.25") == 0.25
    path = Path(__file__).resolve().parents[1] / "examples" / "xining_microgrid.yaml"
    for bad in ("low", "2"):
        rc = main(["run", str(path), "--rolling", "24/24", "--forecaster", "perfect",
                   "--outage-renewable-quantile", bad, "--no-progress"])
        assert rc == 2
        assert "outage_renewable_quantile must be a number in [0, 1]" in capsys.readouterr().err
