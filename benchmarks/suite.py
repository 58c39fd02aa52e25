"""wattbit's benchmark suite: a registry of cases timed by phase, beside the peers.

    python -m benchmarks [--quick] [--json out.json] [--repeat N]
    wattbit bench [--quick] [--json out.json]

Sections (each printed as a table; figures are medians of interleaved repeats, because this
machine's speed drifts 10-40 % between minutes, so only ratios measured in one run count):

1. *phases*: every case of ``CASES`` over the size sweep, timed by phase: load + validation,
   prepare (weather -> availability, PUE), build (formulation -> arrays), hand-over
   (``passModel``), HiGHS ``run()``, extract (results, KPIs, traceability), with the Python
   peak memory (tracemalloc) of loading the case and ``engine.optimize`` to its results,
   against the bytes of the arrays handed to HiGHS.
2. *side by side* (full run): the annual example and the T = 8,760 reference through wattbit
   ``highs`` and ``pyomo``, HiGHS alone on the same matrix (the floor), linopy and PyPSA
   building the reference themselves (``[bench]`` extra; skipped with a note if absent);
   objectives must agree to 1e-6 relative, else the suite fails.
3. *processes*: whole processes (``wattbit run``, raw highspy on the saved matrix, linopy,
   PyPSA) and import times.
4. *HiGHS options*: simplex / IPM / presolve / threads on the annual matrix.

``--quick`` (CI's smoke run) keeps T = 24 and 168 of the reference, both backends, and the
agreement check; it never fails on timing.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "xining_park.yaml"
RTOL = 1e-6


# ---------------------------------------------------------------------------- registry
def _example(_T: int):
    import engine

    return engine.load_scenario(EXAMPLE)


def _reference(T: int):
    from benchmarks.reference import reference_scenario

    return reference_scenario(T)


def _reference_4sites(T: int):
    from benchmarks.reference import reference_scenario

    return reference_scenario(T, sites=4)


#: name -> (scenario factory of T, sizes of the full sweep, sizes of --quick)
CASES: dict[str, tuple[Callable[[int], Any], tuple[int, ...], tuple[int, ...]]] = {
    "reference": (_reference, (24, 168, 2184, 8760), (24, 168)),
    "reference_4sites": (_reference_4sites, (168, 8760), (24,)),
    "xining_annual": (_example, (8760,), ()),
}


# ---------------------------------------------------------------------------- phases
def engine_phases(factory: Callable[[int], Any], T: int) -> dict:
    """Run the ``highs`` path of :func:`engine.optimize` phase by phase."""
    from engine.backends import SolverOptions
    from engine.backends.highs import to_highs
    from engine.model.build import build
    from engine.model.data import prepare
    from engine.results import extract

    gc.collect()
    t0 = time.perf_counter()
    sc = factory(T)
    t1 = time.perf_counter()
    data = prepare(sc)
    t2 = time.perf_counter()
    f = build(data)
    arrays = f.model.arrays()
    t3 = time.perf_counter()
    h = to_highs(arrays, SolverOptions())
    t4 = time.perf_counter()
    h.run()
    t5 = time.perf_counter()
    x = np.asarray(h.getSolution().col_value)
    extract(f, x)
    t6 = time.perf_counter()
    out = {
        "T": sc.horizon_h, "load_s": t1 - t0, "prepare_s": t2 - t1, "build_s": t3 - t2,
        "handover_s": t4 - t3, "run_s": t5 - t4, "extract_s": t6 - t5, "total_s": t6 - t0,
        "objective": h.getInfo().objective_function_value,
        "iterations": h.getInfo().simplex_iteration_count,
        "cols": arrays.A.shape[1], "rows": arrays.A.shape[0], "nnz": int(arrays.A.nnz),
        "array_mb": arrays.nbytes / 1e6,
    }
    return out


def optimize_peak_mb(factory: Callable[[int], Any], T: int) -> float:
    """Python peak memory (tracemalloc, MB) of loading a case and :func:`engine.optimize`
    to its results: everything Python allocates on the way (scenario, data, model, the
    arrays handed to HiGHS, the solution, the results), not HiGHS's own C++ copies."""
    import engine

    factory(T)  # imports and the PV availability cache are not part of the figure
    gc.collect()
    tracemalloc.start()
    try:
        engine.optimize(factory(T))
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def section_phases(quick: bool, repeat: int) -> list[dict]:
    print("\n== phases (highs backend; seconds, medians) ==")
    print(f"{'case':<18}{'T':>6}{'cols':>8}{'load':>8}{'prep':>8}{'build':>8}{'hand':>8}"
          f"{'run':>8}{'extr':>8}{'total':>8}{'/run':>7}{'arr MB':>8}{'py MB':>8}{'/arr':>6}")
    table = []
    for name, (factory, sizes, quick_sizes) in CASES.items():
        for T in quick_sizes if quick else sizes:
            factory(T)  # first call: imports, reference data, PV cache (not a phase of a run)
            rows = [engine_phases(factory, T) for _ in range(repeat)]
            peak = optimize_peak_mb(factory, T)
            r = {k: _median(rows, k) for k in rows[0] if isinstance(rows[0][k], float)}
            r.update({"case": name, "T": rows[0]["T"], "cols": rows[0]["cols"],
                      "py_peak_mb": peak, "array_mb": rows[0]["array_mb"]})
            table.append(r)
            print(f"{name:<18}{r['T']:>6}{r['cols']:>8}{r['load_s']:>8.3f}{r['prepare_s']:>8.3f}"
                  f"{r['build_s']:>8.3f}{r['handover_s']:>8.3f}{r['run_s']:>8.3f}"
                  f"{r['extract_s']:>8.3f}{r['total_s']:>8.3f}{r['total_s'] / r['run_s']:>7.2f}"
                  f"{r['array_mb']:>8.1f}{r['py_peak_mb']:>8.1f}"
                  f"{r['py_peak_mb'] / r['array_mb']:>6.2f}")
    return table


