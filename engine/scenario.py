"""The scenario data model: sites, assets, data center, jobs and policy.

Plain typed objects (pydantic v2) with explicit checks. Units are in the field
names: MW, MWh, currency/MWh, kg CO2/MWh, degrees C, fractions in [0, 1].

Time series
-----------
Every time-varying field accepts

* a number (constant over the horizon),
* a sequence / NumPy array / ``pandas.Series`` of length ``horizon_h``,
* in files (YAML/JSON) also ``{daily: [24 values]}`` or ``{weekly: [168 values]}``
  (tiled over the horizon from ``start``, hour 0 = local midnight of the first
  day) and ``{csv: path, column: name}`` (path relative to the scenario file).

After validation a series is a ``float`` or a 1-D ``float64`` array of length
``horizon_h``; NaN, infinities and (for physical quantities) negative values are
rejected with a :class:`~engine.errors.ScenarioError` naming the field.

Hour indices (``release_h``, ``deadline_h``, ``outage_hours``) count from 0 at
``start``; a deadline is exclusive (a job with ``release_h=2, deadline_h=5`` may
run in hours 2, 3 and 4).
"""
from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from engine._clock import hour_clock
from engine.errors import ScenarioError, format_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "PV",
    "Battery",
    "Cooling",
    "DataCenter",
    "Grid",
    "Hydro",
    "Job",
    "Policy",
    "Scenario",
    "Site",
    "SiteNetwork",
    "Weather",
    "Wind",
    "load_scenario",
]


