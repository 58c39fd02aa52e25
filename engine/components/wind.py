"""Wind farms: a power curve at sea-level density, corrected for the site's thin air.

For each farm ``i`` and hour ``t``::

    0 <= p[i, t] <= avail[i, t]
    curtailment[i, t] = avail[i, t] - p[i, t]   (costs curtailment_penalty_per_mwh)

``avail`` is ``availability_fraction * capacity_mw`` when given, else (see
:func:`engine.forecast.wind_power_mw`) ``v_hub = v (h_hub / h_meas) ** shear_exponent``,
``v_eq = v_hub (rho / 1.225) ** (1/3)`` with ``rho`` from altitude and air temperature,
``avail = curve(v_eq) * capacity_mw * (1 - losses_fraction)``. ``p`` is injected at the
farm's site bus and is carbon-free.

Sizing (``investment.extendable``): ``avail[i, t] = a[i, t] * cap[i]`` with ``a`` the
availability per MW and ``cap`` the capacity variable (:mod:`engine.model.sizing`).
"""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from engine.components._renewable import add_renewable, extract_renewable, per_mw
from engine.components.base import Component, Extraction, full
from engine.forecast import wind_power_mw
from engine.model.formulation import Formulation
from engine.scenario.base import Amount, Fraction, Model, NonNeg, Number, Positive
from engine.scenario.finance import Investment, check_extendable
from engine.scenario.series import FractionSeries

__all__ = ["COMPONENT", "Wind"]

#: Weather columns the power-curve model reads (speed, and temperature for air density).
WEATHER_NEEDED = ["wind_speed", "temp_air"]

#: A generic 3 MW-class turbine curve (fraction of rated power at sea-level density),
#: cut-in 3 m/s, rated 12 m/s, cut-out 25 m/s.
_DEFAULT_CURVE_SPEED = [0.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 25.0, 25.01, 40.0]
_DEFAULT_CURVE_FRACTION = [
    0.0, 0.0, 0.03, 0.08, 0.15, 0.25, 0.38, 0.53, 0.69, 0.85, 1.0, 1.0, 0.0, 0.0
]


class Wind(Model):
    """A wind farm: a power curve at sea-level air density, corrected for the site's density.

    ``availability_fraction`` (of ``capacity_mw``), if given, replaces the weather model.
    """

    name: str
    capacity_mw: Amount
    hub_height_m: Positive = 100.0
    shear_exponent: Annotated[Number, Field(ge=0.0, le=1.0)] = 1.0 / 7.0
    curve_wind_speed_m_s: list[NonNeg] = Field(default_factory=lambda: list(_DEFAULT_CURVE_SPEED))
    curve_power_fraction: list[Fraction] = Field(
        default_factory=lambda: list(_DEFAULT_CURVE_FRACTION)
    )
    losses_fraction: Annotated[Number, Field(ge=0.0, lt=1.0)] = 0.10
    availability_fraction: FractionSeries | None = None
    investment: Investment | None = None

    @model_validator(mode="after")
    def _check_curve(self) -> Wind:
        s, f = self.curve_wind_speed_m_s, self.curve_power_fraction
        if len(s) != len(f) or len(s) < 2:
            raise ValueError(
                f"curve_wind_speed_m_s: must have the length of curve_power_fraction, at least "
                f"2, got {len(s)} and {len(f)}"
            )
        if any(b <= a for a, b in zip(s, s[1:])):
            raise ValueError(f"curve_wind_speed_m_s: must increase strictly, got {s}")
        check_extendable(self.investment, mw=self.capacity_mw)
        return self


def _weather(farms: list[Wind]) -> dict[str, list[str]]:
    return {f"wind farm {a.name!r}": WEATHER_NEEDED for a in farms
            if a.availability_fraction is None}


def prepare(site: Any, weather: dict[str, np.ndarray], index: Any) -> dict[str, np.ndarray]:
    T = len(index)
    rows = [
        full(a.availability_fraction, T) * a.capacity_mw
        if a.availability_fraction is not None
        # a constant wind speed or temperature is a scalar: broadcast to the horizon
        else full(wind_power_mw(a, site.weather, site.altitude_m), T)
        for a in site.wind
    ]
    avail = np.array(rows).reshape(len(rows), T)
    return {"wind_avail_mw": avail, "wind_avail_per_mw": per_mw(
        avail, np.array([a.capacity_mw for a in site.wind]),
        lambda i: _unit_avail(site.wind[i], site, T))}


def _unit_avail(a: Wind, site: Any, T: int) -> np.ndarray:
    """Availability of a farm of 1 MW (a farm stated at 0 MW that may be built)."""
    if a.availability_fraction is not None:
        return full(a.availability_fraction, T)
    if a.investment is None or not a.investment.extendable:
        return np.zeros(T)
    unit = a.model_copy(update={"capacity_mw": 1.0})
    return full(wind_power_mw(unit, site.weather, site.altitude_m), T)


def add(f: Formulation) -> None:
    add_renewable(f, "wind", "wind", "wind_avail_mw")


def extract(r: Extraction) -> None:
    extract_renewable(r, "wind")


COMPONENT = Component(
    name="wind", field="wind", schema=list[Wind], default=Field(default_factory=list),
    weather=_weather, prepare=prepare, add=add, extract=extract,
)
