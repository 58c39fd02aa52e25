"""Economics: NPV, payback, IRR and the appraisal against business-as-usual, against cash
flows and optima derived by hand (and the CRF's closed form for the IRR of an annuity)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import engine
from engine.economics import appraise, business_as_usual, cash_flows, irr, npv, payback_years
from engine.model.sizing import crf
from engine.scenario.finance import Finance

BACKENDS = ["highs", "pyomo"]


def test_npv_by_hand():
    # -100 + 60 / 1.1 + 60 / 1.21 = -100 + 54.5454... + 49.5867... = 4.1322...
    assert npv([-100, 60, 60], 0.1) == pytest.approx(-100 + 600 / 11 + 6000 / 121, rel=1e-12)


def test_simple_payback_interpolates_within_the_year():
    # cumulative -100, -70, -40, -10, +20: 3 years + 10 / 30
    assert payback_years([-100, 30, 30, 30, 30, 30]) == pytest.approx(3 + 1 / 3, rel=1e-12)


def test_discounted_payback_by_hand():
    """At 10 %: discounted -100, 54.545, 49.587; the second year recovers the remaining
    45.4545 of its 49.587: 1 + (500/11) / (6000/121) = 1 + 0.91667."""
    assert payback_years([-100, 60, 60], 0.1) == pytest.approx(1 + 60500 / 66000, rel=1e-12)


def test_payback_counts_a_replacement():
    """Cumulative -100, -40, +20, then a replacement in year 3 (-50 + 0): -30, 0, +30. The
    project is paid back for good only at the end of year 4 (not at 1.67 years)."""
    assert payback_years([-100, 60, 60, -50, 30, 30]) == pytest.approx(4.0, rel=1e-12)
    assert payback_years([-100, 60, 60, 0, 30, 30]) == pytest.approx(1 + 40 / 60, rel=1e-12)


def test_payback_never():
    assert math.isnan(payback_years([-100, 10, 10]))


@pytest.mark.parametrize("flows, expected", [([-100, 110], 0.10), ([-100, 0, 121], 0.10),
                                             ([-100, 50, 60], None)])
def test_irr_by_hand(flows, expected):
    """-100 + 110 / (1 + r) = 0 -> r = 10 %; -100 + 121 / (1 + r)^2 = 0 -> 10 %;
    -100 + 50 x + 60 x^2 = 0 with x = 1 / (1 + r): x = (-50 + sqrt(2500 + 24000)) / 120."""
    if expected is None:
        x = (-50 + math.sqrt(2500 + 24000)) / 120
        expected = 1 / x - 1
    assert irr(flows) == pytest.approx(expected, abs=1e-10)


def test_irr_of_an_annuity_meets_the_crf():
    """An outlay P repaid by n equal flows A has IRR r with CRF(r, n) = A / P."""
    r = irr([-100] + [30] * 5)
    assert crf(r, 5) == pytest.approx(0.3, rel=1e-9)


def test_irr_without_sign_change_is_nan():
    assert math.isnan(irr([100, 10, 10]))


def test_cash_flow_table_by_hand():
    """Capex 1000, life 4 years (renewed in year 4), replacement in year 2 of each life at
    300, salvage 100, O&M 10 per year; savings 400 per year; 6 years, no escalation.
    Year 0: -1000; 1: 390; 2: -300 + 390; 3: 390; 4: -1000 + 390; 5: 390;
    6: 390 + 100 (the second life's replacement would fall in year 6 = N: not bought)."""
    table = pd.DataFrame([{"capex": 1000.0, "lifetime_years": 4, "replacement_year": 2.0,
                           "replacement_cost": 300.0, "salvage": 100.0, "fixed_om": 10.0}])
    fin = Finance(discount_rate_fraction=0.0, analysis_years=6)
    cf = cash_flows(table, fin, 400.0)
    np.testing.assert_allclose(cf["net"], [-1000, 390, 90, 390, -610, 390, 490])
    np.testing.assert_allclose(cf["cumulative"].iloc[-1], -1000 + 6 * 390 - 300 - 1000 + 100)


def test_cash_flow_escalation():
    """Savings escalate 3 % a year from year 2: 100, 103, 106.09; O&M 2 %: 10, 10.2, 10.404."""
    table = pd.DataFrame([{"capex": 0.0, "lifetime_years": 10, "replacement_year": float("nan"),
                           "replacement_cost": 0.0, "salvage": 0.0, "fixed_om": 10.0}])
    fin = Finance(discount_rate_fraction=0.05, analysis_years=3,
                  energy_escalation_fraction=0.03, om_escalation_fraction=0.02)
    cf = cash_flows(table, fin, 100.0)
    np.testing.assert_allclose(cf["savings"], [0, 100, 103, 106.09])
    np.testing.assert_allclose(cf["fixed_om"], [0, -10, -10.2, -10.404])


def _pv_day(backend_years=10):
    """One day, 10 MW flat load, grid at 100, PV availability per MW 1, 1, 0.5 x 4, 0 x 18;
    r = 0, life 10 (CRF 0.1): annualised capex per MW per day = capex x 0.1 x 24 / 8760 =
    300 -> capex 1,095,000 per MW; the optimum is 10 MW (see test_sizing)."""
    avail = [1, 1, 0.5, 0.5, 0.5, 0.5] + [0] * 18
    pv = {"name": "p", "capacity_mw": 0, "availability_fraction": avail,
          "investment": {"capex_per_mw": 1_095_000.0, "lifetime_years": 10,
                         "extendable": True, "max_mw": 100}}
    site = {"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8, "pv": [pv],
            "grid": {"import_max_mw": 100, "import_price_per_mwh": 100},
            "datacenter": {"gpus": 10000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": 10}}
    return engine.Scenario.from_dict({
        "name": "pv-day", "start": "2023-03-01 00:00", "horizon_h": 24, "sites": [site],
        "finance": {"discount_rate_fraction": 0.0, "analysis_years": backend_years}})


@pytest.mark.parametrize("backend", BACKENDS)
def test_appraisal_by_hand(backend):
    """PV of 10 MW, capex 10.95 M. Business-as-usual buys 240 MWh a day at 100 (24,000 a
    day, 8.76 M a year); the project buys 200 (7.30 M a year): savings 1.46 M a year.
    r = 0, 10 years: NPV = -10.95 + 14.6 = 3.65 M; payback 10.95 / 1.46 = 7.5 years;
    IRR with CRF(irr, 10) = 1.46 / 10.95. LCOE: 1.095 M a year / (40 MWh x 365) = 75 per
    MWh. Cost per GPU-hour (10,000 GPUs, 87.6 M GPU-h a year): (10.95 + 73.0) / 876 =
    0.0958333...; business-as-usual 87.6 / 876 = 0.1."""
    a = appraise(_pv_day(), backend=backend)
    m = a.metrics
    assert a.investment["size"].iloc[0] == pytest.approx(10.0, abs=1e-6)
    assert m["initial_capex"] == pytest.approx(10.95e6, rel=1e-6)
    assert m["savings_per_year"] == pytest.approx(1.46e6, rel=1e-9)
    assert m["npv"] == pytest.approx(3.65e6, rel=1e-6)
    assert m["simple_payback_years"] == pytest.approx(7.5, rel=1e-6)
    assert m["discounted_payback_years"] == pytest.approx(7.5, rel=1e-6)
    assert crf(m["irr"], 10) == pytest.approx(1.46 / 10.95, rel=1e-6)
    assert m["lcoe_onsite_per_mwh"] == pytest.approx(75.0, rel=1e-6)
    assert m["cost_per_gpu_hour"] == pytest.approx(83.95 / 876, rel=1e-6)
    assert m["bau_cost_per_gpu_hour"] == pytest.approx(0.1, rel=1e-9)
    assert a.bau.investment.empty and "capex" not in a.bau.costs
    assert "pv.p" in a.summary() and "npv" in a.summary()


def test_business_as_usual_keeps_the_stated_assets_and_leaves_the_input_alone():
    sc = _pv_day()
    bau = business_as_usual(sc)
    assert bau.sites[0].pv[0].investment is None and bau.sites[0].pv[0].capacity_mw == 0
    assert sc.sites[0].pv[0].investment is not None


def test_appraise_needs_a_finance_block():
    d = _pv_day().to_dict()
    del d["finance"]
    del d["sites"][0]["pv"][0]["investment"]
    with pytest.raises(engine.ScenarioError, match="^finance: required"):
        appraise(engine.Scenario.from_dict(d))


def test_cli_appraise(tmp_path, capsys):
    from engine.cli import main

    path = tmp_path / "pv_day.yaml"
    _pv_day().to_yaml(path)
    assert main(["appraise", str(path)]) == 0
    out = capsys.readouterr().out
    assert "npv" in out and "pv.p" in out
