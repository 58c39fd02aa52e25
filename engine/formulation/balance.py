"""The bus balance of every site and hour, with priced unserved energy.

``sum supply - sum withdrawals + unserved[s, t] = PUE[s, t] * inflex[s, t]`` where the
components declared their supplies and withdrawals through ``Formulation.inject``.
``0 <= unserved[s, t] <= PUE * IT capacity`` costs the value of lost load and counts as
non-green energy for the green-share floor.
"""
from __future__ import annotations

import numpy as np

from engine.formulation import Formulation


def add(f: Formulation) -> None:
    S, T = f.S, f.T
    voll = f.data.scenario.policy.value_of_lost_load_per_mwh
    cap = np.array([sd.pue * sd.it_capacity_mw for sd in f.data.sites])
    unserved = f.model.add_variables("bus/unserved_mw", (S, T), ub=cap)
    f.cost("unserved", unserved.idx, voll)
    # load that is shed is not green load: it counts against the green-share floor, so the
    # floor can never be met by shedding
    f.fossil(unserved.idx, np.arange(S), 1.0)
    rhs = f.fixed_facility_mw()
    f.model.add_constraints("bus/balance", (S, T), [*f.collect("bus"), (unserved.idx, 1.0)],
                            lb=rhs, ub=rhs)
