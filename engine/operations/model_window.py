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
  rule ``min_survival_h``: every window keeps enough SOC and fuel for the outages it can
  see. The rule is elastic (a MWh of critical load a start would miss costs 10x the
  value of lost load, the critical tier's default), so that a window that a forecast error
  left short carries as much as it can instead of having no solution. Windows planned on
  forecasts count in their outage scenarios, per hour, the lower of the forecast PV + wind
  and a low quantile (``outage_renewable_quantile``, default 0: the least) of the actual
  PV + wind at the same hour of day over the last ``outage_lookback_d`` days before the
  origin (:meth:`ModelWindowRun._outage_renewables`): the full forecast would leave a start
  short of the rule after an optimistic forecast (seen with persistence and Holt-Winters),
  and none at all (``None``, the rule before) held the battery high at night and doubled
  the demand charge on the microgrid week. An outage running past the window's end wraps
  to the window's first hours (as the full model wraps at the horizon's end; with 24-h
  multiples the same hours of day);
* the month's realised peak as the lower bound of its peak variable, the green-share bank
  of the committed hours in the annual floor's row (with a slack at
  ``green_penalty_per_mwh``) and the battery's terminal SOC rule (the scenario's initial
  SOC at each window's end, exactly the scenario's rule in the window holding the last
  hour), as in the LP windows.

With ``scenarios=K`` (``K >= 2``) a window on forecasts is ``K`` copies of this model over
PV and wind scenarios with the committed hours shared (:mod:`engine.operations.
model_scenarios`); its plan is the point forecast's copy.

With ``plan="annual"`` the horizon's MILP on forecasts made at the origin, the realised past
fixed (:meth:`ModelWindowRun.replan`, every ``replan_h``), replaces those fixed rules by its
targets: the SOC at the window's last hour, each job's progress by the window's end (no
terminal value then), the planned monthly peaks, and the runs it starts inside the window.

