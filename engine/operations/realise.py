"""Committing the first hours of a window's plan and realising them against the actual
data: job power cut to the actual IT headroom, the battery's real-time deviation from its
schedule, then import / unserved energy and export / curtailment per site and hour."""
from __future__ import annotations

from typing import Optional

import numpy as np

from engine.operations.window import TOL as _TOL
from engine.operations.window import WindowInputs


def _add_at(out: np.ndarray, idx: np.ndarray, values) -> None:
    """``np.add.at(out, idx, values)`` along the first axis, row by row in the same order
    (the same sums; faster than the ufunc method for the few rows of a site layout)."""
    for i, r in enumerate(idx.tolist()):  # values: one row per index
        out[r] += values[i]


class _Realiser:
    """Realisation of :class:`engine.operations.controller._RollingRun` (a base class: it
    writes the run's realised arrays and carries SOC, job progress, peaks and green bank)."""

    # --------------------------------------------------------------------- realisation
    def realise(self, k: int, x: Optional[np.ndarray], inp: WindowInputs,
                soc_value: Optional[np.ndarray] = None) -> None:
        """Commit the first step hours of the plan ``x`` and realise them on actual data.

        ``soc_value`` (B, >= step), the value of a MWh stored in each battery in each hour
        (minus the window's SOC-balance duals), turns on the real-time battery policy of
        :func:`kernels.dispatch.battery_redispatch`: surprise surplus is stored where stored
        energy is worth more than its export, shortfalls are served from the battery where
        the import costs more than the stored energy is worth."""
        wm, o = self.wm, int(self.origins[k])
        n = min(self.step, self.T - o)
        hrs = slice(o, o + n)
        S = len(self.data.sites)
        B = len(wm.bats)
        if x is not None:
            val = lambda name: wm.value(x, name)[:, :n] if name in wm.g else None  # noqa: E731
            ch = np.clip(val("ch"), 0, None) if B else np.zeros((0, n))
            dis = np.clip(val("dis"), 0, None) if B else np.zeros((0, n))
            soc_plan = val("soc") if B else np.zeros((0, n))
            hydro = val("hydro") if "hydro" in wm.g else np.zeros((0, n))
            flex = (np.clip(val("flex"), 0, None) * (inp.slot_ub_mw[:, :n] > 0)
                    if "flex" in wm.g else np.zeros((0, n)))
        else:  # no plan: battery and jobs idle, hydro at its minimum
            ch = np.zeros((B, n))
            dis = np.zeros((B, n))
            soc_plan = None
            hydro = self.hmin[:, hrs].copy()
            flex = np.zeros((self.slot_site.size, n))
        # IT headroom with the actual inflexible load: cut job power pro rata
        inflex = self.act_inflex[:, hrs]
        pue = self.act_pue[:, hrs]
        flex_site = np.zeros((S, n))
        _add_at(flex_site, self.slot_site, flex)
        facility_fc = inp.pue[:, :n] * (inp.inflex_mw[:, :n] + flex_site)
        head = np.maximum(wm.it_cap[:, None] - inflex, 0.0)
        scale = np.divide(head, flex_site, out=np.ones_like(head), where=flex_site > head)
        flex = flex * scale[self.slot_site]
        flex_site = np.zeros((S, n))
        _add_at(flex_site, self.slot_site, flex)
        facility = pue * (inflex + flex_site)
        pv = self.act_pv[:, hrs]
        wind = self.act_wind[:, hrs]
        bal = self._balance(hrs, facility, hydro, ch, dis, pv, wind)
        realtime = x is not None and self.value_policy

        def surprise() -> np.ndarray:  # actual minus forecast renewables net of load
            dev = facility_fc - facility
            _add_at(dev, wm.pv_site, pv - inp.pv_avail_mw[:, :n])
            _add_at(dev, wm.wind_site, wind - inp.wind_avail_mw[:, :n])
            return dev

        marginal = self._marginal_values(hrs, S, n) if realtime else None
        if realtime and flex.size and self.realtime_jobs:
            new = self._jobs_realtime(o, n, flex, inflex, pue, surprise(), bal, hrs,
                                      inp.slot_ub_mw[:, :n], inp.slot_reward_per_mwh, marginal)
            if not np.array_equal(new, flex):
                flex = new
                flex_site = np.zeros((S, n))
                _add_at(flex_site, self.slot_site, flex)
                facility = pue * (inflex + flex_site)
                bal = self._balance(hrs, facility, hydro, ch, dis, pv, wind)
        G = wm.grid_site.size
        # import the plan allows in each hour: its monthly peak (with a demand charge), else the
        # import limit. Above that, the battery deviates from its schedule (charges less, then
        # discharges more) before the site sheds load or raises the month's peak
        cap = np.full((S, n), np.inf)
        if G:
            if wm.has_peak and x is not None:
                peak_plan = wm.value(x, "peak")  # (G, M)
                slot = np.maximum(inp.month_slot[:n], 0)
                cap[wm.grid_site] = np.minimum(peak_plan[:, slot] + 1e-9,
                                               wm.imax[:, None] * self.g_up[:, hrs])
            else:
                cap[wm.grid_site] = wm.imax[:, None] * self.g_up[:, hrs]
        else:
            cap[:] = 0.0
        over = bal["unserved"] + np.maximum(bal["imp"] - cap, 0.0)
        policy = soc_value is not None and B and soc_plan is not None
        if B and (policy or soc_plan is None or np.any(over > _TOL)
                  or np.any(bal["left"] > _TOL)):
            need = (over > _TOL) | (bal["left"] > _TOL)
            first = 0 if soc_plan is None or policy else int(np.argmax(need.any(axis=0)))
            dev = surprise() if policy else None
            ch, dis, soc_plan = self._redispatch_battery(
                hrs, facility, hydro, ch, dis, pv, wind, cap, soc_plan, first,
                soc_value[:, :n] if policy else None, dev, marginal)
            bal = self._balance(hrs, facility, hydro, ch, dis, pv, wind)
        if x is not None and flex.size and self.defer_jobs:
            over = bal["unserved"] + np.maximum(bal["imp"] - cap, 0.0)
            if np.any(over > _TOL):
                flex = self._defer_jobs(o, n, flex, over, pue)
                flex_site = np.zeros((S, n))
                _add_at(flex_site, self.slot_site, flex)
                facility = pue * (inflex + flex_site)
                bal = self._balance(hrs, facility, hydro, ch, dis, pv, wind)
        if B:
            self.soc = soc_plan[:, -1].copy()
        imp_s, exp_s, unserved = bal["imp"], bal["exp"], bal["unserved"]
        pv_r, wind_r = bal["pv"], bal["wind"]
        r = self.r
        r["pv"][:, hrs] = pv_r
        r["wind"][:, hrs] = wind_r
        r["hydro"][:, hrs] = hydro
        r["ch"][:, hrs] = ch
        r["dis"][:, hrs] = dis
        if B:
            r["soc"][:, hrs] = soc_plan
        r["unserved"][:, hrs] = unserved
        if G:
            # one grid per site: the site's import / export is its grid's
            r["imp"][:, hrs] = imp_s[wm.grid_site]
            r["exp"][:, hrs] = exp_s[wm.grid_site]
            m = self.data.month[hrs]
            for mm in np.unique(m):  # at most a couple of months per step
                self.peak[:, mm] = np.maximum(self.peak[:, mm],
                                              r["imp"][:, hrs][:, m == mm].max(axis=1))
        used = self.slot_job >= 0
        if used.any():
            jj = self.slot_job[used]
            r["job"][jj, hrs] = flex[used]
            self.remaining[jj] -= flex[used].sum(axis=1)
            np.maximum(self.remaining, 0.0, out=self.remaining)
        alpha = wm.alpha
        if alpha > 0 and wm.matching == "annual":
            fossil = float((r["imp"][:, hrs] * (1.0 - self.g_clean[:, hrs])).sum()) if G else 0.0
            self.bank += (1.0 - alpha) * float(facility.sum()) - fossil

    def _jobs_realtime(self, o: int, n: int, flex: np.ndarray, inflex: np.ndarray,
                       pue: np.ndarray, dev: np.ndarray, bal: dict, hrs: slice,
                       slot_ub: np.ndarray, value: np.ndarray,
                       marginal: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Real-time job power against surprises, hour by hour: a surprise surplus
        (``dev > 0``) that would be exported or curtailed runs jobs harder where a MWh of
        their IT energy is worth more (``value``, the window's terminal value of job energy)
        than the surplus it uses (``pue`` times its export value), within the slot's bound,
        the IT headroom and the job's remaining energy. With ``realtime_defer`` (off by
        default: on the Xining year the deferred energy was caught up at night and raised
        the month's peak), a surprise shortfall (``dev < 0``) imported at a cost above
        ``value / pue`` also defers job power as far as the job can still finish after the
        step at 90 % of its maximum power."""
        wm, jobs = self.wm, self.data.jobs
        S = pue.shape[0]
        imp_cost, exp_value = marginal
        flex = flex.copy()
        used = self.slot_job >= 0
        j = self.slot_job
        left = np.zeros(flex.shape[0])  # energy each slot may still add in the step
        allow = np.zeros(flex.shape[0])  # energy each slot may still defer
        left[used] = np.maximum(self.remaining[j[used]] - flex[used].sum(axis=1), 0.0)
        after = np.maximum(jobs.deadline[j[used]] - (o + n), 0)
        allow[used] = np.maximum(0.9 * jobs.max_power_mw[j[used]] * after
                                 - self.remaining[j[used]] + flex[used].sum(axis=1), 0.0)
        ren_cut = np.zeros((S, n))
        _add_at(ren_cut, wm.pv_site, self.act_pv[:, hrs] - bal["pv"])
        _add_at(ren_cut, wm.wind_site, self.act_wind[:, hrs] - bal["wind"])
        surplus = bal["exp"] + ren_cut + bal["left"]  # what leaves the site or is lost
        it_used = inflex.copy()
        _add_at(it_used, self.slot_site, flex)
        act = (dev > _TOL) & (surplus > _TOL)
        if self.realtime_defer:
            act |= (dev < -_TOL) & (bal["imp"] > _TOL)
        for s in range(S):
            ks = np.flatnonzero((self.slot_site == s) & used).tolist()
            if not ks:
                continue
            for t in np.flatnonzero(act[s]).tolist():  # hours with a surprise to act on
                d = dev[s, t]
                if d > _TOL and surplus[s, t] > _TOL:
                    spare = min(d, surplus[s, t]) / pue[s, t]  # IT MWh the surprise can run
                    for k in ks:
                        if value[k] <= exp_value[s, t] * pue[s, t] or spare <= _TOL:
                            continue
                        c = min(spare, slot_ub[k, t] - flex[k, t], left[k],
                                wm.it_cap[s] - it_used[s, t])
                        if c > _TOL:
                            flex[k, t] += c
                            left[k] -= c
                            it_used[s, t] += c
                            spare -= c
                elif self.realtime_defer and d < -_TOL and bal["imp"][s, t] > _TOL:
                    need = min(-d, bal["imp"][s, t]) / pue[s, t]
                    for k in ks:
                        if value[k] >= imp_cost[s, t] * pue[s, t] or need <= _TOL:
                            continue
                        c = min(need, flex[k, t], allow[k])
                        if c > _TOL:
                            flex[k, t] -= c
                            allow[k] -= c
                            it_used[s, t] -= c
                            need -= c
        return flex

    def _defer_jobs(self, o: int, n: int, flex: np.ndarray, over: np.ndarray,
                    pue: np.ndarray) -> np.ndarray:
        """Cut job power in the hours where the site still imports above the plan's peak (or
        sheds load), by the excess over PUE, as far as each job can still finish after the
        step at 90 % of its maximum power (the rest is done by later windows)."""
        jobs = self.data.jobs
        flex = flex.copy()
        used = self.slot_job >= 0
        allow = np.zeros(flex.shape[0])
        j = self.slot_job[used]
        after = np.maximum(jobs.deadline[j] - (o + n), 0)
        left = self.remaining[j] - flex[used].sum(axis=1)
        allow[used] = np.maximum(0.9 * jobs.max_power_mw[j] * after - left, 0.0)
        for t in np.flatnonzero((over > _TOL).any(axis=0)).tolist():  # a few hours per step
            for s in np.flatnonzero(over[:, t] > _TOL).tolist():
                need = over[s, t] / pue[s, t]
                for k in np.flatnonzero((self.slot_site == s) & (flex[:, t] > 0)).tolist():
                    c = min(flex[k, t], allow[k], need)
                    flex[k, t] -= c
                    allow[k] -= c
                    need -= c
                    if need <= _TOL:
                        break
        return flex

    def _redispatch_battery(self, hrs: slice, facility, hydro, ch, dis, pv, wind, cap,
                            soc_plan: Optional[np.ndarray], first: int,
                            soc_value: Optional[np.ndarray] = None,
                            dev: Optional[np.ndarray] = None,
                            marginal: Optional[tuple[np.ndarray, np.ndarray]] = None):
        """Battery through the committed hours: the schedule, except that it charges less and
        then discharges more (within power and SOC) where the site would otherwise import
        above ``cap`` or shed load, and discharges less where nobody can take the energy
        (export full, renewables fully curtailed); SOC kept at or above its minimum. Hours
        before ``first`` keep the plan. The hour-by-hour loop is the compiled kernel
        :func:`kernels.dispatch.battery_redispatch`. Returns charge, discharge, SOC (B, n)."""
        from kernels.dispatch import battery_redispatch

        wm = self.wm
        S, n = facility.shape
        base = np.zeros((S, n))  # supply other than batteries, minus facility load
        _add_at(base, wm.pv_site, pv)
        _add_at(base, wm.wind_site, wind)
        ren = base.copy()
        _add_at(base, wm.hydro_site, hydro)
        base -= facility
        imp_cap, exp_cap = self._grid_caps(hrs, S, n)
        soc = np.zeros_like(ch) if soc_plan is None else soc_plan
        imp_cost = exp_value = None
        if soc_value is not None:
            imp_cost, exp_value = (self._marginal_values(hrs, S, n) if marginal is None
                                   else marginal)
        return battery_redispatch(base, np.minimum(cap, imp_cap), exp_cap + ren, ch, dis, soc,
                                  self.soc, wm.bat_site, wm.bat_keep, wm.bat_eta_c, wm.bat_eta_d,
                                  wm.bat_soc_min, wm.bat_pch, wm.bat_pdis, first, soc_value,
                                  imp_cost, exp_value, wm.bat_soc_max, wm.bat_deg, dev)

    def _marginal_values(self, hrs: slice, S: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Actual cost of a MWh imported at each site and hour (price and carbon; the value
        of lost load where there is no grid or it is down) and value of a MWh of surplus
        (its export price where exporting is worth it, else minus the curtailment penalty)
        [currency/MWh], (S, n) each."""
        wm = self.wm
        imp_cost = np.full((S, n), float(wm.voll))
        exp_value = np.full((S, n), -float(wm.curt_penalty))
        if wm.grid_site.size:
            up = self.g_up[:, hrs] > 0
            price = self.g_price[:, hrs] + wm.carbon_price * self.g_ef[:, hrs] / 1000.0
            imp_cost[wm.grid_site] = np.where(up, price, wm.voll)
            ex = self.g_export[:, hrs]
            exp_value[wm.grid_site] = np.where(up & (ex > -wm.curt_penalty), ex,
                                               -wm.curt_penalty)
        return imp_cost, exp_value

    def _grid_caps(self, hrs: slice, S: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Import and export limits of each site in the hours ``hrs`` (0 in outages) [MW]."""
        wm = self.wm
        imp_cap = np.zeros((S, n))
        exp_cap = np.zeros((S, n))
        if wm.grid_site.size:
            up = self.g_up[:, hrs]
            _add_at(imp_cap, wm.grid_site, wm.imax[:, None] * up)
            _add_at(exp_cap, wm.grid_site, wm.emax[:, None] * up)
        return imp_cap, exp_cap

    def _balance(self, hrs: slice, facility, hydro, ch, dis, pv, wind) -> dict:
        """Close each site-hour: import then shed a shortfall; export (if worth it) then
        curtail a surplus. ``left`` is surplus that neither could absorb."""
        wm = self.wm
        S, n = facility.shape
        ren = np.zeros((S, n))
        _add_at(ren, wm.pv_site, pv)
        _add_at(ren, wm.wind_site, wind)
        firm = np.zeros((S, n))
        _add_at(firm, wm.hydro_site, hydro)
        _add_at(firm, wm.bat_site, dis - ch)
        deficit = facility - firm - ren  # > 0: import or shed; < 0: surplus
        imp_cap, exp_cap = self._grid_caps(hrs, S, n)
        worth = np.zeros((S, n), bool)
        if wm.grid_site.size:
            w = np.zeros((S, n))
            _add_at(w, wm.grid_site, (self.g_export[:, hrs] > -wm.curt_penalty).astype(float))
            worth = w > 0
        short = np.maximum(deficit, 0.0)
        imp = np.minimum(short, imp_cap)
        surplus = np.maximum(-deficit, 0.0)
        exp = np.where(worth, np.minimum(surplus, exp_cap), 0.0)
        curtail = np.minimum(surplus - exp, ren)
        frac = np.divide(curtail, ren, out=np.zeros_like(ren), where=ren > 0)
        return {"imp": imp, "unserved": short - imp, "exp": exp,
                "left": surplus - exp - curtail,
                "pv": pv * (1.0 - frac[wm.pv_site]), "wind": wind * (1.0 - frac[wm.wind_site])}
