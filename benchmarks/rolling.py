"""Benchmark: the rolling year of the Xining example against bare warm-started highspy.

Run ``python -m benchmarks.rolling [--repeats R] [--rebuild-every K] [--forecaster F]``.

Case: ``examples/xining_park.yaml``, 8,760 h, windows of 48 h committed 24 h at a time
(365 windows), Holt–Winters forecasts by default.

* **controller**: :class:`engine.operations.controller._RollingRun` ``loop()`` — per window: slice the
  forecasts, assign jobs to slots, compute every bound / cost / right-hand side, hand the
  changes to HiGHS in place (bulk ``changeColsBounds`` / ``changeColsCost`` /
  ``changeRowsBounds``, ``changeCoeff`` for changed PUE and fossil-share coefficients),
  re-solve from the previous basis, read the solution, realise the committed hours against
  the actual data and carry SOC, job progress, monthly peak and green bank forward.
  Forecasts are made once before the loop and timed separately (``forecast_s``).
* **raw highspy loop** (the floor): the same window matrices, replayed. A controller run
  records each window's numbers; the raw loop passes the first window's model to a fresh
  ``highspy.Highs`` and then, per window, makes exactly the same bulk calls and
  ``changeCoeff`` calls, ``run()`` and reads ``col_value`` — solver work with no controller.
* **cold rebuild** (contrast): per window, build the window's ``LinearModel`` from
  scratch, turn it into arrays, pass it to a new ``highspy.Highs`` and solve cold. Timed
  on every ``K``-th window (default 5) and reported per window.

``--voi`` instead reports the value of information of the Xining year: realised cost with
perfect and adaptive Holt–Winters forecasts (``--forecaster F``: F instead), without a plan and with one (``--plan``, default monthly, ``--replan-h``), and with
seasonal naive and persistence forecasts (``--no-baselines``: only the plan's rows),
against the perfect-foresight annual optimum (:func:`engine.optimize`), with the cost terms
(the demand charge apart). Its defaults, 48/2 with ``holt_winters_adaptive``, are the best
configuration measured (``benchmarks/ROLLING_RESULTS.md``); ``--price-known-h H`` uses the published import prices
of the first H hours after each origin.

``--microgrid`` runs the microgrid week instead (``examples/xining_microgrid.yaml``:
gensets, outage survival scenarios, non-preemptible and power-capped jobs; windows built from
the full formulation, :mod:`engine.operations.model_window`): perfect and Holt–Winters
rolling, with and without a plan, fitted on ``--history-h`` hours before the week's start
(a comma list; default ``0,336,336+72``: 0 fits on a ``--warmup-h`` warm-up inside the week,
default 72, whose hours are planned on actual data; 336 on the two weeks before it, read
from the example's own inputs, every hour of the week forecast; ``H+W`` on H hours before
it and a W-hour warm-up inside it, the same hours forecast as with 0), against the week's MILP optimum, and the time per window against a raw highspy solve
of the same window arrays.

``--plan annual|monthly`` in the speed run guides the windows by a plan; the plans' time is
reported apart and the per-window ratio compares the windows alone (same matrices). The
forecasts are timed in steady state (the first call loads the Numba cache and is reported
apart).

Repeats are interleaved (controller, raw, rebuild, controller, ...) and medians reported,
since this machine's speed drifts between runs. Iteration counts of controller and raw loop
must agree (same problems, same warm starts): the benchmark checks that.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "examples" / "xining_park.yaml"


def _new_run(data, forecaster: str, window_h: int, step_h: int, plan=None, replan_h=168,
             scenarios: int = 1):
    from engine.operations import FORECASTERS
    from engine.operations.controller import _RollingRun
    from engine.operations.guide import PlanGuide

    run = _RollingRun(data, window_h, step_h, forecaster, FORECASTERS[forecaster], None, None,
                      {}, scenarios=scenarios)
    if plan is not None:
        run.guide = PlanGuide(run, plan, replan_h)
    return run


def controller(data, forecaster: str, window_h: int, step_h: int, fc=None, plan=None,
               replan_h: int = 168, scenarios: int = 1) -> dict[str, Any]:
    """One timed controller loop; returns timings, iterations and the captured numbers.
    With a plan, ``loop_s`` excludes the plans' time (``plan_s``, reported apart)."""
    run = _new_run(data, forecaster, window_h, step_h, plan, replan_h, scenarios)
    t0 = time.perf_counter()
    if fc is None:
        run.forecast()
    else:
        run.fc, run.fc_scen = fc
    t1 = time.perf_counter()
    run.capture = []
    gc.disable()
    try:
        t2 = time.perf_counter()
        run.loop()
        t3 = time.perf_counter()
    finally:
        gc.enable()
    its = [r["iterations"] for r in run.records]
    objs = [r["objective"] for r in run.records]
    plan_s = sum(r["plan_s"] for r in run.records)
    return {"forecast_s": t1 - t0, "loop_s": t3 - t2 - plan_s, "plan_s": plan_s,
            "iterations": its, "objectives": objs,
            "capture": run.capture, "wm": run.wm if run.sw is None else run.sw,
            "fc": (run.fc, run.fc_scen), "run": run}


