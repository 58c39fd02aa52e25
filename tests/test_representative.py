"""Representative days: the typical-day model against the full-year model it stands for.

References: the full-year sizing model itself. When every day of the year is the same and
nothing carries state from day to day, one typical day weighted 365 times IS the year (its
demand charge a peak repeated each month): the objectives agree to solver precision. (With a
battery they need not: the year's first day starts from the stated initial SOC and may
differ from the rest, which one typical day cannot show.) When every day is its own typical
day (N = 365) the linked storage formulation (Kotzur et al. 2018) is exact without
self-discharge, and only the demand charge differs (a yearly peak paid 12 times), so without
a demand charge the objectives agree too.
"""
from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.model.data import prepare
from engine.model.periods import aggregate
from engine.representative import size_with_representative_days

BACKENDS = ["highs", "pyomo"]
YEAR = 8760


def _year(solar, price, demand_charge=0.0, green=0.0, n_days=None, battery=True):
    inv = lambda **kw: {"lifetime_years": 10, "extendable": True, **kw}
    site = {
        "name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
        "datacenter": {"gpus": 10000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                       "inflexible_it_mw": 5.0},
        "pv": [{"name": "p", "capacity_mw": 0, "availability_fraction": solar.tolist(),
                "investment": inv(capex_per_mw=4.0e5, max_mw=50)}],
        "batteries": [{"name": "b", "energy_mwh": 0, "charge_power_mw": 0,
                       "discharge_power_mw": 0, "soc_min_fraction": 0.0,
                       "initial_soc_fraction": 0.0, "charge_efficiency": 0.95,
                       "discharge_efficiency": 0.95,
                       "investment": inv(capex_per_mwh=1.5e5, capex_per_mw=5e4, max_mwh=100,
                                         max_mw=25)}],
        "grid": {"import_max_mw": 20, "import_price_per_mwh": price.tolist(),
                 "demand_charge_per_mw_month": demand_charge, "clean_share_fraction": 0.2},
    }
    d = {"name": "year", "start": "2023-01-01 00:00", "timezone": "UTC", "horizon_h": YEAR,
         "sites": [site], "finance": {"discount_rate_fraction": 0.05, "analysis_years": 10},
         "policy": {"green_share_min_fraction": green}}
    if not battery:
        site["batteries"] = []
    if n_days is not None:
        d["sizing"] = {"representative_days": n_days}
    return engine.Scenario.from_dict(d)


def _daily(day: np.ndarray) -> np.ndarray:
    return np.tile(day, 365)


SOLAR_DAY = np.clip(np.sin((np.arange(24) - 6) / 12 * np.pi), 0, None)
PRICE_DAY = np.where((np.arange(24) >= 17) & (np.arange(24) < 23), 160.0, 60.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_identical_days_one_typical_day_is_the_year(backend):
    """Every day the same, PV and the grid (with a demand charge and a 50 % annual green
    floor): one typical day weighted 365 times has the full year's optimum; the full-year
    re-dispatch at its sizes costs the same again."""
    sc = _year(_daily(SOLAR_DAY), _daily(PRICE_DAY), demand_charge=2.0e4, green=0.5, n_days=1,
               battery=False)
    full = engine.optimize(sc, backend=backend)
    rep = size_with_representative_days(sc, backend=backend)
    assert rep.n_days == 1
    assert rep.aggregated_cost == pytest.approx(full.objective, rel=1e-6)
    assert rep.full_cost == pytest.approx(full.objective, rel=1e-6)
    assert abs(rep.aggregation_error) < 1e-6
    assert rep.full.status == engine.Status.OPTIMAL
    assert rep.full.kpis["unserved_mwh"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow  # two annual sizing LPs (~80 s)
def test_every_day_its_own_typical_day_is_exact_without_a_demand_charge():
    """N = 365 typical days, days all different (weather and prices vary from day to day):
    the linked storage (S at day boundaries, δ within days) reproduces the year's
    chronological SOC, so the optimum is the full-year sizing optimum."""
    rng = np.random.default_rng(7)
    solar = _daily(SOLAR_DAY) * np.repeat(rng.uniform(0.2, 1.0, 365), 24)
    price = _daily(PRICE_DAY) * np.repeat(rng.uniform(0.7, 1.4, 365), 24)
    sc = _year(solar, price, green=0.3, n_days=365)
    full = engine.optimize(sc)
    rep = size_with_representative_days(sc)
    assert rep.aggregated_cost == pytest.approx(full.objective, rel=1e-7)
    np.testing.assert_allclose(rep.investment["size"], full.investment["size"], rtol=1e-4,
                               atol=1e-4)


def test_aggregate_weights_and_order():
    """12 typical days: weights sum to a year, the order names a typical day per day, and
    each column's weighted mean is the year's (tsam preserves column means)."""
    rng = np.random.default_rng(3)
    solar = _daily(SOLAR_DAY) * np.repeat(rng.uniform(0.2, 1.0, 365), 24)
    sc = _year(solar, _daily(PRICE_DAY), n_days=12)
    data = prepare(sc)
    agg = aggregate(data, 12)
    w = agg.extra["hour_weight"]
    per = agg.extra["periods"]
    assert agg.T == 12 * 24 and w.sum() == pytest.approx(YEAR)
    assert per["order"].shape == (365,) and set(per["order"]) == set(range(12))
    np.testing.assert_allclose(np.bincount(per["order"]), per["counts"])
    year_mean = data.sites[0].pv_avail_per_mw.mean()
    assert (agg.sites[0].pv_avail_per_mw * w).sum() / YEAR == pytest.approx(year_mean, rel=1e-6)


@pytest.mark.parametrize("field, value, message", [
    ("representative_days", 366, "sizing.representative_days: must be <= 365"),
    ("representative_days", 0, "sizing.representative_days: must be >= 1"),
])
def test_bad_representative_days(field, value, message):
    with pytest.raises(engine.ScenarioError, match=message):
        _year(_daily(SOLAR_DAY), _daily(PRICE_DAY), n_days=value)


def test_representative_days_need_a_year():
    d = _year(_daily(SOLAR_DAY), _daily(PRICE_DAY)).to_dict()
    d["horizon_h"] = 24 * 7
    for key in ("pv", "batteries"):
        d["sites"][0][key][0]["availability_fraction" if key == "pv" else "name"] = (
            SOLAR_DAY.tolist() * 7 if key == "pv" else "b")
    d["sites"][0]["grid"]["import_price_per_mwh"] = PRICE_DAY.tolist() * 7
    d["sizing"] = {"representative_days": 4}
    with pytest.raises(engine.ScenarioError,
                       match=r"^sizing\.representative_days: 4 typical days need a 365-day year"):
        engine.Scenario.from_dict(d)


@pytest.mark.slow  # the annual example, 12 typical days then every hour (~30 s)
def test_site_comparison_example_full_year_redispatch_is_feasible():
    """The example's sizes from 12 typical days serve every hour of the year: the full-year
    dispatch at those sizes is optimal (with the 80 % floor), nothing unserved, and the
    aggregation error is a finite number reported with it."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "site_comparison" / "xining.yaml"
    rep = size_with_representative_days(engine.load_scenario(path))
    assert rep.full.status == engine.Status.OPTIMAL
    assert rep.full.kpis["unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert rep.full.kpis["green_share"] >= 0.8 - 1e-6
    assert np.isfinite(rep.aggregation_error)
