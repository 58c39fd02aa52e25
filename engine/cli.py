"""Command line: ``wattbit run | validate | export | bench``.

``wattbit run SCENARIO --out DIR`` prints a summary and writes ``DIR/hourly.parquet``,
``DIR/summary.json`` and ``DIR/dispatch.png`` (``DIR/dispatch_<site>.png`` per site when
there are several). For a scenario with a site ``network`` it
also checks the dispatch with the AC power flow (and re-solves with tightened LinDistFlow
limits, ``--network-rounds``), prints the check and writes ``DIR/network_vm_pu.parquet``
and ``DIR/network_violations.csv``. With ``--rolling 48/24`` it operates the scenario over
a receding horizon (:func:`engine.rolling_optimize`, a progress bar on stderr) and also
writes ``DIR/windows.parquet``; ``--voi`` adds the value of information (a perfect-forecast
rolling run and the annual optimum). Exit codes: 0 optimal (or a time-limited
solution), 1 no solution (infeasible, unbounded, solver error), 2 invalid input.
"""
from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wattbit", description="Energy-to-compute optimization engine.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="optimize a scenario and write its results")
    run.add_argument("scenario", type=Path, help="scenario file (.yaml/.yml/.json)")
    run.add_argument("--out", type=Path, default=Path("results"), help="output directory")
    run.add_argument("--backend", choices=("highs", "pyomo"), default="highs")
    run.add_argument("--time-limit", type=float, default=None, metavar="S",
                     help="solver time limit in seconds")
    run.add_argument("--no-plot", action="store_true", help="skip dispatch.png")
    run.add_argument("--plot-start", type=int, default=0, metavar="H",
                     help="first hour of the plotted week (default 0)")
    run.add_argument("--plot-hours", type=int, default=168, metavar="H")
    run.add_argument("--solver-log", action="store_true", help="print HiGHS's log")
    run.add_argument("--network-rounds", type=int, default=5, metavar="N",
                     help="for a scenario with a site network: AC-check the dispatch and "
                          "re-solve with tightened LinDistFlow limits at most N times "
                          "(default 5; 0 = solve once, AC check only)")
    run.add_argument("--rolling", type=_window_step, default=None, metavar="W/S",
                     help="rolling horizon: plan W hours, commit S hours per window (e.g. 48/24)")
    run.add_argument("--forecaster", default="holt_winters",
                     choices=("holt_winters", "holt_winters_anchored",
                              "holt_winters_adaptive", "seasonal_naive", "persistence",
                              "perfect"),
                     help="forecasts of the rolling windows (default holt_winters)")
    run.add_argument("--voi", action=argparse.BooleanOptionalAction, default=False,
                     help="with --rolling: also run perfect-forecast rolling and the annual "
                          "optimum and report the value of information (default off)")
    run.add_argument("--plan", default="none", choices=("annual", "monthly", "none"),
                     help="with --rolling: guide the windows by a long-horizon plan on "
                          "forecasts, re-planned every --replan-h hours (default none)")
    run.add_argument("--replan-h", type=int, default=168, metavar="H",
                     help="with --plan: hours between plans (>= the step; default 168)")
    run.add_argument("--scenarios", type=int, default=1, metavar="K",
                     help="with --rolling: forecast scenarios per window, two-stage with "
                          "shared committed decisions (>= 1; default 1: deterministic)")
    run.add_argument("--price-known-h", type=int, default=0, metavar="H",
                     help="with --rolling: hours of published (day-ahead) import prices after "
                          "each origin, used as they are (default 0: forecast)")
    run.add_argument("--history-h", type=int, default=0, metavar="H",
                     help="with --rolling: fit the forecasters on H hours before the scenario's "
                          "start, read from its own inputs (default 0: none)")
    run.add_argument("--outage-renewable-quantile", default="0", metavar="Q",
                     help="with --rolling and outage scenarios: the quantile in [0, 1] of the "
                          "same hours' PV + wind over the last 14 days that a window's outage "
                          "scenarios may count on (capped by the forecast); 'none': no PV "
                          "and wind (default 0: the least of those days)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    val = sub.add_parser("validate", help="check a scenario file and report the first error")
    val.add_argument("scenario", type=Path)
    app = sub.add_parser("appraise", help="size a scenario's extendable assets and appraise "
                                          "them against business-as-usual (NPV, payback, IRR)")
    app.add_argument("scenario", type=Path)
    app.add_argument("--backend", choices=["highs", "pyomo"], default="highs")
    bench = sub.add_parser("bench", help="run the benchmark suite (see benchmarks/suite.py)")
    bench.add_argument("--quick", action="store_true", help="small sizes, no peers (CI smoke run)")
    bench.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    bench.add_argument("--repeat", type=int, default=None)
    exp = sub.add_parser("export", help="write the LP/MILP a scenario solves (MPS or LP)")
    exp.add_argument("scenario", type=Path)
    exp.add_argument("path", type=Path, help="output file, e.g. model.mps")
    _add_batch_parser(sub)
    _report_parser(sub)
    return p


def _add_batch_parser(sub) -> None:
    """``wattbit batch SWEEP --store DIR [--workers N | --scheduler ADDRESS]`` and
    ``wattbit batch --status DIR``."""
    b = sub.add_parser("batch", help="run a sweep of scenarios into a resumable Parquet store",
                       description="Run every scenario of a sweep file that is not in the store "
                                   "yet (local worker processes, or a Dask scheduler); or, with "
                                   "--status, print how many are done, failed and pending.")
    b.add_argument("sweep", type=Path, nargs="?", help="sweep file (.yaml)")
    b.add_argument("--store", type=Path, default=None, help="store directory")
    b.add_argument("--status", type=Path, default=None, metavar="STORE",
                   help="print done / failed / pending of a store and exit")
    b.add_argument("--workers", type=int, default=None, help="local worker processes "
                   "(default: CPU count)")
    b.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (e.g. tcp://host:8786) instead of local "
                        "workers; 'local': a Dask LocalCluster of --workers processes started "
                        "for the batch (engine.batch.local_cluster)")
    b.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="solver time limit per scenario in seconds")
    b.add_argument("--hourly", action="store_true", help="also store each hourly table")
    b.add_argument("--no-reuse", action="store_true",
                   help="rebuild the HiGHS model for every scenario")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--driver-writes", action="store_true",
                   help="send every row to this process, which writes the store (for Dask "
                        "workers that do not see the store's file system)")


