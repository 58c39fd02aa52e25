"""Jobs placed across sites after their data moved over links; inference within latency;
tenants' hourly ledger and certificates.

Every case is a small LP/MILP whose optimum is derived by hand in its comment, solved on
both backends; the invariants (balances, link bandwidth, work complete, certificates summing
to each tenant's consumption and to the site's sources) are checked on every solve.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

import engine

BACKENDS = ["highs", "pyomo"]
ATOL = 1e-6
GB_H = 450.0  # GB per hour and Gbps


def _two_sites(east_price=100.0, west_price=50.0, bw=10.0, price_gb=0.0, kwh_gb=0.0,
               latency=20.0, horizon=4) -> dict:
    site = lambda name, price, lat: {
        "name": name, "latitude_deg": lat, "longitude_deg": 110.0,
        "grid": {"import_max_mw": 10.0, "import_price_per_mwh": price},
        "datacenter": {"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0}}
    return {
        "name": "ew", "start": "2023-01-01 00:00", "horizon_h": horizon,
        "sites": [site("e", east_price, 30.0), site("w", west_price, 36.0)],
        "regions": [{"name": "east", "sites": ["e"]}, {"name": "west", "sites": ["w"]}],
        "links": [{"from_region": "east", "to_region": "west", "bandwidth_gbps": bw,
                   "latency_ms": latency, "price_per_gb": price_gb,
                   "energy_kwh_per_gb": kwh_gb}],
        "tenants": [{"name": "acme"}],
        "jobs": [{"name": "j", "energy_mwh": 2.0, "deadline_h": horizon, "max_power_mw": 1.0,
                  "home_region": "east", "tenant": "acme"}],
    }


def _solve(d: dict, backend: str) -> engine.Result:
    res = engine.optimize(engine.Scenario.from_dict(d), backend=backend)
    assert res.status == engine.Status.OPTIMAL
    _invariants(d, res)
    return res


def _invariants(d: dict, res: engine.Result) -> None:
    """Balances, link bandwidth, work complete, certificates sum to consumption/sources."""
    h = res.hourly
    for s in d["sites"]:
        n = s["name"]
        supply = h[f"grid.{n}/import_mw"] + h[f"bus.{n}/unserved_mw"]
        for pv in s.get("pv", []):
            supply = supply + h[f"pv.{pv['name']}/power_mw"]
        use = h[f"datacenter.{n}/facility_mw"]
        if f"placement.{n}/transfer_mw" in h:
            use = use + h[f"placement.{n}/transfer_mw"]
        np.testing.assert_allclose(supply, use, atol=ATOL)
        # the certificates of a site and hour sum to what its sources delivered
        c = res.certificates[res.certificates["consumption_site"] == n]
        by_hour = c.groupby("production_start")["mwh"].sum().reindex(h.index, fill_value=0.0)
        np.testing.assert_allclose(by_hour.to_numpy(), use.to_numpy(), atol=1e-9)
    for k, link in enumerate(d.get("links", [])):
        name = f"{link['from_region']}-{link['to_region']}"
        for col in (f"link.{name}/gb", f"link.{name}/gb_back"):
            if col in h:
                assert (h[col] <= link["bandwidth_gbps"] * GB_H * (1 + 1e-9) + 1e-9).all()
    for job in d["jobs"]:
        if len(res.placement) and (res.placement["job"] == job["name"]).any():
            got = res.placement.loc[res.placement["job"] == job["name"], "it_energy_mwh"].sum()
            assert got == pytest.approx(job["energy_mwh"], abs=ATOL)
    # certificates sum to each tenant's hourly consumption (1e-9)
    for t in res.tenants["tenant"]:
        if not t:
            continue
        c = res.certificates[res.certificates["tenant"] == t]
        by_hour = c.groupby("production_start")["mwh"].sum().reindex(h.index, fill_value=0.0)
        np.testing.assert_allclose(by_hour.to_numpy(), h[f"tenant.{t}/consumption_mw"],
                                   atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cheaper_site_wins_without_data(backend):
    # 2 MWh at <= 1 MW, PUE 1: the west at 50 beats the east at 100 -> 2 x 50 = 100
    res = _solve(_two_sites(), backend)
    assert res.objective == pytest.approx(100.0, abs=ATOL)
    w = res.placement.set_index("site")
    assert w.loc["w", "share"] == pytest.approx(1.0, abs=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("price_gb, west", [(0.05, True), (0.0984, True), (0.0986, False),
                                            (0.2, False)])
def test_transfer_cost_threshold(backend, price_gb, west):
    # D = 1000 GB, 0.01 kWh/GB drawn at each end (1e-5 MWh/GB at 100 east and 50 west:
    # 0.0015 per GB). West saves E (100 - 50) = 100 and costs D (price_gb + 0.0015), so the
    # west wins iff price_gb < (100 - 1.5) / 1000 = 0.0985. Objective: west
    # 100 + 1000 price_gb + 1.5; east 200.
    d = _two_sites(price_gb=price_gb, kwh_gb=0.01)
    d["jobs"][0]["data_gb"] = 1000.0
    res = _solve(d, backend)
    expected = 100.0 + 1000.0 * price_gb + 1.5 if west else 200.0
    assert res.objective == pytest.approx(expected, abs=ATOL)
    assert res.kpis["data_moved_tb"] == pytest.approx(1.0 if west else 0.0, abs=ATOL)
    if west:
        assert res.costs["transfer"] == pytest.approx(1000.0 * price_gb, abs=ATOL)
        # 0.01 kWh/GB at both ends: 2 x 1000 x 1e-5 = 0.02 MWh
        assert res.kpis["transfer_energy_mwh"] == pytest.approx(0.02, abs=ATOL)


def _late_window(data_gb: float, single: bool) -> dict:
    # west cheap (50) in hours 0-2, then 200; east 100 flat; 1 Gbps = 450 GB/h
    d = _two_sites(west_price=[50.0, 50.0, 50.0, 200.0], bw=1.0)
    d["jobs"][0].update(data_gb=data_gb, single_site=single)
    return d


@pytest.mark.parametrize("backend", BACKENDS)
def test_data_that_cannot_arrive_in_time_keeps_the_job_home(backend):
    # single site: 1000 GB at 450 GB/h arrive at the end of hour 2; the west could run only
    # in hour 3 (1 MWh of the 2), so the whole job stays east: 2 x 100 = 200
    res = _solve(_late_window(1000.0, True), backend)
    assert res.objective == pytest.approx(200.0, abs=ATOL)
    assert res.placement.set_index("site").loc["e", "share"] == pytest.approx(1.0, abs=ATOL)
    # 400 GB arrive by the end of hour 0: west in hours 1 and 2 at 50 -> 100
    res = _solve(_late_window(400.0, True), backend)
    assert res.objective == pytest.approx(100.0, abs=ATOL)
    p = res.job_power_mw("j")
    np.testing.assert_allclose(p.to_numpy(), [0.0, 1.0, 1.0, 0.0], atol=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lp_split_works_on_the_data_that_has_arrived(backend):
    # LP split, D = 1000 GB: share y west needs 1000 y GB; p_w[t] <= a[t-1] / 1000 with
    # a[0] <= min(450, 1000 y), a[1] <= 1000 y. West work 2y in hours 1-2 (hour 3 costs
    # 200 > 100): 2y <= min(0.45, y) + y -> y <= 0.45, west 0.9 MWh at 50, east 1.1 at 100:
    # 45 + 110 = 155
    res = _solve(_late_window(1000.0, False), backend)
    assert res.objective == pytest.approx(155.0, abs=ATOL)
    w = res.placement.set_index("site")
    assert w.loc["w", "share"] == pytest.approx(0.45, abs=ATOL)
    assert w.loc["w", "data_moved_gb"] == pytest.approx(450.0, abs=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_jobs_share_the_link(backend):
    # two single-site jobs of 2 MWh, 900 GB each, over 2 Gbps = 900 GB/h: only one data
    # set can arrive in hour 0; the other by the end of hour 1. West 50 in hours 0-3,
    # 200 after; east 100; window 6 h, <= 1 MW each. First job west in hours 1-2, second
    # west in hours 2-3: both west, 4 x 50 = 200
    d = _two_sites(west_price=[50.0] * 4 + [200.0] * 2, bw=2.0, horizon=6)
    job = d["jobs"][0]
    job.update(data_gb=900.0, single_site=True)
    d["jobs"].append({**copy.deepcopy(job), "name": "k"})
    res = _solve(d, backend)
    assert res.objective == pytest.approx(200.0, abs=ATOL)
    assert res.hourly["link.east-west/gb"].max() <= 900.0 + ATOL
    # at 1 Gbps (450 GB/h) the two data sets take 4 hours: the first arrives by hour 1 and
    # runs in hours 2-3, the second cannot run west in time -> 100 + 200 = 300
    d["links"][0]["bandwidth_gbps"] = 1.0
    res = _solve(d, backend)
    assert res.objective == pytest.approx(300.0, abs=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inference_never_beyond_its_latency_budget(backend):
    # 1 MW of east inference; west is cheaper (50 < 100) but 2 x 20 = 40 ms away
    for budget, expected, at_west in [(50.0, 3 * 50.0, 1.0), (30.0, 3 * 100.0, 0.0)]:
        d = _two_sites(horizon=3)
        d["jobs"] = []
        d["regions"][0].update(inference_it_mw=1.0, latency_budget_ms=budget, tenant="acme")
        res = _solve(d, backend)
        assert res.objective == pytest.approx(expected, abs=ATOL)
        np.testing.assert_allclose(res.hourly["placement.w/inference_mw"], at_west, atol=ATOL)
        t = res.tenants.set_index("tenant").loc["acme"]
        assert t["consumption_mwh"] == pytest.approx(3.0, abs=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ledger_cfe_with_pv_and_a_clean_grid_share(backend):
    # the job runs west (50 < 100) 1 MW in hours 0-1; the west grid is 30 % clean and a
    # 0.5 MW flat PV array (free) covers half of each hour: CFE per hour
    # (0.5 + 0.3 x 0.5) / 1 = 0.65. Emissions at the grid average 500 kg/MWh: the grid's
    # 2 x 0.5 MWh -> 0.5 t; all 2 MWh from the grid would emit 1 t: 0.5 t avoided
    d = _two_sites(horizon=2)
    w = d["sites"][1]
    w["grid"].update(clean_share_fraction=0.3, emission_factor_kg_per_mwh=500.0)
    w["pv"] = [{"name": "pvw", "capacity_mw": 0.5, "availability_fraction": 1.0}]
    res = _solve(d, backend)
    np.testing.assert_allclose(res.hourly["tenant.acme/cfe"], 0.65, atol=1e-9)
    t = res.tenants.set_index("tenant").loc["acme"]
    assert t["cfe_score"] == pytest.approx(0.65, abs=1e-9)
    assert t["emissions_t"] == pytest.approx(0.5, abs=1e-9)
    assert t["co2_avoided_t"] == pytest.approx(0.5, abs=1e-9)
    assert t["pv_mwh"] == pytest.approx(1.0, abs=1e-9)
    # REF over the horizon: clean supply (PV 1 + grid 0.3 x 1) over all supply (2)
    assert res.kpis["ref"] == pytest.approx(0.65, abs=1e-9)


def test_certificates_are_parquet(tmp_path):
    res = _solve(_two_sites(), "highs")
    res.to_parquet(tmp_path)
    import pandas as pd

    c = pd.read_parquet(tmp_path / "certificates.parquet")
    assert {"tenant", "consumption_site", "production_start", "production_end",
            "energy_source", "production_device", "mwh"} <= set(c.columns)
    assert c["mwh"].sum() == pytest.approx(2.0, abs=1e-9)


@pytest.mark.parametrize("change, match", [
    (lambda d: d["links"][0].update(to_region="north"),
     r"links\[0\]\.to_region: unknown region 'north'"),
    (lambda d: d["links"][0].update(bandwidth_gbps=-1.0),
     r"links\[0\]\.bandwidth_gbps: must be >= 0"),
    (lambda d: d["jobs"][0].update(sites=["w"], data_gb=10.0, home_region="north")
     or d["regions"].append({"name": "north"}),
     r"jobs\[0\]\.sites: job 'j' is allowed at no site its data can reach"),
    (lambda d: d["regions"][0].update(inference_it_mw=1.0, latency_budget_ms=10.0, sites=[]),
     r"regions\[0\]\.latency_budget_ms: no site with a data center is within 10 ms"),
    (lambda d: d["tenants"].append({"name": "idle"}),
     r"tenants\[1\]: tenant 'idle' owns nothing"),
    (lambda d: d["jobs"][0].update(tenant="ghost"), r"jobs\[0\]\.tenant: unknown tenant"),
    (lambda d: d["jobs"][0].update(home_region="north"),
     r"jobs\[0\]\.home_region: unknown region 'north'"),
    (lambda d: d["regions"][1].update(sites=["e"]),
     r"regions\[1\]\.sites\[0\]: site 'e' is in region 'east' already"),
    (lambda d: d["jobs"][0].update(preemptible=False),
     r"jobs\[0\]\.preemptible: job 'j' is placed across sites"),
    (lambda d: d["regions"][0].update(inference_it_mw=1.0),
     r"regions\[0\]\.latency_budget_ms: region 'east' has an inference demand"),
])
def test_bad_input_names_the_field(change, match):
    d = _two_sites()
    change(d)
    with pytest.raises(engine.ScenarioError, match=match):
        engine.Scenario.from_dict(d)


def test_round_trip():
    d = _two_sites()
    d["jobs"][0].update(data_gb=10.0, single_site=True)
    sc = engine.Scenario.from_dict(d)
    assert engine.Scenario.from_dict(sc.to_dict()) == sc


@pytest.mark.parametrize("backend", BACKENDS)
def test_carbon_basis_marginal_or_average(backend):
    # one site, 2 hours, price 100 flat, carbon 100 per t; 1 MWh job in either hour.
    # average factors [500, 800], marginal [900, 600] kg/MWh: on averages the job runs in
    # hour 0 (100 + 50 = 150), on marginals in hour 1 (100 + 60 = 160)
    d = _two_sites(horizon=2)
    d["sites"] = d["sites"][:1]
    d["sites"][0]["grid"].update(emission_factor_kg_per_mwh=[500.0, 800.0],
                                 marginal_emission_factor_kg_per_mwh=[900.0, 600.0])
    d["regions"], d["links"], d["tenants"] = [{"name": "east", "sites": ["e"]}], [], []
    d["jobs"][0].update(energy_mwh=1.0, tenant=None, home_region=None)
    d["policy"] = {"carbon_price_per_t": 100.0}
    res = engine.optimize(engine.Scenario.from_dict(d), backend=backend)
    assert res.objective == pytest.approx(150.0, abs=ATOL)
    assert res.kpis["emissions_marginal_t"] == pytest.approx(0.9, abs=ATOL)
    d["policy"]["carbon_basis"] = "marginal"
    res = engine.optimize(engine.Scenario.from_dict(d), backend=backend)
    assert res.objective == pytest.approx(160.0, abs=ATOL)
    assert res.kpis["emissions_t"] == pytest.approx(0.8, abs=ATOL)
    assert res.kpis["emissions_marginal_t"] == pytest.approx(0.6, abs=ATOL)
    del d["sites"][0]["grid"]["marginal_emission_factor_kg_per_mwh"]
    with pytest.raises(engine.ScenarioError,
                       match=r"sites\[0\]\.grid\.marginal_emission_factor_kg_per_mwh"):
        engine.Scenario.from_dict(d)


def _east_west_small() -> dict:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "build_east_west.py"
    spec = importlib.util.spec_from_file_location("build_east_west", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build(n_jobs=6, horizon_h=400)


def test_east_west_example_small_both_backends_agree():
    from pathlib import Path

    d = _east_west_small()
    base = Path(__file__).resolve().parents[1] / "examples"
    sc = engine.Scenario.from_dict(d, base_dir=base)
    res = {b: engine.optimize(sc, backend=b) for b in BACKENDS}
    for r in res.values():
        assert r.status == engine.Status.OPTIMAL
    a, b = res["highs"], res["pyomo"]
    assert a.objective == pytest.approx(b.objective, rel=1e-6)
    for r in res.values():
        h = r.hourly
        # link usage within bandwidth, every job's work done inside its window
        assert h["link.east-west/gb"].max() <= 100.0 * GB_H * (1 + 1e-9)
        assert r.kpis["job_completion"] == pytest.approx(1.0, abs=1e-7)
        for job in d["jobs"]:
            long = r.job_power[r.job_power["job"] == job["name"]]
            hours = ((long["time"] - h.index[0]) // np.timedelta64(1, "h")).to_numpy()
            assert np.all((hours >= job["release_h"]) & (hours < job["deadline_h"]))
        # certificates: per tenant and hour they sum to its consumption, per site and hour
        # to what the site's sources delivered (facility + transfer energy)
        c = r.certificates
        for t in ("fin_east", "ai_lab", "video_cdn"):
            got = c[c["tenant"] == t].groupby("production_start")["mwh"].sum()
            want = h[f"tenant.{t}/consumption_mw"]
            np.testing.assert_allclose(got.reindex(h.index, fill_value=0.0), want, atol=1e-9)
        for s in ("xining", "hainan", "shanghai"):
            got = c[c["consumption_site"] == s].groupby("production_start")["mwh"].sum()
            want = h[f"datacenter.{s}/facility_mw"] + h[f"placement.{s}/transfer_mw"]
            np.testing.assert_allclose(got.reindex(h.index, fill_value=0.0), want, atol=1e-9)
            trace = h.filter(regex=rf"^trace\.{s}/(?!via_battery)").sum(axis=1)
            np.testing.assert_allclose(trace, h[f"datacenter.{s}/facility_mw"], atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pinned_job_is_ledgered_for_its_tenant(backend):
    # pinned east (home east, no data to move): the one-site jobs' path; 2 MWh at 100
    d = _two_sites()
    d["jobs"][0]["sites"] = ["e"]
    res = _solve(d, backend)
    assert res.objective == pytest.approx(200.0, abs=ATOL)
    assert res.placement.empty
    t = res.tenants.set_index("tenant").loc["acme"]
    assert t["consumption_mwh"] == pytest.approx(2.0, abs=1e-9)
    assert t["energy_cost"] == pytest.approx(200.0, abs=1e-9)
    c = res.certificates
    assert c.loc[c["tenant"] == "acme", "mwh"].sum() == pytest.approx(2.0, abs=1e-9)
