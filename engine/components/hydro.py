"""Hydro: a must-run floor, a ceiling and an energy budget per period.

``min[i, t] <= p[i, t] <= max[i, t]``; for each block ``b`` of ``budget_period_h`` hours,
``sum_{t in b} p[i, t] <= energy_budget_mwh * |b| / budget_period_h`` (the last, shorter
block is pro-rated). Injected at the site bus; carbon-free.

With representative days (:mod:`engine.model.periods`) the blocks stay the calendar year's:
every hour ``t`` of the year stands as its typical hour ``τ(t)``, so a block's row is
``sum_{t in b} p[i, τ(t)]`` (a typical hour counted once per hour of the block it stands
for). The budget is thus linked across the year exactly as the dispatch of the typical days
repeats it; nothing is stored from hour to hour, so no state needs linking. The hourly floor
and ceiling are clustered like every hourly input.
"""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction, full
from engine.model.formulation import Formulation
from engine.model.linear import grouped
from engine.scenario.base import Amount, Integer, Model
from engine.scenario.series import Series, is_timed

__all__ = ["COMPONENT", "Hydro"]


class Hydro(Model):
    """A hydro unit with a must-run floor, a ceiling and an energy budget per period.

    Constraints: ``min_power_mw[t] <= p[t] <= max_power_mw[t]`` and, for every block of
    ``budget_period_h`` hours, ``sum p[t] <= energy_budget_mwh`` (the last block is
    pro-rated if the horizon is not a multiple of the period).
    """

    name: str
    min_power_mw: Series = 0.0
    max_power_mw: Series
    energy_budget_mwh: Amount | None = None
    budget_period_h: Annotated[Integer, Field(ge=1)] = 24

    @model_validator(mode="after")
    def _check(self) -> Hydro:
        if is_timed(self.min_power_mw) or is_timed(self.max_power_mw):
            return self  # checked when the scenario has aligned the timestamped series
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
                    f"min_power_mw: must fit the energy budget: it needs {need:g} MWh in a "
                    f"{self.budget_period_h}-h period, energy_budget_mwh is "
                    f"{self.energy_budget_mwh:g}"
                )
        if np.ndim(self.min_power_mw) and np.ndim(self.max_power_mw) and (
                np.size(self.min_power_mw) != np.size(self.max_power_mw)):
            raise ValueError(
                f"min_power_mw: must have the length of max_power_mw, got "
                f"{np.size(self.min_power_mw)} and {np.size(self.max_power_mw)}"
            )
        lo, hi = np.broadcast_arrays(self.min_power_mw, self.max_power_mw)
        if np.any(lo > hi + 1e-12):
            i = int(np.flatnonzero(np.atleast_1d(lo > hi))[0])
            raise ValueError(
                f"min_power_mw: must be <= max_power_mw, got {np.atleast_1d(lo)[i]:g} > "
                f"{np.atleast_1d(hi)[i]:g} at hour {i}"
            )
        return self


def prepare(site: Any, weather: dict[str, np.ndarray], index: Any) -> dict[str, np.ndarray]:
    T = len(index)
    return {
        "hydro_min_mw": np.array([full(h.min_power_mw, T) for h in site.hydro]).reshape(-1, T),
        "hydro_max_mw": np.array([full(h.max_power_mw, T) for h in site.hydro]).reshape(-1, T),
    }


def add(f: Formulation) -> None:
    names, site_of, lo, hi, budget, period = [], [], [], [], [], []
    for s, sd in enumerate(f.data.sites):
        for k, h in enumerate(sd.site.hydro):
            names.append(h.name)
            site_of.append(s)
            lo.append(sd.hydro_min_mw[k])
            hi.append(sd.hydro_max_mw[k])
            budget.append(np.nan if h.energy_budget_mwh is None else h.energy_budget_mwh)
            period.append(h.budget_period_h)
    if not names:
        return
    T = f.T
    site_of = np.array(site_of, dtype=np.int64)
    p = f.model.add_variables("hydro/power_mw", (len(names), T), lb=np.array(lo), ub=np.array(hi))
    f.inject(p.idx, site_of)
    f.meta["hydro"] = {"names": names, "site": site_of}

    budget = np.array(budget)
    period = np.array(period, dtype=np.int64)
    has = ~np.isnan(budget)
    if not has.any():
        return
    # representative days: the blocks are the calendar year's, each hour of the year
    # standing as its typical hour (a typical hour counted once per year hour it stands for)
    year_hour = f.data.extra.get("periods", {}).get("year_hour")
    at = np.arange(T) if year_hour is None else year_hour
    Y = at.size
    # one row per (unit, block): block ids are made unique across units by an offset
    n_blocks = -(-Y // period)  # ceil
    first = np.concatenate(([0], np.cumsum(n_blocks)[:-1]))
    t = np.arange(Y)
    block = first[:, None] + t[None, :] // period[:, None]
    sel = has[:, None] & np.ones((1, Y), bool)
    n_rows = int(n_blocks.sum())
    cols, coef = grouped(block[sel], n_rows, p.idx[:, at][sel], 1.0)
    length = np.bincount(block.ravel(), minlength=n_rows)
    unit_of_block = np.repeat(np.arange(len(names)), n_blocks)
    ub = budget[unit_of_block] * length / period[unit_of_block]
    keep = has[unit_of_block]
    f.model.add_constraints("hydro/energy_budget", int(keep.sum()),
                            [(cols[keep], coef[keep])], ub=ub[keep])


def extract(r: Extraction) -> None:
    v = r.val("hydro/power_mw")
    if v is None:
        return
    meta = r.f.meta["hydro"]
    for i, name in enumerate(meta["names"]):
        r.columns[f"hydro.{name}/power_mw"] = v[i]
    r.add_supply("hydro", meta["site"], v, clean=True)


COMPONENT = Component(
    name="hydro", field="hydro", schema=list[Hydro], default=Field(default_factory=list),
    prepare=prepare, add=add, extract=extract,
)
