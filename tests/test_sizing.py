"""Sizing: capacities as variables, annualised capex (CRF) and fixed O&M in the objective.

References: the CRF's closed form (and annuity tables), optima of small LPs derived by hand in
each docstring, and the dispatch of the same scenario with the capacity as an input.
"""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from conftest import check_invariants

import engine
from engine.economics import with_sizes
from engine.model.sizing import crf

BACKENDS = ["highs", "pyomo"]
RTOL = 1e-9
ATOL_OBJ = 1e-6


def _scenario(T, sites, finance=None, start="2023-03-01 00:00", policy=None):
    d = {"name": "sizing", "start": start, "timezone": "UTC", "horizon_h": T, "sites": sites,
         "policy": policy or {}}
    if finance is not None:
        d["finance"] = finance
    return engine.Scenario.from_dict(d)


def _site(**assets):
    site = {"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "datacenter": {"gpus": 20000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": assets.pop("load", 10.0)}}
    site.update(assets)
    return site


# --------------------------------------------------------------------------- CRF
@pytest.mark.parametrize("rate, years, expected", [
    # a / p annuity-table values: 8 % over 20 years 0.10185; 5 % over 10 years 0.12950
    (0.08, 20, 0.08 * 1.08**20 / (1.08**20 - 1)),
    (0.05, 10, 0.05 * 1.05**10 / (1.05**10 - 1)),
    (0.0, 10, 0.1),
    (0.07, 1, 1.07),  # one payment repays the capital and a year's interest
])
def test_crf_closed_form(rate, years, expected):
    assert crf(rate, years) == pytest.approx(expected, rel=1e-12)


def test_crf_annuity_tables():
    """Tabulated capital recovery factors (engineering-economy tables, 4-5 digits)."""
    assert crf(0.08, 20) == pytest.approx(0.10185, abs=5e-6)
    assert crf(0.05, 10) == pytest.approx(0.12950, abs=5e-6)
    assert crf(0.10, 5) == pytest.approx(0.26380, abs=5e-6)


def test_crf_continuous_at_zero_rate():
    assert crf(1e-9, 7) == pytest.approx(crf(0.0, 7), rel=1e-7)


# --------------------------------------------------------------------------- bad input
FIN = {"discount_rate_fraction": 0.07, "analysis_years": 20}
PV_INV = {"capex_per_mw": 3e6, "lifetime_years": 25, "extendable": True, "max_mw": 50}


def _pv_scenario(inv=None, finance=FIN):
    pv = {"name": "p", "capacity_mw": 0, "availability_fraction": 0.3,
          "investment": {**PV_INV, **(inv or {})}}
    return _scenario(24, [_site(grid={"import_max_mw": 50, "import_price_per_mwh": 80},
                                pv=[pv])], finance=finance)


@pytest.mark.parametrize("inv, finance, field", [
    ({"capex_per_mw": -1.0}, FIN, "sites[0].pv[0].investment.capex_per_mw"),
    ({"fixed_om_per_mw_year": -5.0}, FIN, "sites[0].pv[0].investment.fixed_om_per_mw_year"),
    ({"lifetime_years": 0}, FIN, "sites[0].pv[0].investment.lifetime_years"),
    ({"min_mw": 60, "max_mw": 50}, FIN, "sites[0].pv[0].investment.min_mw"),
    ({"replacement_year": 30}, FIN, "sites[0].pv[0].investment.replacement_year"),
    ({}, {**FIN, "discount_rate_fraction": -1.0}, "finance.discount_rate_fraction"),
    ({}, {**FIN, "discount_rate_fraction": -1.5}, "finance.discount_rate_fraction"),
    ({}, {**FIN, "analysis_years": 0}, "finance.analysis_years"),
    ({}, None, "finance"),
])
def test_bad_investment_inputs_name_the_field(inv, finance, field):
    with pytest.raises(engine.ScenarioError) as err:
        _pv_scenario(inv, finance)
    assert str(err.value).startswith(field + ":"), str(err.value)


