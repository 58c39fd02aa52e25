"""Outage scenarios: an islanded dispatch per (start, duration), linked to the plan.

REopt's multiple-outage model (Laws et al.), vectorised. ``policy.outages`` lists start
hours ``s`` (a list, or every k-th hour) and durations ``d`` with probabilities ``p_d``
(summing to 1). Each scenario ``k = (s, d)`` at each site with a grid and a data center
gets its own islanded dispatch over the hours ``s .. s+d-1`` (taken modulo the horizon: an
outage that runs past the last hour continues with the first hours' weather and load, as
for a repeating year). All scenarios of all such sites are stacked into ``(R, D)`` groups,
``R = sites x starts x durations`` rows and ``D = max d`` hours, with bounds 0 beyond each
scenario's duration. For row ``k`` and outage hour ``τ < d_k``, ``h = (s_k + τ) mod T``::

    re[k, τ] <= avail_pv + avail_wind + hydro_max  at hour h     (curtailable; no hydro budget)
    soc[b, k, τ] = (1 - σ_b) soc[b, k, τ-1] + η_c ch - dis / η_d
    soc[b, k, -1] = soc_plan[b, s_k - 1]   (the plan's SOC at the start; soc0 when s_k = 0)
    SOCmin E <= soc <= SOCmax E,  ch <= Pch,  dis <= Pdis
    0 <= c[e, k, τ] <= N_e   committed units, continuous (the LP relaxation of commitment)
    Pmin_e c <= g[e, k, τ] <= Pmax_e c,   fuel[e, k, τ] >= a_j c + b_j g  (each fuel segment)
    sum_τ fuel[e, k, τ] <= stock_plan[e, s_k - 1]   (gensets with a fuel stock; the initial
                                                     stock when s_k = 0; no delivery arrives)
    re + sum dis - sum ch + sum g + uc + us = PUE (crit + shed)     (outage/balance)
    0 <= uc <= PUE crit,  0 <= us <= PUE shed,  jobs paused (no job load in an outage)

``crit``/``shed`` are the data center's service tiers; a site without tiers counts its whole
inflexible load as critical at the policy's value of lost load. The survival rule
``min_survival_h = N`` sets ``uc[k, τ] <= 0`` for ``τ < min(N, d_k)`` in every scenario
(every start must carry the critical load for N hours; group ``policy/outage_survival``,
which an infeasibility diagnosis names when the rule cannot be met).

Objective: with ``w_s`` the start weights (``start_probabilities``, default 1 / n_starts)
and ``λ = outages_per_horizon``, ``start_weighting = "expected"`` adds::

    λ sum_k w_{s_k} p_{d_k} sum_τ (VOLL_c uc + VOLL_s us + (fuel_price + c_CO2 ef) fuel)

(cost terms ``outage_unserved``, ``outage_fuel`` and ``outage_carbon``: the policy's carbon
price ``c_CO2`` on the genset's emission factor ``ef``, as for the plan's own fuel), plus
``outage_restart``: jobs with ``restart_energy_mwh`` pay to reload their checkpoint after the
outage, ``R_j p[j, s_k - 1] / Pmax_j`` at the first hour back at its import price times PUE
(see ``_add_restarts``); ``"worst"`` is REopt's rule (the
maximum over starts of the expectation over durations): ``λ z`` with
``z >= sum_{k of s} p_{d_k} sum_τ (...)`` for every start ``s`` (cost term
``outage_unserved``). Gensets in an outage: their commitment is relaxed to a continuous
count, so the islanded gensets run without minimum up/down times, ramps or start costs
(an outage is an emergency: any unit may start); ``Pmin c <= g <= Pmax c`` with the
no-load fuel ``a_0 c`` keeps the fuel a convex lower bound of the true curve. The
plan's genset state enters through its fuel stock. The expected outage fuel pays its carbon
price in the objective but does not count for the green-share floor, which is a rule on the
energy the plan actually uses (an outage scenario is a contingency, not consumption).

Survival hours per start (results, ``Result.outages``): how long the critical load lasts
from the plan's state at the start before any of it is unserved, counting the share served
in the first short hour (2.5 MWh of usable energy for a 2 MW load: 1.25 h). It is the
longer of two dispatches that are both possible from that state, so a lower bound of the
best one:

* a greedy simulation of the islanded site (after REopt's outage simulator): each hour
  renewables and the gensets without a tank serve the critical load, the batteries cover
  the rest (they leak, fuel does not) and take the surplus, then the gensets with a tank
  (to what it holds); looked for up to ``max(168 h, longest duration)`` (never beyond the
  horizon, wrapping past its end like the scenarios; a value equal to that cap means "at
  least");
* the LP's own dispatch of the longest outage of that start (which the survival rule
  binds, so a start's survival is never below ``min_survival_h``).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction, full
from engine.model.formulation import Formulation
from engine.model.linear import prev_in_time
from engine.scenario.base import Fraction, Integer, Model, NonNeg

__all__ = ["COMPONENT", "Outages"]

_PROB_TOL = 1e-6
#: Survival hours are looked for up to a week (or the longest outage, or the horizon).
_SURVIVAL_CAP_H = 168
#: A simulated hour is short when more than this share of its critical load (MW, at least
#: 1 MW) is missing: the solver's feasibility tolerance, so that an outage the LP just
#: carries is not reported a hair short.
_SHORT_TOL = 1e-6

Hours = Annotated[Integer, Field(ge=1)]


class Outages(Model):
    """Outage scenarios: start hours x durations with probabilities (see the module).

    Give ``start_hours`` (a list of hours from 0) or ``start_every_h`` (every k-th hour
    from ``start_offset_h``). ``durations_h`` with ``duration_probabilities`` (summing to
    1; a probability may be 0 to add a duration only for the survival rule).
    ``start_probabilities`` weight the starts (default equal); ``start_weighting`` is
    ``"expected"`` (weighted mean over starts) or ``"worst"`` (REopt: the largest expected
    cost over starts). ``outages_per_horizon`` scales the expected cost of one outage
    (how many outages the horizon expects). ``min_survival_h``: every start must serve the
    critical load for this many hours.
    """

    start_hours: list[Annotated[Integer, Field(ge=0)]] | None = None
    start_every_h: Hours | None = None
    start_offset_h: Annotated[Integer, Field(ge=0)] = 0
    durations_h: Annotated[list[Hours], Field(min_length=1)]
    duration_probabilities: Annotated[list[Fraction], Field(min_length=1)]
    start_probabilities: list[Fraction] | None = None
    start_weighting: Literal["expected", "worst"] = "expected"
    outages_per_horizon: NonNeg = 1.0
    min_survival_h: Annotated[Integer, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _check(self) -> Outages:
        if (self.start_hours is None) == (self.start_every_h is None):
            raise ValueError("start_hours: give start_hours or start_every_h (exactly one), got "
                             + ("both" if self.start_hours is not None else "neither"))
        if self.start_hours is not None:
            if not self.start_hours:
                raise ValueError("start_hours: must list at least one hour, got []")
            if len(set(self.start_hours)) != len(self.start_hours):
                raise ValueError(f"start_hours: must not repeat an hour, got {self.start_hours}")
        if len(self.duration_probabilities) != len(self.durations_h):
            raise ValueError(
                f"duration_probabilities: must hold one probability per duration "
                f"({len(self.durations_h)}), got {len(self.duration_probabilities)}")
        if len(set(self.durations_h)) != len(self.durations_h):
            raise ValueError(f"durations_h: must not repeat a duration, got {self.durations_h}")
        total = sum(self.duration_probabilities)
        if abs(total - 1.0) > _PROB_TOL:
            raise ValueError(f"duration_probabilities: must sum to 1, got {total:g}")
        if self.start_probabilities is not None:
            total = sum(self.start_probabilities)
            if abs(total - 1.0) > _PROB_TOL:
                raise ValueError(f"start_probabilities: must sum to 1, got {total:g}")
        if self.min_survival_h > max(self.durations_h):
            raise ValueError(
                f"min_survival_h: must be <= the longest duration ({max(self.durations_h)} h; "
                f"add a duration of at least {self.min_survival_h} h, with probability 0 if "
                f"it is only for the rule), got {self.min_survival_h}")
        return self

    def starts(self, T: int) -> np.ndarray:
        """The start hours inside a horizon of ``T`` hours."""
        if self.start_hours is not None:
            return np.asarray(self.start_hours, dtype=np.int64)
        return np.arange(self.start_offset_h, T, self.start_every_h, dtype=np.int64)


def check(scenario: Any) -> None:
    o = getattr(scenario.policy, "outages", None)
    if o is None:
        return
    T = scenario.horizon_h
    path = "policy.outages"
    for i, d in enumerate(o.durations_h):
        if d > T:
            raise ValueError(f"{path}.durations_h[{i}]: must be <= horizon_h={T}, got {d}")
    if o.start_hours is not None:
        for i, s in enumerate(o.start_hours):
            if s >= T:
                raise ValueError(f"{path}.start_hours[{i}]: must be < horizon_h={T}, got {s}")
    elif o.start_offset_h >= T:
        raise ValueError(f"{path}.start_offset_h: must be < horizon_h={T}, got {o.start_offset_h}")
    n = o.starts(T).size
    if o.start_probabilities is not None and len(o.start_probabilities) != n:
        raise ValueError(f"{path}.start_probabilities: must hold one probability per start "
                         f"({n}), got {len(o.start_probabilities)}")
    if not any(s.grid is not None and s.datacenter is not None for s in scenario.sites):
        raise ValueError(f"{path}: no site has both a grid (to lose) and a datacenter (to "
                         f"serve), so there is no outage to model")


def _scenarios(f: Formulation) -> dict[str, Any] | None:
    """The scenario layout: sites, starts, durations, weights, hours of every row."""
    o = f.data.scenario.policy.outages
    if o is None:
        return None
    sites = [s for s, sd in enumerate(f.data.sites)
             if sd.site.grid is not None and sd.site.datacenter is not None]
    T = f.T
    starts = o.starts(T)
    dur = np.asarray(o.durations_h, dtype=np.int64)
    prob = np.asarray(o.duration_probabilities, dtype=np.float64)
    n0, nd = starts.size, dur.size
    K, D = n0 * nd, int(dur.max())
    w_start = (np.full(n0, 1.0 / n0) if o.start_probabilities is None
               else np.asarray(o.start_probabilities, dtype=np.float64))
    k_start, k_dur = np.repeat(starts, nd), np.tile(dur, n0)
    tau = np.arange(D)
    return {
        "o": o, "sites": np.asarray(sites, dtype=np.int64), "starts": starts, "K": K, "D": D,
        "nd": nd, "k_start": k_start, "k_dur": k_dur, "k_prob": np.tile(prob, n0),
        "k_start_pos": np.repeat(np.arange(n0), nd), "w_start": w_start,
        "valid": tau[None, :] < k_dur[:, None],                  # (K, D)
        "hour": (k_start[:, None] + tau[None, :]) % T,           # (K, D)
    }


def _site_arrays(f: Formulation, L: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per outage site (rows ``i``): renewable availability, critical and sheddable
    facility load ``(n_sites, T)`` and the tiers' values of lost load."""
    voll = f.data.scenario.policy.value_of_lost_load_per_mwh
    T = f.T
    ren, crit, shed, v_crit, v_shed = [], [], [], [], []
    for s in L["sites"]:
        sd = f.data.sites[s]
        avail = np.zeros(T)
        for key in ("pv_avail_mw", "wind_avail_mw", "hydro_max_mw"):
            a = getattr(sd, key, None)
            if a is not None and np.size(a):
                avail += np.asarray(a).reshape(-1, T).sum(axis=0)
        ren.append(avail)
        load = sd.pue * sd.inflexible_it_mw
        if getattr(sd, "tiered", False):
            c = sd.pue * sd.critical_it_mw
            vc, vs = sd.site.datacenter.tier_voll(voll)
        else:  # without tiers the whole inflexible load is critical, at the policy's VOLL
            c, vc, vs = load, voll, voll
        crit.append(c)
        shed.append(np.maximum(load - c, 0.0))
        v_crit.append(vc)
        v_shed.append(vs)
    return {"ren": np.array(ren), "crit": np.array(crit), "shed": np.array(shed),
            "v_crit": np.array(v_crit), "v_shed": np.array(v_shed)}


