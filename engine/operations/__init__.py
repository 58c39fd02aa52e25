"""Rolling-horizon (receding-horizon, MPC) operation of a scenario with forecasts.

:func:`rolling_optimize` operates the scenario the way an operator would. At each origin
``o = 0, step_h, 2 step_h, ...``:

1. **Forecast** PV and wind availability, inflexible IT load, PUE and the grid import price
   for hours ``[o, o + window_h)`` from data *before* ``o`` only (Holt–Winters: parameters
   fitted on the warm-up period on the error of 1..48-h forecasts; a daily season for the
   weather-driven PV, wind and PUE, daily and weekly seasons for load and price). All origins are forecast
   up front in one call of the rolling-origin kernels of :mod:`kernels.forecast`, then
   sliced per window. Export price, emission factor, clean share, grid outages and hydro
   limits are taken as known (contracts and schedules). ``holt_winters_anchored`` and
   ``holt_winters_adaptive`` re-anchor the forecasts on the latest one-step error (and
   refit the parameters every 720 h); ``price_known_h`` takes the first hours of the
   import price as published before the origin (a day-ahead market).
2. **Plan**: solve the window LP (:mod:`engine.operations.window`) with the battery SOC and
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
   * **real-time policy** against the *surprise* of each site-hour (actual minus forecast
     PV and wind, net of the facility load): a surprise surplus that would be exported or
     curtailed first runs jobs harder (within the slot's bound, the IT headroom and the
     job's remaining energy) where a MWh of the job's IT energy (the window's terminal job
     value, the plan's job dual with a plan) is worth more than PUE × its export value;
     then the battery (:func:`kernels.dispatch.battery_redispatch`) stores what is left
     of it where stored energy is worth more than its export, and serves a surprise
     shortfall where the import costs more than the stored energy is worth. The value of
     stored energy in each hour is minus the dual of the window's SOC balance in that
     hour (the expectation over the scenarios with ``scenarios=K``); each move is at most
     the surprise, so with perfect forecasts the schedule is kept;
   * where the site would import more than the plan's monthly peak (with a demand
     charge; else more than the import limit) or shed load, the battery first charges less
     and then discharges more, within its power and SOC limits (a local controller's
     peak shaving; the committed schedule is otherwise kept). Where even curtailing all
     PV and wind and exporting to the limit leaves a surplus, it discharges less. The
     SOC is kept at or above its minimum (discharge reduced, or a little charging against
     self-discharge);
   * where the site still imports above the plan's monthly peak (or sheds load), job power
     is deferred in those hours, as far as each job can still finish after the step at
     90 % of its maximum power (a local controller's load deferral; the deferred energy
     stays in the job's remaining energy for the next windows);
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

With ``plan="annual"`` or ``"monthly"`` (:mod:`engine.operations.guide`) a long-horizon
plan replaces those fixed rules: the scenario's hourly LP on forecasts made at the origin,
with the realised past fixed, re-solved every ``replan_h`` hours, gives each window the
planned peak of each month (a lower bound of its peak variable), the value of energy
stored at its end (the plan's SOC-balance dual; the window that ends the horizon keeps
the scenario's terminal rule), each job's value (its energy-row dual) and progress by the
window's end (a minimum), and the green-share bank the plan still needs at the window's
end. On the Xining year with perfect forecasts this brings rolling 48/24 from +14.6 % to
+0.1 % of the annual optimum (benchmarks/ROLLING_RESULTS.md).

The first ``warmup_h`` hours (before the forecaster has enough history: 0 for
``perfect``, 1 for ``persistence``, 24 for ``seasonal_naive``, 336 for ``holt_winters``)
are planned on the actual data, as if known; windows with origins at or after ``warmup_h``
use forecasts only. Without ``history_h`` the scenario holds no history before its first
hour. ``history_h=H`` reads the forecast series of the ``H`` hours before ``start`` from the
scenario's own inputs (:mod:`engine.operations.history`): they are simply observed hours
before the first window (the forecasters fit on ``H + warmup_h`` hours, ``warmup_h``
defaulting to what the forecaster needs beyond ``H``), never decisions or costs.

Scenarios with gensets, outage scenarios (``policy.outages``: survival rules), non-preemptible
or power-capped jobs are operated with windows built from the engine's own formulation on
the window's hours, the carried state as initial conditions (genset commitment, fuel stock,
SOC, started runs, remaining work), solved as MILPs (:mod:`engine.operations.model_window`,
which says why and what is carried; ``plan="annual"`` or None there). Hydro with an
energy budget, gang-block jobs, shared storage, demand response and EV charging are
refused with a ScenarioError naming the field (use :func:`engine.optimize`).

With ``scenarios=K >= 2`` (:mod:`engine.operations.scenarios`) each window is one
two-stage LP over the point forecast and ``K - 1`` bootstrap scenarios of past forecast
errors, the committed hours' battery, hydro and job decisions shared by all scenarios; on
the model windows' path (:mod:`engine.operations.model_scenarios`) ``K`` copies of the
window's own model over PV and wind scenarios, genset commitment and job starts shared too
(opt-in: measured draw-sensitive on the microgrid week, ``benchmarks/ROLLING_RESULTS.md``).

The package: :mod:`~engine.operations.controller` (:func:`rolling_optimize` and the run
loop), :mod:`~engine.operations.forecasts` (the forecast series and forecasters),
:mod:`~engine.operations.window` (the fixed-structure window LP),
:mod:`~engine.operations.plan` (each window's numbers from forecasts and state),
:mod:`~engine.operations.realise` (committing and realising a step against actual data),
:mod:`~engine.operations.guide` (the long-horizon plan),
:mod:`~engine.operations.model_window` (windows from the full formulation: gensets, outages,
non-preemptible and power-capped jobs),
:mod:`~engine.operations.scenarios` and :mod:`~engine.operations.model_scenarios`
(forecast-aware windows), :mod:`~engine.operations.voi` (the
value of information, opt-in) and :mod:`~engine.operations.result` (:class:`RollingResult`).
"""
from __future__ import annotations

from engine.operations.controller import rolling_optimize
from engine.operations.forecasts import FORECASTERS, Forecaster
from engine.operations.result import RollingResult

__all__ = ["FORECASTERS", "Forecaster", "RollingResult", "rolling_optimize"]