def raw_loop(wm, capture) -> dict[str, Any]:
    """Replay the captured window numbers on bare highspy (warm-started)."""
    import highspy

    from engine.backends.highs import new_highs

    first = wm.arrays(capture[0][0])
    ncol, nrow = first.A.shape[1], first.A.shape[0]
    cols = np.arange(ncol, dtype=np.int32)
    rows = np.arange(nrow, dtype=np.int32)
    coef_rows = wm.coef_rows.tolist()
    coef_cols = wm.coef_cols.tolist()
    # arguments prepared before the clock starts: the floor is HiGHS's own work
    steps = []
    for nums, changed in capture[1:]:
        ch = [] if changed is None else [(coef_rows[i], coef_cols[i], float(nums.coef_vals[i]))
                                         for i in changed.tolist()]
        steps.append((nums.col_lb, nums.col_ub, nums.cost, nums.row_lb, nums.row_ub, ch))
    gc.disable()
    try:
        t0 = time.perf_counter()
        h = new_highs()
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = ncol, nrow
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = first.cost, first.col_lb, first.col_ub
        lp.row_lower_, lp.row_upper_ = first.row_lb, first.row_ub
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = first.A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = first.A.indices.astype(np.int32)
        lp.a_matrix_.value_ = first.A.data
        h.passModel(lp)
        h.run()
        x = h.getSolution().col_value
        its = [h.getInfo().simplex_iteration_count]
        objs = [h.getInfo().objective_function_value]
        for col_lb, col_ub, cost, row_lb, row_ub, ch in steps:
            h.changeColsBounds(ncol, cols, col_lb, col_ub)
            h.changeColsCost(ncol, cols, cost)
            h.changeRowsBounds(nrow, rows, row_lb, row_ub)
            for r, c, v in ch:
                h.changeCoeff(r, c, v)
            h.run()
            x = h.getSolution().col_value  # noqa: F841 - reading it is part of the work
            info = h.getInfo()
            its.append(info.simplex_iteration_count)
            objs.append(info.objective_function_value)
        t1 = time.perf_counter()
    finally:
        gc.enable()
    return {"loop_s": t1 - t0, "iterations": its, "objectives": objs}


