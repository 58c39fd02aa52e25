"""Batteries: charge, discharge and state of charge.

For battery ``b`` and hour ``t`` (``Δ = 1 h``)::

    0 <= ch[b, t] <= Pch_b,   0 <= dis[b, t] <= Pdis_b
    soc[b, t] = (1 - σ_b) soc[b, t-1] + η_c ch[b, t] - dis[b, t] / η_d,
        soc[b, -1] = soc0_b = initial_soc_fraction * E_b
    SOCmin_b E_b <= soc[b, t] <= SOCmax_b E_b
    terminal: soc[b, T-1] >= soc0_b ("at_least_initial"), = soc0_b ("equal_initial")
    cost: c_deg_b * (ch + dis)

``dis - ch`` is injected at the site bus.

Charging and discharging in the same hour burns ``(1 - η_c η_d)`` of the energy cycled. The
LP does that whenever wasting energy pays: a curtailment penalty (losses instead of
curtailment) or a negative price (paid to consume). Only then (DESIGN: "a binary ... only
when prices can go negative") a binary ``u[b, t]`` forbids it, making the model a MILP::

    ch[b, t] <= Pch_b u[b, t],   dis[b, t] <= Pdis_b (1 - u[b, t])
"""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.model.linear import prev_in_time
from engine.scenario.base import Efficiency, Fraction, Model, NonNeg, Number

__all__ = ["COMPONENT", "Battery"]


class Battery(Model):
    """A battery energy storage system.

    State of charge (MWh):
    ``soc[t] = (1 - self_discharge_per_h) * soc[t-1] + charge_efficiency * ch[t]
    - dis[t] / discharge_efficiency``, with ``soc[-1] = initial_soc_fraction * energy_mwh``,
    ``soc_min_fraction * energy_mwh <= soc[t] <= soc_max_fraction * energy_mwh``.
    ``terminal`` is ``"at_least_initial"`` (``soc[T-1] >= soc[-1]``), ``"equal_initial"``
    or ``"free"``. Throughput cost: ``degradation_cost_per_mwh * (ch + dis)``.
    """

    name: str
    energy_mwh: NonNeg
    charge_power_mw: NonNeg
    discharge_power_mw: NonNeg
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    soc_min_fraction: Fraction = 0.1
    soc_max_fraction: Fraction = 1.0
    initial_soc_fraction: Fraction = 0.5
    self_discharge_per_h: Annotated[Number, Field(ge=0.0, lt=1.0)] = 0.0
    degradation_cost_per_mwh: NonNeg = 0.0
    terminal: Literal["at_least_initial", "equal_initial", "free"] = "at_least_initial"

    @model_validator(mode="after")
    def _check(self) -> Battery:
        if self.soc_min_fraction > self.soc_max_fraction:
            raise ValueError(
                f"soc_min_fraction: must be <= soc_max_fraction={self.soc_max_fraction}, got "
                f"{self.soc_min_fraction}"
            )
        if not self.soc_min_fraction <= self.initial_soc_fraction <= self.soc_max_fraction:
            raise ValueError(
                f"initial_soc_fraction: must be in [soc_min_fraction, soc_max_fraction] = "
                f"[{self.soc_min_fraction}, {self.soc_max_fraction}], got {self.initial_soc_fraction}"
            )
        return self