# --------------------------------------------------------------------------- series
def _coerce_series(value: Any, *, low: float | None, high: float | None) -> float | np.ndarray:
    """Turn a scalar / sequence / Series into a float or a clean float64 array."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number or a series of numbers, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        arr = np.asarray([float(value)])
        scalar = True
    else:
        if isinstance(value, Mapping):
            raise ValueError(
                f"must be a number or a series; a mapping {sorted(value)!r} is only understood in "
                "files as {daily: [...]}, {weekly: [...]} or {csv: path, column: name}"
            )
        # pandas is imported only if a value may be a Series: without it in sys.modules
        # nothing can be one, and the solve path stays free of pandas' import time
        pd = sys.modules.get("pandas")
        if pd is not None and isinstance(value, pd.Series):
            if isinstance(value.index, pd.DatetimeIndex) and len(value) > 1:
                steps = value.index.to_series().diff().iloc[1:]
                off = steps != pd.Timedelta(hours=1)
                if off.any():
                    raise ValueError(f"time index has a gap or is not hourly at {steps.index[off][0]}")
            value = value.to_numpy()
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number or a series of numbers, got {_short(value)}") from None
        if arr.ndim != 1:
            raise ValueError(f"must be one-dimensional, got shape {arr.shape}")
        scalar = False
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = "" if scalar else f" at hour {i}"
        raise ValueError(f"must be finite, got {arr[i]}{where}")
    for bound, cmp, word in ((low, np.less, ">="), (high, np.greater, "<=")):
        if bound is not None:
            viol = cmp(arr, bound)
            if viol.any():
                i = int(np.flatnonzero(viol)[0])
                where = "" if scalar else f" at hour {i}"
                raise ValueError(f"must be {word} {bound:g}, got {arr[i]:g}{where}")
    return float(arr[0]) if scalar else arr


def _dump_series(value: float | np.ndarray) -> float | list[float]:
    return value.tolist() if isinstance(value, np.ndarray) else value


def _series_type(low: float | None, high: float | None) -> Any:
    return Annotated[
        Any,
        BeforeValidator(partial(_coerce_series, low=low, high=high)),
        PlainSerializer(_dump_series),
    ]


#: A time series of a non-negative physical quantity (MW, MWh, kg/MWh, ...).
Series = _series_type(0.0, None)
#: A time series that may be negative (prices, temperatures).
SignedSeries = _series_type(None, None)
#: A time series of fractions in [0, 1].
FractionSeries = _series_type(0.0, 1.0)

NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Model(BaseModel):
    # validate_assignment: a batch that edits a validated scenario in place gets the same
    # checks (field and model level) as a new one
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, validate_default=True,
                              validate_assignment=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _to_scenario_error(exc) from None

    def __setattr__(self, name: str, value: Any) -> None:
        old = self.__dict__.get(name)
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            # a model-level check fails after pydantic has stored the value: put it back, so
            # a rejected edit leaves the object as valid as it was
            if name in self.__dict__:
                self.__dict__[name] = old
            raise _to_scenario_error(exc) from None


# --------------------------------------------------------------------------- assets
class Weather(_Model):
    """Hourly weather at a site, with pvlib's column names.

    Attributes
    ----------
    ghi, dni, dhi : series [W/m^2]
        Global horizontal, direct normal and diffuse horizontal irradiance.
    temp_air : series [degrees C]
        Outdoor dry-bulb temperature (also drives the cooling model).
    wind_speed : series [m/s]
        Wind speed measured at ``wind_height_m``.
    wind_height_m : float [m]
        Measurement height of ``wind_speed`` (10 m for most weather files).
    """

    ghi: Series = 0.0
    dni: Series = 0.0
    dhi: Series = 0.0
    temp_air: SignedSeries = 20.0
    wind_speed: Series = 0.0
    wind_height_m: Positive = 10.0


class PV(_Model):
    """A photovoltaic plant (PVWatts-style DC model with an inverter limit).

    ``availability_fraction`` (of ``capacity_mw``), if given, replaces the weather model.
    """

    name: str
    capacity_mw: NonNeg = Field(description="DC nameplate power [MW]")
    inverter_capacity_mw: NonNeg | None = Field(
        None, description="AC limit [MW]; default capacity_mw / 1.2"
    )
    tilt_deg: Annotated[float, Field(ge=0, le=90)] = 30.0
    azimuth_deg: Annotated[float, Field(ge=0, lt=360)] = 180.0
    gamma_pdc_per_c: Annotated[float, Field(ge=-0.02, le=0)] = -0.0035
    losses_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.14
    inverter_efficiency: Efficiency = 0.96
    albedo: Fraction = 0.25
    availability_fraction: FractionSeries | None = None


#: A generic 3 MW-class turbine curve (fraction of rated power at sea-level density),
#: cut-in 3 m/s, rated 12 m/s, cut-out 25 m/s.
_DEFAULT_CURVE_SPEED = [0.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 25.0, 25.01, 40.0]
_DEFAULT_CURVE_FRACTION = [
    0.0, 0.0, 0.03, 0.08, 0.15, 0.25, 0.38, 0.53, 0.69, 0.85, 1.0, 1.0, 0.0, 0.0
]


class Wind(_Model):
    """A wind farm: a power curve at sea-level air density, corrected for the site's density.

    ``availability_fraction`` (of ``capacity_mw``), if given, replaces the weather model.
    """

    name: str
    capacity_mw: NonNeg
    hub_height_m: Positive = 100.0
    shear_exponent: Annotated[float, Field(ge=0, le=1)] = 1.0 / 7.0
    curve_wind_speed_m_s: list[NonNeg] = Field(default_factory=lambda: list(_DEFAULT_CURVE_SPEED))
    curve_power_fraction: list[Fraction] = Field(
        default_factory=lambda: list(_DEFAULT_CURVE_FRACTION)
    )
    losses_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.10
    availability_fraction: FractionSeries | None = None

    @model_validator(mode="after")
    def _check_curve(self) -> Wind:
        s, f = self.curve_wind_speed_m_s, self.curve_power_fraction
        if len(s) != len(f) or len(s) < 2:
            raise ValueError(
                f"curve_wind_speed_m_s and curve_power_fraction must have the same length >= 2, "
                f"got {len(s)} and {len(f)}"
            )
        if any(b <= a for a, b in zip(s, s[1:])):
            raise ValueError(f"curve_wind_speed_m_s must increase strictly, got {s}")
        return self


class Hydro(_Model):
    """A hydro unit with a must-run floor, a ceiling and an energy budget per period.

    Constraints: ``min_power_mw[t] <= p[t] <= max_power_mw[t]`` and, for every block of
    ``budget_period_h`` hours, ``sum p[t] <= energy_budget_mwh`` (the last block is
    pro-rated if the horizon is not a multiple of the period).
    """

    name: str
    min_power_mw: Series = 0.0
    max_power_mw: Series
    energy_budget_mwh: NonNeg | None = None
    budget_period_h: Annotated[int, Field(ge=1)] = 24

    @model_validator(mode="after")
    def _check(self) -> Hydro:
        if self.energy_budget_mwh is not None:
            lo_arr = np.atleast_1d(np.asarray(self.min_power_mw, dtype=np.float64))
            if lo_arr.size == 1:
                need = float(lo_arr[0]) * self.budget_period_h
            else:
                n = lo_arr.size // self.budget_period_h * self.budget_period_h
                blocks = lo_arr[:n].reshape(-1, self.budget_period_h).sum(axis=1)
                need = float(blocks.max()) if blocks.size else 0.0
            if need > self.energy_budget_mwh * (1 + 1e-9):
                raise ValueError(
                    f"min_power_mw must fit the energy budget: it needs {need:g} MWh in a "
                    f"{self.budget_period_h}-h period, energy_budget_mwh is "
                    f"{self.energy_budget_mwh:g}"
                )
        if np.ndim(self.min_power_mw) and np.ndim(self.max_power_mw) and (
                np.size(self.min_power_mw) != np.size(self.max_power_mw)):
            raise ValueError(
                f"min_power_mw and max_power_mw must have the same length, got "
                f"{np.size(self.min_power_mw)} and {np.size(self.max_power_mw)}"
            )
        lo, hi = np.broadcast_arrays(self.min_power_mw, self.max_power_mw)
        if np.any(lo > hi + 1e-12):
            i = int(np.flatnonzero(np.atleast_1d(lo > hi))[0])
            raise ValueError(
                f"min_power_mw must be <= max_power_mw, got {np.atleast_1d(lo)[i]:g} > "
                f"{np.atleast_1d(hi)[i]:g} at hour {i}"
            )
        return self


class Battery(_Model):
    """A battery energy storage system.

    State of charge (MWh):
    ``soc[t] = (1 - self_discharge_per_h) * soc[t-1] + charge_efficiency * ch[t]
    - dis[t] / discharge_efficiency``, with ``soc[-1] = initial_soc_fraction * energy_mwh``,
    ``soc_min_fraction * energy_mwh <= soc[t] <= soc_max_fraction * energy_mwh``.
    ``terminal`` is ``"at_least_initial"`` (``soc[T-1] >= soc[-1]``), ``"equal_initial"``
    or ``"free"``. Throughput cost: ``degradation_cost_per_mwh * (ch + dis)``.
    """

    name: str
    energy_mwh: NonNeg
    charge_power_mw: NonNeg
    discharge_power_mw: NonNeg
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    soc_min_fraction: Fraction = 0.1
    soc_max_fraction: Fraction = 1.0
    initial_soc_fraction: Fraction = 0.5
    self_discharge_per_h: Annotated[float, Field(ge=0, lt=1)] = 0.0
    degradation_cost_per_mwh: NonNeg = 0.0
    terminal: Literal["at_least_initial", "equal_initial", "free"] = "at_least_initial"

    @model_validator(mode="after")
    def _check(self) -> Battery:
        if self.soc_min_fraction > self.soc_max_fraction:
            raise ValueError(
                f"soc_min_fraction must be <= soc_max_fraction, got {self.soc_min_fraction} > "
                f"{self.soc_max_fraction}"
            )
        if not self.soc_min_fraction <= self.initial_soc_fraction <= self.soc_max_fraction:
            raise ValueError(
                f"initial_soc_fraction must be in [soc_min_fraction, soc_max_fraction] = "
                f"[{self.soc_min_fraction}, {self.soc_max_fraction}], got {self.initial_soc_fraction}"
            )
        return self


class Grid(_Model):
    """The site's grid connection.

    ``emission_factor_kg_per_mwh`` is the grid's average CO2 intensity (for emissions and the
    carbon price); ``clean_share_fraction`` the carbon-free share of grid energy in each hour
    (for the green-share floor and the 24/7 CFE score). No import or export in
    ``outage_hours``. ``demand_charge_per_mw_month`` applies to each calendar month's peak
    import (months in the scenario's time zone).
    """

    import_max_mw: NonNeg
    export_max_mw: NonNeg = 0.0
    import_price_per_mwh: SignedSeries
    export_price_per_mwh: SignedSeries = 0.0
    demand_charge_per_mw_month: NonNeg = 0.0
    emission_factor_kg_per_mwh: Series = 0.0
    clean_share_fraction: FractionSeries = 0.0
    outage_hours: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list)


class Cooling(_Model):
    """Outdoor-temperature cooling model giving the PUE of each hour.

    ``pue[t] = pue_free_cooling`` while ``temp_air[t] <= free_cooling_below_c``, then rises by
    ``pue_slope_per_c`` per degree above it (mechanical cooling), capped at ``pue_max``.
    """

    free_cooling_below_c: Finite = 12.0
    pue_free_cooling: Annotated[float, Field(ge=1, le=3)] = 1.12
    pue_slope_per_c: NonNeg = 0.012
    pue_max: Annotated[float, Field(ge=1, le=3)] = 1.45

    @model_validator(mode="after")
    def _check(self) -> Cooling:
        if self.pue_max < self.pue_free_cooling:
            raise ValueError(
                f"pue_max must be >= pue_free_cooling, got {self.pue_max} < {self.pue_free_cooling}"
            )
        return self


class DataCenter(_Model):
    """The data center: GPUs, the inflexible (inference) IT load and cooling.

    IT capacity is ``gpus * it_power_per_gpu_kw / 1000`` MW. The inflexible IT load is
    ``inflexible_it_mw`` if given, else ``inflexible_utilization_fraction`` of the capacity.
    Facility power is ``pue[t] * it[t]``; ``pue`` overrides the cooling model if given.
    ``critical_load_fraction`` of the IT load must survive an outage (used by the resilience
    constraints of a later release; recorded now).
    """

    gpus: Annotated[int, Field(ge=0)]
    it_power_per_gpu_kw: Positive = 1.3
    inflexible_it_mw: Series | None = None
    inflexible_utilization_fraction: FractionSeries | None = None
    cooling: Cooling = Field(default_factory=Cooling)
    pue: _series_type(1.0, 3.0) | None = None
    critical_load_fraction: Fraction = 0.5

    @property
    def it_capacity_mw(self) -> float:
        """IT capacity [MW]."""
        return self.gpus * self.it_power_per_gpu_kw / 1000.0

    @model_validator(mode="after")
    def _check(self) -> DataCenter:
        if self.inflexible_it_mw is not None and self.inflexible_utilization_fraction is not None:
            raise ValueError(
                "inflexible_it_mw: give it or inflexible_utilization_fraction, not both"
            )
        if self.inflexible_it_mw is not None:
            peak = float(np.max(self.inflexible_it_mw))
            if peak > self.it_capacity_mw * (1 + 1e-9):
                raise ValueError(
                    f"inflexible_it_mw peaks at {peak:g} MW, above the IT capacity "
                    f"gpus * it_power_per_gpu_kw = {self.it_capacity_mw:g} MW"
                )
        return self


class Job(_Model):
    """A flexible compute job (e.g. a training run) with a window and an energy need.

    Give either ``energy_mwh`` (IT energy) or ``gpu_hours`` (converted with the site's
    ``it_power_per_gpu_kw``). The job runs inside ``[release_h, deadline_h)`` at no more than
    ``max_power_mw`` (default: the site's IT capacity; or ``gpus`` times the power per GPU).
    ``sites`` lists the sites it may run at (empty: any; cross-site placement is a later
    release, so it must resolve to one site for now).
    """

    name: str
    energy_mwh: NonNeg | None = None
    gpu_hours: NonNeg | None = None
    release_h: Annotated[int, Field(ge=0)] = 0
    deadline_h: Annotated[int, Field(ge=1)]
    max_power_mw: Positive | None = None
    gpus: Annotated[int, Field(ge=1)] | None = None
    preemptible: bool = True
    sites: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Job:
        if (self.energy_mwh is None) == (self.gpu_hours is None):
            raise ValueError("energy_mwh: give exactly one of energy_mwh and gpu_hours")
        if self.deadline_h <= self.release_h:
            raise ValueError(
                f"deadline_h must be > release_h, got deadline_h={self.deadline_h}, "
                f"release_h={self.release_h}"
            )
        if self.max_power_mw is not None and self.gpus is not None:
            raise ValueError("max_power_mw: give max_power_mw or gpus, not both")
        return self

PowerFactor = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class SiteNetwork(_Model):
    """Where a site's assets sit on a feeder, for the AC check and LinDistFlow limits.

    The site's grid connection is the case's slack bus: grid import and export are what
    the slack supplies or absorbs. A case may have several slack buses (``BUS_TYPE`` 3),
    each at its own voltage set point: the AC check reports each one's P and Q, and the
    site's grid import in its energy balance is the sum of the slacks' injections
    (``constraints: lindistflow`` needs a single slack). Every other asset is attached to a
    bus by its external MATPOWER bus number (``BUS_I``).

    Attributes
    ----------
    case : str
        MATPOWER ``.m`` file; a relative path is relative to the scenario file (like CSV
        series paths).
    datacenter_bus : int, optional
        Bus of the data center's facility load (required if the site has a data center).
    pv_bus, wind_bus, hydro_bus, battery_bus : dict of str to int
        Bus of each plant or battery, by asset name; every asset of the site must be listed.
    background_load : bool
        Keep the case's own loads (``Pd``, ``Qd``) as constant background demand of other
        customers on the feeder. They load the feeder but are not part of the site's
        energy balance or bill (the slack serves them).
    scale_load : float
        Factor applied to the case's own loads [-].
    scale_impedance : float
        Factor applied to every branch's R and X [-]: models a weaker (> 1) or stiffer
        (< 1) feeder than the case, e.g. a longer line to the park.
    datacenter_power_factor : float
        Power factor of the facility load, lagging: it draws ``Q = P tan(arccos(pf))``.
    pv_power_factor, wind_power_factor, battery_power_factor, hydro_power_factor : float
        Power factor of each kind of asset. Every asset's reactive demand follows its active
        demand, ``q = p tan(arccos(pf))`` in the load convention, so a generator below 1.0
        injects reactive power along with its active power. Default 1.0 (no reactive power).
    vmin_pu, vmax_pu : float, optional
        Voltage limits at every non-slack bus [pu]; default the case's ``VMIN``/``VMAX``.
    default_rating_mva : float, optional
        Rating of branches whose ``RATE_A`` is 0 (MATPOWER's "unlimited") [MVA]; by default
        they stay unlimited.
    constraints : {"none", "lindistflow"}
        ``"lindistflow"`` adds linearised voltage (and rated-line) limits to the LP; the
        feeder must then be radial.
    """

    case: str
    datacenter_bus: int | None = None
    pv_bus: dict[str, int] = Field(default_factory=dict)
    wind_bus: dict[str, int] = Field(default_factory=dict)
    hydro_bus: dict[str, int] = Field(default_factory=dict)
    battery_bus: dict[str, int] = Field(default_factory=dict)
    background_load: bool = True
    scale_load: NonNeg = 1.0
    scale_impedance: Positive = 1.0
    datacenter_power_factor: PowerFactor = 0.95
    pv_power_factor: PowerFactor = 1.0
    wind_power_factor: PowerFactor = 1.0
    battery_power_factor: PowerFactor = 1.0
    hydro_power_factor: PowerFactor = 1.0
    vmin_pu: Positive | None = None
    vmax_pu: Positive | None = None
    default_rating_mva: Positive | None = None
    constraints: Literal["none", "lindistflow"] = "none"

    @model_validator(mode="after")
    def _check(self) -> SiteNetwork:
        if self.vmin_pu is not None and self.vmax_pu is not None and self.vmin_pu >= self.vmax_pu:
            raise ValueError(f"vmin_pu must be < vmax_pu, got {self.vmin_pu} >= {self.vmax_pu}")
        return self


class Site(_Model):
    """A site: location, weather and its assets on one bus."""

    name: str
    latitude_deg: Annotated[float, Field(ge=-90, le=90)]
    longitude_deg: Annotated[float, Field(ge=-180, le=180)]
    altitude_m: Annotated[float, Field(ge=-500, le=9000)] = 0.0
    weather: Weather | None = None
    pv: list[PV] = Field(default_factory=list)
    wind: list[Wind] = Field(default_factory=list)
    hydro: list[Hydro] = Field(default_factory=list)
    batteries: list[Battery] = Field(default_factory=list)
    grid: Grid | None = None
    datacenter: DataCenter | None = None
    network: SiteNetwork | None = None

    @model_validator(mode="after")
    def _check(self) -> Site:
        for kind in ("pv", "wind", "hydro", "batteries"):
            names = [a.name for a in getattr(self, kind)]
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise ValueError(f"{kind}: names must be unique, got duplicates {sorted(dup)}")
        needs_weather = [a.name for a in self.pv if a.availability_fraction is None] + [
            a.name for a in self.wind if a.availability_fraction is None
        ]
        if needs_weather and self.weather is None:
            raise ValueError(
                f"weather: required, because assets {needs_weather} have no availability_fraction"
            )
        if self.network is not None:
            _check_site_network(self)
        return self


def _check_site_network(site: Site) -> None:
    """Every asset mapped to a bus that exists in the case; the case readable (and radial
    when LinDistFlow limits are asked for)."""
    from engine.network import NetworkError, load_site_network

    net = site.network
    assert net is not None
    try:
        network = load_site_network(net)
    except NetworkError as exc:
        raise ValueError(f"network.case: {net.case!r}: {exc}") from None
    numbers = set(network.bus_numbers.tolist())
    for field_name, kind, assets in (("pv_bus", "PV plant", site.pv), ("wind_bus", "wind farm", site.wind),
                                     ("hydro_bus", "hydro unit", site.hydro),
                                     ("battery_bus", "battery", site.batteries)):
        mapping = getattr(net, field_name)
        names = [a.name for a in assets]
        unknown = [n for n in mapping if n not in names]
        if unknown:
            raise ValueError(f"network.{field_name}: {unknown[0]!r} is not a {kind} of this site; "
                             f"its {kind}s are {names}")
        missing = [n for n in names if n not in mapping]
        if missing:
            raise ValueError(f"network.{field_name}: no bus given for {kind} {missing[0]!r}")
        for name, bus in mapping.items():
            if bus not in numbers:
                raise ValueError(f"network.{field_name}.{name}: bus {bus} is not in case "
                                 f"{network.name!r} (buses {min(numbers)}..{max(numbers)})")
    if site.datacenter is not None and net.datacenter_bus is None:
        raise ValueError("network.datacenter_bus: required, because the site has a datacenter")
    if net.datacenter_bus is not None:
        if site.datacenter is None:
            raise ValueError(f"network.datacenter_bus: given ({net.datacenter_bus}) but the site "
                             "has no datacenter")
        if net.datacenter_bus not in numbers:
            raise ValueError(f"network.datacenter_bus: bus {net.datacenter_bus} is not in case "
                             f"{network.name!r} (buses {min(numbers)}..{max(numbers)})")
    if net.vmin_pu is None or net.vmax_pu is None:
        lo, hi = network.voltage_limits(net.vmin_pu, net.vmax_pu)
        if np.any(lo >= hi):
            raise ValueError(f"network.vmin_pu: case {network.name!r} gives no usable voltage "
                             "limits (VMIN >= VMAX at a non-slack bus); set vmin_pu and vmax_pu")
    if net.constraints == "lindistflow":
        try:
            network.feeder()
        except NetworkError as exc:
            raise ValueError(f"network.constraints: 'lindistflow' needs a radial feeder with a "
                             f"single slack bus: {exc}") \
                from None


class Policy(_Model):
    """Operating policy: green-power floor, carbon price and penalties.

    ``green_share_min_fraction`` (alpha) bounds fossil energy:
    annual ``sum fossil <= (1 - alpha) * sum facility`` or, with ``green_matching="hourly"``
    (24/7 matching), ``fossil[t] <= (1 - alpha) * facility[t]`` in every hour.
    """

    green_share_min_fraction: Fraction = 0.0
    green_matching: Literal["annual", "hourly"] = "annual"
    carbon_price_per_t: NonNeg = 0.0
    value_of_lost_load_per_mwh: NonNeg = 10_000.0
    curtailment_penalty_per_mwh: NonNeg = 0.0


# --------------------------------------------------------------------------- scenario
class Scenario(_Model):
    """A complete optimization scenario.

    Build it from Python objects, from a dict (:meth:`from_dict`) or from a YAML/JSON file
    (:func:`load_scenario`); write it back with :meth:`to_dict` / :meth:`to_yaml` /
    :meth:`to_json` without loss.
    """

    name: str = "scenario"
    start: str = Field(description="first hour, ISO 8601 local time, e.g. '2023-01-01 00:00'")
    timezone: str = "UTC"
    horizon_h: Annotated[int, Field(ge=1, le=10 * 8784)]
    currency: str = "CNY"
    sites: list[Site] = Field(min_length=1)
    jobs: list[Job] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)

    # ---- validation across fields
    @model_validator(mode="after")
    def _check(self) -> Scenario:
        try:
            hour_clock(self.start, self.timezone, self.horizon_h)  # parses start and timezone
        except Exception as exc:  # pandas raises several types here
            raise ValueError(
                f"start/timezone: cannot build an hourly index from start={self.start!r}, "
                f"timezone={self.timezone!r}: {exc}"
            ) from None
        T = self.horizon_h
        for path, value in _iter_series(self, ()):
            if isinstance(value, np.ndarray) and len(value) != T:
                raise ValueError(
                    f"{format_path(path)}: series length must equal horizon_h={T}, got {len(value)}"
                )
        names = [s.name for s in self.sites]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"sites: names must be unique, got duplicates {sorted(dup)}")
        for kind in ("pv", "wind", "hydro", "batteries"):
            seen: dict[str, int] = {}
            for i, site in enumerate(self.sites):
                for k, asset in enumerate(getattr(site, kind)):
                    if asset.name in seen and seen[asset.name] != i:
                        raise ValueError(
                            f"sites[{i}].{kind}[{k}].name: {asset.name!r} is used at another site "
                            f"too; asset names must be unique across sites"
                        )
                    seen[asset.name] = i
        for i, site in enumerate(self.sites):
            if site.grid is not None:
                bad = [h for h in site.grid.outage_hours if h >= T]
                if bad:
                    raise ValueError(
                        f"sites[{i}].grid.outage_hours: hours must be < horizon_h={T}, got {bad[0]}"
                    )
        jnames = [j.name for j in self.jobs]
        dup = {n for n in jnames if jnames.count(n) > 1}
        if dup:
            raise ValueError(f"jobs: names must be unique, got duplicates {sorted(dup)}")
        for k, job in enumerate(self.jobs):
            self._check_job(k, job, names)
        return self

    def _check_job(self, k: int, job: Job, site_names: list[str]) -> None:
        path = f"jobs[{k}]"
        unknown = [s for s in job.sites if s not in site_names]
        if unknown:
            raise ValueError(f"{path}.sites: unknown site {unknown[0]!r}; sites are {site_names}")
        if job.deadline_h > self.horizon_h:
            raise ValueError(
                f"{path}.deadline_h must be <= horizon_h={self.horizon_h}, got {job.deadline_h}"
            )
        hosts = [s for s in self.sites if s.datacenter is not None]
        if not hosts:
            raise ValueError(f"{path}: no site has a datacenter to run job {job.name!r}")
        if not job.preemptible:
            raise NotImplementedError(
                f"{path}.preemptible: job {job.name!r} is non-preemptible, which needs integer "
                "variables of the MILP release; set preemptible: true for now"
            )
        site = self.job_site(job)
        dc = site.datacenter
        if dc is None:
            raise ValueError(f"{path}.sites: site {site.name!r} has no datacenter")
        energy = self.job_energy_mwh(job)
        pmax = self.job_max_power_mw(job)
        hours = job.deadline_h - job.release_h
        if energy > pmax * hours * (1 + 1e-9):
            raise ValueError(
                f"{path}: job {job.name!r} needs {energy:g} MWh but can draw at most "
                f"{pmax:g} MW x {hours} h = {pmax * hours:g} MWh between release_h="
                f"{job.release_h} and deadline_h={job.deadline_h}"
            )
        # the IT capacity left by the inflexible load bounds the job too
        inflex = dc.inflexible_it_mw
        if inflex is None and dc.inflexible_utilization_fraction is not None:
            inflex = np.multiply(dc.inflexible_utilization_fraction, dc.it_capacity_mw)
        if inflex is not None:
            window = np.broadcast_to(np.asarray(inflex, dtype=np.float64), (self.horizon_h,))[
                job.release_h:job.deadline_h]
            room = float(np.minimum(pmax, np.maximum(dc.it_capacity_mw - window, 0.0)).sum())
            if energy > room * (1 + 1e-9) + 1e-12:
                raise ValueError(
                    f"{path}: job {job.name!r} needs {energy:g} MWh but the IT capacity left by "
                    f"the inflexible load at site {site.name!r} allows at most {room:g} MWh "
                    f"between release_h={job.release_h} and deadline_h={job.deadline_h}"
                )

    # ---- derived quantities
    @property
    def index(self) -> pd.DatetimeIndex:
        """The hourly, tz-aware time index of the horizon (imports pandas)."""
        return hour_clock(self.start, self.timezone, self.horizon_h).index

    def job_site(self, job: Job) -> Site:
        """The one site a job runs at (multi-site placement is a later release)."""
        hosts = [s for s in self.sites if s.datacenter is not None]
        candidates = [s for s in hosts if not job.sites or s.name in job.sites]
        if len(candidates) > 1:
            raise NotImplementedError(
                f"job {job.name!r} may run at sites {[s.name for s in candidates]}: moving jobs "
                "between sites ('East data, West compute') is not implemented yet; list one site "
                "in jobs[].sites"
            )
        if not candidates:
            raise ValueError(f"job {job.name!r}: none of its sites {job.sites} has a datacenter")
        return candidates[0]

    def job_energy_mwh(self, job: Job) -> float:
        """IT energy of a job [MWh]."""
        if job.energy_mwh is not None:
            return job.energy_mwh
        dc = self.job_site(job).datacenter
        assert dc is not None
        return float(job.gpu_hours) * dc.it_power_per_gpu_kw / 1000.0

    def job_max_power_mw(self, job: Job) -> float:
        """Largest IT power a job may draw [MW]."""
        dc = self.job_site(job).datacenter
        assert dc is not None
        if job.max_power_mw is not None:
            return min(job.max_power_mw, dc.it_capacity_mw)
        if job.gpus is not None:
            return min(job.gpus * dc.it_power_per_gpu_kw / 1000.0, dc.it_capacity_mw)
        return dc.it_capacity_mw

    # ---- I/O
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_dir: str | Path | None = None) -> Scenario:
        """Validate a scenario from plain data (as read from YAML/JSON).

        Parameters
        ----------
        data : mapping
            The scenario; series may use the file forms ``{daily: ...}``, ``{weekly: ...}``,
            ``{csv: ..., column: ...}``.
        base_dir : path, optional
            Directory that relative CSV paths are resolved against (default: the working
            directory).

        Raises
        ------
        ScenarioError
            On any invalid field, naming its path and value.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError(f"scenario must be a mapping, got {type(data).__name__}")
        resolved = _resolve_file_forms(dict(data), Path(base_dir or "."))
        _resolve_case_paths(resolved, Path(base_dir or "."))
        try:
            return cls.model_validate(resolved)
        except ValidationError as exc:
            raise _to_scenario_error(exc) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, floats, strings) that :meth:`from_dict` reads back to an equal scenario."""
        return self.model_dump(mode="python", exclude_none=True)

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Write the scenario as YAML (to ``path`` if given) and return the text."""
        import yaml

        text = yaml.dump(self.to_dict(), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                         sort_keys=False, default_flow_style=None, width=120)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_json(self, path: str | Path | None = None) -> str:
        """Write the scenario as JSON (to ``path`` if given) and return the text."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    def __eq__(self, other: object) -> bool:  # arrays need elementwise comparison
        if not isinstance(other, Scenario):
            return NotImplemented
        return _deep_equal(self.to_dict(), other.to_dict())


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario from a YAML (``.yaml``/``.yml``) or JSON file.

    Relative CSV paths inside the file are resolved against the file's directory.

    Raises
    ------
    ScenarioError
        If the file cannot be read or any field is invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"scenario file {str(path)!r} does not exist")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            # libyaml's C loader parses the example ~10x faster than the pure-Python one
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception as exc:
        raise ScenarioError(f"cannot parse scenario file {str(path)!r}: {exc}") from None
    return Scenario.from_dict(data, base_dir=path.parent)


# --------------------------------------------------------------------------- helpers
def _iter_series(model: BaseModel, path: tuple) -> Iterator[tuple[tuple, Any]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _iter_series(value, path + (name,))
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for i, item in enumerate(value):
                yield from _iter_series(item, path + (name, i))
        elif isinstance(value, np.ndarray):
            yield path + (name,), value


def _resolve_file_forms(data: Any, base_dir: Path, path: tuple = (), ctx: dict | None = None) -> Any:
    """Replace ``{daily: ...}``, ``{weekly: ...}`` and ``{csv: ...}`` by arrays or columns."""
    if ctx is None:
        ctx = {"T": data.get("horizon_h"), "start": data.get("start"), "tz": data.get("timezone")}
    if isinstance(data, Mapping):
        keys = set(data)
        if keys and keys <= {"daily", "weekly"} and len(keys) == 1:
            return _tile(data, path, ctx)
        if "csv" in keys and "column" in keys:
            if keys != {"csv", "column"}:
                extra = sorted(keys - {"csv", "column"})
                raise ScenarioError(f"{format_path(path)}: a {{csv, column}} series takes no other "
                                    f"keys, got {extra}")
            return _read_csv(data, base_dir, path, ctx)
        if "csv" in keys:
            # a whole table (e.g. weather) from a file, plus the mapping's other fields
            rest = {k: _resolve_file_forms(v, base_dir, path + (k,), ctx)
                    for k, v in data.items() if k != "csv"}
            return {**_read_csv(data, base_dir, path, ctx), **rest}
        return {k: _resolve_file_forms(v, base_dir, path + (k,), ctx) for k, v in data.items()}
    if isinstance(data, list):
        return [_resolve_file_forms(v, base_dir, path + (i,), ctx) for i, v in enumerate(data)]
    return data


def _resolve_case_paths(data: dict, base_dir: Path) -> None:
    """Make each ``sites[i].network.case`` path relative to the scenario file absolute."""
    for site in data.get("sites") or []:
        net = site.get("network") if isinstance(site, Mapping) else None
        if isinstance(net, Mapping) and isinstance(net.get("case"), str):
            case = Path(net["case"])
            if not case.is_absolute():
                site["network"] = {**net, "case": str(base_dir / case)}


def _tile(spec: Mapping, path: tuple, ctx: dict) -> np.ndarray:
    (kind, values), = spec.items()
    period = 24 if kind == "daily" else 168
    where = format_path(path)
    try:
        pattern = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}.{kind}: must be a list of {period} numbers") from None
    if pattern.shape != (period,):
        raise ScenarioError(f"{where}.{kind}: must have {period} values, got {pattern.size}")
    T = ctx["T"]
    if not isinstance(T, int) or T < 1:
        raise ScenarioError(f"{where}: a {kind} profile needs an integer horizon_h, got {T!r}")
    try:
        clock = hour_clock(ctx["start"], ctx["tz"] or "UTC", T)
    except Exception:
        raise ScenarioError(
            f"start/timezone: cannot build the hours of {ctx['start']!r} in {ctx['tz']!r}"
        ) from None
    # hour 0 of the pattern is local midnight (Monday midnight for weekly profiles); the
    # phase follows the local clock, so a profile stays on its hours across DST changes
    phase = clock.hour_of_day() + (24 * clock.weekday() if period == 168 else 0)
    return pattern[phase % period]


def _read_csv(spec: Mapping, base_dir: Path, path: tuple, ctx: dict) -> Any:
    where = format_path(path)
    file = base_dir / str(spec["csv"])
    if not file.is_file():
        raise ScenarioError(f"{where}.csv: file {str(file)!r} does not exist")
    columns = _read_csv_fast(file, spec.get("column"), "column" in spec)
    if columns is None:
        columns = _read_csv_pandas(spec, file, where)
    return columns[spec["column"]] if "column" in spec else columns


#: Characters of the plain decimal numbers the fast CSV reader takes (no spaces, NaN or inf).
_NUMBER_CHARS = b"0123456789.+-eE"
#: The fast reader takes numbers of at most 15 characters (so at most 15 digits: an exact
#: integer mantissa in a double) with an exponent of at most 7 in magnitude (so, with at
#: most 14 decimals, a power of ten up to 10**22, exact in a double). pandas' C parser
#: (``float_precision="high"``) then scales the exact mantissa once by an exact power of
#: ten, which is correctly rounded, as Python's ``float()`` is: both give the same double.
_MAX_NUMBER_CHARS = 15
_MAX_EXPONENT = 7


def _read_csv_fast(file: Path, column: Any, one: bool) -> dict[str, np.ndarray] | None:
    """The numeric columns of a plain CSV file without pandas, or None to leave it to pandas.

    Reads exactly what ``pd.read_csv(file, comment="#")`` gives for the files it accepts:
    UTF-8 without BOM (line ends ``\\n``, ``\\r\\n`` or ``\\r``, which Python's universal
    newlines read as pandas does), comma-separated, no quotes, ``#`` only at the start
    of whole-line comments, a header of distinct non-empty names without surrounding
    spaces, every row with the header's number of fields, and the columns wanted made of
    plain decimal numbers (see ``_MAX_NUMBER_CHARS``). Anything else -- and every error --
    goes to pandas, which keeps today's parsing and messages.

    Parameters
    ----------
    file : Path
        The CSV file.
    column : Any
        The column wanted when ``one``; ignored otherwise.
    one : bool
        One column (``{csv, column}``) or every column but ``time`` (a whole table).
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if '"' in text or text.startswith("\ufeff"):
        return None
    lines = [ln for ln in text.split("\n") if ln and ln[0] != "#"]
    if len(lines) < 2:
        return None
    body = "\n".join(lines[1:])
    if "#" in body:
        return None
    header = lines[0].split(",")
    if len(set(header)) != len(header) or any(not h or h != h.strip() for h in header):
        return None
    if one:
        if not isinstance(column, str) or column not in header:
            return None
        wanted = [column]
    else:
        wanted = [c for c in header if c != "time"]
    n = len(header)
    if any(ln.count(",") != n - 1 for ln in lines[1:]):
        return None  # pandas pads short rows with NaN and may index by a long row's first
    # every row has n fields, so field j of row i is flat[i * n + j]
    flat = body.replace("\n", ",").split(",")
    out = {}
    for c in wanted:
        tokens = flat[header.index(c)::n]
        joined = "\n".join(tokens).encode("utf-8")
        if joined.translate(None, _NUMBER_CHARS + b"\n") or \
                max(map(len, tokens)) > _MAX_NUMBER_CHARS:
            return None
        try:
            values = np.fromiter(map(float, tokens), dtype=np.float64, count=len(tokens))
            if b"e" in joined or b"E" in joined:
                exps = [int(t.lower().partition("e")[2]) for t in tokens if "e" in t.lower()]
                if max(map(abs, exps)) > _MAX_EXPONENT:
                    return None
        except ValueError:  # "1e", "1.2.3", "" ...: not a number; pandas says so
            return None
        if np.signbit(values[values == 0.0]).any():
            return None  # pandas reads an all-integer column's "-0" as +0.0
        out[c] = values
    return out


def _read_csv_pandas(spec: Mapping, file: Path, where: str) -> dict[str, np.ndarray]:
    """Today's reader: ``pd.read_csv(file, comment="#")``, with its errors."""
    import pandas as pd

    try:
        frame = pd.read_csv(file, comment="#")
    except Exception as exc:  # pandas raises several parser errors
        raise ScenarioError(f"{where}.csv: cannot read {str(file)!r}: {exc}") from None
    if "column" in spec:
        col = spec["column"]
        if col not in frame.columns:
            raise ScenarioError(
                f"{where}.column: {col!r} is not a column of {str(file)!r}; columns are "
                f"{list(frame.columns)}"
            )
        cols = [col]
    else:
        # a whole frame (e.g. weather): every column but the time stamp
        cols = [c for c in frame.columns if c != "time"]
    out = {}
    for c in cols:
        try:
            out[c] = frame[c].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise ScenarioError(
                f"{where}: column {c!r} of {str(file)!r} is not numeric (a time column must be "
                f"named 'time'), first value {frame[c].iloc[0]!r}"
            ) from None
    return out


def _to_scenario_error(exc: ValidationError) -> ScenarioError:
    lines = []
    for err in exc.errors(include_url=False):
        loc = format_path(tuple(err["loc"]))
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
            if isinstance((err.get("ctx") or {}).get("error"), ScenarioError) and loc:
                # a nested model's own error already starts with its field path
                lines.extend(f"{loc}{'' if m.startswith('[') else '.'}{m}" for m in msg.split("; "))
            else:
                lines.append(f"{loc}: {msg}" if loc else msg)
            continue
        ctx = err.get("ctx") or {}
        kind = err["type"]
        words = {
            "greater_than_equal": ("must be >=", "ge"),
            "greater_than": ("must be >", "gt"),
            "less_than_equal": ("must be <=", "le"),
            "less_than": ("must be <", "lt"),
        }
        if kind in words:
            word, key = words[kind]
            msg = f"{word} {ctx.get(key)}"
        elif kind == "extra_forbidden":
            msg = "unknown field (misspelled?)"
        elif kind == "missing":
            lines.append(f"{loc}: required field is missing")
            continue
        else:
            msg = msg[0].lower() + msg[1:]
        lines.append(f"{loc}: {msg}, got {_short(err.get('input'))}")
    return ScenarioError("; ".join(lines))


def _deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b
