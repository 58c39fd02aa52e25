"""Numeric inputs of the formulation, derived once from a validated scenario.

Every component prepares its own arrays from its inputs (``Component.prepare``): a site's
arrays live on its :class:`SiteData` under the names the component gives them
(``pv_avail_mw``, ``battery``-free sites get empty ``(0, T)`` arrays, ...). The
formulation and the rolling controller read only these arrays and scalar parameters of
the scenario objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from engine._clock import HourClock, hour_clock
from engine.components.base import full

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ScenarioData", "SiteData", "full", "prepare"]

#: Weather columns (pvlib names) a site may give, as length-T arrays.
WEATHER_COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")


class SiteData:
    """Arrays of one site, by the names its components gave them (attributes).

    Shapes are ``(n_assets, T)`` per asset kind or ``(T,)`` per site, e.g. ``pv_avail_mw``,
    ``wind_avail_mw``, ``hydro_min_mw``, ``pue``, ``inflexible_it_mw``, ``it_capacity_mw``,
    ``grid_import_price``. ``weather`` holds the site's weather columns.
    """

    def __init__(self, site: Any, weather: dict[str, np.ndarray], **arrays: Any) -> None:
        self.site = site
        self.weather = weather
        self.__dict__.update(arrays)

    def __repr__(self) -> str:
        names = sorted(k for k in self.__dict__ if k not in ("site", "weather"))
        return f"SiteData({self.site.name!r}: {', '.join(names)})"


@dataclass
class ScenarioData:
    """Everything the formulation needs, as arrays.

    The hours are held as an :class:`~engine._clock.HourClock` (NumPy); the pandas
    :attr:`index` is built on first use. Scenario-level arrays of components (``jobs``)
    are attributes too.
    """

    scenario: Any
    clock: HourClock
    month: np.ndarray  # month number (0-based, consecutive) of each hour
    n_months: int
    sites: list[SiteData]
    components: tuple = ()
    #: Per site position: corrections of the network model from earlier AC checks
    #: (see :mod:`engine.network`); empty for a first solve.
    network_adjust: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # scenario-level arrays of components (e.g. ``jobs``)
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"ScenarioData has no attribute {name!r}")

    @cached_property
    def index(self) -> pd.DatetimeIndex:
        """The hourly, tz-aware time index (the scenario's; built, with pandas, on first use)."""
        return self.clock.index

    @property
    def T(self) -> int:
        return self.clock.T


def prepare(scenario: Any) -> ScenarioData:
    """Derive every component's arrays (availability, PUE, prices, jobs ...) of a scenario."""
    components = type(scenario).components
    clock = hour_clock(scenario.start, scenario.timezone, scenario.horizon_h)
    month_codes, n_months = clock.month_codes()
    sites = [_prepare_site(s, clock, components) for s in scenario.sites]
    data = ScenarioData(scenario, clock, month_codes, n_months, sites, tuple(components))
    for c in components:
        if c.prepare_scenario is not None:
            data.extra.update(c.prepare_scenario(data))
    return data


def _prepare_site(site: Any, clock: HourClock, components: tuple) -> SiteData:
    T = clock.T
    w = site.weather
    weather = {}
    if w is not None:
        for name in WEATHER_COLUMNS:
            value = getattr(w, name)
            if value is not None:
                weather[name] = full(value, T)
    arrays: dict[str, Any] = {}
    for c in components:
        if c.prepare is not None and c.level == "site":
            arrays.update(c.prepare(site, weather, clock))
    return SiteData(site, weather, **arrays)
