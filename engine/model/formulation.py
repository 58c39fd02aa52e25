"""The state shared while components write themselves into the model.

Hours ``t = 0..T-1``, step ``Δ = 1 h`` (so MW and MWh per hour coincide). Each component's
``add(f: Formulation) -> None`` adds its variable and constraint groups to the
backend-neutral :class:`~engine.model.LinearModel`, its injections to the site buses
(:meth:`Formulation.inject`), its cost terms (:meth:`Formulation.cost`) and, where it
matters, its fossil energy and facility load (for the green-share floor). Components
never import each other; :func:`engine.model.build.build` runs them in order, then closes
the bus balance and the policy constraints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.model.linear import LinearModel

if TYPE_CHECKING:  # pragma: no cover
    from engine.model.data import ScenarioData

#: Cost categories of the built-in components, in reporting order (a component may add
#: its own term names; they are reported after these).
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

    def _rows(self, site_of: np.ndarray, cols: np.ndarray,
              t_of: np.ndarray | None = None) -> np.ndarray:
        """Row ``site * T + t`` of every entry: of an ``(n, T)`` column array with
        ``site_of`` of shape ``(n,)``, or of flat entries with ``t_of`` given."""
        site_of = np.asarray(site_of, dtype=np.int64)
        if t_of is not None:
            return (site_of * self.T + np.asarray(t_of)).astype(np.int32)
        if site_of.size and np.all(site_of == site_of.flat[0]):
            # every entry at one site: one row of hours broadcasts to all (the model keeps
            # rows unexpanded, like coefficients)
            site_of = site_of.flat[:1]
        return (site_of.reshape(-1, 1) * self.T + np.arange(self.T)[None, :]).astype(np.int32)

    def inject(self, cols: np.ndarray, site_of: np.ndarray, coef: float | np.ndarray = 1.0,
               t_of: np.ndarray | None = None) -> None:
        """Add ``coef * x[cols]`` to the supply side of the bus balance.

        ``cols`` is ``(n, T)`` with ``site_of`` of shape ``(n,)``, or flat entries with
        ``site_of`` and ``t_of`` of the same shape. Withdrawals use a negative ``coef``.
        """
        self._bus.append((cols, coef, self._rows(site_of, cols, t_of)))

    def fossil(self, cols: np.ndarray, site_of: np.ndarray, coef: np.ndarray | float) -> None:
        """Declare ``coef * x[cols]`` (``(n, T)``) as fossil energy for the green-share floor."""
        self._fossil.append((cols, coef, self._rows(site_of, cols)))

    def facility(self, cols: np.ndarray, site_of: np.ndarray, t_of: np.ndarray,
                 coef: np.ndarray) -> None:
        """Declare flat entries ``coef * x[cols]`` as variable facility load."""
        self._facility_var.append((cols, coef, self._rows(site_of, cols, t_of)))

    @property
    def hour_weight(self) -> np.ndarray:
        """What each hour stands for, ``(T,)``: ones, or with representative days the number
        of days of its typical day (:mod:`engine.model.periods`)."""
        w = self.data.extra.get("hour_weight")
        return np.ones(self.T) if w is None else w

    def _weighted(self, cols: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """``coef`` times the hour weight when ``cols`` are hourly columns (a variable group
        of shape ``(..., T)``, the hours on the last axis) and hours carry weights."""
        w = self.data.extra.get("hour_weight")
        if w is None or cols.ndim < 2 or cols.shape[-1] != self.T or not cols.size:
            return coef
        first = int(cols.flat[0])
        for g in self.model.var_groups.values():
            if g.start <= first < g.start + g.size:
                return coef * w if len(g.shape) >= 2 and g.shape[-1] == self.T else coef
        return coef

    def cost(self, term: str, cols: np.ndarray, coef: float | np.ndarray,
             constant: float = 0.0) -> None:
        """Add ``sum(coef * x[cols]) + constant`` to the objective under a named term
        (``coef`` broadcasts to ``cols``). With representative days, the coefficients of
        hourly columns are weighted by :attr:`hour_weight` (constants are the caller's)."""
        if not term.isidentifier():
            raise ValueError(f"cost term must be an identifier, got {term!r}")
        # int32 halves what the cost records keep until the results are priced
        cols = np.asarray(cols).astype(np.int32)
        coef = self._weighted(cols, np.asarray(coef, dtype=np.float64))
        self.model.add_cost(cols, coef)
        self.model.offset += constant
        # the same (unexpanded) arrays as the model's: results price each term with them
        self.costs.setdefault(term, []).append((cols, coef, constant))

    def collect(self, which: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The bus / fossil / facility collector's entries as constraint terms
        ``(cols, coef, rows)`` with ``rows = site * T + t`` (explicit rows: nothing padded,
        coefficients kept as given).

        A collector is emptied as it is read: each is consumed by exactly one component.
        """
        attr = {"bus": "_bus", "fossil": "_fossil", "facility": "_facility_var"}[which]
        parts = getattr(self, attr)
        setattr(self, attr, [])  # each collector is read once (balance, policy): free it
        return parts

    def fixed_facility_mw(self) -> np.ndarray:
        """Facility load that is a parameter (PUE x inflexible IT), shape ``(S, T)``."""
        return np.array([s.pue * s.inflexible_it_mw for s in self.data.sites])
