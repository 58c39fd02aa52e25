"""Shared-storage leases as sizing decisions: the ``lease_sizing`` table (leased MWh and MW,
mean and max over the offer's periods, annual cost) and the appraisal's lease line."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import check_invariants

import engine
from engine.economics import appraise

BACKENDS = ["highs", "pyomo"]


def _site(prices, load, **extra):
    return {"name": "a", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "grid": {"import_max_mw": 10, "import_price_per_mwh": list(prices)},
            "datacenter": {"gpus": 3000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": list(load)}, **extra}


def _plant(energy_price, power_price=0.0, throughput=0.0, own=None):
    lease = {"tenant": "dc", "site": "a"}
    if own is not None:
        lease["own_battery"] = own
    return {"name": "plant", "energy_mwh": 1.0, "power_mw": 1.0, "charge_efficiency": 1.0,
            "discharge_efficiency": 1.0,
            "offer": {"period": "day", "energy_price_per_mwh_period": energy_price,
                      "power_price_per_mw_period": power_price,
                      "throughput_price_per_mwh": throughput},
            "leases": [lease]}


def _scenario(site, plant, **extra):
    return engine.Scenario.from_dict({
        "name": "lease-sizing", "start": "2023-07-01 00:00", "timezone": "UTC",
        "horizon_h": len(site["grid"]["import_price_per_mwh"]), "sites": [site],
        "shared_storage": [plant], **extra})


@pytest.mark.parametrize("backend", BACKENDS)
def test_lease_size_mean_and_max_over_two_days(backend):
    """48 h, one lease priced per day: 24 per MWh-day, 6 per MW-day, efficiencies 1.

    Day 1: 1 MW of load in hour 1 at 110, hour 0 at 10; day 2: 0.5 MW in hour 25 at 110,
    hour 24 at 10; every other hour 50 and no load. Shifting a MWh saves 100 > 24 + 6 (a
    MWh and a MW for a day), so the lease is sized to the day's need: EL = PL = 1 on day 1,
    0.5 on day 2 (holding energy over midnight would need both days' leases: never cheaper).
    Mean 0.75, max 1 (MWh and MW). Lease cost 24 x 1.5 + 6 x 1.5 = 45 over 48 h, per year
    45 x 8760 / 48 = 8212.5; objective 10 x 1.5 + 45 = 60."""
    prices = [50.0] * 48
    prices[0] = prices[24] = 10.0
    prices[1] = prices[25] = 110.0
    load = [0.0] * 48
    load[1], load[25] = 1.0, 0.5
    sc = _scenario(_site(prices, load), _plant(24.0, power_price=6.0))
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(60.0, abs=1e-6)
    row = res.tables["lease_sizing"].iloc[0]
    assert row["asset"] == "lease.plant.dc" and row["period"] == "day" and row["periods"] == 2
    assert row["mean_leased_energy_mwh"] == pytest.approx(0.75, abs=1e-7)
    assert row["max_leased_energy_mwh"] == pytest.approx(1.0, abs=1e-7)
    assert row["mean_leased_power_mw"] == pytest.approx(0.75, abs=1e-7)
    assert row["max_leased_power_mw"] == pytest.approx(1.0, abs=1e-7)
    assert row["lease_cost"] == pytest.approx(45.0, abs=1e-6)
    assert row["annual_cost"] == pytest.approx(8212.5, abs=1e-4)
    assert row["capex"] == 0.0 and row["annualised_capex"] == 0.0
    # the table's cost is the objective's lease term, not a second copy of it
    assert row["lease_cost"] == pytest.approx(res.costs["lease"], abs=1e-9)
    check_invariants(sc, res)


OWN = {"cost_per_mwh_day": 240.0, "max_energy_mwh": 1.0, "max_power_mw": 1.0,
       "charge_efficiency": 1.0, "discharge_efficiency": 1.0}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("energy_price, leased", [(204.0, 1.0), (228.0, 0.0)])
def test_lease_or_own_flip_shows_in_the_lease_table(backend, energy_price, leased):
    """The flip of test_shared_storage (2 h, prices 10 and 110, 1 MW in hour 1; throughput 1
    per MWh; own battery at 240 per MWh-day = 20 per MWh over 2 h), with 6 per MW-day of
    leased power (0.5 per MW over 2 h): the lease costs c_E / 12 + 0.5 + 2 per MWh shifted.
    At 204: 19.5 < 20, lease 1 MWh and 1 MW, lease cost 17.5 (204 x 365 + 6 x 365 = 76,650
    a year). At 228: 21.5 > 20, build instead: leased 0, cost 0."""
    sc = _scenario(_site([10, 110], [0, 1]), _plant(energy_price, 6.0, 1.0, own=OWN))
    res = engine.optimize(sc, backend=backend)
    row = res.tables["lease_sizing"].iloc[0]
    for k in ("mean_leased_energy_mwh", "max_leased_energy_mwh", "mean_leased_power_mw",
              "max_leased_power_mw"):
        assert row[k] == pytest.approx(leased, abs=1e-7), k
    assert row["lease_cost"] == pytest.approx(17.5 * leased, abs=1e-6)
    assert row["annual_cost"] == pytest.approx(76_650.0 * leased, abs=1e-4)
    assert res.tables["leases"].iloc[0]["own_energy_mwh"] == pytest.approx(1 - leased, abs=1e-7)


def _lease_vs_battery():
    """One day; 1 MW of load in hour 1 at 110, hour 0 at 10, the rest 50 without load. The
    lease: 24 per MWh-day. The project may build a battery (efficiencies 1, empty at the
    start) at 43,800 per MWh, r = 0, life 10: 4,380 a MWh-year, 12 a MWh-day (ratio 1 h,
    no cost per MW)."""
    prices = [10.0, 110.0] + [50.0] * 22
    load = [0.0, 1.0] + [0.0] * 22
    bat = {"name": "b", "energy_mwh": 0.0, "charge_power_mw": 0.0, "discharge_power_mw": 0.0,
           "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "soc_min_fraction": 0.0,
           "initial_soc_fraction": 0.0, "terminal": "free",
           "investment": {"capex_per_mwh": 43_800.0, "lifetime_years": 10, "extendable": True,
                          "max_mwh": 5.0, "max_mw": 5.0, "energy_to_power_ratio_h": 1.0}}
    return _scenario(_site(prices, load, batteries=[bat]), _plant(24.0),
                     finance={"discount_rate_fraction": 0.0, "analysis_years": 10})


@pytest.mark.parametrize("backend", BACKENDS)
def test_appraisal_counts_the_lease_once(backend):
    """Business-as-usual (no battery) leases 1 MWh: operating cost 10 + 24 = 34 a day,
    12,410 a year, of which the lease 24 x 365 = 8,760. The project builds 1 MWh (12 a day <
    24) and leases nothing: operating 10 a day, 3,650 a year. Savings 8,760 a year, all of
    them the lease avoided: cash-flow line ``lease`` 8,760, ``savings`` (the rest) 0. Capex
    43,800, 10 years at r = 0: NPV -43,800 + 87,600 = 43,800, payback 5 years. Counted
    twice, the lease would give savings of 17,520 and a payback of 2.5 years."""
    a = appraise(_lease_vs_battery(), backend=backend)
    m = a.metrics
    assert a.investment.set_index("quantity").loc["mwh", "size"] == pytest.approx(1.0, abs=1e-6)
    assert m["bau_lease_cost_per_year"] == pytest.approx(8760.0, rel=1e-9)
    assert m["lease_cost_per_year"] == pytest.approx(0.0, abs=1e-6)
    assert m["bau_operating_cost_per_year"] == pytest.approx(12_410.0, rel=1e-9)
    assert m["operating_cost_per_year"] == pytest.approx(3650.0, rel=1e-9)
    assert m["savings_per_year"] == pytest.approx(8760.0, rel=1e-9)
    np.testing.assert_allclose(a.cash_flows["lease"], [0.0] + [8760.0] * 10, atol=1e-5)
    np.testing.assert_allclose(a.cash_flows["savings"], 0.0, atol=1e-5)
    assert m["npv"] == pytest.approx(43_800.0, rel=1e-6)
    assert m["simple_payback_years"] == pytest.approx(5.0, rel=1e-6)
    bau_lease = a.bau.tables["lease_sizing"].iloc[0]
    assert bau_lease["max_leased_energy_mwh"] == pytest.approx(1.0, abs=1e-7)
    assert bau_lease["annual_cost"] == pytest.approx(8760.0, rel=1e-9)
    assert a.leases["max_leased_energy_mwh"].iloc[0] == pytest.approx(0.0, abs=1e-7)
    assert "shared-storage leases" in a.summary()


def test_lease_sizing_in_the_summary():
    sc = _scenario(_site([10, 110], [0, 1]), _plant(204.0, 6.0, 1.0))
    res = engine.optimize(sc)
    d = res.summary_dict()
    assert d["lease_sizing"][0]["max_leased_energy_mwh"] == pytest.approx(1.0, abs=1e-7)
    assert d["lease_sizing"][0]["annual_cost"] == pytest.approx(76_650.0, abs=1e-4)
    assert "lease plant/dc: 1.000 MWh 1.000 MW (max over 1 days), 76,650.00 a year" \
        in res.summary()


def test_leases_on_representative_days_are_refused():
    """Typical days cannot represent a lease priced per calendar day or month (nor its
    virtual battery across days): a ScenarioError naming the field, not a wrong cost."""
    s = _site([50.0], [1.0])
    s["grid"]["import_price_per_mwh"] = 50.0
    s["datacenter"]["inflexible_it_mw"] = 1.0
    with pytest.raises(engine.ScenarioError, match="^sizing.representative_days: .*"
                                                   "shared_storage leases"):
        engine.Scenario.from_dict({
            "name": "year", "start": "2023-01-01 00:00", "timezone": "UTC", "horizon_h": 8760,
            "sites": [s], "shared_storage": [_plant(24.0)],
            "sizing": {"representative_days": 12}})
