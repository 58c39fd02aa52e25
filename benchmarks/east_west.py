"""The East-West example end to end: engine time against HiGHS's own runs, traceability time,
peak memory against the model's arrays, and the all-east baseline.

One process, one repetition (the machine is shared):

1. ``engine.optimize`` of the scenario (``examples/build_east_west.py``: ``--jobs`` jobs over
   ``--hours`` hours; 420 jobs and 8,760 h is ``examples/east_west.yaml``), with
   * the wall time of every HiGHS ``run()`` inside it (the lazy rows' rounds,
     :mod:`engine.backends.lazy`): "HiGHS's own runs";
   * the time of the site traceability (``_trace``, the mixing tank) and the tenants' ledger
     and certificates (``engine.results.ledger.ledger``);
   * the model's array bytes (``ModelArrays.nbytes``) against the process's peak RSS growth
     and against tracemalloc's peak of Python/NumPy allocations during the call
     (``--tracemalloc``: slows NumPy-heavy steps a little; HiGHS's own C++ memory is in RSS
     only). ``--warm`` first solves a small case (10 jobs, 720 h) untraced, so that the
     modules imported on first use (highspy, scipy.sparse, pyarrow: ~6 MB) are not
     counted as the model's memory;
2. ``--whole``: HiGHS alone on the identical whole model written by ``engine.export_lp``
   (MPS, every data-ready row in), read back and run with the same options
   (``--whole-limit`` seconds at most);
3. ``--baseline``: the same scenario with every job pinned east (``all_east``).

    PYTHONPATH=. python -m benchmarks.east_west --jobs 420 --hours 8760 --baseline
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import engine

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _scenario(n_jobs: int, hours: int, all_east: bool = False) -> Any:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from build_east_west import build
    finally:
        sys.path.remove(str(EXAMPLES))
    return engine.Scenario.from_dict(build(all_east=all_east, n_jobs=n_jobs, horizon_h=hours),
                                     base_dir=EXAMPLES)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def instrumented(sc: Any, trace_mem: bool = False) -> dict:
    """``engine.optimize(sc)`` with the HiGHS runs, the traceability and the memory timed."""
    import importlib

    from engine.model.linear import LinearModel

    highs = importlib.import_module("engine.backends.highs")
    extract = importlib.import_module("engine.results.extract")
    ledger = importlib.import_module("engine.results.ledger")

    acc = {"highs_run_s": 0.0, "highs_runs": 0, "trace_s": 0.0, "ledger_s": 0.0,
           "array_bytes": 0}
    keep = (highs.run_definite, extract._trace, ledger.ledger, LinearModel.arrays)

    def run(h):
        t, c = time.perf_counter(), time.process_time()
        keep[0](h)
        acc["highs_run_s"] += time.perf_counter() - t
        acc["highs_run_cpu_s"] = acc.get("highs_run_cpu_s", 0.0) + time.process_time() - c
        acc["highs_runs"] += 1

    def timed(key, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            out = fn(*a, **k)
            acc[key] += time.perf_counter() - t
            return out
        return wrapper

    def arrays(self):
        out = keep[3](self)
        acc["array_bytes"] = max(acc["array_bytes"], out.nbytes)
        return out

    highs.run_definite = run
    extract._trace = timed("trace_s", keep[1])
    ledger.ledger = timed("ledger_s", keep[2])
    LinearModel.arrays = arrays
    api = importlib.import_module("engine.api")
    phases = {name: getattr(api, name) for name in ("prepare", "build", "solve", "extract")}
    if trace_mem:
        import tracemalloc

        tracemalloc.start()

        def phase(name, fn):
            def wrapper(*a, **k):
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
                try:
                    return fn(*a, **k)
                finally:
                    cur, peak = tracemalloc.get_traced_memory()
                    acc[f"peak_{name}_mb"] = peak / 2**20
                    acc[f"held_before_{name}_mb"] = base / 2**20
            return wrapper

        for name, fn in phases.items():
            setattr(api, name, phase(name, fn))
    rss0 = _rss_mb()
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        res = engine.optimize(sc)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        highs.run_definite, extract._trace, ledger.ledger, LinearModel.arrays = keep
        for name, fn in phases.items():
            setattr(api, name, fn)
    if trace_mem:
        import tracemalloc

        # each phase resets the peak: the run's peak is the largest phase peak
        acc["tracemalloc_peak_mb"] = max(
            [tracemalloc.get_traced_memory()[1] / 2**20]
            + [v for k, v in acc.items() if k.startswith("peak_")])
        tracemalloc.stop()
    acc.update(wall_s=wall, cpu_s=cpu, status=str(res.status), objective=res.objective,
               iterations=res.iterations, timings=res.timings,
               rss_peak_mb=_rss_mb(), rss_growth_mb=_rss_mb() - rss0,
               array_mb=acc["array_bytes"] / 2**20)
    if trace_mem:
        acc["peak_over_arrays"] = acc["tracemalloc_peak_mb"] / acc["array_mb"]
    acc["engine_over_highs"] = wall / acc["highs_run_s"] if acc["highs_run_s"] else None
    acc["trace_share_of_solve"] = ((acc["trace_s"] + acc["ledger_s"]) / acc["highs_run_s"]
                                   if acc["highs_run_s"] else None)
    acc["result"] = res
    return acc


def whole_model(sc: Any, limit_s: float) -> dict:
    """HiGHS alone on the exported whole model (every data-ready row in; ``export_lp``
    builds it and HiGHS's ``writeModel`` writes it as MPS), read back with ``readModel``
    and run with HiGHS's default options (the engine's), wall and CPU seconds."""
    from engine.backends.highs import new_highs

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "east_west.mps"
        t = time.perf_counter()
        engine.export_lp(sc, path)
        export_s = time.perf_counter() - t
        h = new_highs()
        h.setOptionValue("output_flag", False)
        t = time.perf_counter()
        h.readModel(str(path))
        read_s = time.perf_counter() - t
        h.setOptionValue("time_limit", float(limit_s))
        t, c = time.perf_counter(), time.process_time()
        h.run()
        run_s, run_cpu = time.perf_counter() - t, time.process_time() - c
        lp = h.getLp()
    info = h.getInfo()
    return {"whole_run_s": run_s, "whole_run_cpu_s": run_cpu, "whole_export_s": export_s,
            "whole_read_s": read_s, "whole_status": h.modelStatusToString(h.getModelStatus()),
            "whole_objective": info.objective_function_value,
            "whole_iterations": int(max(info.simplex_iteration_count, 0)
                                    + max(info.ipm_iteration_count, 0)),
            "whole_shape": [int(lp.num_row_), int(lp.num_col_)]}


def summary(res: Any) -> dict:
    """The README's figures: training and inference per site, cost, carbon, data moved."""
    k, h = res.kpis, res.hourly
    out: dict[str, Any] = {"objective": res.objective,
                           "costs": {c: float(v) for c, v in res.costs.items()},
                           "training_mwh": {}, "inference_mwh": {}}
    for site in ("xining", "hainan", "shanghai"):
        inf = h.get(f"placement.{site}/inference_mw")
        inf = float(inf.sum()) if inf is not None else 0.0
        out["inference_mwh"][site] = inf
        out["training_mwh"][site] = float(h[f"datacenter.{site}/flexible_it_mw"].sum()) - inf
    total = sum(out["training_mwh"].values())
    west = out["training_mwh"]["xining"] + out["training_mwh"]["hainan"]
    out["west_share_of_training_it"] = west / total if total else 0.0
    for key in ("data_moved_tb", "transfer_energy_mwh", "placement_remote_share",
                "emissions_t", "emissions_marginal_t", "cfe_score", "ref", "it_energy_mwh",
                "facility_energy_mwh"):
        if key in k:
            out[key] = float(k[key])
    if len(res.tenants):
        out["tenants"] = res.tenants.set_index("tenant")[
            ["consumption_mwh", "cfe_score", "emissions_t", "co2_avoided_t"]].round(3).to_dict(
            "index")
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=420)
    p.add_argument("--hours", type=int, default=8760)
    p.add_argument("--tracemalloc", action="store_true")
    p.add_argument("--warm", action="store_true",
                   help="solve a small case first: first-use imports outside the peak")
    p.add_argument("--whole", action="store_true")
    p.add_argument("--whole-limit", type=float, default=1800.0)
    p.add_argument("--baseline", action="store_true")
    a = p.parse_args(argv)
    if a.warm:
        engine.optimize(_scenario(10, 720))
    sc = _scenario(a.jobs, a.hours)
    out = instrumented(sc, a.tracemalloc)
    res = out.pop("result")
    out["summary"] = summary(res)
    print(json.dumps(out, default=str, indent=1), flush=True)
    if a.baseline:
        base = instrumented(_scenario(a.jobs, a.hours, all_east=True))
        bres = base.pop("result")
        base["summary"] = summary(bres)
        out["baseline"] = base
        print(json.dumps({"baseline": base}, default=str, indent=1), flush=True)
    if a.whole:
        out.update(whole_model(sc, a.whole_limit))
        out["engine_over_whole_highs"] = out["wall_s"] / out["whole_run_s"]
        out["engine_over_whole_highs_cpu"] = out["cpu_s"] / out["whole_run_cpu_s"]
        print(json.dumps({k: v for k, v in out.items() if k.startswith(("whole", "engine_"))},
                         indent=1), flush=True)
    return out


if __name__ == "__main__":
    main()