def add(f: Formulation) -> None:
    L = _scenarios(f)
    if L is None or not L["sites"].size:
        return
    m = f.model
    K, D = L["K"], L["D"]
    o = L["o"]
    A = _site_arrays(f, L)
    n_i = L["sites"].size
    R = n_i * K
    valid = np.tile(L["valid"], (n_i, 1))                   # (R, D)
    hour = np.tile(L["hour"], (n_i, 1))
    site_row = np.repeat(np.arange(n_i), K)                 # outage site of each row
    k_row = np.tile(np.arange(K), n_i)                      # scenario of each row
    at = lambda arr: np.where(valid, arr[site_row[:, None], hour], 0.0)  # (n_i, T) -> (R, D)
    crit, shed = at(A["crit"]), at(A["shed"])
    # per-row objective weight of one unit of cost in each scenario
    lam = o.outages_per_horizon
    worst = o.start_weighting == "worst"
    weight = L["k_prob"][k_row] * (1.0 if worst else lam * L["w_start"][L["k_start_pos"]][k_row])
    cost_terms: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (cols (R', D), coef, row)

    def priced(term: str, cols: np.ndarray, coef: np.ndarray, row: np.ndarray) -> None:
        cost_terms.append((cols, coef, row))
        if not worst:
            f.cost(term, cols, coef * weight[row][:, None])

    # load: critical and sheddable unserved energy
    uc = m.add_variables("outage/unserved_critical_mw", (R, D), ub=crit)
    n_rule = min(o.min_survival_h, D)
    if n_rule:
        # the survival rule, as rows rather than bounds so that an infeasibility diagnosis
        # can name it (HiGHS's presolve turns the singletons into bounds)
        m.add_constraints("policy/outage_survival", (R, n_rule),
                          [(np.where(valid[:, :n_rule], uc.idx[:, :n_rule], -1), 1.0)], ub=0.0)
    rows = np.arange(R)
    priced("outage_unserved", uc.idx, A["v_crit"][site_row][:, None], rows)
    bal: list[tuple] = [(uc.idx, 1.0)]
    us = None
    if shed.any():
        us = m.add_variables("outage/unserved_sheddable_mw", (R, D), ub=shed)
        priced("outage_unserved", us.idx, A["v_shed"][site_row][:, None], rows)
        bal.append((us.idx, 1.0))
    ren = at(A["ren"])
    if ren.any():
        re = m.add_variables("outage/renewable_mw", (R, D), ub=ren)
        bal.append((re.idx, 1.0))
    meta: dict[str, Any] = {"L": L, "A": A, "site_row": site_row, "k_row": k_row,
                            "weight": weight, "has_shed": us is not None}
    meta["battery"] = _add_batteries(f, L, n_i, valid, bal)
    meta["genset"] = _add_gensets(f, L, n_i, valid, hour, bal, priced)
    meta["restart"] = _add_restarts(f, L, priced)
    load = crit + shed
    m.add_constraints("outage/balance", (R, D), bal, lb=load, ub=load)
    if worst:
        # REopt: the largest expected cost over the starts, z >= sum over one start's rows
        n0 = L["starts"].size
        z = m.add_variables("outage/worst_cost", 1)
        f.cost("outage_unserved", z.idx, lam)
        start_of_row = L["k_start_pos"][k_row]
        terms = [(cols, np.broadcast_to(coef * L["k_prob"][k_row[row]][:, None], cols.shape),
                  np.broadcast_to(start_of_row[row][:, None], cols.shape))
                 for cols, coef, row in cost_terms]
        terms.append((z.idx.reshape(1, 1).repeat(n0, 0), -1.0, np.arange(n0)[:, None]))
        m.add_constraints("outage/worst_start", n0, terms, ub=0.0)
    f.meta["outages"] = meta


def _add_batteries(f: Formulation, L: dict, n_i: int, valid: np.ndarray,
                   bal: list) -> dict[str, Any] | None:
    """Battery charge, discharge and SOC in every scenario; the SOC before the first outage
    hour is the plan's (``battery/soc_mwh``, the battery component's rows: every site's
    batteries in site order) at the hour before the start."""
    items = [(s, b) for s, sd in enumerate(f.data.sites) for b in sd.site.batteries]
    pos = {int(s): i for i, s in enumerate(L["sites"])}
    sel = [j for j, (s, _) in enumerate(items) if s in pos]
    if not sel:
        return None
    m, K, D = f.model, L["K"], L["D"]
    bats = [items[j][1] for j in sel]
    nb = len(bats)
    col = lambda a: np.repeat(np.array([getattr(b, a) for b in bats], np.float64), K)[:, None]
    E = col("energy_mwh")
    v = np.tile(L["valid"], (nb, 1))                      # (nb * K, D)
    ch = m.add_variables("outage/battery_charge_mw", (nb * K, D), ub=col("charge_power_mw") * v)
    dis = m.add_variables("outage/battery_discharge_mw", (nb * K, D),
                          ub=col("discharge_power_mw") * v)
    soc = m.add_variables("outage/battery_soc_mwh", (nb * K, D),
                          lb=col("soc_min_fraction") * E * v, ub=col("soc_max_fraction") * E * v)
    keep = 1.0 - col("self_discharge_per_h")
    k_of = np.tile(np.arange(K), nb)
    start = L["k_start"][k_of]
    first_plan = np.full((nb * K, D), -1, dtype=np.int64)
    rhs = np.zeros((nb * K, D))
    plan = f.model.var_groups["battery/soc_mwh"].idx[np.repeat(np.array(sel), K)]  # (nb K, T)
    later = start > 0
    first_plan[later, 0] = plan[later, start[later] - 1]
    rhs[~later, 0] = (keep * col("initial_soc_fraction") * E)[~later, 0]
    # rows beyond a scenario's duration are free (their variables are fixed at 0)
    lb = np.where(v, rhs, -np.inf)
    ub = np.where(v, rhs, np.inf)
    m.add_constraints("outage/battery_soc_balance", (nb * K, D),
                      [(soc.idx, 1.0), (prev_in_time(soc.idx), -keep),
                       (first_plan, -keep), (ch.idx, -col("charge_efficiency")),
                       (dis.idx, 1.0 / col("discharge_efficiency"))], lb=lb, ub=ub)
    site_of = np.array([pos[items[j][0]] for j in sel])
    brow = (np.repeat(site_of, K) * K + k_of)[:, None] * D + np.arange(D)[None, :]
    bal.append((dis.idx, 1.0, brow))
    bal.append((ch.idx, -1.0, brow))
    return {"names": [b.name for b in bats], "n": nb, "site": site_of, "plan_rows": sel}


def _add_gensets(f: Formulation, L: dict, n_i: int, valid: np.ndarray, hour: np.ndarray,
                 bal: list, priced) -> dict[str, Any] | None:
    """Gensets with a continuous commitment in every scenario; fuel priced and bounded by
    the plan's stock at the start (``genset/fuel_stock_mwh_th``: one row per entry with a
    stock, in site order)."""
    entries = [(s, g) for s, sd in enumerate(f.data.sites) for g in sd.site.gensets]
    pos = {int(s): i for i, s in enumerate(L["sites"])}
    sel = [e for e, (s, _) in enumerate(entries) if s in pos]
    if not sel:
        return None
    m, T, K, D = f.model, f.T, L["K"], L["D"]
    gens = [entries[e][1] for e in sel]
    ne = len(gens)
    rep = lambda x: np.repeat(np.asarray(x, np.float64), K)[:, None]
    N = rep([g.units for g in gens])
    pmin, pmax = rep([g.min_power_mw for g in gens]), rep([g.max_power_mw for g in gens])
    v = np.tile(L["valid"], (ne, 1))
    hr = np.tile(L["hour"], (ne, 1))
    c = m.add_variables("outage/genset_units_on", (ne * K, D), ub=N * v)
    p = m.add_variables("outage/genset_power_mw", (ne * K, D), ub=N * pmax * v)
    m.add_constraints("outage/genset_min_power", (ne * K, D), [(p.idx, 1.0), (c.idx, -pmin)],
                      lb=0.0)
    m.add_constraints("outage/genset_max_power", (ne * K, D), [(p.idx, 1.0), (c.idx, -pmax)],
                      ub=0.0)
    fuel = m.add_variables("outage/genset_fuel_mwh_th", (ne * K, D))
    lines = [g.fuel_lines() for g in gens]
    nseg = max(a.size for a, _ in lines)
    a_k = np.zeros((ne, nseg))
    b_k = np.zeros((ne, nseg))
    for j, (a, b) in enumerate(lines):  # pad with a copy of the first line (a duplicate row)
        a_k[j], b_k[j] = a[0], b[0]
        a_k[j, :a.size], b_k[j, :b.size] = a, b
    a3 = np.repeat(a_k, K, axis=0)[:, None, :]             # (ne K, 1, nseg)
    b3 = np.repeat(b_k, K, axis=0)[:, None, :]
    shape3 = (ne * K, D, nseg)
    m.add_constraints(
        "outage/genset_fuel_curve", shape3,
        [(np.broadcast_to(fuel.idx[:, :, None], shape3), 1.0),
         (np.broadcast_to(c.idx[:, :, None], shape3), -a3),
         (np.broadcast_to(p.idx[:, :, None], shape3), -b3)], lb=0.0)
    price = np.array([full(g.fuel_price_per_mwh_th, T) for g in gens])   # (ne, T)
    k_of = np.tile(np.arange(K), ne)
    site_of = np.array([pos[entries[e][0]] for e in sel])
    row = np.repeat(site_of, K) * K + k_of                 # balance row of each genset row
    gen_of = np.repeat(np.arange(ne), K)
    priced("outage_fuel", fuel.idx, np.where(v, price[gen_of[:, None], hr], 0.0), row)
    carbon = _carbon_per_mwh_th(f, gens)                       # (ne,)
    if np.any(carbon):
        priced("outage_carbon", fuel.idx, np.where(v, carbon[gen_of][:, None], 0.0), row)
    bal.append((p.idx, 1.0, row[:, None] * D + np.arange(D)[None, :]))
    # the plan's fuel stock at the start bounds the outage's fuel
    stocked_all = [e for e, (_, g) in enumerate(entries) if g.fuel_stock_mwh_th is not None]
    rank = {e: r for r, e in enumerate(stocked_all)}
    st = [j for j, e in enumerate(sel) if e in rank]
    if st:
        plan = f.model.var_groups["genset/fuel_stock_mwh_th"].idx    # (G, T)
        rows_j = np.repeat(np.array(st), K)                          # genset (of sel) per row
        k_st = np.tile(np.arange(K), len(st))
        start = L["k_start"][k_st]
        fuel_rows = rows_j * K + k_st
        plan_col = np.full(rows_j.size, -1, dtype=np.int64)
        later = start > 0
        g_rank = np.array([rank[sel[j]] for j in rows_j])
        plan_col[later] = plan[g_rank[later], start[later] - 1]
        ub = np.where(later, 0.0, np.array([gens[j].fuel_stock_mwh_th for j in rows_j]))
        m.add_constraints("outage/genset_fuel_stock", rows_j.size,
                          [(fuel.idx[fuel_rows], 1.0), (plan_col, -1.0)], ub=ub)
    return {"names": [g.name for g in gens], "n": ne, "site": site_of, "gens": gens,
            "entry": sel, "rank": rank}


def _carbon_per_mwh_th(f: Formulation, gens: list) -> np.ndarray:
    """The carbon price of each genset's fuel [per MWh_th]: the policy's carbon price times
    its emission factor (as for the plan's fuel in the genset component)."""
    carbon_price = f.data.scenario.policy.carbon_price_per_t or 0.0
    return carbon_price * np.array([g.emission_kg_per_mwh_th for g in gens], float) / 1000.0


def _add_restarts(f: Formulation, L: dict, priced) -> tuple | None:
    """Expected restart energy of the jobs an outage scenario pauses (jobs component,
    ``restart_energy_mwh``): for row ``k`` (start ``s``, duration ``d``) and a preemptible
    job ``j`` at its site whose window holds hour ``s - 1`` and goes on past ``b = s + d``
    (``b < T``: no wrap), ``R_j p[j, s - 1] / Pmax_j`` IT MWh drawn at hour ``b``, bought at
    that hour's import price times PUE (the grid is back then). Returns ``(cols, coef, row)``
    of the cost, or None."""
    jobs, jm = f.data.jobs, f.meta.get("job")
    if jm is None or not np.any(jobs.restart_mwh > 0):
        return None
    T, K = f.T, L["K"]
    p = f.model.var_groups["job/power_mw"].idx
    first = np.searchsorted(jm["job_of"], np.arange(len(jobs.names)))   # entries are by job
    cols, coef, rows = [], [], []
    for i, s_pos in enumerate(L["sites"].tolist()):
        sd = f.data.sites[s_pos]
        price = sd.grid_import_price if np.size(sd.grid_import_price) else np.zeros(T)
        js = np.flatnonzero((jobs.site == s_pos) & (jobs.restart_mwh > 0) & jobs.preemptible)
        for k in range(K):
            s, b = int(L["k_start"][k]), int(L["k_start"][k] + L["k_dur"][k])
            if s == 0 or b >= T:      # nothing ran before it, or no hour back in the horizon
                continue
            ok = js[(jobs.release[js] <= s - 1) & (b < jobs.deadline[js])]
            cols.extend(p[first[ok] + (s - 1 - jobs.release[ok])].tolist())
            coef.extend((jobs.restart_mwh[ok] / jobs.max_power_mw[ok]
                         * sd.pue[b] * price[b]).tolist())
            rows.extend([i * K + k] * ok.size)
    if not cols:
        return None
    out = (np.array(cols, np.int64)[:, None], np.array(coef)[:, None], np.array(rows, np.int64))
    priced("outage_restart", *out)
    return out


def survival_cap_h(T: int, longest: int) -> int:
    """The longest survival the simulation looks for: a week, the longest outage if longer,
    never beyond the horizon."""
    return min(T, max(longest, _SURVIVAL_CAP_H))


def _survival(f: Formulation, x: np.ndarray, L: dict, A: dict, meta: dict) -> np.ndarray:
    """Greedy survival hours ``(n_sites, n_starts)`` from the plan's state at each start
    (module docstring)."""
    T = f.T
    D = survival_cap_h(T, L["D"])
    starts = L["starts"]
    n_i, n0 = L["sites"].size, starts.size
    val = lambda name: x[f.model.var_groups[name].start:][
        :f.model.var_groups[name].size].reshape(f.model.var_groups[name].shape)
    items = [(s, b) for s, sd in enumerate(f.data.sites) for b in sd.site.batteries]
    bm = meta["battery"]
    gm = meta["genset"]
    out = np.zeros((n_i, n0))
    for i in range(n_i):
        hours = (starts[:, None] + np.arange(D)[None, :]) % T       # (n0, D)
        need = A["crit"][i][hours]
        ren = A["ren"][i][hours]
        gen_cap = np.zeros((n0, D))
        stock = []  # (fuel per MWh, remaining fuel (n0,)) per stocked genset at this site
        if gm is not None:
            for j, g in enumerate(gm["gens"]):
                if gm["site"][j] != i:
                    continue
                a, b = g.fuel_lines()
                rate = float(np.max(a / g.max_power_mw + b))  # fuel per MWh at c = p / Pmax
                cap = g.units * g.max_power_mw
                if g.fuel_stock_mwh_th is None:
                    gen_cap += cap
                else:
                    plan_stock = val("genset/fuel_stock_mwh_th")[gm["rank"][gm["entry"][j]]]
                    left = np.where(starts > 0, plan_stock[np.maximum(starts - 1, 0)],
                                    g.fuel_stock_mwh_th)
                    stock.append((cap, rate, left.astype(np.float64)))
        bats = []
        if bm is not None:
            soc_plan = val("battery/soc_mwh")
            for j, row in enumerate(bm["plan_rows"]):
                if bm["site"][j] != i:
                    continue
                b = items[row][1]
                soc0 = b.initial_soc_fraction * b.energy_mwh
                soc = np.where(starts > 0, soc_plan[row, np.maximum(starts - 1, 0)], soc0)
                bats.append([b, soc.astype(np.float64)])
        alive = np.ones(n0, bool)
        surv = np.zeros(n0)
        for tau in range(D):
            deficit = need[:, tau] - ren[:, tau]
            spare = gen_cap[:, tau].copy()       # generation left for charging
            use = np.minimum(np.maximum(deficit, 0.0), spare)
            deficit -= use
            spare -= use
            surplus = np.maximum(-deficit, 0.0) + spare
            deficit = np.maximum(deficit, 0.0)
            # the batteries before the gensets with a tank: stored energy leaks (self
            # discharge), fuel in a tank does not
            for bat in bats:
                b, soc = bat
                soc *= 1.0 - b.self_discharge_per_h
                can = np.minimum(b.discharge_power_mw,
                                 np.maximum(soc - b.soc_min_fraction * b.energy_mwh, 0.0)
                                 * b.discharge_efficiency)
                d = np.minimum(deficit, can)
                soc -= d / b.discharge_efficiency
                deficit -= d
                room = np.maximum(b.soc_max_fraction * b.energy_mwh - soc, 0.0)
                c = np.minimum(surplus, np.minimum(b.charge_power_mw, room / b.charge_efficiency))
                soc += c * b.charge_efficiency
                surplus -= c
            for cap, rate, left in stock:
                g_use = np.minimum(deficit, np.minimum(cap, left / rate))
                left -= g_use * rate
                deficit -= g_use
            n = need[:, tau]
            short = deficit > _SHORT_TOL * np.maximum(n, 1.0)
            frac = np.where(n > 0, 1.0 - deficit / np.where(n > 0, n, 1.0), 1.0)
            surv += np.where(alive, np.where(short, frac, 1.0), 0.0)
            alive &= ~short
        out[i] = surv
    return out


def _lp_survival(r: Extraction, L: dict, A: dict) -> np.ndarray:
    """Hours the critical load lasts in the LP's dispatch of the longest outage of each
    start ``(n_sites, n_starts)``: the first hour with critical unserved energy plus the
    share served in it (the whole duration if none)."""
    K, D = L["K"], L["D"]
    n_i = L["sites"].size
    longest = np.flatnonzero(L["k_dur"] == L["D"])             # one per start, in order
    uc = r.val("outage/unserved_critical_mw").reshape(n_i, K, D)[:, longest]
    need = A["crit"][:, L["hour"][longest]]                    # (n_i, n0, D)
    short = uc > _SHORT_TOL * np.maximum(need, 1.0)
    first = np.where(short.any(axis=2), short.argmax(axis=2), D)
    at = np.minimum(first, D - 1)[..., None]
    u_at = np.take_along_axis(uc, at, axis=2)[..., 0]
    n_at = np.take_along_axis(need, at, axis=2)[..., 0]
    frac = np.where(n_at > 0, 1.0 - u_at / np.where(n_at > 0, n_at, 1.0), 1.0)
    return np.where(first < D, first + frac, float(D))


def extract(r: Extraction) -> None:
    """The ``outages`` table (one row per site, start and duration) and the KPIs:
    expected unserved energy by tier and cost of one outage, survival hours."""
    import pandas as pd

    meta = r.f.meta.get("outages")
    if meta is None:
        return
    f, L, A = r.f, meta["L"], meta["A"]
    K, D = L["K"], L["D"]
    n_i = L["sites"].size
    uc = r.val("outage/unserved_critical_mw").reshape(n_i, K, D).sum(axis=2)
    us = (r.val("outage/unserved_sheddable_mw").reshape(n_i, K, D).sum(axis=2)
          if meta["has_shed"] else np.zeros((n_i, K)))
    fuel_cost = np.zeros((n_i, K))
    gen = np.zeros((n_i, K))
    gm = meta["genset"]
    if gm is not None:
        T = f.T
        p = r.val("outage/genset_power_mw").reshape(gm["n"], K, D)
        fu = r.val("outage/genset_fuel_mwh_th").reshape(gm["n"], K, D)
        carbon = _carbon_per_mwh_th(f, gm["gens"])
        for j, g in enumerate(gm["gens"]):
            price = (full(g.fuel_price_per_mwh_th, T)[L["hour"]] + carbon[j]) * L["valid"]
            fuel_cost[gm["site"][j]] += (fu[j] * price).sum(axis=1)
            gen[gm["site"][j]] += p[j].sum(axis=1)
    cost = (uc * A["v_crit"][:, None] + us * A["v_shed"][:, None] + fuel_cost)
    if meta["restart"] is not None:
        cols, coef, row = meta["restart"]
        np.add.at(cost.reshape(-1), row, (r.x[cols] * coef).ravel())
    # survival: the longer of two dispatches that are both possible from the plan's state,
    # the greedy simulation and the LP's own dispatch of the longest outage at each start
    surv = np.maximum(_survival(f, r.x, L, A, meta), _lp_survival(r, L, A))   # (n_i, n0)
    k_pos = L["k_start_pos"]
    w = L["w_start"][k_pos] * L["k_prob"]                      # probability of each scenario
    names = r.site_names
    rows = {
        "site": np.repeat([names[s] for s in L["sites"]], K),
        "start_h": np.tile(L["k_start"], n_i),
        "time": np.tile(f.data.index[L["k_start"]], n_i),
        "duration_h": np.tile(L["k_dur"], n_i),
        "probability": np.tile(w, n_i),
        "unserved_critical_mwh": uc.ravel(), "unserved_sheddable_mwh": us.ravel(),
        "genset_mwh": gen.ravel(), "cost": cost.ravel(),
        "survival_h": surv[:, k_pos].ravel(),
    }
    r.tables["outages"] = pd.DataFrame(rows)
    o = L["o"]
    r.kpis["outage_expected_unserved_critical_mwh"] = float((uc * w).sum())
    r.kpis["outage_expected_unserved_sheddable_mwh"] = float((us * w).sum())
    r.kpis["outage_expected_cost"] = float((cost * w).sum())
    per_start = (cost * L["k_prob"]).reshape(n_i, -1, L["nd"]).sum(axis=2).sum(axis=0)
    r.kpis["outage_worst_start_cost"] = float(per_start.max())
    r.kpis["survival_h_min"] = float(surv.min())
    r.kpis["survival_h_mean"] = float(surv.mean())
    r.kpis["min_survival_h"] = float(o.min_survival_h)


COMPONENT = Component(name="outages", check=check, add=add, extract=extract)