def _window_step(text: str) -> tuple[int, int]:
    """Parse ``W/S`` (hours) for ``--rolling``."""
    try:
        w, s = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--rolling must be WINDOW/STEP in hours, e.g. 48/24, got {text!r}") from None
    if w < 1 or s < 1 or w < s:
        raise argparse.ArgumentTypeError(
            f"--rolling needs 1 <= STEP <= WINDOW, got window {w} h, step {s} h")
    return w, s


def _quantile(text: str) -> float | None:
    """``--outage-renewable-quantile``: a number, or ``none``."""
    from engine.errors import ScenarioError

    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise ScenarioError(f"outage_renewable_quantile must be a number in [0, 1] or "
                            f"'none', got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wattbit`` console script (``argv`` defaults to the command
    line's)."""
    try:
        return _main(argv)
    finally:
        if argv is None:
            # the command's process ends here: the interpreter's teardown would search
            # every object of numpy, pandas and pyarrow for cycles (~0.2 s of a run); frozen
            # objects are left to the OS. Every output file is closed by now, and atexit
            # handlers and the flushing of stdout/stderr still run as usual.
            gc.freeze()


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    from engine.errors import ScenarioError

    logging.basicConfig(level=logging.INFO if getattr(args, "solver_log", False) else logging.WARNING,
                        format="%(message)s")
    try:
        if args.command == "validate":
            from engine.scenario import load_scenario

            sc = load_scenario(args.scenario)
            print(f"{args.scenario}: valid ({len(sc.sites)} site(s), {len(sc.jobs)} job(s), "
                  f"{sc.horizon_h} h from {sc.start} {sc.timezone})")
            return 0
        if args.command == "appraise":
            from engine.economics import appraise

            print(appraise(args.scenario, backend=args.backend).summary())
            return 0
        if args.command == "export":
            from engine.api import export_lp

            print(export_lp(args.scenario, args.path))
            return 0
        if args.command == "bench":
            from benchmarks.suite import main as bench_main

            argv_b = (["--quick"] if args.quick else []) + (
                ["--json", str(args.json)] if args.json else []) + (
                ["--repeat", str(args.repeat)] if args.repeat else [])
            bench_main(argv_b)
            return 0
        if args.command == "batch":
            return _batch(args)
        if args.command == "report":
            return _report(args)
        return _run(args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NotImplementedError as exc:
        print(f"not implemented: {exc}", file=sys.stderr)
        return 2


def _batch(args: argparse.Namespace) -> int:
    """``wattbit batch``: run a sweep (exit 0 when every scenario has a row, failed ones
    included), or print a store's status."""
    from engine import batch

    if args.status is not None:
        if args.sweep is not None:
            print("error: give a sweep file or --status STORE, not both", file=sys.stderr)
            return 2
        st = batch.store_status(args.status)
        by = ", ".join(f"{k} {v}" for k, v in sorted(st["by_status"].items()))
        print(f"{args.status}: batch {st['name']!r} ({st['batch_hash']}): {st['total']} "
              f"scenarios: done {st['done']}, failed {st['failed']}, pending {st['pending']}"
              + (f" ({by})" if by else ""))
        return 0
    if args.sweep is None or args.store is None:
        print("error: wattbit batch SWEEP --store DIR (or wattbit batch --status DIR)",
              file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print(f"error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    kw = dict(store=args.store, workers=args.workers, progress=not args.no_progress,
              hourly=args.hourly, time_limit_s=args.time_limit, reuse=not args.no_reuse,
              worker_writes=not args.driver_writes)
    if args.scheduler == "local":  # a cluster the engine starts: its settings apply
        with batch.local_cluster(args.workers) as client:
            out = batch.run(args.sweep, executor=client, **kw)
    else:
        out = batch.run(args.sweep, executor=args.scheduler, **kw)
    t = out.times
    print(f"{out.store}: {out.total} scenarios, {out.skipped} already stored, {out.solved} "
          f"solved now ({out.failed} without a solution, {out.reused} on a re-used model), "
          f"{t['wall_s']:.1f} s" + (f", {out.crashes} worker crash(es) survived"
                                    if out.crashes else ""))
    return 0


def _run(args: argparse.Namespace) -> int:
    from engine.scenario import load_scenario

    if args.network_rounds < 0:
        print(f"error: --network-rounds must be >= 0, got {args.network_rounds}", file=sys.stderr)
        return 2
    sc = load_scenario(args.scenario)
    if not args.no_plot:
        from engine.results.plotting import plot_window

        try:  # before the solve: a bad window must not cost a solve, nor end in a traceback
            plot_window(sc.horizon_h, args.plot_start, args.plot_hours)
        except ValueError as exc:
            print(f"error: --plot-start/--plot-hours: {exc}", file=sys.stderr)
            return 2
    networked = any(s.network is not None for s in sc.sites)
    if args.rolling is not None:
        if args.backend != "highs":
            print("error: --rolling runs on the highs backend only", file=sys.stderr)
            return 2
        if networked:
            print("error: --rolling does not take a site network yet; run without --rolling",
                  file=sys.stderr)
            return 2
        from engine.operations import rolling_optimize

        window_h, step_h = args.rolling
        try:
            # the path, not the loaded scenario, when the history before start is read
            res = rolling_optimize(args.scenario if args.history_h else sc, window_h, step_h,
                                   args.forecaster,
                                   progress=not args.no_progress,
                                   value_of_information=args.voi,
                                   plan=None if args.plan == "none" else args.plan,
                                   replan_h=args.replan_h, scenarios=args.scenarios,
                                   price_known_h=args.price_known_h,
                                   history_h=args.history_h,
                                   outage_renewable_quantile=_quantile(
                                       args.outage_renewable_quantile))
        except ValueError as exc:  # bad rolling arguments (named in the message)
            print(f"error: --rolling: {exc}", file=sys.stderr)
            return 2
    else:
        from engine.api import optimize

        # rounds re-solve; 0 rounds still runs the AC check once (a round-0-only loop)
        res = optimize(sc, backend=args.backend, time_limit_s=args.time_limit,
                       solver_log=args.solver_log,
                       network_rounds=args.network_rounds if networked else 0)
        if networked and args.network_rounds == 0 and res.has_solution:
            from engine.network import check_network

            res.network_check = check_network(res, sc)
    print(res.summary())
    out = res.to_parquet(args.out)
    written = [out / "summary.json"]
    if (out / "windows.parquet").exists() and args.rolling is not None:
        written.append(out / "windows.parquet")
    if res.has_solution:
        written.insert(0, out / "hourly.parquet")
        if not args.no_plot:
            # one figure per site: dispatch.png, or dispatch_<site>.png with several sites
            names = [s.name for s in sc.sites]
            for name in names:
                png = out / ("dispatch.png" if len(names) == 1 else f"dispatch_{name}.png")
                res.plot(png, start_h=args.plot_start, hours=args.plot_hours, site=name)
                written.append(png)
    chk = res.network_check
    if chk is not None and not isinstance(chk, dict):
        vm = chk.vm_pu.copy()
        vm.columns = vm.columns.astype(str)
        vm.to_parquet(out / "network_vm_pu.parquet")
        chk.violations.to_csv(out / "network_violations.csv", index=False)
        written += [out / "network_vm_pu.parquet", out / "network_violations.csv"]
    print("wrote " + ", ".join(str(p) for p in written))
    return 0 if res.has_solution else 1


def _report_parser(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser("report", help="write the HTML report of a results directory "
                                         "(or the comparison page of a batch store)")
    rep.add_argument("results", type=Path, help="directory written by `wattbit run --out`, "
                                                "or a batch store")
    rep.add_argument("-o", "--output", type=Path, default=None,
                     help="HTML file to write (default RESULTS/report.html)")
    rep.add_argument("--week-start", type=int, default=None, metavar="H",
                     help="first hour of the week shown hourly (default: the week of "
                          "largest facility energy)")
    rep.add_argument("--site", default=None, help="only this site's section")
    rep.add_argument("--scenario", type=Path, default=None,
                     help="the scenario file the results came from (names the currency and "
                          "which assets belong to which site)")


def _report(args: argparse.Namespace) -> int:
    """``wattbit report RESULTS [-o FILE]``: exit 0 written, 2 bad input."""
    import time

    from engine.results.report import report_from_dir

    t0 = time.perf_counter()
    if not args.results.is_dir():
        print(f"error: {args.results} is not a directory", file=sys.stderr)
        return 2
    scenario = None
    if args.scenario is not None:
        from engine.scenario import load_scenario

        scenario = load_scenario(args.scenario)
    try:
        out = report_from_dir(args.results, args.output, week_start_h=args.week_start,
                              site=args.site, scenario=scenario)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {time.perf_counter() - t0:.2f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