# ---------------------------------------------------------------------------- side by side
def _peer(name: str, T: int) -> dict | None:
    from benchmarks import reference

    try:
        return getattr(reference, f"solve_{name}")(T)
    except ImportError as exc:
        print(f"  ({name} not installed: {exc}; install the [bench] extra)")
        return None


def section_side_by_side(quick: bool, repeat: int) -> dict:
    """Each tool from a scenario in memory to results, interleaved.

    Ratios are medians of per-repeat ratios: wattbit's against its *own* HiGHS ``run()``
    inside the same call (the identical matrix and options, so the ratio is pure overhead
    and immune to the machine's drift), the peers against the floor and against wattbit
    measured next to them.
    """
    import logging
    import warnings

    import engine

    print("\n== side by side (seconds from scenario in memory to results) ==")
    out: dict[str, dict] = {}
    cases = [("reference", 168 if quick else 8760)] + ([] if quick else [("xining_annual", 8760)])
    for case, T in cases:
        sc = CASES[case][0](T)
        runs: dict[str, list[dict]] = {}
        for _ in range(repeat):
            for backend in ("highs", "pyomo"):
                res = engine.optimize(sc, backend=backend)
                runs.setdefault(f"wattbit {backend}", []).append(
                    {"objective": res.objective, "total_s": res.timings["total_s"],
                     "own_run_s": res.timings["solve_s"]})
            ph = engine_phases(lambda _T, sc=sc: sc, T)
            runs.setdefault("HiGHS run()", []).append({"objective": ph["objective"],
                                                       "total_s": ph["run_s"]})
            if case == "reference" and not quick:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    logging.disable(logging.WARNING)
                    for peer in ("linopy", "pypsa"):
                        r = _peer(peer, T)
                        if r is not None:
                            runs.setdefault(peer, []).append(r)
                    logging.disable(logging.NOTSET)
        objs = {k: v[0]["objective"] for k, v in runs.items()}
        ref = objs["HiGHS run()"]
        floor = runs["HiGHS run()"]
        wb = runs["wattbit highs"]
        print(f"{case} (T={T}), medians of {repeat}:")
        print(f"  {'':<16}{'seconds':>9}{'/ own run':>11}{'/ floor':>9}{'/ wattbit':>11}   objective")
        table = {}
        for k, v in runs.items():
            t = _median(v, "total_s")
            own = (statistics.median(r["total_s"] / r["own_run_s"] for r in v)
                   if "own_run_s" in v[0] else float("nan"))
            to_floor = statistics.median(r["total_s"] / f["total_s"] for r, f in zip(v, floor))
            to_wb = statistics.median(w["total_s"] / r["total_s"] for r, w in zip(v, wb))
            table[k] = {"median_s": t, "per_own_run": own, "per_floor": to_floor,
                        "wattbit_over_this": to_wb, "objective": v[0]["objective"]}
            own_s = f"{own:>10.2f}x" if not math.isnan(own) else " " * 11
            print(f"  {k:<16}{t:>9.3f}{own_s}{to_floor:>8.2f}x{to_wb:>10.2f}x   {v[0]['objective']:,.4f}")
        print("  (/ wattbit: wattbit highs time over this row's time, so 0.5 means wattbit takes half)")
        bad = {k: o for k, o in objs.items() if abs(o - ref) > RTOL * max(1.0, abs(ref))}
        if bad:
            raise SystemExit(f"objectives disagree with HiGHS on {case}: {bad} vs {ref}")
        out[case] = table
    return out


