"""Rolling-horizon (receding-horizon, MPC) operation of a scenario with forecasts.

:func:`rolling_optimize` operates the scenario the way an operator would. At each origin
``o = 0, step_h, 2 step_h, ...``:

1. **Forecast** PV and wind availability, inflexible IT load, PUE and the grid import price
   for hours ``[o, o + window_h)`` from data *before* ``o`` only (Holt–Winters: parameters
   fitted on the warm-up period on the error of 1..48-h forecasts; a daily season for the
   weather-driven PV, wind and PUE, daily and weekly seasons for load and price). All origins are forecast
   up front in one call of the rolling-origin kernels of :mod:`kernels.forecast`, then
   sliced per window. Export price, emission factor, clean share, grid outages and hydro
   limits are taken as known (contracts and schedules).
2. **Plan**: solve the window LP (:mod:`engine.rolling_window`) with the battery SOC and
   each job's remaining energy carried in. The model is built and handed to HiGHS once;
   each window changes bounds, costs, right-hand sides and the PUE / fossil-share matrix
   coefficients in place and re-solves from the previous basis.
3. **Commit** the first ``step_h`` hours of the plan: job power and hydro as planned; the
   battery's charge/discharge schedule as planned, with the one real-time deviation below.
4. **Realise** them against the actual data (vectorised over sites and hours, except the
   battery deviation, which steps through the committed hours because SOC couples them):

   * job power is cut pro rata where the actual inflexible load leaves less IT headroom
     than planned (the cut stays in the job's remaining energy and may make a job late);
   * facility load is actual PUE × (actual inflexible load + realised job power);
   * where the site would import more than the plan's monthly peak (with a demand
     charge; else more than the import limit) or shed load, the battery first charges less
     and then discharges more, within its power and SOC limits (a local controller's
     peak shaving; the committed schedule is otherwise kept). Where even curtailing all
     PV and wind and exporting to the limit leaves a surplus, it discharges less. The
     SOC is kept at or above its minimum (discharge reduced, or a little charging against
     self-discharge);
   * the remaining shortfall (load + charging − discharge − hydro − actual PV/wind > 0) is
     imported from the grid up to its limit (0 in outages); the rest is unserved energy;
   * a surplus is exported up to the export limit when exporting is worth it
     (export price > − curtailment penalty), the rest is curtailed from PV and wind pro
     rata to their availability.

Rolling treatment of what couples hours beyond a window (this is where the rolling
result differs from the annual LP, by design):

* **Jobs** keep their deadlines. A job whose deadline lies beyond the window must do at
  least ``max(0, remaining − max_power × (deadline − window end))`` in the window and at
  most its remaining energy. Energy done before the window end earns a terminal value
  (``job_value_per_mwh``; default the median over the window of the forecast marginal grid
  cost, PUE × (import price + carbon price × emission factor)), so that the controller runs
  jobs in hours cheaper than a typical hour and does not procrastinate. A shortfall
  against the minimum is allowed at the value of lost load (per MWh of IT energy) so that
  every window stays feasible. Realised costs hold no term for late job energy (the annual
  LP has none: it cannot leave a job unfinished); it is reported as
  ``kpis["job_shortfall_mwh"]`` and must be read next to the cost.
* **Battery**: the SOC at the end of every window must be back to the scenario's terminal
  target (``initial_soc_fraction × energy`` for ``at_least_initial`` / ``equal_initial``;
  none for ``free``), lowered where charging at full power could not reach it. The window
  holding the last hour applies the scenario's rule exactly (``equal_initial`` fixes it).
* **Demand charge**: the monthly peak variable of each month in the window has the peak
  already realised in that month as its lower bound (optionally also a fraction of the
  previous month's peak, ``peak_baseline_fraction``); only raising it costs. The annual LP
  knows each month's final peak from the start and uses it all month; a window does not,
  so early in a month it pays for energy to keep the peak low.
* **Annual green-share floor**: applied per window as
  ``fossil_window <= (1 − α) facility_window + bank`` where the bank is the cumulative
  realised allowance ``(1 − α) facility − fossil`` of all committed hours (a surplus early
  in the year may be spent later, a deficit must be made up). A slack priced at
  ``green_penalty_per_mwh`` keeps windows feasible; since the last window's row is the
  annual floor on the realised year, the realised year meets the floor iff the slack of
  the last window is zero (``kpis["green_share"]`` is reported either way). Hourly (24/7)
  matching is applied hour by hour as in the annual LP.

The first ``warmup_h`` hours (before the forecaster has enough history: 0 for
``perfect``, 1 for ``persistence``, 24 for ``seasonal_naive``, 336 for ``holt_winters``)
are planned on the actual data, as if known; windows with origins at or after ``warmup_h``
use forecasts only. The scenario holds no history before its first hour.

Hydro with an energy budget and non-preemptible jobs are not supported here.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import pandas as pd

from engine.backends import SolverOptions
from engine.components.grid import demand_charge_factors
from engine.model.data import ScenarioData, prepare
from engine.model.build import build
from engine.results import Result, extract
from engine.rolling_window import WindowInputs, WindowModel
from engine.scenario import Scenario, load_scenario
from engine.status import Status

log = logging.getLogger(__name__)

__all__ = ["RollingResult", "rolling_optimize", "FORECASTERS"]

#: Built-in forecasters and the history each needs before its first forecast [h].
FORECASTERS = {"perfect": 0, "persistence": 1, "seasonal_naive": 24, "holt_winters": 336}

#: A user forecaster: ``f(history, horizon) -> forecast`` with ``history`` of shape
#: ``(n_series, o)`` (data before the origin only) and a result of shape ``(n_series, horizon)``.
Forecaster = Callable[[np.ndarray, int], np.ndarray]

_TOL = 1e-9


# ------------------------------------------------------------------------------ result
@dataclass
class RollingResult(Result):
    """The realised horizon of a rolling run (a :class:`~engine.results.Result`) and more.

    ``hourly``, ``costs``, ``kpis`` and ``jobs`` describe what *happened* (committed
    decisions realised against actual data), with the same columns as :func:`engine.optimize`;
    ``objective`` is the realised total cost.

    Attributes
    ----------
    windows : pandas.DataFrame
        One row per window: ``origin_h``, ``forecast`` (``warmup`` or the forecaster),
        ``status``, ``objective`` (window criterion, see :mod:`engine.rolling_window`),
        ``iterations`` (simplex), ``solve_s``, ``update_s``, ``green_slack_mwh``,
        ``job_shortfall_mwh`` (planned shortfall against the jobs' minimum).
    value_of_information : dict
        Realised cost against perfect-forecast rolling and the perfect-foresight annual
        optimum (when computed), in currency and as fractions.
    settings : dict
        ``window_h``, ``step_h``, ``forecaster``, ``warmup_h``, job value, penalties.
    """

    windows: pd.DataFrame = field(default_factory=pd.DataFrame)
    value_of_information: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def summary_dict(self) -> dict[str, Any]:
        out = super().summary_dict()
        out["rolling"] = dict(self.settings)
        out["value_of_information"] = dict(self.value_of_information)
        if len(self.windows):
            w = self.windows
            out["windows"] = {
                "count": len(w),
                "not_optimal": int((w["status"] != "optimal").sum()),
                "median_solve_s": float(w["solve_s"].median()),
                "median_iterations": float(w["iterations"].median()),
                "total_iterations": int(w["iterations"].sum()),
            }
        return out

    def summary(self) -> str:
        text = super().summary()
        s = self.settings
        lines = [text, f"  rolling: window {s.get('window_h')} h, step {s.get('step_h')} h, "
                       f"forecaster {s.get('forecaster')!r}, warm-up {s.get('warmup_h')} h"]
        if len(self.windows):
            w = self.windows
            lines.append(f"  windows: {len(w)} ({int((w['status'] != 'optimal').sum())} not "
                         f"optimal), median solve {1e3 * w['solve_s'].median():.2f} ms, median "
                         f"{w['iterations'].median():.0f} simplex iterations")
        for k, v in self.value_of_information.items():
            lines.append(f"    {k:<34}{v:>18,.4f}" if isinstance(v, float) else
                         f"    {k:<34}{v!s:>18}")
        return "\n".join(lines)

    def to_parquet(self, directory: str | Path) -> Path:
        """Also writes ``windows.parquet``."""
        out = super().to_parquet(directory)
        if len(self.windows):
            self.windows.to_parquet(out / "windows.parquet")
        return out


# ------------------------------------------------------------------------------ forecasts
@dataclass
class _Series:
    """The forecast series of a scenario stacked as rows of one array, and where each is."""

    Y: np.ndarray  # (n_series, T) actuals
    lo: np.ndarray  # (n_series,) clip bounds of a forecast
    hi: np.ndarray
    pv: np.ndarray  # row of each PV plant (sites, then plants)
    wind: np.ndarray
    inflex: np.ndarray  # row of each site
    pue: np.ndarray
    price: np.ndarray  # row of each grid


def _stack_series(data: ScenarioData) -> _Series:
    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    idx: dict[str, list[int]] = {k: [] for k in ("pv", "wind", "inflex", "pue", "price")}

    def add(kind: str, y: np.ndarray, low: float, high: float) -> None:
        idx[kind].append(len(rows))
        rows.append(np.asarray(y, np.float64))
        lo.append(low)
        hi.append(high)

    for sd in data.sites:
        for asset, y in zip(sd.site.pv, sd.pv_avail_mw):
            add("pv", y, 0.0, asset.capacity_mw)
        for asset, y in zip(sd.site.wind, sd.wind_avail_mw):
            add("wind", y, 0.0, asset.capacity_mw)
    for sd in data.sites:
        add("inflex", sd.inflexible_it_mw, 0.0, sd.it_capacity_mw)
    for sd in data.sites:
        add("pue", sd.pue, 1.0, np.inf)
    for sd in data.sites:
        if sd.site.grid is not None:
            add("price", sd.grid_import_price, -np.inf, np.inf)
    arr = lambda k: np.array(idx[k], dtype=np.int64)  # noqa: E731
    return _Series(np.array(rows).reshape(len(rows), data.T), np.array(lo), np.array(hi),
                   arr("pv"), arr("wind"), arr("inflex"), arr("pue"), arr("price"))


def _forecasts(series: _Series, origins: np.ndarray, W: int,
               forecaster: Union[str, Forecaster], warmup_h: int) -> np.ndarray:
    """Forecasts of every series for every origin: (n_series, O, W).

    Origins before ``warmup_h`` get the actual values (perfect); the others use only
    ``Y[:, :o]``. Hours past the end of the data are 0 (they are padded in the window).
    """
    Y = series.Y
    n, T = Y.shape
    pad = np.zeros((n, T + W))
    pad[:, :T] = Y
    take = origins[:, None] + np.arange(W)[None, :]  # (O, W)
    out = pad[:, take]  # perfect forecasts; overwritten below after the warm-up
    fc = np.flatnonzero(origins >= warmup_h)
    if forecaster == "perfect" or fc.size == 0 or n == 0:
        return out
    o_fc = origins[fc]
    if callable(forecaster):
        for k, o in zip(fc, o_fc):
            f = np.asarray(forecaster(Y[:, :o].copy(), W), dtype=np.float64)
            if f.shape != (n, W):
                raise ValueError(f"forecaster returned shape {f.shape}, expected {(n, W)}")
            out[:, k, :] = f
    elif forecaster in ("persistence", "seasonal_naive"):
        from kernels.forecast import seasonal_naive_rolling

        period = 1 if forecaster == "persistence" else 24
        out[:, fc, :] = seasonal_naive_rolling(Y, o_fc, period, W)
    elif forecaster == "holt_winters":
        from kernels.forecast import fit_holt_winters, hw_rolling

        # parameters and initial states from the warm-up period only: no later data. Weather
        # driven series (PV, wind, PUE) get a daily season only: they have no weekly cycle,
        # and a weekly season estimated from two weeks froze the January PV profile (mean
        # error -2.0 MW over the Xining year, against -0.01 MW with the daily season alone)
        train = Y[:, :warmup_h]
        weekly = np.zeros(n, bool)
        weekly[np.concatenate([series.inflex, series.price])] = True
        for rows, period2 in ((np.flatnonzero(weekly), 168), (np.flatnonzero(~weekly), None)):
            if rows.size:
                models = [fit_holt_winters(train[i], period2=period2, horizon=min(W, 48), step=24)
                          for i in rows]
                out[rows[:, None], fc[None, :], :] = hw_rolling(Y[rows], models, o_fc, W)
    else:  # pragma: no cover - checked by the caller
        raise ValueError(forecaster)
    np.clip(out, series.lo[:, None, None], series.hi[:, None, None], out=out)
    return out


# ------------------------------------------------------------------------------ controller
def _check_args(T: int, window_h: int, step_h: int, forecaster, warmup_h) -> int:
    if not isinstance(window_h, (int, np.integer)) or window_h < 1:
        raise ValueError(f"window_h must be a positive integer [h], got {window_h!r}")
    if not isinstance(step_h, (int, np.integer)) or step_h < 1:
        raise ValueError(f"step_h must be a positive integer [h], got {step_h!r}")
    if window_h < step_h:
        raise ValueError(f"window_h must be >= step_h, got window_h={window_h}, step_h={step_h}")
    if not callable(forecaster) and forecaster not in FORECASTERS:
        raise ValueError(f"forecaster must be one of {sorted(FORECASTERS)} or a callable, got "
                         f"{forecaster!r}")
    if warmup_h is None:
        warmup_h = 1 if callable(forecaster) else FORECASTERS[forecaster]
    if not isinstance(warmup_h, (int, np.integer)) or warmup_h < 0:
        raise ValueError(f"warmup_h must be a non-negative integer [h], got {warmup_h!r}")
    if forecaster != "perfect" and warmup_h >= T:
        raise ValueError(f"forecaster {forecaster!r} needs warmup_h={warmup_h} h of history, but "
                         f"the scenario has only horizon_h={T} h")
    return int(warmup_h)


def _unsupported(data: ScenarioData) -> None:
    for s, sd in enumerate(data.sites):
        for k, h in enumerate(sd.site.hydro):
            if h.energy_budget_mwh is not None:
                raise NotImplementedError(
                    f"sites[{s}].hydro[{k}].energy_budget_mwh={h.energy_budget_mwh}: hydro energy "
                    "budgets are not supported by the rolling controller yet")


def rolling_optimize(
    scenario: Scenario | str | Path,
    window_h: int = 48,
    step_h: int = 24,
    forecaster: Union[str, Forecaster] = "holt_winters",
    progress: bool = False,
    on_progress: Optional[Callable[[int, int, dict], None]] = None,
    *,
    warmup_h: Optional[int] = None,
    job_value_per_mwh: Optional[float] = None,
    green_penalty_per_mwh: Optional[float] = None,
    peak_baseline_fraction: float = 0.0,
    value_of_information: bool = True,
    verify_every: int = 0,
    highs_options: Optional[dict] = None,
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
    forecaster : {"holt_winters", "seasonal_naive", "persistence", "perfect"} or callable
        How the window's PV, wind, inflexible load, PUE and import price are forecast.
        ``"perfect"`` uses the actual data (perfect forecasts). A callable gets
        ``(history, horizon)`` with ``history`` of shape ``(n_series, o)``, only the data
        before the origin, and returns ``(n_series, horizon)``.
    progress : bool
        Show a tqdm progress bar over the windows.
    on_progress : callable, optional
        ``on_progress(k, n_windows, record)`` after each window.
    warmup_h : int, optional
        Hours planned on actual data before forecasts start; default what the forecaster
        needs (see ``FORECASTERS``).
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
    value_of_information : bool, default True
        Also run perfect-forecast rolling and the annual optimum (:func:`engine.optimize`)
        and report the realised cost against both.
    verify_every : int, default 0
        Every this many windows, also build the window from scratch, solve it cold and
        record the objective difference to the in-place warm-started solve
        (``windows["rebuild_objective_diff"]``); 0 never.
    highs_options : dict, optional
        Further HiGHS options by name.

    Returns
    -------
    RollingResult

    Raises
    ------
    ValueError
        For bad arguments (naming the argument and value).
    NotImplementedError
        For scenario features the controller does not handle (hydro energy budgets).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    t_start = time.perf_counter()
    data = prepare(sc)
    T = data.T
    warmup = _check_args(T, window_h, step_h, forecaster, warmup_h)
    _unsupported(data)
    if not 0.0 <= peak_baseline_fraction <= 1.0:
        raise ValueError(f"peak_baseline_fraction must be in [0, 1], got {peak_baseline_fraction}")
    run = _RollingRun(data, int(window_h), int(step_h), forecaster, warmup, job_value_per_mwh,
                      green_penalty_per_mwh, highs_options or {}, float(peak_baseline_fraction))
    t_prep = time.perf_counter()
    run.forecast()
    t_fc = time.perf_counter()
    run.loop(progress=progress, on_progress=on_progress, verify_every=verify_every)
    t_loop = time.perf_counter()
    res = run.result()
    res.timings = {"prepare_s": t_prep - t_start, "forecast_s": t_fc - t_prep,
                   "loop_s": t_loop - t_fc, "extract_s": time.perf_counter() - t_loop}
    if value_of_information:
        voi: dict[str, Any] = {"realised_cost": float(res.objective)}
        if forecaster != "perfect":
            perfect = rolling_optimize(sc, window_h, step_h, "perfect", warmup_h=0,
                                       job_value_per_mwh=job_value_per_mwh,
                                       green_penalty_per_mwh=green_penalty_per_mwh,
                                       peak_baseline_fraction=peak_baseline_fraction,
                                       value_of_information=False, highs_options=highs_options)
            voi["perfect_forecast_rolling_cost"] = float(perfect.objective)
        else:
            voi["perfect_forecast_rolling_cost"] = float(res.objective)
        from engine.api import optimize

        annual = optimize(sc, highs_options=highs_options)
        voi["annual_optimum_cost"] = float(annual.objective)
        pr, an = voi["perfect_forecast_rolling_cost"], voi["annual_optimum_cost"]
        voi["cost_of_forecast_error"] = voi["realised_cost"] - pr
        voi["cost_of_limited_horizon"] = pr - an
        voi["realised_vs_annual_fraction"] = voi["realised_cost"] / an - 1.0 if an else np.nan
        voi["perfect_rolling_vs_annual_fraction"] = pr / an - 1.0 if an else np.nan
        res.value_of_information = voi
        res.timings["value_of_information_s"] = time.perf_counter() - t_loop - res.timings[
            "extract_s"]
    res.timings["total_s"] = time.perf_counter() - t_start
    return res


class _RollingRun:
    """State of one rolling run: the persistent window model, forecasts, realised arrays."""

    def __init__(self, data: ScenarioData, W: int, step: int, forecaster, warmup: int,
                 job_value: Optional[float], green_penalty: Optional[float],
                 highs_options: dict, peak_baseline: float = 0.0) -> None:
        self.data = data
        self.W, self.step, self.forecaster, self.warmup = W, step, forecaster, warmup
        self.job_value = job_value
        self.peak_baseline = peak_baseline
        sc = data.scenario
        T = data.T
        self.T = T
        self.origins = np.arange(0, T, step, dtype=np.int64)
        self.series = _stack_series(data)
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
        self.fc = _forecasts(self.series, self.origins, self.W, self.forecaster, self.warmup)

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
        if self.peak_baseline:
            prev = months - 1
            has = ok & (prev >= 0)
            peak_lb[:, has] = np.maximum(peak_lb[:, has],
                                         self.peak_baseline * self.peak[:, prev[has]])
        # jobs into slots
        slot_ub, must, remaining, reward = self._slots(o, n_real, pue, price, k)
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
            green_bank_mwh=self.bank,
        )

    def _slots(self, o: int, n_real: int, pue: np.ndarray, price: np.ndarray, k: int):
        """Assign active jobs to slots (a job keeps its slot); their bounds and values."""
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
        # never ask for more than the window's hours of the job can hold
        must[used] = np.minimum(need, slot_ub[used].sum(axis=1))
        remaining[used] = rem
        beyond = jobs.deadline[j] > end
        if self.job_value is not None:
            val = np.full(j.size, float(self.job_value))
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

    # --------------------------------------------------------------------- realisation
    def realise(self, k: int, x: Optional[np.ndarray], inp: WindowInputs) -> None:
        """Commit the first step hours of the plan ``x`` and realise them on actual data."""
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
        np.add.at(flex_site, self.slot_site, flex)
        head = np.maximum(wm.it_cap[:, None] - inflex, 0.0)
        scale = np.divide(head, flex_site, out=np.ones_like(head), where=flex_site > head)
        flex = flex * scale[self.slot_site]
        flex_site = np.zeros((S, n))
        np.add.at(flex_site, self.slot_site, flex)
        facility = pue * (inflex + flex_site)
        pv = self.act_pv[:, hrs]
        wind = self.act_wind[:, hrs]
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
        if B and (soc_plan is None or np.any(over > _TOL) or np.any(bal["left"] > _TOL)):
            need = (over > _TOL) | (bal["left"] > _TOL)
            first = 0 if soc_plan is None else int(np.argmax(need.any(axis=0)))
            ch, dis, soc_plan = self._redispatch_battery(hrs, facility, hydro, ch, dis, pv, wind,
                                                         cap, soc_plan, first)
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

    def _redispatch_battery(self, hrs: slice, facility, hydro, ch, dis, pv, wind, cap,
                            soc_plan: Optional[np.ndarray], first: int):
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
        np.add.at(base, wm.pv_site, pv)
        np.add.at(base, wm.wind_site, wind)
        ren = base.copy()
        np.add.at(base, wm.hydro_site, hydro)
        base -= facility
        imp_cap = np.zeros((S, n))
        exp_cap = np.zeros((S, n))
        if wm.grid_site.size:
            up = self.g_up[:, hrs]
            np.add.at(imp_cap, wm.grid_site, wm.imax[:, None] * up)
            np.add.at(exp_cap, wm.grid_site, wm.emax[:, None] * up)
        soc = np.zeros_like(ch) if soc_plan is None else soc_plan
        return battery_redispatch(base, np.minimum(cap, imp_cap), exp_cap + ren, ch, dis, soc,
                                  self.soc, wm.bat_site, wm.bat_keep, wm.bat_eta_c, wm.bat_eta_d,
                                  wm.bat_soc_min, wm.bat_pch, wm.bat_pdis, first)

    def _balance(self, hrs: slice, facility, hydro, ch, dis, pv, wind) -> dict:
        """Close each site-hour: import then shed a shortfall; export (if worth it) then
        curtail a surplus. ``left`` is surplus that neither could absorb."""
        wm = self.wm
        S, n = facility.shape
        ren = np.zeros((S, n))
        np.add.at(ren, wm.pv_site, pv)
        np.add.at(ren, wm.wind_site, wind)
        firm = np.zeros((S, n))
        np.add.at(firm, wm.hydro_site, hydro)
        np.add.at(firm, wm.bat_site, dis - ch)
        deficit = facility - firm - ren  # > 0: import or shed; < 0: surplus
        imp_cap = np.zeros((S, n))
        exp_cap = np.zeros((S, n))
        worth = np.zeros((S, n), bool)
        if wm.grid_site.size:
            up = self.g_up[:, hrs]
            np.add.at(imp_cap, wm.grid_site, wm.imax[:, None] * up)
            np.add.at(exp_cap, wm.grid_site, wm.emax[:, None] * up)
            w = np.zeros((S, n))
            np.add.at(w, wm.grid_site, (self.g_export[:, hrs] > -wm.curt_penalty).astype(float))
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

    # --------------------------------------------------------------------- the loop
    def loop(self, progress: bool = False, on_progress=None, verify_every: int = 0) -> None:
        from engine.backends.highs import PersistentHighs, to_highs  # highspy stays there

        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=self.origins.size, unit="window", desc="rolling")
        solver = None
        prev_coef = None
        O = self.origins.size
        try:
            for k in range(O):
                o = int(self.origins[k])
                t0 = time.perf_counter()
                inp = self.inputs(k)
                nums = self.wm.numbers(inp)
                if solver is None:
                    solver = PersistentHighs(self.wm.arrays(nums), self.options)
                else:
                    changed = np.flatnonzero(nums.coef_vals != prev_coef)
                    solver.update(nums.col_lb, nums.col_ub, nums.cost, nums.row_lb, nums.row_ub,
                                  self.wm.coef_rows[changed], self.wm.coef_cols[changed],
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
                       "update_s": t1 - t0}
                x = out.x
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
                    h = to_highs(self.wm.arrays(nums), self.options)
                    h.run()
                    cold = float(h.getInfo().objective_function_value)
                    rec["rebuild_objective_diff"] = abs(cold - out.objective) / max(
                        1.0, abs(cold))
                self.realise(k, x, inp)
                self.records.append(rec)
                if bar is not None:
                    bar.update(1)
                if on_progress is not None:
                    on_progress(k + 1, O, rec)
        finally:
            if bar is not None:
                bar.close()

    # --------------------------------------------------------------------- result
    def result(self) -> RollingResult:
        """The realised horizon through :func:`engine.results.extract` of the annual model."""
        data = self.data
        f = build(data)
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
        parts = extract(f, x)
        windows = pd.DataFrame(self.records)
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
            diagnosis=diagnosis, scenario_name=sc.name, windows=windows,
            settings={"window_h": self.W, "step_h": self.step,
                      "forecaster": self._name,
                      "warmup_h": self.warmup, "job_value_per_mwh": self.job_value,
                      "green_penalty_per_mwh": self.green_penalty,
                      "peak_baseline_fraction": self.peak_baseline,
                      "job_slots": int(self.slot_site.size),
                      "month_slots": self.n_month_slots})