def test_bad_battery_energy_bounds_name_the_field():
    bat = {"name": "b", "energy_mwh": 0, "charge_power_mw": 0, "discharge_power_mw": 0,
           "investment": {"lifetime_years": 10, "extendable": True, "min_mwh": 5, "max_mwh": 2,
                          "max_mw": 1}}
    with pytest.raises(engine.ScenarioError, match=r"^sites\[0\]\.batteries\[0\]\.investment\."
                                                   r"min_mwh: extendable bounds inverted"):
        _scenario(24, [_site(grid={"import_max_mw": 50, "import_price_per_mwh": 80},
                             batteries=[bat])], finance=FIN)


@pytest.mark.parametrize("inv, message", [
    ({"max_mw": None}, "max_mw: required for an extendable asset"),
    ({"min_mw": 5}, "min_mw: must be >= the stated (existing) capacity 10"),
    ({"min_mw": None, "max_mw": 8}, "max_mw: extendable bounds inverted: must be >= 10"),
])
def test_extendable_bounds_against_the_stated_capacity(inv, message):
    """Bounds that depend on the stated (existing) capacity name the field too."""
    pv = {"name": "p", "capacity_mw": 10, "availability_fraction": 0.3,
          "investment": {**PV_INV, **inv}}
    with pytest.raises(engine.ScenarioError,
                       match="^" + re.escape("sites[0].pv[0].investment." + message)):
        _scenario(24, [_site(grid={"import_max_mw": 50, "import_price_per_mwh": 80},
                             pv=[pv])], finance=FIN)


# --------------------------------------------------------------------------- fixed bounds
def _week(sizing: bool, T=168):
    """PV, wind, a battery and the grid connection: sized at min = max (sizing=True), or
    stated at the same capacities without investment."""
    t = np.arange(T)
    solar = np.clip(np.sin((t % 24 - 6) / 12 * np.pi), 0, None)
    windy = 0.35 + 0.25 * np.sin(t / 17.0)
    price = np.where((t % 24 >= 8) & (t % 24 < 22), 120.0, 45.0)
    size = {"pv": 20.0, "wind": 8.0, "mwh": 30.0, "mw": 7.5, "grid": 14.0}
    inv = lambda **kw: {"capex_per_mw": 1.0e6, "fixed_om_per_mw_year": 2.0e4,
                        "lifetime_years": 20, "replacement_year": 10,
                        "replacement_cost_fraction": 0.4, "extendable": True, **kw}
    pv = {"name": "p", "capacity_mw": 0.0 if sizing else size["pv"],
          "availability_fraction": solar.tolist()}
    wind = {"name": "w", "capacity_mw": 2.0 if sizing else size["wind"],
            "availability_fraction": windy.tolist()}
    bat = {"name": "b", "energy_mwh": 0.0 if sizing else size["mwh"],
           "charge_power_mw": 0.0 if sizing else size["mw"],
           "discharge_power_mw": 0.0 if sizing else size["mw"], "soc_min_fraction": 0.1,
           "initial_soc_fraction": 0.5, "charge_efficiency": 0.95, "discharge_efficiency": 0.95}
    grid = {"import_max_mw": 5.0 if sizing else size["grid"], "import_price_per_mwh":
            price.tolist(), "demand_charge_per_mw_month": 3.0e4, "emission_factor_kg_per_mwh": 600}
    if sizing:
        pv["investment"] = inv(min_mw=size["pv"], max_mw=size["pv"])
        wind["investment"] = inv(min_mw=size["wind"], max_mw=size["wind"])
        bat["investment"] = inv(capex_per_mwh=3.0e5, fixed_om_per_mwh_year=5e3,
                                min_mwh=size["mwh"], max_mwh=size["mwh"], min_mw=size["mw"],
                                max_mw=size["mw"])
        grid["investment"] = inv(min_mw=size["grid"], max_mw=size["grid"])
    return _scenario(T, [_site(load=12.0, pv=[pv], wind=[wind], batteries=[bat], grid=grid)],
                     finance=FIN, policy={"carbon_price_per_t": 50.0,
                                          "curtailment_penalty_per_mwh": 3.0})


