"""Green-power floor.

With ``α = green_share_min_fraction`` and facility load ``F = PUE * IT``:

* annual matching: ``sum_{s,t} fossil[s, t] <= (1 - α) * sum_{s,t} F[s, t]``
* hourly (24/7) matching: ``fossil[s, t] <= (1 - α) * F[s, t]`` for every site and hour.

Fossil energy is what the components declared (grid import times its non-clean share,
unserved load; gensets later). Carbon pricing is a cost term of the emitting components.
"""
from __future__ import annotations

import numpy as np

from engine.formulation import Formulation


def add(f: Formulation) -> None:
    pol = f.data.scenario.policy
    alpha = pol.green_share_min_fraction
    if alpha <= 0:
        return
    S, T = f.S, f.T
    fc, fv = f.collect("fossil")
    lc, lv = f.collect("facility")
    fixed = f.fixed_facility_mw().ravel()
    if pol.green_matching == "annual":
        f.model.add_constraints(
            "policy/green_share_annual", 1,
            [(fc.reshape(1, -1), fv.reshape(1, -1)), (lc.reshape(1, -1), -(1 - alpha) * lv.reshape(1, -1))],
            ub=(1 - alpha) * fixed.sum(),
        )
    else:
        # one row per hour at every site with a data center; a site without one has no
        # facility load to match, and its imports are counted at no site's hour
        has_dc = np.array([sd.site.datacenter is not None for sd in f.data.sites])
        fc, fv, lc, lv = (a.reshape(S, T, -1)[has_dc] for a in (fc, fv, lc, lv))
        fixed = fixed.reshape(S, T)[has_dc]
        S = int(has_dc.sum())
        f.model.add_constraints(
            "policy/green_share_hourly", (S, T),
            [(fc, fv), (lc, -(1 - alpha) * lv)],
            ub=(1 - alpha) * fixed,
        )
