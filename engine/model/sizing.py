"""Capacities as decision variables: the one mechanism every sized component uses.

A component states its bounds *per unit of capacity* (availability per MW, SOC limits per
MWh, import limit per MW of connection) and asks :func:`capacities` for the capacity of each
of its assets. An asset without ``investment.extendable`` keeps its stated capacity ``K``
(a number); an extendable one gets a column ``cap[i]`` in ``[lower_i, upper_i]``. The
component then writes each scaled bound once, through :meth:`Capacity.limit`::

    x[i, t] <= a[i, t] * cap[i]     (or >=, for a lower bound such as soc_min)

as constraint rows for the extendable assets only; for the others the bound stays a plain
column bound ``a[i, t] * K_i`` (:meth:`Capacity.bound`). No component writes a second copy
of its equations.

Costs (cost terms ``capex`` and ``fixed_om``), for an asset with an investment, on the
capacity added to the stated one, ``cap - K``, over the horizon's share of a year
``w = T / 8760`` (the weighted hours of representative days: a year, ``w = 1``)::

    capex    = w * CRF(r, n) * (c + ρ c (1 + r)^-y) * (cap - K)
    fixed_om = w * o * (cap - K)

with ``c`` the capex per unit, ``o`` the fixed O&M per unit-year, ``n`` the lifetime,
``y`` the replacement year and ``ρ`` its cost fraction (the replacement's present worth is
annualised with the asset's own ``CRF``), ``r`` the finance block's discount rate and
``CRF(r, n) = r / (1 - (1 + r)^-n)`` (``1 / n`` at ``r = 0``).

Unit counts (``unit_mw``): a group of identical units (a genset) is sized by an *integer*
column ``n[i]`` (``<kind>/capacity_units``, bounds in units); the capacity it scales is
``n[i] * unit_mw[i]`` and its costs per unit are the per-MW ones times ``unit_mw[i]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.model.formulation import Formulation

__all__ = ["HOURS_PER_YEAR", "Capacity", "annualised_per_unit", "capacities", "crf"]

#: Hours of the year that annualised costs refer to (a horizon of T hours pays T / 8760).
HOURS_PER_YEAR = 8760.0


def crf(rate: float, years: int) -> float:
    """Capital recovery factor ``r / (1 - (1 + r)^-n)``; ``1 / n`` at ``r = 0``.

    Parameters
    ----------
    rate : float
        Discount rate per year (fraction, > -1).
    years : int
        Number of yearly payments (>= 1).
    """
    if years < 1:
        raise ValueError(f"years must be >= 1, got {years}")
    if rate <= -1.0:
        raise ValueError(f"rate must be > -1, got {rate}")
    if abs(rate) < 1e-12:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** (-years))


def annualised_per_unit(inv: Any, rate: float, *, energy: bool = False,
                        unit: str = "mw") -> tuple[float, float]:
    """``(annualised capex, fixed O&M)`` per MW (per MWh with ``energy``; per ``unit``,
    read from ``capex_per_<unit>`` and ``fixed_om_per_<unit>_year``) and year."""
    unit = "mwh" if energy else unit
    capex = getattr(inv, f"capex_per_{unit}")
    om = getattr(inv, f"fixed_om_per_{unit}_year")
    worth = capex
    if inv.replacement_year is not None:
        worth += inv.replacement_cost_fraction * capex * (1.0 + rate) ** (-inv.replacement_year)
    return crf(rate, inv.lifetime_years) * worth, om


@dataclass
class Capacity:
    """The capacities of one group of assets (one per row of the component's arrays).

    Attributes
    ----------
    cols : (n,) int64
        Column of each asset's capacity variable; ``-1`` where the capacity is fixed.
    fixed : (n,) float
        The stated capacity (used where ``cols == -1``).
    upper : (n,) float
        The largest capacity (the stated one where fixed).
    """

    cols: np.ndarray
    fixed: np.ndarray
    upper: np.ndarray

    @property
    def extendable(self) -> np.ndarray:
        return self.cols >= 0

    def bound(self, per_unit: np.ndarray) -> np.ndarray:
        """Column bound ``per_unit * capacity``: exact for fixed assets, the loosest valid
        one (at the upper capacity) for extendable assets; ``per_unit`` is ``(n, ...)``."""
        per_unit = np.asarray(per_unit, dtype=np.float64)
        shape = (-1,) + (1,) * (per_unit.ndim - 1)
        return per_unit * self.upper.reshape(shape)

    def limit(self, f: Formulation, name: str, x: np.ndarray, per_unit: Any,
              sense: str = "<=") -> None:
        """Rows ``x[i, t] <= per_unit[i, t] * cap[i]`` (or ``>=``) for the extendable
        assets: group ``name`` of shape ``(n_extendable, T)``."""
        sel = self.extendable
        if not sel.any():
            return
        x = np.asarray(x)
        a = np.broadcast_to(np.asarray(per_unit, dtype=np.float64), x.shape)[sel]
        cap = np.broadcast_to(self.cols[sel][:, None], a.shape)
        bounds = {"ub": 0.0} if sense == "<=" else {"lb": 0.0}
        f.model.add_constraints(name, a.shape, [(x[sel], 1.0), (cap, -a)], **bounds)

    def terms(self, coef: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """``coef * capacity`` inside a row of asset ``i`` (``coef`` (n, ...)): the term
        ``(cols, coef)`` of the extendable assets (``-1`` elsewhere) and the constant
        ``coef * fixed`` of the fixed ones (0 where extendable), to move to the bounds."""
        coef = np.asarray(coef, dtype=np.float64)
        shape = (-1,) + (1,) * (coef.ndim - 1)
        cols = np.broadcast_to(self.cols.reshape(shape), coef.shape)
        const = np.where(self.extendable.reshape(shape), 0.0, coef * self.fixed.reshape(shape))
        return (cols, coef), const


def capacities(f: Formulation, kind: str, quantity: str, assets: list[Any], names: list[str],
               existing: np.ndarray, *, energy: bool = False,
               unit_mw: np.ndarray | None = None, integer: bool | None = None) -> Capacity:
    """Capacity of each asset of a group; variables ``<kind>/capacity_<quantity>`` for the
    extendable ones, their investment cost terms, and an entry per priced asset in
    ``f.meta["sizing"]`` (for the investment table).

    Parameters
    ----------
    f : Formulation
    kind : str
        Component name (``"pv"``, ``"battery"``, ...).
    quantity : str
        ``"mw"`` or ``"mwh"``.
    assets : list
        The input models; ``asset.investment`` (or None) is read.
    names : list of str
        Asset names (sites for a grid).
    existing : (n,) float
        Stated capacities.
    energy : bool
        Read the energy bounds and costs (``min_mwh``, ``capex_per_mwh``, ...).
    unit_mw : (n,) float, optional
        Size each asset as an integer count of units of this many MW (``quantity`` is then
        ``"units"``, ``existing`` and the bounds are counts, costs are per MW times
        ``unit_mw``).
    integer : bool, optional
        Declare the columns integer (default: with ``unit_mw``). A ``quantity`` other than
        ``"mw"`` / ``"mwh"`` / ``"units"`` (``"gpu"``) reads the costs per that quantity
        (``capex_per_gpu``, ``fixed_om_per_gpu_year``).
    """
    integer = unit_mw is not None if integer is None else integer
    unit = quantity if quantity not in ("mwh", "units") else "mw"
    existing = np.asarray(existing, dtype=np.float64)
    n = len(assets)
    cols = np.full(n, -1, dtype=np.int64)
    upper = existing.copy()
    invs = [getattr(a, "investment", None) for a in assets]
    ext = [i for i, inv in enumerate(invs) if inv is not None and inv.extendable]
    if ext:
        lo, hi = zip(*(invs[i].check_bounds(existing[i], energy=energy) for i in ext))
        v = f.model.add_variables(f"{kind}/capacity_{quantity}", len(ext), lb=np.array(lo),
                                  ub=np.array(hi), integer=integer)
        cols[ext] = v.idx
        upper[ext] = hi
    cap = Capacity(cols, existing, upper)
    finance = getattr(f.data.scenario, "finance", None)
    entries = f.meta.setdefault("sizing", [])
    w = float(f.hour_weight.sum()) / HOURS_PER_YEAR  # T / 8760, or a year of typical days
    for i, inv in enumerate(invs):
        if inv is None:
            continue
        ann, om = annualised_per_unit(inv, finance.discount_rate_fraction, energy=energy,
                                      unit=unit)
        scale = 1.0 if unit_mw is None else float(unit_mw[i])
        ann, om = ann * scale, om * scale
        if cols[i] >= 0:
            for term, k in (("capex", ann), ("fixed_om", om)):
                if k:
                    f.cost(term, cols[i:i + 1], w * k, constant=-w * k * existing[i])
        entries.append({"kind": kind, "name": names[i], "quantity": quantity, "col": int(cols[i]),
                        "existing": float(existing[i]), "investment": inv, "energy": energy,
                        "annualised_capex_per_unit": ann, "fixed_om_per_unit_year": om,
                        "capex_per_unit": getattr(inv, f"capex_per_{'mwh' if energy else unit}")
                        * scale})
    return cap
