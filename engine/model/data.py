"""Numeric inputs of the formulation, derived once from a validated scenario.

Every component prepares its own arrays from its inputs (``Component.prepare``): a site's
arrays live on its :class:`SiteData` under the names the component gives them
(``pv_avail_mw``, ``battery``-free sites get empty ``(0, T)`` arrays, ...). The
formulation and the rolling controller read only these arrays and scalar parameters of
the scenario objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.components.base import full
from engine.scenario.series import align_models, hourly_index

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

    ``index`` holds the hours (tz-aware); ``month`` numbers each hour's local calendar
    month (0-based, consecutive, in calendar order); for those ``n_months`` months,
    ``month_labels`` (``"2023-07"``), ``month_hours`` (hours of the month inside the
    horizon) and ``month_total_hours`` (hours of the whole month on the local clock, e.g.
    743 for a March that loses an hour to DST). Scenario-level arrays of components
    (``jobs``) are attributes too.
    """

    scenario: Any
    index: pd.DatetimeIndex
    month: np.ndarray  # month number (0-based, consecutive) of each hour
    n_months: int
    sites: list[SiteData]
    components: tuple = ()
    #: Per site position: corrections of the network model from earlier AC checks
    #: (see :mod:`engine.network`); empty for a first solve.
    network_adjust: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    month_labels: list[str] = field(default_factory=list)
    month_hours: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    month_total_hours: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __getattr__(self, name: str) -> Any:
        # scenario-level arrays of components (e.g. ``jobs``)
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"ScenarioData has no attribute {name!r}")

    @property
    def T(self) -> int:
        return len(self.index)


def months(index: pd.DatetimeIndex) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Calendar months of the hours of ``index`` on its local clock.

    Returns
    -------
    codes : (T,) int64
        0-based number of each hour's month among those the horizon touches.
    labels : list of str
        ``"YYYY-MM"`` of each month.
    hours : (M,) int64
        Hours of each month inside the horizon.
    total : (M,) int64
        Hours of each whole month (local midnight of the 1st to the next 1st).
    """
    ym = (index.year * 12 + index.month - 1).to_numpy()
    uniq, codes, hours = np.unique(ym, return_inverse=True, return_counts=True)
    firsts = pd.DatetimeIndex([pd.Timestamp(year=int(k // 12), month=int(k % 12) + 1, day=1)
                               for k in np.append(uniq, uniq[-1] + 1)])
    # local midnight of the 1st (shifted forward in the rare zones whose clocks skip it)
    firsts = firsts.tz_localize(index.tz, ambiguous=False, nonexistent="shift_forward")
    # Timedelta arithmetic, not asi8: pandas 3 may keep the index in microseconds
    total = np.asarray((firsts[1:] - firsts[:-1]) // pd.Timedelta(hours=1), dtype=np.int64)
    labels = [f"{k // 12:04d}-{k % 12 + 1:02d}" for k in uniq]
    return codes.reshape(-1).astype(np.int64), labels, hours.astype(np.int64), total


def prepare(scenario: Any) -> ScenarioData:
    """Derive every component's arrays (availability, PUE, prices, jobs ...) of a scenario."""
    components = type(scenario).components
    index = hourly_index(scenario.start, scenario.timezone, scenario.horizon_h)
    # a timestamped series assigned to a model after the scenario was validated
    align_models(scenario, index)
    codes, labels, hours, total = months(index)
    sites = [_prepare_site(s, index, components) for s in scenario.sites]
    data = ScenarioData(scenario, index, codes, len(labels), sites, tuple(components),
                        month_labels=labels, month_hours=hours, month_total_hours=total)
    for c in components:
        if c.prepare_scenario is not None:
            data.extra.update(c.prepare_scenario(data))
    return data


def _prepare_site(site: Any, index: pd.DatetimeIndex, components: tuple) -> SiteData:
    T = len(index)
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
            arrays.update(c.prepare(site, weather, index))
    return SiteData(site, weather, **arrays)
