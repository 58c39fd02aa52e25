"""Small LPs whose optimum is derived by hand in each docstring."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import check_invariants

import engine

BACKENDS = ["highs", "pyomo"]


def one_site(T, *, dc=None, grid=None, batteries=(), pv=(), hydro=(), start="2023-03-01 00:00",
             jobs=(), policy=None):
    site = {"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "batteries": list(batteries), "pv": list(pv), "hydro": list(hydro)}
    if grid is not None:
        site["grid"] = grid
    site["datacenter"] = dc or {"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0}
    return engine.Scenario.from_dict({
        "name": "hand", "start": start, "timezone": "UTC", "horizon_h": T, "sites": [site],
        "jobs": list(jobs), "policy": policy or {},
    })


@pytest.mark.parametrize("backend", BACKENDS)
def test_battery_arbitrage_three_hours(backend):
    """Prices 10, 50, 100 per MWh; 1 MW load in hour 2 only; a 1 MWh battery, empty at the
    start, 1 MW both ways, charge efficiency 1, discharge efficiency 0.9, no terminal rule.

    A MWh charged in hour 0 delivers 0.9 MWh in hour 2 at 10/0.9 = 11.1 per MWh delivered,
    below hour 2's 100. The battery holds 1 MWh, so: charge 1 in hour 0 (cost 10), discharge
    0.9 in hour 2 and import the missing 0.1 at 100 (cost 10). Optimum 20.
    Charging in hour 1 instead costs 50 + 10 = 60; no battery costs 100.
    """
    sc = one_site(
        3,
        dc={"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": [0, 0, 1]},
        grid={"import_max_mw": 10, "import_price_per_mwh": [10, 50, 100]},
        batteries=[{"name": "b", "energy_mwh": 1, "charge_power_mw": 1, "discharge_power_mw": 1,
                    "charge_efficiency": 1.0, "discharge_efficiency": 0.9, "soc_min_fraction": 0,
                    "initial_soc_fraction": 0, "terminal": "free"}],
    )
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(20.0, rel=1e-9)
    h = res.hourly
    np.testing.assert_allclose(h["battery.b/charge_mw"], [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(h["battery.b/discharge_mw"], [0, 0, 0.9], atol=1e-9)
    np.testing.assert_allclose(h["grid.s/import_mw"], [1, 0, 0.1], atol=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_job_moves_to_cheap_hours_inside_its_window(backend):
    """A 2 MWh job, window hours [0, 5), at most 1 MW; no other load.

    IT energy cost per MWh in hour t is price[t] * PUE[t]: prices 50, 10, 50, 12, 50, 1 and
    PUE 1, 2, 1, 1, 1, 1 give 50, 20, 50, 12, 50 inside the window (hour 5, at 1, is outside).
    The job takes the two cheapest hours: 1 MWh in hour 3 (12) and 1 MWh in hour 1 (2 MWh of
    facility energy at 10 = 20). Optimum 32, nothing in hour 5.
    """
    sc = one_site(
        6,
        dc={"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": [1, 2, 1, 1, 1, 1]},
        grid={"import_max_mw": 10, "import_price_per_mwh": [50, 10, 50, 12, 50, 1]},
        jobs=[{"name": "j", "energy_mwh": 2, "release_h": 0, "deadline_h": 5, "max_power_mw": 1}],
    )
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(32.0, rel=1e-9)
    np.testing.assert_allclose(res.job_power_mw("j"), [0, 1, 0, 1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(res.hourly["datacenter.s/flexible_it_mw"], [0, 1, 0, 1, 0, 0], atol=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("matching, expected", [("annual", 64.0), ("hourly", 100.0), (None, 10.0)])
def test_green_share_floor(backend, matching, expected):
    """A 1 MWh job over hours [0, 2); grid only; prices 10 and 100; clean share 0 and 1.

    Without a floor the job runs in hour 0: cost 10. With an 60 % annual floor, fossil
    energy x0 <= 0.4 * (x0 + x1) = 0.4, so x0 = 0.4, x1 = 0.6: cost 4 + 60 = 64. With 60 %
    hourly (24/7) matching, x0 <= 0.4 * x0 forces x0 = 0: cost 100.
    """
    policy = {} if matching is None else {"green_share_min_fraction": 0.6,
                                          "green_matching": matching}
    sc = one_site(
        2,
        grid={"import_max_mw": 10, "import_price_per_mwh": [10, 100],
              "clean_share_fraction": [0.0, 1.0]},
        jobs=[{"name": "j", "energy_mwh": 1, "release_h": 0, "deadline_h": 2}],
        policy=policy,
    )
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(expected, rel=1e-9)
    if matching == "annual":
        assert res.kpis["green_share"] == pytest.approx(0.6, abs=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_demand_charge_flattens_the_peak(backend):
    """A 2 MWh job over 4 free hours, at most 2 MW; demand charge 100 per MW-month.

    Energy is free, so only the month's peak costs: spreading 2 MWh over 4 hours gives a
    0.5 MW peak, cost 50. Running at 2 MW for one hour would cost 200. (Full-month rate
    here; pro-rating is tested below.)
    """
    sc = one_site(
        4,
        grid={"import_max_mw": 10, "import_price_per_mwh": 0.0, "demand_charge_per_mw_month": 100,
              "demand_charge_proration": "full_month"},
        jobs=[{"name": "j", "energy_mwh": 2, "release_h": 0, "deadline_h": 4, "max_power_mw": 2}],
    )
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(50.0, rel=1e-9)
    assert res.kpis["peak_import_mw"] == pytest.approx(0.5, rel=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_demand_charge_per_calendar_month(backend):
    """1 MW flat load over two hours that straddle a month end (Jan 31 23:00, Feb 1 00:00),
    demand charge 100 per MW-month: with full months each month pays its own 1 MW peak, 200
    in all; pro-rated (the default) January pays 1/744 of it and February 1/672."""
    grid = {"import_max_mw": 10, "import_price_per_mwh": 0.0, "demand_charge_per_mw_month": 100}
    dc = {"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": 1.0}
    sc = one_site(2, start="2023-01-31 23:00", dc=dc,
                  grid={**grid, "demand_charge_proration": "full_month"})
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(200.0, rel=1e-9)
    assert res.costs["demand_charge"] == pytest.approx(200.0, rel=1e-9)
    assert list(res.demand_charges["factor"]) == [1.0, 1.0]
    sc = one_site(2, start="2023-01-31 23:00", dc=dc, grid=grid)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(100 / 744 + 100 / 672, rel=1e-9)
    assert list(res.demand_charges["month"]) == ["2023-01", "2023-02"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_demand_charge_pro_rated_for_a_week(backend):
    """A 168-h week inside July (744 h), 2 MW flat load, demand charge 28,000 per MW-month:
    the month pays 28,000 x 2 x 168 / 744 = 12,645.16..., stated in Result.demand_charges
    and in the summaries."""
    sc = one_site(
        168, start="2023-07-03 00:00",
        dc={"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": 2.0},
        grid={"import_max_mw": 10, "import_price_per_mwh": 0.0,
              "demand_charge_per_mw_month": 28_000.0},
    )
    res = engine.optimize(sc, backend=backend)
    want = 28_000.0 * 2.0 * 168 / 744
    assert res.objective == pytest.approx(want, rel=1e-9)
    assert res.costs["demand_charge"] == pytest.approx(want, rel=1e-9)
    row = res.demand_charges.iloc[0]
    assert len(res.demand_charges) == 1
    assert (row["site"], row["month"], row["hours_in_horizon"], row["hours_in_month"]) == \
        ("s", "2023-07", 168, 744)
    assert row["factor"] == pytest.approx(168 / 744, rel=1e-12)
    assert row["peak_mw"] == pytest.approx(2.0, rel=1e-9)
    assert row["charge"] == pytest.approx(want, rel=1e-9)
    assert "2023-07   168/744  h  factor 0.2258  peak 2.000 MW  charge 12,645.16" in res.summary()
    assert res.summary_dict()["demand_charges"][0]["hours_in_month"] == 744


def test_demand_charge_months_on_the_local_clock():
    """March in Berlin has 743 local hours (the clocks skip one); the factor uses them."""
    from engine.model.data import months
    from engine.scenario.series import hourly_index

    codes, labels, hours, total = months(hourly_index("2023-03-30 00:00", "Europe/Berlin", 72))
    assert labels == ["2023-03", "2023-04"] and list(hours) == [48, 24]
    assert list(total) == [743, 720]
    assert list(codes) == [0] * 48 + [1] * 24


@pytest.mark.parametrize("backend", BACKENDS)
def test_hydro_budget_per_period(backend):
    """2 MW flat load for 4 hours; hydro up to 2 MW with 3 MWh per 2-hour block; grid at 10.

    Each block needs 4 MWh, hydro gives 3, the grid 1: cost 2 blocks x 1 MWh x 10 = 20.
    """
    sc = one_site(
        4,
        dc={"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": 2.0},
        grid={"import_max_mw": 10, "import_price_per_mwh": 10.0},
        hydro=[{"name": "h", "max_power_mw": 2.0, "energy_budget_mwh": 3.0, "budget_period_h": 2}],
    )
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(20.0, rel=1e-9)
    hy = res.hourly["hydro.h/power_mw"].to_numpy()
    np.testing.assert_allclose([hy[:2].sum(), hy[2:].sum()], [3.0, 3.0], atol=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_curtailment_export_and_carbon(backend):
    """One hour. PV 5 MW available, 1 MW load, export up to 1 MW at 5, curtailment penalty 7.

    Export 1 MW (revenue 5), curtail 3 MW (penalty 21): objective 16. A second hour with no
    PV and 1 MW load imports at 10 plus carbon 100 per t x 0.5 t/MWh = 60: objective 76.
    """
    sc = one_site(
        2,
        dc={"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": 1.0},
        grid={"import_max_mw": 10, "export_max_mw": 1.0, "import_price_per_mwh": 10.0,
              "export_price_per_mwh": 5.0, "emission_factor_kg_per_mwh": 500.0},
        pv=[{"name": "pv", "capacity_mw": 5.0, "availability_fraction": [1.0, 0.0]}],
        policy={"curtailment_penalty_per_mwh": 7.0, "carbon_price_per_t": 100.0},
    )
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(76.0, rel=1e-9)
    assert res.costs["curtailment"] == pytest.approx(21.0, rel=1e-9)
    assert res.costs["export_revenue"] == pytest.approx(-5.0, rel=1e-9)
    assert res.costs["carbon"] == pytest.approx(50.0, rel=1e-9)
    assert res.kpis["curtailment_mwh"] == pytest.approx(3.0, rel=1e-9)
    assert res.kpis["emissions_t"] == pytest.approx(0.5, rel=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_outage_battery_rides_through_or_load_is_lost(backend):
    """1 MW load for 3 hours at 10 per MWh; grid out in hour 1; lossless 2 MWh battery at
    half charge (1 MWh), terminal SOC >= initial.

    The battery carries hour 1 (1 MWh) and is refilled in hour 2: imports 1 + 0 + 2 = 3 MWh,
    cost 30. With the grid also out in hour 2 the battery cannot carry both hours nor be
    refilled... unless it is charged in hour 0: import 1 + 1 in hour 0 (soc 2), discharge
    1 + 1 in hours 1, 2; the terminal rule then needs soc >= 1, impossible with no grid
    after hour 0, so 1 MWh is unserved at the value of lost load 1000: cost 20 + 1000.
    """
    common = dict(
        dc={"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": 1.0},
        batteries=[{"name": "b", "energy_mwh": 2, "charge_power_mw": 2, "discharge_power_mw": 2,
                    "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "soc_min_fraction": 0,
                    "initial_soc_fraction": 0.5}],
        policy={"value_of_lost_load_per_mwh": 1000.0},
    )
    sc = one_site(3, grid={"import_max_mw": 10, "import_price_per_mwh": 10.0, "outage_hours": [1]},
                  **common)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(30.0, rel=1e-9)
    check_invariants(sc, res)
    sc2 = one_site(3, grid={"import_max_mw": 10, "import_price_per_mwh": 10.0,
                            "outage_hours": [1, 2]}, **common)
    res2 = engine.optimize(sc2, backend=backend)
    assert res2.objective == pytest.approx(1020.0, rel=1e-9)
    assert res2.kpis["unserved_mwh"] == pytest.approx(1.0, rel=1e-9)
    check_invariants(sc2, res2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible_returns_status_and_diagnosis(backend):
    """Hydro must run at 5 MW with 1 MW of load, no export and no storage: nothing can absorb
    the surplus, so the balance cannot close."""
    sc = one_site(
        3,
        dc={"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": 1.0},
        hydro=[{"name": "h", "min_power_mw": [0, 5, 0], "max_power_mw": 5.0}],
    )
    res = engine.optimize(sc, backend=backend)
    assert res.status == engine.Status.INFEASIBLE
    assert "bus/balance" in res.diagnosis
    assert "(0, 1)" in res.diagnosis  # site 0, hour 1
    assert "infeasible" in res.summary()
    assert np.isnan(res.objective)


@pytest.mark.parametrize("backend", BACKENDS)
def test_full_battery_does_not_burn_surplus_against_a_curtailment_penalty(backend):
    """One hour: 5 MW of PV, 1 MW of load, no grid, a full battery (2 MW, efficiencies 0.9),
    curtailment penalty 7 per MWh.

    The battery cannot store more, so 4 MW must be curtailed: cost 28. An LP without the
    charge/discharge binary would charge 2 and discharge 1.62 in the same hour, burning
    0.38 MW in losses, for 28 - 7 x 0.38 = 25.34.
    """
    sc = one_site(
        1,
        dc={"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": 1.0},
        pv=[{"name": "pv", "capacity_mw": 5.0, "availability_fraction": 1.0}],
        batteries=[{"name": "b", "energy_mwh": 4, "charge_power_mw": 2, "discharge_power_mw": 2,
                    "charge_efficiency": 0.9, "discharge_efficiency": 0.9,
                    "soc_max_fraction": 1.0, "initial_soc_fraction": 1.0, "terminal": "free"}],
        policy={"curtailment_penalty_per_mwh": 7.0},
    )
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(28.0, rel=1e-9)
    h = res.hourly
    assert min(h["battery.b/charge_mw"].iloc[0], h["battery.b/discharge_mw"].iloc[0]) <= 1e-9
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_buying_to_sell_back_in_the_same_hour(backend):
    """1 MW of load; import at 30, export at 50, both up to 10 MW. Buying 10 and selling 9
    would "earn" 150; the import/export binary leaves the honest answer: import 1, cost 30."""
    sc = one_site(
        1,
        dc={"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.0, "inflexible_it_mw": 1.0},
        grid={"import_max_mw": 10, "export_max_mw": 10, "import_price_per_mwh": 30.0,
              "export_price_per_mwh": 50.0},
    )
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(30.0, rel=1e-9)
    assert res.hourly["grid.s/export_mw"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_it_capacity_binds_only_where_jobs_can_exceed_it(backend):
    """1 MW of IT capacity, no inflexible load, prices 1, 2, 10. Job A needs 1 MWh in
    [0, 2), job B 1 MWh in [0, 3), each at most 1 MW.

    Without the capacity both would run in hour 0 (cost 2). With it only 1 MW fits in an
    hour, so one job runs in hour 0 (1) and the other in hour 1 (2): optimum 3. Hours 0 and
    1 get a capacity row (both jobs could reach 2 MW there); hour 2, where only B can run,
    gets none (B's 1 MW bound already implies it).
    """
    sc = one_site(
        3, grid={"import_max_mw": 10, "import_price_per_mwh": [1, 2, 10]},
        jobs=[{"name": "a", "energy_mwh": 1, "release_h": 0, "deadline_h": 2, "max_power_mw": 1},
              {"name": "b", "energy_mwh": 1, "release_h": 0, "deadline_h": 3, "max_power_mw": 1}],
    )
    assert engine.build_model(sc).model.con_groups["datacenter/it_capacity"].size == 2
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(3.0, rel=1e-9)
    np.testing.assert_allclose(res.hourly["datacenter.s/it_mw"], [1, 1, 0], atol=1e-9)
    check_invariants(sc, res)
