"""The bus balance of every site and hour, with priced unserved energy.

``sum supply - sum withdrawals + unserved[s, t] = PUE[s, t] * inflex[s, t]`` where the
components declared their supplies and withdrawals through ``Formulation.inject``.
``0 <= unserved[s, t] <= PUE[s, t] * inflex[s, t]``: only load that exists in that hour
can be shed (jobs must finish, so their energy is never shed), and unserved energy feeds
nothing else (no charging or export from load that was never served). It costs the value
of lost load and counts as non-green energy for the green-share floor.
"""
from __future__ import annotations

import numpy as np

from engine.components.base import Extraction
from engine.model.formulation import Formulation


def add(f: Formulation) -> None:
    S, T = f.S, f.T
    voll = f.data.scenario.policy.value_of_lost_load_per_mwh
    rhs = f.fixed_facility_mw()
    unserved = f.model.add_variables("bus/unserved_mw", (S, T), ub=rhs)
    f.cost("unserved", unserved.idx, voll)
    # load that is shed is not green load: it counts against the green-share floor, so the
    # floor can never be met by shedding
    f.fossil(unserved.idx, np.arange(S), 1.0)
    f.model.add_constraints("bus/balance", (S, T), [*f.collect("bus"), (unserved.idx, 1.0)],
                            lb=rhs, ub=rhs)


def extract(r: Extraction) -> None:
    """Unserved energy per site (a column at sites with a data center) and as a source."""
    unserved = r.val("bus/unserved_mw")
    r.add_supply("unserved", np.arange(r.f.S), unserved, clean=False)
    r.kpis["unserved_mwh"] = float(unserved.sum())
