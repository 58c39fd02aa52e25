"""The rolling-horizon controller: :func:`rolling_optimize` and the run loop (forecast,
then per window: plan, solve in place, commit and realise), and the realised result
(see :mod:`engine.operations` for what is forecast, committed and realised)."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import pandas as pd

from engine.backends import SolverOptions
from engine.components.grid import demand_charge_factors
from engine.errors import ScenarioError
from engine.model.build import build
from engine.model.data import ScenarioData, prepare
from engine.operations.forecasts import FORECASTERS, Forecaster, _forecasts, _stack_series
from engine.operations.guide import PLANS, PlanGuide, monthly_cost, shortest_monthly_horizon
from engine.operations.history import check_history_h, observed_history
from engine.operations.model_survival import check_outage_credit
from engine.operations.model_window import ModelWindowRun, needs_model_window
from engine.operations.plan import _Planner
from engine.operations.realise import _Realiser
from engine.operations.result import RollingResult, WindowProgress
from engine.operations.scenarios import ScenarioWindow, scenario_forecasts
from engine.operations.window import WindowModel
from engine.results import extract
from engine.scenario.container import Scenario, load_scenario
from engine.status import Status

log = logging.getLogger(__name__)

__all__ = ["rolling_optimize"]


def _check_args(T: int, window_h: int, step_h: int, forecaster, warmup_h,
                history_h: int = 0) -> int:
    if not isinstance(window_h, (int, np.integer)) or window_h < 1:
        raise ScenarioError(f"window_h must be a positive integer [h], got {window_h!r}")
    if not isinstance(step_h, (int, np.integer)) or step_h < 1:
        raise ScenarioError(f"step_h must be a positive integer [h], got {step_h!r}")
    if window_h < step_h:
        raise ScenarioError(f"window_h must be >= step_h, got window_h={window_h}, step_h={step_h}")
    if not callable(forecaster) and forecaster not in FORECASTERS:
        raise ScenarioError(f"forecaster must be one of {sorted(FORECASTERS)} or a callable, got "
                         f"{forecaster!r}")
    if warmup_h is None:
        # the history counts towards what the forecaster needs: it is observed data before
        # the first window, as the warm-up hours are
        need = 1 if callable(forecaster) else FORECASTERS[forecaster]
        warmup_h = max(0, need - history_h)
    if not isinstance(warmup_h, (int, np.integer)) or warmup_h < 0:
        raise ScenarioError(f"warmup_h must be a non-negative integer [h], got {warmup_h!r}")
    if forecaster != "perfect" and warmup_h >= T:
        raise ScenarioError(f"forecaster {forecaster!r} needs warmup_h={warmup_h} h of history, but "
                         f"the scenario has only horizon_h={T} h")
    return int(warmup_h)


def _check_plan(plan, replan_h, run) -> None:
    if plan is not None and plan not in PLANS:
        raise ScenarioError(f"plan must be one of {list(PLANS)} or None, got {plan!r}")
    if plan is None:
        return
    if not isinstance(replan_h, (int, np.integer)) or replan_h < run.step:
        raise ScenarioError(f"replan_h must be an integer >= step_h={run.step} [h] (a plan per "
                         f"committed step at most), got {replan_h!r}")
    if plan == "monthly":
        shortest = shortest_monthly_horizon(run.data, run.origins)
        if shortest < run.W:
            raise ScenarioError(f"plan='monthly' covers as little as {shortest} h ahead, shorter "
                             f"than window_h={run.W}: use plan='annual' or a shorter window")


def _unsupported(data: ScenarioData) -> None:
    jobs = data.jobs
    for k, name in enumerate(jobs.names):
        # non-preemptible and power-capped jobs: the windows of engine.operations.model_window
        what = "gpu_block (gang blocks are integer)" if jobs.block_mw[k] > 0 else None
        if what is not None:
            raise ScenarioError(
                f"jobs[{k}]: job {name!r} has {what}, which the rolling controller does not "
                "handle yet; use optimize(), or drop the option for a rolling run")
    sc = data.scenario
    for field, present in (
            ("shared_storage", bool(getattr(sc, "shared_storage", None))),
            ("demand_response", getattr(sc, "demand_response", None) is not None),
            ("ev_charging", any(getattr(s, "ev_charging", None) is not None for s in sc.sites))):
        if present:
            raise ScenarioError(f"{field}: the rolling controller does not handle it yet; use "
                                "optimize()")
    for s, sd in enumerate(data.sites):
        for k, h in enumerate(sd.site.hydro):
            if h.energy_budget_mwh is not None:
                raise ScenarioError(
                    f"sites[{s}].hydro[{k}].energy_budget_mwh: a hydro energy budget couples "
                    "every hour of the horizon, which the rolling controller does not handle "
                    f"yet; use optimize(), or drop the budget for a rolling run, got "
                    f"{h.energy_budget_mwh}")


def rolling_optimize(
    scenario: Scenario | str | Path,
    window_h: int = 48,
    step_h: int = 24,
    forecaster: Union[str, Forecaster] = "holt_winters",
    progress: bool = False,
    on_progress: Optional[Callable[[int, int, dict], None]] = None,
    *,
    warmup_h: Optional[int] = None,
    history_h: Optional[int] = None,
    job_value_per_mwh: Optional[float] = None,
    green_penalty_per_mwh: Optional[float] = None,
    peak_baseline_fraction: float = 0.0,
    value_of_information: bool = False,
    plan: Optional[str] = None,
    replan_h: int = 168,
    scenarios: int = 1,
    price_known_h: int = 0,
    verify_every: int = 0,
    highs_options: Optional[dict] = None,
    outage_renewable_quantile: Optional[float] = 0.0,
    outage_lookback_d: int = 14,
) -> RollingResult:
    """Operate a scenario over a receding horizon with forecasts (model predictive control).

    See the module docstring for exactly what is forecast, committed and realised, and how
    jobs, the battery, the demand charge and the green-share floor are treated.

    Parameters
    ----------
    scenario : Scenario or path
        The scenario; its series are the *actual* data the decisions are realised against.
    window_h : int, default 48
        Hours planned at each origin [h].
    step_h : int, default 24
        Hours committed at each origin, and the distance between origins [h]; <= window_h.
    forecaster : {"holt_winters", "holt_winters_anchored", "holt_winters_adaptive", \
"seasonal_naive", "persistence", "perfect"} or callable
        How the window's PV, wind, inflexible load, PUE and import price are forecast.
        ``"holt_winters_anchored"`` re-anchors Holt–Winters on the latest one-step error
        (:mod:`kernels.forecast.anchor`): better over the first hours, so it pays with a
        short ``step_h``. ``"holt_winters_adaptive"`` also refits the smoothing parameters
        every 720 h on the last 8 weeks, kept where they forecast the last 2 weeks better
        (:func:`engine.operations.forecasts._adaptive`).
        ``"perfect"`` uses the actual data (perfect forecasts). A callable gets
        ``(history, horizon)`` with ``history`` of shape ``(n_series, o)``, only the data
        before the origin, and returns ``(n_series, horizon)``.
    progress : bool
        Show a tqdm progress bar over the windows.
    on_progress : callable, optional
        ``on_progress(k, n_windows, record)`` after each window.
    warmup_h : int, optional
        Hours planned on actual data before forecasts start; default what the forecaster
        needs (see ``FORECASTERS``). Holt–Winters fits on at least 72 h; below 336 h the
        load and price get a daily season only (a weekly one needs two weeks). The
        ``history_h`` hours count towards that need: the default is what the forecaster
        needs beyond them.
    history_h : int, optional
        Hours observed before the scenario's ``start`` on which the forecasters are fitted
        [h], >= 0; None or 0: none (:mod:`engine.operations.history`). They are read from
        the scenario's own inputs (its file read again from ``start - history_h``: the
        weather CSV, tariffs, load rules), so ``scenario`` must be a path; they are only
        observations (no decision, cost or state comes from them). The forecasters fit on
        ``history_h + warmup_h`` hours, and Holt–Winters gets the weekly season of load
        and price from 336 of them on.
    job_value_per_mwh : float, optional
        Terminal value of a job's IT energy done before the window end [currency/MWh];
        default the median forecast marginal grid cost of the window (see module notes).
    green_penalty_per_mwh : float, optional
        Price of the green-share slack [currency/MWh]; default a quarter of the value of
        lost load, so that no load is shed to meet the floor.
    peak_baseline_fraction : float, default 0.0
        With a demand charge, each month's peak variable is bounded below by the peak already
        realised in that month and by this fraction of the previous month's realised peak
        [-], in [0, 1]. 0 is the plain peak-so-far rule. A positive value stops the first
        windows of a month from buying expensive energy to keep a peak low that the month
        will exceed anyway; 1 ratchets peaks up month after month.
    plan : {"annual", "monthly", None}, default None
        Guide the windows by a long-horizon plan (:mod:`engine.operations.guide`): the
        scenario's hourly LP on forecasts made at the origin, with the realised past fixed;
        ``"annual"`` re-plans the whole remaining horizon, ``"monthly"`` the hours to the end
        of the next calendar month. Its monthly peaks, the value of stored energy (duals),
        the jobs' values and progress and the green-share bank it still needs replace the
        fixed rules above. None: the fixed rules.
        Scenarios operated by :mod:`engine.operations.model_window` take "annual" or None:
        there the plan is the horizon's MILP and gives the windows targets (SOC at their end,
        job progress, monthly peaks, which runs start).
    replan_h : int, default 168
        Hours between plans [h]; >= step_h.
    scenarios : int, default 1
        Forecast scenarios per window, >= 1 (:mod:`engine.operations.scenarios`): with
        ``K >= 2`` each window is one two-stage LP over the point forecast and ``K - 1``
        bootstrap scenarios of past forecast errors, the committed hours' decisions shared
        (their expected cost minimised). 1: the deterministic window. Model windows
        (:mod:`engine.operations.model_scenarios`): ``K`` copies of the window's model
        over earlier PV and wind error paths.
    price_known_h : int, default 0
        Hours after each origin whose import price is published before it and used as it
        is [h] (a day-ahead market publishes tomorrow's prices the day before: 24 at
        midnight origins); the later hours are forecast. 0: every hour forecast. It is an
        assumption about the market, not a forecast: report runs with and without it.
    value_of_information : bool, default False
        Also run perfect-forecast rolling and the annual optimum (:func:`engine.optimize`)
        and report the realised cost against both (``RollingResult.value_of_information``;
        empty without it). Opt-in: it re-solves the annual LP and, unless the forecaster is
        ``"perfect"``, a second rolling run.
    verify_every : int, default 0
        Every this many windows, also build the window from scratch, solve it cold and
        record the objective difference to the in-place warm-started solve
        (``windows["rebuild_objective_diff"]``); 0 never.
    highs_options : dict, optional
        Further HiGHS options by name.
    outage_renewable_quantile : float or None, default 0.0
        Windows on forecasts with outage scenarios: the PV + wind an outage hour may count
        on is the lower of the forecast and this quantile, in [0, 1], of the actual PV +
        wind at that hour of day over the ``outage_lookback_d`` days before the origin;
        None: none (:mod:`engine.operations.model_survival`, ``ROLLING_RESULTS.md``).
    outage_lookback_d : int, default 14
        Days behind ``outage_renewable_quantile``, >= 1.

    Returns
    -------
    RollingResult

    Raises
    ------
    engine.errors.ScenarioError
        For bad arguments (naming the argument and the value; a ``ValueError``), for a
        ``history_h`` the scenario's inputs do not cover (naming it and the source), and for
        scenario features the controller does not handle (naming the field: hydro energy
        budgets, shared storage, demand response, EV charging, gang-block jobs).
    """
    t_start = time.perf_counter()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    data = prepare(sc)
    T = data.T
    hist_h = check_history_h(history_h)
    warmup = _check_args(T, window_h, step_h, forecaster, warmup_h, hist_h)
    history = observed_history(None if isinstance(scenario, Scenario) else Path(scenario),
                               data, hist_h)
    _unsupported(data)
    if not 0.0 <= peak_baseline_fraction <= 1.0:
        raise ScenarioError(f"peak_baseline_fraction must be in [0, 1], got {peak_baseline_fraction}")
    if (isinstance(scenarios, bool) or not isinstance(scenarios, (int, np.integer))
            or scenarios < 1):
        raise ScenarioError(f"scenarios must be an integer >= 1 (forecast scenarios per window), "
                         f"got {scenarios!r}")
    if (isinstance(price_known_h, bool) or not isinstance(price_known_h, (int, np.integer))
            or price_known_h < 0):
        raise ScenarioError(f"price_known_h must be an integer >= 0 [h], got {price_known_h!r}")
    q = check_outage_credit(outage_renewable_quantile, outage_lookback_d)
    if needs_model_window(data):
        if plan not in (None, "annual"):
            raise ScenarioError(
                f"plan: scenarios with gensets, outage scenarios, non-preemptible or "
                f"power-capped jobs are planned over the whole rest of the horizon "
                f"(plan='annual') or not at all (None), got {plan!r}")
        for arg, value, default in (("peak_baseline_fraction", peak_baseline_fraction, 0.0),
                                    ("verify_every", verify_every, 0)):
            if value != default:
                raise ScenarioError(
                    f"{arg}: scenarios with gensets, outage scenarios, non-preemptible or "
                    f"power-capped jobs are operated with the full formulation's windows "
                    f"(engine.operations.model_window): only {arg}={default!r}, got {value!r}")
        run = ModelWindowRun(data, int(window_h), int(step_h), forecaster, warmup,
                             job_value_per_mwh, green_penalty_per_mwh, highs_options or {},
                             int(price_known_h), q, int(outage_lookback_d))
        run.history = history
        run.K_model = int(scenarios)
        _check_plan(plan, replan_h, run)
        if plan is not None:
            run.set_plan(plan, int(replan_h))
        return _finish(run, sc, data, t_start, forecaster, value_of_information, progress,
                       on_progress, {"window_h": window_h, "step_h": step_h,
                                     "scenario": scenario, "history_h": hist_h,
                                     "plan": plan, "replan_h": replan_h,
                                     "price_known_h": price_known_h,
                                     "job_value_per_mwh": job_value_per_mwh,
                                     "green_penalty_per_mwh": green_penalty_per_mwh,
                                     "highs_options": highs_options,
                                     "outage_renewable_quantile": q,
                                     "outage_lookback_d": outage_lookback_d})
    run = _RollingRun(data, int(window_h), int(step_h), forecaster, warmup, job_value_per_mwh,
                      green_penalty_per_mwh, highs_options or {}, float(peak_baseline_fraction),
                      int(scenarios))
    run.history = history
    _check_plan(plan, replan_h, run)
    run.known_h[run.series.price] = int(price_known_h)
    if plan is not None:
        run.guide = PlanGuide(run, plan, int(replan_h))
    t_prep = time.perf_counter()
    run.forecast()
    t_fc = time.perf_counter()
    run.loop(progress=progress, on_progress=on_progress, verify_every=verify_every)
    t_loop = time.perf_counter()
    res = run.result()
    res.timings = {"prepare_s": t_prep - t_start, "forecast_s": t_fc - t_prep,
                   "loop_s": t_loop - t_fc, "extract_s": time.perf_counter() - t_loop}
    if run.guide is not None:  # inside loop_s
        res.timings["plan_forecast_s"] = run.guide.forecast_s
        res.timings["plan_solve_s"] = run.guide.plan_s
    if value_of_information:
        from engine.operations.voi import value_of_information as _voi

        _voi(res, data, forecaster,
             {"window_h": window_h, "step_h": step_h, "plan": plan, "replan_h": replan_h,
              "scenario": scenario, "history_h": hist_h, "scenarios": scenarios, "price_known_h": price_known_h,
              "job_value_per_mwh": job_value_per_mwh,
              "green_penalty_per_mwh": green_penalty_per_mwh,
              "peak_baseline_fraction": peak_baseline_fraction, "highs_options": highs_options},
             rolling_optimize)
        res.timings["value_of_information_s"] = time.perf_counter() - t_loop - res.timings[
            "extract_s"]
    res.timings["total_s"] = time.perf_counter() - t_start
    return res



def _finish(run: ModelWindowRun, sc: Scenario, data: ScenarioData, t_start: float, forecaster,
            value_of_information: bool, progress: bool, on_progress, args: dict
            ) -> RollingResult:
    """Run the windows of :mod:`engine.operations.model_window` and report them."""
    t_prep = time.perf_counter()
    run.forecast()
    t_fc = time.perf_counter()
    run.loop(progress=progress, on_progress=on_progress)
    t_loop = time.perf_counter()
    res = run.result()
    res.timings = {"prepare_s": t_prep - t_start, "forecast_s": t_fc - t_prep,
                   "loop_s": t_loop - t_fc, "extract_s": time.perf_counter() - t_loop}
    if value_of_information:
        from engine.operations.voi import value_of_information as _voi

        _voi(res, data, forecaster, dict(args, scenarios=1, peak_baseline_fraction=0.0),
             rolling_optimize)
        res.timings["value_of_information_s"] = time.perf_counter() - t_loop - res.timings[
            "extract_s"]
    res.timings["total_s"] = time.perf_counter() - t_start
    return res


class _RollingRun(_Planner, _Realiser):
    """State of one rolling run: the persistent window model, forecasts, realised arrays."""

    def __init__(self, data: ScenarioData, W: int, step: int, forecaster, warmup: int,
                 job_value: Optional[float], green_penalty: Optional[float],
                 highs_options: dict, peak_baseline: float = 0.0, scenarios: int = 1) -> None:
        self.data = data
        self.W, self.step, self.forecaster, self.warmup = W, step, forecaster, warmup
        self.job_value = job_value
        self.peak_baseline = peak_baseline
        #: the long-horizon plan guiding the windows (None: the fixed rules)
        self.guide: Optional[PlanGuide] = None
        #: with a plan: its job progress by a window's end is that window's minimum
        self.plan_progress = True
        #: realisation defers job power where the site would import above the planned peak
        self.defer_jobs = True
        #: realisation re-dispatches batteries against surprises at the value of stored
        #: energy (minus the window's SOC-balance duals): see :meth:`_Realiser.realise`
        self.value_policy = True
        #: with it, job power also follows surprises (see :meth:`_Realiser._jobs_realtime`)
        self.realtime_jobs = True
        #: and defers job power against surprise shortfalls dearer than the job's value
        self.realtime_defer = False
        sc = data.scenario
        T = data.T
        self.T = T
        self.origins = np.arange(0, T, step, dtype=np.int64)
        self.series = _stack_series(data)
        #: hours after each origin of each forecast series known before it (published
        #: day-ahead prices: ``price_known_h``); 0 forecast
        self.known_h = np.zeros(self.series.Y.shape[0], np.int64)
        #: the forecast series observed before hour 0 ((n_series, history_h), ``history_h``:
        #: :mod:`engine.operations.history`); None: no history
        self.history: Optional[np.ndarray] = None
        jobs = data.jobs
        self.J = len(jobs.names)
        # slots per site: the most jobs of that site whose window meets any planning window
        S = len(data.sites)
        if self.J:
            meets = (jobs.release[None, :] < self.origins[:, None] + W) & (
                jobs.deadline[None, :] > self.origins[:, None])  # (O, J)
            per_site = np.stack([(meets & (jobs.site == s)[None, :]).sum(1) for s in range(S)])
            k_site = per_site.max(axis=1)
        else:
            k_site = np.zeros(S, np.int64)
        self.slot_site = np.repeat(np.arange(S), k_site)
        # month slots: the most distinct months any window touches
        month = data.month
        mpad = np.concatenate([month, np.full(W, month[-1])])
        span = mpad[self.origins + W - 1] - month[self.origins] + 1
        self.n_month_slots = int(span.max())
        pol = sc.policy
        self.green_penalty = (0.25 * pol.value_of_lost_load_per_mwh if green_penalty is None
                              else float(green_penalty))
        self.wm = WindowModel(data, W, self.slot_site, self.n_month_slots, self.green_penalty)
        self.options = SolverOptions(highs_options=dict(highs_options))
        #: forecast scenarios per window; K >= 2: the two-stage window of
        #: :mod:`engine.operations.scenarios` (None: the deterministic window)
        self.K = int(scenarios)
        self.sw = ScenarioWindow(self.wm, self.K, step) if self.K > 1 else None
        self.fc_scen: Optional[np.ndarray] = None

        # ---- realised state and history
        wm = self.wm
        B = len(wm.bats)
        self.soc = np.array([b.initial_soc_fraction * b.energy_mwh for b in wm.bats])
        self.soc0 = self.soc.copy()
        # end-of-window SOC target: the scenario's initial SOC unless its rule is "free"
        self.soc_target = np.array([b.initial_soc_fraction * b.energy_mwh
                                    if b.terminal != "free" else b.soc_min_fraction * b.energy_mwh
                                    for b in wm.bats])
        self.soc_equal = np.array([b.terminal == "equal_initial" for b in wm.bats], bool)
        self.remaining = jobs.energy_mwh.astype(np.float64).copy()
        self.slot_job = np.full(self.slot_site.size, -1, np.int64)
        G = wm.grid_site.size
        self.peak = np.zeros((G, data.n_months))
        # each month's demand charge per MW of peak, pro-rated as the annual LP's
        grids = [sd.site.grid for sd in data.sites if sd.site.grid is not None]
        self.peak_rate = (np.array([g.demand_charge_per_mw_month for g in grids])[:, None]
                          * demand_charge_factors(data, grids)).reshape(G, data.n_months)
        self.bank = 0.0
        self.r = {
            "pv": np.zeros((wm.pv_site.size, T)), "wind": np.zeros((wm.wind_site.size, T)),
            "hydro": np.zeros((wm.hydro_site.size, T)), "ch": np.zeros((B, T)),
            "dis": np.zeros((B, T)), "soc": np.zeros((B, T)), "imp": np.zeros((G, T)),
            "exp": np.zeros((G, T)), "unserved": np.zeros((S, T)),
            "job": np.zeros((self.J, T)),
        }
        self.records: list[dict] = []
        self._name = ("callable" if callable(forecaster) else str(forecaster))
        #: when a list, each window appends (WindowNumbers, changed coefficient positions):
        #: what benchmarks.rolling replays against bare highspy
        self.capture: Optional[list] = None
        # actual (known) arrays by asset, (n, T)
        self.act_pv = np.array([y for sd in data.sites for y in sd.pv_avail_mw]).reshape(-1, T)
        self.act_wind = np.array([y for sd in data.sites for y in sd.wind_avail_mw]).reshape(-1, T)
        self.hmin = np.array([y for sd in data.sites for y in sd.hydro_min_mw]).reshape(-1, T)
        self.hmax = np.array([y for sd in data.sites for y in sd.hydro_max_mw]).reshape(-1, T)
        self.act_inflex = np.array([sd.inflexible_it_mw for sd in data.sites])
        self.act_pue = np.array([sd.pue for sd in data.sites])
        gs = [data.sites[s] for s in wm.grid_site]
        self.g_price = np.array([sd.grid_import_price for sd in gs]).reshape(G, T)
        self.g_export = np.array([sd.grid_export_price for sd in gs]).reshape(G, T)
        self.g_ef = np.array([sd.grid_emission_kg_per_mwh for sd in gs]).reshape(G, T)
        self.g_clean = np.array([sd.grid_clean_share for sd in gs]).reshape(G, T)
        self.g_up = np.array([sd.grid_available for sd in gs]).reshape(G, T)

    # --------------------------------------------------------------------- forecasts
    def forecast(self) -> None:
        self.fc = _forecasts(self.series, self.origins, self.W, self.forecaster, self.warmup,
                             self.known_h, self.history)
        if self.sw is not None:
            se = self.series
            self.fc_scen = scenario_forecasts(se.Y, self.fc, self.origins, self.warmup, self.K,
                                              se.lo, se.hi)

    def _numbers(self, k: int, inp):
        """The window's numbers: the deterministic window's, or the stacked scenarios'."""
        if self.sw is None:
            return self.wm.numbers(inp)
        se, W = self.series, self.W
        copies = []
        for j in range(self.K):
            f = self.fc_scen[:, k, j, :]
            pue = np.where(inp.valid[None, :], f[se.pue], 1.0)
            copies.append(self.wm.numbers(replace(
                inp, pv_avail_mw=f[se.pv].reshape(-1, W), wind_avail_mw=f[se.wind].reshape(-1, W),
                inflex_mw=f[se.inflex].reshape(inp.inflex_mw.shape),
                pue=pue.reshape(inp.pue.shape),
                price_import=f[se.price].reshape(inp.price_import.shape))))
        return self.sw.numbers(copies)

    # --------------------------------------------------------------------- the loop
    def loop(self, progress: bool = False, on_progress=None, verify_every: int = 0) -> None:
        from engine.backends.highs import PersistentHighs, to_highs  # highspy stays there

        prog = WindowProgress(self.origins.size, progress, on_progress)
        solver = None
        prev_coef = None
        O = self.origins.size
        try:
            for k in range(O):
                o = int(self.origins[k])
                plan_rec = None
                if self.guide is not None and self.guide.due(o):
                    plan_rec = self.guide.replan(o)
                t0 = time.perf_counter()
                inp = self.inputs(k)
                nums = self._numbers(k, inp)
                lp = self.wm if self.sw is None else self.sw
                if solver is None:
                    solver = PersistentHighs(lp.arrays(nums), self.options)
                else:
                    changed = np.flatnonzero(nums.coef_vals != prev_coef)
                    solver.update(nums.col_lb, nums.col_ub, nums.cost, nums.row_lb, nums.row_ub,
                                  lp.coef_rows[changed], lp.coef_cols[changed],
                                  nums.coef_vals[changed])
                    if self.capture is not None:
                        self.capture.append((nums, changed))
                prev_coef = nums.coef_vals
                if self.capture is not None and k == 0:
                    self.capture.append((nums, None))
                t1 = time.perf_counter()
                out = solver.run()
                rec = {"origin_h": o, "forecast": "warmup" if o < self.warmup else self._name,
                       "status": str(out.status), "objective": out.objective,
                       "iterations": out.iterations, "solve_s": out.timings["run_s"],
                       "update_s": t1 - t0,
                       "plan_s": plan_rec["total_s"] if plan_rec else 0.0}
                x = out.x
                if x is not None and self.sw is not None:
                    x = self.sw.first(x)
                if x is not None:
                    wm = self.wm
                    rec["green_slack_mwh"] = (float(wm.value(x, "slack").sum())
                                              if "slack" in wm.g else 0.0)
                    rec["job_shortfall_mwh"] = (float(wm.value(x, "short").sum())
                                                if "short" in wm.g else 0.0)
                else:
                    log.warning("window at hour %d: %s; battery and jobs idle for its step",
                                o, out.status)
                if verify_every and k % verify_every == 0:
                    h = to_highs(lp.arrays(nums), self.options)
                    h.run()
                    cold = float(h.getInfo().objective_function_value)
                    rec["rebuild_objective_diff"] = abs(cold - out.objective) / max(
                        1.0, abs(cold))
                soc_value = None
                if x is not None and self.value_policy and len(self.wm.bats):
                    if self.sw is None:
                        a, b, shape = self.wm._rs["battery/soc_balance"]
                        soc_value = -solver.row_duals()[a:b].reshape(shape)
                    else:
                        soc_value = self.sw.soc_value(solver.row_duals())
                self.realise(k, x, inp, soc_value)
                self.records.append(rec)
                prog.done(k, rec)
        finally:
            prog.close()

    def realised_x(self, f) -> np.ndarray:
        """The realised decisions as a solution vector of the horizon's model ``f``
        (hours not realised yet are 0)."""
        x = np.zeros(f.model.n_cols)
        vg = f.model.var_groups
        r = self.r

        def put(name: str, values: np.ndarray) -> None:
            if name in vg:
                gp = vg[name]
                x[gp.start:gp.start + gp.size] = np.asarray(values).reshape(-1)

        put("pv/power_mw", r["pv"])
        put("wind/power_mw", r["wind"])
        put("hydro/power_mw", r["hydro"])
        put("battery/charge_mw", r["ch"])
        put("battery/discharge_mw", r["dis"])
        put("battery/soc_mwh", r["soc"])
        put("grid/import_mw", r["imp"])
        put("grid/export_mw", r["exp"])
        if "grid/peak_mw" in vg:
            put("grid/peak_mw", self.peak)
        if "job/power_mw" in vg:
            meta = f.meta["job"]
            put("job/power_mw", r["job"][meta["job_of"], meta["t_of"]])
        put("bus/unserved_mw", r["unserved"])
        return x

    # --------------------------------------------------------------------- result
    def result(self) -> RollingResult:
        """The realised horizon through :func:`engine.results.extract` of the annual model."""
        data = self.data
        f = build(data)
        x = self.realised_x(f)
        parts = extract(f, x)
        windows = pd.DataFrame(self.records)
        months = pd.DataFrame({"realised": monthly_cost(f, x)})
        months.index.name = "month"
        plans = pd.DataFrame()
        if self.guide is not None:
            months["plan"] = self.guide.plan_by_month()
            plans = pd.DataFrame(self.guide.records)
        bad = windows.loc[windows["status"] != "optimal", "origin_h"].tolist()
        status = Status.OPTIMAL if not bad else Status.ERROR
        diagnosis = "" if not bad else (
            f"windows at origins {bad[:10]} had no optimal plan; battery and jobs were idle there")
        kpis = parts["kpis"]
        jobs_df = parts["jobs"]
        if len(jobs_df):
            late = jobs_df["energy_mwh"] - jobs_df["delivered_mwh"]
            kpis["job_shortfall_mwh"] = float(np.maximum(late, 0).sum())
        kpis["green_slack_last_window_mwh"] = float(windows["green_slack_mwh"].iloc[-1]) if (
            "green_slack_mwh" in windows) else 0.0
        costs = parts["costs"]
        sc = data.scenario
        return RollingResult(
            status=status, objective=float(costs.sum()), costs=costs, kpis=kpis,
            hourly=parts["hourly"], jobs=jobs_df, job_power=parts["job_power"],
            demand_charges=parts["demand_charges"], timings={},
            backend="highs",
            solver_status="rolling", iterations=int(windows["iterations"].sum()),
            diagnosis=diagnosis, scenario_name=sc.name, windows=windows, plans=plans,
            months=months,
            settings={"window_h": self.W, "step_h": self.step,
                      "forecaster": self._name,
                      "warmup_h": self.warmup, "job_value_per_mwh": self.job_value,
                      "history_h": 0 if self.history is None else int(self.history.shape[1]),
                      "green_penalty_per_mwh": self.green_penalty,
                      "peak_baseline_fraction": self.peak_baseline,
                      "job_slots": int(self.slot_site.size),
                      "month_slots": self.n_month_slots,
                      "scenarios": self.K,
                      "price_known_h": int(self.known_h[self.series.price].max(initial=0)),
                      "plan": None if self.guide is None else self.guide.mode,
                      "replan_h": None if self.guide is None else self.guide.replan_h})
