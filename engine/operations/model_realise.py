"""Realising the committed hours of the model windows against the actual data, and the
realised run's cost: the horizon's model at the realised decisions
(:mod:`engine.operations.model_window` says what is realised how)."""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Optional

import numpy as np
import pandas as pd

from engine.operations.guide import monthly_cost
from engine.operations.model_data import _FIXED, _RELAXED, _solve
from engine.operations.result import RollingResult
from engine.results import extract
from engine.status import Status

log = logging.getLogger(__name__)


class _ModelRealiser:
    """Realisation and result (a mixin of
    :class:`~engine.operations.model_window.ModelWindowRun`)."""

    # ------------------------------------------------------------------ realisation
    def _realise(self, info: dict, plan: Optional[dict]) -> None:
        data, r = self.data, self.r
        o = info["o"]
        c = min(self.step, info["n"])
        jobs = data.jobs
        S, B = self.S, len(self.bats)
        if plan is None:  # idle: started runs go on, nothing else is decided
            plan = {"c": c, "ch": np.zeros((B, c)), "dis": np.zeros((B, c)),
                    "soc": np.repeat(self.soc[:, None], c, axis=1),
                    "hydro": np.zeros((r["hydro"].shape[0], c)),
                    "peak": np.full((self.grid_site.size, c), np.inf), "job": np.zeros((self.J, c)),
                    "exp": np.zeros((self.grid_site.size, c)), "curt": np.zeros((S, c))}
            for j in np.flatnonzero(self.run_start >= 0):
                s0, d = int(self.run_start[j]), int(jobs.duration_h[j])
                for t in range(c):
                    h = o + t
                    if s0 <= h < s0 + d:
                        plan["job"][j, t] = (jobs.last_power_mw[j] if h == s0 + d - 1
                                             else jobs.max_power_mw[j])
            if self.n_gen:
                for key in ("gu", "gv", "gw", "gp"):
                    plan[key] = np.zeros((self.n_gen, c))
                plan["gu"][:] = r["gu"][:, o - 1:o] if o else self.R["u0"][:, None]
                plan["gp"][:] = (np.maximum(r["gp"][:, o - 1:o], self.R["pmin"][:, None]
                                            * plan["gu"]) if o else self.R["pmin"][:, None]
                                 * plan["gu"])
        pv_i = w_i = h_i = 0
        site_assets = []
        for sd in data.sites:
            n_pv, n_w, n_h = len(sd.site.pv), len(sd.site.wind), len(sd.site.hydro)
            site_assets.append((np.arange(pv_i, pv_i + n_pv), np.arange(w_i, w_i + n_w),
                                np.arange(h_i, h_i + n_h)))
            pv_i, w_i, h_i = pv_i + n_pv, w_i + n_w, h_i + n_h
        act_pv = np.array([y for sd in data.sites for y in sd.pv_avail_mw]).reshape(-1, self.T)
        act_w = np.array([y for sd in data.sites for y in sd.wind_avail_mw]).reshape(-1, self.T)
        hmin = np.array([y for sd in data.sites for y in sd.hydro_min_mw]).reshape(-1, self.T)
        hmax = np.array([y for sd in data.sites for y in sd.hydro_max_mw]).reshape(-1, self.T)
        penalty = data.scenario.policy.curtailment_penalty_per_mwh
        on_fc = o >= self.warmup and self.forecaster != "perfect"
        for t in range(c):
            h = o + t
            # jobs: cut pro rata to the actual IT headroom (started runs are not cut)
            jp = plan["job"][:, t].copy()
            for s, sd in enumerate(data.sites):
                at = jobs.site == s
                if not at.any():
                    continue
                head = float(np.broadcast_to(sd.it_capacity_mw, (self.T,))[h]
                             - sd.inflexible_it_mw[h])
                fixed = at & ~jobs.preemptible
                flex = at & jobs.preemptible
                room = max(head - jp[fixed].sum(), 0.0)
                tot = jp[flex].sum()
                if tot > room + 1e-9:
                    jp[flex] *= room / tot
            r["job"][:, h] = jp
            for s, sd in enumerate(data.sites):
                pvs, ws, hs = site_assets[s]
                it = sd.inflexible_it_mw[h] + jp[jobs.site == s].sum()
                fac = sd.pue[h] * it
                hyd = np.clip(plan["hydro"][hs, t], hmin[hs, h], hmax[hs, h])
                r["hydro"][hs, h] = hyd
                gen_rows = np.flatnonzero(self.R["site"] == s) if self.n_gen else np.zeros(0, int)
                if self.n_gen:
                    for key in ("gu", "gv", "gw", "gp"):
                        r[key][gen_rows, h] = plan[key][gen_rows, t]
                gen = float(r["gp"][gen_rows, h].sum()) if gen_rows.size else 0.0
                bi = [i for i, _ in self._site_bats(s)]
                ch = np.array([plan["ch"][i, t] for i in bi])
                dis = np.array([plan["dis"][i, t] for i in bi])
                bl = [self.bats[i][1] for i in bi]
                # within the SOC the battery actually holds
                for q, b in enumerate(bl):
                    keep = 1.0 - b.self_discharge_per_h
                    lo, hi = b.soc_min_fraction * b.energy_mwh, b.soc_max_fraction * b.energy_mwh
                    base = self.soc[bi[q]] * keep
                    dis[q] = min(dis[q], max(base - lo, 0.0) * b.discharge_efficiency)
                    # a battery that self-discharge took below its minimum (after a real-
                    # time deviation below the plan) charges back to it
                    ch[q] = max(ch[q], min((lo - base) / b.charge_efficiency,
                                           b.charge_power_mw))
                    ch[q] = min(ch[q], max(hi - base + dis[q] / b.discharge_efficiency, 0.0)
                                / b.charge_efficiency)
                ren = float(act_pv[pvs, h].sum() + act_w[ws, h].sum())
                net = fac + ch.sum() - dis.sum() - gen - hyd.sum() - ren
                gi = np.flatnonzero(self.grid_site == s)
                grid = sd.site.grid
                imp_cap = (grid.import_max_mw * self.g_up[gi[0], h]) if gi.size else 0.0
                exp_cap = (grid.export_max_mw * self.g_up[gi[0], h]) if gi.size else 0.0
                target = min(float(plan["peak"][gi[0], t]), imp_cap) if gi.size else 0.0
                excess = max(net - target, 0.0)
                for q, b in enumerate(bl):  # peak shaving: charge less, then discharge more
                    if excess <= 1e-12:
                        break
                    # with a survival rule, not below the window's planned SOC (which carries
                    # the outages it saw); else not below the minimum
                    d = self._cover_from_battery(b, q, bi, plan, t, ch, dis, excess)
                    d += self._shift_discharge(b, q, bi, plan, t, ch, dis, excess - d, gi)
                    excess -= d
                    net -= d
                if excess > 1e-9 and self.defer_jobs:
                    # load deferral: preemptible job power, as far as each job can still
                    # finish after this hour at defer_share of its maximum power
                    # (the step's later hours are committed: only the windows after it
                    # can catch up)
                    for j in np.flatnonzero((jobs.site == s) & jobs.preemptible & (jp > 0)):
                        left = max(int(jobs.deadline[j]) - (o + c), 0)
                        spare = (self.defer_share * jobs.max_power_mw[j] * left
                                 - (self.remaining[j] - jp[j] - plan["job"][j, t + 1:].sum()))
                        d = max(min(jp[j], excess / sd.pue[h], spare), 0.0)
                        jp[j] -= d
                        excess -= d * sd.pue[h]
                        net -= d * sd.pue[h]
                        fac -= d * sd.pue[h]
                        if excess <= 1e-9:
                            break
                    r["job"][:, h] = jp
                if net > 1e-9 and gi.size and self.settle_deficit and "imp" in plan:
                    net = self._settle_deficit(plan, t, s, h, bi, bl, ch, dis, net,
                                               float(plan["imp"][gi[0], t]))
                imp = exp = uns = 0.0
                used_ren = ren
                if net > 0:
                    imp = min(net, imp_cap)
                    uns = net - imp
                else:
                    surplus = -net
                    # a surprise surplus (beyond the planned export) is stored: discharge
                    # less, then charge more (with perfect forecasts there is none)
                    # the planned export too (store_planned_export): it was planned on
                    # forecast renewables whose surplus later in the window may not come
                    # (exported at 150 at 10:00, bought back at 180 or 650 later); not
                    # in windows on actual data, whose plan is the optimum's
                    planned = ((float(plan["exp"][gi[0], t]) if gi.size
                                and not (self.store_planned_export and on_fc) else 0.0)
                               + float(plan["curt"][s, t]))
                    extra = max(surplus - planned, 0.0) if self.store_surplus else 0.0
                    for q, b in enumerate(bl):
                        if extra <= 1e-12:
                            break
                        d = min(dis[q], extra)
                        dis[q] -= d
                        extra -= d
                        surplus -= d
                        keep = 1.0 - b.self_discharge_per_h
                        hi = b.soc_max_fraction * b.energy_mwh
                        end = (self.soc[bi[q]] * keep + b.charge_efficiency * ch[q]
                               - dis[q] / b.discharge_efficiency)
                        d = min(max(b.charge_power_mw - ch[q], 0.0), extra,
                                max(hi - end, 0.0) / b.charge_efficiency)
                        ch[q] += d
                        extra -= d
                        surplus -= d
                    if gi.size and self.g_export[gi[0], h] > -penalty:
                        exp = min(surplus, exp_cap)
                    used_ren = ren - (surplus - exp)
                    if used_ren < -1e-9:  # not even curtailing all: discharge less
                        d = -used_ren
                        for q in range(len(bl)):
                            dd = min(dis[q], d)
                            dis[q] -= dd
                            d -= dd
                        used_ren = max(used_ren, 0.0)
                scale = used_ren / ren if ren > 0 else 0.0
                r["pv"][pvs, h] = act_pv[pvs, h] * scale
                r["wind"][ws, h] = act_w[ws, h] * scale
                if gi.size:
                    r["imp"][gi[0], h] = imp
                    r["exp"][gi[0], h] = exp
                    m = int(data.month[h])
                    self.peak[gi[0], m] = max(self.peak[gi[0], m], imp)
                crit = (sd.pue[h] * sd.critical_it_mw[h]) if getattr(sd, "tiered", False) else 0.0
                shed = min(uns, max(fac - crit, 0.0))
                r["unserved"][s, h] = shed
                r["unserved_critical"][s, h] = uns - shed
                for q, b in enumerate(bl):
                    i = bi[q]
                    keep = 1.0 - b.self_discharge_per_h
                    self.soc[i] = (self.soc[i] * keep + b.charge_efficiency * ch[q]
                                   - dis[q] / b.discharge_efficiency)
                    r["ch"][i, h], r["dis"][i, h], r["soc"][i, h] = ch[q], dis[q], self.soc[i]
                if self.annual_green:
                    fossil = gen + uns
                    if gi.size:
                        fossil += imp * (1.0 - self.g_clean[gi[0], h])
                    self.bank += (1.0 - self.alpha) * fac - fossil
            # fuel on the curve, the stocks
            if self.n_gen:
                fuel = np.zeros(self.n_gen)
                for ent, (a_k, b_k) in enumerate(self.f.meta["genset"]["lines"]):
                    sel = self.R["entry"] == ent
                    fuel[sel] = np.maximum(np.max(a_k[:, None] * r["gu"][sel, h]
                                                  + b_k[:, None] * r["gp"][sel, h], axis=0), 0.0)
                for ent, (_, g) in enumerate(self.R["entries"]):
                    if g.fuel_stock_mwh_th is None:
                        continue
                    dlv = sum(d.fuel_mwh_th for d in g.fuel_deliveries if d.hour == h)
                    self.stock[ent] += dlv - fuel[self.R["entry"] == ent].sum()
                    r["stock"][ent, h] = self.stock[ent]
            # job progress: energy, or work on the throughput hull for a capped job
            for j in range(self.J):
                if jobs.full_power_mw[j] > 0:
                    fp = jobs.full_power_mw[j]
                    wk = min(float(np.min(jobs.cap_a[j] * fp + jobs.cap_b[j] * jp[j])), fp)
                    wk = max(wk, 0.0)
                    r["work"][j, h] = wk
                    self.remaining[j] -= wk
                else:
                    self.remaining[j] -= jp[j]

    def _settle_deficit(self, plan: dict, t: int, s: int, h: int, bi: list, bl: list,
                        ch: np.ndarray, dis: np.ndarray, net: float, planned: float) -> float:
        """Settle a surprise deficit (import beyond the window's plan) from the battery
        before the grid: charge less, then discharge more, while the hour's actual import
        price beats refilling later at the cheapest price the window expects after it
        (through both efficiencies, with the degradation of the round trip), and not below
        the SOC the window plans for the hour with a survival rule (that trajectory carries
        the outage starts the window saw), else not below the minimum.
        ``ch``/``dis`` are updated in place; returns the net load left."""
        price = float(self.data.sites[s].grid_import_price[h])
        refill = float(plan["refill"][s, t])
        extra = net - max(planned, 0.0)
        if extra <= 1e-12:
            return net
        for q, b in enumerate(bl):
            if extra <= 1e-12:
                break
            rt = b.charge_efficiency * b.discharge_efficiency
            if price <= refill / rt + 2.0 * b.degradation_cost_per_mwh:
                continue
            # with a survival rule, not below the real-time floor (the planned SOC less the
            # next outage start's slack, model_window._soc_floor; the window's lowest
            # planned SOC, tried first, left starts short: 5.6 h of 8)
            d = self._cover_from_battery(b, q, bi, plan, t, ch, dis, extra)
            extra -= d
            net -= d
        return net

    def _shift_discharge(self, b, q: int, bi: list, plan: dict, t: int, ch: np.ndarray,
                         dis: np.ndarray, need: float, gi: np.ndarray) -> float:
        """Shave up to ``need`` MW of import above the peak target in hour ``t`` by moving
        battery ``q``'s planned discharge of later hours of the step to now, where no
        outage start is reachable from ``t`` (``plan["shift_ok"]``; the floor there is the
        planned SOC, which then carries only the window's own later discharge and its
        terminal SOC: the horizon's last hours). The SOC runs lower by the moved energy
        until that later hour and on the plan after it; that hour imports the moved power
        instead, up to its peak target. Used for the peak only: moving discharge for a
        surprise deficit at a dearer hour (price alone) raised the later hours' import
        above the target (microgrid week, 72-h warm-up: peak 9.6 MW against 8.1).
        Updates ``ch``/``dis`` and the plan's later discharge, import, SOC and floor;
        returns the MW covered."""
        ok = plan.get("shift_ok")
        if need <= 1e-12 or ok is None or not ok[t] or not gi.size:
            return 0.0
        g, i = gi[0], bi[q]
        lo = b.soc_min_fraction * b.energy_mwh
        keep = 1.0 - b.self_discharge_per_h
        end = (self.soc[i] * keep + b.charge_efficiency * ch[q]
               - dis[q] / b.discharge_efficiency)
        room = min(max(b.discharge_power_mw - dis[q], 0.0),
                   max(end - lo, 0.0) * b.discharge_efficiency)
        got = 0.0
        for u in range(t + 1, plan["c"]):
            if got >= need - 1e-12 or room <= 1e-12:
                break
            head = max(float(plan["peak"][g, u]) - float(plan["imp"][g, u]), 0.0)
            # the planned path until u stays above the minimum, lower by x / eta_d
            path = (float(plan["soc"][i, t:u].min()) - lo) * b.discharge_efficiency
            x = min(float(plan["dis"][i, u]), head, need - got, room, max(path, 0.0))
            if x <= 1e-12:
                continue
            plan["dis"][i, u] -= x
            plan["imp"][g, u] += x
            lower = x / b.discharge_efficiency
            plan["soc_floor"][i, t:u] -= lower
            plan["soc"][i, t:u] -= lower
            got += x
            room -= x
        dis[q] += got
        return got

    def _cover_from_battery(self, b, q: int, bi: list, plan: dict, t: int, ch: np.ndarray,
                            dis: np.ndarray, need: float) -> float:
        """Cover up to ``need`` MW from battery ``q`` in hour ``t`` of the step: charge less
        first, then discharge more, never below its floor (with a survival rule the
        window's real-time floor ``plan["soc_floor"]``, the planned SOC less the next
        outage start's slack, :meth:`ModelWindowRun._soc_floor`; else its minimum).
        Updates ``ch``/``dis``; returns the MW covered."""
        keep = 1.0 - b.self_discharge_per_h
        lo = max(b.soc_min_fraction * b.energy_mwh,
                 float(plan.get("soc_floor", plan["soc"])[bi[q], t]) if self.survival
                 else 0.0)
        end = (self.soc[bi[q]] * keep + b.charge_efficiency * ch[q]
               - dis[q] / b.discharge_efficiency)
        drop = max(end - lo, 0.0)
        less = min(ch[q], need, drop / b.charge_efficiency)
        ch[q] -= less
        drop -= b.charge_efficiency * less
        more = min(max(b.discharge_power_mw - dis[q], 0.0), need - less,
                   drop * b.discharge_efficiency)
        dis[q] += more
        return less + more

    # ------------------------------------------------------------------ result
    def _realised_x(self, f=None) -> np.ndarray:
        f = self.f if f is None else f
        vg = f.model.var_groups
        x = np.zeros(f.model.n_cols)
        r = self.r

        def put(name: str, values) -> None:
            if name in vg:
                g = vg[name]
                x[g.start:g.start + g.size] = np.asarray(values).reshape(-1)

        for name, key in (("pv/power_mw", "pv"), ("wind/power_mw", "wind"),
                          ("hydro/power_mw", "hydro"), ("battery/charge_mw", "ch"),
                          ("battery/discharge_mw", "dis"), ("battery/soc_mwh", "soc"),
                          ("grid/import_mw", "imp"), ("grid/export_mw", "exp"),
                          ("genset/units_on", "gu"), ("genset/starts", "gv"),
                          ("genset/stops", "gw"), ("genset/power_mw", "gp"),
                          ("bus/unserved_mw", "unserved"),
                          ("bus/unserved_critical_mw", "unserved_critical")):
            put(name, r[key])
        if "job/power_mw" in vg:
            meta = f.meta["job"]
            put("job/power_mw", r["job"][meta["job_of"], meta["t_of"]])
            if "job/work_mwh" in vg:
                sel = meta["work"]["sel"]
                put("job/work_mwh", r["work"][meta["job_of"][sel], meta["t_of"][sel]])
        return x

    def evaluate(self) -> tuple[np.ndarray, dict]:
        """The horizon's model at the realised decisions (module docstring): the solution
        vector and what was relaxed."""
        f = self.f
        m = f.model
        a = m.arrays()
        xr = self._realised_x()
        lb, ub = a.col_lb.copy(), a.col_ub.copy()
        for name in _FIXED:
            if name in m.var_groups:
                g = m.var_groups[name]
                sl = slice(g.start, g.start + g.size)
                lb[sl] = xr[sl]
                ub[sl] = xr[sl]
        rlb, rub = a.row_lb.copy(), a.row_ub.copy()
        for name, g in m.con_groups.items():
            if name.startswith(_RELAXED):
                rlb[g.start:g.start + g.size] = -np.inf
                rub[g.start:g.start + g.size] = np.inf
        a2 = replace(a, col_lb=lb, col_ub=ub, row_lb=rlb, row_ub=rub)
        out = _solve(a2, self.options)
        notes = {"survival_met": True}
        if out.x is None and "policy/outage_survival" in m.con_groups:
            g = m.con_groups["policy/outage_survival"]
            rlb[g.start:g.start + g.size] = -np.inf
            rub[g.start:g.start + g.size] = np.inf
            out = _solve(replace(a2, row_lb=rlb, row_ub=rub), self.options)
            notes["survival_met"] = False
        if out.x is None:
            raise RuntimeError(f"the realised decisions do not satisfy the horizon's model "
                               f"({out.status}); a bug of the realisation")
        return out.x, notes

    def result(self) -> RollingResult:
        data, f = self.data, self.f
        x, notes = self.evaluate()
        parts = extract(f, x)
        windows = pd.DataFrame(self.records)
        months = pd.DataFrame({"realised": monthly_cost(f, x)})
        months.index.name = "month"
        bad = windows.loc[windows["status"] != "optimal", "origin_h"].tolist()
        kpis = parts["kpis"]
        jobs_df = parts["jobs"]
        jobs = data.jobs
        # late energy (work for a capped job, as its row counts it)
        done = np.where(jobs.full_power_mw > 0, self.r["work"].sum(axis=1),
                        self.r["job"].sum(axis=1))
        kpis["job_shortfall_mwh"] = float(np.maximum(jobs.energy_mwh - done, 0.0).sum())
        kpis["survival_met"] = bool(notes["survival_met"])
        if self.annual_green:
            kpis["green_floor_met"] = bool(self.bank >= -1e-6)
        costs = parts["costs"]
        sc = data.scenario
        return RollingResult(
            status=Status.OPTIMAL if not bad else Status.ERROR,
            objective=float(costs.sum()), costs=costs, kpis=kpis,
            hourly=parts["hourly"], jobs=jobs_df, job_power=parts["job_power"],
            demand_charges=parts["demand_charges"], timings={}, backend="highs",
            solver_status="rolling", iterations=int(windows["iterations"].sum()),
            diagnosis="" if not bad else (
                f"windows at origins {bad[:10]} had no solution; batteries, gensets and jobs "
                "were idle there"),
            scenario_name=sc.name, windows=windows, plans=pd.DataFrame(self.plan_records), months=months,
            settings={"window_h": self.W, "step_h": self.step, "forecaster": self._name,
                      "warmup_h": self.warmup, "job_value_per_mwh": self.job_value,
                      "history_h": 0 if self.history is None else int(self.history.shape[1]),
                      "green_penalty_per_mwh": self.green_penalty, "scenarios": self.K_model,
                      "price_known_h": int(self.known_h[self.series.price].max(initial=0)),
                      "plan": self.plan_mode,
                      "replan_h": self.replan_h if self.plan_mode else None,
                      "windows": "model",
                      "outage_renewable_quantile": self.outage_renewable_quantile,
                      "outage_lookback_d": self.outage_lookback_d})
