"""Shared equations of the variable renewables (PV, wind): not a component itself.

For each plant ``i`` and hour ``t``: ``0 <= p[i, t] <= avail[i, t]``; curtailment is
``avail - p`` and costs ``curtailment_penalty_per_mwh`` per MWh (a constant minus a
term in ``p``). ``p`` is injected into the plant's site bus and is carbon-free.

A plant with ``investment.extendable`` has a capacity variable ``cap[i]`` (MW, see
:mod:`engine.model.sizing`) and its availability is stated per MW,
``avail[i, t] = a[i, t] * cap[i]``: the bound becomes the row ``p[i, t] <= a[i, t] cap[i]``
(group ``<kind>/within_capacity``) and the curtailment cost ``penalty * (a[i, t] cap[i] - p)``.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.components.base import Extraction
from engine.model.formulation import Formulation
from engine.model.sizing import capacities


def per_mw(rows: np.ndarray, capacity_mw: np.ndarray, unit: Callable[[int], np.ndarray]
           ) -> np.ndarray:
    """Availability per MW of each plant: ``rows / capacity`` where the stated capacity is
    positive, else ``unit(i)`` (plant ``i``'s model at 1 MW)."""
    out = np.zeros_like(rows)
    for i, c in enumerate(capacity_mw):
        out[i] = rows[i] / c if c > 0 else unit(i)
    return out


def add_renewable(f: Formulation, kind: str, field: str, avail_attr: str) -> None:
    """Variables ``<kind>/power_mw`` of every plant in ``site.<field>``, bounded by the
    site array ``avail_attr``."""
    penalty = f.data.scenario.policy.curtailment_penalty_per_mwh
    names, site_of, avail, unit, assets = [], [], [], [], []
    for s, sd in enumerate(f.data.sites):
        per = getattr(sd, f"{kind}_avail_per_mw", None)
        for k, (asset, row) in enumerate(zip(getattr(sd.site, field), getattr(sd, avail_attr))):
            names.append(asset.name)
            site_of.append(s)
            avail.append(row)
            assets.append(asset)
            unit.append(per[k] if per is not None else np.zeros_like(row))
    if not names:
        return
    avail_arr = np.array(avail)
    unit_arr = np.array(unit)
    site_arr = np.array(site_of, dtype=np.int64)
    cap = capacities(f, kind, "mw", assets, names, np.array([a.capacity_mw for a in assets]))
    ext = cap.extendable
    # fixed plants keep their availability as a column bound (unchanged by sizing)
    ub = np.where(ext[:, None], cap.bound(unit_arr), avail_arr)
    p = f.model.add_variables(f"{kind}/power_mw", avail_arr.shape, lb=0.0, ub=ub)
    cap.limit(f, f"{kind}/within_capacity", p.idx, unit_arr)
    f.inject(p.idx, site_arr)
    if penalty:
        w = f.hour_weight  # ones, or the days of each typical day's hours
        fixed_avail = float((avail_arr[~ext] * w).sum())
        f.cost("curtailment", p.idx, -penalty, constant=penalty * fixed_avail)
        if ext.any():
            f.cost("curtailment", cap.cols[ext], penalty * (unit_arr[ext] * w).sum(axis=1))
    f.meta[kind] = {"names": names, "site": site_arr, "avail_mw": avail_arr,
                    "avail_per_mw": unit_arr, "capacity_col": cap.cols}


def extract_renewable(r: Extraction, kind: str) -> None:
    """Power and curtailment columns, the source totals and the availability KPI parts."""
    v = r.val(f"{kind}/power_mw")
    if v is None:
        return
    meta = r.f.meta[kind]
    cols = meta["capacity_col"]
    if (cols >= 0).any():  # availability of the chosen capacity
        meta = {**meta, "avail_mw": np.where((cols >= 0)[:, None],
                                             meta["avail_per_mw"] * r.x[cols][:, None],
                                             meta["avail_mw"])}
    for i, name in enumerate(meta["names"]):
        r.columns[f"{kind}.{name}/power_mw"] = v[i]
        r.columns[f"{kind}.{name}/curtailed_mw"] = meta["avail_mw"][i] - v[i]
    r.add_supply(kind, meta["site"], v, clean=True)
    r.kpis["renewable_generation_mwh"] = r.kpis.get("renewable_generation_mwh", 0.0) + float(v.sum())
    r.kpis["curtailment_mwh"] = (r.kpis.get("curtailment_mwh", 0.0)
                                 + float(meta["avail_mw"].sum()) - float(v.sum()))
