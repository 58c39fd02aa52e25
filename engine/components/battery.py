"""Batteries: charge, discharge and state of charge.

For battery ``b`` and hour ``t`` (``Δ = 1 h``)::

    0 <= ch[b, t] <= Pch_b,   0 <= dis[b, t] <= Pdis_b
    soc[b, t] = (1 - σ_b) soc[b, t-1] + η_c ch[b, t] - dis[b, t] / η_d,
        soc[b, -1] = soc0_b = initial_soc_fraction * E_b
    SOCmin_b E_b <= soc[b, t] <= SOCmax_b E_b
    terminal: soc[b, T-1] >= soc0_b ("at_least_initial"), = soc0_b ("equal_initial")
    cost: c_deg_b * (ch + dis)

``dis - ch`` is injected at the site bus.

No simultaneous charge and discharge, with a binary only where it can change the answer.
Charging ``c`` and discharging ``d`` in one hour (``η = η_c η_d``) is the same as a netted
operation with the same SOC trajectory plus an extra withdrawal from the site bus: if
``d >= η c``, ``(0, d - η c)`` withdraws ``c (1 - η)`` MW less; otherwise
``(c - d / η, 0)`` withdraws ``d (1 / η - 1)`` MW less. The netted pair has less
throughput, so no more degradation cost. Simultaneous operation is therefore nothing but a
sink of energy at the bus in that hour, and it can lower the objective (or make the model
feasible) only in an hour where absorbing more energy at the battery's site is worth
something:

* the import price is negative there (grid up, import possible): buy and burn;
* the export price is negative with export possible: a surplus that would be exported at a
  cost can be burnt instead;
* a curtailment penalty is set and PV or wind is available at the site: burn instead of
  curtailing at a penalty;
* a must-run supply (hydro minimum) exceeds what the fixed facility load and the export
  capacity can take: burning is the only other sink.

Elsewhere extra absorption is worth nothing (every other supply can be turned down at no
gain, and burnt energy counts neither as load served nor as green), so some optimum of the
LP never cycles and the plain bounds stay. A battery whose round trip loses nothing
(``η_c η_d = 1``) gains nothing from cycling either. Only in the selected (battery, hour)
pairs a binary ``u`` (group ``battery/charging``, one column per pair) forbids it, making
the model a MILP::

    ch[b, t] <= Pch_b u,   dis[b, t] <= Pdis_b (1 - u)

Sizing (``investment.extendable``, :mod:`engine.model.sizing`): the energy ``E_b`` and the
power ``P_b`` (charge and discharge alike) become variables ``capE[b]``, ``capP[b]`` and the
bounds above are the rows ``ch, dis <= capP`` (``battery/charge_within_capacity``,
``battery/discharge_within_capacity``), ``SOCmin capE <= soc <= SOCmax capE``
(``battery/soc_min_within_capacity``, ``battery/soc_max_within_capacity``), with
``soc0 = initial_soc_fraction * capE`` inside the first SOC balance row and the terminal
rule; ``energy_to_power_ratio_h`` adds ``capE = ratio * capP``
(``battery/energy_to_power_ratio``). The big-M of the no-simultaneous binaries is the
largest power.

Representative days (:mod:`engine.model.periods`): the SOC is linked across the year by
:func:`~engine.model.periods.link_storage` (the equations are there), or, for typical days
made with ``storage="cyclic"`` (the annual sizing LP's start), each day of ``H`` hours is a
cycle of its own: the balance above with ``soc[b, kH - 1]`` replaced by ``soc[b, kH + H - 1]``
in the first hour of day ``k``, and no initial state or terminal rule.
"""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.model.linear import prev_in_time
from engine.model.periods import link_storage
from engine.model.sizing import capacities
from engine.scenario.base import Amount, Cost, Efficiency, Fraction, Model, Number
from engine.scenario.finance import Investment, check_extendable

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
    energy_mwh: Amount
    charge_power_mw: Amount
    discharge_power_mw: Amount
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    soc_min_fraction: Fraction = 0.1
    soc_max_fraction: Fraction = 1.0
    initial_soc_fraction: Fraction = 0.5
    self_discharge_per_h: Annotated[Number, Field(ge=0.0, lt=1.0)] = 0.0
    degradation_cost_per_mwh: Cost = 0.0
    terminal: Literal["at_least_initial", "equal_initial", "free"] = "at_least_initial"
    investment: Investment | None = None

    @model_validator(mode="after")
    def _check(self) -> Battery:
        inv = self.investment
        if inv is not None and inv.extendable and self.charge_power_mw != self.discharge_power_mw:
            raise ValueError(
                f"charge_power_mw: an extendable battery has one power rating: must equal "
                f"discharge_power_mw={self.discharge_power_mw}, got {self.charge_power_mw}")
        check_extendable(inv, mw=self.discharge_power_mw, mwh=self.energy_mwh)
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
    names = [b.name for b in bats]
    capE = capacities(f, "battery", "mwh", bats, names, E[:, 0], energy=True)
    capP = capacities(f, "battery", "mw", bats, names, col("discharge_power_mw")[:, 0])
    extP = capP.extendable[:, None]
    pch = np.where(extP, capP.upper[:, None], col("charge_power_mw"))
    pdis = np.where(extP, capP.upper[:, None], col("discharge_power_mw"))
    ch = f.model.add_variables("battery/charge_mw", (B, T), ub=pch)
    dis = f.model.add_variables("battery/discharge_mw", (B, T), ub=pdis)
    smin, smax = col("soc_min_fraction"), col("soc_max_fraction")
    capP.limit(f, "battery/charge_within_capacity", ch.idx, 1.0)
    capP.limit(f, "battery/discharge_within_capacity", dis.idx, 1.0)
    ratio = [(b.investment.energy_to_power_ratio_h if capE.extendable[i] else None)
             for i, b in enumerate(bats)]
    tied = np.array([r is not None for r in ratio])
    if tied.any():
        f.model.add_constraints(
            "battery/energy_to_power_ratio", int(tied.sum()),
            [(capE.cols[tied], 1.0), (capP.cols[tied], -np.array([r for r in ratio if r]))],
            lb=0.0, ub=0.0)
    keep = 1.0 - col("self_discharge_per_h")
    init = col("initial_soc_fraction")
    soc0 = init * E
    rule = np.array([b.terminal for b in bats])
    periods = f.data.extra.get("periods")
    if periods is not None and periods.get("storage") == "cyclic":
        _soc_chronological(f, ch, dis, col, keep, init, rule, capE, cycle_h=periods["hours"])
    elif periods is not None:  # representative days: SOC linked across the year
        link_storage(f, "battery", ch.idx, dis.idx, keep=keep, eta_c=col("charge_efficiency"),
                     eta_d=col("discharge_efficiency"), smin=smin, smax=smax, init=init,
                     rule=rule, cap=capE)
    else:
        _soc_chronological(f, ch, dis, col, keep, init, rule, capE)
    lossy = col("charge_efficiency") * col("discharge_efficiency") < 1.0
    binary_at = wasting_pays(f)[site_of] & lossy & (pch > 0) & (pdis > 0)
    n = int(binary_at.sum())
    if n:
        pch_sel = np.broadcast_to(pch, (B, T))[binary_at]
        pdis_sel = np.broadcast_to(pdis, (B, T))[binary_at]
        u = f.model.add_variables("battery/charging", n, lb=0.0, ub=1.0, integer=True)
        f.model.add_constraints("battery/charge_if_charging", n,
                                [(ch.idx[binary_at], 1.0), (u.idx, -pch_sel)], ub=0.0)
        f.model.add_constraints("battery/discharge_if_not_charging", n,
                                [(dis.idx[binary_at], 1.0), (u.idx, pdis_sel)], ub=pdis_sel)
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
        "binary_at": binary_at, "initial_soc_fraction": init[:, 0],
        "energy_col": capE.cols,
    }