def cold_rebuild(run, capture, every: int) -> dict[str, Any]:
    """Per sampled window: build the window model from scratch, pass it, solve cold."""
    from engine.backends import SolverOptions
    from engine.backends.highs import to_highs
    from engine.operations.scenarios import ScenarioWindow
    from engine.operations.window import WindowModel

    picks = list(range(0, len(capture) - 1, every))
    times, its = [], []
    gc.disable()
    try:
        for k in picks:
            nums = capture[k + 1 if k else 0][0]
            t0 = time.perf_counter()
            wm = WindowModel(run.data, run.W, run.slot_site, run.n_month_slots, run.green_penalty)
            if run.sw is not None:
                wm = ScenarioWindow(wm, run.K, run.step)
            h = to_highs(wm.arrays(nums), SolverOptions())
            h.run()
            h.getSolution()
            times.append(time.perf_counter() - t0)
            its.append(h.getInfo().simplex_iteration_count)
    finally:
        gc.enable()
    return {"per_window_s": times, "iterations": its}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.rolling", description=__doc__.split(
        "\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rebuild-every", type=int, default=5)
    p.add_argument("--forecaster", default=None,
                   help="the rolling runs' forecaster besides perfect (default: speed "
                        "holt_winters, --voi holt_winters_adaptive)")
    p.add_argument("--window", type=int, default=48)
    p.add_argument("--step", type=int, default=None,
                   help="hours committed per window: speed default 24; --voi default 2 (the "
                        "best configuration)")
    p.add_argument("--price-known-h", type=int, default=0,
                   help="hours of published (day-ahead) import prices after each origin")
    p.add_argument("--no-baselines", action="store_true",
                   help="--voi: leave out the runs without a plan and the naive forecasters")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--plan", default="none", choices=("annual", "monthly", "none"),
                   help="guide the windows by a plan (speed: its time is reported apart)")
    p.add_argument("--replan-h", type=int, default=168)
    p.add_argument("--scenarios", type=int, default=1,
                   help="forecast scenarios per window (two-stage windows; 1: deterministic)")
    p.add_argument("--voi", action="store_true", help="value of information instead of speed")
    p.add_argument("--microgrid", action="store_true",
                   help="the microgrid week (examples/xining_microgrid.yaml): cost against "
                        "its optimum and time per window (defaults 48/6, holt_winters with "
                        "a 72-h warm-up, plan annual every --replan-h, default here 6 h)")
    p.add_argument("--warmup-h", type=int, default=72,
                   help="--microgrid: hours on actual data before the forecasts (72: the "
                        "least Holt-Winters fits on; the week has no earlier history)")
    p.add_argument("--history-h", default="0,336,336+72",
                   help="--microgrid: comma list of hours observed before the week's start "
                        "that Holt-Winters is fitted on (0: the --warmup-h warm-up instead; "
                        "H+W: H hours before it and a W-hour warm-up inside the week)")
    args = p.parse_args(argv)
    plan = None if args.plan == "none" else args.plan
    if args.microgrid:
        return microgrid(args.window, args.step or 6, args.forecaster or "holt_winters",
                         args.warmup_h, 6 if args.replan_h == 168 else args.replan_h,
                         max(1, min(args.repeats, 3)), args.json,
                         [tuple(int(v) for v in x.split("+")) if "+" in x else int(x)
                          for x in args.history_h.split(",")], args.scenarios)
    if args.voi:
        fcs = (args.forecaster,) if args.forecaster else ("holt_winters_adaptive",)
        return value_of_information(args.window, args.step or 2, args.json,
                                    plans=[None] + ([plan] if plan else ["monthly"]),
                                    replan_h=args.replan_h, scenarios=args.scenarios,
                                    forecasters=fcs, price_known_h=args.price_known_h,
                                    baselines=not args.no_baselines)
    args.forecaster = args.forecaster or "holt_winters"
    args.step = args.step or 24

    import engine
    from engine.model.data import prepare

    data = prepare(engine.load_scenario(SCENARIO))
    warm = controller(data, args.forecaster, args.window, args.step,
                      scenarios=args.scenarios)  # compile, caches
    fc = warm["fc"]
    n_win = len(warm["iterations"])
    ctl_s, raw_s, reb_s, fc_s, plan_s = [], [], [], [], []
    for r in range(args.repeats):
        # the forecasts in steady state: the first call above loaded the Numba cache
        f = _new_run(data, args.forecaster, args.window, args.step, scenarios=args.scenarios)
        t0 = time.perf_counter()
        f.forecast()
        fc_s.append(time.perf_counter() - t0)
        c = controller(data, args.forecaster, args.window, args.step, fc=fc, plan=plan,
                       replan_h=args.replan_h, scenarios=args.scenarios)
        plan_s.append(c["plan_s"])
        w = raw_loop(c["wm"], c["capture"])
        b = cold_rebuild(c["run"], c["capture"], args.rebuild_every)
        if c["iterations"] != w["iterations"]:
            raise AssertionError("controller and raw loop disagree on simplex iterations")
        np.testing.assert_allclose(c["objectives"], w["objectives"], rtol=1e-9, atol=1e-6)
        ctl_s.append(c["loop_s"])
        raw_s.append(w["loop_s"])
        reb_s.append(statistics.median(b["per_window_s"]))
        reb_its = b["iterations"]
    its = np.array(c["iterations"])
    ctl = statistics.median(ctl_s) / n_win
    raw = statistics.median(raw_s) / n_win
    reb = statistics.median(reb_s)
    out = {
        "scenario": SCENARIO.name, "windows": n_win, "window_h": args.window,
        "step_h": args.step, "forecaster": args.forecaster, "repeats": args.repeats,
        "forecast_first_call_s": warm["forecast_s"],
        "forecast_steady_s": statistics.median(fc_s),
        "plan": args.plan, "replan_h": args.replan_h, "scenarios": args.scenarios,
        "plan_s_per_run": statistics.median(plan_s),
        "controller_ms_per_window": 1e3 * ctl,
        "raw_highspy_ms_per_window": 1e3 * raw,
        "ratio_controller_to_raw": ctl / raw,
        "cold_rebuild_ms_per_window": 1e3 * reb,
        "ratio_rebuild_to_controller": reb / ctl,
        "simplex_iterations_median": float(np.median(its)),
        "simplex_iterations_mean": float(its.mean()),
        "simplex_iterations_first_window": int(its[0]),
        "cold_simplex_iterations_median": float(np.median(reb_its)),
        "controller_loop_s_all": ctl_s, "raw_loop_s_all": raw_s,
    }
    print(f"rolling year of {SCENARIO.name}: {n_win} windows x {args.window} h "
          f"(commit {args.step} h), forecaster {args.forecaster}, {args.repeats} interleaved "
          f"repeats, medians; plan {args.plan}; scenarios {args.scenarios}")
    print(f"  forecasts, all origins, first     {1e3 * warm['forecast_s']:9.1f} ms (loads the "
          f"Numba cache)")
    print(f"  forecasts, all origins, steady    {1e3 * statistics.median(fc_s):9.1f} ms (incl. "
          f"HW fitting)")
    if plan:
        print(f"  plans (apart from the windows)    {statistics.median(plan_s):9.2f} s per year "
              f"({len(c['run'].guide.records)} plans, every {args.replan_h} h)")
    print(f"  controller                        {1e3 * ctl:9.3f} ms/window")
    print(f"  raw warm-started highspy loop     {1e3 * raw:9.3f} ms/window")
    print(f"  ratio controller / raw            {ctl / raw:9.2f} x   (target <= 2.5)")
    print(f"  cold rebuild + solve per window   {1e3 * reb:9.3f} ms/window "
          f"({reb / ctl:.1f} x the controller)")
    print(f"  simplex iterations per window     median {np.median(its):.0f}, mean "
          f"{its.mean():.1f}, first (cold) {its[0]}; cold rebuild median "
          f"{np.median(reb_its):.0f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


def value_of_information(window_h: int, step_h: int, json_path: Path | None,
                         plans=(None, "monthly"), replan_h: int = 168,
                         scenarios: int = 1, forecasters=("holt_winters",),
                         price_known_h: int = 0, baselines: bool = True) -> dict[str, Any]:
    """Realised cost per forecaster and plan against the annual optimum (with
    ``scenarios > 1``, also the first forecaster with that many scenarios per window, last
    plan). Without ``baselines`` only the last plan's rows and no naive forecasters."""
    import engine

    sc = engine.load_scenario(SCENARIO)
    annual = engine.optimize(sc)
    rows: dict[str, dict[str, Any]] = {"annual optimum (perfect foresight)": {
        "total": annual.objective, **annual.costs.to_dict(),
        "green_share": annual.kpis["green_share"], "peak_import_mw": annual.kpis["peak_import_mw"],
        "job_shortfall_mwh": 0.0}}
    runs = [(fc, p, 1) for p in (plans if baselines else plans[-1:])
            for fc in ("perfect", *forecasters)]
    if scenarios > 1:
        runs.append((forecasters[0], plans[-1], scenarios))
    if baselines:
        runs += [(fc, None, 1) for fc in ("seasonal_naive", "persistence")]
    for fc, plan, K in runs:
        t0 = time.perf_counter()
        pk = price_known_h if fc != "perfect" else 0
        r = engine.rolling_optimize(sc, window_h, step_h, fc, value_of_information=False,
                                    plan=plan, replan_h=replan_h, scenarios=K,
                                    price_known_h=pk)
        label = f"rolling {window_h}/{step_h}, {fc}" + (f", plan {plan}" if plan else "") + (
            f", {K} scenarios" if K > 1 else "") + (f", prices known {pk} h" if pk else "")
        rows[label] = {
            "total": r.objective, **r.costs.to_dict(), "green_share": r.kpis["green_share"],
            "peak_import_mw": r.kpis["peak_import_mw"],
            "job_shortfall_mwh": r.kpis["job_shortfall_mwh"], "run_s": time.perf_counter() - t0}
        print(f"  ... {label}: {r.objective:,.0f} ({r.objective / annual.objective - 1:+.1%}), "
              f"{rows[label]['run_s']:.0f} s", flush=True)
    base = annual.objective
    print(f"value of information, {SCENARIO.name}, window {window_h} h, step {step_h} h "
          f"(currency {sc.currency})")
    print(f"  {'':62s}{'total':>14s}{'vs annual':>10s}{'energy':>13s}{'export':>13s}"
          f"{'demand':>12s}{'green':>7s}{'peak MW':>8s}{'late MWh':>9s}")
    for name, r in rows.items():
        print(f"  {name:62s}{r['total']:14,.0f}{r['total'] / base - 1:10.1%}{r['energy']:13,.0f}"
              f"{r['export_revenue']:13,.0f}{r['demand_charge']:12,.0f}{r['green_share']:7.3f}"
              f"{r['peak_import_mw']:8.2f}{r['job_shortfall_mwh']:9.1f}")
    if json_path:
        json_path.write_text(json.dumps(rows, indent=1))
    return rows


MICROGRID = REPO / "examples" / "xining_microgrid.yaml"


def _mg_row(r, total: float) -> dict[str, Any]:
    c = r.costs
    outage = float(sum(v for k, v in c.items() if k.startswith("outage_")))
    return {"total": float(r.objective), "vs_optimum": float(r.objective / total - 1.0),
            "energy": float(c.get("energy", 0.0)),
            "export_revenue": float(c.get("export_revenue", 0.0)),
            "demand_charge": float(c.get("demand_charge", 0.0)),
            "fuel_and_start": float(c.get("fuel", 0.0) + c.get("start", 0.0)),
            "outage_expected": outage, "green_share": float(r.kpis["green_share"]),
            "peak_import_mw": float(r.kpis["peak_import_mw"]),
            "job_shortfall_mwh": float(r.kpis.get("job_shortfall_mwh", 0.0)),
            "survival_met": bool(r.kpis.get("survival_met", True)),
            "survival_h_min": float(r.kpis.get("survival_h_min", np.nan)),
            "unserved_critical_mwh": float(r.kpis.get("unserved_critical_mwh", 0.0))}


def microgrid(window_h: int, step_h: int, forecaster: str, warmup_h: int, replan_h: int,
              repeats: int, json_path: Path | None,
              history: tuple | list = (0,), scenarios: int = 1) -> dict[str, Any]:
    """The microgrid week (``examples/xining_microgrid.yaml``: gensets, outage survival
    scenarios, a non-preemptible and a power-capped job): realised cost of the rolling
    runs against the week's optimum (:func:`engine.optimize`, the MILP), and the time per
    window against a raw highspy solve of the same window arrays (interleaved repeats)."""
    import highspy

    import engine
    from engine.backends.highs import new_highs, to_highs
    from engine.model.data import prepare
    from engine.operations.history import observed_history
    from engine.operations.model_window import ModelWindowRun

    sc = engine.load_scenario(MICROGRID)
    t0 = time.perf_counter()
    opt = engine.optimize(sc)
    opt_s = time.perf_counter() - t0
    rows = {"optimum (engine.optimize, MILP)": {**_mg_row(opt, opt.objective), "run_s": opt_s}}
    # (forecaster, plan, warm-up, history): history hours before the week's start, read
    # from the example's inputs (the path is passed); without, a warm-up inside the week
    runs = [("perfect", "annual", 0, 0), ("perfect", None, 0, 0)]
    for item in history:
        hh, wu = item if isinstance(item, tuple) else (item, None if item else warmup_h)
        runs += [(forecaster, "annual", wu, hh), (forecaster, None, wu, hh)]
    for fc, plan, wu, hh in runs:
        t0 = time.perf_counter()
        r = engine.rolling_optimize(MICROGRID, window_h, step_h, fc, plan=plan,
                                    replan_h=replan_h, warmup_h=wu, history_h=hh,
                                    scenarios=scenarios)
        label = (f"rolling {window_h}/{step_h}, {fc}"
                 + (f" (history {hh} h" + (f", warm-up {wu} h)" if wu else ")") if hh
                    else f" (warm-up {wu} h)" if wu else "")
                 + (f", plan {plan} every {replan_h} h" if plan else ", no plan"))
        rows[label] = {**_mg_row(r, opt.objective), "run_s": time.perf_counter() - t0,
                       "windows_relaxed": int((r.windows["relaxed"] != "").sum())}
        print(f"  ... {label}: {r.objective:,.0f} ({r.objective / opt.objective - 1:+.1%}), "
              f"{rows[label]['run_s']:.1f} s", flush=True)
    print(f"microgrid week {MICROGRID.name}, window {window_h} h, step {step_h} h, "
          f"scenarios {scenarios} (currency {sc.currency})")
    print(f"  {'':72s}{'total':>10s}{'vs opt':>8s}{'energy':>10s}{'export':>8s}"
          f"{'demand':>9s}{'outage':>8s}{'green':>7s}{'peak':>6s}{'late':>6s}{'surv h':>7s}"
          f"{'met':>5s}")
    for name, r in rows.items():
        print(f"  {name:72s}{r['total']:10,.0f}{r['vs_optimum']:8.1%}{r['energy']:10,.0f}"
              f"{r['export_revenue']:8,.0f}{r['demand_charge']:9,.0f}"
              f"{r['outage_expected']:8,.0f}{r['green_share']:7.3f}{r['peak_import_mw']:6.2f}"
              f"{r['job_shortfall_mwh']:6.2f}{r['survival_h_min']:7.2f}"
              f"{'yes' if r['survival_met'] else 'NO':>5s}")

    # speed: the controller per window (build the window from the formulation, solve as
    # engine.optimize does, commit and realise) against a raw highspy solve of the same
    # window arrays (passModel + run); CPU time, interleaved repeats, medians
    data = prepare(sc)
    # the speed run: the longest history measured, without a warm-up
    hh = max(x[0] if isinstance(x, tuple) else x for x in history)
    hist = observed_history(MICROGRID, data, hh)
    ctl_w, ctl_c, raw_w, raw_c, solve_w = [], [], [], [], []
    for _ in range(repeats):
        run = ModelWindowRun(data, window_h, step_h, forecaster,
                             max(0, 336 - hh) if hh else warmup_h, None, None, {})
        run.history = hist
        run.K_model = scenarios
        run.set_plan("annual", replan_h)
        run.capture = []
        run.forecast()
        run.loop()
        w = run.records
        ctl_w.append(statistics.median([x["window_s"] for x in w]))
        ctl_c.append(statistics.median([x["window_cpu_s"] for x in w]))
        solve_w.append(statistics.median([x["solve_s"] for x in w]))
        rw, rc = [], []
        for a in run.capture:
            c0, t0 = time.process_time(), time.perf_counter()
            h = to_highs(a, engine.backends.SolverOptions())
            h.run()
            assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
            rw.append(time.perf_counter() - t0)
            rc.append(time.process_time() - c0)
            del h
        raw_w.append(statistics.median(rw))
        raw_c.append(statistics.median(rc))
    new_highs()
    n_win = len(run.records)
    mips = sum(bool(a.is_mip) for a in run.capture)
    out = {"rows": rows, "windows": n_win, "mip_windows": mips, "repeats": repeats,
           "scenarios": scenarios,
           "scenario_windows": int(sum(x.get("scenarios", 1) > 1 for x in run.records)),
           "speed_history_h": hh,
           "controller_ms_per_window": 1e3 * statistics.median(ctl_w),
           "controller_cpu_ms_per_window": 1e3 * statistics.median(ctl_c),
           "solve_ms_per_window": 1e3 * statistics.median(solve_w),
           "raw_highspy_ms_per_window": 1e3 * statistics.median(raw_w),
           "raw_highspy_cpu_ms_per_window": 1e3 * statistics.median(raw_c),
           "plans_s": float(sum(x["plan_s"] for x in run.records))}
    out["ratio_controller_to_raw"] = out["controller_ms_per_window"] / out[
        "raw_highspy_ms_per_window"]
    out["ratio_controller_to_raw_cpu"] = out["controller_cpu_ms_per_window"] / out[
        "raw_highspy_cpu_ms_per_window"]
    print(f"speed, {forecaster} (history {hh} h) with plan annual every {replan_h} h: "
          f"{n_win} windows ({out['scenario_windows']} of them over {scenarios} scenarios) "
          f"({mips} MILPs), {repeats} interleaved repeats, medians per window")
    print(f"  controller (build + solve + realise)  {out['controller_ms_per_window']:8.1f} ms "
          f"wall, {out['controller_cpu_ms_per_window']:8.1f} ms CPU")
    print(f"    of which the solve (LP first, MILP)  {out['solve_ms_per_window']:8.1f} ms")
    print(f"  raw highspy (passModel + run)         {out['raw_highspy_ms_per_window']:8.1f} ms "
          f"wall, {out['raw_highspy_cpu_ms_per_window']:8.1f} ms CPU")
    print(f"  ratio controller / raw                {out['ratio_controller_to_raw']:8.2f} x wall,"
          f" {out['ratio_controller_to_raw_cpu']:.2f} x CPU")
    print(f"  plans (apart)                         {out['plans_s']:8.2f} s per week")
    if json_path:
        json_path.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":  # pragma: no cover
    main()
