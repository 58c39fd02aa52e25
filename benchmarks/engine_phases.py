"""Time the engine's phases on a scenario with both backends, beside HiGHS alone.

    python -m benchmarks.engine_phases [SCENARIO] [--repeat N] [--json out.json]

For each backend: prepare (weather -> availability, PUE), build (formulation + hand-over to
the solver), solve, extract (results, KPIs, traceability). "HiGHS run" is ``Highs.run()`` on
the very matrix wattbit built, timed alone, the floor of any front end. Runs are interleaved
(highs, pyomo, raw, highs, ...) because this machine's speed drifts between minutes; the
table shows medians.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _raw_highs_run(scenario) -> dict:
    from engine.api import build_model
    from engine.backends import SolverOptions
    from engine.backends.highs import to_highs

    f = build_model(scenario)
    arrays = f.model.arrays()
    h = to_highs(arrays, SolverOptions())
    t0 = time.perf_counter()
    h.run()
    run = time.perf_counter() - t0
    return {"run_s": run, "objective": h.getInfo().objective_function_value,
            "cols": arrays.A.shape[1], "rows": arrays.A.shape[0], "nnz": arrays.A.nnz,
            "mbytes": arrays.nbytes / 1e6}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", nargs="?", default=str(ROOT / "examples" / "xining_park.yaml"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import engine

    sc = engine.load_scenario(args.scenario)
    rows: dict[str, list[dict]] = {"highs": [], "pyomo": [], "raw": []}
    objectives = {}
    for _ in range(args.repeat):
        for backend in ("highs", "pyomo"):
            res = engine.optimize(sc, backend=backend)
            rows[backend].append(res.timings)
            objectives[backend] = res.objective
        raw = _raw_highs_run(sc)
        rows["raw"].append(raw)
        objectives["raw"] = raw["objective"]

    med = lambda key, name: statistics.median(r[key] for r in rows[name])
    floor = med("run_s", "raw")
    print(f"scenario {sc.name}: {raw['cols']:,} columns, {raw['rows']:,} rows, {raw['nnz']:,} "
          f"non-zeros, {raw['mbytes']:.1f} MB of arrays; medians of {args.repeat} interleaved runs")
    header = f"{'':<8}{'prepare':>9}{'build':>9}{'solve':>9}{'extract':>9}{'total':>9}{'/ HiGHS run':>13}"
    print(header)
    out = {"scenario": sc.name, "size": {k: raw[k] for k in ("cols", "rows", "nnz", "mbytes")},
           "highs_run_s": floor, "backends": {}, "objectives": objectives}
    for backend in ("highs", "pyomo"):
        t = {k: med(k, backend) for k in ("prepare_s", "build_s", "solve_s", "extract_s", "total_s")}
        out["backends"][backend] = t
        print(f"{backend:<8}" + "".join(f"{t[k]:>9.3f}" for k in t) + f"{t['total_s'] / floor:>12.2f}x")
    print(f"{'HiGHS':<8}{'':>27}{floor:>9.3f}{'':>18}{1.0:>12.2f}x")
    spread = max(objectives.values()) - min(objectives.values())
    rel = spread / max(abs(v) for v in objectives.values())
    print("objectives: " + ", ".join(f"{k} {v:,.4f}" for k, v in objectives.items())
          + f" (relative spread {rel:.1e})")
    if rel > 1e-6:
        raise SystemExit(f"backends disagree: relative spread {rel:.2e} > 1e-6")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
