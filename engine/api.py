"""The public entry points: :func:`optimize`, :func:`build_model`, :func:`export_lp`."""
from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.backends import BACKENDS, MIP_STARTS, SolverOptions, solve
from engine.backends.block_start import BLOCK_STARTS
from engine.markets import cost_to_park, needs_baselines, needs_notice, notice_pins, with_baselines
from engine.model.build import build
from engine.model.data import prepare
from engine.model.formulation import Formulation
from engine.results import Result, empty_result, extract
from engine.scenario.container import Scenario, ScenarioBase, load_scenario

log = logging.getLogger(__name__)


@contextmanager
def _gc_paused() -> Iterator[None]:
    # the collector walks every container on each generation-0 sweep; building models of
    # many arrays and (for Pyomo) many small objects pays for nothing from it
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _as_scenario(scenario: Scenario | str | Path) -> Scenario:
    if isinstance(scenario, ScenarioBase):
        return scenario
    if isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    raise TypeError(f"scenario must be a Scenario or a path, got {type(scenario).__name__}")


def build_model(scenario: Scenario | str | Path) -> Formulation:
    """Prepare the data and build the backend-neutral model of a scenario (no solve).

    The returned :class:`~engine.model.formulation.Formulation` holds ``model`` (variable and
    constraint groups as arrays), ``data`` and per-component ``meta``.
    """
    return build(prepare(_as_scenario(scenario)))


