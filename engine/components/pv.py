"""PV plants: availability from the weather (pvlib) or given, dispatchable down to zero.

For each plant ``i`` and hour ``t``::

    0 <= p[i, t] <= avail[i, t]
    curtailment[i, t] = avail[i, t] - p[i, t]   (costs curtailment_penalty_per_mwh)

``avail`` is ``availability_fraction * capacity_mw`` when given, else the pvlib model of
:func:`engine.forecast.pv_power_mw` (solar position, Hay–Davies transposition, SAPM cell
temperature, PVWatts DC and inverter), cached on disk by content. ``p`` is injected at the
plant's site bus and is carbon-free.

Sizing (``investment.extendable``): ``avail[i, t] = a[i, t] * cap[i]`` with ``a`` the
availability per MW (of the stated plant, its DC/AC ratio kept; a plant stated at 0 MW is
modelled at 1 MW with the default inverter ratio) and ``cap`` the capacity variable
(:mod:`engine.model.sizing`).
"""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from engine.components._renewable import add_renewable, extract_renewable, per_mw
from engine.components.base import Component, Extraction, full
from engine.forecast import pv_power_mw
from engine.forecast.cache import cached_pv, pv_key
from engine.model.formulation import Formulation
from engine.scenario.base import Amount, Efficiency, Fraction, Model, Number
from engine.scenario.finance import Investment, check_extendable
from engine.scenario.series import FractionSeries

__all__ = ["COMPONENT", "PV"]

#: Weather columns the pvlib model reads (irradiance, and air temperature and wind speed
#: for the cell temperature).
WEATHER_NEEDED = ["ghi", "dni", "dhi", "temp_air", "wind_speed"]


class PV(Model):
    """A photovoltaic plant (PVWatts-style DC model with an inverter limit).

    ``availability_fraction`` (of ``capacity_mw``), if given, replaces the weather model.
    """

    name: str
    capacity_mw: Amount = Field(description="DC nameplate power [MW]")
    inverter_capacity_mw: Amount | None = Field(
        None, description="AC limit [MW]; default capacity_mw / 1.2"
    )
    tilt_deg: Annotated[Number, Field(ge=0.0, le=90.0)] = 30.0
    azimuth_deg: Annotated[Number, Field(ge=0.0, lt=360.0)] = 180.0
    gamma_pdc_per_c: Annotated[Number, Field(ge=-0.02, le=0.0)] = -0.0035
    losses_fraction: Annotated[Number, Field(ge=0.0, lt=1.0)] = 0.14
    inverter_efficiency: Efficiency = 0.96
    albedo: Fraction = 0.25
    availability_fraction: FractionSeries | None = None
    investment: Investment | None = None

    @model_validator(mode="after")
    def _check_investment(self) -> PV:
        check_extendable(self.investment, mw=self.capacity_mw)
        return self


def _weather(plants: list[PV]) -> dict[str, list[str]]:
    return {f"PV plant {p.name!r}": WEATHER_NEEDED for p in plants
            if p.availability_fraction is None}


def prepare(site: Any, weather: dict[str, np.ndarray], index: Any) -> dict[str, np.ndarray]:
    T = len(index)
    w = site.weather
    rows = [
        full(p.availability_fraction, T) * p.capacity_mw
        if p.availability_fraction is not None
        # pvlib only on a cache miss
        else cached_pv(pv_key(p, w, site, index), T,
                       lambda p=p: pv_power_mw(p, w, site, index))
        for p in site.pv
    ]
    avail = np.array(rows).reshape(len(rows), T)
    return {"pv_avail_mw": avail, "pv_avail_per_mw": per_mw(
        avail, np.array([p.capacity_mw for p in site.pv]),
        lambda i: _unit_avail(site.pv[i], w, site, index, T))}


def _unit_avail(p: PV, w: Any, site: Any, index: Any, T: int) -> np.ndarray:
    """Availability of a plant of 1 MW (a plant stated at 0 MW that may be built)."""
    if p.availability_fraction is not None:
        return full(p.availability_fraction, T)
    if p.investment is None or not p.investment.extendable:
        return np.zeros(T)
    unit = p.model_copy(update={"capacity_mw": 1.0, "inverter_capacity_mw": None})
    return cached_pv(pv_key(unit, w, site, index), T,
                     lambda: pv_power_mw(unit, w, site, index))


def add(f: Formulation) -> None:
    add_renewable(f, "pv", "pv", "pv_avail_mw")


def extract(r: Extraction) -> None:
    extract_renewable(r, "pv")


COMPONENT = Component(
    name="pv", field="pv", schema=list[PV], default=Field(default_factory=list),
    weather=_weather, prepare=prepare, add=add, extract=extract,
)
