"""Hydro: a must-run floor, a ceiling and an energy budget per period.

``min[i, t] <= p[i, t] <= max[i, t]``; for each block ``b`` of ``budget_period_h`` hours,
``sum_{t in b} p[i, t] <= energy_budget_mwh * |b| / budget_period_h`` (the last, shorter
block is pro-rated). Injected at the site bus; carbon-free.
"""
from __future__ import annotations

import numpy as np

from engine.formulation import Formulation
from engine.model import grouped


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
    # one row per (unit, block): block ids are made unique across units by an offset
    n_blocks = -(-T // period)  # ceil
    first = np.concatenate(([0], np.cumsum(n_blocks)[:-1]))
    t = np.arange(T)
    block = first[:, None] + t[None, :] // period[:, None]
    sel = has[:, None] & np.ones((1, T), bool)
    n_rows = int(n_blocks.sum())
    cols, coef = grouped(block[sel], n_rows, p.idx[sel], 1.0)
    length = np.bincount(block.ravel(), minlength=n_rows)
    unit_of_block = np.repeat(np.arange(len(names)), n_blocks)
    ub = budget[unit_of_block] * length / period[unit_of_block]
    keep = has[unit_of_block]
    f.model.add_constraints("hydro/energy_budget", int(keep.sum()),
                            [(cols[keep], coef[keep])], ub=ub[keep])
