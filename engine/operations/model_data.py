"""What the windows of :mod:`engine.operations.model_window` share: which scenarios need
them, the engine's MILP path, appending slack columns to solver arrays, the columns a
realised run fixes and the rules it is evaluated without, and the window's scenario data
(:class:`_WindowData`: the scenario cut to the window's hours with the carried state and the
jobs still to do)."""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import replace
from typing import Any, Optional

import numpy as np

from engine.backends import SolverOptions
from engine.model.data import ScenarioData
from engine.model.linear import CSC, ModelArrays
from engine.operations.guide import critical_it

log = logging.getLogger(__name__)

__all__ = ["needs_model_window"]

#: Row groups of the horizon's model that the realised run is evaluated without (each is
#: reported instead): job energy and runs, the green floor, the terminal SOC, the IT
#: capacity (a started non-preemptible run is not cut) and the no-simultaneous binaries.
_RELAXED = ("job/energy", "job/work", "job/start_once", "policy/green_share",
            "battery/terminal", "datacenter/it_capacity", "battery/charge_if_charging",
            "battery/discharge_if_not_charging", "grid/import_if_importing",
            "grid/export_if_not_importing")
#: Columns fixed at the realised values in that evaluation.
_FIXED = ("pv/power_mw", "wind/power_mw", "hydro/power_mw", "battery/charge_mw",
          "battery/discharge_mw", "battery/soc_mwh", "grid/import_mw", "grid/export_mw",
          "genset/units_on", "genset/starts", "genset/stops", "genset/power_mw",
          "job/power_mw", "job/work_mwh", "bus/unserved_mw", "bus/unserved_critical_mw")



def needs_model_window(data: ScenarioData) -> bool:
    """Whether the scenario needs windows built from the full formulation (gensets, outage
    scenarios, non-preemptible or power-capped jobs)."""
    jobs = data.jobs
    return (any(sd.site.gensets for sd in data.sites)
            or getattr(data.scenario.policy, "outages", None) is not None
            or bool(np.any(~jobs.preemptible)) or bool(np.any(jobs.full_power_mw > 0)))


def _append_cols(a: ModelArrays, rows: np.ndarray, coef: np.ndarray, cost: np.ndarray,
                 ub: np.ndarray) -> tuple[ModelArrays, np.ndarray]:
    """``a`` with one new column per entry of ``rows`` (coefficient ``coef`` there, the
    given cost, bounds ``[0, ub]``); returns the arrays and the new columns."""
    n = rows.size
    if not n:
        return a, np.zeros(0, np.int64)
    A = a.A
    n0 = A.shape[1]
    indptr = np.concatenate([A.indptr, A.indptr[-1] + np.arange(1, n + 1)]).astype(np.int32)
    A2 = CSC(indptr, np.concatenate([A.indices, rows.astype(np.int32)]),
             np.concatenate([A.data, coef.astype(np.float64)]), (A.shape[0], n0 + n))
    a2 = replace(a, A=A2, cost=np.concatenate([a.cost, cost]),
                 col_lb=np.concatenate([a.col_lb, np.zeros(n)]),
                 col_ub=np.concatenate([a.col_ub, ub]),
                 integrality=np.concatenate([a.integrality, np.zeros(n, a.integrality.dtype)]))
    return a2, np.arange(n0, n0 + n)


def _solve(a: ModelArrays, options: SolverOptions):
    """The engine's MILP path (the LP relaxation first, then branch and bound)."""
    from engine.backends.highs import _lp_first, read_outcome, run_definite, to_highs

    t0 = time.perf_counter()
    h = to_highs(a, options)
    by_lp = False
    if a.is_mip:
        by_lp, _ = _lp_first(h, options)
    else:
        run_definite(h)
    return read_outcome(h, a.is_mip and not by_lp, {"run_s": time.perf_counter() - t0})


