"""PV and wind: dispatchable down to zero, never above what the weather allows.

For each plant ``i`` and hour ``t``: ``0 <= p[i, t] <= avail[i, t]``; curtailment is
``avail - p`` and costs ``curtailment_penalty_per_mwh`` per MWh (a constant minus a
term in ``p``). ``p`` is injected into the plant's site bus and is carbon-free.
"""
from __future__ import annotations

import numpy as np

from engine.formulation import Formulation


def add(f: Formulation) -> None:
    penalty = f.data.scenario.policy.curtailment_penalty_per_mwh
    for kind, attr, avail_attr in (("pv", "pv", "pv_avail_mw"), ("wind", "wind", "wind_avail_mw")):
        names, site_of, avail = [], [], []
        for s, sd in enumerate(f.data.sites):
            for asset, row in zip(getattr(sd.site, attr), getattr(sd, avail_attr)):
                names.append(asset.name)
                site_of.append(s)
                avail.append(row)
        if not names:
            continue
        avail = np.array(avail)
        site_of = np.array(site_of, dtype=np.int64)
        p = f.model.add_variables(f"{kind}/power_mw", avail.shape, lb=0.0, ub=avail)
        f.inject(p.idx, site_of)
        if penalty:
            f.cost("curtailment", p.idx, -penalty, constant=penalty * float(avail.sum()))
        f.meta[kind] = {"names": names, "site": site_of, "avail_mw": avail}
