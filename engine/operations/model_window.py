"""Rolling windows built from the engine's own formulation, for the scenarios the persistent
window LP does not model: gensets (unit commitment, fuel tanks), outage survival scenarios
(``policy.outages``), non-preemptible and power-capped jobs.

Design (why not extend :mod:`engine.operations.window`): the persistent window is a second,
hand-vectorised copy of the LP's equations, kept fixed in structure so that HiGHS re-solves
it from the previous basis. Gensets, outages and non-preemptible jobs are integer or have
their own scenario blocks; copying their equations into it would be a second copy of the
largest components (genset ~540 lines, outages ~610) that must then be kept equal to the
engine's, and a MILP gains little from a warm start anyway. So a window here is the
scenario's own model, :func:`engine.model.build.build`, on a :class:`ScenarioData` cut to
the window's hours (one formulation), with

* the series of the window's hours: the forecasts made at the origin for PV, wind,
  inflexible load, PUE and import price (:mod:`engine.operations.forecasts`, as the LP
  windows), the rest as known (contracts, schedules);
* the carried state as its initial conditions: battery SOC (``initial_soc_fraction``), the
  gensets' fuel stock (``fuel_stock_mwh_th``, deliveries shifted), their units on and power
  in the hour before (the commitment and ramp rows of hour 0) and the starts and stops of
  the last ``min_up_h`` / ``min_down_h`` hours (bounds on the units on, which is exactly
  what the minimum up/down rows would say with those hours in the model);
* the jobs still to do: a preemptible job's remaining energy, a power-capped job's remaining
  work (work, not energy, is planned: its throughput rows are the model's), due by the
  earlier of its deadline and the window's end; a job whose deadline lies beyond the window
  must do at least ``max(0, remaining - max power x hours after the window)`` in it and
  earns a terminal value per MWh (``job_value_per_mwh``; default the window's median
  forecast marginal grid cost, as the LP windows); a shortfall against the minimum is
  allowed at the value of lost load per MWh of IT energy. A non-preemptible job not yet
  started is one contiguous run placed by the model's start binaries (so such windows are
  MILPs): mandatory when its deadline is inside the window, optional (at the terminal
  value) when it is not, placed only where it ends inside the window. Once a committed
  step starts it, it is no longer a decision: the following windows run it at its fixed
  power to its end;
* the outage scenarios that start inside the window, each with its weight in the full
  model (``outages_per_horizon`` x start weight x duration probability) and the survival
  rule ``min_survival_h`` as hard rows: every window keeps enough SOC and fuel for the
  outages it can see. An outage running past the window's end wraps to the window's first
  hours (as the full model wraps at the horizon's end; with 24-h multiples the same hours
  of day);
* the month's realised peak as the lower bound of its peak variable, the green-share bank
  of the committed hours in the annual floor's row (with a slack at
  ``green_penalty_per_mwh``) and the battery's terminal SOC rule (the scenario's initial
  SOC at each window's end, exactly the scenario's rule in the window holding the last
  hour), as in the LP windows.

Each window is built and solved from scratch (HiGHS, the LP relaxation first as
:func:`engine.optimize` does). Its first ``step_h`` hours are committed (genset commitment
and power, battery schedule, job power, non-preemptible starts) and realised against the
actual data: job power is cut pro rata where the actual inflexible load leaves less IT
headroom (non-preemptible runs are not cut); the battery charges less, then discharges
more, where the site would import above the window's planned monthly peak or the import
limit; the grid takes the rest up to its limit (then load is unserved, the sheddable tier
first), a surplus is exported where worth it and the rest curtailed; fuel is burnt on the
genset's fuel curve.

The realised cost is the full model's objective at the realised decisions: the horizon's
model with every realised operational column fixed (powers, SOC, commitment, imports and
exports, unserved load, job power and work) and its other columns left to the solver (the
outage scenarios' dispatch from the realised SOC and fuel stock, fuel above the curve,
monthly peaks), the rules that the realised run may have missed relaxed and reported:
job energy (``kpis["job_shortfall_mwh"]``), the green floor (``kpis["green_share"]``), the
terminal SOC. The outage survival rows are kept: ``kpis["survival_met"]`` says whether the
realised SOC and fuel carry the critical load through every outage start for
``min_survival_h`` (if not, they are relaxed and the cost priced with the shortfall).
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import replace
from typing import Any, Optional

import numpy as np
import pandas as pd

from engine.backends import SolverOptions
from engine.components import genset as _genset
from engine.model.build import build
from engine.model.data import ScenarioData
from engine.model.linear import CSC, ModelArrays
from engine.operations.forecasts import _forecasts, _stack_series
from engine.operations.guide import critical_it, monthly_cost
from engine.operations.result import RollingResult
from engine.results import extract
from engine.status import Status

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


class ModelWindowRun:
    """State of one rolling run whose windows are the full formulation on the window's
    hours (see the module docstring)."""

    def __init__(self, data: ScenarioData, W: int, step: int, forecaster, warmup: int,
                 job_value: Optional[float], green_penalty: Optional[float],
                 highs_options: dict, known_h: int = 0) -> None:
        self.data = data
        sc = data.scenario
        self.T = T = data.T
        self.W, self.step, self.forecaster, self.warmup = W, step, forecaster, warmup
        self.job_value = job_value
        pol = sc.policy
        self.voll = pol.value_of_lost_load_per_mwh
        self.green_penalty = (0.25 * self.voll if green_penalty is None else float(green_penalty))
        self.options = SolverOptions(highs_options=dict(highs_options))
        self.origins = np.arange(0, T, step, dtype=np.int64)
        self.series = _stack_series(data)
        self.known_h = np.zeros(self.series.Y.shape[0], np.int64)
        self.known_h[self.series.price] = int(known_h)
        self._name = "callable" if callable(forecaster) else str(forecaster)
        #: the horizon's model: its layout for the realised decisions and the evaluation
        self.f = build(data)
        S = len(data.sites)
        self.S = S
        self.bats = [(s, b) for s, sd in enumerate(data.sites) for b in sd.site.batteries]
        self.grid_site = np.array([s for s, sd in enumerate(data.sites)
                                   if sd.site.grid is not None], np.int64)
        G = self.grid_site.size
        self.R = _genset._rows(self.f)
        self.n_gen = self.R["n"]
        jobs = data.jobs
        self.J = J = len(jobs.names)
        B = len(self.bats)
        self.soc = np.array([b.initial_soc_fraction * b.energy_mwh for _, b in self.bats])
        self.remaining = jobs.energy_mwh.astype(np.float64).copy()  # energy, or work if capped
        self.run_start = np.full(J, -1, np.int64)  # non-preemptible: committed start hour
        self.peak = np.zeros((G, data.n_months))
        self.bank = 0.0
        gens = [g for _, g in self.R["entries"]] if self.n_gen else []
        self.stock = np.array([np.nan if g.fuel_stock_mwh_th is None else g.fuel_stock_mwh_th
                               for g in gens])
        self.r = {
            "pv": np.zeros((sum(len(sd.site.pv) for sd in data.sites), T)),
            "wind": np.zeros((sum(len(sd.site.wind) for sd in data.sites), T)),
            "hydro": np.zeros((sum(len(sd.site.hydro) for sd in data.sites), T)),
            "ch": np.zeros((B, T)), "dis": np.zeros((B, T)), "soc": np.zeros((B, T)),
            "imp": np.zeros((G, T)), "exp": np.zeros((G, T)),
            "unserved": np.zeros((S, T)), "unserved_critical": np.zeros((S, T)),
            "job": np.zeros((J, T)), "work": np.zeros((J, T)),
            "gu": np.zeros((self.n_gen, T)), "gv": np.zeros((self.n_gen, T)),
            "gw": np.zeros((self.n_gen, T)), "gp": np.zeros((self.n_gen, T)),
            "stock": np.zeros((len(gens), T)),
        }
        self.records: list[dict] = []
        #: when a list, each window appends its solver arrays (benchmarks.rolling times a
        #: raw highspy solve of them)
        self.capture: Optional[list] = None
        grids = [data.sites[s] for s in self.grid_site]
        self.g_ef = np.array([sd.grid_emission_kg_per_mwh for sd in grids]).reshape(G, T)
        self.g_clean = np.array([sd.grid_clean_share for sd in grids]).reshape(G, T)
        self.g_export = np.array([sd.grid_export_price for sd in grids]).reshape(G, T)
        self.g_up = np.array([sd.grid_available for sd in grids], dtype=float).reshape(G, T)
        self.alpha = pol.green_share_min_fraction
        self.annual_green = self.alpha > 0 and pol.green_matching == "annual"
        out = getattr(pol, "outages", None)
        #: real-time deviations keep the battery at or above the window's planned SOC
        self.survival = out is not None and out.min_survival_h > 0
        #: price of a MWh of critical load an outage start would miss within the survival
        #: rule, in windows and plans (the critical tier's default value of lost load)
        self.survival_penalty = 10.0 * self.voll
        #: windows on forecasts carry their outage scenarios without PV and wind (a
        #: forecast error there would leave an outage start short of its survival rule)
        self.robust_outages = True
        #: real-time deferral of preemptible job power above the planned peak
        self.defer_jobs = True
        #: ... as far as each job can still finish at this share of its maximum power (the
        #: IT headroom left by the inflexible load and the other jobs is not known ahead:
        #: 0.9, as the LP windows use, made jobs late here)
        self.defer_share = 0.5
        #: the long-horizon plan (``plan=``): None, or its mode; see :meth:`replan`
        self.plan_mode: Optional[str] = None
        self.replan_h = 0
        self._guide = None
        self.plan_last: Optional[int] = None
        self.plan_targets: Optional[dict] = None
        self.plan_records: list[dict] = []

    # ------------------------------------------------------------------ forecasts
    def forecast(self) -> None:
        self.fc = _forecasts(self.series, self.origins, self.W, self.forecaster, self.warmup,
                             self.known_h)

    # ------------------------------------------------------------------ window data
    def _window_data(self, k: int) -> tuple[ScenarioData, dict]:
        """The scenario cut to the window at ``origins[k]``: forecasts, carried state, the
        jobs still to do (see the module docstring) and what the model then needs."""
        data, T, se = self.data, self.T, self.series
        o = int(self.origins[k])
        e = min(o + self.W, T)
        n = e - o
        fc = self.fc[:, k, :n]
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
    def _job_value(self, info: dict, wd: ScenarioData) -> np.ndarray:
        """Terminal value per MWh of a job's IT energy, per window job."""
        jw = wd.jobs
        if self.job_value is not None:
            return np.full(len(jw.names), float(self.job_value))
        S, n = self.S, info["n"]
        per_site = np.zeros(S)
        cp = self.data.scenario.policy.carbon_price_per_t or 0.0
        for i, s in enumerate(self.grid_site.tolist()):
            sd = wd.sites[s]
            v = sd.pue * (sd.grid_import_price + cp * self.g_ef[i, info["o"]:info["e"]] / 1000.0)
            per_site[s] = float(np.median(v[:n]))
        return per_site[jw.site]

    def _window_arrays(self, wd: ScenarioData, info: dict):
        """The window's model and solver arrays, with the state and rules of the module
        docstring applied to its bounds and costs."""
        f = build(wd)
        m = f.model
        a = m.arrays()
        vg, cg = m.var_groups, m.con_groups
        col_lb, col_ub, cost = a.col_lb.copy(), a.col_ub.copy(), a.cost.copy()
        row_lb, row_ub = a.row_lb.copy(), a.row_ub.copy()
        o, e, n = info["o"], info["e"], info["n"]
        final = e >= self.T
        jw = wd.jobs
        Jw = len(jw.names)
        slack_rows, slack_coef, slack_cost, slack_ub = [], [], [], []
        if Jw:
            meta = f.meta["job"]
            pc = vg["job/power_mw"].start + np.arange(meta["job_of"].size)
            value = self._job_value(info, wd)
            beyond = info["beyond"]
            # started runs: their power is no longer a decision
            for i, prof in info["fixed"].items():
                sel = meta["job_of"] == i
                col_lb[pc[sel]] = prof[meta["t_of"][sel]]
                col_ub[pc[sel]] = prof[meta["t_of"][sel]]
            capped, contiguous = jw.capped, jw.contiguous
            plain = ~capped & ~contiguous
            after = np.maximum(self.data.jobs.deadline[info["jobs"]] - e, 0)
            need = np.maximum(jw.energy_mwh - jw.max_power_mw * after, 0.0)
            need = np.where(beyond, need, jw.energy_mwh)
            tg = self.plan_targets
            if tg is not None:
                # the plan's progress by the window's end, and no terminal value beyond it
                jj = info["jobs"]
                done = self.data.jobs.energy_mwh[jj] - self.remaining[jj]
                planned = np.clip(tg["job_cum"][jj, e] - done, 0.0, jw.energy_mwh)
                fixed_run = np.isin(np.arange(Jw), list(info["fixed"]))
                need = np.where(fixed_run, need, np.maximum(need, planned))
                value = np.zeros(Jw)
            for group, mask, unit in (("job/energy", plain, 1.0), ("job/work", capped, 1.0)):
                if group not in cg:
                    continue
                rows = cg[group].start + np.arange(int(mask.sum()))
                idx = np.flatnonzero(mask)
                row_lb[rows] = need[idx]
                row_ub[rows] = jw.energy_mwh[idx]
                slack_rows.append(rows)
                slack_coef.append(np.ones(rows.size))
                slack_cost.append(np.full(rows.size, self.voll * unit))
                slack_ub.append(need[idx])
            # the terminal value of job energy done in the window
            val_entry = np.where(beyond[meta["job_of"]] & ~capped[meta["job_of"]],
                                 value[meta["job_of"]], 0.0)
            cost[pc] -= val_entry
            if capped.any() and "job/work_mwh" in vg:
                gcol = vg["job/work_mwh"].start + np.arange(vg["job/work_mwh"].size)
                owner = meta["job_of"][meta["work"]["sel"]]
                cost[gcol] -= np.where(beyond[owner], value[owner], 0.0)
            if contiguous.any():
                rows = cg["job/start_once"].start + np.arange(int(contiguous.sum()))
                must = info["must"][contiguous]
                if tg is not None:  # runs the plan starts inside the window
                    jj = info["jobs"][contiguous]
                    sp = tg["start"][jj]
                    must = must | ((sp >= o) & (sp + self.data.jobs.duration_h[jj] <= e))
                row_lb[rows] = np.where(must, 1.0, 0.0)
        # battery: the terminal rule
        if self.bats and "battery/soc_mwh" in vg:
            g = vg["battery/soc_mwh"]
            last = g.start + np.arange(len(self.bats)) * n + (n - 1)
            for i, (_, b) in enumerate(self.bats):
                target = b.initial_soc_fraction * b.energy_mwh
                if b.terminal == "free" and (self.plan_targets is None or final):
                    continue
                keep = 1.0 - b.self_discharge_per_h
                reach = min(self.soc[i] * keep ** n + b.charge_efficiency * b.charge_power_mw
                            * (n if keep == 1.0 else (1 - keep ** n) / (1 - keep)),
                            b.soc_max_fraction * b.energy_mwh)
                if (self.plan_targets is not None and self.plan_targets["soc"] is not None
                        and not final):
                    target = float(self.plan_targets["soc"][i, e - 1])  # the plan's SOC there
                    if b.terminal == "free" and not final:
                        col_lb[last[i]] = max(col_lb[last[i]], min(target, reach * (1 - 1e-9)))
                        continue
                lb = target if final else min(target, reach * (1 - 1e-9))
                col_lb[last[i]] = max(col_lb[last[i]], lb)
                if final and b.terminal == "equal_initial":
                    col_ub[last[i]] = max(target, col_lb[last[i]])
        # demand charge: the month's realised peak
        if "grid/peak_mw" in vg:
            g = vg["grid/peak_mw"]
            Gw, M = g.shape
            lb = self.peak[:, info["m0"]:info["m0"] + M]
            if self.plan_targets is not None and self.plan_targets["peak"] is not None:
                lb = np.maximum(lb, self.plan_targets["peak"][:, info["m0"]:info["m0"] + M])
            cols = g.start + np.arange(g.size)
            col_lb[cols] = np.maximum(col_lb[cols], lb.reshape(-1))
        # green share: the bank of the committed hours, and a slack
        if "policy/green_share_annual" in cg:
            r = cg["policy/green_share_annual"].start
            row_ub[r] += self.bank
            slack_rows.append(np.array([r]))
            slack_coef.append(np.array([-1.0]))
            slack_cost.append(np.array([self.green_penalty]))
            slack_ub.append(np.array([np.inf]))
        # outages seen on forecasts: carried without renewables (robust to their errors)
        if self.robust_outages and o >= self.warmup and self.forecaster != "perfect" \
                and "outage/renewable_mw" in vg:
            g = vg["outage/renewable_mw"]
            col_ub[g.start:g.start + g.size] = 0.0
        # outage survival: elastic, at the critical tier's value of lost load per MWh (a
        # window that cannot carry an outage it sees, after a forecast error, carries as
        # much of it as it can)
        self._survival_slack(cg, slack_rows, slack_coef, slack_cost, slack_ub)
        # gensets: the state of the hour before the window (module docstring)
        if self.n_gen and o > 0:
            self._genset_state(vg, cg, col_lb, col_ub, row_lb, row_ub, o, e)
        a = replace(a, col_lb=col_lb, col_ub=col_ub, cost=cost, row_lb=row_lb, row_ub=row_ub)
        if slack_rows:
            a, _ = _append_cols(a, np.concatenate(slack_rows), np.concatenate(slack_coef),
                                np.concatenate(slack_cost), np.concatenate(slack_ub))
        return f, a

    def _survival_slack(self, cg, rows: list, coef: list, cost: list, ub: list) -> None:
        if "policy/outage_survival" not in cg:
            return
        g = cg["policy/outage_survival"]
        r = g.start + np.arange(g.size)
        rows.append(r)
        coef.append(-np.ones(r.size))
        cost.append(np.full(r.size, self.survival_penalty))
        ub.append(np.full(r.size, np.inf))

    def _genset_state(self, vg, cg, col_lb, col_ub, row_lb, row_ub, o: int, e: int) -> None:
        R, r, n = self.R, self.r, e - o
        N = self.n_gen
        u_prev, p_prev = r["gu"][:, o - 1], r["gp"][:, o - 1]
        rows = cg["genset/commitment"].start + np.arange(N) * n
        row_lb[rows] = u_prev
        row_ub[rows] = u_prev
        for direction, key in (("up", "ru"), ("down", "rd")):
            name = f"genset/ramp_{direction}"
            if name not in cg:
                continue
            sel = np.flatnonzero(~np.isnan(R[key]))
            rr = cg[name].start + np.arange(sel.size) * n
            row_ub[rr] = (p_prev[sel] if direction == "up"
                          else R[key][sel] * u_prev[sel] - p_prev[sel])
        # min up / down: starts (stops) of the last UT - 1 (DT - 1) hours keep units on (off)
        g = vg["genset/units_on"]
        ucol = g.start + np.arange(N)[:, None] * n + np.arange(n)[None, :]
        lb = np.maximum(col_lb[ucol], R["u_lb"][:, o:e])
        ub = np.minimum(col_ub[ucol], R["u_ub"][:, o:e])
        for i in range(N):
            for t in range(min(int(R["ut"][i]) - 1, n)):
                lb[i, t] = max(lb[i, t], r["gv"][i, max(0, o + t - int(R["ut"][i]) + 1):o].sum())
            for t in range(min(int(R["dt"][i]) - 1, n)):
                ub[i, t] = min(ub[i, t], R["count"][i]
                               - r["gw"][i, max(0, o + t - int(R["dt"][i]) + 1):o].sum())
        col_lb[ucol] = lb
        col_ub[ucol] = np.maximum(ub, lb)

    # ------------------------------------------------------------------ the plan
    def set_plan(self, mode: str, replan_h: int) -> None:
        """Guide the windows by a plan over the rest of the horizon, re-solved every
        ``replan_h`` hours from the first forecast origin on (:meth:`replan`)."""
        from engine.operations.guide import PlanGuide

        self.plan_mode, self.replan_h = mode, int(replan_h)
        # its forecasts over the horizon and the scenario arrays mixing actuals and them
        self._guide = PlanGuide(self, mode, replan_h)

    def replan(self, o: int) -> dict:
        """The plan at origin ``o``: the horizon's model (the MILP) on the actual data before
        ``o`` and the forecasts made at ``o`` after it, the realised decisions before ``o``
        fixed. Its targets for a window ``[o, e)`` (:meth:`_window_arrays`): the SOC at the
        window's last hour (a minimum), each job's progress by ``e`` (a minimum), the
        planned monthly peaks (a minimum of the window's peak variables) and which runs of
        non-preemptible jobs start inside the window (then they must)."""
        from engine.operations.guide import column_hours

        t0 = time.perf_counter()
        gd = self._guide
        fc = gd.forecasts(o)
        f = build(gd._data(o, fc))
        m = f.model
        a = m.arrays()
        lb, ub = a.col_lb.copy(), a.col_ub.copy()
        hour = column_hours(f)
        if "job/work_mwh" in m.var_groups:
            g = m.var_groups["job/work_mwh"]
            meta = f.meta["job"]
            hour[g.start:g.start + g.size] = meta["t_of"][meta["work"]["sel"]]
        xr = self._realised_x(f)
        for name in _FIXED:
            if name in m.var_groups:
                g = m.var_groups[name]
                cols = g.start + np.flatnonzero(hour[g.start:g.start + g.size] < o)
                lb[cols] = xr[cols]
                ub[cols] = xr[cols]
        if "grid/peak_mw" in m.var_groups:
            g = m.var_groups["grid/peak_mw"]
            cols = g.start + np.arange(g.size)
            lb[cols] = np.maximum(lb[cols], self.peak.reshape(-1))
        rlb, rub = a.row_lb.copy(), a.row_ub.copy()
        # what can no longer be met is not asked of the plan: job energy and runs
        for name in ("job/energy", "job/work", "job/start_once"):
            if name in m.con_groups:
                g = m.con_groups[name]
                rlb[g.start:g.start + g.size] = 0.0
        a2 = replace(a, col_lb=lb, col_ub=ub, row_lb=rlb, row_ub=rub)
        # a shortfall of job energy against the full need at the value of lost load
        rows, need = [], []
        for name in ("job/energy", "job/work"):
            if name in m.con_groups:
                g = m.con_groups[name]
                rows.append(g.start + np.arange(g.size))
                need.append(a.row_lb[g.start:g.start + g.size])
        srows: list = []
        self._survival_slack(m.con_groups, srows, [], [], [])
        if srows:
            a2, _ = _append_cols(a2, srows[0], -np.ones(srows[0].size),
                                 np.full(srows[0].size, self.survival_penalty),
                                 np.full(srows[0].size, np.inf))
        if rows:
            rr = np.concatenate(rows)
            a2 = replace(a2, row_lb=a2.row_lb.copy())
            a2.row_lb[rr] = np.concatenate(need)
            a2, _ = _append_cols(a2, rr, np.ones(rr.size), np.full(rr.size, self.voll),
                                 np.concatenate(need))
        out = _solve(a2, self.options)
        rec = {"origin_h": o, "status": str(out.status), "objective": out.objective,
               "solve_s": time.perf_counter() - t0}
        self.plan_last = o
        self.plan_records.append(rec)
        if out.x is None:
            log.warning("plan at hour %d: %s; the windows keep the previous plan", o,
                        out.status)
            return rec
        x = out.x[:m.n_cols]
        vg = m.var_groups

        def var(name: str) -> np.ndarray:
            g = vg[name]
            return x[g.start:g.start + g.size].reshape(g.shape)

        tg: dict[str, Any] = {}
        tg["soc"] = var("battery/soc_mwh") if "battery/soc_mwh" in vg else None
        tg["peak"] = var("grid/peak_mw") if "grid/peak_mw" in vg else None
        jobs, T = self.data.jobs, self.T
        cum = np.zeros((self.J, T + 1))
        start = np.full(self.J, -1, np.int64)
        if self.J:
            meta = f.meta["job"]
            work = np.zeros((self.J, T))
            np.add.at(work, (meta["job_of"], meta["t_of"]), var("job/power_mw"))
            if "job/work_mwh" in vg:
                sel = meta["work"]["sel"]
                wk = np.zeros((self.J, T))
                np.add.at(wk, (meta["job_of"][sel], meta["t_of"][sel]), var("job/work_mwh"))
                capped = jobs.full_power_mw > 0
                work[capped] = wk[capped]
            cum[:, 1:] = np.cumsum(work, axis=1)
            if "start" in meta and "job/start" in vg:
                sv = var("job/start")
                on = sv > 0.5
                start[meta["start"]["job"][on]] = meta["start"]["t"][on]
        tg["job_cum"] = cum
        tg["start"] = start
        self.plan_targets = tg
        return rec

    # ------------------------------------------------------------------ the loop
    def loop(self, progress: bool = False, on_progress=None) -> None:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=self.origins.size, unit="window", desc="rolling")
        O = self.origins.size
        try:
            for k in range(O):
                o = int(self.origins[k])
                plan_s = 0.0
                if self.plan_mode is not None and o >= self.warmup and (
                        self.plan_last is None or o - self.plan_last >= self.replan_h):
                    plan_s = self.replan(o)["solve_s"]
                t0 = time.perf_counter()
                c0 = time.process_time()
                wd, info = self._window_data(k)
                f, a = self._window_arrays(wd, info)
                t1 = time.perf_counter()
                out, relaxed = self._solve_window(f, a, o)
                t2 = time.perf_counter()
                if self.capture is not None:
                    self.capture.append(a)
                o = info["o"]
                rec = {"origin_h": o, "forecast": "warmup" if o < self.warmup else self._name,
                       "status": str(out.status), "objective": out.objective,
                       "iterations": out.iterations, "mip": bool(a.is_mip),
                       "build_s": t1 - t0, "solve_s": t2 - t1, "plan_s": plan_s,
                       "relaxed": relaxed}
                if out.x is None:
                    log.warning("window at hour %d: %s; batteries, gensets and jobs idle for "
                                "its step", o, out.status)
                    plan = None
                else:
                    plan = self._plan(f, out.x[:f.model.n_cols], info, wd)
                    nc = f.model.n_cols
                    rec["slack"] = float(out.x[nc:].sum())
                self._realise(info, plan)
                rec["window_s"] = time.perf_counter() - t0
                rec["window_cpu_s"] = time.process_time() - c0
                self.records.append(rec)
                if bar is not None:
                    bar.update(1)
                if on_progress is not None:
                    on_progress(k + 1, O, rec)
        finally:
            if bar is not None:
                bar.close()

    def _solve_window(self, f, a: ModelArrays, o: int) -> tuple[Any, str]:
        """Solve the window; where it is infeasible (a run that no longer fits beside the
        inflexible load), solve it again without the job rows, and say so."""
        out = _solve(a, self.options)
        if out.x is not None or out.status != Status.INFEASIBLE:
            return out, ""
        cg = f.model.con_groups
        rlb, rub = a.row_lb.copy(), a.row_ub.copy()
        for step, names in (("jobs", ("job/", "datacenter/it_capacity")),):
            for name, g in cg.items():
                if name.startswith(names):
                    rlb[g.start:g.start + g.size] = -np.inf
                    rub[g.start:g.start + g.size] = np.inf
            out = _solve(replace(a, row_lb=rlb, row_ub=rub), self.options)
            if out.x is not None:
                log.warning("window at hour %d: infeasible; solved without the %s rows",
                            o, step)
                return out, step
        return out, "failed"

    def _plan(self, f, x: np.ndarray, info: dict, wd: ScenarioData) -> dict:
        """The committed decisions of the window's solution (first ``step_h`` hours)."""
        vg = f.model.var_groups
        n = info["n"]
        c = min(self.step, n)

        def val(name: str, shape=None) -> Optional[np.ndarray]:
            if name not in vg:
                return None
            g = vg[name]
            return x[g.start:g.start + g.size].reshape(g.shape)

        plan: dict[str, Any] = {"c": c}
        B = len(self.bats)
        plan["ch"] = val("battery/charge_mw")[:, :c] if B else np.zeros((0, c))
        plan["soc"] = val("battery/soc_mwh")[:, :c] if B else np.zeros((0, c))
        plan["dis"] = val("battery/discharge_mw")[:, :c] if B else np.zeros((0, c))
        plan["hydro"] = (val("hydro/power_mw")[:, :c] if "hydro/power_mw" in vg
                         else np.zeros((self.r["hydro"].shape[0], c)))
        if self.n_gen:
            for key, name in (("gu", "units_on"), ("gv", "starts"), ("gw", "stops")):
                plan[key] = np.round(val(f"genset/{name}")[:, :c])
            plan["gp"] = np.clip(val("genset/power_mw")[:, :c], 0.0, None)
        G = self.grid_site.size
        peak_t = np.full((G, c), np.inf)
        if "grid/peak_mw" in vg:
            pk = val("grid/peak_mw")
            mo = wd.month[:c]
            peak_t = pk[:, mo]
        plan["peak"] = peak_t
        jw = wd.jobs
        job = np.zeros((self.J, c))
        if len(jw.names):
            meta = f.meta["job"]
            pw = np.zeros((len(jw.names), n))
            np.add.at(pw, (meta["job_of"], meta["t_of"]), val("job/power_mw"))
            job[info["jobs"]] = np.clip(pw[:, :c], 0.0, None)
            if "start" in meta and "job/start" in vg:
                s = val("job/start")
                for i, t in zip(meta["start"]["job"][s > 0.5].tolist(),
                                meta["start"]["t"][s > 0.5].tolist()):
                    if t < c:
                        self.run_start[info["jobs"][i]] = info["o"] + t
        plan["job"] = job
        return plan

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
                    "peak": np.full((self.grid_site.size, c), np.inf), "job": np.zeros((self.J, c))}
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
                    keep = 1.0 - b.self_discharge_per_h
                    # with a survival rule, not below the window's planned SOC (which carries
                    # the outages it saw); else not below the minimum
                    lo = max(b.soc_min_fraction * b.energy_mwh,
                             plan["soc"][bi[q], t] if self.survival else 0.0)
                    end = (self.soc[bi[q]] * keep + b.charge_efficiency * ch[q]
                           - dis[q] / b.discharge_efficiency)
                    drop = max(end - lo, 0.0)
                    d = min(ch[q], excess, drop / b.charge_efficiency)
                    ch[q] -= d
                    excess -= d
                    net -= d
                    drop -= b.charge_efficiency * d
                    d = min(max(b.discharge_power_mw - dis[q], 0.0), excess,
                            drop * b.discharge_efficiency)
                    dis[q] += d
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
                imp = exp = uns = 0.0
                used_ren = ren
                if net > 0:
                    imp = min(net, imp_cap)
                    uns = net - imp
                else:
                    surplus = -net
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
                      "green_penalty_per_mwh": self.green_penalty, "scenarios": 1,
                      "price_known_h": int(self.known_h[self.series.price].max(initial=0)),
                      "plan": self.plan_mode,
                      "replan_h": self.replan_h if self.plan_mode else None,
                      "windows": "model"})