class _WindowData:
    """The window's scenario data (a mixin of :class:`~engine.operations.model_window.
    ModelWindowRun`, whose state it reads)."""

    def _window_data(self, k: int, fc: Optional[np.ndarray] = None
                     ) -> tuple[ScenarioData, dict]:
        """The scenario cut to the window at ``origins[k]``: forecasts (``fc``, (n_series,
        >= n): a scenario of them; default the point forecast), carried state, the jobs
        still to do (see the module docstring) and what the model then needs."""
        data, T, se = self.data, self.T, self.series
        o = int(self.origins[k])
        e = min(o + self.W, T)
        n = e - o
        fc = self.fc[:, k, :n] if fc is None else fc[:, :n]
        sites = []
        p = w = g = 0
        for s, sd in enumerate(data.sites):
            nd = copy.copy(sd)
            for name, val in vars(sd).items():
                if name in ("site", "weather"):
                    continue
                if isinstance(val, np.ndarray) and val.ndim >= 1 and val.shape[-1] == T:
                    setattr(nd, name, val[..., o:e].copy())
            nd.weather = {c: v[o:e] for c, v in sd.weather.items()}
            site = sd.site
            n_pv, n_w = len(site.pv), len(site.wind)
            nd.pv_avail_mw = fc[se.pv[p:p + n_pv]].reshape(n_pv, n)
            nd.wind_avail_mw = fc[se.wind[w:w + n_w]].reshape(n_w, n)
            p, w = p + n_pv, w + n_w
            nd.inflexible_it_mw = fc[se.inflex[s]].copy()
            nd.pue = fc[se.pue[s]].copy()
            if getattr(sd, "tiered", False):  # the critical tier follows the forecast load
                nd.critical_it_mw = critical_it(sd, nd.inflexible_it_mw, slice(o, e))
            if site.grid is not None:
                nd.grid_import_price = fc[se.price[g]].copy()
                g += 1
            upd: dict[str, Any] = {}
            if site.batteries and o > 0:
                upd["batteries"] = [
                    b.model_copy(update={"initial_soc_fraction": self.soc[i] / b.energy_mwh,
                                         "terminal": "free"})
                    for i, b in self._site_bats(s)]
            elif site.batteries:
                upd["batteries"] = [b.model_copy(update={"terminal": "free"})
                                    for b in site.batteries]
            if site.gensets:
                upd["gensets"] = [self._genset_copy(gs, o, e) for gs in self._site_gens(s)]
            if upd:
                nd.site = site.model_copy(update=upd)
            sites.append(nd)
        sc = data.scenario
        pol = sc.policy
        out = getattr(pol, "outages", None)
        if out is not None:
            starts = out.starts(T)
            ws = (np.full(starts.size, 1.0 / starts.size) if out.start_probabilities is None
                  else np.asarray(out.start_probabilities, float))
            sel = (starts >= o) & (starts < e)
            if sel.any():
                lam = out.outages_per_horizon * (
                    1.0 if out.start_weighting == "worst" else float(ws[sel].sum()))
                out = out.model_copy(update={
                    "start_hours": (starts[sel] - o).tolist(), "start_every_h": None,
                    "start_offset_h": 0,
                    "start_probabilities": (ws[sel] / ws[sel].sum()).tolist(),
                    "outages_per_horizon": lam})
            else:
                out = None
            pol = pol.model_copy(update={"outages": out})
        sc2 = sc.model_copy(update={"policy": pol, "horizon_h": n,
                                    "sites": [nd.site for nd in sites]})
        jobs_w, info = self._window_jobs(o, e, fc)
        m0, m1 = int(data.month[o]), int(data.month[e - 1])
        wd = ScenarioData(sc2, data.index[o:e], data.month[o:e] - m0, m1 - m0 + 1, sites,
                          data.components, extra={**data.extra, "jobs": jobs_w},
                          month_labels=data.month_labels[m0:m1 + 1],
                          month_hours=data.month_hours[m0:m1 + 1],
                          month_total_hours=data.month_total_hours[m0:m1 + 1])
        info.update(o=o, e=e, n=n, m0=m0)
        return wd, info

    def _site_bats(self, s: int):
        return [(i, b) for i, (ss, b) in enumerate(self.bats) if ss == s]

    def _site_gens(self, s: int):
        return [g for ss, g in self.R["entries"] if ss == s]

    def _genset_copy(self, gs, o: int, e: int):
        from engine.components.genset import FuelDelivery

        ent = next(i for i, (_, g) in enumerate(self.R["entries"]) if g is gs)
        # the first window keeps the scenario's initial state; later ones start from none
        # and get the carried state in their rows and bounds (_genset_state)
        upd: dict[str, Any] = {} if o == 0 else {
            "initial_units_on": 0, "initial_hours_in_state": None, "initial_power_mw": None}
        if gs.fuel_stock_mwh_th is not None:
            if o > 0:
                upd["fuel_stock_mwh_th"] = float(max(self.stock[ent], 0.0))
            upd["fuel_deliveries"] = [FuelDelivery(hour=d.hour - o, fuel_mwh_th=d.fuel_mwh_th)
                                      for d in gs.fuel_deliveries if o <= d.hour < e]
        return gs.model_copy(update=upd)

    def _window_jobs(self, o: int, e: int, fc: np.ndarray):
        from engine.components.jobs import JobData

        jobs, W = self.data.jobs, e - o
        keep: list[int] = []
        rel, dl, energy, pre, dur, last = [], [], [], [], [], []
        fixed: dict[int, np.ndarray] = {}  # window job -> fixed power profile (W,)
        must, beyond = [], []
        for j in range(self.J):
            if self.run_start[j] >= 0:
                s0, d = int(self.run_start[j]), int(jobs.duration_h[j])
                if s0 + d <= o:
                    continue
                prof = np.zeros(W)
                hrs = np.arange(max(o, s0), min(s0 + d, e))
                prof[hrs - o] = np.where(hrs == s0 + d - 1, jobs.last_power_mw[j],
                                         jobs.max_power_mw[j])
                fixed[len(keep)] = prof
                keep.append(j)
                rel.append(int(hrs[0] - o))
                dl.append(int(hrs[-1] - o + 1))
                energy.append(float(prof.sum()))
                pre.append(True)
                dur.append(0)
                last.append(0.0)
                must.append(True)
                beyond.append(False)
                continue
            if self.remaining[j] <= 1e-9 or jobs.release[j] >= e or jobs.deadline[j] <= o:
                continue
            r_w = int(max(jobs.release[j], o) - o)
            d_w = int(min(jobs.deadline[j], e) - o)
            contiguous = not jobs.preemptible[j] and jobs.duration_h[j] > 0
            if contiguous and d_w - r_w < jobs.duration_h[j]:
                if jobs.deadline[j] <= e:
                    log.warning("window at hour %d: job %r can no longer run before its "
                                "deadline", o, jobs.names[j])
                continue  # the run does not fit in this window (yet)
            keep.append(j)
            rel.append(r_w)
            dl.append(d_w)
            energy.append(float(self.remaining[j]))
            pre.append(bool(jobs.preemptible[j]))
            dur.append(int(jobs.duration_h[j]))
            last.append(float(jobs.last_power_mw[j]))
            must.append(bool(jobs.deadline[j] <= e))
            beyond.append(bool(jobs.deadline[j] > e))
        kk = np.array(keep, np.int64)
        jw = JobData(
            names=[jobs.names[j] for j in keep], site=jobs.site[kk], release=np.array(rel, np.int64),
            deadline=np.array(dl, np.int64), energy_mwh=np.array(energy, float),
            max_power_mw=jobs.max_power_mw[kk], gpu_kw=jobs.gpu_kw[kk],
            preemptible=np.array(pre, bool), duration_h=np.array(dur, np.int64),
            last_power_mw=np.array(last, float), block_mw=jobs.block_mw[kk],
            full_power_mw=np.where(np.array(pre, bool), jobs.full_power_mw[kk], 0.0)
            * np.array([k not in fixed for k in range(len(keep))], bool),
            cap_a=[jobs.cap_a[j] if i not in fixed else None for i, j in enumerate(keep)],
            cap_b=[jobs.cap_b[j] if i not in fixed else None for i, j in enumerate(keep)],
            cap_best=jobs.cap_best[kk], restart_mwh=jobs.restart_mwh[kk])
        return jw, {"jobs": kk, "fixed": fixed, "must": np.array(must, bool),
                    "beyond": np.array(beyond, bool), "fc": fc}

    # ------------------------------------------------------------------ window model
