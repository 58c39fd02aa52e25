"""The numbers of each window (:class:`~engine.operations.window.WindowInputs`) from the
forecasts and the realised state: padding past the horizon, the battery's terminal target,
month slots and realised peaks, and the jobs assigned to slots with their bounds and
terminal value."""
from __future__ import annotations

from typing import Optional

import numpy as np

from engine.operations.window import TOL as _TOL
from engine.operations.window import WindowInputs


class _Planner:
    """The window inputs of :class:`engine.operations.controller._RollingRun` (a base class:
    it reads and updates the run's state: forecasts, SOC, realised peaks, job slots)."""

    # --------------------------------------------------------------------- one window
    def _pad(self, a: np.ndarray, o: int) -> np.ndarray:
        """``a[..., o:o+W]`` padded with zeros past the horizon."""
        W, T = self.W, self.T
        out = np.zeros(a.shape[:-1] + (W,), dtype=a.dtype)
        n = min(W, T - o)
        out[..., :n] = a[..., o:o + n]
        return out

    def inputs(self, k: int) -> WindowInputs:
        """Numbers of the window at origin ``origins[k]`` from forecasts and the state."""
        o = int(self.origins[k])
        W, T, wm, data = self.W, self.T, self.wm, self.data
        n_real = min(W, T - o)
        valid = np.arange(W) < n_real
        fc, se = self.fc[:, k, :], self.series
        S = len(data.sites)
        pue = fc[se.pue]
        pue = np.where(valid[None, :], pue, 1.0)
        inflex = fc[se.inflex]
        price = fc[se.price]
        G = wm.grid_site.size
        # battery terminal target, lowered to what full-power charging can reach
        final = o + W >= T
        target = self.soc_target
        keep = wm.bat_keep
        geo = np.where(keep < 1.0, (1.0 - keep ** n_real) / np.where(keep < 1.0, 1.0 - keep, 1.0),
                       float(n_real))
        reach = np.minimum(self.soc * keep ** n_real + wm.bat_eta_c * wm.bat_pch * geo,
                           wm.bat_soc_max)
        term_lb = np.minimum(target, reach * (1.0 - 1e-9))
        term_ub = np.full(len(wm.bats), np.inf)
        if final:
            eq = self.soc_equal
            term_ub[eq] = np.maximum(target[eq], term_lb[eq])
        # a plan's targets replace the fixed rules, except in the window that ends the horizon
        guide = self.guide
        tg = guide.targets(o, o + n_real) if (guide is not None and guide.ready) else None
        soc_value = None
        if tg is not None and not final:
            term_lb = np.zeros(len(wm.bats))
            soc_value = tg["soc_value"]
        # month slots
        month = self._pad(self.data.month, o)
        slot = np.where(valid, month - self.data.month[o], -1)
        first_month = int(self.data.month[o])
        M = self.n_month_slots
        months = first_month + np.arange(M)
        peak_lb = np.zeros((G, M))
        ok = months < self.data.n_months
        peak_lb[:, ok] = self.peak[:, months[ok]]
        peak_rate = np.zeros((G, M))
        peak_rate[:, ok] = self.peak_rate[:, months[ok]]
        if tg is not None:
            peak_lb[:, ok] = np.maximum(peak_lb[:, ok], tg["peak"][:, months[ok]])
        if self.peak_baseline:
            prev = months - 1
            has = ok & (prev >= 0)
            peak_lb[:, has] = np.maximum(peak_lb[:, has],
                                         self.peak_baseline * self.peak[:, prev[has]])
        # jobs into slots
        slot_ub, must, remaining, reward = self._slots(o, n_real, pue, price, k, tg)
        return WindowInputs(
            valid=valid,
            pv_avail_mw=fc[se.pv].reshape(-1, W),
            wind_avail_mw=fc[se.wind].reshape(-1, W),
            hydro_min_mw=self._pad(self.hmin, o), hydro_max_mw=self._pad(self.hmax, o),
            inflex_mw=inflex.reshape(S, W), pue=pue.reshape(S, W),
            price_import=price.reshape(G, W), price_export=self._pad(self.g_export, o),
            emission=self._pad(self.g_ef, o), clean_share=self._pad(self.g_clean, o),
            grid_up=self._pad(self.g_up, o),
            soc_in_mwh=self.soc.copy(), soc_terminal_lb_mwh=term_lb, soc_terminal_ub_mwh=term_ub,
            month_slot=slot, peak_lb_mw=peak_lb, peak_rate=peak_rate, slot_ub_mw=slot_ub, slot_must_mwh=must,
            slot_remaining_mwh=remaining, slot_reward_per_mwh=reward,
            green_bank_mwh=self.bank - (tg["bank_need"] if tg is not None else 0.0),
            soc_value_per_mwh=soc_value,
        )

    def _slots(self, o: int, n_real: int, pue: np.ndarray, price: np.ndarray, k: int,
               tg: Optional[dict] = None):
        """Assign active jobs to slots (a job keeps its slot); their bounds and values. With
        a plan's targets ``tg``: its job values, and its progress by the window's end as a
        minimum."""
        jobs = self.data.jobs
        W = self.W
        K = self.slot_site.size
        slot_ub = np.zeros((K, W))
        must = np.zeros(K)
        remaining = np.zeros(K)
        reward = np.zeros(K)
        if K == 0:
            return slot_ub, must, remaining, reward
        end = o + n_real
        active = (jobs.release < end) & (jobs.deadline > o) & (self.remaining > _TOL)
        # free the slots of jobs no longer active, then place newcomers in free slots
        held = self.slot_job >= 0
        still = np.zeros(K, bool)
        still[held] = active[self.slot_job[held]]
        self.slot_job[held & ~still] = -1
        placed = np.zeros(self.J, bool)
        placed[self.slot_job[self.slot_job >= 0]] = True
        for j in np.flatnonzero(active & ~placed):  # a few jobs per window, not hours
            free = np.flatnonzero((self.slot_job < 0) & (self.slot_site == jobs.site[j]))
            self.slot_job[free[0]] = j
        used = self.slot_job >= 0
        j = self.slot_job[used]
        t_abs = o + np.arange(W)
        inside = (t_abs[None, :] >= jobs.release[j][:, None]) & (t_abs[None, :] <
                                                                  jobs.deadline[j][:, None])
        inside &= (np.arange(W) < n_real)[None, :]
        slot_ub[used] = jobs.max_power_mw[j][:, None] * inside
        rem = self.remaining[j]
        after = np.maximum(jobs.deadline[j] - end, 0)
        need = np.maximum(rem - jobs.max_power_mw[j] * after, 0.0)
        if tg is not None and self.plan_progress:
            done = jobs.energy_mwh[j] - rem
            need = np.maximum(need, tg["job_done_by_end"][j] - done)
        # never ask for more than the window's hours of the job can hold
        must[used] = np.minimum(need, slot_ub[used].sum(axis=1))
        remaining[used] = rem
        beyond = jobs.deadline[j] > end
        if self.job_value is not None:
            val = np.full(j.size, float(self.job_value))
        elif tg is not None:
            val = tg["job_value"][j]
        else:
            ef = self._pad(self.g_ef, o)
            val = self._median_marginal_cost(pue, price, ef, n_real)[jobs.site[j]]
        reward[used] = np.where(beyond, val, 0.0)
        return slot_ub, must, remaining, reward

    def _median_marginal_cost(self, pue: np.ndarray, price: np.ndarray, ef: np.ndarray,
                              n_real: int) -> np.ndarray:
        """Per site: median over the window of PUE x (import price + carbon cost) [cur/MWh IT]."""
        wm = self.wm
        S = len(self.data.sites)
        out = np.zeros(S)
        if wm.grid_site.size == 0:
            return out
        o_cost = price[:, :n_real] + wm.carbon_price * ef[:, :n_real] / 1000.0
        # the median by a sort: np.median's wrapper costs more than the sort of 48 values
        v = np.sort(pue[wm.grid_site, :n_real] * o_cost, axis=1)
        per_grid = 0.5 * (v[:, (n_real - 1) // 2] + v[:, n_real // 2])
        out[wm.grid_site] = per_grid
        return out
