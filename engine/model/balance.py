"""The bus balance of every site and hour, with priced unserved energy by service tier.

``sum supply - sum withdrawals + unserved[s, t] + unserved_crit[s, t] = PUE[s, t] * inflex[s, t]``
where the components declared their supplies and withdrawals through ``Formulation.inject``.
Unserved energy is split by the data center's service tiers (:mod:`engine.components.datacenter`)::

    0 <= unserved[s, t]      <= PUE[s, t] * (inflex[s, t] - crit[s, t])   (bus/unserved_mw)
    0 <= unserved_crit[s, t] <= PUE[s, t] * crit[s, t]          (bus/unserved_critical_mw)

``bus/unserved_mw`` is the sheddable tier (the whole inflexible load at a site without
tiers, where ``crit = 0``), priced at the site's sheddable value of lost load (the
policy's by default); ``bus/unserved_critical_mw`` exists only when some site has tiers and
costs the critical value of lost load (cost term ``unserved_critical``). Only load that
exists in that hour can be shed (jobs must finish, so their energy is never shed), and
unserved energy feeds nothing else (no charging or export from load that was never
served). It counts as non-green energy for the green-share floor.
"""
from __future__ import annotations

import numpy as np

from engine.components.base import Extraction
from engine.model.formulation import Formulation


def tiers(f: Formulation) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per site: tiered (S,) bool, critical facility load (S, T) MW, critical and
    sheddable value of lost load (S,)."""
    voll = f.data.scenario.policy.value_of_lost_load_per_mwh
    S, T = f.S, f.T
    tiered = np.zeros(S, bool)
    crit = np.zeros((S, T))
    v_crit, v_shed = np.full(S, 10.0 * voll), np.full(S, voll)
    for s, sd in enumerate(f.data.sites):
        dc = getattr(sd.site, "datacenter", None)
        if dc is None or not getattr(sd, "tiered", False):
            continue
        tiered[s] = True
        crit[s] = sd.pue * sd.critical_it_mw
        v_crit[s], v_shed[s] = dc.tier_voll(voll)
    return tiered, crit, v_crit, v_shed


def add(f: Formulation) -> None:
    S = f.S
    rhs = f.fixed_facility_mw()
    tiered, crit, v_crit, v_shed = tiers(f)
    # without tiers crit = 0 and the sheddable value is the policy's: one tier, the old model
    unserved = f.model.add_variables("bus/unserved_mw", rhs.shape, ub=np.maximum(rhs - crit, 0.0))
    f.cost("unserved", unserved.idx, v_shed[:, None])
    terms = [(unserved.idx, 1.0)]
    if tiered.any():
        critical = f.model.add_variables("bus/unserved_critical_mw", rhs.shape, ub=crit)
        f.cost("unserved_critical", critical.idx, v_crit[:, None])
        f.fossil(critical.idx, np.arange(S), 1.0)
        terms.append((critical.idx, 1.0))
    # load that is shed is not green load: it counts against the green-share floor, so the
    # floor can never be met by shedding
    f.fossil(unserved.idx, np.arange(S), 1.0)
    f.model.add_constraints("bus/balance", rhs.shape, [*f.collect("bus"), *terms],
                            lb=rhs, ub=rhs)


def extract(r: Extraction) -> None:
    """Unserved energy per site (a column at sites with a data center) and as a source;
    with tiers, its critical and sheddable parts (columns and KPIs)."""
    unserved = r.val("bus/unserved_mw")
    critical = r.val("bus/unserved_critical_mw")
    total = unserved if critical is None else unserved + critical
    r.add_supply("unserved", np.arange(r.f.S), total, clean=False)
    r.kpis["unserved_mwh"] = float(total.sum())
    if critical is None:
        return
    tiered = tiers(r.f)[0]
    for s, name in enumerate(r.site_names):
        if tiered[s]:
            r.columns[f"bus.{name}/unserved_critical_mw"] = critical[s]
            r.columns[f"bus.{name}/unserved_sheddable_mw"] = unserved[s]
    r.kpis["unserved_critical_mwh"] = float(critical.sum())
    r.kpis["unserved_sheddable_mwh"] = float(unserved[tiered].sum())