@pytest.mark.parametrize("backend", BACKENDS)
def test_sizing_at_fixed_bounds_equals_dispatch(backend):
    """min = max: the sized model is the dispatch at those capacities plus the investment
    terms (a constant), so the objectives agree once ``capex`` and ``fixed_om`` are taken
    off; the dispatch itself obeys the invariants at the stated sizes."""
    sized = engine.optimize(_week(True), backend=backend)
    fixed = engine.optimize(_week(False), backend=backend)
    assert sized.status == fixed.status == engine.Status.OPTIMAL
    invest = sized.costs["capex"] + sized.costs["fixed_om"]
    assert invest > 0
    assert sized.objective - invest == pytest.approx(fixed.objective, abs=ATOL_OBJ, rel=1e-9)
    for term in ("energy", "demand_charge", "carbon", "curtailment"):
        assert sized.costs[term] == pytest.approx(fixed.costs[term], abs=1e-5, rel=1e-6), term
    check_invariants(with_sizes(_week(True), sized.investment), sized)
    # the investment terms by hand: w * (CRF (c + 0.4 c 1.07^-10) + o) * added capacity
    w = 168 / 8760
    worth = lambda c: crf(0.07, 20) * (c + 0.4 * c * 1.07**-10)
    added_mw = (20 - 0) + (8 - 2) + 7.5 + (14 - 5)
    expect = w * (worth(1e6) * added_mw + worth(3e5) * 30)
    assert sized.costs["capex"] == pytest.approx(expect, rel=RTOL)
    assert sized.costs["fixed_om"] == pytest.approx(w * (2e4 * added_mw + 5e3 * 30), rel=RTOL)
    inv = sized.investment.set_index("asset")
    assert set(inv.index) == {"pv.p", "wind.w", "battery.b", "grid.s"}
    battery = sized.investment[sized.investment["kind"] == "battery"].set_index("quantity")
    assert battery.loc["mwh", "size"] == pytest.approx(30.0)
    assert battery.loc["mw", "capex"] == pytest.approx(7.5e6)


# --------------------------------------------------------------------------- PV marginal value
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cost_per_mw_day, size, objective", [(300.0, 10.0, 23000.0),
                                                               (150.0, 20.0, 21000.0),
                                                               (450.0, 0.0, 24000.0)])
def test_pv_size_where_marginal_value_meets_annualised_cost(backend, cost_per_mw_day, size,
                                                            objective):
    """One day; 10 MW flat load; grid at 100 per MWh, no export; PV availability per MW
    1, 1, 0.5, 0.5, 0.5, 0.5 then 0 (18 h). Annualised cost over the day ``k`` per MW.

    A MW of PV saves 100 in each hour whose load it does not yet cover: its marginal value is
    100 (2 x 1 + 4 x 0.5) = 400 up to 10 MW (where the two full hours are covered), then
    100 (4 x 0.5) = 200 up to 20 MW, then 0. The optimum stops where the marginal value falls
    below ``k``: k = 300 -> 10 MW, energy 100 (240 - 20 - 20) = 20000, capex 3000;
    k = 150 -> 20 MW, energy 100 (240 - 20 - 40) = 18000, capex 3000; k = 450 -> none,
    24000. With r = 0 and a 1-year life, CRF = 1: capex_per_mw = k x 8760 / 24.
    """
    avail = [1, 1, 0.5, 0.5, 0.5, 0.5] + [0] * 18
    pv = {"name": "p", "capacity_mw": 0, "availability_fraction": avail,
          "investment": {"capex_per_mw": cost_per_mw_day * 8760 / 24, "lifetime_years": 1,
                         "extendable": True, "max_mw": 100}}
    sc = _scenario(24, [_site(grid={"import_max_mw": 100, "import_price_per_mwh": 100},
                              pv=[pv])], finance={"discount_rate_fraction": 0.0,
                                                  "analysis_years": 1})
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(objective, rel=RTOL)
    assert res.investment["size"].iloc[0] == pytest.approx(size, abs=1e-6)
    assert res.costs["capex"] == pytest.approx(cost_per_mw_day * size, rel=RTOL, abs=1e-6)
    np.testing.assert_allclose(res.hourly["pv.p/power_mw"],
                               np.minimum(np.array(avail) * size, 10.0), atol=1e-6)
    check_invariants(with_sizes(sc, res.investment), res)


