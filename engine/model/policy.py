"""Green-power floor.

With ``α = green_share_min_fraction`` and facility load ``F = PUE * IT``:

* annual matching: ``sum_{s,t} fossil[s, t] <= (1 - α) * sum_{s,t} F[s, t]``
* hourly (24/7) matching: ``fossil[s, t] <= (1 - α) * F[s, t]`` for every site and hour.

Fossil energy is what the components declared (grid import times its non-clean share,
unserved load; gensets later). Carbon pricing is a cost term of the emitting components.
"""
from __future__ import annotations

import numpy as np

from engine.model.formulation import Formulation


def add(f: Formulation) -> None:
    pol = f.data.scenario.policy
    alpha = pol.green_share_min_fraction
    if alpha <= 0:
        return
    T = f.T
    fossil, facility = f.collect("fossil"), f.collect("facility")
    # fossil energy minus (1 - α) x the variable facility load, per collected term
    terms = fossil + [(c, -(1 - alpha) * np.asarray(v), r) for c, v, r in facility]
    fixed = f.fixed_facility_mw()
    # for the infeasibility diagnosis: the best green share reachable without the floor
    f.model.notes["green_share"] = {
        "group": f"policy/green_share_{pol.green_matching}", "alpha": alpha,
        "matching": pol.green_matching, "fossil": fossil, "facility": facility,
        "fixed": fixed, "T": T,
        "has_dc": np.array([sd.site.datacenter is not None for sd in f.data.sites]),
    }
    w = f.data.extra.get("hour_weight")
    if w is not None and pol.green_matching == "annual":
        # representative days: each hour counts for the days of its typical day
        terms = [(c, np.broadcast_to(v, np.shape(c)) * w[np.broadcast_to(r, np.shape(c)) % T], r)
                 for c, v, r in terms]
        fixed = fixed * w
    if pol.green_matching == "annual":
        f.model.add_constraints(
            "policy/green_share_annual", 1, [(c, v, np.zeros_like(r)) for c, v, r in terms],
            ub=(1 - alpha) * fixed.sum(),
        )
    else:
        # one row per hour at every site with a data center; a site without one has no
        # facility load to match, and its imports are counted at no site's hour
        has_dc = np.array([sd.site.datacenter is not None for sd in f.data.sites])
        # row site * T + t -> row (rank of the site among those with a data center) * T + t
        rank = np.cumsum(has_dc) - 1

        def at_dc_sites(cols, coef, rows):
            rows = np.broadcast_to(rows, np.shape(cols))  # collectors keep (1, T) rows
            sel = has_dc[rows // T]
            coef = np.broadcast_to(coef, np.shape(cols))[sel]
            rows = rows[sel]
            return np.asarray(cols)[sel], coef, rank[rows // T] * T + rows % T

        f.model.add_constraints(
            "policy/green_share_hourly", (int(has_dc.sum()), T),
            [at_dc_sites(*t) for t in terms], ub=(1 - alpha) * fixed[has_dc],
        )