# ---------------------------------------------------------------------------- processes
def _wall(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - t0


#: The floor process: numpy + highspy, the saved matrix through the array overload of
#: ``passModel`` (the call engine/backends/highs.py ``to_highs`` makes; filling a ``HighsLp``
#: field by field costs more), then ``run()``.
RAW_HIGHS = """
import sys, numpy as np, highspy
z = np.load(sys.argv[1])
h = highspy.Highs(); h.setOptionValue("output_flag", False)
m, n = int(z["n"][0]), int(z["n"][1])
h.passModel(n, m, len(z["v"]), int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize), float(z["off"]), z["c"], z["cl"], z["cu"],
            z["rl"], z["ru"], z["p"], z["i"], z["v"], np.zeros(n, dtype=np.int32))
h.run()
print(h.getInfo().objective_function_value)
"""


def section_processes(repeat: int) -> dict:
    from benchmarks.reference import save_reference_data
    from engine.api import build_model

    print("\n== whole processes (wall seconds, medians of interleaved runs) ==")
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="wattbit-bench-"))
    # the reference processes read the same arrays instead of each running pvlib
    ref_npz = save_reference_data(tmp / "reference.npz", 8760)
    a = build_model(EXAMPLE).model.arrays()
    np.savez(tmp / "m.npz", n=np.array(a.A.shape), c=a.cost, cl=a.col_lb, cu=a.col_ub,
             rl=a.row_lb, ru=a.row_ub, off=np.array(a.offset), p=a.A.indptr.astype(np.int32),
             i=a.A.indices.astype(np.int32), v=a.A.data)
    (tmp / "raw.py").write_text(RAW_HIGHS)
    cmds = {
        "python (bare)": [py, "-c", "pass"],
        "import engine": [py, "-c", "import engine"],
        "import pandas": [py, "-c", "import pandas"],
        "import pyomo.environ": [py, "-c", "import pyomo.environ"],
        "import pvlib": [py, "-c", "import pvlib"],
        "raw highspy (annual)": [py, str(tmp / "raw.py"), str(tmp / "m.npz")],
        "wattbit run (annual)": [py, "-m", "engine.cli", "run", str(EXAMPLE), "--out",
                                 str(tmp / "out"), "--no-plot"],
        "wattbit run + plot": [py, "-m", "engine.cli", "run", str(EXAMPLE), "--out",
                               str(tmp / "out")],
    }
    for peer in ("linopy", "pypsa"):
        try:
            __import__(peer)
        except ImportError:
            continue
        cmds[f"import {peer}"] = [py, "-c", f"import {peer}"]
        cmds[f"{peer} (reference)"] = [py, "-m", "benchmarks.reference", peer, "8760"]
    cmds["wattbit (reference)"] = [py, "-m", "benchmarks.reference", "wattbit", "8760"]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "WATTBIT_REFERENCE_NPZ": str(ref_npz)}
    for _ in range(repeat):
        for k, c in cmds.items():
            times[k].append(_wall(c, env))
    med = {k: statistics.median(v) for k, v in times.items()}

    def ratio(a: str, b: str) -> float:  # median of per-repeat ratios of adjacent runs
        return statistics.median(x / y for x, y in zip(times[a], times[b]))

    for k, v in med.items():
        extra = ""
        if k in ("wattbit run (annual)", "wattbit run + plot"):
            extra = f"{ratio(k, 'raw highspy (annual)'):6.2f}x raw highspy process"
        print(f"  {k:<24}{v:>8.3f} s   {extra}")
    for peer in ("linopy", "pypsa"):
        if f"{peer} (reference)" in med:
            print(f"  wattbit / {peer} (reference process): "
                  f"{ratio('wattbit (reference)', f'{peer} (reference)'):.2f}")
    return med