def _soc_chronological(f: Formulation, ch, dis, col, keep, init, rule, capE,
                       cycle_h: int | None = None) -> None:
    """The SOC of every hour, its balance, bounds and terminal rule (module docstring).

    With ``cycle_h`` (cyclic typical days, :func:`engine.model.periods.aggregate`) the
    horizon is blocks of ``cycle_h`` hours, each a cycle: its first hour follows its own
    last one, and there is no initial state or terminal rule."""
    B, T = ch.shape
    E = col("energy_mwh")
    smin, smax = col("soc_min_fraction"), col("soc_max_fraction")
    soc = f.model.add_variables("battery/soc_mwh", (B, T), lb=np.where(
        capE.extendable[:, None], 0.0, smin * E), ub=capE.bound(smax))
    capE.limit(f, "battery/soc_max_within_capacity", soc.idx, smax)
    if np.any(smin[capE.extendable] > 0):
        capE.limit(f, "battery/soc_min_within_capacity", soc.idx, smin, sense=">=")
    # soc0 = init * E enters the first hour's row: a constant, or a term in capE
    first = np.zeros((B, T))
    prev = prev_in_time(soc.idx)
    if cycle_h is None:
        first[:, 0] = (keep * init)[:, 0]
    else:  # each block's first hour follows its own last hour
        prev[:, ::cycle_h] = soc.idx[:, cycle_h - 1::cycle_h]
    (cap_cols, cap_coef), rhs = capE.terms(first)
    f.model.add_constraints(
        "battery/soc_balance",
        (B, T),
        [(soc.idx, 1.0), (prev, -keep), (ch.idx, -col("charge_efficiency")),
         (dis.idx, 1.0 / col("discharge_efficiency")),
         *([(cap_cols, -cap_coef)] if capE.extendable.any() and cycle_h is None else [])],
        lb=rhs, ub=rhs,
    )
    if cycle_h is not None:
        return
    (cap_cols, cap_coef), lb_all = capE.terms(init[:, 0])
    for kind, upper in (("at_least_initial", np.inf), ("equal_initial", None)):
        sel = rule == kind
        if sel.any():
            lb = lb_all[sel]
            f.model.add_constraints(
                f"battery/terminal_{kind}", int(sel.sum()),
                [(soc.idx[sel, -1], 1.0),
                 *([(cap_cols[sel], -cap_coef[sel])] if capE.extendable[sel].any() else [])],
                lb=lb, ub=lb if upper is None else upper,
            )