Each window is built and solved from scratch (HiGHS, the LP relaxation first as
:func:`engine.optimize` does). Its first ``step_h`` hours are committed (genset commitment
and power, battery schedule, job power, non-preemptible starts) and realised against the
actual data: job power is cut pro rata where the actual inflexible load leaves less IT
headroom (non-preemptible runs are not cut); the battery charges less, then discharges
more, where the site would import above the window's planned monthly peak or the import
limit (with a survival rule, not below the window's real-time floor: the planned SOC less
the slack of the outage starts a deviation reaches, from a small LP on the window's own
model, :meth:`ModelWindowRun._soc_floor`; in hours from which no outage start is reachable,
the horizon's last, where that floor is the planned SOC, by moving the step's later planned
discharge to the hour up to the later hour's peak target); then preemptible job power is
deferred there, as far as each job can still finish after the committed step at half its
maximum power. A deficit beyond the window's planned import (a surprise: none with perfect forecasts) is then settled from the battery
before the grid: it charges less, then discharges more, while the hour's actual import price
beats refilling at the cheapest price the window expects later in it (through both
efficiencies, plus the round trip's degradation), and with a survival rule not below the
same real-time floor. A battery that self-discharge takes below its minimum charges back
to it. The grid takes the rest up to its limit (then load is
unserved, the sheddable tier first). A surplus beyond the window's
planned curtailment and, in windows on actual data only, its planned export (on forecasts
a planned export rests on renewables of later hours that may not come) first discharges
less and charges the battery more, within its power and SOC; what is left is exported where
worth it and the rest curtailed. Fuel is burnt on the genset's fuel curve.

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

import logging
import time
from dataclasses import replace
from typing import Any, Optional

import numpy as np

from engine.backends import SolverOptions
from engine.components import genset as _genset
from engine.model.build import build
from engine.model.data import ScenarioData
from engine.model.linear import ModelArrays
from engine.operations.forecasts import _forecasts, _stack_series
from engine.operations.model_data import _append_cols, _solve, _WindowData, needs_model_window
from engine.operations.model_plan import _ModelPlanner
from engine.operations.model_realise import _ModelRealiser
from engine.operations.model_scenarios import _ModelScenarios
from engine.operations.model_survival import _SurvivalRules
from engine.operations.result import WindowProgress
from engine.status import Status

log = logging.getLogger(__name__)

__all__ = ["ModelWindowRun", "needs_model_window"]


class ModelWindowRun(_WindowData, _ModelPlanner, _ModelRealiser, _SurvivalRules,
                     _ModelScenarios):
    """State of one rolling run whose windows are the full formulation on the window's
    hours (see the module docstring)."""

    def __init__(self, data: ScenarioData, W: int, step: int, forecaster, warmup: int,
                 job_value: Optional[float], green_penalty: Optional[float],
                 highs_options: dict, known_h: int = 0,
                 outage_renewable_quantile: Optional[float] = 0.0,
                 outage_lookback_d: int = 14) -> None:
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
        #: the forecast series observed before hour 0 ((n_series, history_h), ``history_h``:
        #: :mod:`engine.operations.history`); None: no history
        self.history: Optional[np.ndarray] = None
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
        #: windows on forecasts credit their outage scenarios' PV and wind at this quantile
        #: of the same hours of the past ``outage_lookback_d`` days (capped by the
        #: forecast); None: without PV and wind (:meth:`_outage_renewables`)
        self.outage_renewable_quantile = outage_renewable_quantile
        self.outage_lookback_d = int(outage_lookback_d)
        #: real-time floor of the SOC with a survival rule: the planned SOC less the next
        #: outage start's slack (:meth:`_soc_floor`); False: the planned SOC
        self.slack_floor = True
        #: a surprise surplus (beyond the planned export) charges the battery
        self.store_surplus = True
        #: ... and so does the planned export, where the battery has room: it was planned
        #: on forecast renewables of later hours that may not come
        self.store_planned_export = True
        #: with a survival rule, a real-time deficit in an hour from which no outage start
        #: is reachable (the horizon's last hours) moves planned discharge of a later hour
        #: of the step to it (model_realise._shift_discharge)
        self.shift_discharge = True
        #: a surprise deficit (import beyond the planned) is settled from the battery first
        #: where the hour's price beats refilling later (model_realise._settle_deficit)
        self.settle_deficit = True
        #: forecast scenarios per window (``scenarios``,
        #: :mod:`engine.operations.model_scenarios`); 1: the point forecast's window
        self.K_model = 1
        #: ... drawn among this many most recent complete error paths
        self.scenario_paths = 20
        #: scenarios left out (a model of another shape than the point forecast's)
        self.scenario_dropped = 0
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
                             self.known_h, self.history)
        if self.K_model > 1 and self.forecaster != "perfect":
            self._error_paths()

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
        # outages seen on forecasts: their renewables credited at a low quantile of the
        # same hours of the past days (robust to the forecast's errors), or not at all
        if o >= self.warmup and self.forecaster != "perfect" and "outage/renewable_mw" in vg:
            g = vg["outage/renewable_mw"]
            col_ub[g.start:g.start + g.size] = np.minimum(
                col_ub[g.start:g.start + g.size], self._outage_renewables(f, wd, info))
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

    # ------------------------------------------------------------------ the loop
    def loop(self, progress: bool = False, on_progress=None) -> None:
        prog = WindowProgress(self.origins.size, progress, on_progress)
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
                # with scenarios=K: the two-stage window (model_scenarios), else (or where it
                # has no solution) the point forecast's
                st = (self._scenario_window(k, f, a, info) if self.K_model > 1
                      and o >= self.warmup and self.forecaster != "perfect" else None)
                t1 = time.perf_counter()
                x, used = None, a
                if st is not None:
                    out = _solve(st[0], self.options)
                    relaxed = ""
                    if out.x is not None:
                        x, used = out.x[:st[1]], st[0]
                    else:
                        log.warning("scenario window at hour %d: %s; the point forecast's "
                                    "window instead", o, out.status)
                if x is None:
                    out, relaxed = self._solve_window(f, a, o)
                    x = out.x
                t2 = time.perf_counter()
                if self.capture is not None:
                    self.capture.append(used)
                o = info["o"]
                rec = {"origin_h": o, "forecast": "warmup" if o < self.warmup else self._name,
                       "status": str(out.status), "objective": out.objective,
                       "iterations": out.iterations, "mip": bool(a.is_mip),
                       "build_s": t1 - t0, "solve_s": t2 - t1, "plan_s": plan_s,
                       "relaxed": relaxed}
                rec["scenarios"] = used.A.shape[1] // a.A.shape[1]
                if x is None:
                    log.warning("window at hour %d: %s; batteries, gensets and jobs idle for "
                                "its step", o, out.status)
                    plan = None
                else:
                    plan = self._plan(f, x[:f.model.n_cols], info, wd)
                    if self.bats:
                        plan["soc_floor"], plan["shift_ok"] = self._soc_floor(
                            f, a, x, plan["c"], plan["soc"])
                    nc = f.model.n_cols
                    rec["slack"] = float(x[nc:].sum())
                self._realise(info, plan)
                rec["window_s"] = time.perf_counter() - t0
                rec["window_cpu_s"] = time.process_time() - c0
                self.records.append(rec)
                prog.done(k, rec)
        finally:
            prog.close()

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
        # merit-order settlement (model_realise): the import the window planned (a deficit
        # beyond it is a surprise) and the cheapest import price it expects after each
        # committed hour (its own forecasts: no leakage)
        plan["imp"] = (val("grid/import_mw")[:, :c] if "grid/import_mw" in vg
                       else np.zeros((G, c)))
        price = np.array([sd.grid_import_price if np.size(sd.grid_import_price)
                          else np.full(n, np.inf) for sd in wd.sites]).reshape(self.S, n)
        plan["refill"] = np.array([[price[s, t + 1:].min(initial=np.inf) for t in range(c)]
                                   for s in range(self.S)])
        # planned export and curtailment: a surplus beyond them is a surprise
        plan["exp"] = (val("grid/export_mw")[:, :c] if "grid/export_mw" in vg
                       else np.zeros((G, c)))
        curt = np.zeros((self.S, c))
        for kind, key in (("pv", "pv_avail_mw"), ("wind", "wind_avail_mw")):
            if f"{kind}/power_mw" in vg:
                used = val(f"{kind}/power_mw")[:, :c]
                avail = np.concatenate([getattr(sd, key).reshape(-1, info["n"])
                                        for sd in wd.sites])[:, :c]
                site = np.concatenate([np.full(len(getattr(sd.site, kind)), s)
                                       for s, sd in enumerate(wd.sites)]).astype(np.int64)
                np.add.at(curt, site, np.maximum(avail - used, 0.0))
        plan["curt"] = curt
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