# ---------------------------------------------------------------------------- options
OPTION_SETS = {
    "default (simplex, presolve)": {},
    "simplex, presolve off": {"presolve": "off"},
    "dual simplex serial": {"simplex_strategy": 1},
    "ipm": {"solver": "ipm"},
    "ipm, 2 threads": {"solver": "ipm", "threads": 2},
    "ipm, no crossover": {"solver": "ipm", "run_crossover": "off"},
}


def section_options(repeat: int) -> dict:
    import highspy

    from engine.api import build_model
    from engine.backends import SolverOptions
    from engine.backends.highs import to_highs

    print("\n== HiGHS options on the annual example's matrix (run() seconds, medians) ==")
    arrays = build_model(EXAMPLE).model.arrays()
    times: dict[str, list[float]] = {k: [] for k in OPTION_SETS}
    objs: dict[str, float] = {}
    for _ in range(repeat):
        for name, opts in OPTION_SETS.items():
            h = to_highs(arrays, SolverOptions(highs_options=opts))
            t0 = time.perf_counter()
            h.run()
            times[name].append(time.perf_counter() - t0)
            objs[name] = h.getInfo().objective_function_value
            assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, name
    base = statistics.median(times["default (simplex, presolve)"])
    for name, v in times.items():
        m = statistics.median(v)
        print(f"  {name:<30}{m:>8.3f} s {m / base:>6.2f}x   objective {objs[name]:,.4f}")
    return {k: statistics.median(v) for k, v in times.items()}


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="wattbit bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes, no peers")
    p.add_argument("--repeat", type=int, default=None, help="interleaved repeats (3; 1 quick)")
    p.add_argument("--json", type=Path, default=None, help="write all figures as JSON")
    p.add_argument("--sections", default="phases,side,processes,options",
                   help="comma-separated subset of phases,side,processes,options")
    args = p.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    sections = set(args.sections.split(","))
    out: dict[str, Any] = {"quick": args.quick, "repeat": repeat, "python": sys.version.split()[0],
                           "cpus": os.cpu_count()}
    if "phases" in sections:
        out["phases"] = section_phases(args.quick, repeat)
    if "side" in sections:
        out["side_by_side"] = section_side_by_side(args.quick, repeat)
    if not args.quick:
        if "processes" in sections:
            out["processes"] = section_processes(repeat)
        if "options" in sections:
            out["options"] = section_options(repeat)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))
        print(f"\nwrote {args.json}")
    return out


if __name__ == "__main__":
    main()
