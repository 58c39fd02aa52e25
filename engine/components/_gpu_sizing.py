"""The data center's GPU count as an option (:mod:`engine.components.datacenter`).

A data center with an ``investment`` (a :class:`GpuInvestment`) gets, for site ``s`` and
hour ``t``, the IT capacity row (``datacenter/gpu_capacity``)::

    sum_j p[j, t] (+ restarts) + inflex[s, t] - (unserved[s, t] + unserved_crit[s, t]) / PUE[s, t]
        <= k_s * n_s

with ``p`` the power of the jobs at the site (:mod:`engine.components.jobs`), the unserved
facility energy of the bus balance (:mod:`engine.model.balance`: the IT load that is not
served is shed at its value of lost load), ``k_s = it_power_per_gpu_kw / 1000`` MW per GPU
and ``n_s`` the GPU count: a column in ``[min_gpus, max_gpus]`` (``datacenter/capacity_gpu``,
continuous, or integer with ``integer_gpus``) when ``extendable``, else the stated ``gpus``.
The served inflexible IT load and the jobs share the GPUs. Costs (:mod:`engine.model.sizing`):
``capex_per_gpu`` and ``fixed_om_per_gpu_year`` on the GPUs added to the stated ones,
annualised. So a GPU is worth, per year, the value of lost load (less the energy to serve it)
of the hours it serves load that would otherwise be shed: at the optimum of the LP the
marginal GPU's value equals its annualised cost.

Elsewhere the IT capacity of a data center with an extendable GPU count is that of
``max_gpus`` (the loosest valid bound; this row makes it exact).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import model_validator

from engine.components._sites import is_placed
from engine.model.formulation import Formulation
from engine.model.sizing import capacities
from engine.scenario.base import Bool, Cost, NonNeg
from engine.scenario.finance import Investment

__all__ = ["GpuInvestment", "add_gpu_capacity"]


class GpuInvestment(Investment):
    """A data center's GPUs as an investment: per GPU costs, bounds in GPUs.

    ``capex_per_gpu`` and ``fixed_om_per_gpu_year`` price each GPU added to the stated
    ``gpus`` (with the servers, network and building share it carries, as the user states).
    With ``extendable`` the count is a decision in ``[min_gpus, max_gpus]`` (``min_gpus``
    defaults to the stated ``gpus``; ``max_gpus`` is required), continuous unless
    ``integer_gpus``. The per-MW and per-MWh fields of other assets do not apply.
    """

    capex_per_gpu: Cost = 0.0
    fixed_om_per_gpu_year: Cost = 0.0
    min_gpus: NonNeg | None = None
    max_gpus: NonNeg | None = None
    integer_gpus: Bool = False

    @model_validator(mode="after")
    def _gpus_only(self) -> GpuInvestment:
        for key in ("min_mw", "max_mw", "min_mwh", "max_mwh", "energy_to_power_ratio_h"):
            if getattr(self, key) is not None:
                raise ValueError(f"{key}: a data center is sized in GPUs (min_gpus, max_gpus), "
                                 f"got {getattr(self, key):g}")
        for key in ("capex_per_mw", "capex_per_mwh", "fixed_om_per_mw_year",
                    "fixed_om_per_mwh_year"):
            if getattr(self, key):
                raise ValueError(f"{key}: a data center is priced per GPU (capex_per_gpu, "
                                 f"fixed_om_per_gpu_year), got {getattr(self, key):g}")
        for key in ("min_gpus", "max_gpus"):
            value = getattr(self, key)
            if self.integer_gpus and value is not None and value != int(value):
                raise ValueError(f"{key}: must be a whole number of GPUs with integer_gpus, "
                                 f"got {value:g}")
        if self.min_gpus is not None and self.max_gpus is not None \
                and self.min_gpus > self.max_gpus:
            raise ValueError(f"min_gpus: extendable bounds inverted: must be <= "
                             f"max_gpus={self.max_gpus:g}, got {self.min_gpus:g}")
        return self

    def check_bounds(self, existing: float, *, energy: bool = False) -> tuple[float, float]:
        """``(lower, upper)`` GPU counts given the ``existing`` (stated) ``gpus``."""
        if self.max_gpus is None:
            raise ValueError("investment.max_gpus: required for an extendable data center, "
                             "got None")
        lower = float(existing) if self.min_gpus is None else float(self.min_gpus)
        if lower < existing:
            raise ValueError(f"investment.min_gpus: must be >= the stated (existing) gpus "
                             f"{existing:g}, got {lower:g}")
        if self.max_gpus < lower:
            raise ValueError(f"investment.max_gpus: extendable bounds inverted: must be >= "
                             f"{lower:g}, got {self.max_gpus:g}")
        return lower, float(self.max_gpus)

    def most_gpus(self, existing: float) -> float:
        """The largest GPU count: ``max_gpus`` when extendable, else the stated one."""
        if self.extendable and self.max_gpus is not None:
            return float(self.max_gpus)
        return float(existing)


def add_gpu_capacity(f: Formulation) -> None:
    """The ``datacenter/gpu_capacity`` rows and the GPU columns (module docstring)."""
    sites = [(s, sd) for s, sd in enumerate(f.data.sites)
             if sd.site.datacenter is not None and sd.site.datacenter.investment is not None]
    if not sites:
        return
    T = f.T
    dcs = [sd.site.datacenter for _, sd in sites]
    integer = any(dc.investment.integer_gpus for dc in dcs if dc.investment.extendable)
    cap = capacities(f, "datacenter", "gpu", dcs, [sd.site.name for _, sd in sites],
                     np.array([dc.gpus for dc in dcs], dtype=np.float64), integer=integer)
    row = {s: r for r, (s, _) in enumerate(sites)}
    k = np.array([dc.it_power_per_gpu_kw / 1000.0 for dc in dcs])
    pue = np.array([sd.pue for _, sd in sites])
    inflex = np.array([sd.inflexible_it_mw for _, sd in sites])
    R = len(sites)
    hours = np.broadcast_to(np.arange(T), (R, T))
    at = (np.arange(R)[:, None] * T + hours).astype(np.int64)
    (cap_cols, cap_coef), const = cap.terms(np.broadcast_to(k[:, None], (R, T)))
    flat = lambda cols, coef: (np.asarray(cols).ravel(),
                               np.broadcast_to(coef, np.shape(cols)).ravel(), at.ravel())
    terms = [flat(cap_cols, -cap_coef)]
    for name in ("bus/unserved_mw", "bus/unserved_critical_mw"):
        g = f.model.var_groups.get(name)
        if g is not None:
            terms.append(flat(g.idx[[s for s, _ in sites]], -1.0 / pue))
    meta = f.meta.get("job")
    if meta is not None:
        cols = f.model.var_groups["job/power_mw"].idx
        rs = meta["restart"]
        site = np.concatenate([meta["site"], rs["site"]]).astype(np.int64)
        t = np.concatenate([meta["t_of"], rs["t"]]).astype(np.int64)
        jc = np.concatenate([cols, cols[rs["entry"]]])
        coef = np.concatenate([np.ones(cols.size), rs["coef"]])
        r_of = np.array([row.get(int(s), -1) for s in site], dtype=np.int64)
        keep = r_of >= 0
        if keep.any():
            terms.append((jc[keep], coef[keep], r_of[keep] * T + t[keep]))
    f.model.add_constraints("datacenter/gpu_capacity", R * T, terms,
                            ub=(const - inflex).ravel())


def check_gpu_investment(path: str, dc: Any, scenario: Any, site: Any) -> None:
    """An extendable GPU count needs an inflexible load that does not scale with it, and
    jobs the GPU row sees (not placed across sites)."""
    inv = dc.investment
    if inv is None:
        return
    if dc.inflexible_utilization_fraction is not None:
        raise ValueError(f"{path}.inflexible_utilization_fraction: not with a GPU investment "
                         f"(the load would scale with the GPUs; give inflexible_it_mw), got a "
                         f"utilization")
    for j, job in enumerate(getattr(scenario, "jobs", None) or []):
        if site.name in (job.sites or [site.name]) and is_placed(scenario, job):
            raise ValueError(f"{path}.investment: not with jobs placed across sites (jobs[{j}] "
                             f"{job.name!r}), got a GPU investment")
