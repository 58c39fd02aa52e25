"""The formulation: one module per component, written once and vectorised.

Hours ``t = 0..T-1``, step ``Δ = 1 h`` (so MW and MWh per hour coincide). Each component
module has ``add(f: Formulation) -> None`` that adds its variable and constraint groups to
the backend-neutral :class:`~engine.model.LinearModel`, its injections to the site buses
(:meth:`Formulation.inject`), its cost terms (:meth:`Formulation.cost`) and, where it
matters, its fossil energy and facility load (for the green-share floor). Components
never import each other; :func:`build` runs them in order, then closes the bus balance and
the policy constraints. A new component is a new module added to ``COMPONENTS``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.data import ScenarioData
from engine.model import LinearModel, grouped

#: Cost categories, in reporting order.
COST_TERMS = (
    "energy",
    "export_revenue",
    "demand_charge",
    "degradation",
    "carbon",
    "curtailment",
    "unserved",
)


@dataclass
class Formulation:
    """Shared state while components add themselves to the model.

    Attributes
    ----------
    model : LinearModel
        The model being built.
    data : ScenarioData
        Arrays of the scenario.
    meta : dict
        Per-component metadata for the results (asset names, site of each asset, job
        entries); written by the component that owns it.
    """

    data: ScenarioData
    model: LinearModel = field(default_factory=LinearModel)
    meta: dict = field(default_factory=dict)
    _bus: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    _fossil: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    _facility_var: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    costs: dict[str, list[tuple[np.ndarray, np.ndarray, float]]] = field(default_factory=dict)

    @property
    def T(self) -> int:
        return self.data.T

    @property
    def S(self) -> int:
        return len(self.data.sites)

    def _rows(self, site_of: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Row id ``site * T + t`` of every entry of an ``(n, T)`` column array."""
        site_of = np.asarray(site_of, dtype=np.int64).reshape(-1, 1)
        return site_of * self.T + np.arange(self.T)[None, :] + 0 * cols

    def inject(self, cols: np.ndarray, site_of: np.ndarray, coef: float | np.ndarray = 1.0,
               t_of: np.ndarray | None = None) -> None:
        """Add ``coef * x[cols]`` to the supply side of the bus balance.

        ``cols`` is ``(n, T)`` with ``site_of`` of shape ``(n,)``, or flat entries with
        ``site_of`` and ``t_of`` of the same shape. Withdrawals use a negative ``coef``.
        """
        cols = np.asarray(cols)
        if t_of is None:
            rows = self._rows(site_of, cols)
        else:
            rows = np.asarray(site_of, dtype=np.int64) * self.T + np.asarray(t_of)
        coef = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)
        self._bus.append((rows.ravel(), cols.ravel(), coef.ravel()))

    def fossil(self, cols: np.ndarray, site_of: np.ndarray, coef: np.ndarray | float) -> None:
        """Declare ``coef * x[cols]`` (``(n, T)``) as fossil energy for the green-share floor."""
        cols = np.asarray(cols)
        coef = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)
        self._fossil.append((self._rows(site_of, cols).ravel(), cols.ravel(), coef.ravel()))

    def facility(self, cols: np.ndarray, site_of: np.ndarray, t_of: np.ndarray,
                 coef: np.ndarray) -> None:
        """Declare flat entries ``coef * x[cols]`` as variable facility load."""
        rows = np.asarray(site_of, dtype=np.int64) * self.T + np.asarray(t_of)
        self._facility_var.append((rows.ravel(), np.asarray(cols).ravel(),
                                   np.broadcast_to(coef, np.shape(cols)).ravel()))

    def cost(self, term: str, cols: np.ndarray, coef: float | np.ndarray,
             constant: float = 0.0) -> None:
        """Add ``sum(coef * x[cols]) + constant`` to the objective under a named term."""
        if term not in COST_TERMS:
            raise ValueError(f"unknown cost term {term!r}")
        cols = np.asarray(cols, dtype=np.int64)
        coef = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)
        self.model.add_cost(cols, coef)
        self.model.offset += constant
        self.costs.setdefault(term, []).append((cols.ravel(), coef.ravel(), constant))

    def collect(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """Entries of the bus / fossil / facility collector as ``(S*T, k)`` row-aligned arrays.

        A collector is emptied as it is read: each is consumed by exactly one component.
        """
        attr = {"bus": "_bus", "fossil": "_fossil", "facility": "_facility_var"}[which]
        parts = getattr(self, attr)
        setattr(self, attr, [])  # each collector is read once (balance, policy): free it
        if not parts:
            return np.full((self.S * self.T, 1), -1, np.int64), np.zeros((self.S * self.T, 1))
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        coef = np.concatenate([p[2] for p in parts])
        return grouped(rows, self.S * self.T, cols, coef)

    def fixed_facility_mw(self) -> np.ndarray:
        """Facility load that is a parameter (PUE x inflexible IT), shape ``(S, T)``."""
        return np.array([s.pue * s.inflexible_it_mw for s in self.data.sites])


def _components() -> list[Callable[[Formulation], None]]:
    from engine.formulation import (
        balance,
        battery,
        datacenter,
        grid,
        hydro,
        network,
        policy,
        renewables,
    )

    # order matters only in that balance and policy close what the others declared, and
    # the network limits read every dispatch variable, the balance's unserved energy included
    return [renewables.add, hydro.add, battery.add, grid.add, datacenter.add,
            network.add_losses, balance.add, network.add, policy.add]


def build(data: ScenarioData) -> Formulation:
    """Build the whole model of a scenario: every component, the balance and the policy."""
    f = Formulation(data)
    for add in _components():
        add(f)
    return f
