"""Numeric inputs of the formulation, derived once from a validated scenario.

Every series becomes a float64 array of length T; weather becomes availability and PUE.
The formulation reads only these arrays (and scalar parameters of the scenario objects).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from engine._clock import HourClock, hour_clock
from engine.forecast import pue_from_temperature, pv_power_mw, wind_power_mw
from engine.forecast.cache import cached_pv, pv_key
from engine.scenario import Scenario, Site

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def full(value, T: int) -> np.ndarray:
    """A scalar or length-T series as a float64 array of length T."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (T,)).astype(np.float64, copy=True)


@dataclass
class SiteData:
    """Arrays of one site; shapes ``(n_assets, T)`` or ``(T,)``."""

    site: Site
    pv_avail_mw: np.ndarray
    wind_avail_mw: np.ndarray
    hydro_min_mw: np.ndarray
    hydro_max_mw: np.ndarray
    pue: np.ndarray
    inflexible_it_mw: np.ndarray
    it_capacity_mw: float
    temp_air_c: np.ndarray
    grid_import_price: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grid_export_price: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grid_emission_kg_per_mwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grid_clean_share: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grid_available: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


@dataclass
class JobData:
    """Flexible jobs as arrays (one entry per job)."""

    names: list[str]
    site: np.ndarray  # site position
    release: np.ndarray
    deadline: np.ndarray
    energy_mwh: np.ndarray
    max_power_mw: np.ndarray


@dataclass
class ScenarioData:
    """Everything the formulation needs, as arrays.

    The hours are held as an :class:`~engine._clock.HourClock` (NumPy); the pandas
    :attr:`index` is built on first use, so preparing and building a model does not
    import pandas.
    """

    scenario: Scenario
    clock: HourClock
    month: np.ndarray  # month number (0-based, consecutive) of each hour
    n_months: int
    sites: list[SiteData]
    jobs: JobData
    #: Per site position: corrections of the network model from earlier AC checks
    #: (see :mod:`engine.network.lindistflow`); empty for a first solve.
    network_adjust: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)

    @cached_property
    def index(self) -> pd.DatetimeIndex:
        """The hourly, tz-aware time index (the scenario's; built, with pandas, on first use)."""
        return self.clock.index

    @property
    def T(self) -> int:
        return self.clock.T


def prepare(scenario: Scenario) -> ScenarioData:
    """Derive availability, PUE and all series arrays of a scenario.

    Features of later releases (cross-site jobs, non-preemptible jobs) are refused when the
    scenario is validated.
    """
    clock = hour_clock(scenario.start, scenario.timezone, scenario.horizon_h)
    month_codes, n_months = clock.month_codes()
    sites = [_prepare_site(s, clock) for s in scenario.sites]
    site_pos = {s.name: i for i, s in enumerate(scenario.sites)}
    jobs = scenario.jobs
    jd = JobData(
        names=[j.name for j in jobs],
        site=np.array([site_pos[scenario.job_site(j).name] for j in jobs], dtype=np.int64),
        release=np.array([j.release_h for j in jobs], dtype=np.int64),
        deadline=np.array([j.deadline_h for j in jobs], dtype=np.int64),
        energy_mwh=np.array([scenario.job_energy_mwh(j) for j in jobs], dtype=np.float64),
        max_power_mw=np.array([scenario.job_max_power_mw(j) for j in jobs], dtype=np.float64),
    )
    return ScenarioData(scenario, clock, month_codes, n_months, sites, jd)


def _prepare_site(site: Site, clock: HourClock) -> SiteData:
    T = clock.T
    w = site.weather
    pv = [
        full(p.availability_fraction, T) * p.capacity_mw
        if p.availability_fraction is not None
        # pvlib (and pandas) only on a cache miss
        else cached_pv(pv_key(p, w, site, clock), T,
                       lambda p=p: pv_power_mw(p, w, site, clock.index))
        for p in site.pv
    ]
    wind = [
        full(a.availability_fraction, T) * a.capacity_mw
        if a.availability_fraction is not None
        else wind_power_mw(a, w, site.altitude_m)
        for a in site.wind
    ]
    temp = full(w.temp_air if w is not None else 20.0, T)
    dc = site.datacenter
    if dc is not None:
        cap = dc.it_capacity_mw
        if dc.pue is not None:
            pue = full(dc.pue, T)
        else:
            c = dc.cooling
            pue = pue_from_temperature(
                temp, c.free_cooling_below_c, c.pue_free_cooling, c.pue_slope_per_c, c.pue_max
            )
        if dc.inflexible_it_mw is not None:
            inflex = full(dc.inflexible_it_mw, T)
        elif dc.inflexible_utilization_fraction is not None:
            inflex = full(dc.inflexible_utilization_fraction, T) * cap
        else:
            inflex = np.zeros(T)
    else:
        cap, pue, inflex = 0.0, np.ones(T), np.zeros(T)
    data = SiteData(
        site=site,
        pv_avail_mw=np.array(pv).reshape(len(pv), T),
        wind_avail_mw=np.array(wind).reshape(len(wind), T),
        hydro_min_mw=np.array([full(h.min_power_mw, T) for h in site.hydro]).reshape(-1, T),
        hydro_max_mw=np.array([full(h.max_power_mw, T) for h in site.hydro]).reshape(-1, T),
        pue=pue,
        inflexible_it_mw=inflex,
        it_capacity_mw=cap,
        temp_air_c=temp,
    )
    g = site.grid
    if g is not None:
        data.grid_import_price = full(g.import_price_per_mwh, T)
        data.grid_export_price = full(g.export_price_per_mwh, T)
        data.grid_emission_kg_per_mwh = full(g.emission_factor_kg_per_mwh, T)
        data.grid_clean_share = full(g.clean_share_fraction, T)
        avail = np.ones(T, dtype=bool)
        avail[np.asarray(g.outage_hours, dtype=np.int64)] = False
        data.grid_available = avail
    return data
