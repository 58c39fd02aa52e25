"""The data center: GPUs, the inflexible (inference) IT load, cooling and PUE.

For site ``s`` and hour ``t``::

    PUE[s, t] = pue[t]                                    (if given), else
              = min(pue_max, pue_free_cooling + pue_slope_per_c * max(0, temp_air[t] - free_cooling_below_c))
    inflex[s, t] = inflexible_it_mw[t]  or  inflexible_utilization_fraction[t] * IT capacity
    IT capacity = gpus * it_power_per_gpu_kw / 1000
    facility[s, t] = PUE[s, t] * (inflex[s, t] + flexible IT[s, t])

Service tiers (only when ``critical_load_fraction`` or ``critical_it_mw`` is given): the
inflexible (inference) load splits into a critical part and a sheddable rest::

    crit[s, t] = critical_it_mw[t]  or  critical_load_fraction[t] * inflex[s, t]
    shed[s, t] = inflex[s, t] - crit[s, t]

The bus balance prices the unserved energy of each tier on its own
(:mod:`engine.model.balance`): critical at ``critical_value_of_lost_load_per_mwh``
(default 10 x the policy's value of lost load), sheddable at
``sheddable_value_of_lost_load_per_mwh`` (default the policy's), so the sheddable tier is
always shed first and the critical tier only when no supply is left. With tiers, training
jobs pause in the grid's outage hours (``jobs_pause_in_outages``, default: on with tiers,
off without, which keeps the results of scenarios without tiers as they were).

Critical reserve (``critical_reserve``, an option; the rows are the gensets',
:mod:`engine.components.genset`): in the hours ``H`` it names (the grid's outage hours, or
every hour: spinning reserve), the site's committed genset capacity carries the critical
facility load on its own, ``"n+1"`` even after losing its largest unit::

    sum_i Pmax_i u[i, t] >= PUE[s, t] crit[s, t] + (Pmax_largest if "n+1" else 0),  t in H

(``crit`` is the whole inflexible load on a site without tiers.)

GPU count as an option (``investment``, :mod:`engine.components._gpu_sizing`): the IT load
served (jobs and the inflexible load not shed) fits in the GPUs, whose count may be a
decision::

    sum_j p[j, t] + inflex[s, t] - unserved_IT[s, t] <= it_power_per_gpu_kw / 1000 * n_s

PUE is a parameter, so the model stays linear. The fixed part ``PUE * inflex`` is the
right-hand side of the site's bus balance (:mod:`engine.model.balance`); the flexible part
is the jobs' (:mod:`engine.components.jobs`), which bound themselves by the IT capacity
this component prepares. The cooling model needs the site's ``temp_air``.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from engine.components._gpu_sizing import GpuInvestment, add_gpu_capacity, check_gpu_investment
from engine.components.base import Component, Extraction, full
from engine.forecast import pue_from_temperature
from engine.scenario.base import (
    MAX_MAGNITUDE,
    Bool,
    Cost,
    Finite,
    Integer,
    Model,
    NonNeg,
    Number,
    Positive,
)
from engine.scenario.series import FractionSeries, Series, is_timed, series_type

__all__ = ["COMPONENT", "Cooling", "DataCenter"]

#: A PUE series: between 1 and 3.
PueSeries = series_type(1.0, 3.0)


class Cooling(Model):
    """Outdoor-temperature cooling model giving the PUE of each hour.

    ``pue[t] = pue_free_cooling`` while ``temp_air[t] <= free_cooling_below_c``, then rises by
    ``pue_slope_per_c`` per degree above it (mechanical cooling), capped at ``pue_max``.
    """

    free_cooling_below_c: Finite = 12.0
    pue_free_cooling: Annotated[Number, Field(ge=1.0, le=3.0)] = 1.12
    pue_slope_per_c: NonNeg = 0.012
    pue_max: Annotated[Number, Field(ge=1.0, le=3.0)] = 1.45

    @model_validator(mode="after")
    def _check(self) -> Cooling:
        if self.pue_max < self.pue_free_cooling:
            raise ValueError(
                f"pue_max: must be >= pue_free_cooling={self.pue_free_cooling}, got {self.pue_max}"
            )
        return self


class DataCenter(Model):
    """The data center: GPUs, the inflexible (inference) IT load and cooling.

    IT capacity is ``gpus * it_power_per_gpu_kw / 1000`` MW. The inflexible IT load is
    ``inflexible_it_mw`` if given, else ``inflexible_utilization_fraction`` of the capacity.
    Facility power is ``pue[t] * it[t]``; ``pue`` overrides the cooling model if given.

    Service tiers: ``critical_load_fraction`` (a number or a series) of the inflexible load,
    or the profile ``critical_it_mw``, is critical inference; the rest is sheddable.
    ``critical_value_of_lost_load_per_mwh`` (None: 10 x the policy's) and
    ``sheddable_value_of_lost_load_per_mwh`` (None: the policy's) price each tier's
    unserved energy. ``jobs_pause_in_outages`` (None: true with tiers, false without) sets
    the jobs' power to 0 in the grid's outage hours.

    ``critical_reserve`` (``"n"`` or ``"n+1"``; None: no rule) keeps enough of the site's
    genset units committed to carry the critical facility load alone (``"n+1"``: after
    losing the largest unit) in ``critical_reserve_hours``: ``"outages"`` (the grid's outage
    hours, default) or ``"always"`` (spinning reserve in every hour).

    ``investment`` (a :class:`~engine.components._gpu_sizing.GpuInvestment`) prices GPUs
    added to ``gpus`` and, ``extendable``, makes their count a decision; the IT capacity
    elsewhere is then that of ``max_gpus``, and the inflexible load may exceed the stated
    GPUs' capacity (what they cannot serve is shed at its value of lost load).
    """

    gpus: Annotated[Integer, Field(ge=0)]
    it_power_per_gpu_kw: Positive = 1.3
    inflexible_it_mw: Series | None = None
    inflexible_utilization_fraction: FractionSeries | None = None
    cooling: Cooling = Field(default_factory=Cooling)
    pue: PueSeries | None = None
    critical_load_fraction: FractionSeries | None = None
    critical_it_mw: Series | None = None
    critical_value_of_lost_load_per_mwh: Cost | None = None
    sheddable_value_of_lost_load_per_mwh: Cost | None = None
    jobs_pause_in_outages: Bool | None = None
    critical_reserve: Literal["n", "n+1"] | None = None
    critical_reserve_hours: Literal["outages", "always"] = "outages"
    investment: GpuInvestment | None = None

    @property
    def tiered(self) -> bool:
        """Whether the inflexible load has service tiers (a critical share given)."""
        return self.critical_load_fraction is not None or self.critical_it_mw is not None

    @property
    def pauses_jobs_in_outages(self) -> bool:
        """Whether jobs stop in the grid's outage hours (default: with tiers)."""
        if self.jobs_pause_in_outages is not None:
            return self.jobs_pause_in_outages
        return self.tiered

    def tier_voll(self, policy_voll: float) -> tuple[float, float]:
        """(critical, sheddable) value of lost load per MWh given the policy's."""
        crit = self.critical_value_of_lost_load_per_mwh
        shed = self.sheddable_value_of_lost_load_per_mwh
        return (10.0 * policy_voll if crit is None else crit,
                policy_voll if shed is None else shed)

    @property
    def it_capacity_mw(self) -> float:
        """IT capacity [MW] (of ``max_gpus`` when the GPU count is a decision)."""
        gpus = self.gpus if self.investment is None else self.investment.most_gpus(self.gpus)
        return gpus * self.it_power_per_gpu_kw / 1000.0

    @model_validator(mode="after")
    def _check(self) -> DataCenter:
        if self.investment is not None and self.investment.extendable:
            self.investment.check_bounds(self.gpus)
        if self.it_capacity_mw > MAX_MAGNITUDE:
            raise ValueError(
                f"it_power_per_gpu_kw: gpus * it_power_per_gpu_kw / 1000 must be <= "
                f"{MAX_MAGNITUDE:g} MW (larger values are out of the solver's numerical "
                f"range), got {self.gpus} GPUs x {self.it_power_per_gpu_kw:g} kW"
            )
        if self.inflexible_it_mw is not None and self.inflexible_utilization_fraction is not None:
            raise ValueError(
                "inflexible_it_mw: give it or inflexible_utilization_fraction, not both, got "
                "both"
            )
        if self.inflexible_it_mw is not None and not is_timed(self.inflexible_it_mw) \
                and self.investment is None:  # (with GPUs to size, the excess is shed)
            # (a timestamped series is checked when the scenario has aligned it)
            peak = float(np.max(self.inflexible_it_mw))
            if peak > self.it_capacity_mw * (1 + 1e-9):
                raise ValueError(
                    f"inflexible_it_mw: must not exceed the IT capacity gpus * "
                    f"it_power_per_gpu_kw = {self.it_capacity_mw:g} MW, got a peak of {peak:g} MW"
                )
        if self.critical_load_fraction is not None and self.critical_it_mw is not None:
            raise ValueError(
                "critical_it_mw: give it or critical_load_fraction, not both, got both")
        if self.critical_it_mw is not None and self.inflexible_it_mw is None \
                and self.inflexible_utilization_fraction is None:
            raise ValueError(
                "critical_it_mw: needs an inflexible load (inflexible_it_mw or "
                "inflexible_utilization_fraction) to be part of, got none")
        return self


def _weather(dc: DataCenter | None) -> dict[str, list[str]]:
    if dc is None or dc.pue is not None:
        return {}
    return {"the data center's cooling model (or give datacenter.pue)": ["temp_air"]}


def check(scenario: Any) -> None:
    """Tiers: the critical profile inside the inflexible load; critical VOLL >= sheddable.
    A critical reserve needs gensets that can hold it (two units or more for N+1)."""
    voll = scenario.policy.value_of_lost_load_per_mwh
    T = scenario.horizon_h
    for i, site in enumerate(scenario.sites):
        dc = site.datacenter
        if dc is not None:
            check_gpu_investment(f"sites[{i}].datacenter", dc, scenario, site)
        if dc is not None and dc.critical_reserve is not None:
            _check_reserve(f"sites[{i}].datacenter.critical_reserve", dc, site)
        if dc is None or not dc.tiered:
            continue
        path = f"sites[{i}].datacenter"
        crit, shed = dc.tier_voll(voll)
        if crit < shed:
            raise ValueError(
                f"{path}.critical_value_of_lost_load_per_mwh: must be >= the sheddable tier's "
                f"({shed:g}; critical load is shed last), got {crit:g}")
        if dc.critical_it_mw is not None:
            inflex = (dc.inflexible_it_mw if dc.inflexible_it_mw is not None
                      else np.multiply(dc.inflexible_utilization_fraction, dc.it_capacity_mw))
            over = full(dc.critical_it_mw, T) - full(inflex, T)
            if over.max() > 1e-9:
                t = int(np.argmax(over))
                raise ValueError(
                    f"{path}.critical_it_mw: must not exceed the inflexible IT load (the "
                    f"critical tier is part of it), got {full(dc.critical_it_mw, T)[t]:g} MW "
                    f"above {full(inflex, T)[t]:g} MW at hour {t}")


def _check_reserve(path: str, dc: DataCenter, site: Any) -> None:
    gensets = getattr(site, "gensets", None) or []
    units = [g.max_power_mw for g in gensets for _ in range(_most_units(g))]
    if not units:
        raise ValueError(f"{path}: the site has no gensets to hold the reserve, got "
                         f"{dc.critical_reserve!r}; add gensets or drop critical_reserve")
    if dc.critical_reserve == "n+1" and len(units) < 2:
        raise ValueError(f"{path}: 'n+1' needs at least two genset units (the reserve must "
                         f"hold after losing the largest), got {len(units)}")


def _most_units(g: Any) -> int:
    """The most units a genset entry can have: its ``max_units`` if it is sized."""
    inv = getattr(g, "investment", None)
    if inv is not None and inv.extendable and inv.max_units is not None:
        return int(inv.max_units)
    return int(g.units)


def prepare(site: Any, weather: dict[str, np.ndarray], index: Any) -> dict[str, Any]:
    T = len(index)
    dc = site.datacenter
    if dc is None:
        return {"it_capacity_mw": 0.0, "pue": np.ones(T), "inflexible_it_mw": np.zeros(T),
                "critical_it_mw": np.zeros(T), "tiered": False, "jobs_pause": False,
                "critical_reserve": None}
    cap = dc.it_capacity_mw
    if dc.pue is not None:
        pue = full(dc.pue, T)
    else:
        c = dc.cooling
        pue = pue_from_temperature(weather["temp_air"], c.free_cooling_below_c,
                                   c.pue_free_cooling, c.pue_slope_per_c, c.pue_max)
    if dc.inflexible_it_mw is not None:
        inflex = full(dc.inflexible_it_mw, T)
    elif dc.inflexible_utilization_fraction is not None:
        inflex = full(dc.inflexible_utilization_fraction, T) * cap
    else:
        inflex = np.zeros(T)
    if dc.critical_it_mw is not None:
        crit = np.minimum(full(dc.critical_it_mw, T), inflex)
    elif dc.critical_load_fraction is not None:
        crit = full(dc.critical_load_fraction, T) * inflex
    else:
        crit = np.zeros(T)
    if dc.investment is not None:  # a loose bound for the jobs: the GPU row is exact
        cap = max(cap, float(inflex.max(initial=0.0)))
    return {"it_capacity_mw": cap, "pue": pue, "inflexible_it_mw": inflex,
            "critical_it_mw": crit, "tiered": dc.tiered,
            "jobs_pause": dc.pauses_jobs_in_outages,
            # (reserve, hours) for the gensets' critical-reserve rows, or None
            "critical_reserve": None if dc.critical_reserve is None
            else (dc.critical_reserve, dc.critical_reserve_hours)}


def extract(r: Extraction) -> None:
    """IT, flexible IT, facility load and PUE columns per site with a data center (and the
    IT load served, with a GPU investment); the facility and IT load the traceability and
    KPIs read."""
    sites = r.f.data.sites
    pue = np.array([sd.pue for sd in sites])
    inflex = np.array([sd.inflexible_it_mw for sd in sites])
    r.it_mw = inflex + r.flexible_it_mw
    r.facility_mw = pue * r.it_mw
    gpu_h = 0.0
    for s, sd in enumerate(sites):
        dc = sd.site.datacenter
        if dc is None:
            continue
        name = sd.site.name
        r.columns[f"datacenter.{name}/it_mw"] = r.it_mw[s]
        r.columns[f"datacenter.{name}/flexible_it_mw"] = r.flexible_it_mw[s]
        r.columns[f"datacenter.{name}/facility_mw"] = r.facility_mw[s]
        r.columns[f"datacenter.{name}/pue"] = pue[s]
        it = r.it_mw[s]
        if dc.investment is not None:  # the IT load the GPUs serve: less what is shed
            shed = sum(r.val(g)[s] for g in ("bus/unserved_mw", "bus/unserved_critical_mw")
                       if r.val(g) is not None)
            it = r.columns[f"datacenter.{name}/it_served_mw"] = r.it_mw[s] - shed / pue[s]
        gpu_h += float(it.sum()) * 1000.0 / dc.it_power_per_gpu_kw
    r.kpis["gpu_hours"] = gpu_h


COMPONENT = Component(
    name="datacenter", field="datacenter", schema=DataCenter | None, default=None,
    weather=_weather, check=check, prepare=prepare, after_balance=add_gpu_capacity,
    extract=extract,
)