def optimize(
    scenario: Scenario | str | Path,
    backend: str = "highs",
    *,
    model_hook: Callable[..., None] | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
    threads: int | None = None,
    highs_options: dict | None = None,
    solver_log: bool = False,
    pyomo_interface: str = "standard_form",
    network_rounds: int = 0,
    mip_start: str = "auto",
    block_start: str = "auto",
) -> Result:
    """Optimize a scenario: dispatch of every asset and every job, hour by hour.

    Parameters
    ----------
    scenario : Scenario or path
        A validated scenario, or a YAML/JSON file to load.
    backend : {"highs", "pyomo"}
        ``highs`` hands arrays to highspy (fast, default); ``pyomo`` builds a named Pyomo
        model solved by HiGHS through Pyomo. Both give the same optimum.
    model_hook : callable, optional
        ``model_hook(pyomo_model, components)``, called before the solve to add Pyomo
        variables or constraints; requires ``backend="pyomo"``.
    time_limit_s : float, optional
        Solver wall-clock limit [s]. Default None: 60 s for a MILP
        (:data:`engine.backends.highs.MIP_TIME_LIMIT_S`), no limit for an LP; pass
        ``math.inf`` to let a MILP run to its gap however long that takes. On reaching it
        the best solution found is returned with status ``time_limit``, its ``mip_gap``, and
        a ``diagnosis`` that says so (no solution at all: status ``time_limit``, empty
        tables). The model is a MILP only where binaries can change the answer (a battery
        in hours where wasting energy pays, a grid in hours where its export price exceeds
        its import price).
    mip_rel_gap : float
        Relative gap at which a MILP stops as optimal (default 1e-4: the objective is within
        0.01 % of the optimum).
    threads : int, optional
        HiGHS threads.
    highs_options : dict, optional
        Further HiGHS options by name.
    solver_log : bool
        Send HiGHS's log to the ``engine.backends`` logger.
    pyomo_interface : {"standard_form", "persistent"}
        With ``backend="pyomo"``: reach HiGHS through Pyomo's standard-form compiler (fast,
        default) or through Pyomo's persistent HiGHS interface.
    network_rounds : int
        For a scenario with a site ``network``: after the solve, check the dispatch with
        the AC power flow and, while it finds violations, tighten the LinDistFlow limits
        by the observed linearisation error, add the AC losses to the site's demand and
        re-solve, at most this many times (see :func:`engine.network.rounds.network_rounds`).
        0 (default): solve once, no AC check.
    mip_start : {"auto", "lp", "none"}
        ``"lp"``: solve a MILP's LP relaxation first and stop there when its integer columns
        come out integral (the relaxation is then the MILP's optimum, gap 0), else start the
        MILP from them rounded (:class:`~engine.backends.base.SolverOptions`). ``"none"``:
        hand the MILP to HiGHS's branch and bound directly. ``"auto"`` (default): ``"lp"``
        on the ``highs`` backend (the Pyomo backend always runs the MILP directly).
    block_start : {"auto", "off", "primal", "dual", "tree"}
        ``highs`` backend, sites coupled by placed jobs (an LP): solve the sites apart with
        every job at its home site, then the whole LP from their bases put together, by
        the primal or dual simplex (:mod:`engine.backends.block_start`; the same optimum).
        ``"auto"`` (default): ``"dual"``, unless ``highs_options`` names a ``solver``.
        ``"off"``: the whole LP at once.

    Returns
    -------
    Result
        Status, objective, cost terms, KPIs, hourly table, jobs and timings. An infeasible
        model returns a result with status ``infeasible`` and a ``diagnosis``; a solver
        failure returns status ``error`` with a diagnosis saying what HiGHS reported. With
        ``network_rounds``, ``network_check`` holds the AC check of the returned dispatch
        and ``network_rounds`` one row per solve.

    Raises
    ------
    ScenarioError
        If the scenario is invalid (before any solve).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if model_hook is not None and backend != "pyomo":
        raise ValueError("model_hook needs backend='pyomo'")
    if mip_start not in MIP_STARTS:
        raise ValueError(f"mip_start must be one of {MIP_STARTS}, got {mip_start!r}")
    if block_start not in BLOCK_STARTS:
        raise ValueError(f"block_start must be one of {BLOCK_STARTS}, got {block_start!r}")
    if network_rounds < 0 or int(network_rounds) != network_rounds:
        raise ValueError(f"network_rounds must be a non-negative integer, got {network_rounds!r}")
    t0 = time.perf_counter()
    sc = _as_scenario(scenario)
    options = SolverOptions(time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, threads=threads,
                            highs_options=dict(highs_options or {}), log=solver_log,
                            pyomo_interface=pyomo_interface, mip_start=mip_start,
                            block_start=block_start)
    plan = None
    if needs_baselines(sc):
        # demand-response baselines from the scenario's own plan without its events
        sc, plan = with_baselines(sc, lambda s: optimize(
            s, backend=backend, model_hook=model_hook, time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap, threads=threads, highs_options=highs_options,
            solver_log=solver_log, pyomo_interface=pyomo_interface, mip_start=mip_start,
            block_start=block_start))
        if not plan.has_solution:
            plan.diagnosis = ("the plan without demand-response events (for their baselines) "
                              f"has no solution; {plan.diagnosis}")
            return plan
    # events announced with notice: the hours before each announcement follow the stage
    # before it (engine.markets.notice_pins)
    pins = notice_pins(sc, backend, options) if needs_notice(sc) else None
    with _gc_paused():
        data = prepare(sc)
    if pins:
        data.extra["dr_pin"] = pins
    from engine.annual_start import annual_start

    start = annual_start(sc, data, backend)  # an annual sizing LP: sizes to start from
    res = _solve_data(sc, data, t0, backend, options, model_hook, start)
    if plan is not None:
        cost_to_park(res, plan)
    if network_rounds:
        from engine.network.rounds import network_rounds as run_rounds

        res = run_rounds(res, sc, data, int(network_rounds),
                         lambda d: _solve_data(sc, d, time.perf_counter(), backend, options,
                                               model_hook))
    return res


def _solve_data(sc: Scenario, data, t0: float, backend: str, options: SolverOptions,
                model_hook: Callable[..., None] | None, start=None) -> Result:
    """Build, solve and extract one prepared scenario (one round of :func:`optimize`);
    ``start``: capacities to start an annual sizing LP from (see
    :func:`engine.annual_start.annual_start`)."""
    with _gc_paused():
        t1 = time.perf_counter()
        f = build(data)
        f.model.arrays()
        if start is not None:
            from dataclasses import replace

            from engine.annual_start import start_columns

            options = replace(options, fixed_start=start_columns(f, start[0]))
        t2 = time.perf_counter()
        # the solver copies what it needs and the arrays are dropped before the solution is
        # read: results need only the groups and x
        out = solve(f.model, backend=backend, options=options, model_hook=model_hook,
                    release_arrays=True)
        t3 = time.perf_counter()
        # hand-over to the solver (passModel / Pyomo build) counts as build time
        handover = out.timings.get("handover_s", 0.0)
        timings = {
            "prepare_s": t1 - t0,
            "build_s": (t2 - t1) + handover,
            "solve_s": (t3 - t2) - handover,
        }
        if start is not None:  # the representative-day sizing ran before t1
            timings["prepare_s"] -= start[1]
            timings["start_s"] = start[1]
            timings.update({k: out.timings[k] for k in ("fixed_s", "freed_s")
                            if k in out.timings})
        if out.x is None:
            timings["extract_s"] = 0.0
            timings["total_s"] = time.perf_counter() - t0
            diagnosis = out.diagnosis
            if any(s.network is not None and s.network.constraints == "lindistflow"
                   for s in sc.sites):
                from engine.network.rounds import background_hint

                hint = background_hint(sc)
                diagnosis = f"{diagnosis}; {hint}" if diagnosis and hint else diagnosis or hint
            res = empty_result(out.status, sc.name, backend, timings, diagnosis,
                               out.solver_status, out.iterations)
            res.extra["scenario"] = sc
            return res
        parts = extract(f, out.x)
        t4 = time.perf_counter()
    timings["extract_s"] = t4 - t3
    timings["total_s"] = t4 - t0
    res = Result(
        status=out.status, objective=out.objective, costs=parts["costs"], kpis=parts["kpis"],
        hourly=parts["hourly"], jobs=parts["jobs"], job_power=parts["job_power"],
        demand_charges=parts["demand_charges"], outages=parts["outages"], tables=parts["tables"],
        investment=parts["investment"], timings=timings, mip_gap=out.mip_gap,
        lp_relaxation=out.lp_relaxation, placement=parts["placement"], tenants=parts["tenants"],
        certificates=parts["certificates"],
        backend=backend, solver_status=out.solver_status, iterations=out.iterations,
        scenario_name=sc.name, diagnosis=out.diagnosis,
    )
    # the AC check of a network scenario needs the asset-to-bus mapping it was solved with
    res.extra["scenario"] = sc
    if backend == "highs" and abs(res.costs.sum() - res.objective) > 1e-6 * max(1.0, abs(res.objective)):
        log.warning("cost terms %.6f do not add up to the objective %.6f", res.costs.sum(),
                    res.objective)
    return res


def export_lp(scenario: Scenario | str | Path, path: str | Path) -> Path:
    """Write exactly the LP/MILP that :func:`optimize` would solve, through highspy.

    The format follows the suffix: ``.mps`` (free MPS) or ``.lp``.
    """
    from engine.backends.highs import to_highs

    f = build_model(scenario)
    h = to_highs(f.model.arrays(), SolverOptions())
    path = Path(path)
    h.writeModel(str(path))
    return path
