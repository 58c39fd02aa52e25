"""Shared equations of the variable renewables (PV, wind): not a component itself.

For each plant ``i`` and hour ``t``: ``0 <= p[i, t] <= avail[i, t]``; curtailment is
``avail - p`` and costs ``curtailment_penalty_per_mwh`` per MWh (a constant minus a
term in ``p``). ``p`` is injected into the plant's site bus and is carbon-free.
"""
from __future__ import annotations

import numpy as np

from engine.components.base import Extraction
from engine.model.formulation import Formulation


def add_renewable(f: Formulation, kind: str, field: str, avail_attr: str) -> None:
    """Variables ``<kind>/power_mw`` of every plant in ``site.<field>``, bounded by the
    site array ``avail_attr``."""
    penalty = f.data.scenario.policy.curtailment_penalty_per_mwh
    names, site_of, avail = [], [], []
    for s, sd in enumerate(f.data.sites):
        for asset, row in zip(getattr(sd.site, field), getattr(sd, avail_attr)):
            names.append(asset.name)
            site_of.append(s)
            avail.append(row)
    if not names:
        return
    avail_arr = np.array(avail)
    site_arr = np.array(site_of, dtype=np.int64)
    p = f.model.add_variables(f"{kind}/power_mw", avail_arr.shape, lb=0.0, ub=avail_arr)
    f.inject(p.idx, site_arr)
    if penalty:
        f.cost("curtailment", p.idx, -penalty, constant=penalty * float(avail_arr.sum()))
    f.meta[kind] = {"names": names, "site": site_arr, "avail_mw": avail_arr}


def extract_renewable(r: Extraction, kind: str) -> None:
    """Power and curtailment columns, the source totals and the availability KPI parts."""
    v = r.val(f"{kind}/power_mw")
    if v is None:
        return
    meta = r.f.meta[kind]
    for i, name in enumerate(meta["names"]):
        r.columns[f"{kind}.{name}/power_mw"] = v[i]
        r.columns[f"{kind}.{name}/curtailed_mw"] = meta["avail_mw"][i] - v[i]
    r.add_supply(kind, meta["site"], v, clean=True)
    r.kpis["renewable_generation_mwh"] = r.kpis.get("renewable_generation_mwh", 0.0) + float(v.sum())
    r.kpis["curtailment_mwh"] = (r.kpis.get("curtailment_mwh", 0.0)
                                 + float(meta["avail_mw"].sum()) - float(v.sum()))
