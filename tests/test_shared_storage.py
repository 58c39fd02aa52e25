"""Shared storage: leases, virtual batteries inside the physical plant, lease vs own battery."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import ATOL_BOUND, check_invariants

import engine

BACKENDS = ["highs", "pyomo"]


def site(name, prices, load):
    return {"name": name, "latitude_deg": 36.6, "longitude_deg": 101.8,
            "grid": {"import_max_mw": 10, "import_price_per_mwh": list(prices)},
            "datacenter": {"gpus": 3000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": list(load)}}


def plant(leases, *, energy=1.0, power=1.0, energy_price=0.0, throughput=0.0, subsidy=0.0,
          period="day"):
    return {"name": "plant", "energy_mwh": energy, "power_mw": power,
            "charge_efficiency": 1.0, "discharge_efficiency": 1.0,
            "offer": {"period": period, "energy_price_per_mwh_period": energy_price,
                      "throughput_price_per_mwh": throughput,
                      "subsidy_per_mwh_discharged": subsidy},
            "leases": list(leases)}


def scenario(sites, plants):
    return engine.Scenario.from_dict({
        "name": "shared", "start": "2023-07-01 00:00", "timezone": "UTC",
        "horizon_h": len(sites[0]["grid"]["import_price_per_mwh"]), "sites": sites,
        "shared_storage": plants})


OWN = {"cost_per_mwh_day": 240.0, "max_energy_mwh": 1.0, "max_power_mw": 1.0,
       "charge_efficiency": 1.0, "discharge_efficiency": 1.0}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("lease_price, leased, own, objective", [
    (204.0, 1.0, 0.0, 29.0), (228.0, 0.0, 1.0, 30.0)])
def test_lease_or_own_flips_at_the_derived_price(backend, lease_price, leased, own, objective):
    """Two hours, prices 10 and 110, 1 MW of load in hour 1; storage efficiencies 1.

    Shifting the MWh saves 100. The horizon is 2/24 of a day, so a lease at c_E per MWh-day
    costs c_E / 12 per MWh plus throughput 1 per MWh charged and 1 discharged; an own battery
    at 240 per MWh-day costs 20 per MWh. Flip: c_E / 12 + 2 = 20, c_E = 216. At 204 the lease
    costs 19 < 20: lease 1 MWh, objective 10 + 17 + 2 = 29. At 228 it costs 21: build 1 MWh,
    objective 10 + 20 = 30."""
    lease = {"tenant": "dc", "site": "a", "own_battery": OWN}
    sc = scenario([site("a", [10, 110], [0, 1])],
                  [plant([lease], energy_price=lease_price, throughput=1.0)])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(objective, abs=1e-7)
    row = res.tables["leases"].iloc[0]
    assert row["peak_soc_mwh"] == pytest.approx(leased, abs=1e-7)
    assert row["own_energy_mwh"] == pytest.approx(own, abs=1e-7)
    if leased:
        assert row["payment"] == pytest.approx(19.0, abs=1e-7)
        # the benefit: 1 MWh shifted from 110 to 10 at the site's price, less the payment
        assert row["shifted_value"] == pytest.approx(100.0, abs=1e-7)
        assert row["net_benefit"] == pytest.approx(81.0, abs=1e-7)
    check_invariants(sc, res)


TWO_SITES = [site("a", [10, 110, 110, 110], [0, 1, 0, 0]),
             site("b", [110, 110, 10, 110], [0, 0, 0, 1])]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_tenants_share_less_than_their_own_optima(backend):
    """Tenant a needs 1 MWh moved from hour 0 to hour 1, tenant b from hour 2 to hour 3
    (prices 10 where they charge, 110 elsewhere). Over 4 h (1/6 of a day) a MWh-day at 24
    costs 4: each leases 1 MWh (cost 4 < 100 saved). Objective 10 + 10 + 4 + 4 = 28.

    Alone each would need a 1 MWh battery (2 MWh in all); on the shared 1 MWh plant the
    leases add up to 2 MWh, yet the physical SOC peaks at 1 MWh: sharing saves half."""
    leases = [{"tenant": "ta", "site": "a"}, {"tenant": "tb", "site": "b"}]
    sc = scenario(TWO_SITES, [plant(leases, energy_price=24.0)])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(28.0, abs=1e-7)
    leases_t = res.tables["leases"].set_index("tenant")
    np.testing.assert_allclose(leases_t["mean_leased_energy_mwh"], [1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(leases_t["payment"], [4.0, 4.0], atol=1e-7)
    p = res.tables["shared_storage"].iloc[0]
    assert p["peak_soc_mwh"] == pytest.approx(1.0, abs=1e-7)
    assert p["sum_tenant_peak_soc_mwh"] == pytest.approx(2.0, abs=1e-7)
    assert p["sharing_saving_fraction"] == pytest.approx(0.5, abs=1e-7)
    check_invariants(sc, res)
    # each owning its own (no lease possible: max 0) sizes 1 MWh each, 2 MWh in all
    own = {**OWN, "cost_per_mwh_day": 24.0}
    alone = [{"tenant": t, "site": s, "max_energy_mwh": 0.0, "max_power_mw": 0.0,
              "own_battery": own} for t, s in (("ta", "a"), ("tb", "b"))]
    res_own = engine.optimize(scenario(TWO_SITES, [plant(alone)]), backend=backend)
    assert res_own.objective == pytest.approx(28.0, abs=1e-7)
    assert res_own.tables["leases"]["own_energy_mwh"].sum() == pytest.approx(2.0, abs=1e-7)


def test_invariants_on_a_random_week_and_backends_agree():
    """Five tenants with random loads and prices over a week on a plant smaller than their
    leases: virtual SOCs sum within the plant, each tenant within its lease; both backends
    reach the same optimum."""
    rng = np.random.default_rng(7)
    T = 168
    sites = [site(f"s{k}", (40 + 30 * np.sin((np.arange(T) + 5 * k) / 24 * 2 * np.pi)
                            + rng.uniform(0, 5, T)).round(3),
                  rng.uniform(0.5, 2.0, T).round(3)) for k in range(5)]
    leases = [{"tenant": f"t{k}", "site": f"s{k}", "max_energy_mwh": 3.0} for k in range(5)]
    p = plant(leases, energy=6.0, power=3.0, energy_price=2.0, throughput=0.5, subsidy=0.2)
    p.update(charge_efficiency=0.92, discharge_efficiency=0.93, self_discharge_per_h=0.001)
    sc = scenario(sites, [p])
    a = engine.optimize(sc, backend="highs")
    b = engine.optimize(sc, backend="pyomo")
    assert a.objective == pytest.approx(b.objective, rel=1e-8, abs=1e-6)
    for res in (a, b):
        check_invariants(sc, res)
        h = res.hourly
        total = sum(h[f"lease.plant.t{k}/soc_mwh"] for k in range(5))
        assert total.max() <= 6.0 + ATOL_BOUND
        np.testing.assert_allclose(total, h["shared_storage.plant/soc_mwh"], atol=1e-9)
        net = h["shared_storage.plant/net_charge_mw"]
        assert net.abs().max() <= 3.0 + ATOL_BOUND
        t = res.tables["leases"].set_index("tenant")
        for k in range(5):
            base = f"lease.plant.t{k}"
            e, pw = t.loc[f"t{k}", "mean_leased_energy_mwh"], t.loc[f"t{k}", "mean_leased_power_mw"]
            assert h[f"{base}/soc_mwh"].max() <= e + ATOL_BOUND  # one period: mean = lease
            assert h[f"{base}/charge_mw"].max() <= pw + ATOL_BOUND
            assert h[f"{base}/discharge_mw"].max() <= pw + ATOL_BOUND
            assert h[f"{base}/soc_mwh"].min() >= -ATOL_BOUND


@pytest.mark.parametrize("lease, field", [
    ({"min_energy_mwh": 0.8, "max_energy_mwh": 0.5}, r"leases\[0\]\.min_energy_mwh"),
    ({"min_power_mw": 0.8, "max_power_mw": 0.5}, r"leases\[0\]\.min_power_mw"),
    ({"max_energy_mwh": 5.0}, r"leases\[0\]\.max_energy_mwh"),
    ({"min_power_mw": 2.0}, r"leases\[0\]\.min_power_mw"),
    ({"site": "nowhere"}, r"shared_storage\[0\]\.leases\[0\]\.site"),
])
def test_bad_leases_name_the_field(lease, field):
    with pytest.raises(engine.ScenarioError, match=field):
        scenario([site("a", [10, 110], [0, 1])],
                 [plant([{"tenant": "dc", "site": "a", **lease}])])