def wasting_pays(f: Formulation) -> np.ndarray:
    """Mask ``(S, T)``: the (site, hour) pairs where absorbing more energy at the site bus
    can lower the objective or restore feasibility (see the module docstring)."""
    T = f.T
    penalty = f.data.scenario.policy.curtailment_penalty_per_mwh
    out = np.zeros((f.S, T), dtype=bool)
    for s, sd in enumerate(f.data.sites):
        g = sd.site.grid
        export_cap = np.zeros(T)
        if g is not None:
            up = sd.grid_available
            sized = g.investment is not None and g.investment.extendable
            if g.import_max_mw > 0 or sized:
                out[s] |= up & (sd.grid_import_price < 0)
            if g.export_max_mw > 0:
                out[s] |= up & (sd.grid_export_price < 0)
                export_cap = g.export_max_mw * up
        if penalty > 0:
            # availability arrays of the curtailable renewables (``<kind>_avail_mw``, (n, T))
            avail = sum((np.asarray(v).sum(axis=0) for k, v in vars(sd).items()
                         if k.endswith("_avail_mw") and np.size(v)), np.zeros(T))
            out[s] |= avail > 0
        must_run = getattr(sd, "hydro_min_mw", None)
        if must_run is not None and np.size(must_run):
            fixed = f.fixed_facility_mw()[s]
            out[s] |= np.asarray(must_run).sum(axis=0) > fixed + export_cap + 1e-9
    return out


def extract(r: Extraction) -> None:
    """Charge, discharge and SOC columns; the battery as a mixing tank for traceability."""
    meta = r.f.meta.get("battery")
    if meta is None:
        return
    ch, dis, soc = r.val("battery/charge_mw"), r.val("battery/discharge_mw"), r.val("battery/soc_mwh")
    cols = meta["energy_col"]
    if (cols >= 0).any():  # the chosen energy capacity and its initial SOC
        energy = np.where(cols >= 0, r.x[cols], meta["energy_mwh"])
        meta = {**meta, "energy_mwh": energy, "soc0_mwh": meta["initial_soc_fraction"] * energy}
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