# --------------------------------------------------------------------------- battery sizing
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cost_per_mwh, energy, objective", [(50.0, 1.0, 70.0),
                                                             (95.0, 0.0, 110.0)])
def test_battery_energy_sized_with_fixed_ratio(backend, cost_per_mwh, energy, objective):
    """Two hours at 10 then 100 per MWh, 1 MW of load in each; a lossless battery, empty at
    the start, no terminal rule, power = energy / 1 h. A MWh of storage bought at 10 and used
    in hour 1 saves 90, up to the 1 MWh of hour 1's load. Cost per MWh over the two hours
    ``k``: k = 50 < 90 -> 1 MWh, objective 10 x 2 + 50 = 70; k = 95 > 90 -> none, 110."""
    bat = {"name": "b", "energy_mwh": 0, "charge_power_mw": 0, "discharge_power_mw": 0,
           "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "soc_min_fraction": 0,
           "initial_soc_fraction": 0, "terminal": "free",
           "investment": {"capex_per_mwh": cost_per_mwh * 8760 / 2, "lifetime_years": 1,
                          "extendable": True, "max_mwh": 10, "max_mw": 10,
                          "energy_to_power_ratio_h": 1.0}}
    sc = _scenario(2, [_site(load=1.0, grid={"import_max_mw": 10,
                                             "import_price_per_mwh": [10, 100]},
                             batteries=[bat])],
                   finance={"discount_rate_fraction": 0.0, "analysis_years": 1})
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(objective, rel=RTOL)
    size = res.investment.set_index("quantity")["size"]
    assert size["mwh"] == pytest.approx(energy, abs=1e-7)
    assert size["mw"] == pytest.approx(energy, abs=1e-7)  # the 1-hour ratio
    check_invariants(with_sizes(sc, res.investment), res)


# --------------------------------------------------------------------------- blended tariff
@pytest.mark.parametrize("backend", BACKENDS)
def test_flat_load_grid_only_blended_tariff(backend):
    """A year (2023, UTC: 12 whole months) of a flat 5 MW load on the grid alone, the
    connection sized (capex 100,000 per MW, 5 %, 20 years; O&M 2,000 per MW-year). The
    connection must carry the load, so it is 5 MW, and the cost is the blended tariff:
    price x load x 8760 + demand rate x peak x 12 + (CRF capex + O&M) x 5."""
    L, price, rate = 5.0, 80.0, 10_000.0
    grid = {"import_max_mw": 0, "import_price_per_mwh": price,
            "demand_charge_per_mw_month": rate,
            "investment": {"capex_per_mw": 1e5, "fixed_om_per_mw_year": 2e3,
                           "lifetime_years": 20, "extendable": True, "max_mw": 100}}
    sc = _scenario(8760, [_site(load=L, grid=grid)], start="2023-01-01 00:00",
                   finance={"discount_rate_fraction": 0.05, "analysis_years": 20})
    res = engine.optimize(sc, backend=backend)
    expected = price * L * 8760 + rate * L * 12 + (crf(0.05, 20) * 1e5 + 2e3) * L
    assert res.objective == pytest.approx(expected, rel=1e-9)
    assert res.investment["size"].iloc[0] == pytest.approx(L, rel=1e-9)
    assert res.costs["demand_charge"] == pytest.approx(rate * L * 12, rel=1e-9)


def test_existing_assets_untouched_by_a_finance_block():
    """A finance block without investments changes nothing (no terms, no table)."""
    sc = _pv_scenario()
    d = sc.to_dict()
    plain = copy.deepcopy(d)
    del plain["sites"][0]["pv"][0]["investment"]
    res_fin = engine.optimize(engine.Scenario.from_dict(plain))
    del plain["finance"]
    res = engine.optimize(engine.Scenario.from_dict(plain))
    assert res_fin.objective == pytest.approx(res.objective, rel=1e-12)
    assert "capex" not in res.costs and res.investment.empty