def add(f: Formulation) -> None:
    items = [(s, b) for s, sd in enumerate(f.data.sites) for b in sd.site.batteries]
    if not items:
        return
    T = f.T
    site_of = np.array([s for s, _ in items], dtype=np.int64)
    bats = [b for _, b in items]
    col = lambda attr: np.array([getattr(b, attr) for b in bats], dtype=np.float64)[:, None]
    E = col("energy_mwh")
    B = len(bats)
    ch = f.model.add_variables("battery/charge_mw", (B, T), ub=col("charge_power_mw"))
    dis = f.model.add_variables("battery/discharge_mw", (B, T), ub=col("discharge_power_mw"))
    soc = f.model.add_variables(
        "battery/soc_mwh", (B, T), lb=col("soc_min_fraction") * E, ub=col("soc_max_fraction") * E
    )
    keep = 1.0 - col("self_discharge_per_h")
    soc0 = col("initial_soc_fraction") * E
    rhs = np.zeros((B, T))
    rhs[:, :1] = keep * soc0
    f.model.add_constraints(
        "battery/soc_balance",
        (B, T),
        [(soc.idx, 1.0), (prev_in_time(soc.idx), -keep), (ch.idx, -col("charge_efficiency")),
         (dis.idx, 1.0 / col("discharge_efficiency"))],
        lb=rhs, ub=rhs,
    )
    rule = np.array([b.terminal for b in bats])
    for kind, upper in (("at_least_initial", np.inf), ("equal_initial", None)):
        sel = rule == kind
        if sel.any():
            lb = soc0[sel, 0]
            f.model.add_constraints(
                f"battery/terminal_{kind}", int(sel.sum()), [(soc.idx[sel, -1], 1.0)],
                lb=lb, ub=lb if upper is None else upper,
            )
    if _wasting_can_pay(f):
        pch, pdis = col("charge_power_mw"), col("discharge_power_mw")
        u = f.model.add_variables("battery/charging", (B, T), lb=0.0, ub=1.0, integer=True)
        f.model.add_constraints("battery/charge_if_charging", (B, T),
                                [(ch.idx, 1.0), (u.idx, -pch)], ub=0.0)
        f.model.add_constraints("battery/discharge_if_not_charging", (B, T),
                                [(dis.idx, 1.0), (u.idx, pdis)], ub=np.broadcast_to(pdis, (B, T)))
    f.inject(dis.idx, site_of, 1.0)
    f.inject(ch.idx, site_of, -1.0)
    c_deg = col("degradation_cost_per_mwh")
    if np.any(c_deg):
        f.cost("degradation", ch.idx, c_deg)
        f.cost("degradation", dis.idx, c_deg)
    f.meta["battery"] = {
        "names": [b.name for b in bats], "site": site_of, "soc0_mwh": soc0[:, 0],
        "energy_mwh": E[:, 0], "charge_efficiency": col("charge_efficiency")[:, 0],
        "discharge_efficiency": col("discharge_efficiency")[:, 0],
        "self_discharge_per_h": col("self_discharge_per_h")[:, 0],
    }


def _wasting_can_pay(f: Formulation) -> bool:
    """Whether burning energy in battery losses can lower the objective."""
    if f.data.scenario.policy.curtailment_penalty_per_mwh > 0:
        return True
    return any(
        (sd.grid_import_price.size and sd.grid_import_price.min() < 0)
        or (sd.grid_export_price.size and sd.site.grid.export_max_mw > 0
            and sd.grid_export_price.min() < 0)
        for sd in f.data.sites
    )


def extract(r: Extraction) -> None:
    """Charge, discharge and SOC columns; the battery as a mixing tank for traceability."""
    meta = r.f.meta.get("battery")
    if meta is None:
        return
    ch, dis, soc = r.val("battery/charge_mw"), r.val("battery/discharge_mw"), r.val("battery/soc_mwh")
    for i, name in enumerate(meta["names"]):
        r.columns[f"battery.{name}/charge_mw"] = ch[i]
        r.columns[f"battery.{name}/discharge_mw"] = dis[i]
        r.columns[f"battery.{name}/soc_mwh"] = soc[i]
    r.storage.append({"site": meta["site"], "charge": ch, "discharge": dis,
                      "soc0_mwh": meta["soc0_mwh"],
                      "charge_efficiency": meta["charge_efficiency"],
                      "discharge_efficiency": meta["discharge_efficiency"],
                      "self_discharge_per_h": meta["self_discharge_per_h"]})
    caps = float(meta["energy_mwh"].sum())
    r.kpis["battery_cycles"] = float(dis.sum()) / caps if caps else 0.0


COMPONENT = Component(
    name="battery", field="batteries", schema=list[Battery], default=Field(default_factory=list),
    add=add, extract=extract,
)
