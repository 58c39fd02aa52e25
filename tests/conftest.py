"""Shared fixtures: small scenario builders and the physical invariants every solution obeys."""
from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

import engine

# the PV availability cache of the test session lives in a temporary folder, not in ~/.cache
os.environ.setdefault("WATTBIT_CACHE_DIR", tempfile.mkdtemp(prefix="wattbit-test-cache-"))

# Hypothesis profiles. Tests that fix their own ``max_examples`` keep it; the others (the
# fuzz test of the loader -> optimize path) take it from the profile: ``ci`` in the normal
# run, ``slow`` (10,000 examples) with ``--hypothesis-profile=slow`` or
# ``WATTBIT_HYPOTHESIS_PROFILE=slow``.
_FUZZ_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=_FUZZ_HEALTH)
settings.register_profile("slow", max_examples=10_000, deadline=None,
                          suppress_health_check=_FUZZ_HEALTH)
settings.load_profile(os.environ.get("WATTBIT_HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

#: Energy balance must close to this, in MW, in every hour (the task's 1e-6).
ATOL_BALANCE_MW = 1e-6
#: Bound violations tolerated from the solver's feasibility tolerance (HiGHS default 1e-7).
ATOL_BOUND = 1e-6


def base_dict(T: int = 24, **site_overrides) -> dict:
    """A one-site scenario: PV (given availability), battery, grid TOU, data center."""
    t = np.arange(T)
    pv_avail = np.clip(np.sin((t % 24 - 6) / 12 * np.pi), 0, None)
    site = {
        "name": "s1",
        "latitude_deg": 36.62,
        "longitude_deg": 101.78,
        "altitude_m": 2275.0,
        "pv": [{"name": "pv", "capacity_mw": 8.0, "availability_fraction": pv_avail.round(6).tolist()}],
        "batteries": [{"name": "bess", "energy_mwh": 8.0, "charge_power_mw": 2.0,
                       "discharge_power_mw": 2.0, "self_discharge_per_h": 0.001,
                       "degradation_cost_per_mwh": 1.0}],
        "grid": {"import_max_mw": 10.0, "export_max_mw": 3.0,
                 "import_price_per_mwh": {"daily": [30.0] * 7 + [60.0] * 10 + [90.0] * 5 + [30.0] * 2},
                 "export_price_per_mwh": 10.0, "emission_factor_kg_per_mwh": 500.0,
                 "clean_share_fraction": 0.3},
        "datacenter": {"gpus": 4000, "it_power_per_gpu_kw": 1.0,
                       "inflexible_utilization_fraction": 0.5,
                       "cooling": {"free_cooling_below_c": 12.0}},
        "weather": {"temp_air": (5 + 10 * np.sin(t / 24 * 2 * np.pi)).round(3).tolist()},
    }
    site.update(site_overrides)
    return {
        "name": "small",
        "start": "2023-06-01 00:00",
        "timezone": "Asia/Shanghai",
        "horizon_h": T,
        "sites": [site],
        "jobs": [{"name": "train", "energy_mwh": 10.0, "release_h": 2, "deadline_h": min(T, 20),
                  "max_power_mw": 2.0}],
        "policy": {"carbon_price_per_t": 10.0},
    }


@pytest.fixture
def small_dict() -> dict:
    return copy.deepcopy(base_dict())


def check_invariants(sc: engine.Scenario, res, atol: float = ATOL_BALANCE_MW,
                     statuses: tuple = (engine.Status.OPTIMAL,),
                     status: engine.Status | None = None) -> None:
    """Physical invariants of a solved scenario, recomputed from the hourly table.

    Bus balance closes each hour; SOC and every flow within bounds; SOC follows its
    dynamics; no job power outside its window; every job's energy delivered; grid idle in
    outage hours; unserved energy never above the facility load of its hour. ``statuses``:
    the outcomes accepted (a time limit with a feasible point obeys the same invariants);
    ``status=Status.TIME_LIMIT`` checks the best solution of a solve stopped by a limit.
    """
    if status is not None:
        statuses = (status,)
    assert res.status in statuses, res.summary()
    assert res.has_solution, res.summary()
    h = res.hourly
    T = sc.horizon_h
    assert len(h) == T
    assert isinstance(h.index, pd.DatetimeIndex) and h.index.tz is not None
    for site in sc.sites:
        s = site.name
        supply = np.zeros(T)
        demand = np.zeros(T)
        for a in site.pv + site.wind + site.hydro:
            kind = "pv" if a in site.pv else "wind" if a in site.wind else "hydro"
            p = h[f"{kind}.{a.name}/power_mw"].to_numpy()
            assert p.min() >= -ATOL_BOUND
            supply += p
        for b in site.batteries:
            ch = h[f"battery.{b.name}/charge_mw"].to_numpy()
            dis = h[f"battery.{b.name}/discharge_mw"].to_numpy()
            soc = h[f"battery.{b.name}/soc_mwh"].to_numpy()
            assert ch.min() >= -ATOL_BOUND and ch.max() <= b.charge_power_mw + ATOL_BOUND
            assert dis.min() >= -ATOL_BOUND and dis.max() <= b.discharge_power_mw + ATOL_BOUND
            assert soc.min() >= b.soc_min_fraction * b.energy_mwh - ATOL_BOUND
            assert soc.max() <= b.soc_max_fraction * b.energy_mwh + ATOL_BOUND
            prev = np.concatenate(([b.initial_soc_fraction * b.energy_mwh], soc[:-1]))
            expect = ((1 - b.self_discharge_per_h) * prev + b.charge_efficiency * ch
                      - dis / b.discharge_efficiency)
            np.testing.assert_allclose(soc, expect, atol=1e-6)
            supply += dis
            demand += ch
        if site.grid is not None:
            imp = h[f"grid.{s}/import_mw"].to_numpy()
            exp = h[f"grid.{s}/export_mw"].to_numpy()
            assert imp.min() >= -ATOL_BOUND and imp.max() <= site.grid.import_max_mw + ATOL_BOUND
            assert exp.max() <= site.grid.export_max_mw + ATOL_BOUND
            if site.grid.outage_hours:
                out = np.asarray(site.grid.outage_hours)
                assert np.abs(imp[out]).max() <= ATOL_BOUND
                assert np.abs(exp[out]).max() <= ATOL_BOUND
            supply += imp
            demand += exp
        for g in getattr(site, "gensets", []):
            p = h[f"genset.{g.name}/power_mw"].to_numpy()
            on = h[f"genset.{g.name}/units_on"].to_numpy()
            assert on.min() >= -ATOL_BOUND and on.max() <= g.units + ATOL_BOUND
            assert np.all(p >= g.min_power_mw * on - ATOL_BOUND)
            assert np.all(p <= g.max_power_mw * on + ATOL_BOUND)
            supply += p
        for plant in getattr(sc, "shared_storage", []):
            for lease in plant.leases:
                if lease.site != s:
                    continue
                base = f"lease.{plant.name}.{lease.tenant}"
                for kind in ("", "own_"):
                    if f"{base}/{kind}charge_mw" in h:
                        demand += h[f"{base}/{kind}charge_mw"].to_numpy()
                        supply += h[f"{base}/{kind}discharge_mw"].to_numpy()
        if f"ev.{s}/charge_mw" in h:
            demand += h[f"ev.{s}/charge_mw"].to_numpy()
            supply += h[f"ev.{s}/discharge_mw"].to_numpy()
        if f"network.{s}/losses_mw" in h:
            # network rounds withdraw the site's share of the AC losses at its bus
            demand += h[f"network.{s}/losses_mw"].to_numpy()
        if site.datacenter is not None:
            fac = h[f"datacenter.{s}/facility_mw"].to_numpy()
            it = h[f"datacenter.{s}/it_mw"].to_numpy()
            if f"datacenter.{s}/it_served_mw" in h:  # GPUs sized: the shed load is not served
                it = h[f"datacenter.{s}/it_served_mw"].to_numpy()
            assert it.max() <= site.datacenter.it_capacity_mw + ATOL_BOUND
            unserved = h[f"bus.{s}/unserved_mw"].to_numpy()
            assert unserved.min() >= -ATOL_BOUND
            assert np.all(unserved <= fac + ATOL_BOUND), "unserved above the facility load"
            supply += unserved
            demand += fac
        elif f"bus.{s}/unserved_mw" in h:
            assert np.abs(h[f"bus.{s}/unserved_mw"].to_numpy()).max() <= ATOL_BOUND
        np.testing.assert_allclose(supply, demand, rtol=0, atol=atol)
    for job in sc.jobs:
        long = res.job_power[res.job_power["job"] == job.name]
        hours = ((pd.DatetimeIndex(long["time"]) - h.index[0]) // pd.Timedelta(hours=1)).to_numpy()
        assert np.all((hours >= job.release_h) & (hours < job.deadline_h))
        p = res.job_power_mw(job.name).to_numpy()
        outside = np.ones(T, bool)
        outside[job.release_h:job.deadline_h] = False
        assert np.all(p[outside] == 0.0), f"job {job.name} runs outside its window"
        assert p.max() <= sc.job_max_power_mw(job) + ATOL_BOUND
        if getattr(job, "power_cap", None) is None:
            np.testing.assert_allclose(p.sum(), sc.job_energy_mwh(job), rtol=1e-7, atol=1e-6)
        else:  # a capped job does its work (GPU-hours at full speed) on less energy
            assert p.sum() <= sc.job_energy_mwh(job) * (1 + 1e-7) + 1e-6
            row = res.jobs.set_index("job").loc[job.name]
            np.testing.assert_allclose(row["work_gpu_h"], job.gpu_hours, rtol=1e-6)
        if len(res.placement) and (res.placement["job"] == job.name).any():
            continue  # placed across sites: its outage hours are each site's (test_placement)
        dc = sc.job_site(job).datacenter
        grid = sc.job_site(job).grid
        if dc.pauses_jobs_in_outages and grid is not None and grid.outage_hours:
            assert np.abs(p[np.asarray(grid.outage_hours)]).max() <= ATOL_BOUND, \
                f"job {job.name} runs in an outage hour"
    # cost terms add up to the objective, and KPIs are consistent with the table
    np.testing.assert_allclose(res.costs.sum(), res.objective, rtol=1e-7, atol=1e-6)
    trace = h.filter(regex=r"^trace\.[^/]+/(?!via_battery)").to_numpy().sum(axis=1)
    fac_all = h.filter(regex=r"^datacenter\.[^/]+/facility_mw$").to_numpy().sum(axis=1)
    np.testing.assert_allclose(trace, fac_all, atol=1e-6)


# ---------------------------------------------------------------------------- power flow
MATPOWER_CASES = ROOT / "tests" / "data" / "matpower"


@pytest.fixture(scope="session")
def read_case():
    """Read a bundled MATPOWER case by name, once per session."""
    from engine.network import Network, read_matpower

    cache: dict[str, Network] = {}

    def read(name: str) -> Network:
        if name not in cache:
            cache[name] = read_matpower(MATPOWER_CASES / f"{name}.m")
        return cache[name]

    return read
